//! One `always` property per modelled `WARN_ON_ONCE()` / `WARN_ON()` of kernel/livepatch, with
//! the same condition, and a partner showing the warning's code runs at all.

use crate::Entry;
use klp_model::state::{Site, Warn};
use klp_model::{KlpSystem, State};
use stateright::Expectation;

/// `warn_prop!(name, partner, Warn::X, Site::Y, kernel, statement)`: the `always` property
/// `name` (the warning never fires) and its partner `partner` (the code that warns ran), each
/// a function of that name.
macro_rules! warn_prop {
    ($name:ident, $partner:ident, $warn:expr, $site:expr, $kernel:literal, $statement:literal) => {{
        fn $name(_: &KlpSystem, st: &State) -> bool {
            st.ghost.warns & (1 << $warn as u32) == 0
        }
        fn $partner(_: &KlpSystem, st: &State) -> bool {
            st.reached($site)
        }
        [
            Entry {
                doc: crate::PropertyDoc {
                    name: stringify!($name),
                    expectation: Expectation::Always,
                    statement: $statement,
                    kernel: $kernel,
                    partner: Some(stringify!($partner)),
                },
                condition: $name,
            },
            Entry {
                doc: crate::PropertyDoc {
                    name: stringify!($partner),
                    expectation: Expectation::Sometimes,
                    statement: concat!("The code of ", $kernel, " ran."),
                    kernel: "",
                    partner: None,
                },
                condition: $partner,
            },
        ]
    }};
}

pub fn entries() -> Vec<Entry> {
    let mut v = Vec::new();
    v.extend(warn_prop!(
        warn_handler_idle,
        handler_read_patch_state,
        Warn::HandlerIdle,
        Site::HandlerTransition,
        "patch.c klp_ftrace_handler(): WARN_ON_ONCE(patch_state == KLP_TRANSITION_IDLE)",
        "The ftrace handler never finds a func in transition while the calling task's patch_state is IDLE."
    ));
    v.extend(warn_prop!(
        warn_init_target_not_idle,
        init_transition_ran,
        Warn::InitTargetNotIdle,
        Site::InitTransition,
        "transition.c klp_init_transition(): WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_IDLE)",
        "A transition is initialised only when none is in progress."
    ));
    v.extend(warn_prop!(
        warn_init_task_not_idle,
        init_transition_ran_for_task,
        Warn::InitTaskNotIdle,
        Site::InitTransition,
        "transition.c klp_init_transition(): WARN_ON_ONCE(task->patch_state != KLP_TRANSITION_IDLE)",
        "Every task is IDLE when a transition is initialised."
    ));
    v.extend(warn_prop!(
        warn_target_idle,
        try_complete_ran,
        Warn::TargetIdle,
        Site::TryCompleteTransition,
        "transition.c klp_start_transition(), klp_try_complete_transition(): WARN_ON_ONCE(klp_target_state == KLP_TRANSITION_IDLE)",
        "A transition is started or completed only with a target state set."
    ));
    v.extend(warn_prop!(
        warn_complete_pending,
        complete_ran,
        Warn::CompletePending,
        Site::CompleteTransition,
        "transition.c klp_complete_transition(): WARN_ON_ONCE(test_tsk_thread_flag(task, TIF_PATCH_PENDING))",
        "No task has TIF_PATCH_PENDING set when a transition completes."
    ));
    v.extend(warn_prop!(
        warn_cancel_not_patching,
        cancel_ran,
        Warn::CancelNotPatching,
        Site::CancelTransition,
        "transition.c klp_cancel_transition(): WARN_ON_ONCE(klp_target_state != KLP_TRANSITION_PATCHED)",
        "Only a patching transition is cancelled."
    ));
    v.extend(warn_prop!(
        warn_module_state,
        module_hook_ran,
        Warn::ModuleState,
        Site::ModuleComing,
        "core.c klp_module_coming()/klp_module_going(): WARN_ON(mod->state != MODULE_STATE_COMING/GOING)",
        "The module hooks run only in the module states the loader calls them in."
    ));
    v.extend(warn_prop!(
        warn_disable_not_enabled,
        disable_ran,
        Warn::DisableNotEnabled,
        Site::DisablePatch,
        "core.c __klp_disable_patch(): WARN_ON(!patch->enabled)",
        "Only an enabled patch is disabled."
    ));
    v
}
