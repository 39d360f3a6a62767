//! CPU cost of pack.rs per state on the default scenario: `encode` of states that stay in the
//! cache (the checker encodes each successor from one reused buffer), `decode_into` along a
//! packed buffer (as a frontier sub-chunk is read), `successor_into`. CPU time of this thread
//! (/proc/thread-self/schedstat), not wall time: the machine is shared.
//!
//!     cargo run --release -p klp-model --example packbench
//!
use klp_model::pack::{decode_into, encode};
use klp_model::{KlpSystem, State};
use stateright::Model;
use std::collections::{HashSet, VecDeque};
/// This thread's CPU time (the machine is shared: wall time counts the other sessions).
struct Instant(u64);
impl Instant {
    fn cpu() -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
    fn now() -> Self {
        Instant(Self::cpu())
    }
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(Self::cpu() - self.0)
    }
}

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    let m = KlpSystem::new(klp_model::scenario::load(&path).unwrap(), Vec::new);
    let mut seen = HashSet::new();
    let mut queue: VecDeque<State> = m.init_states().into();
    let mut states = Vec::new();
    let mut acts = Vec::new();
    while let Some(st) = queue.pop_front() {
        if states.len() >= 200_000 {
            break;
        }
        if !seen.insert(st.clone()) {
            continue;
        }
        m.actions(&st, &mut acts);
        for a in acts.drain(..) {
            queue.extend(m.next_state(&st, a));
        }
        states.push(st);
    }
    // 4,000 states, encoded 16 at a time 50 times over: what the checker encodes was just built.
    let states: Vec<State> = states.iter().step_by(50).cloned().collect();
    let states: Vec<State> = (0..50).flat_map(|_| states.iter().cloned()).collect::<Vec<_>>();
    let mut buf = Vec::with_capacity(64 << 20);
    for round in 0..7 {
        buf.clear();
        let t = Instant::now();
        let mut ids = 0;
        for c in states.chunks(16) {
            for _ in 0..50 {
                buf.clear();
                for s in c {
                    ids += encode(&m, s, &mut buf);
                }
            }
        }
        buf.clear();
        for s in &states {
            encode(&m, s, &mut buf);
        }
        let enc = t.elapsed().as_nanos() as f64 / states.len() as f64 / 51.0;
        let t = Instant::now();
        let mut bytes = &buf[..];
        let mut st = State::default();
        let mut x = 0;
        while !bytes.is_empty() {
            decode_into(&m, &mut bytes, &mut st);
            x += st.tasks.len();
        }
        let dec = t.elapsed().as_nanos() as f64 / states.len() as f64;
        let t = Instant::now();
        let mut out = State::default();
        let mut n = 0;
        for s in &states[..4000] {
            m.actions(s, &mut acts);
            for a in acts.drain(..) {
                n += m.successor_into(s, a, &mut out) as usize;
            }
        }
        let succ = t.elapsed().as_nanos() as f64 / n as f64;
        println!("round {round}: encode {enc:.1} ns, decode {dec:.1} ns, successor_into {succ:.1} ns ({} bytes/state, {ids} {x})", buf.len() / states.len());
    }
}
