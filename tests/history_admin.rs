//! Historical and proposed behaviours on the admin/module side (docs/design-variants.md, second
//! table): each knob value rediscovers its real bug on a small `history-*` scenario, and
//! upstream Linux does not have it.
//!
//! The rows are data (tests/history/admin.toml, run by tests/common/history.rs): for every
//! `[[violation]]` the `klpcheck` binary checks the scenario under the preset; the property
//! must be VIOLATED with exactly the pinned shortest counterexample, and `klpcheck replay` must
//! confirm the written trace step by step. For every `[[holds]]` the scenario is explored to
//! completion and every `always` property holds, with the state count pinned. (These rows are
//! also the golden counterexamples of the knobs.)

use crate::common;
use common::history;
use std::path::Path;

#[test]
fn historical_values_rediscover_their_bugs_and_replay_confirms() {
    history::violations_rediscovered(&history::file("admin"));
}

#[test]
fn upstream_and_fixed_values_hold() {
    history::all_hold(&history::file("admin"));
}

#[test]
fn stacking_lifo_is_what_reenable_needs() {
    let out = tempfile::tempdir().unwrap();
    let removable = |preset| {
        let c = history::check("history-stacking", preset, &[], out.path());
        let v = c.verdicts;
        (v.get("livepatch_module_removable").cloned().unwrap_or_default(), v.get("func_stack_order").cloned(), c.text)
    };
    let (up, order, t) = removable("upstream");
    assert_eq!((up.as_str(), order.as_deref()), ("reachable", Some("holds")), "{t}");
    let (lifo, order, t) = removable("stacking-lifo");
    assert_eq!((lifo.as_str(), order.as_deref()), ("unreachable", Some("holds")), "{t}");
    let (_, order, t) = removable("reenable-disabled");
    assert_eq!(order.as_deref(), Some("VIOLATED"), "{t}");
    let (_, order, t) = removable("registration-api");
    assert_eq!(order.as_deref(), Some("holds"), "{t}");
}

/// Every preset of this file sets exactly one knob to a documented non-upstream value, except
/// registration-api, the pre-v5.1 combination.
#[test]
fn presets_name_their_knobs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/variants");
    let expect = [
        ("klp-alive-ignored", "klp_alive=ignored"),
        ("force-put-module", "force=put_module"),
        ("nullify-obj-mod-no", "nullify_obj_mod_on_coming_error=no"),
        ("stacking-lifo", "stacking=lifo"),
        ("reenable-disabled", "reenable_disabled=yes"),
        ("registration-api", "stacking=lifo, reenable_disabled=yes"),
        ("free-replaced-before-post-patch", "free_replaced=before_post_patch"),
    ];
    for (name, described) in expect {
        let p = klp_model::preset::load(&dir.join(format!("{name}.toml"))).unwrap();
        assert_eq!(p.variant().describe(), described, "{name}");
    }
}
