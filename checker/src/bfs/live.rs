//! Liveness after the search: the P/Q bits and edge classes phase A records, the graph checks,
//! and the traces of their findings.

use rayon::prelude::*;
use std::hash::Hash;
use std::time::Instant;

use stateright::Model;

use super::profile::Phase;
use super::*;
use crate::liveness::atomic::INSIDE;
use crate::liveness::{Finding, Liveness};
use crate::outcome::*;
use crate::sys;

/// P/Q bits of every liveness property at `s` (bit 2i: P of property i, 2i + 1: Q), and with
/// atomic sections, [`INSIDE`] if `inside`.
pub(crate) fn live_bits<M: Model>(model: &M, l: &LiveCfg<M>, s: &M::State, inside: bool) -> u16 {
    let init = if inside { INSIDE } else { 0 };
    l.props.iter().enumerate().fold(init, |acc, (i, p)| {
        let (pp, qq) = match &p.kind {
            Liveness::LeadsTo { p, q } | Liveness::Possibility { p, q, .. } => (p(model, s), q(model, s)),
            Liveness::Deadlock { end } => (end(model, s), false),
        };
        acc | u16::from(pp) << (2 * i) | u16::from(qq) << (2 * i + 1)
    })
}

/// The allowed bit of each possibility property that allows `action` (`Layout::bit`).
pub(super) fn allowed_bits<M: Model>(model: &M, l: &LiveCfg<M>, action: &M::Action) -> u8 {
    l.props.iter().zip(&l.layout.bit).fold(0, |acc, (p, &bit)| match &p.kind {
        Liveness::Possibility { allowed, .. } if allowed(model, action) => acc | bit,
        _ => acc,
    })
}

/// With atomic sections: whether `s` is inside one (else false).
pub(super) fn inside<M: Model>(model: &M, l: &LiveCfg<M>, s: &M::State) -> bool {
    l.sections.as_ref().is_some_and(|x| (x.inside)(model, s))
}

/// With atomic sections: the tag of the edge from `s` (`inside` or not) by `action` to `n`
/// (`Layout::tag`), to be or-ed into its allowed bits.
pub(super) fn section_tag<M: Model>(
    model: &M,
    l: &LiveCfg<M>,
    s: &M::State,
    inside: bool,
    action: &M::Action,
    n: &M::State,
) -> u8 {
    let Some(x) = &l.sections else { return 0 };
    let into = !inside && (x.inside)(model, n);
    if !inside && !into {
        return 0;
    }
    l.layout.tag(inside, (x.step)(model, s, action), into)
}

/// The note of a possibility property that holds on the quotient and, with every atomic
/// section run in one go, from every `P` state (checker/src/liveness/atomic.rs): exact.
pub const SECTIONS_EXACT: &str =
    "decided exactly under symmetry: every P state reaches the goal with each atomic section (a pass of the transition work) run to its end in one go (README \"Liveness under symmetry\")";

/// The note of a possibility property that holds because no reachable state satisfies its
/// `P` (then it holds on any model that reaches no more states): given under symmetry only.
pub const VACUOUS: &str = "vacuous: no reachable state satisfies P";

