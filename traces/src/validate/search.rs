//! The product search of `klpcheck validate`: a breadth-first search over pairs (model state, log
//! position), as TLA+ trace validation explores the product of a spec and an implementation log.
//! From a pair, a model step is allowed if the lines it prints (filtered as the harness filters,
//! [`super::parse::model_line_expected`]) are the next lines of the log, and it moves the
//! position past them; a step that prints nothing keeps the position. A debug line of
//! `klp_try_switch_task()` in the log is an observation: the position moves past it without a
//! step, in a state where the observation holds ([`observation_holds`]).
//!
//! Every interleaving the model offers is a candidate, not only the deterministic schedule of
//! `klpcheck run`; the search is exhaustive up to a node limit. The first pair at the end of the
//! log gives a shortest behaviour that prints the log ("admitted"); if none is reached, the
//! furthest position reached names the first line no behaviour produces, with the states that
//! printed everything before it.
//!
//! The state's `klp_signals_sent` bit ([`klp_model::state::LogOnly`]) is ignored by the state's
//! equality (no kernel code reads it) but decides whether `signaling remaining tasks` is printed,
//! so the search keys its pairs on it as well.

use super::parse::{model_line_expected, LogFile, Observation};
use klp_model::log::Dmesg;
use klp_model::{Action, KlpSystem, State};
use stateright::Model;
use std::collections::{HashMap, HashSet, VecDeque};

/// One pair of the product, with how the search first reached it.
#[derive(Clone, Debug)]
pub struct Node {
    pub st: State,
    /// How many of the log's lines the path to it printed or observed.
    pub pos: usize,
    /// The node it was reached from and the step (`None`: an observation line).
    pub parent: Option<(usize, Option<Action>)>,
}

/// The explored part of the product.
#[derive(Debug, Default)]
pub struct Product {
    pub nodes: Vec<Node>,
    /// The first node (in breadth-first order) at the end of the log.
    pub first_end: Option<usize>,
    /// Whether every reachable pair was explored (no node limit hit).
    pub complete: bool,
    /// A step prints several lines at once (`insmod` of a livepatch prints its whole enable):
    /// the furthest log position a step's lines matched up to before they differed, and the
    /// nodes such steps started from, so that a rejection names the line, not the step's first.
    pub partial: (usize, Vec<usize>),
}

impl Product {
    /// The model steps on the path to node `i` (observations leave no step).
    pub fn actions_to(&self, mut i: usize) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some((p, a)) = self.nodes[i].parent {
            out.extend(a);
            i = p;
        }
        out.reverse();
        out
    }

    /// The furthest log position reached, by a whole step or part of one's lines.
    pub fn furthest(&self) -> usize {
        self.nodes.iter().map(|n| n.pos).max().unwrap_or(0).max(self.partial.0)
    }

    /// The distinct states of the nodes at position `pos`, in breadth-first order.
    pub fn states_at(&self, pos: usize) -> Vec<&State> {
        let mut seen = HashSet::new();
        self.nodes
            .iter()
            .filter(|n| n.pos == pos && seen.insert((&n.st, n.st.klp_signals_sent.0)))
            .map(|n| &n.st)
            .collect()
    }

    /// The states that printed the log up to `pos` (not including it): the nodes there, and
    /// the states a step started from whose lines matched up to `pos` before they differed.
    pub fn states_before(&self, pos: usize) -> Vec<&State> {
        let mut seen = HashSet::new();
        let partial = if self.partial.0 == pos { &self.partial.1[..] } else { &[] };
        let nodes = self.nodes.iter().filter(|n| n.pos == pos).chain(partial.iter().map(|&i| &self.nodes[i]));
        nodes.filter(|n| seen.insert((&n.st, n.st.klp_signals_sent.0))).map(|n| &n.st).collect()
    }
}

/// The task a debug line names (`comm:pid` as `klp_try_switch_task()` prints it).
pub fn task_of(model: &KlpSystem, printed: &str) -> Option<u8> {
    (0..model.spec.tasks.len() as u8).find(|&p| model.spec.task_comm_pid(p) == printed)
}

/// Whether the debug line `obs` (the whole line `text`) could be printed by a
/// `klp_try_complete_transition()` pass in state `st`: a transition is in progress and the task
/// has not reached the target state; `is running` only for a task on a CPU (`task_curr()`);
/// `is sleeping on function f` only if the task's stack check fails on `f` with exactly this
/// line (`klp_check_stack()`). The model has no unreliable stacks (the kernel's -EINVAL) and no
/// other error codes: those lines are admitted for any task not yet switched.
pub fn observation_holds(model: &KlpSystem, st: &State, obs: &Observation, text: &str) -> bool {
    use klp_model::kernel::livepatch::transition::{klp_check_stack, task_curr};
    let spec = &*model.spec;
    let Some(pid) = task_of(model, obs.task()) else { return false };
    if st.klp_transition_patch.is_none() || st.tasks[pid as usize].patch_state == st.klp_target_state {
        return false;
    }
    match obs {
        Observation::Running { .. } => task_curr(spec, st, pid),
        Observation::SleepingOn { .. } => {
            let mut log = Dmesg::default();
            !klp_check_stack(spec, st, pid, &mut log) && log.0.iter().any(|l| l == text)
        }
        Observation::UnreliableStack { .. } | Observation::UnknownError { .. } => true,
    }
}

