//! Cross-check: klpcheck's engine and stateright's BFS explore the same state space and reach
//! the same verdicts on every shipped scenario small enough to run both in a test.

use klp_model::KlpSystem;
use stateright::{Checker, Model};

const LARGE: &[&str] = &["default", "large"];

#[test]
fn engines_agree_on_every_small_shipped_scenario() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if LARGE.contains(&name.as_str()) {
            continue;
        }
        let spec = klp_model::scenario::load(&path).unwrap();
        let model = KlpSystem::new(spec, klp_properties::catalogue);
        let ours = klp_checker::Bfs::new(&model).threads(2).run();
        assert!(ours.complete(), "{name}");
        let sr =
            model.clone().checker().threads(1).finish_when(stateright::HasDiscoveries::AllFailures).spawn_bfs().join();
        assert_eq!(ours.stats.unique_states, sr.unique_state_count() as u64, "{name}: distinct states");
        for p in model.properties() {
            let o = ours.property(p.name).unwrap();
            let found_ours = o.discovery.is_some();
            let found_sr = sr.discovery(p.name).is_some();
            // stateright runs to exhaustion unless every `always` property fails, which no
            // shipped scenario does, so the discoveries must match exactly.
            assert_eq!(found_ours, found_sr, "{name}: {}", p.name);
            if let (Some(t), Some(path)) = (&o.discovery, sr.discovery(p.name)) {
                assert!(t.actions.len() <= path.into_actions().len(), "{name}: {} not shortest", p.name);
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} scenarios");
}

#[test]
fn traces_identical_for_1_2_4_threads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios/no-stack-check.toml");
    let spec = klp_model::scenario::load(&path).unwrap();
    let model = KlpSystem::new(spec, klp_properties::catalogue);
    let runs: Vec<_> = [1, 2, 4]
        .iter()
        .map(|&t| {
            let o = klp_checker::Bfs::new(&model).threads(t).run();
            (
                o.stats.unique_states,
                o.property("no_mixed_universe").unwrap().discovery.as_ref().unwrap().actions.clone(),
            )
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
    assert_eq!(runs[0].1.len(), 4);
}
