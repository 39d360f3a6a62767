//! The knobs: one row each (see the `knobs!` macro in variant.rs). The row's sentence and its
//! values' docs are what `klpcheck list knobs` prints; each value names where it comes from.
//! `///` lines are notes on the model, for rustdoc only.

use super::*;

knobs! {
    stack_check: enum StackCheck = "what klp_check_stack() forbids on a task's stack before the task is switched" {
        Previous = "previous": "upstream: the version being replaced (next func_stack entry or the original) when \
                  patching, the patch's own function when unpatching (transition.c, klp_check_stack_func())",
        None = "none": "no stack check: the removed `immediate` flag (v4.12..v4.15, removed by d0807da78e11)",
        All = "all": "every version of each function of the transition patch except the one the target state \
                  runs (whole func_stack and the original): the alternative to d0807da78e11 (removing \
                  `immediate`) that would have closed its 1i/2i/3 hole",
    }
    immediate: enum Immediate = "whether a scenario patch's `immediate = true` (struct klp_patch.immediate) is honoured" {
        Removed = "removed": "upstream since v4.16: d0807da78e11 \"livepatch: Remove immediate feature\"; such a \
                  patch is an ordinary patch",
        Honoured = "honoured": "v4.12..v4.15: an immediate patch skips the per-task transition (klp_init_transition(), \
                  klp_start_transition() return early, klp_try_complete_transition() completes at once)",
    }
    fork_inherits: enum ForkInherits = "how klp_copy_process() gives a forked child its patch_state and TIF_PATCH_PENDING" {
        Together = "together": "upstream since v6.0 (747f7a290117 \"livepatch: fix race between fork and KLP \
                  transition\"): both copied in klp_copy_process() under tasklist_lock",
        TifBeforeState = "tif_before_state": "v4.12..v5.19: TIF copied early by dup_task_struct()/setup_thread_stack() without \
                  tasklist_lock, patch_state later in klp_copy_process()",
    }
    /// With one call dropped, the handler's reads are model steps of their own, so a handler can
    /// straddle the writes that call separated.
    synchronize_transition: enum SynchronizeTransition = "which klp_synchronize_transition() calls (waits for ftrace handlers in flight) are made" {
        All = "all": "upstream: every documented call (since 842c08846420 replaced synchronize_rcu())",
        DropInCompleteUnpatching = "drop_in_complete_unpatching": "klp_complete_transition(): none after klp_unpatch_objects() (unpatching): a handler \
                  may pick a removed function once func->transition is cleared",
        DropInCompletePatching = "drop_in_complete_patching": "klp_complete_transition(): none after clearing func->transition (patching): a handler \
                  may read patch_state IDLE (the WARN_ON_ONCE in klp_ftrace_handler())",
    }
    klp_alive: enum KlpAlive = "whether klp_find_object_module() binds obj->mod only to a module between klp_module_coming() and \
              klp_module_going() (mod->klp_alive)" {
        Checked = "checked": "upstream since v4.0: bind only if mod->klp_alive (\"livepatch: Fix subtle race \
                      with coming and going modules\")",
        Ignored = "ignored": "v3.19: bind to any module find_module() sees, also one whose coming hook has not run yet \
                      (the patch is applied twice, in the wrong func_stack order) or whose going hook already ran \
                      (obj->mod dangles)",
    }
    force: enum Force = "the livepatch module's reference after klp_force_transition()" {
        KeepModule = "keep_module": "upstream since v4.15 (\"livepatch: force transition to finish\"): forced patches \
                      never call module_put(), their modules stay loaded (livepatch.rst: \"Removal (rmmod) of patch \
                      modules is permanently disabled when the force feature is used\")",
        PutModule = "put_module": "module_put() as after a normal transition: the kpatch core module before dynup/kpatch#305 \
                      (\"prevent rmmod of forced modules\", 2014) let a forced patch module be unloaded while a \
                      task still slept in its code",
    }
    nullify_obj_mod_on_coming_error: enum NullifyObjMod = "whether klp_module_coming()'s error path clears obj->mod of the object that refused the module" {
        Yes = "yes": "upstream since v5.4 (4ff96fb52c69 \"livepatch: Nullify obj->mod in klp_module_coming()'s \
                      error path\")",
        No = "no": "before v5.4 (4ff96fb52c69): obj->mod keeps pointing at the refused, freed module, so \
                      klp_is_object_loaded() is true for it",
    }
    stacking: enum Stacking = "which enabled patches may be disabled (and which disabled ones re-enabled)" {
        Any = "any": "upstream since v5.1 (d67a53720966 \"livepatch: Remove ordering (stacking) of the \
                      livepatches\"): any enabled patch, in any order",
        Lifo = "lifo": "v3.19..v5.0: __klp_disable_patch() refuses (-EBUSY) unless the next patch on klp_patches is \
                      disabled; __klp_enable_patch() refuses unless the previous one is enabled or the patch is a \
                      replace patch",
    }
    reenable_disabled: enum ReenableDisabled = "whether a disabled patch stays registered and `echo 1 > enabled` re-enables it" {
        No = "no": "upstream since v5.1 (958ef1e39d24 \"livepatch: Simplify API by removing registration step\"): \
                      a disabled or replaced patch is freed; echo 1 on a disabled patch is -EINVAL",
        Yes = "yes": "the registration API (v3.19..v5.0): a patch disabled by echo 0 or by an atomic replace stays \
                      on klp_patches until its module is removed, and echo 1 > enabled re-enables it",
    }
    /// The v5.1..v5.4 order is [`klp_complete_transition()`](crate::kernel::livepatch::transition)
    /// calling `klp_free_patch_start()` on each replaced patch right after unpatching it.
    free_replaced: enum FreeReplaced = "when an atomic-replace transition takes the replaced patches off klp_patches" {
        AfterPostPatch = "after_post_patch": "upstream since v5.5 (\"livepatch: Keep replaced patches until post_patch callback is \
                      called\", P. Mladek, LKML 2019-10-30): klp_try_complete_transition() calls klp_free_replaced_patches_async() after \
                      klp_complete_transition(), so the new patch's post_patch callbacks still find the replaced patches' \
                      klp_states with klp_get_prev_state()",
        BeforePostPatch = "before_post_patch": "v5.1..v5.4 (since \"livepatch: Add atomic replace\"): \
                      klp_complete_transition() frees each replaced patch (klp_discard_replaced_patches(): \
                      klp_free_patch_start()) before the post_patch callbacks, where klp_get_prev_state() returns NULL",
    }
    disable: shared Permission = "whether `echo 0 > enabled` may start an unpatching transition" {
        Allowed = "allowed": "upstream: core.c enabled_store() -> __klp_disable_patch()",
        Banned = "banned": "seed thread (J. Poimboeuf, LKML 2018-10-18): \"don't allow disabling patches at all\"; \
                      `echo 0 > enabled` on a patch not in transition fails with -EPERM, only a replace patch undoes a patch",
    }
    reverse_transition: shared Permission = "whether writing the opposite value to `enabled` during a transition reverses it" {
        Allowed = "allowed": "upstream: core.c enabled_store() -> klp_reverse_transition() (v4.12+)",
        Banned = "banned": "seed thread (P. Mladek's counter-argument: \"the revert operation allows to remove a livepatch \
                      stuck in the transition without forcing\"); the write fails with -EBUSY",
    }
    /// The replace patch is derived from the scenario when its `Spec` is built
    /// ([`crate::scenario::Scenario::build`]); every `disable` command then loads it.
    disable_via: enum DisableVia = "what the scenario's `disable` command does" {
        Sysfs = "sysfs": "upstream: `echo 0 > /sys/kernel/livepatch/<patch>/enabled`",
        EmptyReplace = "empty_replace": "seed thread (\"an empty 'nop' patch\"): insmod of a derived cumulative patch with no funcs \
                      (all nops), no callbacks, every klp_state of the scenario at its highest version",
        RevertReplace = "revert_replace": "seed thread (\"replaced with a 'revert' patch\"; P. Mladek: \"the empty patch might need to be \
                      custom\"): as empty_replace plus one object per object name with the union of the scenario's \
                      callbacks, which take over and later undo the replaced patches' state",
    }
    callbacks_on_replace: enum CallbacksOnReplace = "which callbacks run when an atomic-replace patch replaces older patches" {
        NewOnly = "new_only": "upstream (v5.1+, atomic replace): only the new patch's callbacks; klp_unpatch_replaced_patches() \
                      runs none of the replaced patches' (cumulative-patches.rst)",
        OldUnpatchThenNew = "old_unpatch_then_new": "docs/design-variants.md: replaced patches' pre_unpatch, then new pre_patch (at enable); replaced \
                      patches' post_unpatch, then new post_patch (at completion)",
        Interleaved = "interleaved": "docs/design-variants.md: replaced objects the new patch lacks first, then per object of the new \
                      patch the replaced patches' unpatch callback of that object name followed by the new one",
    }
    /// Under `before_unpatch_replaced` a replace patch's `klp_complete_transition()` is split
    /// after its first call (transition/complete.rs), so that handlers run between the two.
    discard_nops: enum DiscardNops = "where klp_complete_transition() of an atomic-replace patch calls klp_discard_nops() (the nop \
              funcs off their func_stacks) relative to klp_unpatch_replaced_patches() (the replaced patches' funcs off)" {
        AfterUnpatchReplaced = "after_unpatch_replaced": "upstream since atomic replace (e1452b607c48 \"livepatch: Add atomic \
                      replace\", v5.1): core.c klp_discard_nops(), \"IMPORTANT: It must be called right after removing \
                      the replaced patches!\": a nop is then the last func on its func_stack",
        BeforeUnpatchReplaced = "before_unpatch_replaced": "design alternative (no release; the order core.c forbids): the nops go \
                      first, the handlers (lock-free, RCU) run meanwhile, and a function the replace patch nops runs \
                      the replaced patch's version again until klp_unpatch_replaced_patches() takes it off",
    }
    /// Under `set_pc` a call the handler sends to a nop lands in a frame of the original
    /// function marked `nop_loop` ([`crate::task::Task::nop_loop`]): the task spins there,
    /// re-entering the handler, until the handler picks something else.
    nop_handler: enum NopHandler = "what klp_ftrace_handler() does when the func it picked is a nop (an atomic-replace patch's \
              func for a function it no longer patches)" {
        Skip = "skip": "upstream since atomic replace (e1452b607c48 \"livepatch: Add atomic replace\", v5.1): patch.c \
                      `if (func->nop) goto unlock;` (\"NOPs are used to replace existing patches with original code. Do \
                      nothing! Setting pc would cause an infinite loop.\"): the original code runs",
        SetPc = "set_pc": "design alternative (the check dropped): klp_arch_set_pc(regs, func->new_func) with a nop's \
                      new_func = old_func (core.c klp_init_object_loaded()): the call goes back to the function's own \
                      ftrace location and the handler runs again, for as long as it picks the nop",
    }
    late_module_patching: enum LateModulePatching = "how a target module loaded after its livepatch gets patched" {
        OnComing = "on_coming": "upstream: klp_module_coming() applies every patch on klp_patches",
        RequireLoaded = "require_loaded": "seed thread (J. Poimboeuf: \"require modules to be loaded before we 'patch' them\"): \
                      klp_enable_patch() fails -ENODEV for an unloaded target; the loader never patches (a reload runs unpatched)",
        PerModule = "per_module": "seed thread (P. Mladek: \"a livepatch-per-module\"): the loader never patches; user space \
                      loads each module's livepatch after the module (a separate admin command)",
    }
    module_load_during_transition: enum ModuleLoadDuringTransition = "what a target module load does while a transition is in progress" {
        Allowed = "allowed": "upstream: klp_module_coming() patches it for the transition patch too (per-task via func->transition)",
        Refused = "refused": "seed thread (\"refuse loading modules when livepatch transition is in progress\"): \
                      klp_module_coming() fails -EBUSY, the load fails",
        Blocked = "blocked": "seed thread (\"the transition gets blocked infinitely\"): the load sleeps in klp_module_coming() \
                      (module state klp_wait) until the transition ends",
    }
    reverse_order: enum ReverseOrder = "the order of klp_reverse_transition(): klp_target_state flip vs clearing TIF_PATCH_PENDING and \
              klp_synchronize_transition()" {
        /// One model step.
        ClearFirst = "clear_first": "upstream since v6.4 (e3ff7c609f39 \"livepatch,sched: Add livepatch task switching to \
                      cond_resched()\"): clear every TIF, synchronize, flip enabled and klp_target_state, smp_wmb(), \
                      start",
        /// Two model steps (the flip, the rest), and the self switches' reads of `klp_target_state`
        /// become steps of their own.
        FlipFirst = "flip_first": "v4.12..v6.3: flip enabled and klp_target_state, clear every TIF, synchronize, start; with the \
                      v6.4+ stack-checked self switch reading klp_target_state in separate steps (the combination \
                      P. Mladek's v2 review of e3ff7c609f39 ruled out; the checker finds no bug in it)",
    }
    /// Only a removed barrier makes the model split the accesses it ordered into separate steps
    /// that another CPU may observe out of program order; everything else stays sequentially
    /// consistent.
    barriers: enum Barriers = "which smp_wmb()/smp_rmb() pair of kernel/livepatch is present (a removed one lets other CPUs \
              observe the accesses it ordered in either order)" {
        All = "all": "upstream: every pair of transition.c, core.c and patch.c",
        NoInitWmb = "no_init_wmb": "no smp_wmb() in klp_init_transition() between the patch_state writes and the func->transition \
                      writes: a handler sees transition set and patch_state KLP_TRANSITION_IDLE (its WARN_ON_ONCE)",
        NoHandlerRmb = "no_handler_rmb": "no second smp_rmb() in klp_ftrace_handler(): patch_state read before func->transition, so \
                      the handler may read IDLE and a transition flag set just after (its WARN_ON_ONCE)",
        NoDisableWmb = "no_disable_wmb": "no smp_wmb() in __klp_disable_patch() between the func->transition writes and the \
                      TIF_PATCH_PENDING writes: a task switched by klp_update_patch_state() still sees \
                      transition clear and runs the patched function next to original ones (mixed versions)",
        NoReverseWmb = "no_reverse_wmb": "no smp_wmb() in klp_reverse_transition() between the klp_target_state flip and the new TIF \
                      writes: e3ff7c609f39 v2 before P. Mladek's review; klp_update_patch_state() reads TIF set \
                      and the old target, and drops the flag without switching",
    }
    /// Only the fairness of the idle loop's switch point differs (model/src/fairness.rs): the
    /// idle task may leave its idle state at any step (something the scenario does not model
    /// is scheduled on its CPU), and must do so after a failed try only where the kick exists.
    wake_up_if_idle: enum WakeUpIfIdle = "whether klp_try_complete_transition() kicks an online CPU's idle task out of its idle state \
              after failing to switch it" {
        Yes = "yes": "upstream since v5.16 (5de62ea84abd \"sched,livepatch: Use wake_up_if_idle()\"): a failed \
                      klp_try_switch_task() of an online CPU's idle task is followed by wake_up_if_idle(cpu) (\"Make \
                      idle task go through the main loop\"), so the idle task reaches klp_update_patch_state() at \
                      the end of do_idle()",
        No = "no": "v4.12..v5.15: no kick; do_idle() leaves its inner loop only when need_resched() is set by \
                      something scheduled on that CPU, which nothing promises (V. Gorbik, 2021: \"swapper/63:0 is \
                      running\" until \"failed to complete transition\" on an idle 128-CPU s390)",
    }
    /// Without the lock the walk's `cpu_online()` read and its store are model steps of their
    /// own, and `echo 0|1 > /sys/devices/system/cpu/cpuN/online` may run between them.
    idle_walk_lock: enum IdleWalkLock = "what excludes CPU hotplug while klp_try_complete_transition() walks the idle tasks \
              (an offline CPU's idle task is switched without a stack check)" {
        CpusReadLock = "cpus_read_lock": "upstream: cpus_read_lock() around the idle walk (v5.15+, 1daf08a066cf \
                      \"livepatch: Replace deprecated CPU-hotplug functions.\"; get_online_cpus() since the walk \
                      exists, d83a7cb375ee \"livepatch: change to a per-task consistency model\", v4.12): no CPU \
                      comes online or goes offline during the walk",
        None = "none": "no hotplug lock around the walk (no released kernel: the lock is in d83a7cb375ee from the \
                      start; this value shows what it protects): a CPU can come online between the walk's \
                      cpu_online() read and its \"offline idle tasks can be switched immediately\" store",
    }
    /// The model splits `mod->init` and `mod->exit()` into steps of their own (their code is the
    /// module's scenario functions); the design alternative moves the hooks inside them.
    module_hooks_order: enum ModuleHooksOrder = "where the module loader calls klp_module_coming()/klp_module_going() relative to the \
              module's own init and exit" {
        AroundInitExit = "around_init_exit": "upstream: klp_module_coming() before mod->init (prepare_coming_module(), a direct call \
                      since v4.5, 7e545d6eca20 \"livepatch/module: remove livepatch module notifier\"; before v4.5 the \
                      MODULE_STATE_COMING notifier, called by complete_formation(), also before mod->init), \
                      klp_module_going() after mod->exit() returned (delete_module())",
        InsideInitExit = "inside_init_exit": "design alternative, no release: klp_module_coming() once mod->init returned, \
                      klp_module_going() before mod->exit(): the module's init and exit run its unpatched code while \
                      a patch for it is enabled",
    }
    transition_patch_module_callbacks: enum TransitionPatchModuleCallbacks = "whether klp_module_coming()/klp_module_going() run the \
              transition patch's post_patch/pre_unpatch callbacks for a module loaded or removed mid-transition" {
        Skipped = "skipped": "upstream since the callbacks (93862e385ded \"livepatch: add (un)patch callbacks\", v4.15): the \
                      `patch != klp_transition_patch` guards; klp_complete_transition() runs post_patch once every task \
                      switched, and a reversed transition never ran it, so no pre_unpatch",
        Run = "run": "design alternative (the guards dropped; the callbacks never existed without them): post_patch runs at \
                      once for a module loaded mid-transition (before every task switched, and again at completion), \
                      pre_unpatch for one removed mid-transition although no post_patch ran",
    }
    /// A preempted task is [`crate::task::Context::Preempted`]: off its CPU and runnable, so not
    /// `task_curr()`; the transition work may check its stack, and it resumes where it was.
    preempt: enum Preempt = "where a task running kernel code may be preempted (off the CPU, runnable, not task_curr(), \
              its stack checkable by the transition work)" {
        Full = "full": "CONFIG_PREEMPT (and PREEMPT_LAZY, PREEMPT_RT): anywhere in kernel code outside preempt-disabled \
                      sections (kernel/sched/core.c preempt_schedule_irq() on the way back from an interrupt); the \
                      value that admits the most behaviours",
        Voluntary = "voluntary": "CONFIG_PREEMPT_VOLUNTARY: only at might_sleep() (might_resched() -> __cond_resched()) and \
                      cond_resched() points: in a function that may block or has a cond_resched() point",
        None = "none": "CONFIG_PREEMPT_NONE: only at explicit cond_resched() points (and by blocking in schedule())",
    }
    sched_try_switch: enum SchedTrySwitch = "where a task switches itself with a stack check (__klp_sched_try_switch() -> \
              klp_try_switch_task(current))" {
        Freezable = "freezable": "upstream since 676e8cf70cb0 (\"sched,livepatch: Untangle cond_resched() and live-patching\"): \
                      __schedule() calls klp_sched_try_switch(prev), which switches only if prev->__state has \
                      TASK_FREEZABLE (include/linux/livepatch_sched.h); preemption leaves __state TASK_RUNNING",
        CondResched = "cond_resched": "v6.4..v6.15 (e3ff7c609f39 \"livepatch,sched: Add livepatch task switching to \
                      cond_resched()\"): _cond_resched()/dynamic_cond_resched() call klp_sched_try_switch() at every \
                      cond_resched() point (forced on under full preemption by sched_dynamic_klp_enable()); \
                      schedule() does not",
        None = "none": "before v6.4: no self switch with a stack check; kthreads are switched only by the transition \
                      work's stack check while off their CPU (user tasks also at exit_to_user_mode(), idle tasks in \
                      do_idle())",
    }
    reliable_stack: enum ReliableStack = "whether klp_have_reliable_stack() holds (CONFIG_HAVE_RELIABLE_STACKTRACE)" {
        Yes = "yes": "x86_64 (ORC), arm64 (v6.x), s390, powerpc64le: klp_try_switch_task() checks stacks",
        No = "no": "an architecture or config without reliable stack traces: klp_try_switch_task() returns false \
                      at once (\"we have to rely on other methods (e.g., switching tasks at kernel exit)\"), from the \
                      transition work and from the task itself; tasks switch only in klp_update_patch_state() \
                      (exit_to_user_mode(), do_idle()) or by force",
    }
    /// Under `none` the work's `klp_try_switch_task()` is two steps: the stack sampled (and
    /// `task_curr()` tested), then TIF cleared and `patch_state` stored.
    task_switch_lock: enum TaskSwitchLock = "what keeps a task from running between the transition work's stack check \
              of it and the store of its patch_state" {
        TaskCallFunc = "task_call_func": "upstream since v5.16 (00619f7c650e \"sched,livepatch: Use task_call_func()\"): \
                      klp_check_and_switch_task() runs under the task's pi_lock and runqueue lock; before it \
                      (v4.12..v5.15) task_rq_lock() held the runqueue lock around the same check and store \
                      (\"frobbing around with scheduler internals\"), equally safe",
        None = "none": "design variant without either lock: the stack is sampled, then the state stored, and the task \
                      may run (wake up, call the function being replaced) in between",
    }
}
