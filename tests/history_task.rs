//! Historical bugs on the transition/task side, rediscovered by their design knobs
//! (docs/design-variants.md, second table). For each: with the historical preset the
//! property is violated after the pinned number of states with the exact shortest
//! counterexample, and `klpcheck replay` confirms it; with upstream (and the alternative fixes)
//! every `always` property holds (state count pinned). The rows are data:
//! tests/history/task.toml, run by tests/common/history.rs.

use crate::common;
use common::history;

#[test]
fn historical_values_rediscover_the_bug_and_replay_confirms() {
    history::violations_rediscovered(&history::file("task"));
}

#[test]
fn upstream_holds_on_every_history_scenario() {
    history::all_hold(&history::file("task"));
}
