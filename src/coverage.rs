//! Coverage (TLC's `-coverage`): how many times each action kind, kernel entry point, scenario
//! function version and admin command fired in a run, and which parts of the scenario never
//! did (a dead part: a function nothing calls, a command that can never run, an entry point
//! whose function is never callable). `check --coverage` counts during exploration (klp-checker's
//! `Bfs::coverage`: over generated transitions, and over those that found a new state);
//! `simulate --coverage` counts the steps its walks took.
//!
//! The counters are one flat slice, laid out from the spec alone (so that the counting
//! function is a plain `fn` the engine can call on every transition): the action kinds, then
//! each task's entry points, then a (function, version) grid, then the admin commands.

use klp_model::ids::{FuncId, Pid, Version};
use klp_model::task::TaskKind;
use klp_model::{Action, KlpSystem, Spec, State};
use serde_json::{json, Value};

/// Every action kind, by its name in traces (`Action`'s serde names), in [`kind_index`] order.
pub const KINDS: [&str; 33] = [
    "admin",
    "klp_module_coming",
    "module_init",
    "klp_module_going",
    "module_exit",
    "module_free",
    "klp_transition_work",
    "klp_try_switch_task",
    "klp_free_patch_work",
    "klp_send_signals",
    "syscall",
    "call",
    "return",
    "schedule",
    "wake",
    "exit_to_user_mode",
    "do_idle",
    "fork",
    "ret_from_fork",
    "klp_copy_process",
    "klp_ftrace_handler_finish",
    "klp_complete_transition_part",
    "klp_self_switch_continue",
    "klp_reverse_transition_continue",
    "klp_disable_patch_continue",
    "stores_visible",
    "klp_idle_cpu_offline",
    "klp_switch_offline_idle",
    "preempt",
    "resume",
    "cond_resched",
    "klp_switch_task_store",
    "klp_nop_loop",
];

/// The counter of an action's kind (an exhaustive match: a new action kind does not compile
/// until it is given a counter; the test checks [`KINDS`] against the trace names).
pub fn kind_index(a: &Action) -> usize {
    match a {
        // Resolved by `count` to the step it takes; only a reduced model has it.
        Action::Admin(_) | Action::Renamed { .. } => 0,
        Action::KlpModuleComing(_) => 1,
        Action::ModuleInit(_) => 2,
        Action::KlpModuleGoing(_) => 3,
        Action::ModuleExit(_) => 4,
        Action::ModuleFree(_) => 5,
        Action::KlpTransitionWork => 6,
        Action::KlpTrySwitchTask(_) => 7,
        Action::KlpFreePatchWork(_) => 8,
        Action::KlpSendSignals => 9,
        Action::Syscall(..) => 10,
        Action::Call(..) => 11,
        Action::Return(_) => 12,
        Action::Schedule(_) => 13,
        Action::Wake(_) => 14,
        Action::ExitToUserMode(_) => 15,
        Action::DoIdle(_) => 16,
        Action::Fork(_) => 17,
        Action::RetFromFork(_) => 18,
        Action::KlpCopyProcess(_) => 19,
        Action::KlpFtraceHandlerFinish(_) => 20,
        Action::KlpCompleteTransitionPart => 21,
        Action::KlpSelfSwitchContinue(_) => 22,
        Action::KlpReverseTransitionContinue => 23,
        Action::KlpDisablePatchContinue => 24,
        Action::StoresVisible => 25,
        Action::KlpIdleCpuOffline(_) => 26,
        Action::KlpSwitchOfflineIdle(_) => 27,
        Action::Preempt(_) => 28,
        Action::Resume(_) => 29,
        Action::CondResched(_) => 30,
        Action::KlpSwitchTaskStore(_) => 31,
        Action::KlpNopLoop(_) => 32,
    }
}

const NKINDS: usize = KINDS.len();

/// Where each group of counters starts.
struct Layout {
    entries: usize,
    versions: usize,
    ops: usize,
    len: usize,
}

fn layout(s: &Spec) -> Layout {
    let entries = NKINDS;
    let versions = entries + s.tasks.iter().map(|t| t.entry.len()).sum::<usize>();
    let ops = versions + s.funcs.len() * (s.patches.len() + 1);
    Layout { entries, versions, ops, len: ops + s.admin.ops.len() }
}

