//! Possibility under symmetry reduction, decided exactly where the model's atomic sections
//! allow it.
//!
//! On the quotient of a reduced model that adds steps to the unreduced one (for the kernel
//! model: a pass of the transition work may visit identical tasks in any order), `EF Q` may
//! hold only through an added step, so "holds" on the quotient is an over-approximation. This
//! module computes an under-approximation that is exact for the unreduced model: `EF Q` along
//! paths on which every *atomic section* (the kernel model's pass) runs from its first step
//! to its end with nothing else in between. The model names its sections
//! ([`Sections`]): a state predicate `inside` and, per step, whether it is a step of the
//! section (`step`, with a key naming the step up to the symmetry). The engine records per
//! state the `inside` bit ([`INSIDE`]) and per edge a tag ([`Layout`]): an ordinary step, a
//! step of the section from inside it, or a step that enters it (with its key).
//!
//! What is checked on the quotient at run time (README "Liveness under symmetry"):
//! * *Claim A*, per inside state `t` ([`closure`]): every path of section steps from `t` ends
//!   outside, at one and the same quotient state `u(t)`: no dead end, no cycle, one end, and
//!   every such step is allowed by every possibility property. A state where it fails gets
//!   [`CONFLICT`] and is never used to show `EF Q`.
//! * Per outside state, its entering edges with the same key (the same step taken on the
//!   different renamings the reduced model offers) must lead to states with the same `u`;
//!   where they do not, those edges are not used.
//!
//! Then `EF Q` is searched on the graph of outside states whose edges are the allowed
//! ordinary steps and, for each usable entering edge, one edge to `u` of its target
//! ([`exact`]); a `P` state inside a section starts at its own `u`. Every edge of that graph
//! lifts to the unreduced model from any state of the orbit: an ordinary step outside a
//! section commutes with renaming; an entering step of the same key is enabled on every
//! member and lands in some renaming's target (all with the same `u`), after which the
//! unreduced model's own section, run alone, follows section edges of the quotient (Claim A:
//! it ends in `u`'s orbit). So a `P` state that reaches `Q` there reaches it in the unreduced
//! model from every concrete state of its orbit. "Run alone" assumes the unreduced model has its
//! section's own step enabled in every inside state (the kernel model's pass holds `klp_mutex`
//! and always has its next `klp_try_switch_task()`; model/src/symmetry/pass.rs tests it on the
//! first states of every shipped scenario and variant preset); on the quotient the run-time
//! check sees a violation of it as a dead end inside a section, a conflict.

use fixedbitset::FixedBitSet;

use super::{ordinal, PassMemory};
use crate::graph::{Decoder, Graph};
use crate::scc::{Event, Scc, Whole};

/// A state predicate: the state is inside an atomic section.
pub type InsideFn<M> = super::StatePred<M>;

/// Whether `action` in `state` is a step of the atomic section's owner (for the kernel model:
/// a step of the transition work's pass, or one that begins a pass) and, if it is, a key
/// naming it the same on every renaming of the state (for a step that the reduced model takes
/// on several renamings: the step it renames). `None`: any other step.
pub type SectionStepFn<M> = fn(&M, &<M as stateright::Model>::State, &<M as stateright::Model>::Action) -> Option<u16>;

/// The model's atomic sections ([`crate::Bfs::atomic_sections`]).
pub(crate) struct Sections<M: stateright::Model> {
    pub(crate) inside: InsideFn<M>,
    pub(crate) step: SectionStepFn<M>,
}

/// The state bit (beside the P/Q bits, which use at most 14 bits with sections on) saying that
/// the state is inside an atomic section.
pub(crate) const INSIDE: u16 = 1 << 15;

/// `u` of a state where Claim A fails (or that reaches one).
pub(crate) const CONFLICT: u32 = u32::MAX - 2;
const BUSY: u32 = u32::MAX - 1;
const UNSET: u32 = u32::MAX;

