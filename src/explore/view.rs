//! What the Explorer's page shows, as JSON: a path of steps through the model (its action
//! indices, as stateright encodes a path: the initial state's index first, then each step's
//! index among `Model::actions()` of the state before it), the state it ends in, the steps
//! that can follow, and the properties there. The page (ui/app.js) only lays this out.

use klp_model::log::Dmesg;
use klp_model::{palette, picture, Action, KlpSystem, State};
use serde::Serialize;
use stateright::{Expectation, Model};

/// One row of the path: the step's label and the path that ends with it.
#[derive(Serialize)]
pub struct Row {
    pub label: String,
    pub href: String,
}

/// A step that can follow the current state: its label and where it leads (`None`: the model
/// takes the action but refuses it in `next_state()`), with the kernel messages it prints.
#[derive(Serialize)]
pub struct Next {
    pub label: String,
    pub href: Option<String>,
    pub dmesg: Vec<String>,
}

/// A task in `Context::Sleeping`: where (the function version, with its palette class) and how.
#[derive(Serialize)]
pub struct Sleeper {
    pub task: String,
    pub place: String,
    pub class: Option<String>,
    pub kind: String,
}

/// A property's value in the current state.
#[derive(Serialize)]
pub struct Here {
    pub name: &'static str,
    pub holds: bool,
}

/// The page for one path.
#[derive(Serialize)]
pub struct StepView {
    pub path: Vec<Row>,
    pub svg: String,
    /// The kernel messages of the path's last step.
    pub dmesg: Vec<String>,
    pub sleepers: Vec<Sleeper>,
    pub actions: Vec<Next>,
    pub properties: Vec<Here>,
}

/// A property as the status panel lists it.
#[derive(Serialize)]
pub struct PropertyStatus {
    pub name: &'static str,
    pub expectation: &'static str,
    pub statement: &'static str,
    /// The path to the first state found where an `always` property fails or a `sometimes`
    /// property holds (by stateright's on-demand checker, once it ran).
    pub discovery: Option<String>,
}

/// One version's colour, for the legend.
#[derive(Serialize)]
pub struct Chip {
    pub label: String,
    pub class: String,
}

/// The label of the initial state: the kernel as the scenario boots it, by name.
pub fn initial_label(model: &KlpSystem) -> String {
    format!("initial state: scenario {} booted ({})", model.spec.name, model.spec.variant.describe())
}

pub fn expectation(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

/// The legend: the original code, then each patch in scenario order.
pub fn legend(model: &KlpSystem) -> Vec<Chip> {
    let mut v =
        vec![Chip { label: "original code".into(), class: palette::css_class(klp_model::ids::Version::ORIGINAL) }];
    for (p, ps) in model.spec.patches.iter().enumerate() {
        let version = klp_model::ids::Version::of_patch(p as klp_model::ids::PatchId);
        v.push(Chip { label: format!("{}'s code", ps.name), class: palette::css_class(version) });
    }
    v
}

/// Parses `0/3/5` (the part of the URL after `/.states/`).
pub fn parse_path(s: &str) -> Result<Vec<usize>, String> {
    let s = s.trim_matches('/');
    let v: Result<Vec<usize>, _> = s.split('/').map(str::parse).collect();
    match v {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("not a path of action indices: '{s}'")),
    }
}

fn join(indices: &[usize]) -> String {
    indices.iter().map(usize::to_string).collect::<Vec<_>>().join("/")
}

/// The step `a` from `st`: the next state and the kernel messages it prints.
fn step(model: &KlpSystem, st: &State, a: Action) -> Option<(State, Vec<String>)> {
    let mut log = Dmesg::default();
    model.step(st, a, &mut log).map(|n| (n, log.0))
}