/// How many counters a scenario's coverage has (`Bfs::coverage`'s `counters`).
pub fn counters(s: &Spec) -> usize {
    layout(s).len
}

/// A task's entry into the kernel the scenario lists: a user task's syscall, or a kthread's or
/// idle task's main-loop call (a call from no frame). Its counter, if `a` is one.
fn entry_counter(s: &Spec, st: &State, a: &Action) -> Option<usize> {
    let (pid, f) = match *a {
        Action::Syscall(p, f) => (p, f),
        Action::Call(p, f) if st.tasks[p as usize].stack.is_empty() => (p, f),
        _ => return None,
    };
    let before: usize = s.tasks[..pid as usize].iter().map(|t| t.entry.len()).sum();
    let k = s.tasks[pid as usize].entry.iter().position(|&e| e == f)?;
    Some(layout(s).entries + before + k)
}

/// Counts one step (the engine's `CoverageFn`): its kind, the entry point it enters, the
/// function version it runs (a call whose frame landed: the version `klp_ftrace_handler()`
/// chose), the admin command it runs.
pub fn count(m: &KlpSystem, st: &State, a: &Action, next: &State, c: &mut [u64]) {
    // A reduced model's renamed step of the pass counts as the step it takes.
    if let Some((r, inner)) = m.resolve_renamed(st, *a) {
        return count(m, &r, &inner, next, c);
    }
    let s = &*m.spec;
    c[kind_index(a)] += 1;
    if let Some(i) = entry_counter(s, st, a) {
        c[i] += 1;
    }
    match *a {
        Action::Admin(i) => c[layout(s).ops + i as usize] += 1,
        Action::Syscall(p, _) | Action::Call(p, _) | Action::KlpFtraceHandlerFinish(p) => {
            let (b, n) = (&st.tasks[p as usize].stack, &next.tasks[p as usize].stack);
            if let (true, Some(top)) = (n.len() > b.len(), n.last()) {
                let l = layout(s);
                c[l.versions + top.func as usize * (s.patches.len() + 1) + top.version.0 as usize] += 1;
            }
        }
        _ => {}
    }
}

/// One row of a coverage report.
pub struct Row {
    pub group: &'static str,
    pub name: String,
    pub counts: Vec<u64>,
}

/// The rows of a report: every action kind that fired (and, for [`never_fired_kinds`], those
/// that did not), every entry point, every function version some patch (or the original) has,
/// every admin command. `columns` are the count slices (check: generated and distinct;
/// simulate: steps).
pub fn rows(s: &Spec, columns: &[&[u64]]) -> Vec<Row> {
    let l = layout(s);
    let at = |i: usize| columns.iter().map(|c| c[i]).collect::<Vec<u64>>();
    let mut rows = Vec::new();
    for (k, name) in KINDS[..NKINDS].iter().enumerate() {
        if columns[0][k] > 0 {
            rows.push(Row { group: "action kind", name: name.to_string(), counts: at(k) });
        }
    }
    let mut i = l.entries;
    for (pid, t) in s.tasks.iter().enumerate() {
        for &f in &t.entry {
            rows.push(Row { group: "entry point", name: entry_name(s, pid as Pid, f), counts: at(i) });
            i += 1;
        }
    }
    for (f, func) in s.funcs.iter().enumerate() {
        for v in versions(s, f as FuncId) {
            let version = match v.patch() {
                None => "original".to_string(),
                Some(p) => s.patches[p as usize].name.clone(),
            };
            let i = l.versions + f * (s.patches.len() + 1) + v.0 as usize;
            rows.push(Row { group: "function", name: format!("{}() {version}", func.name), counts: at(i) });
        }
    }
    for (k, op) in s.admin.ops.iter().enumerate() {
        let name = format!("#{} {}", k + 1, klp_model::dmesg::command_line(s, op));
        rows.push(Row { group: "admin command", name, counts: at(l.ops + k) });
    }
    rows
}

/// The action kinds that never fired (most exist only under some design variants or scenario
/// features, so they are listed, not warned about).
pub fn never_fired_kinds(first: &[u64]) -> Vec<&'static str> {
    KINDS[..NKINDS].iter().enumerate().filter(|&(k, _)| first[k] == 0).map(|(_, n)| *n).collect()
}

