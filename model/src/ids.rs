//! Small integer ids used inside the model, and the inline vectors the state is made of. Names
//! live only at the edges (scenario files, JSON, timeline, dmesg); the state carries indices so
//! that it hashes and clones cheaply.

/// The state's vectors: a length and a fixed-capacity array (`tinyvec::ArrayVec`), `Copy`
/// whenever its elements are. Why not `SmallVec` (spills to the heap past its inline size):
/// cloning a state is what every successor starts with, and with `SmallVec` it went element by
/// element through `Extend` and ended in a `drop`; perf on the default scenario (`--no-liveness
/// --threads 1`) put `State::clone` at 16%, `memmove` at 14% and `drop_in_place<State>` at 4%
/// of the search. A state of plain arrays clones as one `memcpy` and needs no drop. It hashes,
/// compares and serialises like the slice it holds (as `SmallVec` and `Vec` did), so
/// fingerprints, state counts and traces did not change. The price is a hard capacity: the
/// `CAP_*` constants below, which the scenario loader checks (`scenario::check_capacity`).
pub type Inline<T, const N: usize> = tinyvec::ArrayVec<[T; N]>;

/// `n` copies of `v` (`vec![v; n]`). Panics if `n > N`: the scenario loader keeps every
/// table within its capacity.
pub fn filled<T: Copy + Default, const N: usize>(v: T, n: usize) -> Inline<T, N> {
    Inline::from_array_len([v; N], n)
}

/// Tasks (`scenario::MAX_TASKS`).
pub const CAP_TASKS: usize = 16;
/// Frames on one task's stack (`scenario::MAX_STACK`).
pub const CAP_STACK: usize = 8;
/// Target modules (`scenario::MAX_MODULES`).
pub const CAP_MODULES: usize = 8;
/// Livepatches: `scenario::MAX_PATCHES` and the one `disable_via` may derive.
pub const CAP_PATCHES: usize = 9;
/// `struct klp_object` slots over all patches, nop objects included.
pub const CAP_OBJS: usize = 24;
/// `struct klp_func` slots over all patches, nops included.
pub const CAP_KLP_FUNCS: usize = 32;
/// Functions of the kernel and of target modules (`scenario::MAX_FUNCS`): one func_stack each.
pub const CAP_FUNCS: usize = 32;
/// Admin command counters (`scenario::MAX_OPS`).
pub const CAP_OPS: usize = 32;

/// Index of a task (a `task_struct`) in [`crate::Spec::tasks`]; threads first, idle tasks last,
/// the order `klp_try_complete_transition()` visits them in.
pub type Pid = u8;
/// Index of a function of the running kernel or of a target module (an `old_func`).
pub type FuncId = u8;
/// Index of a livepatch (`struct klp_patch`, one per livepatch module).
pub type PatchId = u8;
/// Index of a `struct klp_object` slot, over all patches (static and dynamic ones).
pub type ObjId = u8;
/// Index of a `struct klp_func` slot, over all patches (static and `nop` ones).
pub type KlpFuncId = u8;
/// Index of a target (non-livepatch) module.
pub type ModId = u8;

/// Which code a frame on a task's stack is executing: the original function, or the new
/// function of one patch. A `nop` func (atomic replace) runs the original code, so it is
/// [`Version::ORIGINAL`] too. Stored as one byte: 0 = original, `p + 1` = patch `p`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Version(pub u8);

impl Version {
    pub const ORIGINAL: Version = Version(0);
    pub fn of_patch(p: PatchId) -> Version {
        Version(p + 1)
    }
    pub fn patch(self) -> Option<PatchId> {
        self.0.checked_sub(1)
    }
}