/// The page for the path `indices`, or why there is none.
pub fn step_view(
    model: &KlpSystem,
    indices: &[usize],
    properties: &[klp_properties::Entry],
) -> Result<StepView, String> {
    let inits = model.init_states();
    let mut st = inits.get(indices[0]).cloned().ok_or_else(|| format!("no initial state {}", indices[0]))?;
    let mut path = vec![Row { label: initial_label(model), href: join(&indices[..1]) }];
    let mut dmesg = Vec::new();
    let mut actions = Vec::new();
    for (k, &i) in indices.iter().enumerate().skip(1) {
        actions.clear();
        model.actions(&st, &mut actions);
        let a = *actions.get(i).ok_or_else(|| format!("step {k}: no action {i} ({} enabled)", actions.len()))?;
        let (next, log) = step(model, &st, a).ok_or_else(|| format!("step {k}: action {i} is refused"))?;
        // Named as traces name it: with the switch or completion the step ran (describe.rs).
        path.push(Row { label: model.describe_step(&st, &a, &next), href: join(&indices[..=k]) });
        dmesg = log;
        st = next;
    }
    actions.clear();
    model.actions(&st, &mut actions);
    let mut here = indices.to_vec();
    let next = actions
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            here.push(i);
            let n = match step(model, &st, a) {
                Some((after, dmesg)) => {
                    Next { label: model.describe_step(&st, &a, &after), href: Some(join(&here)), dmesg }
                }
                None => Next { label: model.format_action(&a), href: None, dmesg: Vec::new() },
            };
            here.pop();
            n
        })
        .collect();
    let sleepers = (0..st.tasks.len())
        .filter_map(|pid| {
            let s = picture::sleep(&model.spec, &st, pid as u8)?;
            Some(Sleeper {
                task: model.spec.task_comm_pid(pid as u8),
                place: s.place,
                class: s.version.map(palette::css_class),
                kind: s.kind,
            })
        })
        .collect();
    let properties = properties.iter().map(|e| Here { name: e.doc.name, holds: (e.condition)(model, &st) }).collect();
    Ok(StepView { path, svg: picture::state_svg(&model.spec, &st), dmesg, sleepers, actions: next, properties })
}

/// The path of a trace's steps, ending at its last step, or which step the model refuses.
pub fn trace_path(model: &KlpSystem, trace: &klp_traces::Trace) -> Result<Vec<usize>, String> {
    let mut st = model.init_state();
    let mut indices = vec![0];
    let mut actions = Vec::new();
    for s in &trace.steps {
        actions.clear();
        model.actions(&st, &mut actions);
        let refused = || format!("step {} ({}) is not enabled in the model: the trace no longer matches", s.i, s.text);
        let i = actions.iter().position(|a| *a == s.action).ok_or_else(refused)?;
        st = model.next_state(&st, s.action).ok_or_else(refused)?;
        indices.push(i);
    }
    Ok(indices)
}

pub fn encode(indices: &[usize]) -> String {
    join(indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> KlpSystem {
        KlpSystem::new(crate::target::Target::resolve(name, None, &[]).unwrap().spec, klp_properties::catalogue)
    }

    #[test]
    fn the_path_starts_at_the_named_initial_state_and_lists_the_next_steps() {
        let m = model("stack-check");
        let entries = klp_properties::entries();
        let v = step_view(&m, &[0], &entries).unwrap();
        assert_eq!(v.path.len(), 1);
        assert_eq!(v.path[0].label, "initial state: scenario stack-check booted (upstream)");
        let insmod = v.actions.iter().position(|n| n.label.contains("insmod")).expect("insmod offered");
        let w = step_view(&m, &[0, insmod], &entries).unwrap();
        assert_eq!(w.path[1].href, format!("0/{insmod}"));
        assert!(w.dmesg.iter().any(|l| l.contains("enabling patch 'lp1'")), "{:?}", w.dmesg);
        assert_eq!(w.properties.len(), entries.len());
        assert!(step_view(&m, &[0, 99], &entries).is_err());
        assert!(parse_path("0/x").is_err());
        assert_eq!(parse_path("/0/3/").unwrap(), vec![0, 3]);
    }
}
