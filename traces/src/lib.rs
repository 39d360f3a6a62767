//! Counterexample and witness traces: one [`Trace`] type, written as JSON (schema in
//! traces/README.md), re-executed by [`replay`], and rendered three more ways from the JSON
//! alone: a step list ([`render_steps`]), a timeline ([`timeline::render`]), a dmesg-style
//! transcript ([`transcript::render`]), and an SVG sequence picture ([`svg::render`]).

pub mod describe;
pub mod evidence;
pub mod explain;
pub mod naming;
pub mod script;
pub mod svg;
pub mod timeline;
pub mod transcript;
pub mod validate;
pub mod view;

pub use evidence::Evidence;
use klp_model::log::Dmesg;
use klp_model::{Action, KlpSystem, State};
use serde::{Deserialize, Serialize};
use stateright::Model;
use std::path::Path;
use view::{Change, View};

/// Version of the JSON schema; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    pub schema: u32,
    pub tool: String,
    /// Scenario name and the path it was loaded from (relative to the source tree for
    /// shipped scenarios).
    pub scenario: String,
    pub scenario_path: String,
    /// Every knob.
    pub variant: klp_model::Variant,
    /// "upstream", "scenario", a preset name or "custom" (the CLI's `target::label`).
    pub variant_name: String,
    pub property: String,
    /// "violated" (an `always` counterexample) or "witness" (a `sometimes` example).
    pub verdict: String,
    pub stats: Stats,
    /// The command that found this trace.
    pub found_by: String,
    /// The state before the first step.
    pub initial: View,
    pub steps: Vec<Step>,
    /// Liveness counterexamples (lassos): index in `steps` of the first step of the cycle that
    /// repeats forever (the state after the last step is the state before
    /// `steps[cycle_start]`); `steps.len()` when the last state stutters forever (no fair step
    /// is enabled). Absent for safety counterexamples, witnesses and possibility violations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_start: Option<usize>,
    /// Why the last state breaks the property (violations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Evidence>,
    /// The command that replays this trace.
    pub replay: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    pub unique_states: u64,
    pub max_depth: u64,
    pub complete: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// 1-based.
    pub i: usize,
    pub action: Action,
    /// The action in kernel vocabulary, with the kernel functions it ran that its name hides
    /// (`KlpSystem::describe_step`).
    pub text: String,
    /// Who acts: "admin" (a command), "kernel" (transition work, module loader, free work) or
    /// the task's `comm`.
    pub actor: String,
    /// The task the step concerns (the actor, or the task `klp_try_switch_task()` tries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// What the step changed.
    pub changes: Vec<Change>,
    /// The kernel messages it produced.
    pub dmesg: Vec<String>,
}

/// What the caller knows about a trace besides its actions.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub scenario_path: String,
    pub variant_name: String,
    pub property: String,
    pub verdict: String,
    pub stats: Stats,
    pub found_by: String,
    pub replay: String,
    pub cycle_start: Option<usize>,
}

/// The actor of a step ("admin", "kernel" or a task's comm).
pub fn actor(model: &KlpSystem, a: &Action) -> String {
    match a {
        Action::Admin(_) => "admin".into(),
        Action::KlpTrySwitchTask(_) => "kernel".into(),
        _ => match a.task() {
            Some(p) => model.spec.tasks[p as usize].comm.clone(),
            None => "kernel".into(),
        },
    }
}