/// What the graph checks found for one liveness property.
pub(super) enum LiveResult {
    Holds,
    /// A possibility property that holds because no state satisfies its `P`.
    Vacuous,
    /// A violation, and under symmetry its region's states (`Bfs::quotient_region`).
    Found(Finding, Option<Vec<u32>>),
    Unknown,
    Unchecked,
    /// Under symmetry with atomic sections: a possibility property that holds on the quotient,
    /// decided exactly ([`SECTIONS_EXACT`]).
    Exact,
    /// Under symmetry with atomic sections: holds on the quotient but not shown exactly; why.
    Undecided(String),
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    /// Builds the graph (after an exhausted search) and checks every liveness property.
    pub(super) fn check_liveness(&self, raw: &mut Raw) -> Vec<LiveResult> {
        let Some(l) = &self.live else { return Vec::new() };
        if !self.records_graph() {
            return l.props.iter().map(|_| LiveResult::Unchecked).collect();
        }
        let mut g = raw.graph.take().expect("recording");
        g.sample();
        if raw.stop != StopReason::Exhausted {
            raw.stats.graph_bytes = g.peak_bytes as u64;
            return l.props.iter().map(|_| LiveResult::Unknown).collect();
        }
        let start = Instant::now();
        let prof = &mut raw.prof;
        prof.start_driver();
        let ts = prof.now();
        raw.stats.graph_kept_bytes = g.bytes() as u64;
        if super::profile::from_env() {
            eprintln!("{}", g.describe());
        }
        // The properties are independent passes over the same read-only graph, one per pool
        // thread at a time, each with its own working arrays (`check_bytes`). They read the
        // compressed stream itself: decoding it into flat arrays (4 bytes per state and 5 per
        // edge, 41 bytes per state on `large`) raised the run's peak by a third, and passes that
        // decode each state once per visit cost no more time (README "Liveness storage").
        let passes = rayon::current_num_threads().clamp(1, l.props.len().max(1));
        prof.serial(Phase::Properties, ts);
        let mem = crate::liveness::PassMemory::default();
        mem.rss.fetch_max(sys::rss_bytes(), std::sync::atomic::Ordering::Relaxed);
        let sec = prof.section();
        // Claim A of the atomic sections, shared by the possibility properties (4 bytes a state).
        let closure = match &l.sections {
            Some(_) if self.symmetry.is_some() && l.layout.bit.iter().any(|&b| b != 0) => {
                Some(sec.task(|| crate::liveness::atomic::closure(&g, &l.layout)))
            }
            _ => None,
        };
        // Possibility properties that allow the same edges share one pass (`liveness::possibility`);
        // a deadlock check reads the flags the graph keeps per state and is no pass.
        let mut out: Vec<Option<LiveResult>> = l.props.iter().map(|_| None).collect();
        let mut jobs: Vec<Vec<usize>> = Vec::new();
        for (i, p) in l.props.iter().enumerate() {
            match p.kind {
                // Per-component fairness classes are not symmetric (`Bfs::liveness`).
                Liveness::LeadsTo { .. } if self.symmetry.is_some() && l.quotient.is_none() => {
                    out[i] = Some(LiveResult::Unchecked);
                }
                // Said under symmetry only, where it makes "holds" exact (the caller's business).
                Liveness::Possibility { .. } if self.symmetry.is_some() && !(0..g.len() as u32).any(|v| g.p(i, v)) => {
                    out[i] = Some(LiveResult::Vacuous);
                }
                Liveness::Possibility { .. } => {
                    let same = |j: &&mut Vec<usize>| {
                        matches!(l.props[j[0]].kind, Liveness::Possibility { .. })
                            && crate::liveness::same_edges(&g, l.layout.bit[j[0]], l.layout.bit[i])
                    };
                    match jobs.iter_mut().find(same) {
                        Some(j) => j.push(i),
                        None => jobs.push(vec![i]),
                    }
                }
                _ => jobs.push(vec![i]),
            }
        }
        let passes = passes.min(jobs.len().max(1));
        // A leads-to pass refines its components on the pool (`liveness/fairpool.rs`).
        let charge = |f: &mut dyn FnMut()| sec.task(f);
        let found: Vec<(Vec<(usize, LiveResult)>, std::time::Duration)> = jobs
            .par_iter()
            .map(|job| {
                let i = job[0];
                let (fs, cpu) = sec.timed(|| match l.props[i].kind {
                    Liveness::LeadsTo { .. } => vec![crate::liveness::leads_to(&g, i, &mem, &charge)],
                    Liveness::Possibility { .. } => crate::liveness::possibility(&g, job, l.layout.bit[i], &mem),
                    Liveness::Deadlock { .. } => vec![crate::liveness::deadlock(&g, i)],
                });
                let r = job
                    .iter()
                    .zip(fs)
                    .map(|(&i, f)| {
                        let Some(f) = f else {
                            return match (&l.props[i].kind, &closure) {
                                (Liveness::Possibility { .. }, Some(cl)) => {
                                    (i, sec.task(|| exact_possibility(&g, i, &l.layout, cl, &mem)))
                                }
                                _ => (i, LiveResult::Holds),
                            };
                        };
                        let region = match l.props[i].kind {
                            Liveness::LeadsTo { .. } if self.symmetry.is_some() && l.region_limit > 0 => {
                                sec.task(|| crate::liveness::quotient::region(&g, i, l.region_limit))
                            }
                            _ => None,
                        };
                        (i, LiveResult::Found(f, region))
                    })
                    .collect();
                (r, cpu)
            })
            .collect();
        for (job, (rs, cpu)) in jobs.iter().zip(found) {
            let names: Vec<&str> = job.iter().map(|&i| l.props[i].name).collect();
            prof.passes.push((names.join("+"), cpu));
            for (i, r) in rs {
                out[i] = Some(r);
            }
        }
        let out: Vec<LiveResult> = out.into_iter().map(|r| r.expect("every property has a result")).collect();
        let working = passes * mem.bytes.into_inner();
        raw.stats.graph_bytes = g.peak_bytes.max(g.bytes() + working) as u64;
        prof.end(Phase::Properties, sec);
        prof.end_driver(true);
        raw.stats.liveness_elapsed = start.elapsed();
        let rss = mem.rss.into_inner().max(sys::rss_bytes());
        raw.stats.memory_liveness = MemoryParts {
            rss,
            table: 0,
            parents: raw.levels.bytes() as u64,
            frontier_states: 0,
            frontier: 0,
            graph: g.bytes() as u64,
            liveness: working as u64,
        };
        raw.stats.peak_rss_bytes = raw.stats.peak_rss_bytes.max(rss);
        out
    }

