//! Wording of the lines that are not kernel/livepatch messages: the selftest modules' callback
//! lines (`test_klp_callbacks_demo.c`: `callback_info()` and its `module_state[]` table) and the
//! shell commands as the selftests log them.

use crate::spec::{AdminOp, OpSpec, ProcRead, Spec};
use crate::state::ModState;

/// `module_state[]` in lib/livepatch/test_klp_callbacks_demo.c.
pub fn module_state_str(s: ModState) -> &'static str {
    match s {
        ModState::Live => "[MODULE_STATE_LIVE] Normal state",
        ModState::Formed | ModState::KlpWait | ModState::Coming | ModState::NotifierFailed => {
            "[MODULE_STATE_COMING] Full formed, running module_init"
        }
        ModState::Exiting | ModState::Going | ModState::Gone => "[MODULE_STATE_GOING] Going away",
        ModState::Unloaded => "[MODULE_STATE_UNFORMED] Still setting up",
    }
}

/// The command line the selftests log for an admin command (`% insmod test_klp_livepatch.ko`).
/// An insmod's module parameters follow the file name as written (functions.sh logs
/// `% insmod test_modules/$mod.ko $*`).
pub fn command_line(spec: &Spec, o: &OpSpec) -> String {
    let patch = |p: u8| spec.patches[p as usize].name.clone();
    let module = |m: u8| spec.modules[m as usize].name.clone();
    let args = if o.args.is_empty() { String::new() } else { format!(" {}", o.args) };
    match o.op {
        AdminOp::InsmodPatch(p) => format!("% insmod test_modules/{}.ko{args}", patch(p)),
        AdminOp::InsmodModule(m) => format!("% insmod test_modules/{}.ko{args}", module(m)),
        AdminOp::SetPrePatchRet(p, v) => format!("% echo {v} > /sys/module/{}/parameters/pre_patch_ret", patch(p)),
        AdminOp::RmmodPatch(p) => format!("% rmmod {}", patch(p)),
        AdminOp::RmmodModule(m) => format!("% rmmod {}", module(m)),
        AdminOp::Disable(p) => format!("% echo 0 > /sys/kernel/livepatch/{}/enabled", patch(p)),
        AdminOp::Enable(p) => format!("% echo 1 > /sys/kernel/livepatch/{}/enabled", patch(p)),
        AdminOp::Force(p) => format!("% echo 1 > /sys/kernel/livepatch/{}/force", patch(p)),
        AdminOp::CpuUp(t) => format!("% echo 1 > /sys/devices/system/cpu/cpu{}/online", spec.cpu_of(t)),
        AdminOp::CpuDown(t) => format!("% echo 0 > /sys/devices/system/cpu/cpu{}/online", spec.cpu_of(t)),
        // Not logged by the harness: the helper's name and arguments, for traces.
        AdminOp::CheckSysfsValue(p, file, v) => {
            format!("% check_sysfs_value {} \"{}\" {v}", patch(p), spec.sysfs_rel(file))
        }
        AdminOp::CheckSysfsRights(p, file, m) => {
            format!("% check_sysfs_rights {} \"{}\" {}", patch(p), spec.sysfs_rel(file), m.as_str())
        }
        AdminOp::SetFtraceEnabled { value, can_fail } => {
            format!("% set_ftrace_enabled {}{}", if can_fail { "--fail " } else { "" }, value as u8)
        }
        AdminOp::ReadProc(t, f, how) => {
            let file = spec.funcs[f as usize].proc_file.as_deref().unwrap_or_default();
            let (comm, text) = (&spec.tasks[t as usize].comm, &o.text);
            match how {
                ProcRead::Grep => format!("% {comm}: grep '{text}' {file} > /dev/kmsg"),
                ProcRead::CatExpect => format!("% {comm}: [[ \"$(cat {file})\" != \"{text}\" ]] && die"),
                ProcRead::CatExpectNot => format!("% {comm}: [[ \"$(cat {file})\" == \"{text}\" ]] && die"),
            }
        }
    }
}

/// kmod's insmod (tools/insmod.c `mod_strerror()`): its own wording for the errors
/// `init_module()` usually returns, `strerror()` for the rest.
pub fn insmod_strerror(errno: i32) -> &'static str {
    match -errno {
        8 => "Invalid module format",           // ENOEXEC
        2 => "Unknown symbol in module",        // ENOENT
        3 => "Module has wrong symbol version", // ESRCH
        22 => "Invalid parameters",             // EINVAL
        _ => crate::errno::strerror(errno),
    }
}

/// The error line a failed command prints, as the selftests capture it.
pub fn command_error(spec: &Spec, op: AdminOp, errno: i32) -> String {
    let err = crate::errno::strerror(errno);
    let insmod_err = insmod_strerror(errno);
    match op {
        AdminOp::InsmodPatch(p) => {
            format!(
                "insmod: ERROR: could not insert module test_modules/{}.ko: {insmod_err}",
                spec.patches[p as usize].name
            )
        }
        AdminOp::InsmodModule(m) => {
            format!(
                "insmod: ERROR: could not insert module test_modules/{}.ko: {insmod_err}",
                spec.modules[m as usize].name
            )
        }
        AdminOp::RmmodPatch(p) => format!("rmmod: ERROR: Module {} is in use", spec.patches[p as usize].name),
        AdminOp::RmmodModule(m) => format!("rmmod: ERROR: Module {} is in use", spec.modules[m as usize].name),
        AdminOp::Disable(p) | AdminOp::Enable(p) => {
            format!("echo: write error: /sys/kernel/livepatch/{}/enabled: {err}", spec.patches[p as usize].name)
        }
        AdminOp::Force(p) => {
            format!("echo: write error: /sys/kernel/livepatch/{}/force: {err}", spec.patches[p as usize].name)
        }
        AdminOp::CpuUp(t) | AdminOp::CpuDown(t) => {
            format!("echo: write error: /sys/devices/system/cpu/cpu{}/online: {err}", spec.cpu_of(t))
        }
        AdminOp::CheckSysfsValue(..) | AdminOp::CheckSysfsRights(..) | AdminOp::ReadProc(..) => format!("check: {err}"),
        AdminOp::SetFtraceEnabled { .. } => format!("sysctl: setting key \"kernel.ftrace_enabled\": {err}"),
        AdminOp::SetPrePatchRet(p, _) => {
            format!("echo: write error: /sys/module/{}/parameters/pre_patch_ret: {err}", spec.patches[p as usize].name)
        }
    }
}
