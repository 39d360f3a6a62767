//! `klpcheck diagnose LOG --scenario S`: a log that ends inside a transition (a customer's dmesg
//! with "starting patching transition" and no "patching complete"), read as a support engineer
//! reads it. The product search ([`super::search`]) runs to exhaustion, so the states at the end
//! of the log are every model state consistent with it (the log ends, the machine goes on
//! silently). For them it says, in kernel terms:
//! - which tasks can still have TIF_PATCH_PENDING, and where each one is (its frames, and whether
//!   its stack check fails: the `is sleeping on function` a debug log would show);
//! - which ways out end the transition, from how many of the states, with the shortest from each:
//!   waiting (the transition work retries, tasks switch on their way to user mode or in the idle
//!   loop, no signal), a signal (`klp_send_signals()` on the path), the reversal (`echo 0 >
//!   enabled`, or `echo 1` for an unpatching transition), unloading a target module (`rmmod`), and
//!   force (`echo 1 > force`).
//!
//! A way out is a breadth-first search from the state in a copy of the scenario whose admin may
//! run only that one command (any order, once), and whose script commands are spent; "ended" is
//! `klp_transition_patch == NULL` (completed, or cancelled). The commands the script would run
//! next are not taken: the diagnosis is about what the administrator could do now.

use super::search::{explore, Product};
use super::{parse::LogFile, summary, Limits, Verdict};
use klp_model::kernel::livepatch::transition::{klp_check_stack, task_curr};
use klp_model::log::Dmesg;
use klp_model::spec::{AdminOp, AdminOrder, OpSpec};
use klp_model::state::{AdminProgress, ModState};
use klp_model::{Action, KlpSystem, State};
use stateright::Model;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write;

/// A way a stuck transition can end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Way {
    /// "wait", "signal", "reversal", "unload <module>", "force".
    pub name: String,
    /// What it is, with the command line.
    pub what: String,
    /// The one admin command it may run.
    op: Option<AdminOp>,
    /// Whether the path must (`Some(true)`) or must not (`Some(false)`) send signals.
    signals: Option<bool>,
}

/// The shortest way out from one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub way: usize,
    /// The steps in kernel vocabulary.
    pub steps: Vec<String>,
}

/// One task that can still have TIF_PATCH_PENDING.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// `comm:pid`.
    pub task: String,
    /// In how many of the states.
    pub states: usize,
    /// Where it is in those states (distinct): "sleeping in f@orig (stack check: is sleeping on
    /// function f)".
    pub where_: Vec<String>,
}

/// The answer of [`diagnose`].
#[derive(Clone, Debug)]
pub struct Diagnosis {
    /// The patch in transition in the states (if any) and its direction.
    pub transition: Option<String>,
    pub states: Vec<State>,
    pub pending: Vec<Pending>,
    pub ways: Vec<Way>,
    /// Per state, the shortest path of each way that ends it.
    pub exits: Vec<Vec<Exit>>,
    /// Whether every search completed (no limit hit).
    pub complete: bool,
}

/// Diagnoses `log`: `Err` with the validation verdict if the log is not admitted.
pub fn diagnose(model: &KlpSystem, log: &LogFile, limits: Limits) -> Result<Diagnosis, Box<Verdict>> {
    let prod: Product = explore(model, log, limits.max_nodes, false);
    if prod.first_end.is_none() {
        return Err(Box::new(super::validate(model, log, limits)));
    }
    let spec = &*model.spec;
    let states: Vec<State> = prod.states_at(log.lines.len()).into_iter().cloned().collect();
    let transition = states.iter().find_map(|s| s.klp_transition_patch).map(|p| {
        let target = if states.iter().any(|s| s.klp_target_state == klp_model::task::PatchState::Patched) {
            "patching"
        } else {
            "unpatching"
        };
        format!("the {target} transition of '{}'", spec.patches[p as usize].name)
    });
    let pending = pending_tasks(model, &states);
    let ways = ways(model, &states);
    let mut complete = prod.complete;
    let mut exits = Vec::new();
    for st in &states {
        let mut mine = Vec::new();
        for (w, way) in ways.iter().enumerate() {
            match way_out(model, st, way, limits.max_nodes / 10) {
                (Some(steps), _) => mine.push(Exit { way: w, steps }),
                (None, c) => complete &= c,
            }
        }
        exits.push(mine);
    }
    Ok(Diagnosis { transition, states, pending, ways, exits, complete })
}