fn entry_name(s: &Spec, pid: Pid, f: FuncId) -> String {
    let how = if s.tasks[pid as usize].kind == TaskKind::User { "syscall" } else { "main loop" };
    format!("{}: {how} -> {}()", s.task_name(pid), s.funcs[f as usize].name)
}

/// The versions a function can run: the original, and each patch's new function for it (a
/// nop runs the original).
fn versions(s: &Spec, f: FuncId) -> Vec<Version> {
    let mut v = vec![Version::ORIGINAL];
    for k in s.klp_funcs.iter().filter(|k| k.old_func == f && !k.nop) {
        let p = Version::of_patch(k.patch);
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

/// Prints the coverage table (`headers` name the count columns) and, on stderr, one warning per
/// scenario part that never fired.
pub fn print(s: &Spec, what: &str, headers: &[&str], columns: &[&[u64]]) {
    println!("coverage ({what}):");
    let head: String = headers.iter().map(|h| format!(" {h:>12}")).collect();
    println!("  {:<14} {:<56}{head}", "", "");
    for r in rows(s, columns) {
        let counts: String = r.counts.iter().map(|c| format!(" {c:>12}")).collect();
        println!("  {:<14} {:<56}{counts}", r.group, r.name);
    }
    let never = never_fired_kinds(columns[0]);
    if !never.is_empty() {
        println!("  action kinds that never fired (most exist only under some variants): {}", never.join(", "));
    }
    for w in warnings(s, columns[0]) {
        eprintln!("klpcheck: warning: {w}");
    }
}

/// One line per scenario part (entry point, function version, admin command) that never fired.
pub fn warnings(s: &Spec, first: &[u64]) -> Vec<String> {
    rows(s, &[first])
        .into_iter()
        .filter(|r| r.group != "action kind" && r.counts[0] == 0)
        .map(|r| format!("dead scenario part? {} never fired: {}", r.group, r.name))
        .collect()
}

/// The coverage as `--json` reports it: `counted` says what the numbers count, `columns` names
/// the count fields of each row.
pub fn json(s: &Spec, counted: &str, names: &[&str], columns: &[&[u64]]) -> Value {
    let rows: Vec<Value> = rows(s, columns)
        .into_iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            o.insert("group".into(), json!(r.group));
            o.insert("name".into(), json!(r.name));
            for (n, c) in names.iter().zip(&r.counts) {
                o.insert(n.to_string(), json!(c));
            }
            Value::Object(o)
        })
        .collect();
    json!({
        "counted": counted,
        "rows": rows,
        "never_fired_kinds": never_fired_kinds(columns[0]),
        "warnings": warnings(s, columns[0]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`KINDS`] are the names traces use for the kinds [`kind_index`] numbers.
    #[test]
    fn kind_names_are_the_trace_names() {
        use Action::*;
        let one_of_each = [
            Admin(0),
            KlpModuleComing(0),
            ModuleInit(0),
            KlpModuleGoing(0),
            ModuleExit(0),
            ModuleFree(0),
            KlpTransitionWork,
            KlpTrySwitchTask(0),
            KlpFreePatchWork(0),
            KlpSendSignals,
            Syscall(0, 0),
            Call(0, 0),
            Return(0),
            Schedule(0),
            Wake(0),
            ExitToUserMode(0),
            DoIdle(0),
            Fork(0),
            RetFromFork(0),
            KlpCopyProcess(0),
            KlpFtraceHandlerFinish(0),
            KlpCompleteTransitionPart,
            KlpSelfSwitchContinue(0),
            KlpReverseTransitionContinue,
            KlpDisablePatchContinue,
            StoresVisible,
            KlpIdleCpuOffline(0),
            KlpSwitchOfflineIdle(0),
            Preempt(0),
            Resume(0),
            CondResched(0),
            KlpSwitchTaskStore(0),
            KlpNopLoop(0),
        ];
        assert_eq!(one_of_each.len(), NKINDS);
        for (k, a) in one_of_each.iter().enumerate() {
            let v = serde_json::to_value(a).unwrap();
            let name =
                v.as_str().map(str::to_string).unwrap_or_else(|| v.as_object().unwrap().keys().next().unwrap().clone());
            assert_eq!((kind_index(a), KINDS[kind_index(a)]), (k, name.as_str()));
        }
    }
}
