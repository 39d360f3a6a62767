//! The module loader as kernel/module/main.c orders it: module code runs during `mod->init`
//! and `mod->exit()`, rmmod of a module a task runs in is not refused, a failing init or COMING
//! notifier chain takes the kernel's error path through `klp_module_going()`.

use klp_model::log::{Dmesg, NoLog};
use klp_model::state::{ModState, State, Warn};
use klp_model::task::Context;
use klp_model::{Action, KlpSystem};
use stateright::Model;

const BASE: &str = r#"
[[functions]]
name = "mod_work_func"
object = "test_mod"
sleeps = "until_module_exit"
enter_message = "mod_work_func enter"
exit_message = "mod_work_func exit"

[[tasks]]
comm = "kworker/0:1"
kind = "kthread"
entry = ["mod_work_func"]

[[patches]]
name = "lp1"
  [[patches.objects]]
  name = "test_mod"
  funcs = ["mod_work_func"]
  callbacks = { pre_patch = 0, post_unpatch = true }
"#;

fn model(modules: &str, ops: &str) -> KlpSystem {
    let src = format!("{BASE}\n{modules}\n[admin]\norder = \"script\"\nops = [{ops}]\n");
    KlpSystem::new(klp_model::scenario::parse("t", "t.toml", &src).unwrap(), Vec::new)
}

fn enabled(m: &KlpSystem, st: &State) -> Vec<Action> {
    let mut acts = Vec::new();
    m.actions(st, &mut acts);
    acts
}

/// Takes `a` (it must be enabled) and returns the lines it logged.
fn take(m: &KlpSystem, st: &mut State, a: Action) -> Vec<String> {
    assert!(enabled(m, st).contains(&a), "{a:?} not enabled: {:?}", enabled(m, st));
    let mut log = Dmesg::default();
    *st = m.step(st, a, &mut log).unwrap();
    log.0
}

fn warned(st: &State) -> bool {
    st.ghost.warns & (1 << Warn::ModuleState as u32) != 0
}

#[test]
fn work_runs_once_during_init_and_exit_waits_for_it() {
    let m = model(
        "[[modules]]\nname = \"test_mod\"\nwork = \"mod_work_func\"\ninit_waits = \"work_started\"\n\
         init_message = \"test_mod_init\"\nexit_message = \"test_mod_exit\"",
        "{ op = \"insmod\", module = \"test_mod\" }, { op = \"rmmod\", module = \"test_mod\" }",
    );
    let mut st = m.init_state();
    take(&m, &mut st, Action::Admin(0));
    assert_eq!(take(&m, &mut st, Action::KlpModuleComing(0)), ["test_mod: test_mod_init"]);
    // mod->init waits for its work to start; the kworker does not go to sleep meanwhile.
    assert!(!enabled(&m, &st).contains(&Action::ModuleInit(0)));
    assert!(!enabled(&m, &st).contains(&Action::Schedule(0)));
    assert_eq!(take(&m, &mut st, Action::Call(0, 0)), ["test_mod: mod_work_func enter"]);
    take(&m, &mut st, Action::ModuleInit(0));
    assert_eq!(st.mods[0].state, ModState::Live);
    // The loop cannot end before the module's exit; it sleeps.
    assert!(!enabled(&m, &st).contains(&Action::Return(0)));
    take(&m, &mut st, Action::Schedule(0));
    assert!(!enabled(&m, &st).contains(&Action::Wake(0)));
    // rmmod is not refused although the kworker runs in the module: mod->exit() starts.
    assert_eq!(take(&m, &mut st, Action::Admin(1)), ["% rmmod test_mod"]);
    assert_eq!(st.mods[0].state, ModState::Exiting);
    // flush_work(): exit waits for the work function to return.
    assert!(!enabled(&m, &st).contains(&Action::ModuleExit(0)));
    take(&m, &mut st, Action::Wake(0));
    assert_eq!(take(&m, &mut st, Action::Return(0)), ["test_mod: mod_work_func exit"]);
    // The work ran once: it is not called again.
    assert!(!enabled(&m, &st).contains(&Action::Call(0, 0)));
    assert_eq!(take(&m, &mut st, Action::ModuleExit(0)), ["test_mod: test_mod_exit"]);
    take(&m, &mut st, Action::KlpModuleGoing(0));
    take(&m, &mut st, Action::ModuleFree(0));
    assert_eq!(st.mods[0].state, ModState::Unloaded);
    assert_eq!(st.tasks[0].context, Context::Running);
    assert!(!warned(&st));
}