/// Records a trace by executing `actions` from the initial state. Fails with the (0-based)
/// index of the first action the model does not enable.
pub fn record(model: &KlpSystem, meta: Meta, actions: &[Action]) -> Result<Trace, usize> {
    let mut st = model.init_state();
    let initial = view::snapshot(model, &st);
    let mut before = initial.clone();
    let mut steps = Vec::new();
    let mut states = vec![st.clone()];
    for (i, &a) in actions.iter().enumerate() {
        let (next, log) = apply(model, &st, a).ok_or(i)?;
        let after = view::snapshot(model, &next);
        steps.push(Step {
            i: i + 1,
            action: a,
            text: model.describe_step(&st, &a, &next),
            actor: actor(model, &a),
            task: a.task().map(|p| model.spec.tasks[p as usize].comm.clone()),
            changes: after.changes_from(&before),
            dmesg: log.0,
        });
        before = after;
        st = next;
        states.push(st.clone());
    }
    let violation = (meta.verdict == "violated").then(|| {
        let n = actions.len();
        let live = klp_properties::liveness::docs().iter().any(|d| d.name == meta.property);
        let cycle = meta.cycle_start.filter(|&c| c <= n).map(|c| (&states[c..], &actions[c..]));
        let explained =
            if live || cycle.is_some() { evidence::live(model, &st, &meta.property, n, cycle) } else { None };
        explained.unwrap_or_else(|| evidence::derive(model, &st, &meta.property, n, actions.last()))
    });
    Ok(Trace {
        schema: SCHEMA_VERSION,
        tool: format!("klpcheck {}", env!("CARGO_PKG_VERSION")),
        scenario: model.spec.name.clone(),
        scenario_path: meta.scenario_path,
        variant: model.spec.variant.clone(),
        variant_name: meta.variant_name,
        property: meta.property,
        verdict: meta.verdict,
        stats: meta.stats,
        found_by: meta.found_by,
        initial,
        steps,
        cycle_start: meta.cycle_start,
        violation,
        replay: meta.replay,
    })
}

fn apply(model: &KlpSystem, st: &State, a: Action) -> Option<(State, Dmesg)> {
    let mut enabled = Vec::new();
    model.actions(st, &mut enabled);
    if !enabled.contains(&a) {
        return None;
    }
    let mut log = Dmesg::default();
    model.step(st, a, &mut log).map(|n| (n, log))
}

/// The outcome of re-executing a trace.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// Every step was enabled and did what the trace records, and the property's verdict was
    /// reproduced at the last state (and a lasso's cycle closes).
    Confirmed { steps: usize },
    /// Every step was enabled but the final state does not show the verdict (or the cycle
    /// does not close).
    NotReproduced { steps: usize },
    /// Step `step` (1-based) is not enabled in the model any more.
    Refused { step: usize, text: String },
    /// Step `step` is enabled but its effect differs from the record (`what` says how).
    Differs { step: usize, text: String, what: String },
}

/// The state after the trace's last step (`None` if a step is refused).
pub fn final_state(model: &KlpSystem, trace: &Trace) -> Option<State> {
    let mut st = model.init_state();
    for s in &trace.steps {
        st = apply(model, &st, s.action)?.0;
    }
    Some(st)
}

/// Re-executes the trace step by step, checking each step's changes and messages; the
/// property checks the final state.
pub fn replay(model: &KlpSystem, trace: &Trace) -> Replay {
    let mut st = model.init_state();
    let mut before = view::snapshot(model, &st);
    let mut states = vec![st.clone()];
    for s in &trace.steps {
        let Some((n, log)) = apply(model, &st, s.action) else {
            return Replay::Refused { step: s.i, text: s.text.clone() };
        };
        let after = view::snapshot(model, &n);
        let what = if log.0 != s.dmesg {
            Some(format!("the model logs {:?}, the trace {:?}", log.0, s.dmesg))
        } else if after.changes_from(&before) != s.changes {
            Some("the model changes the state differently".to_string())
        } else {
            None
        };
        if let Some(what) = what {
            return Replay::Differs { step: s.i, text: s.text.clone(), what };
        }
        before = after;
        st = n;
        states.push(st.clone());
    }
    // A lasso (liveness counterexample): the cycle must lead back to where it started. (Its
    // fairness is the checker's claim; replay checks the shape.)
    if let Some(c) = trace.cycle_start {
        let closes = c >= trace.steps.len() || states.get(c) == Some(&st);
        return if closes {
            Replay::Confirmed { steps: trace.steps.len() }
        } else {
            Replay::NotReproduced { steps: trace.steps.len() }
        };
    }
    let prop = model.properties().into_iter().find(|p| p.name == trace.property);
    let shown = match prop {
        None => false,
        Some(p) => {
            let holds = (p.condition)(model, &st);
            match trace.verdict.as_str() {
                "violated" => !holds,
                _ => holds,
            }
        }
    };
    if shown {
        Replay::Confirmed { steps: trace.steps.len() }
    } else {
        Replay::NotReproduced { steps: trace.steps.len() }
    }
}

