//! Shadow variables (kernel/livepatch/shadow.c, Documentation/livepatch/shadow-vars.rst,
//! cumulative-patches.rst, samples/livepatch/livepatch-shadow-fix{1,2}.c). The kernel gives
//! shadow variables no lifetime of its own: a livepatch's code frees them. These properties say
//! what that code, run at the times the kernel runs it, must achieve; a scenario that frees
//! them at the wrong time shows what the kernel's timing does not protect.

use crate::{always, sometimes, Entry};
use klp_model::state::{Event, PatchLife, Site};
use klp_model::{KlpSystem, State};

pub fn entries() -> Vec<Entry> {
    vec![
        always!(
            "shadow_no_leak",
            shadow_no_leak,
            "shadow_freed_all",
            "shadow.c klp_shadow_free_all(): \"detach and free all <*, id> shadow variables\"; samples/livepatch/livepatch-shadow-fix1.c livepatch_shadow_fix1_exit(): \"Cleanup any existing SV_LEAK shadow variables\"; cumulative-patches.rst: \"A good practice might be to remove shadow variables in the post-unpatch callback\"",
            "No shadow variable outlives the last livepatch that uses its id: while a variable \
             <obj, id> exists, some loaded livepatch module's new functions, callbacks or exit use \
             id."
        ),
        sometimes!("shadow_freed_all", shadow_freed_all, "klp_shadow_free_all() freed a shadow variable."),
        always!(
            "shadow_no_use_after_free",
            shadow_no_use_after_free,
            "shadow_in_use",
            "shadow.c klp_shadow_free_all(): \"This function releases the memory for all <*, id> shadow variable instances, callers should stop referencing them accordingly\"; cumulative-patches.rst: \"remove shadow variables in the post-unpatch callback. It is called only when the livepatch is properly disabled\"; transition.c klp_complete_transition() (post_unpatch after every task left the patched code)",
            "klp_shadow_free_all() never frees a variable while a task is inside a function version \
             that looked it up or attached it (klp_shadow_get() / klp_shadow_get_or_alloc() on that \
             <obj, id>): no variable is used after it was freed."
        ),
        sometimes!(
            "shadow_in_use",
            shadow_in_use,
            "A new function found or attached a shadow variable (klp_shadow_get() or \
             klp_shadow_get_or_alloc() returned it)."
        ),
        always!(
            "shadow_taken_over",
            shadow_taken_over,
            "shadow_vars_taken_over",
            "cumulative-patches.rst: \"There is no special handling of shadow variables. Livepatch authors must create their own rules how to pass them from one cumulative patch to the other. Especially that they should not blindly remove them in module_exit() functions\"; livepatch-shadow-fix2.c livepatch_fix2_dummy_free() (\"copy the memory leak patch from the fix1 module\": fix2 uses fix1's SV_LEAK)",
            "A livepatch that takes over shadow variables finds them: klp_shadow_free_all(id) run \
             by one livepatch's callbacks or module exit never frees a variable of an id another \
             livepatch on klp_patches uses (a cumulative patch that replaced it, or a patch \
             stacked with it)."
        ),
        sometimes!(
            "shadow_vars_taken_over",
            shadow_vars_taken_over,
            "A replace patch took over shadow variables: it freed the patch it replaced while a \
             variable of an id both use existed."
        ),
    ]
}

fn no_event(st: &State, e: Event) -> bool {
    st.ghost.events & (1 << e as u32) == 0
}

pub fn shadow_no_leak(sys: &KlpSystem, st: &State) -> bool {
    let spec = &*sys.spec;
    spec.shadow.vars.iter().enumerate().all(|(i, v)| {
        st.klp_shadow_hash & (1 << i) == 0
            || st
                .patches
                .iter()
                .enumerate()
                .any(|(p, r)| r.life != PatchLife::Unloaded && spec.shadow.declares(p as _, v.id))
    })
}
fn shadow_freed_all(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::ShadowFreedAll)
}
pub fn shadow_no_use_after_free(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::ShadowUseAfterFree)
}
fn shadow_in_use(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::ShadowInUse)
}
pub fn shadow_taken_over(_: &KlpSystem, st: &State) -> bool {
    no_event(st, Event::ShadowFreedUnderSuccessor)
}
fn shadow_vars_taken_over(_: &KlpSystem, st: &State) -> bool {
    st.reached(Site::ShadowTakenOver)
}
