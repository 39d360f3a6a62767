//! Disk spill and checkpoint/resume give the results of a plain run: the same counts, verdicts
//! and traces. The model has levels of up to ~18,000 states, so a level spans several batches.

use std::time::Duration;

use klp_checker::{Bfs, CheckpointInfo, Fairness, LiveProperty, Liveness, Outcome, StopReason};
use stateright::{Model, Property};

/// Six digits 0..=7, each step raises one; `wrap` lowers digit 0 from 7 back to 0 (cycles,
/// so liveness has something to find).
struct Digits;

type S = [u8; 6];

impl Model for Digits {
    type State = S;
    type Action = u8;
    fn init_states(&self) -> Vec<S> {
        vec![[0; 6]]
    }
    fn actions(&self, _: &S, out: &mut Vec<u8>) {
        out.extend(0..7);
    }
    fn next_state(&self, s: &S, a: u8) -> Option<S> {
        let mut n = *s;
        match a {
            6 if s[0] == 7 => n[0] = 0,
            6 => return None,
            i if s[i as usize] < 7 => n[i as usize] += 1,
            _ => return None,
        }
        Some(n)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("sum_below_30", |_, s: &S| s.iter().map(|&d| u32::from(d)).sum::<u32>() < 30),
            Property::sometimes("ends_are_7", |_, s: &S| s[0] == 7 && s[5] == 7),
            Property::sometimes("all_7", |_, s: &S| s.iter().all(|&d| d == 7)),
        ]
    }
}

fn fair(_: &Digits, _: &S, a: &u8) -> Option<Fairness> {
    (*a != 6).then_some(Fairness::Weak(1))
}
fn low(_: &Digits, s: &S) -> bool {
    s[5] == 0
}
fn top(_: &Digits, s: &S) -> bool {
    s[1..].iter().all(|&d| d == 7)
}
fn any(_: &Digits, _: &u8) -> bool {
    true
}

fn bfs(m: &Digits) -> Bfs<'_, Digits> {
    let live = vec![
        LiveProperty { name: "low_leads_to_top", kind: Liveness::LeadsTo { p: low, q: top } },
        LiveProperty { name: "top_possible", kind: Liveness::Possibility { p: low, q: top, allowed: any } },
    ];
    Bfs::new(m).threads(2).liveness(live, fair).identity("digits")
}

/// Everything a run reports that must not change: counts, verdicts, traces.
fn summary(o: &Outcome<Digits>) -> String {
    let mut s = format!(
        "{:?} states {} generated {} depth {}\n",
        o.stop, o.stats.unique_states, o.stats.generated_states, o.stats.max_depth
    );
    for p in o.properties.iter().chain(&o.liveness) {
        let t = p.discovery.as_ref().map(|d| (d.init_index, d.actions.clone(), d.states.clone()));
        s += &format!("{} {:?} {:?} {:?} {}\n", p.name, p.verdict, t, p.cycle_start, p.note);
    }
    s
}

#[test]
fn spill_gives_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let plain = bfs(&Digits).run();
    assert_eq!(plain.stats.unique_states, 8u64.pow(6));
    let spilled = bfs(&Digits).spill(dir.path()).try_run().unwrap();
    assert_eq!(summary(&spilled), summary(&plain));
    assert!(summary(&plain).contains("sum_below_30 Violated"), "{}", summary(&plain));
    // The run's own spill directory is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_run_stopped_at_a_level_and_resumed_gives_the_same_results() {
    let plain = summary(&bfs(&Digits).run());
    for spill in [false, true] {
        let every = Duration::ZERO;
        let ck = tempfile::tempdir().unwrap();
        let sp = tempfile::tempdir().unwrap();
        // Stop at depth 20 (in the middle of the widest levels): the last checkpoint is there.
        let mut first = bfs(&Digits).max_depth(Some(20)).checkpoint(ck.path(), every);
        if spill {
            first = first.spill(sp.path());
        }
        let first = first.try_run().unwrap();
        assert_eq!(first.stop, StopReason::MaxDepth);
        let info = CheckpointInfo::read(ck.path()).unwrap();
        assert_eq!(info.depth, 20);
        assert_eq!(info.identity, "digits");
        let mut resumed = bfs(&Digits).resume(ck.path()).checkpoint(ck.path(), every);
        if spill {
            resumed = resumed.spill(sp.path());
        }
        let resumed = resumed.try_run().unwrap();
        assert_eq!(summary(&resumed), plain, "spill {spill}");
    }
    // The interval has not passed: no checkpoint yet.
    let ck = tempfile::tempdir().unwrap();
    bfs(&Digits).max_depth(Some(5)).checkpoint(ck.path(), Duration::from_secs(3600)).try_run().unwrap();
    assert!(CheckpointInfo::read(ck.path()).is_err());
}

#[test]
fn a_checkpoint_of_another_run_is_refused() {
    let ck = tempfile::tempdir().unwrap();
    bfs(&Digits).max_depth(Some(3)).checkpoint(ck.path(), Duration::ZERO).try_run().unwrap();
    let err = match bfs(&Digits).identity("other").resume(ck.path()).try_run() {
        Err(e) => e,
        Ok(_) => panic!("resumed a checkpoint of another run"),
    };
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("the checkpoint is of another run\n  checkpoint: digits\n  this run:   other"),
        "{err}"
    );
    // Without liveness the engine differs too.
    let err = Bfs::new(&Digits).identity("digits").resume(ck.path()).try_run().err().unwrap();
    assert!(err.to_string().contains("of another engine"), "{err}");
    let missing = Bfs::new(&Digits).resume(ck.path().join("nope")).try_run().err().unwrap();
    assert!(missing.to_string().contains("CURRENT"), "{missing}");
}
