//! kernel/cpu.c: CPU hotplug as the sysfs `online` file drives it (`cpu_device_up()` /
//! `cpu_device_down()`), as far as livepatch can tell: whether a CPU's idle task runs.

use crate::ids::*;
use crate::state::State;
use crate::task::Context;

/// `cpu_up()`: the CPU is brought up and its idle task starts its idle loop
/// (`cpuhp_online_idle()` -> `cpu_startup_entry()` -> `do_idle()`) with no frames, keeping its
/// `patch_state` and TIF_PATCH_PENDING. Returns 0 (an online CPU: `device_online()` does
/// nothing, the write succeeds).
/// Atomic because: `cpus_write_lock()` is held from before the CPU is marked online until it
/// runs, which excludes the idle walk of `klp_try_complete_transition()` (`cpus_read_lock()`).
pub fn cpu_up(st: &mut State, pid: Pid) -> i32 {
    let t = &mut st.tasks[pid as usize];
    if t.context == Context::Offline {
        t.context = Context::Running;
    }
    0
}

/// `cpu_down()`: the CPU is taken down once its idle task is back at the top of its idle loop
/// (the caller waits for no frames; `do_idle()` then sees `cpu_is_offline()` and parks in
/// `arch_cpu_idle_dead()`). Returns 0 (an offline CPU: nothing to do).
/// Atomic because: `cpus_write_lock()` as in [`cpu_up`]; the idle task runs nothing the
/// scenario names between its last return and `arch_cpu_idle_dead()`.
pub fn cpu_down(st: &mut State, pid: Pid) -> i32 {
    st.tasks[pid as usize].context = Context::Offline;
    0
}

/// Whether `cpu_down()` can take the CPU down now: its idle task is in its idle loop with no
/// frames and no livepatch code in flight (otherwise the command waits for it).
pub fn cpu_down_ready(st: &State, pid: Pid) -> bool {
    let t = &st.tasks[pid as usize];
    t.context != Context::Running || (t.stack.is_empty() && t.handler.is_none() && t.self_switch.is_none())
}