fn pending_tasks(model: &KlpSystem, states: &[State]) -> Vec<Pending> {
    let spec = &*model.spec;
    let mut out = Vec::new();
    for pid in 0..spec.tasks.len() {
        let mut n = 0;
        let mut where_: Vec<String> = Vec::new();
        for st in states.iter().filter(|s| s.klp_transition_patch.is_some() && s.tasks[pid].tif_patch_pending) {
            n += 1;
            let t = &st.tasks[pid];
            let frames: Vec<String> =
                t.stack.iter().map(|f| crate::view::frame_name(spec, f.func, f.version)).collect();
            let mut w = crate::view::context(t.context).to_string();
            if !frames.is_empty() {
                w = format!("{w} in {}", frames.join(" > "));
            }
            let mut log = Dmesg::default();
            if task_curr(spec, st, pid as u8) {
                w = format!("{w} (a pass says: is running)");
            } else if !klp_check_stack(spec, st, pid as u8, &mut log) {
                if let Some(l) = log.0.first() {
                    let said = l.split_once(" is ").map_or(l.as_str(), |(_, r)| r);
                    w = format!("{w} (a pass says: is {said})");
                }
            }
            if !where_.contains(&w) {
                where_.push(w);
            }
        }
        if n > 0 {
            out.push(Pending { task: spec.task_comm_pid(pid as u8), states: n, where_ });
        }
    }
    out
}

fn ways(model: &KlpSystem, states: &[State]) -> Vec<Way> {
    let spec = &*model.spec;
    let op_line = |op: AdminOp| klp_model::dmesg::command_line(spec, &op_spec(op));
    let mut out = vec![
        Way {
            name: "wait".into(),
            what: "no command and no signal: the transition work retries, tasks switch on their way to user mode \
                   or in the idle loop"
                .into(),
            op: None,
            signals: Some(false),
        },
        Way {
            name: "signal".into(),
            what: "klp_send_signals() (fake signal / wake_up_state() of the tasks with TIF_PATCH_PENDING)".into(),
            op: None,
            signals: Some(true),
        },
    ];
    if let Some(p) = states.iter().find_map(|s| s.klp_transition_patch) {
        let enabled = states.iter().any(|s| s.patches[p as usize].enabled);
        let rev = if enabled { AdminOp::Disable(p) } else { AdminOp::Enable(p) };
        out.push(Way { name: "reversal".into(), what: op_line(rev), op: Some(rev), signals: None });
        for (m, ms) in spec.modules.iter().enumerate() {
            if states.iter().any(|s| s.mods[m].state == ModState::Live) {
                let op = AdminOp::RmmodModule(m as u8);
                out.push(Way { name: format!("unload {}", ms.name), what: op_line(op), op: Some(op), signals: None });
            }
        }
        let force = AdminOp::Force(p);
        out.push(Way { name: "force".into(), what: op_line(force), op: Some(force), signals: None });
    }
    out
}

fn op_spec(op: AdminOp) -> OpSpec {
    OpSpec { op, max: 1, wait: false, args: String::new(), pre_patch_ret: None, text: String::new() }
}

/// The scenario with the script spent and only `op` left to the admin (once, any order).
fn way_model(model: &KlpSystem, op: Option<AdminOp>) -> KlpSystem {
    let mut spec = (*model.spec).clone();
    for o in &mut spec.admin.ops {
        o.max = 0;
    }
    spec.admin.ops.extend(op.map(op_spec));
    spec.admin.order = AdminOrder::Any;
    KlpSystem::new(spec, Vec::new)
}