    pub(super) fn live_outcomes(
        &self,
        raw: &Raw,
        inits: &[M::State],
        findings: Vec<LiveResult>,
    ) -> Vec<PropertyOutcome<M>> {
        let Some(l) = &self.live else { return Vec::new() };
        l.props
            .iter()
            .zip(findings)
            .map(|(p, r)| {
                let mut o = PropertyOutcome::liveness_holds(p.name);
                match r {
                    LiveResult::Holds => {}
                    LiveResult::Vacuous => o.note = VACUOUS.to_string(),
                    LiveResult::Unknown => o.verdict = Verdict::Incomplete,
                    LiveResult::Unchecked => o.verdict = Verdict::Unchecked,
                    LiveResult::Exact => o.note = SECTIONS_EXACT.to_string(),
                    LiveResult::Undecided(why) => {
                        o.verdict = Verdict::Incomplete;
                        o.note = why;
                    }
                    LiveResult::Found(f, region) => {
                        let stored = |idx: u32| {
                            let idx = idx as u64;
                            let d = raw.level_starts.partition_point(|&s| s <= idx) - 1;
                            let (init, steps) = raw.levels.path_to(d, (idx - raw.level_starts[d]) as usize);
                            replay(self.model, inits, init, &steps)
                        };
                        let mut t = stored(f.state);
                        let prefix = t.actions.len();
                        if self.symmetry.is_some() {
                            extend_by_orbits(self.model, &mut t, &f.edges, &f.targets, |v| {
                                stored(v).states.pop().expect("non-empty")
                            });
                        } else {
                            extend_by_ordinals(self.model, &mut t, &f.edges);
                        }
                        o.verdict = Verdict::Violated;
                        o.cycle_start = f.cycle_start.map(|c| prefix + c);
                        o.note = f.note;
                        o.discovery = Some(t);
                        o.region = region.map(|r| replay_many(self.model, inits, &raw.levels, &raw.level_starts, &r));
                    }
                }
                o
            })
            .collect()
    }
}

/// Follows successor ordinals (the k-th successor within the boundary, the order the engine
/// recorded edges in) from the last state of `t`.
fn extend_by_ordinals<M: Model>(model: &M, t: &mut Discovery<M>, ordinals: &[usize])
where
    M::State: Clone,
    M::Action: Clone,
{
    let mut buf = Vec::new();
    for &k in ordinals {
        let s = t.states.last().expect("non-empty").clone();
        buf.clear();
        model.actions(&s, &mut buf);
        let (a, n) = buf
            .drain(..)
            .filter_map(|a| model.next_state(&s, a.clone()).map(|n| (a, n)))
            .filter(|(_, n)| model.within_boundary(n))
            .nth(k)
            .expect("model is not deterministic: recorded edge is missing on replay");
        t.actions.push(a);
        t.states.push(n);
    }
}

