//! `Scenario::build()`: the patch `disable_via` derives when a spec is built.

use klp_model::spec::{AdminOp, Callbacks};
use klp_model::Variant;

const SRC: &str = r#"
[[functions]]
name = "f"
[[functions]]
name = "g"
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
states = [{ id = 1, version = 2 }]
  [[patches.objects]]
  funcs = ["f"]
  callbacks = { pre_patch = 0, post_unpatch = true }
[[patches]]
name = "lp2"
states = [{ id = 1, version = 3 }, { id = 4, version = 1 }]
  [[patches.objects]]
  funcs = ["g"]
  callbacks = { post_patch = true, pre_unpatch = true }
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }, { op = "disable", patch = "lp1" }]
"#;

/// disable_via derives one replace patch (all nops, every klp_state at its highest
/// version) when the spec is built, and rewrites the disable command; the scenario's own
/// patches, objects, funcs and commands are left as they are, and a variant that derives
/// nothing builds the scenario alone.
#[test]
fn build_derives_the_disable_patch_once() {
    let scenario = klp_model::scenario::read_str("t", "t.toml", SRC).unwrap();
    let base = scenario.clone().build(Variant::default()).unwrap();
    assert_eq!(base.disable_patch(), None);
    assert_eq!(base.admin.ops[1].op, AdminOp::Disable(0));
    assert_eq!(base, klp_model::scenario::parse("t", "t.toml", SRC).unwrap());
    for (value, callbacks) in [
        ("empty_replace", vec![Callbacks::default()]),
        (
            "revert_replace",
            vec![Callbacks {
                pre_patch: Some(0),
                post_patch: true,
                pre_unpatch: true,
                post_unpatch: true,
                klp_state: None,
            }],
        ),
    ] {
        let mut v = Variant::default();
        v.set("disable_via", value).unwrap();
        let s = scenario.clone().build(v.clone()).unwrap();
        assert_eq!(s.variant, v);
        let d = s.disable_patch().unwrap();
        assert_eq!(d as usize, base.patches.len(), "{value}: the derived patch comes last");
        let p = &s.patches[d as usize];
        assert_eq!(p.name, format!("klp_{value}"));
        assert!(p.replace && p.derived);
        assert_eq!(p.states, vec![(1, 3), (4, 1)]);
        let static_cb: Vec<Callbacks> =
            p.objs.iter().filter(|&&o| !s.objs[o as usize].dynamic).map(|&o| s.objs[o as usize].callbacks).collect();
        assert_eq!(static_cb, callbacks, "{value}");
        let nops: Vec<&str> = p
            .objs
            .iter()
            .flat_map(|&o| &s.objs[o as usize].funcs)
            .map(|&k| &s.klp_funcs[k as usize])
            .inspect(|k| assert!(k.nop))
            .map(|k| s.funcs[k.old_func as usize].name.as_str())
            .collect();
        assert_eq!(nops, ["f", "g"]);
        assert_eq!(s.admin.ops[0], base.admin.ops[0]);
        assert_eq!(s.admin.ops[1].op, AdminOp::InsmodPatch(d));
        // The scenario's own slots are untouched: the derived ones are appended.
        assert_eq!(s.patches[..d as usize], base.patches[..]);
        assert_eq!(s.objs[..base.objs.len()], base.objs[..]);
        assert_eq!(s.klp_funcs[..base.klp_funcs.len()], base.klp_funcs[..]);
        assert_eq!((&s.funcs, &s.tasks, &s.modules), (&base.funcs, &base.tasks, &base.modules));
    }
}