/// Edge tags, above the allowed bits of the possibility properties.
const ORDINARY: u8 = 0;
const STEP: u8 = 1;
const ENTER: u8 = 2;

/// How an edge's allowed byte is laid out: bit `j` for the `j`-th possibility property, and
/// with sections, the edge's tag in the bits above them.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Per liveness property: its allowed bit (0 for properties that read none).
    pub(crate) bit: Vec<u8>,
    /// The tag's first bit (the number of possibility properties).
    shift: u32,
    /// Whether tags are recorded (sections given, and room for them).
    pub(crate) tags: bool,
}

impl Layout {
    pub(crate) fn new(possibility: &[bool], sections: bool) -> Layout {
        let mut n = 0u32;
        let bit = possibility
            .iter()
            .map(|&p| {
                if !p {
                    return 0;
                }
                n += 1;
                1u8 << (n - 1)
            })
            .collect();
        // At least two tag bits (ordinary, step, two keys), and bit 15 of the state bits free.
        let tags = sections && n <= 6 && possibility.len() <= 7;
        Layout { bit, shift: n, tags }
    }

    /// The allowed bits every possibility property sets.
    fn all_allowed(&self) -> u8 {
        ((1u16 << self.shift) - 1) as u8
    }

    /// The tag of an edge from a state (`inside` it or not) by a step with `key` (`None`: not a
    /// section step) to a state `into` a section or not, shifted into place.
    pub(crate) fn tag(&self, inside: bool, key: Option<u16>, into: bool) -> u8 {
        if !self.tags {
            return 0;
        }
        let t = match (inside, key) {
            (true, Some(_)) => STEP,
            (true, None) => ORDINARY,
            // Keys are folded into the tag bits: two steps that share a folded key are held to
            // the same end (a stronger check, never a weaker one).
            (false, k) if into => {
                let keys = (1u16 << (8 - self.shift)) - 1 - ENTER as u16;
                ENTER + (k.unwrap_or(0) % keys) as u8
            }
            (false, _) => ORDINARY,
        };
        t << self.shift
    }

    fn tag_of(&self, allowed: u8) -> u8 {
        (u16::from(allowed) >> self.shift) as u8
    }
}

fn inside(g: &Graph, v: u32) -> bool {
    g.state_bits(v) & INSIDE != 0
}

/// What [`closure`] found.
pub(crate) struct Closure {
    /// Per state: for an inside state its `u` or [`CONFLICT`]; else the state itself.
    pub(crate) end: Vec<u32>,
    /// Inside states where Claim A fails.
    pub(crate) conflicts: usize,
    pub(crate) inside: usize,
}

/// Claim A on every inside state (module docs): one DFS over the section steps, memoised.
pub(crate) fn closure(g: &Graph, layout: &Layout) -> Closure {
    let n = g.len();
    let mut end = vec![UNSET; n];
    let all = layout.all_allowed();
    let palette: Vec<(u8, bool)> = (0..g.codes() as u32)
        .map(|c| {
            let a = g.class(c).1;
            (layout.tag_of(a), a & all == all)
        })
        .collect();
    let mut d = Decoder::default();
    // Frames: state, its section-step targets (None: a step some property does not allow).
    let mut stack: Vec<(u32, Vec<Option<u32>>, usize, u32)> = Vec::new();
    let mut count = 0;
    let val = |end: &[u32], g: &Graph, w: u32| if inside(g, w) { end[w as usize] } else { w };
    let open = |v: u32, d: &mut Decoder| -> Vec<Option<u32>> {
        let (to, codes) = g.decode(v, d);
        to.iter()
            .zip(codes)
            .filter(|&(_, &c)| palette[c as usize].0 == STEP)
            .map(|(&t, &c)| palette[c as usize].1.then_some(t))
            .collect()
    };
    for v in 0..n as u32 {
        if !inside(g, v) {
            end[v as usize] = v;
            continue;
        }
        count += 1;
        if end[v as usize] != UNSET {
            continue;
        }
        end[v as usize] = BUSY;
        stack.push((v, open(v, &mut d), 0, UNSET));
        while let Some((x, targets, at, acc)) = stack.last_mut() {
            let x = *x;
            if *at == targets.len() {
                let r = if *acc == UNSET { CONFLICT } else { *acc };
                end[x as usize] = r;
                stack.pop();
                if let Some((_, _, _, pacc)) = stack.last_mut() {
                    *pacc = join(*pacc, r);
                }
                continue;
            }
            let t = targets[*at];
            *at += 1;
            let Some(t) = t else {
                *acc = CONFLICT;
                continue;
            };
            if inside(g, t) && end[t as usize] == UNSET {
                end[t as usize] = BUSY;
                let ts = open(t, &mut d);
                stack.push((t, ts, 0, UNSET));
                continue;
            }
            let w = val(&end, g, t);
            // BUSY: a cycle of section steps.
            *acc = join(*acc, if w == BUSY { CONFLICT } else { w });
        }
    }
    let conflicts = end.iter().filter(|&&e| e == CONFLICT).count();
    Closure { end, conflicts, inside: count }
}

