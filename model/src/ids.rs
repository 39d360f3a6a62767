//! Small integer ids used inside the model, and the inline vectors the state is made of. Names
//! live only at the edges (scenario files, JSON, timeline, dmesg); the state carries indices so
//! that it hashes and clones cheaply.

use smallvec::SmallVec;

/// The state's vectors keep this many elements inline (no heap allocation) and spill beyond.
/// Why: cloning a state with `Vec`s cost about ten allocations per successor, and malloc/free
/// dominated exploration (perf, default scenario). `SmallVec` hashes and compares like the
/// slice it holds, so fingerprints, state counts and traces are those of the `Vec` version.
/// The sizes cover every shipped scenario's defaults: 4 tasks, 4 patches, 8 objects/funcs.
pub type Inline<T, const N: usize> = SmallVec<[T; N]>;

/// A copy of an inline vector of `Copy` elements in one `memcpy`. `SmallVec::clone` collects
/// the elements one by one through `Extend`; on the default scenario that and the derived
/// `State::clone` around it were about a sixth of the search (perf, `--threads 1`), and every
/// successor starts as a clone of its parent. `State` and `Task` clone by hand with this.
/// An inline vector copies its whole buffer, `N` elements: a copy of constant size compiles to
/// a few moves, where `SmallVec::from_slice` (length known at run time) calls `memcpy`.
#[inline]
pub fn copied<T: Copy, const N: usize>(v: &Inline<T, N>) -> Inline<T, N> {
    if v.spilled() {
        return SmallVec::from_slice(v);
    }
    let mut buf = std::mem::MaybeUninit::<[T; N]>::uninit();
    // SAFETY: `v` is not spilled, so `as_ptr()` points to its inline buffer of `N` slots (the
    // first `len` initialised); an untyped copy of all `N` slots into a `MaybeUninit` buffer
    // reads no uninitialised value as a `T`, and the result claims only the first `len`
    // (`len <= N`), which are initialised `Copy` values.
    unsafe {
        std::ptr::copy_nonoverlapping(v.as_ptr(), buf.as_mut_ptr().cast::<T>(), N);
        SmallVec::from_buf_and_len_unchecked(buf, v.len())
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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
