//! Per-version bodies: a patch's new function may call other functions and sleep otherwise than
//! the original (`funcs = [{ name, calls, sleeps }]`), and the checker's verdicts follow the
//! version a frame runs. Each case is a shipped scenario checked as shipped and version-blind
//! (the same file with the func table replaced by the plain name, so the new function calls
//! and sleeps as the original did before per-version bodies existed); both verdicts and state
//! counts are pinned.

use crate::common::history::{check, Checked};

fn scenario(name: &str) -> String {
    format!("{}/model/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

/// `klpcheck check` of the shipped scenario, and of its version-blind copy.
fn both(name: &str, table: &str, plain: &str) -> (Checked, Checked) {
    let out = tempfile::tempdir().unwrap();
    let path = scenario(name);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(table), "{path}: no {table}");
    let blind = out.path().join(format!("{name}-blind.toml"));
    std::fs::write(&blind, text.replace(table, plain)).unwrap();
    let shipped = check(&path, "upstream", &[], &out.path().join("shipped"));
    let blind = check(blind.to_str().unwrap(), "upstream", &[], &out.path().join("blind"));
    for c in [&shipped, &blind] {
        assert!(c.complete, "{}", c.text);
    }
    (shipped, blind)
}

fn verdict<'a>(c: &'a Checked, property: &str) -> &'a str {
    c.verdicts.get(property).map(String::as_str).unwrap_or_else(|| panic!("no {property}:\n{}", c.text))
}

/// lp1's new pipe_read() calls copy_page_to_iter() instead of pipe_wait_readable() (which
/// never returns) and does not sleep: cat cannot get stuck in patched code, so disabling lp1
/// always completes. Version-blind, cat sleeps forever in the patched pipe_read() ->
/// pipe_wait_readable() and the unpatching transition never completes.
#[test]
fn new_version_that_calls_elsewhere_and_never_sleeps_is_removable() {
    let (shipped, blind) = both(
        "per-version-body",
        r#"funcs = [{ name = "pipe_read", calls = ["copy_page_to_iter"], sleeps = "never" }]"#,
        r#"funcs = ["pipe_read"]"#,
    );
    assert_eq!(verdict(&shipped, "patch_removable_without_force"), "holds");
    assert_eq!(verdict(&blind, "patch_removable_without_force"), "VIOLATED");
    // Stuck in the original, cat keeps the patching transition pending in both models until
    // the administrator reverses it.
    assert_eq!(verdict(&shipped, "transition_completes"), "VIOLATED");
    assert_eq!(verdict(&blind, "transition_completes"), "VIOLATED");
    assert_eq!((shipped.states, blind.states), (Some(457), Some(513)));
}

/// The selftest's busy module: the demo's patched_work_func() never sleeps, but the kworker
/// never runs it: the module's work item runs once, from the module's init, before the patch
/// exists (kernel/workqueue.c `process_one_work()`). So the version-blind copy gives the same
/// verdicts and states: what ended the false alarm of issue 14 is the work item running once and
/// rmmod of the busy module running its exit, and the per-version body only keeps the
/// scenario true to the demo module.
#[test]
fn busy_module_replacement_is_never_run() {
    let (shipped, blind) = both(
        "selftest-callbacks-09-busy-target-module",
        r#"funcs = [{ name = "busymod_work_func", sleeps = "never" }]"#,
        r#"funcs = ["busymod_work_func"]"#,
    );
    assert_eq!(verdict(&shipped, "patch_removable_without_force"), "holds");
    assert_eq!(verdict(&blind, "patch_removable_without_force"), "holds");
    assert_eq!(verdict(&shipped, "transition_completes"), "VIOLATED");
    assert_eq!((shipped.states, blind.states), (Some(230), Some(230)));
}
