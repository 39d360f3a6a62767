//! Liveness and possibility (docs/kernel-semantics.md L1-L6): what must eventually happen, or must
//! remain possible. These need the whole explored graph and fairness, so only klpcheck's
//! engine checks them (`klp_checker::Bfs::liveness`); stateright's engine reports them
//! `unchecked`. Fairness assumptions: model/src/fairness.rs (the kernel's workers and the
//! tasks make progress; the administrator does not have to act).

use crate::PropertyDoc;
use klp_checker::{Fairness, LiveProperty, Liveness};
use klp_model::spec::{AdminOp, AdminOrder};
use klp_model::state::{ModState, PatchLife};
use klp_model::task::PatchState;
use klp_model::{Action, KlpSystem, State};
use stateright::Expectation;

/// What a liveness property says: leads-to `p ~> q` under the fairness of
/// model/src/fairness.rs, or possibility `AG (p -> EF q)` over allowed steps.
pub type LiveKind = Liveness<KlpSystem>;

/// A liveness property with its documentation (`doc.expectation` is `Eventually`).
pub struct LiveEntry {
    pub doc: PropertyDoc,
    pub kind: LiveKind,
}

macro_rules! live {
    ($name:literal, $kind:expr, $kernel:literal, $statement:literal) => {
        LiveEntry {
            doc: PropertyDoc {
                name: $name,
                expectation: Expectation::Eventually,
                statement: $statement,
                kernel: $kernel,
                partner: None,
            },
            kind: $kind,
        }
    };
}

