//! A scenario's admin commands as the spec holds them: the selftests' shell commands and their
//! order.

use crate::ids::*;
use serde::{Deserialize, Serialize};

/// Whether admin commands run as a script or as a set in any order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminOrder {
    /// The commands run once each, in file order, each (with `wait`, the default) after the
    /// previous one finished as the selftest helpers wait for it.
    Script,
    /// Each command may run at any time, up to its `max` times, interleaved with the tasks.
    Any,
}

/// An admin command, as a user types it in the selftests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminOp {
    /// `insmod <patch>.ko`: the module's init calls `klp_enable_patch()`.
    InsmodPatch(PatchId),
    /// `rmmod <patch>`: unload the livepatch module (refused while its reference is held).
    RmmodPatch(PatchId),
    /// `modprobe <mod>`: load a target module (`load_module()`).
    InsmodModule(ModId),
    /// `rmmod <mod>`: unload a target module (`delete_module()`).
    RmmodModule(ModId),
    /// `echo 0 > /sys/kernel/livepatch/<patch>/enabled`.
    Disable(PatchId),
    /// `echo 1 > /sys/kernel/livepatch/<patch>/enabled`.
    Enable(PatchId),
    /// `echo 1 > /sys/kernel/livepatch/<patch>/force`.
    Force(PatchId),
    /// `echo 1 > /sys/devices/system/cpu/cpuN/online` (`cpu_up()`): the CPU whose idle task is
    /// this pid comes online.
    CpuUp(Pid),
    /// `echo 0 > /sys/devices/system/cpu/cpuN/online` (`cpu_down()`): that CPU goes offline.
    CpuDown(Pid),
    /// functions.sh `check_sysfs_value <patch> <file> <value>`: `cat` of a patch's sysfs file
    /// compared with the expected value; a mismatch dies (the script ends). Script order only.
    CheckSysfsValue(PatchId, SysfsFile, u32),
    /// functions.sh `check_sysfs_rights <patch> <file> <rights>`: `stat --format '%A'` of the
    /// file compared with the expected mode; a mismatch dies. Script order only.
    CheckSysfsRights(PatchId, SysfsFile, SysfsMode),
    /// functions.sh `set_ftrace_enabled [--fail] <value>`: `sysctl kernel.ftrace_enabled=<value>`
    /// (`ftrace_enable_sysctl()`). The harness logs the value it reads back, or with `--fail`
    /// the error; without `--fail` a refused write skips the test (the script ends).
    SetFtraceEnabled { value: bool, can_fail: bool },
    /// functions.sh `set_pre_patch_ret <patch> <ret>`: `echo <ret> >
    /// /sys/module/<patch>/parameters/pre_patch_ret` (test_klp_callbacks_demo.c's 0644
    /// `module_param()`): what the patch's pre_patch callbacks return from now on.
    SetPrePatchRet(PatchId, i32),
    /// The script's read of a /proc file (test-livepatch.sh, test-ftrace.sh): the task (the
    /// shell's child) `read()`s the file, a syscall into its show function that goes through
    /// `klp_ftrace_handler()` like any call; what the version it ran wrote is then filtered
    /// ([`ProcRead`], the text in [`OpSpec::text`]). Script order only.
    ReadProc(Pid, FuncId, ProcRead),
}

/// What the script does with a /proc file's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcRead {
    /// `grep '<pattern>' <file> > /dev/kmsg`: the lines that contain the pattern go to the
    /// kernel log.
    Grep,
    /// `if [[ "$(cat <file>)" != "<text>" ]]; then ... die ...; fi`: logs nothing; a file that
    /// reads otherwise dies.
    CatExpect,
    /// `if [[ "$(cat <file>)" == "<text>" ]]; then ... die ...; fi`: a file that reads the text
    /// dies.
    CatExpectNot,
}

/// A file (or directory) of `/sys/kernel/livepatch/<patch>/` (core.c's sysfs interface).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SysfsFile {
    /// The patch's directory itself.
    Dir,
    Enabled,
    Transition,
    Force,
    Replace,
    StackOrder,
    /// `<patch>/<object>/`.
    ObjDir(ObjId),
    /// `<patch>/<object>/patched`.
    ObjPatched(ObjId),
}

/// The modes core.c gives its sysfs files, as `stat --format '%A'` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SysfsMode {
    /// `drwxr-xr-x`: a kobject directory.
    Dir,
    /// `-rw-r--r--`: `__ATTR_RW`.
    ReadWrite,
    /// `-r--r--r--`: `__ATTR_RO`.
    ReadOnly,
    /// `--w-------`: `__ATTR_WO`.
    WriteOnly,
}

impl SysfsMode {
    pub const ALL: [SysfsMode; 4] = [SysfsMode::Dir, SysfsMode::ReadWrite, SysfsMode::ReadOnly, SysfsMode::WriteOnly];
    pub fn as_str(self) -> &'static str {
        match self {
            SysfsMode::Dir => "drwxr-xr-x",
            SysfsMode::ReadWrite => "-rw-r--r--",
            SysfsMode::ReadOnly => "-r--r--r--",
            SysfsMode::WriteOnly => "--w-------",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSpec {
    pub op: AdminOp,
    /// Any order: how many times it may run.
    pub max: u8,
    /// Script order: the next command waits as the selftest helper does (`load_lp` waits for the
    /// transition to finish, `disable_lp` for the sysfs directory to vanish, `unload_lp` for the
    /// reference count to drop, `load_mod`/`unload_mod` for the module loader).
    pub wait: bool,
    /// `insmod`: the module parameters after the file name, as written (the harness logs
    /// them: `% insmod test_modules/test_klp_callbacks_demo.ko pre_patch_ret=-19`); empty
    /// otherwise. Their effect is in [`OpSpec::pre_patch_ret`] or already in the spec
    /// (`replace=`, `block_transition=` are read once, at load: scenario/params.rs).
    pub args: String,
    /// `insmod <patch>`: the `pre_patch_ret=` parameter (test_klp_callbacks_demo.c), which
    /// `load_module()`'s `parse_args()` stores before the module's init runs.
    pub pre_patch_ret: Option<i32>,
    /// `grep`: the pattern (a fixed string); `cat`: the text compared with the file's
    /// contents; empty otherwise.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub order: AdminOrder,
    pub ops: Vec<OpSpec>,
}
