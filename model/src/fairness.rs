//! Which steps are fair: the scheduling assumptions under which liveness properties
//! (properties/src/liveness.rs) are checked.
//!
//! A fairness class groups the steps that discharge one assumption:
//! * **weak**: a class enabled continuously from some point on is eventually taken;
//! * **strong**: a class enabled infinitely often is taken infinitely often.
//!
//! | steps | class | why |
//! |---|---|---|
//! | `klp_transition_work_fn()` pass start, its `klp_try_switch_task()` steps (both halves under `task_switch_lock = none`) | weak, one class | the delayed work re-arms itself every second while the transition runs (transition.c `klp_try_complete_transition()`: `schedule_delayed_work(&klp_transition_work, round_jiffies_relative(HZ))`) |
//! | a pass start while some pending thread is off its CPU with a stack the check passes; the pass's `klp_try_switch_task()` of such a thread | strong, one class for the starts, one per task for the checks | the work runs once a second for microseconds, while a task that sleeps or is preempted stays off its CPU far longer: a task found so infinitely often is eventually found so by a pass (without it, a task woken just before every pass would never be switched; 676e8cf70cb0 relies on this for every sleep that is not TASK_FREEZABLE) |
//! | `klp_send_signals()` | strong | sent every 15th failed pass (`SIGNALS_TIMEOUT`): infinitely often while the transition stays stuck; in the model it is enabled only between passes, hence strong |
//! | `klp_free_patch_work_fn()` of patch p | weak, per patch | a queued work item runs |
//! | module loader steps of module m (`klp_module_coming()`, init returns, exit returns, `klp_module_going()`, free) | strong, per module | a started insmod/rmmod finishes; its `klp_mutex` steps are enabled only between passes of the transition work, its init's and exit's return only once what they wait for happened |
//! | a task's `Return` at stack depth d | strong, per task and depth | kernel code returns: a function the task runs in and can return from infinitely often is eventually left (the scenario's `calls` is a may-call relation, not a loop) |
//! | a task's `schedule()` at depth d | strong, per task and depth | a task that can block there infinitely often does (`__schedule()` calls `__klp_sched_try_switch()` for a freezable sleep) |
//! | a task's `cond_resched()` with TIF_PATCH_PENDING (`sched_try_switch = cond_resched`) | strong, per task | a task running a function with a `cond_resched()` point infinitely often passes it |
//! | preemption of a task in kernel code at depth d, `preempt = full` | strong, per task and depth | the tick and wake-ups preempt a task whenever another task wants its CPU (the transition work's kworker among them): the newest kernels rely on it for kthreads that never sleep freezably (676e8cf70cb0) |
//! | a preempted task resumes | weak, per task | a runnable task is eventually picked again (the scheduler's fairness: CFS/EEVDF give every runnable task its share) |
//! | `Wake` from an uninterruptible sleep, from a sleep `until_module_exit` once the module's exit began, of a kworker waiting for work with a module's work item queued for it | weak, per task | the awaited event (I/O) comes; the msleep() timer fires; `insert_work()` wakes an idle worker |
//! | `exit_to_user_mode()` from user mode, `ret_from_fork` | strong, per task | timer interrupts reach a task in user mode; a new child runs |
//! | `do_idle()` (its `klp_update_patch_state()`) | strong, per task; not fair under `wake_up_if_idle = no` | see below |
//! | a kworker's call of the work function queued for it | weak, per task | `worker_thread()` runs queued work (`process_one_work()`) |
//! | `klp_copy_process()` (`fork_inherits = tif_before_state`) | strong, per task | the forking parent runs on its CPU until copy_process() finishes |
//! | the second half of a split `klp_ftrace_handler()` (a dropped `klp_synchronize_transition()`) | weak, per task | a handler in flight runs to its end (preemption is disabled in it) |
//! | a self switch split at its `klp_target_state` reads (`reverse_order = flip_first`) | weak, per task | it runs with preemption disabled |
//! | another round of a call the handler sent back to the function's entry (`nop_handler = set_pc`) | weak, per task | the spinning task stays runnable (preempted, it is picked again) |
//! | the rest of a split `klp_reverse_transition()` / `__klp_disable_patch()`, stores a removed barrier left unordered (`reverse_order`, `barriers`) | strong, one class each | the `klp_mutex` holder continues once what it waits for is done; stores reach every CPU |
//! | `klp_complete_transition()` parts after a dropped `klp_synchronize_transition()` | strong | the same work item continues; a part after a kept `klp_synchronize_transition()` waits in the model for every handler in flight, which new handlers can re-disable, while the kernel only waits for the CPUs to schedule once |
//!
//! Not fair (may never happen): admin commands (the administrator may stop acting; this is
//! why `echo 0 > enabled` and `force` exist), `Wake` from an interruptible sleep (the event
//! may never come, e.g. an empty pipe: only `klp_send_signals()` ends such a sleep for
//! livepatch's sake), a sleep marked `forever` (no wake step at all: the selftests' busy
//! module), syscalls (the script's `read()` of a /proc file too: the command that started it is
//! not fair either), calls and forks (a task need not do anything new), preemption under
//! `preempt = voluntary | none` (a task gives up its CPU only at a `cond_resched()` point whose
//! CPU has need_resched set, which a kworker on another CPU never sets: a CPU-bound kthread
//! runs on).
//!
//! **An idle CPU.** `do_idle()` reaches `klp_update_patch_state()` only after its inner loop
//! ends, i.e. when need_resched() is set on that CPU; an interrupt that wakes nothing returns
//! to cpuidle. The model lets the idle task take that step at any time (something the scenario
//! does not model may be scheduled there) but assumes it fair only where the kernel guarantees
//! a kick: v5.16+ `klp_try_complete_transition()` calls `wake_up_if_idle(cpu)` after every
//! failed `klp_try_switch_task()` of an online CPU's idle task (5de62ea84abd). No state
//! records the kick: in every fair run in which the idle task stays pending, the weakly fair
//! transition work tries it (and fails: it is `task_curr()`) in every pass, so kicks come
//! infinitely often, which is what strong fairness of `do_idle()` assumes. Before v5.16
//! (`wake_up_if_idle = no`) nothing the scenario has kicks an idle CPU, so `do_idle()` is not
//! fair: the transition can stay pending on "swapper/N is running" forever. An offline CPU's
//! idle task takes no step at all (`cpu_up` is an admin command, not fair).
//!
//! Depths above 15 share one class (a coarser class is a weaker assumption, so a property
//! that holds still holds).