/// The successors of pair (`st`, `pos`): observation moves first, then model steps in the
/// model's action order. Returns the furthest position a step's lines matched up to when they
/// then differed from the log (`pos` if none matched).
pub fn successors(
    model: &KlpSystem,
    log: &LogFile,
    st: &State,
    pos: usize,
    out: &mut Vec<(Option<Action>, State, usize)>,
) -> usize {
    let mut partial = pos;
    let spec = &*model.spec;
    if let Some(l) = log.lines.get(pos) {
        if let Some(obs) = &l.observation {
            if observation_holds(model, st, obs, &l.text) {
                out.push((None, st.clone(), pos + 1));
            }
        }
    }
    let mut enabled = Vec::new();
    model.actions(st, &mut enabled);
    for a in enabled {
        let mut printed = Dmesg::default();
        let Some(next) = model.step(st, a, &mut printed) else { continue };
        let mut p = pos;
        let matches = printed.0.iter().filter(|l| model_line_expected(spec, log, l)).all(|l| {
            let ok = log.lines.get(p).is_some_and(|ll| ll.observation.is_none() && ll.text == *l);
            p += usize::from(ok);
            ok
        });
        if matches {
            out.push((Some(a), next, p));
        } else {
            partial = partial.max(p);
        }
    }
    partial
}

/// Explores the product from the initial state. With `to_end`, stops at the first pair at the
/// end of the log; otherwise explores everything (for `diagnose`). Stops after `max_nodes` pairs.
pub fn explore(model: &KlpSystem, log: &LogFile, max_nodes: usize, to_end: bool) -> Product {
    let mut prod = Product::default();
    let mut index: HashMap<(State, bool, usize), usize> = HashMap::new();
    let init = model.init_state();
    index.insert((init.clone(), init.klp_signals_sent.0, 0), 0);
    prod.nodes.push(Node { st: init, pos: 0, parent: None });
    let mut queue = VecDeque::from([0usize]);
    let mut succ = Vec::new();
    let end = log.lines.len();
    if end == 0 {
        prod.first_end = Some(0);
    }
    while let Some(i) = queue.pop_front() {
        if to_end && prod.first_end.is_some() {
            return prod;
        }
        succ.clear();
        let (st, pos) = (prod.nodes[i].st.clone(), prod.nodes[i].pos);
        let partial = successors(model, log, &st, pos, &mut succ);
        if partial > pos && partial >= prod.partial.0 {
            if partial > prod.partial.0 {
                prod.partial = (partial, Vec::new());
            }
            prod.partial.1.push(i);
        }
        for (a, next, p) in succ.drain(..) {
            let bit = next.klp_signals_sent.0;
            let key = (next, bit, p);
            if index.contains_key(&key) {
                continue;
            }
            if prod.nodes.len() >= max_nodes {
                return prod;
            }
            let j = prod.nodes.len();
            index.insert(key.clone(), j);
            prod.nodes.push(Node { st: key.0, pos: p, parent: Some((i, a)) });
            if p == end && prod.first_end.is_none() {
                prod.first_end = Some(j);
            }
            queue.push_back(j);
        }
    }
    prod.complete = true;
    prod
}

/// Every line some reachable step of the model prints and a log like `log` would show, by an
/// unconstrained breadth-first search of at most `max_states` states; `complete` if it explored
/// everything.
pub fn printable_lines(model: &KlpSystem, log: &LogFile, max_states: usize) -> (HashSet<String>, bool) {
    let spec = &*model.spec;
    let mut lines = HashSet::new();
    let init = model.init_state();
    let mut seen: HashSet<(State, bool)> = HashSet::from([(init.clone(), false)]);
    let mut queue = VecDeque::from([init]);
    let mut enabled = Vec::new();
    while let Some(st) = queue.pop_front() {
        enabled.clear();
        model.actions(&st, &mut enabled);
        for &a in &enabled {
            let mut printed = Dmesg::default();
            let Some(next) = model.step(&st, a, &mut printed) else { continue };
            lines.extend(printed.0.into_iter().filter(|l| model_line_expected(spec, log, l)));
            let key = (next.clone(), next.klp_signals_sent.0);
            if seen.contains(&key) {
                continue;
            }
            if seen.len() >= max_states {
                return (lines, false);
            }
            seen.insert(key);
            queue.push_back(next);
        }
    }
    (lines, true)
}
