//! `Spec::set_variant()`: the patch `disable_via` derives, and its removal.

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
/// version), rewrites the disable command, and setting another variant undoes it exactly.
#[test]
fn set_variant_derives_and_removes_the_disable_patch() {
    let base = klp_model::scenario::parse("t", "t.toml", SRC).unwrap();
    let mut s = base.clone();
    for (value, callbacks) in [
        ("empty_replace", vec![Callbacks::default()]),
        (
            "revert_replace",
            vec![Callbacks { pre_patch: Some(0), post_patch: true, pre_unpatch: true, post_unpatch: true }],
        ),
    ] {
        let mut v = Variant::default();
        v.set("disable_via", value).unwrap();
        s.set_variant(v).unwrap();
        let d = s.disable_patch().unwrap();
        let p = &s.patches[d as usize];
        assert_eq!(p.name, format!("klp_{value}"));
        assert!(p.replace);
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
        assert_eq!(s.admin.ops[1].op, AdminOp::InsmodPatch(d));
    }
    s.set_variant(Variant::default()).unwrap();
    assert_eq!(s, base);
}