/// Under symmetry: each edge's ordinal is of the stored state of the orbit the path is in
/// (the first from the last state of `t`, the next ones from `stored(target)`), so the
/// successor pushed is in the orbit of the next stored state (`PropertyOutcome::discovery`).
fn extend_by_orbits<M: Model>(
    model: &M,
    t: &mut Discovery<M>,
    ordinals: &[usize],
    targets: &[u32],
    stored: impl Fn(u32) -> M::State,
) where
    M::State: Clone,
    M::Action: Clone,
{
    for (i, &k) in ordinals.iter().enumerate() {
        let from = match i {
            0 => t.states.last().expect("non-empty").clone(),
            _ => stored(targets[i - 1]),
        };
        let mut step = Discovery { init_index: 0, actions: Vec::new(), states: vec![from] };
        extend_by_ordinals(model, &mut step, &[k]);
        t.actions.extend(step.actions);
        t.states.push(step.states.pop().expect("a successor"));
    }
}

/// Re-executes action indices from an initial state. The engine's frontier states were
/// produced exactly this way, so this yields the real states it saw.
pub(crate) fn replay<M: Model>(model: &M, inits: &[M::State], init: usize, steps: &[usize]) -> Discovery<M>
where
    M::State: Clone,
    M::Action: Clone,
{
    let mut states = vec![inits[init].clone()];
    let mut actions = Vec::with_capacity(steps.len());
    let mut buf = Vec::new();
    for &a in steps {
        let s = states.last().expect("non-empty");
        buf.clear();
        model.actions(s, &mut buf);
        let action = buf[a].clone();
        let n =
            model.next_state(s, action.clone()).expect("model is not deterministic: replayed action has no successor");
        actions.push(action);
        states.push(n);
    }
    Discovery { init_index: init, actions, states }
}

/// The stored states numbered `idx` (in search order), rebuilt together: one sweep per level
/// up the parent links of all of them, then one replay down the tree their paths share, each
/// level's steps on the rayon pool. Why not [`replay`] of each: `Levels::path_to` scans its
/// level's children counts from the start for every state, and a leads-to region under
/// symmetry hands back up to `region_limit` states; rebuilt one by one they were 55% of the CPU
/// of a reduced run with liveness (perf, xl with 3 readers, `check --threads 2`).
pub(crate) fn replay_many<M>(
    model: &M,
    inits: &[M::State],
    levels: &crate::parents::Levels,
    level_starts: &[u64],
    idx: &[u32],
) -> Vec<M::State>
where
    M: Model + Sync,
    M::State: Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    // (level, position in it) of each wanted state.
    let wanted: Vec<(usize, usize)> = idx
        .iter()
        .map(|&i| {
            let i = u64::from(i);
            let d = level_starts.partition_point(|&s| s <= i) - 1;
            (d, (i - level_starts[d]) as usize)
        })
        .collect();
    let Some(depth) = wanted.iter().map(|w| w.0).max() else { return Vec::new() };
    // need[d]: the distinct positions of level d on the path to some wanted state, in order;
    // parent[d][k]: the index in need[d - 1] of need[d][k]'s parent.
    let mut need: Vec<Vec<usize>> = vec![Vec::new(); depth + 1];
    for &(d, p) in &wanted {
        need[d].push(p);
    }
    let mut parent: Vec<Vec<usize>> = vec![Vec::new(); depth + 1];
    need[depth].sort_unstable();
    need[depth].dedup();
    for d in (1..=depth).rev() {
        let up = levels.parents_of(d, &need[d]);
        need[d - 1].extend_from_slice(&up);
        need[d - 1].sort_unstable();
        need[d - 1].dedup();
        let above = &need[d - 1];
        parent[d] = up.iter().map(|q| above.binary_search(q).expect("a parent on the level above")).collect();
    }
    let mut out: Vec<Option<M::State>> = vec![None; idx.len()];
    let mut by_level: Vec<Vec<(usize, usize)>> = vec![Vec::new(); depth + 1];
    for (j, &(d, p)) in wanted.iter().enumerate() {
        by_level[d].push((j, p));
    }
    let mut level: Vec<M::State> = need[0].iter().map(|&p| inits[levels.action[0].get(p) as usize].clone()).collect();
    for d in 0..=depth {
        if d > 0 {
            let above = level;
            level = need[d]
                .par_iter()
                .zip(&parent[d])
                .map_init(Vec::new, |acts, (&pos, &k)| {
                    let s = &above[k];
                    acts.clear();
                    model.actions(s, acts);
                    let a = acts[levels.action[d].get(pos) as usize].clone();
                    model.next_state(s, a).expect("model is not deterministic: replayed action has no successor")
                })
                .collect();
        }
        for &(j, p) in &by_level[d] {
            let k = need[d].binary_search(&p).expect("a wanted position");
            out[j] = Some(level[k].clone());
        }
    }
    out.into_iter().map(|s| s.expect("every wanted state rebuilt")).collect()
}