pub mod quotient;

use crate::action::Action;
use crate::kernel::workqueue::{work_queued, work_queued_for};
use crate::program::sleep_kind;
use crate::spec::Sleeps;
use crate::state::State;
use crate::system::KlpSystem;
use crate::variant::WakeUpIfIdle;

/// Whether `klp_check_and_switch_task()` would switch the task now: off its CPU in the kernel
/// (asleep or preempted) and its stack passes `klp_check_stack()`.
fn off_cpu(sys: &KlpSystem, st: &State, pid: u8) -> bool {
    matches!(st.tasks[pid as usize].context, crate::task::Context::Sleeping | crate::task::Context::Preempted)
        && crate::kernel::livepatch::transition::klp_check_stack(&sys.spec, st, pid, &mut crate::log::NoLog)
}

/// The threads with TIF_PATCH_PENDING that the transition work would switch now.
fn off_cpu_pending<'a>(sys: &'a KlpSystem, st: &'a State) -> impl Iterator<Item = u8> + 'a {
    (0..st.tasks.len() as u8).filter(move |&p| {
        sys.spec.tasks[p as usize].kind != crate::task::TaskKind::Idle
            && st.tasks[p as usize].tif_patch_pending
            && off_cpu(sys, st, p)
    })
}

/// A fairness class of a step (ids 1..0x7fff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FairClass {
    Weak(u16),
    Strong(u16),
}

