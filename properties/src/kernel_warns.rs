//! One `always` property per modelled `WARN_ON_ONCE()` / `WARN_ON()` of kernel/livepatch, with
//! the same condition, and a partner showing the warning's code runs at all.

use crate::Entry;
use klp_model::state::{Site, Warn};
use klp_model::{KlpSystem, State};
use stateright::Expectation;

macro_rules! warn_prop {
    ($name:literal, $warn:expr, $partner:literal, $site:expr, $kernel:literal, $statement:literal, $f:ident, $g:ident) => {{
        fn $f(_: &KlpSystem, st: &State) -> bool {
            st.ghost.warns & (1 << $warn as u32) == 0
        }
        fn $g(_: &KlpSystem, st: &State) -> bool {
            st.reached($site)
        }
        [
            Entry {
                doc: crate::PropertyDoc {
                    name: $name,
                    expectation: Expectation::Always,
                    statement: $statement,
                    kernel: $kernel,
                    partner: Some($partner),
                },
                condition: $f,
            },
            Entry {
                doc: crate::PropertyDoc {
                    name: $partner,
                    expectation: Expectation::Sometimes,
                    statement: concat!("The code of ", $kernel, " ran."),
                    kernel: "",
                    partner: None,
                },
                condition: $g,
            },
        ]
    }};
}

pub fn entries() -> Vec<Entry> {
    let mut v = Vec::new();
    v.extend(warn_prop!(
        "warn_handler_idle",
        Warn::HandlerIdle,
        "handler_read_patch_state",
        Site::HandlerTransition,
        "patch.c klp_ftrace_handler(): WARN_ON_ONCE(patch_state == KLP_TRANSITION_IDLE)",
        "The ftrace handler never finds a func in transition while the calling task's patch_state is IDLE.",
        w0,
        r0
    ));
    v.extend(warn_prop!(
        "warn_init_target_not_idle",
        Warn::InitTargetNotIdle,
        "init_transition_ran",
        Site::InitTransition,
        "transition.c klp_init_transition(): WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_IDLE)",
        "A transition is initialised only when none is in progress.",
        w1,
        r1
    ));
    v.extend(warn_prop!(
        "warn_init_task_not_idle",
        Warn::InitTaskNotIdle,
        "init_transition_ran_for_task",
        Site::InitTransition,
        "transition.c klp_init_transition(): WARN_ON_ONCE(task->patch_state != KLP_TRANSITION_IDLE)",
        "Every task is IDLE when a transition is initialised.",
        w2,
        r2
    ));
    v.extend(warn_prop!("warn_target_idle", Warn::TargetIdle, "try_complete_ran", Site::TryCompleteTransition,
        "transition.c klp_start_transition(), klp_try_complete_transition(): WARN_ON_ONCE(klp_target_state == KLP_TRANSITION_IDLE)",
        "A transition is started or completed only with a target state set.", w3, r3));
    v.extend(warn_prop!(
        "warn_complete_pending",
        Warn::CompletePending,
        "complete_ran",
        Site::CompleteTransition,
        "transition.c klp_complete_transition(): WARN_ON_ONCE(test_tsk_thread_flag(task, TIF_PATCH_PENDING))",
        "No task has TIF_PATCH_PENDING set when a transition completes.",
        w4,
        r4
    ));
    v.extend(warn_prop!(
        "warn_cancel_not_patching",
        Warn::CancelNotPatching,
        "cancel_ran",
        Site::CancelTransition,
        "transition.c klp_cancel_transition(): WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_PATCHED)",
        "Only a patching transition is cancelled.",
        w5,
        r5
    ));
    v.extend(warn_prop!(
        "warn_module_state",
        Warn::ModuleState,
        "module_hook_ran",
        Site::ModuleComing,
        "core.c klp_module_coming()/klp_module_going(): WARN_ON(mod->state != MODULE_STATE_COMING/GOING)",
        "The module hooks run only in the module states the loader calls them in.",
        w6,
        r6
    ));
    v.extend(warn_prop!(
        "warn_disable_not_enabled",
        Warn::DisableNotEnabled,
        "disable_ran",
        Site::DisablePatch,
        "core.c __klp_disable_patch(): WARN_ON(!patch->enabled)",
        "Only an enabled patch is disabled.",
        w7,
        r7
    ));
    v
}