/// Every liveness property.
pub fn entries() -> Vec<LiveEntry> {
    vec![
        live!(
            "transition_completes",
            LiveKind::LeadsTo { p: in_transition, q: no_transition },
            "transition.c klp_try_complete_transition() (re-arms klp_transition_work every second; klp_send_signals() every 15th try); livepatch.rst \"Consistency model\": the transition completes once every task is switched; docs/kernel-semantics.md L1, L2",
            "leads-to: once klp_transition_patch is set, it is eventually cleared (the patching or \
             unpatching transition, possibly reversed or forced, completes), assuming only the \
             kernel's fairness (the transition work runs, tasks return from functions, block, \
             take interrupts, run the idle loop; uninterruptible sleeps end; signals are sent) and \
             not that the administrator acts. Expected to FAIL where a task can sleep `forever` in \
             a function the transition must switch it away from: the kernel then keeps the \
             transition pending until echo 0 > enabled (reversal) or echo 1 > force, which is why \
             both exist (test-callbacks.sh \"busy target module\")."
        ),
        live!(
            "module_load_completes",
            LiveKind::LeadsTo { p: module_loading, q: no_module_loading },
            "kernel/module/main.c prepare_coming_module() -> klp_module_coming() (takes klp_mutex, never waits for a transition), do_init_module(); docs/kernel-semantics.md L6",
            "leads-to: once a target module's load has begun (complete_formation(), \
             MODULE_STATE_COMING) it eventually becomes LIVE or is freed (klp_module_coming() \
             refused it), even while a transition is stuck. Stated for all target modules at \
             once (\"no module is between complete_formation() and LIVE\"), which equals the \
             per-module statement because a scenario loads a module finitely often. Fairness: the \
             module loader's steps are strongly fair (they need klp_mutex, free between passes \
             of the transition work)."
        ),
        live!(
            "patch_removable_without_force",
            LiveKind::Possibility { p: patch_listed_and_disable_left, q: no_patch_listed, allowed: not_force },
            "livepatch.rst \"Livepatch life-cycle\" (Disabling: echo 0 > enabled; a transition can be reversed by writing the opposite value while it runs; force \"should be used with extreme caution\"); core.c enabled_store() -> klp_reverse_transition() / __klp_disable_patch(); transition.c klp_try_complete_transition() -> klp_free_patch_async(); docs/kernel-semantics.md L3, L5",
            "possibility: from every reachable state in which some livepatch is on klp_patches and \
             the scenario still offers echo 0 > enabled for every patch on it, some sequence of \
             steps without echo 1 > force takes every patch off klp_patches. (Under disable_via = \
             empty_replace | revert_replace the offered command is the insmod of the derived \
             replace patch, and that patch left listed counts as removed: it is the design's \
             disabled state.) \"Removed\" is \
             klp_free_patch_start(): the patch is off klp_patches, its funcs are off every \
             func_stack and its sysfs directory is gone (the module reference drops in \
             klp_free_patch_finish(), so rmmod then succeeds); a patch replaced by an \
             atomic-replace patch is removed the same way. No fairness is involved (some path \
             exists). A script that will still insmod or enable a patch it never disables \
             afterwards leaves nothing to check. Upstream it fails only where a task can sleep \
             forever in code the unpatching must switch it away from (for example in the new \
             function): then only force removes the patch; a design without echo 0 (disable = \
             banned) fails it wherever no replace patch is left to load."
        ),
        live!(
            "transition_reversible_without_force",
            LiveKind::Possibility { p: in_transition_and_reversal_left, q: no_transition, allowed: not_force },
            "livepatch.rst \"Livepatch life-cycle\" / sysfs \"enabled\": \"If a patch is in transition, writing the opposite value reverses it\"; core.c enabled_store() -> klp_reverse_transition(); seed thread (P. Mladek: \"The revert operation allows to remove a livepatch stuck in the transition without forcing\"); docs/kernel-semantics.md L3",
            "possibility: from every reachable state in a transition in which the scenario still \
             offers the write that reverses it (echo 0 > enabled while patching, echo 1 while \
             unpatching), some sequence of steps without echo 1 > force ends the transition \
             (klp_transition_patch becomes NULL: completed, possibly after reversals). No \
             fairness is involved. Upstream it holds even with a task sleeping forever in a \
             patched function: the transition either completes or is reversed to the state the \
             sleeper is at. reverse_transition = banned takes the reversal away and leaves a \
             stuck transition to force alone. Where the scenario offers no reversing write \
             (disable_via = empty_replace | revert_replace turn echo 0 into the insmod of a \
             replace patch, which klp_enable_patch() refuses during a transition) the property \
             is vacuous, and transition_completes shows the stuck transition."
        ),
        live!(
            "script_completes",
            LiveKind::Possibility { p: script_left, q: script_done, allowed: any_step },
            "tools/testing/selftests/livepatch/functions.sh (each helper's loop_until waits for its condition, e.g. the transition to end or the module's refcnt to drop, and dies when it times out); what `klpcheck run` executes",
            "possibility: in a script scenario, from every reachable state in which the script \
             has commands left, some sequence of steps runs it to its end (a helper that dies on \
             a failed check ends it too). Fails where a path leads to a state from which no \
             interleaving lets the next command start: a helper waits for a condition that can \
             never become true (a transition that can no longer complete, a module reference \
             that is never dropped), where functions.sh's loop_until would time out and the \
             test fail; `klpcheck run` reports such a schedule as stuck. Vacuous for commands in \
             any order."
        ),
        live!(
            "no_deadlock",
            LiveKind::Deadlock { end: normal_end },
            "Documentation/livepatch/livepatch.rst \"Consistency model\" (the transition work re-runs until every task is switched); kernel/module/main.c (a load or a removal runs to its end); tools/testing/selftests/livepatch/functions.sh (every helper returns or dies)",
            "deadlock: a reachable state in which no step at all is enabled (no task, kernel \
             worker, module loader step or admin command) is a normal end: the admin script has \
             run to its end (or the commands are in any order), no transition is in progress \
             (klp_transition_patch is NULL, no pass, split or completion step pending), every \
             target module is unloaded or LIVE, and no patch waits for \
             klp_free_patch_work_fn(). Anything else is a deadlock, reported with its shortest \
             path, as TLC reports one by default. Read off the explored graph (states without a \
             successor), so only klpcheck's engine checks it."
        ),
    ]
}

/// Documentation of every liveness property.
pub fn docs() -> Vec<PropertyDoc> {
    entries().into_iter().map(|e| e.doc).collect()
}

/// The properties as klp-checker wants them (`Bfs::liveness`).
pub fn catalogue() -> Vec<LiveProperty<KlpSystem>> {
    entries().into_iter().map(|e| LiveProperty { name: e.doc.name, kind: e.kind }).collect()
}

/// model/src/fairness.rs as klp-checker wants it (`Bfs::liveness`).
pub fn fairness(m: &KlpSystem, st: &State, a: &Action) -> Option<Fairness> {
    klp_model::fairness::fairness(m, st, a).map(|c| match c {
        klp_model::fairness::FairClass::Weak(c) => Fairness::Weak(c),
        klp_model::fairness::FairClass::Strong(c) => Fairness::Strong(c),
    })
}

/// klp_model::fairness::quotient as klp-checker wants it (`Bfs::quotient_fairness`): the classes
/// leads-to is checked with on the quotient of a reduced run.
pub fn quotient_fairness(m: &KlpSystem, st: &State, classes: &mut [Option<Fairness>]) {
    use klp_model::fairness::FairClass;
    let mut c: Vec<Option<FairClass>> = classes
        .iter()
        .map(|f| {
            f.map(|f| match f {
                Fairness::Weak(c) => FairClass::Weak(c),
                Fairness::Strong(c) => FairClass::Strong(c),
            })
        })
        .collect();
    klp_model::fairness::quotient::quotient(m, st, &mut c);
    for (out, c) in classes.iter_mut().zip(c) {
        *out = c.map(|c| match c {
            FairClass::Weak(c) => Fairness::Weak(c),
            FairClass::Strong(c) => Fairness::Strong(c),
        });
    }
}

