//! The evidence of a violation, derived from the final state without knowing which property
//! was broken: a task whose stack no single patch level explains (the consistency model's
//! "mixed universe"), with its frames, the versions each patch level would give, and what its
//! next call runs; otherwise the task the last step acted on, or no task at all. Liveness and
//! possibility counterexamples get theirs from [`crate::explain`] ([`live`]): the task the
//! transition waits for and why.

use crate::view::{frame_name, version_tag};
use klp_model::kernel::livepatch::patch::version_for;
use klp_model::task::PatchState;
use klp_model::{Action, KlpSystem, State};
use serde::{Deserialize, Serialize};

/// Why the last state breaks the property, in the reader's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// One sentence.
    pub summary: String,
    /// The step (1-based) after which the property is broken: the last one (for a lasso, the
    /// last step of the cycle: the violation is the cycle, not that step).
    pub step: usize,
    /// The task involved (`comm`), if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Its stack, outermost first, each frame with the version it runs (`vfs_read@orig`).
    #[serde(default)]
    pub frames: Vec<String>,
    /// Per frame: the version each patch level gives its function now
    /// (`vfs_read@orig: unpatched level vfs_read@lp1, patched level vfs_read@lp1`).
    #[serde(default)]
    pub versions: Vec<String>,
    /// What the innermost frame's next call of a patched function runs
    /// (`vfs_read@orig > cmdline_proc_show@lp1`).
    #[serde(default)]
    pub next_calls: Vec<String>,
}

/// The evidence in `st`, the state after `steps` steps, the last of which was `last`.
pub fn derive(model: &KlpSystem, st: &State, property: &str, steps: usize, last: Option<&Action>) -> Evidence {
    let spec = &*model.spec;
    let mixed = (0..st.tasks.len()).find(|&p| !klp_properties::consistency::runs_one_patch_level(model, st, p));
    let pid = mixed.or_else(|| last.and_then(Action::task).map(usize::from));
    let Some(pid) = pid else {
        return Evidence {
            summary: format!("after step {steps}, '{property}' no longer holds"),
            step: steps,
            ..Evidence::default()
        };
    };
    let t = &st.tasks[pid];
    let comm = spec.tasks[pid].comm.clone();
    let frames: Vec<String> = t.stack.iter().map(|fr| frame_name(spec, fr.func, fr.version)).collect();
    let versions = t
        .stack
        .iter()
        .map(|fr| {
            let level = |ps| frame_name(spec, fr.func, version_for(spec, st, fr.func, ps));
            format!(
                "{}: unpatched level {}, patched level {}",
                frame_name(spec, fr.func, fr.version),
                level(PatchState::Unpatched),
                level(PatchState::Patched)
            )
        })
        .collect();
    let mut next_calls = Vec::new();
    if let Some(top) = t.stack.last() {
        for &c in spec.funcs[top.func as usize].calls_of(top.version) {
            if spec.is_patchable(c) {
                let v = version_for(spec, st, c, t.patch_state);
                next_calls.push(format!("{} > {}", frame_name(spec, top.func, top.version), frame_name(spec, c, v)));
            }
        }
    }
    let summary = match mixed {
        Some(_) => {
            let old: Vec<String> = t
                .stack
                .iter()
                .filter(|fr| {
                    [PatchState::Unpatched, PatchState::Patched]
                        .iter()
                        .all(|&ps| version_for(spec, st, fr.func, ps) != fr.version)
                })
                .map(|fr| {
                    format!(
                        "{} (every task now gets @{})",
                        frame_name(spec, fr.func, fr.version),
                        version_tag(spec, version_for(spec, st, fr.func, t.patch_state))
                    )
                })
                .collect();
            let mut s = format!("{comm} runs a mixed set of functions: no patch level explains its stack");
            if !old.is_empty() {
                s.push_str(&format!("; stale frame {}", old.join(", ")));
            }
            if let Some(c) = next_calls.first() {
                s.push_str(&format!("; its next call: {c}"));
            }
            s
        }
        None => format!("after step {steps} ({comm}), '{property}' no longer holds"),
    };
    Evidence { summary, step: steps, task: Some(comm), frames, versions, next_calls }
}

/// The evidence of a liveness (`cycle`: the states of the lasso's cycle and its steps) or
/// possibility/deadlock counterexample (`cycle` is `None`; `st` is the dead end), or `None`
/// when [`crate::explain`] finds nothing to say (no transition stays in progress on the cycle).
pub fn live(
    model: &KlpSystem,
    st: &State,
    property: &str,
    steps: usize,
    cycle: Option<(&[State], &[Action])>,
) -> Option<Evidence> {
    let spec = &*model.spec;
    let (summary, stuck) = match cycle {
        Some((states, actions)) => crate::explain::lasso(model, states, actions)?,
        None => crate::explain::dead_end(model, st, property, steps),
    };
    let first = stuck.first().map(|k| k.pid);
    let frames = first
        .map(|t| st.tasks[t].stack.iter().map(|fr| frame_name(spec, fr.func, fr.version)).collect())
        .unwrap_or_default();
    Some(Evidence {
        summary,
        step: steps,
        task: first.map(|t| spec.tasks[t].comm.clone()),
        frames,
        versions: Vec::new(),
        next_calls: Vec::new(),
    })
}