/// A possibility property that holds on the quotient, checked with every atomic section run in
/// one go (checker/src/liveness/atomic.rs).
fn exact_possibility(
    g: &crate::graph::Graph,
    i: usize,
    layout: &crate::liveness::atomic::Layout,
    cl: &crate::liveness::atomic::Closure,
    mem: &crate::liveness::PassMemory,
) -> LiveResult {
    let (failing, _) = crate::liveness::atomic::exact(g, i, layout, cl, mem);
    if failing == 0 {
        return LiveResult::Exact;
    }
    LiveResult::Undecided(format!(
        "holds on the reduced model, whose passes may visit identical tasks in any order; with every pass run in one go {failing} P state(s) do not reach the goal ({} of {} mid-pass states fail Claim A: README \"Liveness under symmetry\"): rerun with --no-symmetry to decide",
        cl.conflicts, cl.inside
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parents::{ByteLog, Levels};

    /// A binary tree: state `x` has successors `2x` and `2x + 1`, below 2^10 (every state
    /// distinct, so BFS level `d` is `2^d..2^(d+1)` in order).
    struct Tree;

    impl Model for Tree {
        type State = u32;
        type Action = u32;
        fn init_states(&self) -> Vec<u32> {
            vec![1]
        }
        fn actions(&self, s: &u32, out: &mut Vec<u32>) {
            if *s < 512 {
                out.extend([0, 1]);
            }
        }
        fn next_state(&self, s: &u32, a: u32) -> Option<u32> {
            Some(2 * s + a)
        }
    }

    /// [`replay_many`] rebuilds the states [`replay`] of each one's path does, in the order asked.
    #[test]
    fn replay_many_is_replay_of_each() {
        let mut levels = Levels::default();
        let mut starts = Vec::new();
        for d in 0..10u32 {
            starts.push((1u64 << d) - 1);
            let (mut action, mut children) = (ByteLog::default(), ByteLog::default());
            for x in 1u32 << d..1 << (d + 1) {
                action.push(if d == 0 { 0 } else { x & 1 });
                children.push(if d < 9 { 2 } else { 0 });
            }
            levels.action.push(action);
            levels.children.push(children);
        }
        let inits = Tree.init_states();
        let idx: Vec<u32> = vec![700, 3, 0, 1022, 511, 3, 64, 1000, 2];
        let got = replay_many(&Tree, &inits, &levels, &starts, &idx);
        let each: Vec<u32> = idx
            .iter()
            .map(|&i| {
                let d = starts.partition_point(|&s| s <= u64::from(i)) - 1;
                let (init, steps) = levels.path_to(d, (u64::from(i) - starts[d]) as usize);
                *replay(&Tree, &inits, init, &steps).states.last().unwrap()
            })
            .collect();
        assert_eq!(got, each);
        assert_eq!(got, idx.iter().map(|&i| i + 1).collect::<Vec<_>>(), "state i + 1 is stored at index i");
        assert!(replay_many(&Tree, &inits, &levels, &starts, &[]).is_empty());
    }
}
