//! Symmetry reduction over identical tasks: the canonical form of a state.
//!
//! **Which tasks are interchangeable.** The `count` copies of one `[[tasks]]` entry
//! ([`TaskSpec::copy_of`]) have the same kind, entry functions and main loop, so every step
//! one of them can take, another in the same state can take too. A group is such a set of
//! copies, restricted to what no part of the model tells apart:
//! * user tasks and kthreads only: an idle task is its CPU's (`Spec::cpu_of` is its place
//!   among the idle tasks, and `cpu_up`/`cpu_down` name it);
//! * no fork children: a copy with `forks` has child slots whose `parent` names it;
//! * no admin command names a member (the script's /proc read names the task that reads).
//!
//! Everything else the state holds about a task is in its `State::tasks` slot; the one other
//! task reference is the transition work's pass cursor ([`Pass::next`]), handled below. No
//! property reads a task by its index, and the kernel log, which does print `comm:pid`, is not
//! part of the state (it is rebuilt by replaying a trace, see [`crate::log`]), so renaming
//! tasks never changes what a property sees.
//!
//! **The reduced model.** Every step is per task or reads the tasks as a set, except one: a
//! pass of the transition work (`klp_try_complete_transition()`) tries the tasks in task-list
//! (slot) order, one per model step while the others run, and `advance_pass()` skips the
//! tasks already at the target in that order. So renaming the copies is not a symmetry of
//! this model: from a state and its renaming, a pass tries a sleeping copy before or after a
//! running one. The reduction therefore explores a slightly larger model,
//! [`crate::KlpSystem::with_free_pass_order`], whose pass picks its next copy as it goes
//! ([`pass`]): a step that moves the pass cursor into or inside a group is also taken on the
//! renamings of the copies the pass has not visited yet that make another choice of the copy
//! tried and of the copies at the target skipped ([`crate::Action::Renamed`]). A path of it
//! visits the copies in one order, chosen copy by copy; choosing that order when the pass
//! begins (what this model did before) gives the same paths, since the place of an unvisited
//! copy matters only when the pass reaches it. In that model these renamings are symmetries:
//! * outside a pass, any renaming of each group: steps other than the pass's are per task or
//!   set-like, and the pass a step begins picks its copies as it goes;
//! * during a pass, any renaming of each group that keeps the visited copies (slots below
//!   `pass.next`) among themselves and the unvisited ones among themselves: the rest of the
//!   pass reads the first as a set (it never comes back to them) and enumerates the second
//!   (every distinct unvisited copy is offered to the try, every sub-multiset of those at the
//!   target to the skip). The copy in slot `pass.next` is not special: in the unreduced model
//!   `advance_pass()` leaves there a copy the pass will try, but after a renaming of the
//!   unvisited part it may be one at the target; the try steps enumerate it like any other
//!   (its try returns at once, as the unreduced model's does for a copy that reached the target
//!   after the cursor stopped at it), so the try steps and the canonical form agree.
//! * The one exception is the half-tried copy (`pass.half`, under `task_switch_lock =
//!   "none"`): its stack was sampled without the lock and the store is the pass's next step,
//!   on that copy; it keeps slot `pass.next`.
//!
//! [`Groups::canonical`] is that canonical form: every group sorted outside a pass, its
//! visited part and its unvisited part (the half-tried copy left in its slot) sorted
//! separately during one. A group's slots are contiguous (copies are expanded one after
//! another), so a sort inside a range of the group is a renaming. Each step keeps its
//! atomicity: a renamed step is the unreduced model's step (the lock that makes it one step
//! unchanged: `klp_mutex` and `task_call_func()` for a try) on a renamed state.
//!
//! **Why the verdicts are the unreduced model's.** The reduced model contains the unreduced
//! one (the identity renaming), and a search over a model with a symmetry, storing one state
//! per canonical form, finds every orbit that model reaches: every orbit the unreduced model
//! reaches is found, so "holds" and "unreachable" are sound (properties read no task by its
//! index, see above). The reduced model may in principle reach orbits the unreduced one cannot
//! (a visiting order the fixed task list cannot produce after that history), so whatever it
//! finds is confirmed on the unreduced model: [`concretise`] looks for a path of the unreduced
//! model through the orbits of the found trace, else (the trace's orbits cannot be followed in
//! that order) for any path of it, within a bound, to the found trace's last orbit; found, it is
//! the trace reported (concrete task names, it replays); not found, the property is reported
//! incomplete, never violated or reachable. A try of a copy that was already at the target when the cursor last moved has
//! no counterpart in the unreduced model, but it is never on a shortest path: skipping that
//! copy in the advance before reaches the same state one step earlier. tests/symmetry.rs
//! measures both models' orbits on every shipped scenario with copies: they are equal on all
//! of them. Liveness on the quotient: crate::fairness::quotient (fairness merged per group,
//! sound for "holds") and src/lasso.rs (a candidate decided on the unreduced model in its
//! region, or reported incomplete).

