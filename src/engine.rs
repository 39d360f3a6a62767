//! Running an exploration engine and collecting what the report needs, whatever the engine.

use klp_model::{Action, KlpSystem};
use stateright::{Checker, Expectation, Model};
use std::time::{Duration, Instant};

/// Limits of one run.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub threads: usize,
    pub max_states: Option<u64>,
    pub max_depth: Option<usize>,
    pub timeout: Option<Duration>,
}

/// One property's outcome: the path (actions from the initial state) of its discovery, if any.
pub struct PropertyOutcome {
    pub name: &'static str,
    pub expectation: Expectation,
    pub path: Option<Vec<Action>>,
}

pub struct Outcome {
    pub unique_states: u64,
    pub generated: u64,
    pub max_depth: u64,
    pub elapsed: Duration,
    /// `None` if the whole reachable state space was explored; else the limit that stopped it.
    pub incomplete: Option<String>,
    pub properties: Vec<PropertyOutcome>,
}

/// stateright's BFS. Its known limits (../shared/docs/stateright.md): counterexamples are not
/// always shortest with several threads, and `timeout` does not stop a single-threaded run.
/// Completeness is decided here, never by stateright's `assert_properties()`.
pub fn run_stateright(model: KlpSystem, limits: &Limits) -> Outcome {
    let props = model.properties();
    let mut b = model.checker().threads(limits.threads.max(1));
    if let Some(n) = limits.max_states {
        b = b.target_state_count(n as usize);
    }
    if let Some(d) = limits.max_depth {
        b = b.target_max_depth(d);
    }
    if let Some(t) = limits.timeout {
        b = b.timeout(t);
    }
    let start = Instant::now();
    let checker = b.spawn_bfs().join();
    let elapsed = start.elapsed();
    let unique = checker.unique_state_count() as u64;
    let generated = checker.state_count() as u64;
    let depth = checker.max_depth() as u64;
    let properties: Vec<PropertyOutcome> = props
        .iter()
        .map(|p| PropertyOutcome {
            name: p.name,
            expectation: p.expectation.clone(),
            path: checker.discovery(p.name).map(|path| path.into_actions()),
        })
        .collect();
    let all_found = properties.iter().all(|p| p.path.is_some());
    let incomplete = if limits.timeout.is_some_and(|t| elapsed >= t) {
        Some("timeout".to_string())
    } else if limits.max_states.is_some_and(|n| generated >= n) {
        Some("max-states".to_string())
    } else if limits.max_depth.is_some_and(|d| depth as usize >= d) {
        Some("max-depth".to_string())
    } else if all_found {
        // The default finish condition stops once every property has a discovery.
        Some("stopped once every property had a discovery".to_string())
    } else {
        None
    };
    Outcome { unique_states: unique, generated, max_depth: depth, elapsed, incomplete, properties }
}