const WORK: u16 = 1;
const SIGNALS: u16 = 2;
const COMPLETE: u16 = 3;
const REVERSE: u16 = 4;
const DISABLE: u16 = 5;
const STORES: u16 = 6;
const WORK_OFF_CPU: u16 = 7;
const CHECK_OFF_CPU_BASE: u16 = 1000 - 256;
const FREE_BASE: u16 = 8;
const LOADER_BASE: u16 = 300;
const TASK_BASE: u16 = 1000;
/// Classes per task: Return at depth 0..16, schedule() at depth 0..16, ten more, preemption at
/// depth 0..16, the nop loop.
const PER_TASK: u16 = 60;
const DEPTHS: usize = 16;

fn task_class(pid: u8, slot: u16) -> u16 {
    TASK_BASE + u16::from(pid) * PER_TASK + slot
}

/// A class that names a task: the task, and which of its classes it is (the same key for
/// every task; [`quotient`] merges a group's classes by it).
pub(crate) fn task_parts(id: u16) -> Option<(u8, u16)> {
    if (CHECK_OFF_CPU_BASE..TASK_BASE).contains(&id) {
        return Some(((id - CHECK_OFF_CPU_BASE) as u8, PER_TASK));
    }
    let r = id.checked_sub(TASK_BASE)?;
    Some(((r / PER_TASK) as u8, r % PER_TASK))
}

/// The class of task `pid` with key `key` ([`task_parts`]).
pub(crate) fn task_id(pid: u8, key: u16) -> u16 {
    if key == PER_TASK {
        CHECK_OFF_CPU_BASE + u16::from(pid)
    } else {
        task_class(pid, key)
    }
}

fn depth_slot(d: usize) -> u16 {
    d.min(DEPTHS - 1) as u16
}