mod concrete;
pub(crate) mod pass;
mod reach;
pub use concrete::concretise;

use crate::ids::{Pid, CAP_TASKS};
use crate::spec::{AdminOp, Spec};
use crate::state::State;
use crate::task::TaskKind;

/// The groups of interchangeable task slots of a scenario (each a contiguous range).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups(pub Vec<std::ops::Range<usize>>);

impl Groups {
    /// The groups of `spec`; empty when no two tasks are interchangeable.
    pub fn of(spec: &Spec) -> Groups {
        let named: Vec<Pid> = spec
            .admin
            .ops
            .iter()
            .filter_map(|o| match o.op {
                AdminOp::CpuUp(p) | AdminOp::CpuDown(p) | AdminOp::ReadProc(p, _, _) => Some(p),
                _ => None,
            })
            .collect();
        let fits = |i: usize| {
            let t = &spec.tasks[i];
            t.copy_of.is_some()
                && t.kind != TaskKind::Idle
                && t.parent.is_none()
                && !spec.tasks.iter().any(|c| c.parent == Some(i as Pid))
                && !named.contains(&(i as Pid))
        };
        let mut groups = Vec::new();
        let mut i = 0;
        while i < spec.tasks.len() {
            let mut j = i + 1;
            if fits(i) {
                while j < spec.tasks.len() && fits(j) && spec.tasks[j].copy_of == spec.tasks[i].copy_of {
                    j += 1;
                }
                if j - i > 1 {
                    groups.push(i..j);
                }
            }
            i = j;
        }
        Groups(groups)
    }

    /// No two tasks are interchangeable: reduction would change nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tasks in some group.
    pub fn members(&self) -> usize {
        self.0.iter().map(|g| g.len()).sum()
    }

    /// How many renamings there are (the order of the group: the product of each group's
    /// size factorial).
    pub fn order(&self) -> usize {
        self.0.iter().map(|g| (1..=g.len()).product::<usize>()).product()
    }

    /// Renaming number `k` (`0..order()`, 0 is the identity): `slot[i]` is the slot whose
    /// task moves to slot `i`. Each group's permutation is digit `k` of a mixed radix (the
    /// group sizes' factorials), read as a Lehmer code.
    pub fn renaming(&self, ntasks: usize, k: usize) -> Vec<usize> {
        let mut slot = [0; CAP_TASKS];
        self.renaming_into(k, &mut slot[..ntasks]);
        slot[..ntasks].to_vec()
    }

    /// [`Groups::renaming`] written into `slot` (one entry per task), without allocating:
    /// the successors of the reduced model rename a state on every [`crate::Action::Renamed`].
    fn renaming_into(&self, mut k: usize, slot: &mut [usize]) {
        for (i, s) in slot.iter_mut().enumerate() {
            *s = i;
        }
        for g in &self.0 {
            let n = g.len();
            // The slots of the group not picked yet, in order (`left.remove(pick)` on a stack array).
            let mut left = [0; CAP_TASKS];
            for (i, l) in left[..n].iter_mut().enumerate() {
                *l = g.start + i;
            }
            let mut f: usize = (1..n).product();
            for i in 0..n {
                let pick = (k / f) % (n - i);
                slot[g.start + i] = left[pick];
                left.copy_within(pick + 1..n - i, pick);
                f /= (n - i - 1).max(1);
            }
            k /= f_all(n);
        }
    }