/// The JSON text of a trace (pretty, newline at the end).
pub fn to_json(trace: &Trace) -> String {
    let mut s = serde_json::to_string_pretty(trace).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes a file atomically (temp file + rename), so an interrupted run never leaves a
/// half-written one.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// Writes the trace as pretty JSON atomically.
pub fn write_json(trace: &Trace, path: &Path) -> std::io::Result<()> {
    write_atomic(path, &to_json(trace))
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}: cannot read: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: not a klpcheck trace: {1}")]
    Json(String, serde_json::Error),
    #[error(
        "{0}: trace schema {1}, this klpcheck reads schema {SCHEMA_VERSION} only; re-create the trace with \
         `klpcheck check` (schema 1 traces lack the per-step state changes and the evidence)"
    )]
    Schema(String, u32),
    #[error("{0}: not a klpcheck trace: no \"schema\" number")]
    NoSchema(String),
    #[error("{0}: step {1} is numbered {2}: steps are numbered 1, 2, ... in order")]
    StepIndex(String, usize, usize),
}

pub fn read_json(path: &Path) -> Result<Trace, ReadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReadError::Io(name.clone(), e))?;
    parse_json(&name, &text)
}

/// Parses trace JSON; `name` is only used in error messages.
pub fn parse_json(name: &str, text: &str) -> Result<Trace, ReadError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| ReadError::Json(name.to_string(), e))?;
    let Some(schema) = v.get("schema").and_then(|s| s.as_u64()) else {
        return Err(ReadError::NoSchema(name.to_string()));
    };
    let schema = u32::try_from(schema).unwrap_or(u32::MAX);
    if schema != SCHEMA_VERSION {
        return Err(ReadError::Schema(name.to_string(), schema));
    }
    let trace: Trace = serde_json::from_value(v).map_err(|e| ReadError::Json(name.to_string(), e))?;
    if let Some((k, s)) = trace.steps.iter().enumerate().find(|(k, s)| s.i != k + 1) {
        return Err(ReadError::StepIndex(name.to_string(), k + 1, s.i));
    }
    Ok(trace)
}

/// "1 step", "4 steps".
pub fn steps(n: usize) -> String {
    format!("{n} step{}", if n == 1 { "" } else { "s" })
}

/// "counterexample for 'p' in scenario 's' (variant v, N steps)".
pub fn title(trace: &Trace) -> String {
    format!(
        "{} '{}' in scenario '{}' (variant {}, {})",
        if trace.verdict == "violated" { "counterexample for" } else { "witness for" },
        trace.property,
        trace.scenario,
        trace.variant_name,
        steps(trace.steps.len())
    )
}

