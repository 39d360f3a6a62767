//! The ordering knobs reach the interleavings they exist for (so a property that holds under
//! them holds for a reason, not because the race was never explored): an exhaustive search of
//! the model's states, counting the states in the window each knob opens.

use klp_model::state::Split;
use klp_model::task::SelfSwitch;
use klp_model::variant::Variant;
use klp_model::{KlpSystem, Spec, State};
use stateright::{Model, Property};
use std::collections::{HashSet, VecDeque};
use std::path::Path;

fn no_properties() -> Vec<Property<KlpSystem>> {
    Vec::new()
}

fn reachable(scenario: &str, knob: &str, value: &str) -> Vec<State> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(format!("{scenario}.toml"));
    let mut v = Variant::default();
    v.set(knob, value).unwrap();
    let spec: Spec = klp_model::scenario::read(&path).unwrap().build(v).unwrap();
    let m = KlpSystem::new(spec, no_properties);
    let mut seen = HashSet::new();
    let mut queue: VecDeque<State> = m.init_states().into();
    let mut all = Vec::new();
    let mut actions = Vec::new();
    while let Some(st) = queue.pop_front() {
        if !seen.insert(st.clone()) {
            continue;
        }
        actions.clear();
        m.actions(&st, &mut actions);
        for &a in &actions {
            if let Some(n) = m.next_state(&st, a) {
                queue.push_back(n);
            }
        }
        all.push(st);
    }
    all
}

/// Under `reverse_order = flip_first` a self switch is in flight while `klp_target_state` is
/// already flipped and TIF_PATCH_PENDING not yet cleared: before its stack check, and between
/// the stack check and the store (both orders of the check against the flip are explored).
#[test]
fn flip_first_self_switch_straddles_the_flip() {
    let states = reachable("history-reverse-order", "reverse_order", "flip_first");
    assert_eq!(states.len(), 724);
    let window = |ss: SelfSwitch| {
        states.iter().filter(move |st| {
            st.split == Some(Split::ReverseFlipped) && st.tasks.iter().any(|t| t.self_switch == Some(ss))
        })
    };
    assert!(window(SelfSwitch::SchedCheck).count() > 0);
    assert!(window(SelfSwitch::SchedStore).count() > 0);
    // A store pending after a stack check made against the old target: the store reads the new
    // target, which is the state the task already has (so nothing changes).
    assert!(window(SelfSwitch::SchedStore).all(|st| {
        st.tasks.iter().all(|t| t.self_switch != Some(SelfSwitch::SchedStore) || t.patch_state == st.klp_target_state)
    }));
}

/// Upstream keeps every step atomic: no split state, no self switch in flight.
#[test]
fn upstream_has_no_split_states() {
    let states = reachable("history-reverse-order", "reverse_order", "clear_first");
    assert_eq!(states.len(), 446);
    assert!(states.iter().all(|st| st.split.is_none() && st.tasks.iter().all(|t| t.self_switch.is_none())));
}