    /// The number of a renaming (`slot[i]` is the slot whose task moves to slot `i`, each
    /// group permuted among itself): the `k` with `renaming(slot.len(), k) == slot`.
    pub fn number(&self, slot: &[usize]) -> usize {
        let mut k = 0;
        let mut radix = 1;
        for g in &self.0 {
            let n = g.len();
            // Lehmer code: digit i counts the slots after position i picked later but smaller.
            let mut digit = 0;
            let mut f: usize = (1..n).product();
            for i in 0..n {
                let s = slot[g.start + i];
                assert!(g.contains(&s), "a renaming within the group");
                let pick = (i + 1..n).filter(|&j| slot[g.start + j] < s).count();
                digit += pick * f;
                f /= (n - i - 1).max(1);
            }
            k += digit * radix;
            radix *= f_all(n);
        }
        k
    }

    /// The group holding slot `i`, if any.
    pub fn group_of(&self, i: usize) -> Option<std::ops::Range<usize>> {
        self.0.iter().find(|g| g.contains(&i)).cloned()
    }

    /// `st` with its tasks renamed by renaming `k` (the pass cursor, a slot, stays).
    pub fn rename(&self, st: &State, k: usize) -> State {
        let n = st.tasks.len();
        let mut slot = [0; CAP_TASKS];
        self.renaming_into(k, &mut slot[..n]);
        self.rename_slots(st, &slot[..n])
    }

    /// `st` with the task of slot `slot[i]` moved to slot `i` (the pass cursor stays).
    pub fn rename_slots(&self, st: &State, slot: &[usize]) -> State {
        let mut r = st.clone();
        for (i, &from) in slot.iter().enumerate() {
            if i != from {
                r.tasks[i] = st.tasks[from];
            }
        }
        r
    }

    /// The distinct renamings of `st` other than itself, each with the first `k` that makes it:
    /// the other states of its orbit (pass cursor kept).
    pub fn others(&self, st: &State) -> Vec<(usize, State)> {
        let mut seen = vec![st.tasks];
        let mut out = Vec::new();
        for k in 1..self.order() {
            let r = self.rename(st, k);
            if !seen.contains(&r.tasks) {
                seen.push(r.tasks);
                out.push((k, r));
            }
        }
        out
    }

    /// The orbit's representative in the reduced model ([`crate::KlpSystem::with_free_pass_order`]):
    /// outside a pass every group sorted; during a pass the slots it visited (below
    /// `pass.next`) and the slots it has not (the half-tried copy, `pass.half`, left in slot
    /// `pass.next`) each sorted among themselves (module docs).
    pub fn canonical(&self, st: &State) -> State {
        let mut c = st.clone();
        self.canonicalise(&mut c);
        c
    }

    /// [`Groups::canonical`] in place: the reduced model's steps land on their orbit's
    /// representative this way ([`crate::KlpSystem::with_canonical_successors`]), without the
    /// copy of the state `canonical` makes.
    pub fn canonicalise(&self, c: &mut State) {
        let pass = c.pass;
        for g in &self.0 {
            match pass {
                None => sort_slots(c, g.clone()),
                Some(p) => {
                    let cut = (p.next as usize).clamp(g.start, g.end);
                    sort_slots(c, g.start..cut);
                    let half = p.half.is_some() && g.contains(&(p.next as usize));
                    sort_slots(c, cut + usize::from(half)..g.end);
                }
            }
        }
    }

    /// The orbit under every renaming of the copies, the pass cursor kept: the key under which
    /// a property (which reads no task by its index) sees the same state.
    pub fn orbit_key(&self, st: &State) -> State {
        let mut c = st.clone();
        for g in &self.0 {
            sort_slots(&mut c, g.clone());
        }
        c
    }

    /// Whether `a` and `b` have the same canonical form.
    pub fn equivalent(&self, a: &State, b: &State) -> bool {
        self.canonical(a) == self.canonical(b)
    }
}

