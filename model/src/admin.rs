//! The administrator: the selftests' shell commands (`insmod`, `rmmod`, `echo ... >
//! /sys/kernel/livepatch/...`), each run to completion in the kernel entry point it calls, and
//! when the next command may start: a script waits as the selftest helpers do, the any-order
//! set offers only commands that would change the kernel's state.

use crate::action::Action;
use crate::dmesg;
use crate::ids::Pid;
use crate::kernel::cpu::{cpu_down, cpu_down_ready, cpu_up};
use crate::kernel::livepatch::core::registration::{
    klp_registered_disabled, klp_stacking_refuses_disable, klp_stacking_refuses_enable,
};
use crate::kernel::livepatch::core::sysfs::check_sysfs;
use crate::kernel::livepatch::core::{enabled_store, enabled_store_permitted, force_store};
use crate::kernel::livepatch::patch::handler_split;
use crate::kernel::livepatch::state::klp_is_patch_compatible;
use crate::kernel::livepatch::transition::handlers_synchronized;
use crate::kernel::livepatch::transition::holds_cpus_read_lock;
use crate::kernel::module::main::{
    delete_livepatch_module, delete_module, livepatch_module_in_use, load_livepatch_module, load_module,
};
use crate::kernel::params::param_attr_store_pre_patch_ret;
use crate::kernel::trace::ftrace::{ftrace_enable_sysctl, is_permanent_ops_registered};
use crate::log::Log;
use crate::spec::{AdminOp, AdminOrder, OpSpec, ProcRead, Spec, SysfsFile};
use crate::state::{ModState, PatchLife, State};
use crate::task::{Context, TaskKind};

/// Runs admin command `i` of the scenario, logging its command line and its error, if any.
/// `None` if there is no such command.
pub fn run(spec: &Spec, st: &mut State, i: u8, log: &mut impl Log) -> Option<()> {
    let spec_op = spec.admin.ops.get(i as usize)?;
    let op = spec_op.op;
    st.admin.ran(spec.admin.order == AdminOrder::Script, i as usize);
    if let AdminOp::CheckSysfsValue(..) | AdminOp::CheckSysfsRights(..) = op {
        // The check helpers log nothing; a mismatch dies: its line, and the script ends.
        if let Some(line) = check_sysfs(spec, st, op) {
            log.line(|| line);
            st.admin.0[0] = spec.admin.ops.len() as u8;
        }
        return Some(());
    }
    if let AdminOp::SetFtraceEnabled { value, can_fail } = op {
        set_ftrace_enabled(spec, st, value, can_fail, log);
        return Some(());
    }
    if let AdminOp::ReadProc(t, ..) = op {
        // The shell starts the reader and logs nothing; the task's next syscall is the read()
        // (a task step, interleaved with everything else), which ends in [`proc_read_returns`].
        // Atomic because: starting the pipeline (fork, exec, open) touches nothing livepatch
        // reads; the reader runs in the shell task itself (README, Simplifications).
        st.tasks[t as usize].proc_read = Some(i);
        return Some(());
    }
    log.line(|| dmesg::command_line(spec, spec_op));
    let ret = command(spec, st, spec_op, log);
    // The harness does not capture a failed parameter write (`echo`'s error goes to stderr).
    if ret != 0 && !matches!(op, AdminOp::SetPrePatchRet(..)) {
        log.line(|| dmesg::command_error(spec, op, ret));
    }
    Some(())
}

/// functions.sh `set_ftrace_enabled`: the sysctl write, then the harness's own line: the value
/// read back, or (`--fail`) the error sysctl printed; a refused write without `--fail` skips
/// the test (`skip()`: its line, and the script ends).
fn set_ftrace_enabled(spec: &Spec, st: &mut State, value: bool, can_fail: bool, log: &mut impl Log) {
    let v = value as u8;
    if ftrace_enable_sysctl(st, value) == 0 {
        log.line(|| format!("livepatch: kernel.ftrace_enabled = {v}"));
    } else if can_fail {
        let err = crate::errno::strerror(crate::errno::EBUSY);
        log.line(|| format!("livepatch: sysctl: setting key \"kernel.ftrace_enabled\": {err}"));
    } else {
        log.line(|| format!("SKIP: failed to set kernel.ftrace_enabled = {v}"));
        st.admin.0[0] = spec.admin.ops.len() as u8;
    }
}