#[test]
fn failing_init_goes_through_klp_module_going() {
    let m = model(
        "[[modules]]\nname = \"test_mod\"\ninit_ret = -12",
        "{ op = \"insmod\", patch = \"lp1\" }, { op = \"insmod\", module = \"test_mod\" }",
    );
    let mut st = m.init_state();
    take(&m, &mut st, Action::Admin(0));
    // The transition completes: the kworker waits for work, then every task is switched.
    take(&m, &mut st, Action::Schedule(0));
    while st.klp_transition_patch.is_some() {
        let a =
            enabled(&m, &st).into_iter().find(|a| matches!(a, Action::KlpTrySwitchTask(_) | Action::KlpTransitionWork));
        st = m.step(&st, a.expect("the transition work runs"), &mut NoLog).unwrap();
    }
    take(&m, &mut st, Action::Admin(1));
    take(&m, &mut st, Action::KlpModuleComing(0));
    assert!(st.objs[0].patched);
    take(&m, &mut st, Action::ModuleInit(0));
    assert_eq!(st.mods[0].state, ModState::Going);
    let log = take(&m, &mut st, Action::KlpModuleGoing(0));
    assert_eq!(
        log,
        [
            "livepatch: reverting patch 'lp1' on unloading module 'test_mod'",
            "lp1: post_unpatch_callback: test_mod -> [MODULE_STATE_GOING] Going away",
            "insmod: ERROR: could not insert module test_modules/test_mod.ko: Cannot allocate memory",
        ]
    );
    assert_eq!(st.mods[0].state, ModState::Unloaded);
    assert!(!st.objs[0].patched && !st.objs[0].mod_bound);
    assert!(!warned(&st));
}

#[test]
fn failing_coming_notifier_calls_klp_module_going_while_coming() {
    let m = model(
        "[[modules]]\nname = \"test_mod\"\ncoming_notifier_ret = -22",
        "{ op = \"insmod\", module = \"test_mod\" }",
    );
    let mut st = m.init_state();
    take(&m, &mut st, Action::Admin(0));
    take(&m, &mut st, Action::KlpModuleComing(0));
    assert_eq!(st.mods[0].state, ModState::NotifierFailed);
    assert!(st.mods[0].klp_alive);
    // No module code runs: mod->init never started.
    assert!(!enabled(&m, &st).iter().any(|a| matches!(a, Action::Call(..))));
    let log = take(&m, &mut st, Action::KlpModuleGoing(0));
    assert_eq!(log, ["insmod: ERROR: could not insert module test_modules/test_mod.ko: Invalid parameters"]);
    assert_eq!(st.mods[0].state, ModState::Unloaded);
    // klp_module_going() accepts MODULE_STATE_COMING.
    assert!(!warned(&st));
}

#[test]
fn bad_module_fields_name_line_and_field() {
    let err = |modules: &str| {
        let src = format!("{BASE}\n{modules}\n");
        klp_model::scenario::parse("t", "t.toml", &src).unwrap_err().to_string()
    };
    let e = err("[[modules]]\nname = \"test_mod\"\ninit_ret = 12");
    assert!(e.contains("modules.init_ret: 12 is not 0 or a negative errno"), "{e}");
    let e = err("[[modules]]\nname = \"test_mod\"\nloaded = true\ncoming_notifier_ret = -5");
    assert!(e.contains("modules.loaded: module 'test_mod' is loaded at the start"), "{e}");
    let e = err("[[modules]]\nname = \"test_mod\"\ninit_waits = \"work_done\"");
    assert!(e.contains("modules.init_waits: module 'test_mod' has no work item"), "{e}");
    let e = err("[[modules]]\nname = \"test_mod\"\nwork = \"mod_work_fun\"");
    assert!(e.contains("modules.work: unknown function 'mod_work_fun'"), "{e}");
    let e = err("[[modules]]\nname = \"test_mod\"\n[[modules]]\nname = \"other\"\nwork = \"mod_work_func\"");
    assert!(e.contains("modules.work: work function 'mod_work_func' is not a function of module 'other'"), "{e}");
    assert!(e.starts_with("t.toml:"), "{e}");
}
