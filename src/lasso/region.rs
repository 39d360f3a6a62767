//! Leads-to of a reduced run decided on the unreduced model, in the region where a violation
//! can live.
//!
//! When leads-to finds a fair cycle on the quotient (fairness merged per group of copies), the
//! engine also hands back the quotient states whose orbits hold every quiescent state and
//! every fair cycle a violation of the unreduced model can have
//! (`klp_checker::PropertyOutcome::region`, checker/src/liveness/quotient.rs). [`decide`]
//! unfolds those orbits (every renaming of each state: at most `Groups::order()` concrete
//! states each) and checks, on the unreduced model restricted to them and with its own
//! per-task fairness, whether any of their states starts a fair run that stays in them
//! forever. A step out of the region, or to a `Q` state, goes to one extra state and still
//! counts as enabled (and taken) for fairness, so a fair cycle found is a fair cycle of the
//! model, and a quiescent state found is quiescent in the model.
//!
//! None found: no violation of the unreduced model exists, and the property **holds** (exact).
//! One found: its states may not be reachable in the unreduced model (the region holds whole
//! orbits), so it is a candidate that [`super::lift`] must still confirm. Past
//! [`REGION_STATES`] concrete states the region is not explored: undecided.

use std::collections::HashSet;

use klp_checker::{Bfs, Fairness, LiveProperty, Liveness, StatePred, Verdict};
use klp_model::symmetry::Groups;
use klp_model::{Action, KlpSystem, State};
use serde::{Deserialize, Serialize};
use stateright::Model;

/// Concrete states a region may have (its orbits unfolded); past it leads-to stays undecided.
/// The search over it keeps them packed (about 40 bytes each) plus the liveness graph.
pub const REGION_STATES: usize = 20_000_000;

/// What the region says about a leads-to property.
#[derive(Debug, PartialEq, Eq)]
pub enum Decided {
    /// No state of the region starts a fair run that stays in it: the property holds.
    Holds,
    /// Some does: a candidate (its states may be unreachable in the unreduced model).
    Candidate,
    /// The region has more than [`REGION_STATES`] states, or the search over it stopped.
    TooLarge,
}

/// A state of the unfolded region: the root that enters every concrete state of it, one of
/// them, or the one state outside it (left the region, or reached `Q`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Node {
    Root,
    In(Box<State>),
    Out,
}

/// A step of the unfolded region: from the root, renaming `.1` of stored state `.0`; inside,
/// a step of the unreduced model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Step {
    Enter(u32, u32),
    Do(Action),
}

/// The unreduced model restricted to the orbits of `reps`.
struct Unfolded<'a> {
    base: &'a KlpSystem,
    groups: &'a Groups,
    reps: &'a [State],
    /// Fingerprints of the region's orbits (`Groups::orbit_key`). A collision only adds a
    /// state to the region: "holds" stays sound, a candidate is confirmed anyway.
    keys: HashSet<u64>,
    q: StatePred<KlpSystem>,
}

impl Model for Unfolded<'_> {
    type State = Node;
    type Action = Step;

    fn init_states(&self) -> Vec<Node> {
        vec![Node::Root]
    }

    fn actions(&self, st: &Node, out: &mut Vec<Step>) {
        match st {
            Node::Root => {
                for j in 0..self.reps.len() {
                    out.extend((0..self.groups.order()).map(|k| Step::Enter(j as u32, k as u32)));
                }
            }
            Node::In(s) => {
                let mut acts = Vec::new();
                self.base.actions(s, &mut acts);
                out.extend(acts.into_iter().map(Step::Do));
            }
            Node::Out => {}
        }
    }

    fn next_state(&self, st: &Node, step: Step) -> Option<Node> {
        match (st, step) {
            (Node::Root, Step::Enter(j, k)) => {
                Some(Node::In(Box::new(self.groups.rename(&self.reps[j as usize], k as usize))))
            }
            (Node::In(s), Step::Do(a)) => {
                let n = self.base.next_state(s, a)?;
                // Beyond the boundary: left as it is, for the engine to drop as it drops it on
                // the model.
                let inside = !self.base.within_boundary(&n)
                    || (!(self.q)(self.base, &n)
                        && self.keys.contains(&klp_checker::fingerprint(&self.groups.orbit_key(&n))));
                Some(if inside { Node::In(Box::new(n)) } else { Node::Out })
            }
            _ => None,
        }
    }

    fn within_boundary(&self, st: &Node) -> bool {
        match st {
            Node::In(s) => self.base.within_boundary(s),
            _ => true,
        }
    }
}

fn inside(_: &Unfolded, st: &Node) -> bool {
    matches!(st, Node::In(_))
}

fn outside(_: &Unfolded, st: &Node) -> bool {
    matches!(st, Node::Out)
}

/// The unreduced model's fairness inside the region; entering it is no step of the model.
fn fairness(m: &Unfolded, st: &Node, step: &Step) -> Option<Fairness> {
    match (st, step) {
        (Node::In(s), Step::Do(a)) => klp_properties::liveness::fairness(m.base, s, a),
        _ => None,
    }
}

/// The states as bytes: a tag, then the model's own packing (model/src/pack.rs).
fn encode(m: &Unfolded, st: &Node, out: &mut Vec<u8>) -> usize {
    match st {
        Node::Root => out.push(0),
        Node::Out => out.push(2),
        Node::In(s) => {
            out.push(1);
            return 1 + klp_model::pack::encode(m.base, s, out);
        }
    }
    1
}

fn decode(m: &Unfolded, bytes: &mut &[u8]) -> Node {
    let (&tag, rest) = bytes.split_first().expect("a tag");
    *bytes = rest;
    match tag {
        0 => Node::Root,
        2 => Node::Out,
        _ => Node::In(Box::new(klp_model::pack::decode(m.base, bytes))),
    }
}

/// Whether leads-to `_ ~> q` can be violated in the unreduced model `base` inside the orbits
/// of `reps` (module docs), searched with `threads` threads.
pub fn decide(base: &KlpSystem, groups: &Groups, reps: &[State], q: StatePred<KlpSystem>, threads: usize) -> Decided {
    debug_assert!(base.free_pass_order().is_none(), "decide on the unreduced model");
    if reps.len().saturating_mul(groups.order()) > REGION_STATES {
        return Decided::TooLarge;
    }
    let keys = reps.iter().map(|s| klp_checker::fingerprint(&groups.orbit_key(s))).collect();
    let region = Unfolded { base, groups, reps, keys, q };
    let prop = LiveProperty { name: "region", kind: Liveness::LeadsTo { p: inside, q: outside } };
    let out = Bfs::new(&region)
        .threads(threads.max(1))
        .max_states(Some(REGION_STATES as u64 + 2))
        .pack(encode, decode)
        .liveness(vec![prop], fairness)
        .run();
    match out.liveness.first().map(|p| p.verdict) {
        Some(Verdict::Holds) => Decided::Holds,
        Some(Verdict::Violated) => Decided::Candidate,
        _ => Decided::TooLarge,
    }
}