/// The fairness class of taking `a` in `st`, or `None` if the step is not fair.
pub fn fairness(sys: &KlpSystem, st: &State, a: &Action) -> Option<FairClass> {
    use FairClass::{Strong, Weak};
    // No wildcard arm: a new action does not compile until it has a class (or `None`).
    let depth = |pid: u8| st.tasks[pid as usize].stack.len();
    match *a {
        // The reduced model's step on a renaming (crate::symmetry: the pass tries or skips
        // another copy it has not visited): the class of that step on the renamed state. Its
        // off-CPU check names the cursor's slot, so the quotient drops it (fairness/quotient.rs).
        Action::Renamed { .. } => {
            let (r, inner) = sys.resolve_renamed(st, *a)?;
            fairness(sys, &r, &inner)
        }
        Action::Admin(_) => None,
        // A pass that starts, or a check that finds its task, while a pending task is off its
        // CPU: strong classes of their own (see the table).
        Action::KlpTransitionWork if off_cpu_pending(sys, st).next().is_some() => Some(Strong(WORK_OFF_CPU)),
        Action::KlpTrySwitchTask(pid) if off_cpu(sys, st, pid) => Some(Strong(CHECK_OFF_CPU_BASE + u16::from(pid))),
        Action::KlpTransitionWork
        | Action::KlpTrySwitchTask(_)
        | Action::KlpSwitchTaskStore(_)
        | Action::KlpIdleCpuOffline(_)
        | Action::KlpSwitchOfflineIdle(_) => Some(Weak(WORK)),
        Action::KlpSendSignals => Some(Strong(SIGNALS)),
        Action::KlpFreePatchWork(p) => Some(Weak(FREE_BASE + u16::from(p))),
        Action::KlpModuleComing(m)
        | Action::ModuleInit(m)
        | Action::ModuleExit(m)
        | Action::KlpModuleGoing(m)
        | Action::ModuleFree(m) => Some(Strong(LOADER_BASE + u16::from(m))),
        // worker_thread() runs the work item queued for it (process_one_work()).
        Action::Call(pid, f) if st.tasks[pid as usize].stack.is_empty() && work_queued(&sys.spec, st, f) => {
            Some(Weak(task_class(pid, 2 * DEPTHS as u16 + 9)))
        }
        Action::Syscall(..) | Action::Call(..) | Action::Fork(_) => None,
        Action::Return(pid) => Some(Strong(task_class(pid, depth_slot(depth(pid))))),
        Action::Schedule(pid) => Some(Strong(task_class(pid, DEPTHS as u16 + depth_slot(depth(pid))))),
        // insert_work() wakes an idle kworker (wake_up_worker()) for the work item queued for it.
        Action::Wake(pid) if work_queued_for(&sys.spec, st, pid) => Some(Weak(task_class(pid, 2 * DEPTHS as u16))),
        Action::Wake(pid) => match sleep_kind(&sys.spec, st, pid) {
            // until_module_exit: Wake is enabled only once the flag is cleared; its timer fires.
            Sleeps::Uninterruptible | Sleeps::UntilModuleExit => Some(Weak(task_class(pid, 2 * DEPTHS as u16))),
            _ => None,
        },
        Action::ExitToUserMode(pid) => Some(Strong(task_class(pid, 2 * DEPTHS as u16 + 1))),
        // The idle CPU leaves its idle state when kicked; without wake_up_if_idle() nothing
        // the scenario has kicks it (see the table).
        Action::DoIdle(_) if sys.spec.variant.wake_up_if_idle == WakeUpIfIdle::No => None,
        Action::DoIdle(pid) => Some(Strong(task_class(pid, 2 * DEPTHS as u16 + 2))),
        Action::RetFromFork(pid) => Some(Strong(task_class(pid, 2 * DEPTHS as u16 + 3))),
        // The forking parent is on a CPU between dup_task_struct() and klp_copy_process(), and a
        // handler between its two reads (fork_inherits / synchronize_transition knobs only).
        Action::KlpCopyProcess(pid) => Some(Strong(task_class(pid, 2 * DEPTHS as u16 + 4))),
        Action::KlpFtraceHandlerFinish(pid) => Some(Weak(task_class(pid, 2 * DEPTHS as u16 + 5))),
        // The rest of klp_complete_transition() after a dropped klp_synchronize_transition().
        // Strong: the model makes a part after a kept synchronize wait until no handler is in
        // flight (the kernel's schedule_on_each_cpu() waits only for the handlers already
        // running), so a task entering handlers again and again disables it intermittently.
        Action::KlpCompleteTransitionPart => Some(Strong(COMPLETE)),
        // The ordering knobs' split steps (kernel/livepatch/: each a branch at its barrier). A
        // self switch in flight runs with preemption disabled on its CPU: weak, per task. The
        // rest of a split klp_reverse_transition() / __klp_disable_patch() holds klp_mutex and
        // may wait for self switches or handlers in flight: strong. Stores reach every CPU
        // eventually.
        Action::KlpSelfSwitchContinue(pid) => Some(Weak(task_class(pid, 2 * DEPTHS as u16 + 6))),
        Action::KlpReverseTransitionContinue => Some(Strong(REVERSE)),
        Action::KlpDisablePatchContinue => Some(Strong(DISABLE)),
        Action::StoresVisible => Some(Strong(STORES)),
        // Under full preemption a task that can be preempted infinitely often is (strong);
        // under voluntary and none preemption may never come. A preempted task is picked again
        // (weak: it stays runnable).
        Action::Preempt(pid) if sys.spec.variant.preempt == crate::variant::Preempt::Full => {
            Some(Strong(task_class(pid, 2 * DEPTHS as u16 + 10 + depth_slot(depth(pid)))))
        }
        Action::Preempt(_) => None,
        Action::Resume(pid) => Some(Weak(task_class(pid, 2 * DEPTHS as u16 + 7))),
        Action::CondResched(pid) => Some(Strong(task_class(pid, 2 * DEPTHS as u16 + 8))),
        // A task looping through a nop (nop_handler = set_pc) is on its CPU (or preempted and
        // picked again): it keeps re-entering the handler.
        Action::KlpNopLoop(pid) => Some(Weak(task_class(pid, 3 * DEPTHS as u16 + 10))),
    }
}

