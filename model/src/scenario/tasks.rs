//! A scenario's `[[tasks]]`: copies (`count`) and fork children expanded into task slots.

use super::raw::RawTask;
use super::{Ctx, FuncRef, ScenarioError, MAX_TASKS};
use crate::spec::*;
use std::collections::BTreeMap;

/// Tasks: threads first (the order of the task list), then idle tasks; `count` copies and
/// `forks` child slots expanded.
pub(super) fn resolve_tasks(ctx: &Ctx, raw: &[RawTask], func_ref: &FuncRef) -> Result<Vec<TaskSpec>, ScenarioError> {
    let mut tasks = Vec::new();
    let mut idle = Vec::new();
    let mut comms: BTreeMap<String, ()> = BTreeMap::new();
    for (n, t) in raw.iter().enumerate() {
        let count = *t.count.get_ref() as usize;
        if count == 0 || count > MAX_TASKS {
            return Err(ctx.err(
                t.count.span(),
                "tasks.count",
                format!("count {count} must be 1..={MAX_TASKS}"),
                Some("identical copies of this task; the model allows 16 tasks in all"),
            ));
        }
        let forks = *t.forks.get_ref() as usize;
        if forks > 0 && t.kind != crate::task::TaskKind::User {
            return Err(ctx.err(
                t.forks.span(),
                "tasks.forks",
                "only user tasks fork in this model".into(),
                Some("remove forks, or set kind = \"user\""),
            ));
        }
        let total = tasks.len() + idle.len() + count * (1 + forks.min(MAX_TASKS));
        if forks > MAX_TASKS || total > MAX_TASKS {
            // A defaulted count or forks has no span: point at the task's comm then.
            let span = match (forks > 0, t.count.span().is_empty()) {
                (true, _) => t.forks.span(),
                (false, false) => t.count.span(),
                (false, true) => t.comm.span(),
            };
            return Err(ctx.err(
                span,
                if forks > 0 { "tasks.forks" } else { "tasks.count" },
                format!("{total} tasks or more (after count and forks); at most {MAX_TASKS}"),
                Some("the model allows 16 tasks in all, and each one multiplies the state space: use fewer"),
            ));
        }
        let online = match &t.online {
            Some(o) if t.kind != crate::task::TaskKind::Idle => {
                return Err(ctx.err(
                    o.span(),
                    "tasks.online",
                    "only an idle task's CPU can be offline".into(),
                    Some("remove online, or set kind = \"idle\" (the idle task of that CPU)"),
                ))
            }
            Some(o) => *o.get_ref(),
            None => true,
        };
        let entry = t.entry.iter().map(|e| func_ref(e, "tasks.entry")).collect::<Result<Vec<_>, _>>()?;
        let main_loop = main_loop(ctx, t)?;
        for i in 0..count {
            let comm = if count > 1 { format!("{}-{i}", t.comm.get_ref()) } else { t.comm.get_ref().clone() };
            let list = if t.kind == crate::task::TaskKind::Idle { &mut idle } else { &mut tasks };
            let parent = list.len();
            let children: Vec<String> = (0..forks).map(|c| format!("{comm}.child{c}")).collect();
            for c in std::iter::once(&comm).chain(&children) {
                if comms.insert(c.to_string(), ()).is_some() {
                    return Err(ctx.err(
                        t.comm.span(),
                        "tasks.comm",
                        format!("duplicate task comm '{c}'"),
                        Some("give each [[tasks]] its own comm (count = N names copies comm-0 .. comm-N-1)"),
                    ));
                }
            }
            let copy_of = (count > 1).then_some(n as u16);
            list.push(TaskSpec { comm, kind: t.kind, entry: entry.clone(), parent: None, online, main_loop, copy_of });
            for c in children {
                list.push(TaskSpec {
                    comm: c,
                    kind: t.kind,
                    entry: entry.clone(),
                    parent: Some(parent as Pid),
                    online,
                    main_loop,
                    copy_of: None,
                });
            }
        }
    }
    let nthreads = tasks.len();
    for t in &mut idle {
        t.parent = t.parent.map(|p| p + nthreads as Pid);
    }
    tasks.extend(idle);
    Ok(tasks)
}

/// A kthread's `sleeps`, `freezable` and `cond_resched` (its main loop); an error for any other
/// kind of task, whose main loop is user space (user) or `do_idle()` (idle).
fn main_loop(ctx: &Ctx, t: &RawTask) -> Result<MainLoop, ScenarioError> {
    let kthread = t.kind == crate::task::TaskKind::Kthread;
    let refuse = |span: std::ops::Range<usize>, field: &str| {
        ctx.err(
            span,
            field,
            format!("only a kthread's main loop has `{}`", field.trim_start_matches("tasks.")),
            Some("set kind = \"kthread\", or put the sleep or cond_resched() point on a [[functions]] entry"),
        )
    };
    let mut m = MainLoop::default();
    if let Some(s) = &t.sleeps {
        if !kthread {
            return Err(refuse(s.span(), "tasks.sleeps"));
        }
        m.sleeps = *s.get_ref();
    }
    if let Some(f) = &t.freezable {
        if !kthread {
            return Err(refuse(f.span(), "tasks.freezable"));
        }
        if *f.get_ref() && m.sleeps == Sleeps::Never {
            return Err(ctx.err(
                f.span(),
                "tasks.freezable",
                format!("task '{}' is freezable but its main loop never sleeps", t.comm.get_ref()),
                Some("TASK_FREEZABLE marks a sleep: drop `freezable` or `sleeps = \"never\"`"),
            ));
        }
        m.freezable = *f.get_ref();
    }
    if let Some(c) = &t.cond_resched {
        if !kthread {
            return Err(refuse(c.span(), "tasks.cond_resched"));
        }
        m.cond_resched = *c.get_ref();
    }
    Ok(m)
}