/// The script's read of a /proc file ends: `read()` returned to task `pid` what the show
/// function's version wrote (`output`). `grep` writes the lines that contain its pattern to
/// /dev/kmsg, one record each; `cat`'s comparison (of `$(cat ...)`, trailing newlines dropped)
/// logs nothing when it passes, and on a mismatch the script dies: `die "livepatch
/// kselftest(s) failed"` logs "ERROR: ..." (functions.sh) and the script ends.
/// Atomic because (with the return it follows): the text is in the reader's own memory once
/// `read()` returned, and the write to /dev/kmsg touches nothing livepatch reads.
pub fn proc_read_returns(spec: &Spec, st: &mut State, pid: Pid, output: &str, log: &mut impl Log) {
    let Some(i) = st.tasks[pid as usize].proc_read.take() else { return };
    let o = &spec.admin.ops[i as usize];
    let AdminOp::ReadProc(_, _, how) = o.op else { return };
    let got = output.trim_end_matches('\n');
    let dies = match how {
        ProcRead::Grep => {
            for line in got.lines().filter(|l| l.contains(o.text.as_str())) {
                log.line(|| line.to_string());
            }
            false
        }
        ProcRead::CatExpect => got != o.text,
        ProcRead::CatExpectNot => got == o.text,
    };
    if dies {
        log.line(|| "ERROR: livepatch kselftest(s) failed".to_string());
        st.admin.0[0] = spec.admin.ops.len() as u8;
    }
}

/// The kernel entry point a command calls; returns 0 or the -errno it fails with.
fn command(spec: &Spec, st: &mut State, op: &OpSpec, log: &mut impl Log) -> i32 {
    match op.op {
        AdminOp::InsmodPatch(p) => load_livepatch_module(spec, st, p, op.pre_patch_ret, log),
        AdminOp::SetPrePatchRet(p, v) => param_attr_store_pre_patch_ret(st, p, v),
        AdminOp::RmmodPatch(p) => delete_livepatch_module(spec, st, p),
        AdminOp::InsmodModule(m) => load_module(st, m),
        AdminOp::RmmodModule(m) => delete_module(spec, st, m, log),
        AdminOp::Disable(p) => enabled_store(spec, st, p, false, log),
        AdminOp::Enable(p) => enabled_store(spec, st, p, true, log),
        AdminOp::Force(p) => force_store(spec, st, p, log),
        AdminOp::CpuUp(t) => cpu_up(st, t),
        AdminOp::CpuDown(t) => cpu_down(st, t),
        AdminOp::CheckSysfsValue(..)
        | AdminOp::CheckSysfsRights(..)
        | AdminOp::SetFtraceEnabled { .. }
        | AdminOp::ReadProc(..) => 0,
    }
}

/// Commands that take `klp_mutex` (insmod of a livepatch module, the sysfs writes; rmmod of a
/// target module when `delete_module()` calls `klp_module_going()` before `mod->exit()`, knob
/// `module_hooks_order = "inside_init_exit"`).
fn needs_klp_mutex(spec: &Spec, op: AdminOp) -> bool {
    matches!(
        op,
        AdminOp::InsmodPatch(_)
            | AdminOp::Disable(_)
            | AdminOp::Enable(_)
            | AdminOp::Force(_)
            | AdminOp::CheckSysfsValue(_, SysfsFile::StackOrder, _)
    ) || (matches!(op, AdminOp::RmmodModule(_))
        && spec.variant.module_hooks_order == crate::variant::ModuleHooksOrder::InsideInitExit)
}

/// Any order offers a command only when it would change the kernel's state: a command the
/// kernel refuses (-EEXIST, -ENOENT, -EBUSY, -EINVAL) changes nothing but the command budget,
/// so exploring it only multiplies states. Scripts run refused commands too (and log them).
fn changes_kernel_state(spec: &Spec, st: &State, op: AdminOp) -> bool {
    let no_transition = st.klp_transition_patch.is_none();
    match op {
        AdminOp::InsmodPatch(p) => {
            st.patches[p as usize].life == PatchLife::Unloaded && no_transition && klp_is_patch_compatible(spec, st, p)
        }
        AdminOp::RmmodPatch(p) => {
            st.patches[p as usize].life != PatchLife::Unloaded && !livepatch_module_in_use(spec, st, p)
        }
        AdminOp::InsmodModule(m) => st.mods[m as usize].state == ModState::Unloaded,
        AdminOp::RmmodModule(m) => st.mods[m as usize].state == ModState::Live,
        AdminOp::Disable(p) => {
            st.patches[p as usize].life == PatchLife::Listed
                && st.patches[p as usize].enabled
                && ((no_transition && !klp_stacking_refuses_disable(spec, st, p)) || st.klp_transition_patch == Some(p))
                && enabled_store_permitted(spec, st, p)
        }
        AdminOp::Enable(p) if klp_registered_disabled(spec, st, p) => {
            no_transition && !klp_stacking_refuses_enable(spec, st, p)
        }
        AdminOp::Enable(p) | AdminOp::Force(p) => {
            st.klp_transition_patch == Some(p)
                && (op == AdminOp::Force(p)
                    || (!st.patches[p as usize].enabled && enabled_store_permitted(spec, st, p)))
        }
        AdminOp::CpuUp(t) => st.tasks[t as usize].context == Context::Offline,
        AdminOp::CpuDown(t) => st.tasks[t as usize].context != Context::Offline,
        // Reads (script order only).
        AdminOp::CheckSysfsValue(..) | AdminOp::CheckSysfsRights(..) | AdminOp::ReadProc(..) => false,
        AdminOp::SetFtraceEnabled { value, .. } => {
            value != st.ftrace_enabled && (value || !is_permanent_ops_registered(st))
        }
        AdminOp::SetPrePatchRet(p, v) => {
            let r = &st.patches[p as usize];
            r.life != PatchLife::Unloaded && r.pre_patch_ret != Some(v as i16)
        }
    }
}