/// The shortest path from `st` along `way` to a state with no transition, in kernel terms; the
/// bool says whether the search was complete when nothing was found.
fn way_out(model: &KlpSystem, st: &State, way: &Way, max: usize) -> (Option<Vec<String>>, bool) {
    let m = way_model(model, way.op);
    let mut start = st.clone();
    start.admin = AdminProgress(std::iter::repeat_n(0, m.spec.admin.ops.len()).collect());
    let must_signal = way.signals == Some(true);
    type Key = (State, bool, bool);
    let key0: Key = (start.clone(), start.klp_signals_sent.0, false);
    let mut parent: HashMap<Key, Option<(Key, Action)>> = HashMap::from([(key0.clone(), None)]);
    let mut queue = VecDeque::from([key0]);
    let mut enabled = Vec::new();
    let mut seen_states = HashSet::new();
    while let Some(k) = queue.pop_front() {
        let (s, _, signalled) = &k;
        if s.klp_transition_patch.is_none() && (!must_signal || *signalled) {
            let mut steps = Vec::new();
            let mut cur = k.clone();
            while let Some(Some((p, a))) = parent.get(&cur) {
                steps.push(m.describe_step(&p.0, a, &cur.0));
                cur = p.clone();
            }
            steps.reverse();
            return (Some(steps), true);
        }
        if s.klp_transition_patch.is_none() {
            continue;
        }
        seen_states.insert(s.clone());
        enabled.clear();
        m.actions(s, &mut enabled);
        for &a in &enabled {
            if a == Action::KlpSendSignals && way.signals == Some(false) {
                continue;
            }
            let Some(n) = m.next_state(s, a) else { continue };
            let bit = n.klp_signals_sent.0;
            let nk: Key = (n, bit, *signalled || a == Action::KlpSendSignals);
            if parent.contains_key(&nk) {
                continue;
            }
            if parent.len() >= max {
                return (None, false);
            }
            parent.insert(nk.clone(), Some((k.clone(), a)));
            queue.push_back(nk);
        }
    }
    (None, true)
}

/// The report of a diagnosis; `shown` states are listed one by one.
pub fn report(model: &KlpSystem, log: &LogFile, d: &Diagnosis, shown: usize) -> String {
    let mut out = String::new();
    let n = d.states.len();
    let plural = |k: usize| if k == 1 { "" } else { "s" };
    match &d.transition {
        Some(t) => {
            let _ = writeln!(out, "{} ends inside {t}: {n} model state{} consistent with it", log.file, plural(n));
        }
        None => {
            let _ = writeln!(
                out,
                "{} does not end inside a transition ({n} consistent model state{}): nothing is stuck",
                log.file,
                plural(n)
            );
        }
    }
    if !d.pending.is_empty() {
        let _ = writeln!(out, "tasks that can still have TIF_PATCH_PENDING:");
        for p in &d.pending {
            let _ = writeln!(out, "  {} (in {} of {n} states):", p.task, p.states);
            for w in &p.where_ {
                let _ = writeln!(out, "    {w}");
            }
        }
    }
    if d.transition.is_some() {
        let _ = writeln!(out, "ways out (a command the admin may run now, or none):");
        for (w, way) in d.ways.iter().enumerate() {
            let from: Vec<&Exit> = d.exits.iter().filter_map(|e| e.iter().find(|x| x.way == w)).collect();
            let shortest = from.iter().map(|x| x.steps.len()).min();
            let verdict = match shortest {
                Some(k) => format!("ends it from {} of {n} states (shortest: {})", from.len(), crate::steps(k)),
                None => "ends it from no state".to_string(),
            };
            let _ = writeln!(out, "  {}: {verdict}: {}", way.name, way.what);
        }
    }
    for (i, st) in d.states.iter().enumerate().take(shown) {
        let _ = writeln!(out, "state {}:", i + 1);
        for l in summary(model, st).lines() {
            let _ = writeln!(out, "  {l}");
        }
        if d.transition.is_none() {
            continue;
        }
        if let Some(best) = d.exits[i].iter().min_by_key(|x| x.steps.len()) {
            let each: Vec<String> =
                d.exits[i].iter().map(|x| format!("{} {}", d.ways[x.way].name, x.steps.len())).collect();
            let _ = writeln!(out, "  ways out (steps): {}", each.join(", "));
            let _ = writeln!(out, "  shortest way out: {} ({})", d.ways[best.way].name, crate::steps(best.steps.len()));
            for (k, s) in best.steps.iter().enumerate() {
                let _ = writeln!(out, "    {}. {s}", k + 1);
            }
        } else {
            let _ = writeln!(out, "  no way out");
        }
    }
    if n > shown {
        let _ = writeln!(out, "({} more states not listed; --show N)", n - shown);
    }
    if !d.complete {
        let _ =
            writeln!(out, "incomplete: a search limit was hit; a way reported as ending it from no state may still");
    }
    out
}