/// The kernel model's atomic section for an exact possibility check under symmetry reduction
/// (`Bfs::atomic_sections`, checker/src/liveness/atomic.rs): a pass of
/// `klp_try_complete_transition()` in progress (`st.pass`, it holds `klp_mutex`).
pub fn in_pass(_: &KlpSystem, st: &State) -> bool {
    st.pass.is_some()
}

/// Whether `a` is a step of the transition work's pass (`Bfs::atomic_sections`): inside a pass,
/// its own step (`pass_action()`, or the reduced model's renaming of it: the only steps the
/// reduced model renames there); outside, a step that may begin one, keyed by the unreduced
/// step it is (a renamed one by the step it renames), so that every renaming the reduced model
/// offers of one begin shares a key. Any other step: `None`.
pub fn pass_step(m: &KlpSystem, st: &State, a: &Action) -> Option<u16> {
    use std::hash::{Hash, Hasher};
    match (st.pass, *a) {
        (Some(_), Action::Renamed { .. }) => Some(0),
        (Some(q), a) => (a == klp_model::kernel::livepatch::transition::pass_action(&m.spec, st, q)).then_some(0),
        (None, a) => {
            let inner = match a {
                Action::Renamed { .. } => m.resolve_renamed(st, a)?.1,
                a => a,
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            inner.hash(&mut h);
            Some(h.finish() as u16)
        }
    }
}

fn in_transition(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_some()
}
fn no_transition(_: &KlpSystem, st: &State) -> bool {
    st.klp_transition_patch.is_none()
}

fn loading(s: ModState) -> bool {
    s.is_coming()
}
fn module_loading(_: &KlpSystem, st: &State) -> bool {
    st.mods.iter().any(|m| loading(m.state))
}
fn no_module_loading(_: &KlpSystem, st: &State) -> bool {
    !st.mods.iter().any(|m| loading(m.state))
}

/// The command that takes patch `p` off `klp_patches`: `echo 0 > enabled`, or under
/// `disable_via = empty_replace | revert_replace` the insmod of the derived replace patch (the
/// scenario's `disable` commands were rewritten to it; it replaces every other patch).
fn removal(m: &KlpSystem, p: u8) -> AdminOp {
    match m.spec.disable_patch() {
        Some(d) => AdminOp::InsmodPatch(d),
        None => AdminOp::Disable(p),
    }
}

/// The derived replace patch of `disable_via`: listed, it is the design's "disabled" state.
fn derived(m: &KlpSystem, p: u8) -> bool {
    m.spec.disable_patch() == Some(p)
}

/// The scenario can still take patch `p` off `klp_patches` ([`removal`]): in any order, the
/// command's budget is not used up (the administrator need not insmod or enable `p` again); in
/// a script, a later command removes it after the script's last insmod or enable of it (the
/// script cannot skip a command).
fn disable_left(m: &KlpSystem, st: &State, p: u8) -> bool {
    let a = &m.spec.admin;
    let op = removal(m, p);
    match a.order {
        AdminOrder::Any => offered(m, st, op),
        AdminOrder::Script => {
            let rest = || a.ops.iter().enumerate().skip(st.admin.script_next());
            let last_disable = rest().filter(|(_, o)| o.op == op).map(|(i, _)| i).next_back();
            let last_add = rest().filter(|(_, o)| adds(o.op, p)).map(|(i, _)| i).next_back();
            matches!((last_disable, last_add), (Some(d), a) if a.is_none_or(|a| a < d))
        }
    }
}

/// `op` (insmod or echo 1 > enabled) may put patch `p` on `klp_patches`.
fn adds(op: AdminOp, p: u8) -> bool {
    matches!(op, AdminOp::InsmodPatch(x) | AdminOp::Enable(x) if x == p)
}

/// Some scenario patch is listed, and every scenario patch that is listed or that the script
/// will still add can be removed later ([`disable_left`]).
fn patch_listed_and_disable_left(m: &KlpSystem, st: &State) -> bool {
    let later = |p: u8| match m.spec.admin.order {
        AdminOrder::Script => m.spec.admin.ops.iter().skip(st.admin.script_next()).any(|o| adds(o.op, p)),
        AdminOrder::Any => false,
    };
    let listed = |p: u8| st.klp_patches.contains(&p) || st.patches[p as usize].life == PatchLife::Listed;
    let scenario_patches = || (0..st.patches.len() as u8).filter(|&p| !derived(m, p));
    scenario_patches().any(listed)
        && scenario_patches().filter(|&p| listed(p) || later(p)).all(|p| disable_left(m, st, p))
}

/// The write that reverses the running transition is still offered: echo 0 > enabled of
/// klp_transition_patch while patching, echo 1 while unpatching (a later script command, or a
/// command of the any-order budget not used up).
fn in_transition_and_reversal_left(m: &KlpSystem, st: &State) -> bool {
    let Some(p) = st.klp_transition_patch else { return false };
    let want = if st.klp_target_state == PatchState::Patched { AdminOp::Disable(p) } else { AdminOp::Enable(p) };
    offered(m, st, want)
}

/// The scenario still offers `op`: a later script command, or a command of the any-order
/// budget not used up.
fn offered(m: &KlpSystem, st: &State, op: AdminOp) -> bool {
    let a = &m.spec.admin;
    a.ops.iter().enumerate().any(|(i, o)| {
        o.op == op
            && match a.order {
                AdminOrder::Script => i >= st.admin.script_next(),
                AdminOrder::Any => st.admin.runs(i) < o.max,
            }
    })
}
fn no_patch_listed(m: &KlpSystem, st: &State) -> bool {
    (0..st.patches.len() as u8)
        .filter(|&p| !derived(m, p))
        .all(|p| !st.klp_patches.contains(&p) && st.patches[p as usize].life != PatchLife::Listed)
}
/// Nothing of the kernel is half done and the script has nothing left (see `no_deadlock`).
fn normal_end(m: &KlpSystem, st: &State) -> bool {
    !script_left(m, st)
        && st.klp_transition_patch.is_none()
        && st.pass.is_none()
        && st.completing.is_none()
        && st.split.is_none()
        && st.mods.iter().all(|md| matches!(md.state, ModState::Unloaded | ModState::Live))
        && st.patches.iter().all(|p| p.life != PatchLife::Freeing)
}
fn script_left(m: &KlpSystem, st: &State) -> bool {
    m.spec.admin.order == AdminOrder::Script && st.admin.script_next() < m.spec.admin.ops.len()
}
fn script_done(m: &KlpSystem, st: &State) -> bool {
    !script_left(m, st)
}
fn any_step(_: &KlpSystem, _: &Action) -> bool {
    true
}
fn not_force(m: &KlpSystem, a: &Action) -> bool {
    match *a {
        Action::Admin(i) => !matches!(m.spec.admin.ops.get(i as usize).map(|o| o.op), Some(AdminOp::Force(_))),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klp_model::symmetry::Groups;
    use stateright::Model;

    /// Symmetry reduction checks these properties on orbits: every `P`, `Q` and allowed-step
    /// predicate must read the tasks as a set. Checked on the reachable states of a shipped
    /// scenario with copies (bounded), each against every renaming of its copies.
    #[test]
    fn every_liveness_predicate_is_invariant_under_renaming_copies() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/scenarios/symmetry-sleepers.toml");
        let sc = klp_model::scenario::read(&root).unwrap();
        let variant = sc.variant.clone();
        let sys = KlpSystem::new(sc.build(variant).unwrap(), Vec::new);
        let groups = Groups::of(&sys.spec);
        assert!(!groups.is_empty());
        let props = catalogue();
        let mut seen = std::collections::HashSet::new();
        let mut queue: std::collections::VecDeque<State> = sys.init_states().into();
        let mut checked = 0;
        while let Some(st) = queue.pop_front() {
            if seen.len() > 3000 {
                break;
            }
            for (_, r) in groups.others(&st) {
                for p in &props {
                    let (a, b) = match &p.kind {
                        Liveness::LeadsTo { p, q } | Liveness::Possibility { p, q, .. } => {
                            ((p(&sys, &st), q(&sys, &st)), (p(&sys, &r), q(&sys, &r)))
                        }
                        Liveness::Deadlock { end } => ((end(&sys, &st), false), (end(&sys, &r), false)),
                    };
                    assert_eq!(a, b, "{}", p.name);
                    checked += 1;
                }
            }
            let mut acts = Vec::new();
            sys.actions(&st, &mut acts);
            for a in acts {
                // Allowed steps: the renamed step of a renamed state is allowed alike (admin
                // commands, the only ones a predicate reads, name no task).
                for p in &props {
                    if let Liveness::Possibility { allowed, .. } = &p.kind {
                        if !matches!(a, Action::Admin(_)) {
                            assert!(allowed(&sys, &a), "{}: {a:?}", p.name);
                        }
                    }
                }
                if let Some(n) = sys.next_state(&st, a) {
                    if seen.insert(n.clone()) {
                        queue.push_back(n);
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