// The class ranges do not overlap and fit in 15 bits.
const _: () = {
    assert!(FREE_BASE + 255 < LOADER_BASE);
    assert!(LOADER_BASE + 255 < CHECK_OFF_CPU_BASE);
    assert!(CHECK_OFF_CPU_BASE + 255 < TASK_BASE);
    assert!(3 * DEPTHS as u16 + 11 <= PER_TASK);
    assert!(TASK_BASE as u32 + 256 * PER_TASK as u32 <= 0x8000);
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{Context, Frame};

    #[test]
    fn admin_is_unfair_and_returns_are_per_task_and_depth() {
        let src = "[[functions]]\nname = \"f\"\ncalls = [\"f\"]\nsleeps = \"interruptible\"\n\
                   [[tasks]]\ncomm = \"a\"\nentry = [\"f\"]\n[[tasks]]\ncomm = \"b\"\nentry = [\"f\"]\n\
                   [[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [\"f\"]\n";
        let spec = crate::scenario::parse("t", "t.toml", src).unwrap();
        let sys = KlpSystem::new(spec, Vec::new);
        let mut st = sys.init_state();
        assert_eq!(fairness(&sys, &st, &Action::Admin(0)), None);
        assert_eq!(fairness(&sys, &st, &Action::Syscall(0, 0)), None);
        assert_eq!(fairness(&sys, &st, &Action::KlpTrySwitchTask(1)), Some(FairClass::Weak(WORK)));
        let fr = Frame { func: 0, version: crate::ids::Version::ORIGINAL };
        st.tasks[0].context = Context::Running;
        st.tasks[0].stack = [fr].into_iter().collect();
        let r1 = fairness(&sys, &st, &Action::Return(0));
        st.tasks[0].stack = [fr, fr].into_iter().collect();
        let r2 = fairness(&sys, &st, &Action::Return(0));
        st.tasks[1].stack = [fr, fr].into_iter().collect();
        let other = fairness(&sys, &st, &Action::Return(1));
        assert!(matches!(r1, Some(FairClass::Strong(_))));
        assert_ne!(r1, r2);
        assert_ne!(r2, other);
        // An interruptible sleep is ended by klp_send_signals(), not by a fair wake-up.
        st.tasks[0].context = Context::Sleeping;
        assert_eq!(fairness(&sys, &st, &Action::Wake(0)), None);
    }

    #[test]
    fn preemption_is_fair_only_under_full_and_a_preempted_task_resumes() {
        let src = "[[functions]]\nname = \"f\"\n[[tasks]]\ncomm = \"a\"\nentry = [\"f\"]\n\
                   [[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [\"f\"]\n";
        let mut spec = crate::scenario::parse("t", "t.toml", src).unwrap();
        let full = KlpSystem::new(spec.clone(), Vec::new);
        spec.variant.set("preempt", "none").unwrap();
        let none = KlpSystem::new(spec, Vec::new);
        let mut st = full.init_state();
        st.tasks[0].context = Context::Running;
        st.tasks[0].stack = [Frame { func: 0, version: crate::ids::Version::ORIGINAL }].into_iter().collect();
        let at1 = fairness(&full, &st, &Action::Preempt(0));
        assert!(matches!(at1, Some(FairClass::Strong(_))));
        assert_eq!(fairness(&none, &st, &Action::Preempt(0)), None);
        st.tasks[0].stack.clear();
        assert_ne!(fairness(&full, &st, &Action::Preempt(0)), at1, "one class per depth");
        st.tasks[0].context = Context::Preempted;
        assert!(matches!(fairness(&full, &st, &Action::Resume(0)), Some(FairClass::Weak(_))));
        // A pass that would switch a preempted task with TIF set: its own strong class.
        st.tasks[0].tif_patch_pending = true;
        assert_eq!(fairness(&full, &st, &Action::KlpTransitionWork), Some(FairClass::Strong(WORK_OFF_CPU)));
        st.tasks[0].context = Context::Running;
        assert_eq!(fairness(&full, &st, &Action::KlpTransitionWork), Some(FairClass::Weak(WORK)));
    }
}