/// The end of a set of section paths, given the end of one more.
fn join(acc: u32, w: u32) -> u32 {
    match acc {
        UNSET => w,
        a if a == w => a,
        _ => CONFLICT,
    }
}

/// `EF Q` of possibility property `i` with every section run atomically (module docs): the
/// `P` states that do not reach `Q` on that graph, counted, and the first of them.
pub(crate) fn exact(g: &Graph, i: usize, layout: &Layout, cl: &Closure, mem: &PassMemory) -> (usize, Option<u32>) {
    let n = g.len();
    let end = &cl.end;
    let roots = || (0..n as u32).filter(|&v| g.p(i, v));
    let mut scc = Scc::default();
    let mut rindex = vec![0u32; n];
    let mut reach = FixedBitSet::with_capacity(n);
    let mut reaches = FixedBitSet::with_capacity(n);
    let bit = layout.bit[i];
    let palette: Vec<(u8, bool)> = (0..g.codes() as u32)
        .map(|c| {
            let a = g.class(c).1;
            (layout.tag_of(a), a & bit != 0)
        })
        .collect();
    let mut d = Decoder::default();
    let mut enters: Vec<(u8, u32)> = Vec::new();
    scc.run(
        &mut rindex,
        &Whole,
        roots(),
        |_| true,
        |v, out| {
            if inside(g, v) {
                // Only a root is inside: its section runs to its end first.
                if end[v as usize] != CONFLICT {
                    out.push(end[v as usize]);
                }
                return;
            }
            let (to, codes) = g.decode(v, &mut d);
            enters.clear();
            for (&t, &c) in to.iter().zip(codes) {
                let (tag, allowed) = palette[c as usize];
                if !allowed {
                    continue;
                }
                match tag {
                    ORDINARY if !inside(g, t) => out.push(t),
                    ORDINARY | STEP => {} // not recorded from an outside state
                    k => enters.push((k, end[t as usize])),
                }
            }
            // Entering steps of one key: usable when all end in the same state.
            enters.sort_unstable();
            for group in enters.chunk_by(|a, b| a.0 == b.0) {
                let u = group[0].1;
                if u != CONFLICT && group.iter().all(|&(_, w)| w == u) {
                    out.push(u);
                }
            }
        },
        |ev| match ev {
            Event::Cross(v, id) => {
                if reach[ordinal(n, id)] {
                    reaches.insert(v as usize);
                }
            }
            Event::Component(c, id) => {
                if c.iter().any(|&v| g.q(i, v) || reaches[v as usize]) {
                    reach.insert(ordinal(n, id));
                }
            }
        },
    );
    mem.sample(n * 4 + 2 * n.div_ceil(8) + scc.peak_bytes);
    let mut failing = roots().filter(|&v| !reach[ordinal(n, rindex[v as usize])]);
    let first = failing.next();
    (first.map_or(0, |_| 1 + failing.count()), first)
}
