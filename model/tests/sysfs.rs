//! The sysfs files of a patch being freed: `klp_free_patch_start()` has run, but the patch's
//! kobject is put only in `klp_free_patch_finish()`, so `/sys/kernel/livepatch/<patch>/` is still
//! there and its stores answer -EINVAL (the patch is neither enabled nor `klp_transition_patch`);
//! once the free work ran they are gone (-ENOENT).

use klp_model::errno::{EINVAL, ENOENT};
use klp_model::kernel::livepatch::core::{enabled_store, force_store};
use klp_model::log::{Dmesg, NoLog};
use klp_model::state::PatchLife;
use klp_model::{Action, KlpSystem};
use stateright::Model;

#[test]
fn freeing_patch_still_has_its_sysfs_files() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/selftest-livepatch-01-basic-function-patching.toml");
    let m = KlpSystem::new(klp_model::scenario::load(&path).unwrap(), Vec::new);
    let spec = m.spec.clone();
    let mut st = m.init_state();
    // insmod, the script's cat of /proc/cmdline, then echo 0 > enabled, each followed by the
    // kernel's own steps (the transition work and the idle task; bash's read() for the cat) until
    // the patch is being freed.
    let kernel_step = |a: &Action| {
        matches!(
            a,
            Action::KlpTrySwitchTask(_)
                | Action::KlpTransitionWork
                | Action::DoIdle(_)
                | Action::Syscall(0, _)
                | Action::Return(0)
        )
    };
    for admin in [0, 1, 2] {
        let mut budget = 100;
        st = m.step(&st, Action::Admin(admin), &mut NoLog).unwrap();
        while st.klp_transition_patch.is_some() || st.tasks[0].proc_read.is_some() {
            let mut acts = Vec::new();
            m.actions(&st, &mut acts);
            // The idle loop first: a pass finds swapper/0 running until it went through it.
            let idle = acts.iter().copied().find(|a| matches!(a, Action::DoIdle(_)));
            let a = idle.or_else(|| acts.into_iter().find(kernel_step)).expect("a kernel step");
            st = m.step(&st, a, &mut NoLog).unwrap();
            budget -= 1;
            assert!(budget > 0, "the transition does not complete");
        }
    }
    assert_eq!(st.patches[0].life, PatchLife::Freeing);
    let mut log = Dmesg::default();
    for val in [false, true] {
        let mut s = st.clone();
        assert_eq!(enabled_store(&spec, &mut s, 0, val, &mut log), EINVAL);
        assert_eq!(s, st);
    }
    let mut s = st.clone();
    assert_eq!(force_store(&spec, &mut s, 0, &mut log), EINVAL);
    assert!(log.0.is_empty(), "{:?}", log.0);
    // disable_lp still waits: the directory is there until the free work ran.
    let mut acts = Vec::new();
    m.actions(&st, &mut acts);
    assert!(!acts.contains(&Action::Admin(3)), "{acts:?}");
    st = m.step(&st, Action::KlpFreePatchWork(0), &mut NoLog).unwrap();
    assert_eq!(enabled_store(&spec, &mut st.clone(), 0, false, &mut log), ENOENT);
    assert_eq!(force_store(&spec, &mut st.clone(), 0, &mut log), ENOENT);
}
