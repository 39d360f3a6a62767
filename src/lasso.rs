//! A leads-to counterexample of a reduced run, lifted to the unreduced model.
//!
//! Under symmetry reduction leads-to is checked on the quotient graph with fairness merged
//! per group of copies (klp_model::fairness::quotient): "holds" there holds on the model, but a
//! fair cycle of the quotient is only a candidate (which copy moves is lost), and its states
//! are orbits (`klp_checker::PropertyOutcome::discovery`). [`lift`] confirms it:
//! 1. the prefix, up to the `P ∧ ¬Q` state, is followed on the unreduced model through the
//!    orbits of the reduced trace (klp_model::symmetry::concretise);
//! 2. from that concrete state, the unreduced model is explored inside the orbits the
//!    candidate lasso visits (at most `Groups::order()` states each), and leads-to is checked
//!    there by the same engine with the model's own per-task fairness. A step that leaves
//!    those orbits, or reaches `Q`, goes to one extra state where `Q` holds: it still counts
//!    as enabled for fairness, so a fair cycle found in the region is a fair cycle of the
//!    model. Repeating the quotient cycle until the renaming it applies closes it is one of
//!    the paths this search covers.
//!
//! Found: a lasso of the unreduced model with concrete task names, which replays. Not found:
//! `None`, and the property is reported incomplete (rerun with --no-symmetry), never violated
//! and never holding.

pub mod region;

use klp_checker::{Bfs, LiveProperty, Liveness, StatePred, Verdict};
use klp_model::symmetry::Groups;
use klp_model::{Action, KlpSystem, State};
use stateright::Model;
use std::collections::HashSet;

/// The unreduced model restricted to some orbits; `None` stands for every state outside them
/// or where `Q` holds.
struct Region {
    base: KlpSystem,
    groups: Groups,
    /// The orbits (`Groups::orbit_key`) allowed; `None`: every `¬Q` state.
    keys: Option<HashSet<State>>,
    init: State,
    p: StatePred<KlpSystem>,
    q: StatePred<KlpSystem>,
}

impl Model for Region {
    type State = Option<State>;
    type Action = Action;

    fn init_states(&self) -> Vec<Option<State>> {
        vec![Some(self.init.clone())]
    }

    fn actions(&self, st: &Option<State>, out: &mut Vec<Action>) {
        if let Some(s) = st {
            self.base.actions(s, out);
        }
    }

    fn next_state(&self, st: &Option<State>, a: Action) -> Option<Option<State>> {
        let n = self.base.next_state(st.as_ref()?, a)?;
        let inside =
            !(self.q)(&self.base, &n) && self.keys.as_ref().is_none_or(|k| k.contains(&self.groups.orbit_key(&n)));
        Some(inside.then_some(n))
    }

    fn within_boundary(&self, st: &Option<State>) -> bool {
        st.as_ref().is_none_or(|s| self.base.within_boundary(s))
    }
}

fn region_p(m: &Region, st: &Option<State>) -> bool {
    st.as_ref().is_some_and(|s| (m.p)(&m.base, s))
}

fn region_q(m: &Region, st: &Option<State>) -> bool {
    st.as_ref().is_none_or(|s| (m.q)(&m.base, s))
}

fn region_fairness(m: &Region, st: &Option<State>, a: &Action) -> Option<klp_checker::Fairness> {
    klp_properties::liveness::fairness(&m.base, st.as_ref()?, a)
}

/// A lasso of the unreduced model `base` for leads-to `p ~> q` along the reduced run's
/// candidate: `states` are its discovery's states, `at` the index of the `P` state (the end
/// of the prefix). Returns the concrete actions from the initial state and the index of the
/// cycle's first step (`actions.len()`: the last state stays forever), or `None`.
pub fn lift(
    base: &KlpSystem,
    groups: &Groups,
    states: &[State],
    at: usize,
    p: StatePred<KlpSystem>,
    q: StatePred<KlpSystem>,
) -> Option<(Vec<Action>, usize)> {
    debug_assert!(base.free_pass_order().is_none(), "lift onto the unreduced model");
    let (mut actions, path) =
        klp_model::symmetry::concretise(base, groups, &states[..=at], |s| p(base, s) && !q(base, s))?;
    let mut region = Region {
        base: base.clone(),
        groups: groups.clone(),
        keys: Some(states[at..].iter().map(|s| groups.orbit_key(s)).collect()),
        init: path.last()?.clone(),
        p,
        q,
    };
    // First the candidate's own orbits; then every `¬Q` state reachable from the `P` state, up
    // to a bound (a fair cycle may need orbits the quotient's cycle does not visit: the copy
    // that must move moves elsewhere).
    let (lasso, cycle) = search(&region, None).or_else(|| {
        region.keys = None;
        search(&region, Some(WIDE_STATES))
    })?;
    let cycle = actions.len() + cycle;
    actions.extend(lasso);
    Some((actions, cycle))
}

/// States the second, wider search of [`lift`] may store.
const WIDE_STATES: u64 = 2_000_000;

/// Leads-to on the region: a lasso from its initial state, or `None` (it holds there, or the
/// search hit `max_states`).
fn search(region: &Region, max_states: Option<u64>) -> Option<(Vec<Action>, usize)> {
    let prop = LiveProperty { name: "lifted", kind: Liveness::LeadsTo { p: region_p, q: region_q } };
    let out = Bfs::new(region).threads(1).max_states(max_states).liveness(vec![prop], region_fairness).run();
    let found = out.liveness.into_iter().next()?;
    if found.verdict != Verdict::Violated {
        return None;
    }
    Some((found.discovery?.actions, found.cycle_start?))
}