/// `n!`, the number of renamings of a group of `n` copies.
fn f_all(n: usize) -> usize {
    (1..=n).product()
}

/// Sorts `c`'s slots `r` in place (`Task`'s order; equal tasks are identical, so an unstable
/// sort gives the stable one's result). Runs on every successor of a reduced search: no
/// allocation, and a range already in order (often: most steps change one task) is only
/// compared, the insertion sort a small slice gets then moves nothing.
fn sort_slots(c: &mut State, r: std::ops::Range<usize>) {
    let slots = &mut c.tasks[r];
    if slots.len() < 2 || slots.is_sorted() {
        return;
    }
    slots.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Pass;
    use crate::task::{Context, PatchState};
    use crate::KlpSystem;

    /// Threads in file order, then idle tasks: a-0..a-2 (0..3), b (3), k-0, k-1 (4..6),
    /// p-0, p-0.child0, p-1, p-1.child0 (6..10), swapper-0, swapper-1 (10..12).
    const SRC: &str = r#"
[[functions]]
name = "f"
[[tasks]]
comm = "a"
count = 3
entry = ["f"]
[[tasks]]
comm = "b"
entry = ["f"]
[[tasks]]
comm = "k"
kind = "kthread"
count = 2
entry = ["f"]
[[tasks]]
comm = "p"
count = 2
forks = 1
entry = ["f"]
[[tasks]]
comm = "swapper"
kind = "idle"
count = 2
[[patches]]
name = "lp"
  [[patches.objects]]
  name = "vmlinux"
  funcs = ["f"]
"#;

    pub(super) fn system() -> KlpSystem {
        let spec = crate::scenario::read_str("t", "t.toml", SRC).unwrap().into_spec().unwrap();
        KlpSystem::new(spec, Vec::new)
    }

    /// The initial state with tasks 0..3, 3, 6, 8, 10, 11 all different.
    fn distinct(sys: &KlpSystem) -> State {
        let mut st = sys.init_state();
        let frame = crate::task::Frame { func: 0, version: crate::ids::Version::ORIGINAL };
        st.tasks[1].context = Context::Running;
        st.tasks[1].stack.push(frame);
        st.tasks[2].patch_state = PatchState::Patched;
        st.tasks[3].tif_patch_pending = true;
        st.tasks[5].context = Context::Sleeping;
        st.tasks[8].patch_state = PatchState::Unpatched;
        st.tasks[11].context = Context::Offline;
        st
    }

    fn swapped(st: &State, i: usize, j: usize) -> State {
        let mut s = st.clone();
        s.tasks.swap(i, j);
        s
    }

    #[test]
    fn groups_are_the_copies_nothing_tells_apart() {
        let sys = system();
        assert_eq!(sys.spec.tasks.len(), 12);
        assert_eq!(Groups::of(&sys.spec), Groups(vec![0..3, 4..6]));
    }

    #[test]
    fn permuted_states_have_one_canonical_form() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        let st = distinct(&sys);
        let c = g.canonical(&st);
        for perm in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            let mut p = st.clone();
            for (k, &from) in perm.iter().enumerate() {
                p.tasks[k] = st.tasks[from];
            }
            let p = swapped(&p, 4, 5);
            assert_eq!(g.canonical(&p), c, "{perm:?}");
        }
        // The canonical form is one of the orbit: the same tasks, and the same everything else.
        let mut sorted: Vec<_> = c.tasks[0..3].to_vec();
        sorted.sort();
        let mut orig: Vec<_> = st.tasks[0..3].to_vec();
        orig.sort();
        assert_eq!(sorted, orig);
        assert_eq!(c.tasks[3..4], st.tasks[3..4]);
        assert_eq!(c.tasks[6..], st.tasks[6..]);
    }

    #[test]
    fn tasks_that_are_not_copies_are_never_merged() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        let st = distinct(&sys);
        // a-2 and b (another entry), p-0 and p-1 (they fork), the idle tasks (their CPUs),
        // a-0 and k-0 (another kind).
        for (i, j) in [(2, 3), (6, 8), (10, 11), (0, 5)] {
            assert_ne!(st.tasks[i], st.tasks[j]);
            assert_ne!(g.canonical(&swapped(&st, i, j)), g.canonical(&st), "{i} <-> {j}");
        }
    }

    #[test]
    fn renamings_are_every_permutation_of_each_group() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        assert_eq!(g.order(), 6 * 2);
        let all: std::collections::BTreeSet<Vec<usize>> = (0..g.order()).map(|k| g.renaming(12, k)).collect();
        assert_eq!(all.len(), 12, "distinct");
        assert_eq!(g.renaming(12, 0), (0..12).collect::<Vec<_>>(), "0 is the identity");
        for r in &all {
            assert_eq!(r[3], 3);
            assert_eq!(r[6..], (6..12).collect::<Vec<_>>()[..]);
        }
        let st = distinct(&sys);
        // The other states of the orbit: a-0..a-2 all differ, and so do k-0 and k-1 (k-1
        // sleeps): 3! x 2 - 1. With k-1 like k-0, swapping them changes nothing: 3! - 1.
        assert_eq!(g.others(&st).len(), 11);
        let mut same = st.clone();
        same.tasks[5] = same.tasks[4];
        assert_eq!(g.others(&same).len(), 5);
    }

    #[test]
    fn a_pass_sorts_its_unvisited_copies_among_themselves() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        let mut st = distinct(&sys);
        st.pass = Some(Pass { next: 1, complete: true, half: None });
        // a-1 and a-2 are unvisited: the pass picks among them as it goes.
        assert_eq!(g.canonical(&swapped(&st, 1, 2)), g.canonical(&st));
        // a-0 is visited: not the same state of the pass as with a-1 visited.
        assert_ne!(g.canonical(&swapped(&st, 0, 1)), g.canonical(&st));
        // k-0, k-1 (after the cursor) are unvisited too.
        assert_eq!(g.canonical(&swapped(&st, 4, 5)), g.canonical(&st));
        assert_eq!(g.orbit_key(&swapped(&st, 0, 1)), g.orbit_key(&st));
    }

    #[test]
    fn the_half_tried_copy_keeps_its_slot() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        let mut st = distinct(&sys);
        st.pass = Some(Pass { next: 1, complete: true, half: Some(crate::state::PassHalf::StackSampled) });
        // a-1's store is the pass's next step: a-1 and a-2 are not interchangeable.
        assert_ne!(g.canonical(&swapped(&st, 1, 2)), g.canonical(&st));
        assert_eq!(g.canonical(&st).tasks[1], st.tasks[1]);
        st.pass = Some(Pass { next: 0, complete: true, half: Some(crate::state::PassHalf::StackSampled) });
        assert_eq!(g.canonical(&swapped(&st, 1, 2)), g.canonical(&st));
    }

    #[test]
    fn numbers_are_the_renamings_inverse() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        for k in 0..g.order() {
            assert_eq!(g.number(&g.renaming(12, k)), k);
        }
        assert_eq!(g.group_of(1), Some(0..3));
        assert_eq!(g.group_of(3), None);
        assert_eq!(g.group_of(5), Some(4..6));
    }

    #[test]
    fn a_pass_keeps_its_visited_tasks_below_its_cursor() {
        let sys = system();
        let g = Groups::of(&sys.spec);
        let mut st = distinct(&sys);
        st.pass = Some(Pass { next: 2, complete: true, half: None });
        // Visited (0, 1) among themselves: one orbit.
        assert_eq!(g.canonical(&swapped(&st, 0, 1)), g.canonical(&st));
        // A visited and an unvisited copy: not the same state of the pass.
        assert_ne!(g.canonical(&swapped(&st, 1, 2)), g.canonical(&st));
        let c = g.canonical(&st);
        let visited: std::collections::BTreeSet<_> = st.tasks[0..2].iter().collect();
        assert_eq!(c.tasks[0..2].iter().collect::<std::collections::BTreeSet<_>>(), visited);
        assert_eq!(c.tasks[2], st.tasks[2]);
    }
}