/// The readable step list: one line per step, its dmesg lines indented below.
pub fn render_steps(trace: &Trace) -> String {
    let mut out = format!("{}:\n", title(trace));
    for s in &trace.steps {
        if trace.cycle_start == Some(s.i - 1) {
            out.push_str("      -- cycle: the steps from here on repeat forever --\n");
        }
        out.push_str(&format!("{:4}  {}\n", s.i, s.text));
        for l in s.dmesg.iter().filter(|l| **l != s.text) {
            out.push_str(&format!("        {l}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_1_is_refused_with_a_clear_error() {
        let e = parse_json("old.json", r#"{"schema": 1, "steps": []}"#).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("old.json: trace schema 1, this klpcheck reads schema 2 only"), "{msg}");
        assert!(matches!(parse_json("x.json", "{"), Err(ReadError::Json(..))));
    }
}

#[cfg(test)]
mod lasso_tests {
    use super::*;
    use klp_model::ids::FuncId;
    use stateright::Property;

    fn props() -> Vec<Property<KlpSystem>> {
        vec![Property::sometimes("in_transition", |_: &KlpSystem, st: &State| st.klp_transition_patch.is_some())]
    }

    fn model() -> KlpSystem {
        let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../model/scenarios/stack-check.toml"));
        KlpSystem::new(klp_model::scenario::parse("stack-check", "stack-check.toml", &src.unwrap()).unwrap(), props)
    }

    /// Upstream: cat sleeps in the old vfs_read(), so every pass of the transition work fails
    /// and the transition never completes: the last two steps repeat forever.
    fn lasso(cycle_start: usize) -> Trace {
        let vfs_read: FuncId = 0;
        let actions = [
            Action::Admin(0),
            Action::Syscall(0, vfs_read),
            Action::Schedule(0),
            Action::KlpTrySwitchTask(0),
            Action::KlpTransitionWork,
            Action::KlpTrySwitchTask(0),
        ];
        let meta = Meta {
            property: "in_transition".into(),
            verdict: "witness".into(),
            variant_name: "upstream".into(),
            found_by: "test".into(),
            replay: "klpcheck replay lasso.json".into(),
            cycle_start: Some(cycle_start),
            ..Meta::default()
        };
        record(&model(), meta, &actions).unwrap()
    }

    #[test]
    fn a_lasso_replays_only_if_its_cycle_closes_and_every_rendering_marks_it() {
        let t = lasso(4);
        assert_eq!(replay(&model(), &t), Replay::Confirmed { steps: 6 });
        assert_eq!(replay(&model(), &lasso(3)), Replay::NotReproduced { steps: 6 });
        let json = to_json(&t);
        assert!(json.contains("\"cycle_start\": 4"), "{json}");
        assert_eq!(parse_json("t", &json).unwrap(), t);
        let tl = timeline::render(&t);
        assert!(tl.contains("  ---- cycle: steps 5..6 repeat forever ----\n     5  klp_transition_work_fn()"), "{tl}");
        assert!(tl.contains("---- back to the state before step 5 ----"), "{tl}");
        let dm = transcript::render(&t);
        assert!(
            dm.contains("[   5] -- cycle: the steps from here on repeat forever\n[   5] -- klp_transition_work_fn()"),
            "{dm}"
        );
        assert!(svg::render(&t).contains(">cycle: repeats from here</text>"));
        assert!(render_steps(&t).contains("-- cycle: the steps from here on repeat forever --\n   5  klp_transition"));
        // A safety trace has no cycle_start field at all.
        let mut safe = t.clone();
        safe.cycle_start = None;
        assert!(!to_json(&safe).contains("cycle_start"));
    }

    /// [`lasso`] recorded as the counterexample of `transition_completes` it is.
    fn violated_lasso() -> Trace {
        let meta = Meta {
            property: "transition_completes".into(),
            verdict: "violated".into(),
            cycle_start: Some(4),
            ..Meta::default()
        };
        let actions: Vec<Action> = lasso(4).steps.iter().map(|s| s.action).collect();
        record(&model(), meta, &actions).unwrap()
    }

    type Box4 = (f64, f64, f64, f64);

    /// The boxes (x0, y0, x1, y1) of the SVG's `<rect>` frame chips (rx="4") and of the text
    /// `label` (12px monospace is at most 8 px a character, 11px at most 7; the box spans the
    /// font size above the baseline and 3 px below).
    fn boxes(svg: &str, label: &str) -> (Vec<Box4>, Box4) {
        let attr = |line: &str, a: &str| -> f64 {
            let i = line.find(&format!(" {a}=\"")).unwrap() + a.len() + 3;
            line[i..].split('"').next().unwrap().parse().unwrap()
        };
        let chips = svg
            .lines()
            .filter(|l| l.starts_with("<rect") && l.contains(r#"rx="4""#))
            .map(|l| {
                let (x, y) = (attr(l, "x"), attr(l, "y"));
                (x, y, x + attr(l, "width"), y + attr(l, "height"))
            })
            .collect();
        let l = svg.lines().find(|l| l.ends_with(&format!(">{label}</text>"))).unwrap();
        let (x, y, size) = (attr(l, "x"), attr(l, "y"), attr(l, "font-size"));
        (chips, (x, y - size, x + label.len() as f64 * 7.0, y + 3.0))
    }

    /// Issue 17: the SVG of a lasso marks its cycle, not its last step, as the violation, and
    /// the cycle's label overlaps no frame.
    #[test]
    fn the_svg_of_a_lasso_shades_the_cycle_and_its_label_overlaps_no_frame() {
        let svg = svg::render(&violated_lasso());
        let (chips, label) = boxes(&svg, "cycle: repeats from here");
        assert!(chips.len() > 4, "{svg}");
        for c in &chips {
            let apart = c.2 <= label.0 || label.2 <= c.0 || c.3 <= label.1 || label.3 <= c.1;
            assert!(apart, "the cycle label {label:?} overlaps the frame {c:?}");
        }
        // The two cycle steps are shaded as the cycle; no step is shaded as "the bug".
        assert_eq!(svg.matches(r##"fill="#efe7f6""##).count(), 2, "{svg}");
        assert!(!svg.contains("#fde0dc"), "{svg}");
        assert!(svg.contains(">!! 'transition_completes' violated: steps 5..6 repeat for ever</text>"), "{svg}");
        assert!(svg.contains(">cycle: back to the state before step 5</text>"), "{svg}");
    }

    /// Issue 17: a lasso's explanation names the task the transition waits for, where it
    /// sleeps and which check refuses it, read off the cycle's states.
    #[test]
    fn a_lasso_explains_which_task_the_transition_waits_for_and_why() {
        let v = violated_lasso().violation.unwrap();
        assert_eq!(
            v.summary,
            "the patching transition of lp1 never completes: the cycle repeats for ever; cat sleeps \
             interruptibly in vfs_read@orig; klp_check_stack() refuses it while patching"
        );
        assert_eq!((v.task.as_deref(), v.frames.as_slice()), (Some("cat"), &["vfs_read@orig".to_string()][..]));
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;
    use klp_model::ids::FuncId;

    /// lp1 patches `f`; `cat` enters `g`, whose sleep is freezable (so `__schedule()` calls
    /// `__klp_sched_try_switch()`, and no frame of `f` stops it); an idle CPU.
    const FREEZABLE: &str = r#"
[[functions]]
name = "f"
[[functions]]
name = "g"
sleeps = "interruptible"
freezable = true
[[tasks]]
comm = "cat"
entry = ["g"]
[[tasks]]
comm = "swapper/0"
kind = "idle"
[[patches]]
name = "lp1"
  [[patches.objects]]
  funcs = ["f"]
[admin]
order = "script"
ops = [{ op = "insmod", patch = "lp1" }]
"#;

    fn model() -> KlpSystem {
        KlpSystem::new(klp_model::scenario::parse("freezable", "freezable.toml", FREEZABLE).unwrap(), Vec::new)
    }

    fn texts(actions: &[Action]) -> Vec<String> {
        let meta = Meta { verdict: "witness".into(), ..Meta::default() };
        record(&model(), meta, actions).unwrap().steps.into_iter().map(|s| s.text).collect()
    }

    /// Issue 17: "cat: schedule()" silently switched the task, and the pass's last
    /// klp_try_switch_task() silently completed the transition. The labels now name both.
    #[test]
    fn step_labels_name_the_self_switch_and_the_completion() {
        let g: FuncId = 1;
        let t = texts(&[Action::Admin(0), Action::Syscall(0, g), Action::Schedule(0), Action::DoIdle(1)]);
        assert_eq!(
            t,
            [
                "% insmod test_modules/lp1.ko",
                "cat: syscall -> g()",
                "cat: schedule() -> __klp_sched_try_switch()",
                "swapper/0: do_idle() -> klp_update_patch_state()",
            ]
        );
        // The pass started by the insmod tries cat (in user mode: switched) last after the
        // idle task switched itself: that completes the transition.
        let t = texts(&[Action::Admin(0), Action::DoIdle(1), Action::KlpTrySwitchTask(0)]);
        assert_eq!(t[2], "klp_try_switch_task(cat) -> klp_complete_transition()");
        // A step that switches nothing keeps its plain name: schedule() with TIF clear.
        let t = texts(&[Action::Admin(0), Action::DoIdle(1), Action::KlpTrySwitchTask(0), Action::Syscall(0, g)]);
        let t2 = texts(&[
            Action::Admin(0),
            Action::DoIdle(1),
            Action::KlpTrySwitchTask(0),
            Action::Syscall(0, g),
            Action::Schedule(0),
        ]);
        assert_eq!(t.len() + 1, t2.len());
        assert_eq!(t2[4], "cat: schedule()");
    }
}
