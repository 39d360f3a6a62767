//! Leads-to under symmetry reduction: the part of the quotient graph where a violation of the
//! unreduced model can live.
//!
//! On the quotient (one state per canonical form, fairness merged per group of copies:
//! `Bfs::quotient_fairness`) a fair cycle is only a candidate: merging forgets which copy
//! must move. The caller decides it on the unreduced model by unfolding the orbits of the
//! states [`region`] returns and checking leads-to there with the model's own per-task
//! fairness. Why every violation of the unreduced model is in there: it is a path from a
//! reachable `P ∧ ¬Q` state through `¬Q` states to a quiescent state or a fair cycle. Its
//! image on the quotient is a path of the same orbits (the reduced model contains the
//! unreduced one and renaming is its symmetry), through `¬Q` orbits (`Q` reads no task by its
//! index) reachable from a `P ∧ ¬Q` orbit; the cycle's image is a closed walk that meets the
//! merged fairness (what the merging keeps), so it lies in a strongly connected component of
//! the `¬Q` subgraph that holds a fair subset ([`super::fair_subset`]); a quiescent state's
//! image is quiescent (a merged class is enabled only where a copy's class is).

use fixedbitset::FixedBitSet;

use crate::graph::{Decoder, Graph};
use crate::scc::{Event, Scc, Whole};

/// The states of the quotient graph `g` whose orbits hold every quiescent state and every fair
/// cycle of a leads-to violation of property `i` (module docs): the `¬Q` states reachable
/// through `¬Q` states from a `P ∧ ¬Q` state that are quiescent or lie in a component with a
/// fair subset, in index order. `None` when there are more than `limit`.
pub(crate) fn region(g: &Graph, i: usize, limit: usize) -> Option<Vec<u32>> {
    let n = g.len();
    let notq = |v: u32| !g.q(i, v);
    // Forward reachability from the P ∧ ¬Q states, through ¬Q states.
    let mut reach = FixedBitSet::with_capacity(n);
    let mut stack: Vec<u32> = (0..n as u32).filter(|&v| g.p(i, v) && notq(v)).collect();
    for &v in &stack {
        reach.insert(v as usize);
    }
    while let Some(v) = stack.pop() {
        for e in g.edges(v) {
            if notq(e.to) && !reach.put(e.to as usize) {
                stack.push(e.to);
            }
        }
    }
    let (quiescent, self_loop) = super::state_flags(g);
    let classes = super::Classes::of(g);
    let mut keep = FixedBitSet::with_capacity(n);
    let mut in_set = FixedBitSet::with_capacity(n);
    let mut rindex = vec![0u32; n];
    let mut scc = Scc::default();
    let mut d = Decoder::default();
    let roots: Vec<u32> = reach.ones().map(|v| v as u32).collect();
    scc.run(
        &mut rindex,
        &Whole,
        roots,
        |v: u32| reach[v as usize],
        |v, out| out.extend_from_slice(g.decode(v, &mut d).0),
        |ev| {
            let Event::Component(c, _) = ev else { return };
            for &v in c.iter().filter(|&&v| quiescent[v as usize]) {
                keep.insert(v as usize);
            }
            let trivial = c.len() == 1 && !self_loop[c[0] as usize];
            if !trivial && super::fair_subset(g, &classes, c, &mut in_set).is_some() {
                for &v in c {
                    keep.insert(v as usize);
                }
            }
        },
    );
    (keep.count_ones(..) <= limit).then(|| keep.ones().map(|v| v as u32).collect())
}
