//! model/src/pack.rs: every state of the shipped scenarios (the first 20,000 of each, in BFS
//! order, under the scenario's own variant) packs and unpacks to itself, log-only bit included,
//! also when decoded over the state before it (`decode_into`, the checker's reused buffer), and
//! equal states pack to equal identifying bytes. Every successor built over a reused buffer
//! (`KlpSystem::successor_into`) is the one `next_state` returns.

use klp_model::pack::{decode, decode_into, encode};
use klp_model::{KlpSystem, State};
use stateright::Model;
use std::collections::{HashMap, VecDeque};

/// States explored per scenario: enough to reach the split steps and rare fields of the history
/// scenarios, small enough for a test.
const LIMIT: usize = 20_000;

fn round_trip(m: &KlpSystem) -> usize {
    let mut seen: HashMap<State, Vec<u8>> = HashMap::new();
    let mut queue: VecDeque<State> = m.init_states().into();
    let mut buf = Vec::new();
    let mut acts = Vec::new();
    // Reused as the checker reuses them: each holds whatever the state before left in it.
    let (mut reused, mut succ) = (State::default(), State::default());
    while let Some(st) = queue.pop_front() {
        buf.clear();
        buf.extend([0xa5, 0x5a]);
        let id = encode(m, &st, &mut buf);
        buf.extend([7, 7, 7]);
        let mut bytes = &buf[2..];
        let back = decode(m, &mut bytes);
        assert_eq!(format!("{back:?}"), format!("{st:?}"), "{}: round trip", m.spec.name);
        assert_eq!(bytes, [7, 7, 7], "{}: decode reads exactly what encode wrote", m.spec.name);
        let mut bytes = &buf[2..];
        decode_into(m, &mut bytes, &mut reused);
        assert_eq!(format!("{reused:?}"), format!("{st:?}"), "{}: round trip over a reused state", m.spec.name);
        assert_eq!(bytes, [7, 7, 7], "{}: decode_into reads exactly what encode wrote", m.spec.name);
        let ident = buf[2..2 + id].to_vec();
        if let Some(prev) = seen.get(&st) {
            assert_eq!(*prev, ident, "{}: equal states, equal identifying bytes", m.spec.name);
            continue;
        }
        seen.insert(st.clone(), ident);
        if seen.len() >= LIMIT {
            break;
        }
        m.actions(&st, &mut acts);
        for a in acts.drain(..) {
            let next = m.next_state(&st, a);
            let built = m.successor_into(&st, a, &mut succ).then(|| format!("{succ:?}"));
            assert_eq!(built, next.as_ref().map(|n| format!("{n:?}")), "{}: successor_into {a:?}", m.spec.name);
            queue.extend(next);
        }
    }
    seen.len()
}

#[test]
fn every_state_of_the_shipped_scenarios_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let mut total = 0;
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let m = KlpSystem::new(klp_model::scenario::load(path).unwrap(), Vec::new);
        total += round_trip(&m);
    }
    assert!(total > 50_000, "{total} states checked");
}

#[test]
fn different_states_pack_differently() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fork.toml");
    let m = KlpSystem::new(klp_model::scenario::load(&path).unwrap(), Vec::new);
    let mut by_bytes: HashMap<Vec<u8>, State> = HashMap::new();
    let mut queue: VecDeque<State> = m.init_states().into();
    let mut acts = Vec::new();
    while let Some(st) = queue.pop_front() {
        let mut buf = Vec::new();
        let id = encode(&m, &st, &mut buf);
        buf.truncate(id);
        if let Some(prev) = by_bytes.get(&buf) {
            assert_eq!(*prev, st, "two states share identifying bytes {buf:?}");
            continue;
        }
        by_bytes.insert(buf, st.clone());
        m.actions(&st, &mut acts);
        for a in acts.drain(..) {
            queue.extend(m.next_state(&st, a));
        }
    }
    // As many byte strings as states: the states `Eq` tells apart.
    let states: std::collections::HashSet<&State> = by_bytes.values().collect();
    assert_eq!(states.len(), by_bytes.len());
    assert!(by_bytes.len() > 1000, "{} states", by_bytes.len());
}

/// The packed layout itself is pinned: the checker fingerprints the identifying bytes, so a
/// layout change changes every fingerprint (and with it the table's shard of each state, the
/// order of a level, the collision odds). A digest of the encodings of the first 20,000 states
/// of every shipped scenario (BFS order) must stay what it was when this test was written; a
/// deliberate layout change re-pins it (and says so).
#[test]
fn the_packed_layout_is_pinned() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    // FNV-1a, 64 bits: written out so the pin does not depend on a hasher's version.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |bytes: &[u8]| {
        for &b in bytes {
            digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    let (mut states, mut bytes_total) = (0usize, 0usize);
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let m = KlpSystem::new(klp_model::scenario::load(path).unwrap(), Vec::new);
        let mut seen = std::collections::HashSet::new();
        let mut queue: VecDeque<State> = m.init_states().into();
        let (mut buf, mut acts) = (Vec::new(), Vec::new());
        while let Some(st) = queue.pop_front() {
            if seen.len() >= LIMIT || !seen.insert(st.clone()) {
                continue;
            }
            buf.clear();
            let id = encode(&m, &st, &mut buf);
            mix(&buf);
            mix(&(id as u32).to_le_bytes());
            (states, bytes_total) = (states + 1, bytes_total + buf.len());
            m.actions(&st, &mut acts);
            for a in acts.drain(..) {
                queue.extend(m.next_state(&st, a));
            }
        }
    }
    assert_eq!(
        (states, bytes_total, format!("{digest:016x}")),
        (98206, 2634619, "9fc8bd5dab819b24".to_string()),
        "packed layout"
    );
}