/// Script order: has the previous command finished waiting, as the selftest helper would?
/// (`load_lp` waits for the transition to finish, `disable_lp` for the sysfs directory to
/// vanish, `load_mod`/`unload_mod` for the module loader.)
fn script_wait_done(spec: &Spec, st: &State, op: AdminOp) -> bool {
    match op {
        AdminOp::InsmodPatch(p) => st.klp_transition_patch != Some(p),
        // The sysfs directory vanishes: klp_free_patch_finish() puts its kobject, so a patch
        // still Freeing has it. A registered patch (reenable_disabled) stays.
        AdminOp::Disable(p) => {
            !matches!(st.patches[p as usize].life, PatchLife::Listed | PatchLife::Freeing)
                || klp_registered_disabled(spec, st, p)
        }
        AdminOp::InsmodModule(m) => !st.mods[m as usize].state.is_coming(),
        AdminOp::RmmodModule(m) => !st.mods[m as usize].state.is_going(),
        AdminOp::RmmodPatch(_) | AdminOp::Enable(_) | AdminOp::Force(_) => true,
        AdminOp::CpuUp(_) | AdminOp::CpuDown(_) => true,
        AdminOp::CheckSysfsValue(..) | AdminOp::CheckSysfsRights(..) | AdminOp::SetFtraceEnabled { .. } => true,
        AdminOp::SetPrePatchRet(..) => true,
        // The shell waits for its pipeline: the read has returned.
        AdminOp::ReadProc(t, ..) => st.tasks[t as usize].proc_read.is_none(),
    }
}

/// The admin commands that may run next.
pub fn admin_actions(spec: &Spec, st: &State, out: &mut Vec<Action>) {
    let ops = &spec.admin.ops;
    let ready = |i: usize| {
        let op = ops[i].op;
        // __klp_disable_patch() makes no klp_synchronize_transition() call.
        let no_sync = handler_split(spec) && matches!(op, AdminOp::Disable(p) if st.klp_transition_patch != Some(p));
        if needs_klp_mutex(spec, op) && !(st.klp_mutex_free() && (no_sync || handlers_synchronized(spec, st))) {
            return false;
        }
        // cpus_write_lock() waits for the idle walk's cpus_read_lock(); cpu_down() for the idle
        // task to be back in its idle loop.
        if let AdminOp::CpuUp(t) | AdminOp::CpuDown(t) = op {
            let nthreads = spec.tasks.iter().filter(|t| t.kind != TaskKind::Idle).count();
            return !holds_cpus_read_lock(spec, st, nthreads) && (op == AdminOp::CpuUp(t) || cpu_down_ready(st, t));
        }
        // The shell runs the reader once it is back in user mode (not inside a syscall of its own).
        if let AdminOp::ReadProc(t, ..) = op {
            let t = &st.tasks[t as usize];
            return t.context == Context::User && t.proc_read.is_none();
        }
        // `unload_lp` waits for the reference count to drop before rmmod.
        if let (AdminOp::RmmodPatch(p), AdminOrder::Script, true) = (op, spec.admin.order, ops[i].wait) {
            return !livepatch_module_in_use(spec, st, p);
        }
        true
    };
    match spec.admin.order {
        AdminOrder::Script => {
            let pc = st.admin.script_next();
            if pc < ops.len()
                && (pc == 0 || !ops[pc - 1].wait || script_wait_done(spec, st, ops[pc - 1].op))
                && ready(pc)
            {
                out.push(Action::Admin(pc as u8));
            }
        }
        AdminOrder::Any => {
            for (i, op) in ops.iter().enumerate() {
                if st.admin.runs(i) < op.max && ready(i) && changes_kernel_state(spec, st, op.op) {
                    out.push(Action::Admin(i as u8));
                }
            }
        }
    }
}
