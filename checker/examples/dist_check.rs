//! The distributed engine against the single-process one, run by scripts/test-distributed.sh
//! under `mpirun --oversubscribe -n 1..4` (needs `--features distributed`).
//!
//! Every rank runs each case twice: `Bfs::run` on its own (the reference) and
//! `Bfs::run_distributed` with the others; counts, level sizes, stop reasons, verdicts and
//! every discovery (initial state, actions, states) must be equal. The cases: the toy model
//! (correct and buggy, with and without symmetry, with a depth bound), a model with many
//! parents per state (ties that the (parent, action) rule decides; also packed, and with its
//! parent logs spilled to disk), and models of one and two
//! states (some rank owns no state), and deadlock and possibility properties on the grid
//! (violated and holding; leads-to must be unchecked). Limits must stop all ranks alike. MPI's reductions were
//! self-tested by `dist::init` before any of this.

use std::fmt::Debug;
use std::hash::Hash;

use klp_checker::dist::{self, Comm};
use klp_checker::{Bfs, LiveProperty, Liveness, Outcome, StopReason, Verdict};
use klp_toy::Toy;
use serde::{de::DeserializeOwned, Serialize};
use stateright::{Model, Property};

/// A grid walk where most states have several parents: (x, y) steps to (x+1, y), (x, y+1) and
/// (x+1, y+1), up to `n`; `x == y == n` is the witness, `x + y < 2n - 1` is violated late.
struct Grid {
    n: u16,
}

impl Model for Grid {
    type State = (u16, u16);
    type Action = u8;
    fn init_states(&self) -> Vec<(u16, u16)> {
        vec![(0, 0), (1, 0), (0, 0)]
    }
    fn actions(&self, _: &(u16, u16), out: &mut Vec<u8>) {
        out.extend([2, 0, 1]);
    }
    fn next_state(&self, &(x, y): &(u16, u16), a: u8) -> Option<(u16, u16)> {
        let n = self.n;
        match a {
            0 if x < n => Some((x + 1, y)),
            1 if y < n => Some((x, y + 1)),
            2 if x < n && y < n => Some((x + 1, y + 1)),
            _ => None,
        }
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::sometimes("corner", |m: &Grid, s: &(u16, u16)| s.0 == m.n && s.1 == m.n),
            Property::always("not_near_corner", |m: &Grid, s: &(u16, u16)| s.0 + s.1 < 2 * m.n - 1),
            Property::sometimes("diagonal_3", |_, s: &(u16, u16)| s.0 == 3 && s.1 == 3),
        ]
    }
}

/// The grid's states as 4 bytes (`Bfs::pack`: the encoding states travel in when a model
/// has one).
fn grid_encode(_: &Grid, s: &(u16, u16), out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&s.0.to_le_bytes());
    out.extend_from_slice(&s.1.to_le_bytes());
    4
}

fn grid_decode(_: &Grid, b: &mut &[u8]) -> (u16, u16) {
    let s = (u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]));
    *b = &b[4..];
    s
}

/// Liveness properties of the grid: possibility over every step and over x-steps only (the
/// first state in BFS order off the top row cannot reach the corner: violated), with a `P`
/// no state satisfies (holds), and deadlock with the corner a normal end (holds) and without
/// (violated at the corner).
fn grid_liveness() -> Vec<LiveProperty<Grid>> {
    let corner: fn(&Grid, &(u16, u16)) -> bool = |m, s| s.0 == m.n && s.1 == m.n;
    vec![
        LiveProperty {
            name: "corner_possible",
            kind: Liveness::Possibility { p: |_, s| s.0 + s.1 >= 3, q: corner, allowed: |_, _| true },
        },
        LiveProperty {
            name: "corner_by_x_steps",
            kind: Liveness::Possibility { p: |_, s| s.0 >= 2, q: corner, allowed: |_, &a| a == 0 },
        },
        LiveProperty {
            name: "never_p",
            kind: Liveness::Possibility { p: |m, s| s.0 > m.n, q: corner, allowed: |_, _| true },
        },
        LiveProperty { name: "ends_at_corner", kind: Liveness::Deadlock { end: corner } },
        LiveProperty { name: "never_ends", kind: Liveness::Deadlock { end: |_, _| false } },
        LiveProperty { name: "leads_to", kind: Liveness::LeadsTo { p: |_, _| true, q: corner } },
    ]
}

/// The grid's liveness properties, without fairness (possibility and deadlock need none).
fn live(b: Bfs<'_, Grid>) -> Bfs<'_, Grid> {
    b.liveness(grid_liveness(), |_, _, _| None)
}

/// `size` states in a line (1 or 2 here): fewer states than ranks.
struct Line {
    size: u8,
}

impl Model for Line {
    type State = u8;
    type Action = ();
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, _: &u8, out: &mut Vec<()>) {
        out.push(());
    }
    fn next_state(&self, &s: &u8, _: ()) -> Option<u8> {
        (s + 1 < self.size).then_some(s + 1)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::sometimes("last", |m: &Line, &s: &u8| s + 1 == m.size)]
    }
}

/// What must agree between the two engines, as text.
fn summary<M: Model>(o: &Outcome<M>) -> String
where
    M::State: Debug,
    M::Action: Debug,
{
    let mut s = format!(
        "stop {:?}, {} states, {} generated, depth {}, levels {:?}\n",
        o.stop, o.stats.unique_states, o.stats.generated_states, o.stats.max_depth, o.stats.level_sizes
    );
    for p in o.properties.iter().chain(&o.liveness) {
        // Leads-to is not checked in a distributed run: compared apart.
        if p.name == "leads_to" {
            continue;
        }
        s += &format!("{} {:?}", p.name, p.verdict);
        if let Some(d) = &p.discovery {
            s += &format!(" init {} actions {:?} states {:?}", d.init_index, d.actions, d.states);
        }
        s += "\n";
    }
    s
}

/// Runs one case both ways and compares; `limited`: only the distributed run is stopped by a
/// limit, so only its stop reason is compared across ranks.
fn case<'a, M>(comm: &Comm, name: &str, model: &'a M, setup: impl Fn(Bfs<'a, M>) -> Bfs<'a, M>) -> bool
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned + Debug,
    M::Action: Clone + Send + Sync + Debug,
{
    let single = summary(&setup(Bfs::new(model).threads(1)).run());
    let dist = summary(&setup(Bfs::new(model).threads(2)).run_distributed(comm).expect("distributed run"));
    let same = single == dist;
    if !same {
        eprintln!("rank {}: {name}: differs\nsingle-process:\n{single}distributed:\n{dist}", comm.rank);
    }
    same
}

fn main() {
    let (_universe, comm) = dist::init().unwrap_or_else(|e| {
        eprintln!("dist_check: {e}");
        std::process::exit(2)
    });
    let mut ok = true;
    let toy = Toy::new(3);
    let buggy = Toy::buggy(3);
    let buggy4 = Toy::buggy(4);
    ok &= case(&comm, "toy 3", &toy, |b| b);
    ok &= case(&comm, "toy 3 buggy", &buggy, |b| b);
    ok &= case(&comm, "toy 4 buggy, symmetry", &buggy4, |b| b.symmetry(klp_toy::canonical));
    ok &= case(&comm, "toy 4 buggy, max depth 6", &buggy4, |b| b.max_depth(Some(6)));
    let grid = Grid { n: 40 };
    ok &= case(&comm, "grid 40", &grid, |b| b);
    ok &= case(&comm, "grid 40, max depth 50", &grid, |b| b.max_depth(Some(50)));
    ok &= case(&comm, "grid 40, packed", &grid, |b| b.pack(grid_encode, grid_decode));
    ok &= case(&comm, "grid 40, liveness", &grid, live);
    ok &= case(&comm, "grid 40, liveness, packed", &grid, |b| live(b).pack(grid_encode, grid_decode));
    ok &= case(&comm, "grid 40, liveness, max depth 50", &grid, |b| live(b).max_depth(Some(50)));
    let out = live(Bfs::new(&grid).threads(1)).run_distributed(&comm).expect("run");
    let verdicts: Vec<Verdict> = out.liveness.iter().map(|p| p.verdict).collect();
    use Verdict::*;
    if verdicts != [Holds, Violated, Holds, Holds, Violated, Unchecked] {
        eprintln!("rank {}: grid liveness verdicts {verdicts:?}", comm.rank);
        ok = false;
    }
    // Parent logs in a file per rank (and the reference run's frontier on disk).
    let spill = std::env::temp_dir();
    ok &= case(&comm, "grid 40, packed, spilled", &grid, |b| b.pack(grid_encode, grid_decode).spill(&spill));
    for size in [1, 2] {
        let line = Line { size };
        ok &= case(&comm, &format!("line of {size}"), &line, |b| b);
        // With more ranks than states some rank owns nothing and still takes part.
        let owners: Vec<usize> = (0..size).map(|s| dist::owner(klp_checker::fingerprint(&s), comm.size)).collect();
        if comm.size > size as usize && comm.rank == 0 {
            let idle = (0..comm.size).filter(|r| !owners.contains(r)).count();
            assert!(idle > 0, "line of {size}: every one of {} ranks owns a state", comm.size);
        }
    }
    // A limit on any rank stops every rank, at the same batch, with the same reason.
    let out = Bfs::new(&buggy4).threads(1).max_states(Some(2_000)).run_distributed(&comm).expect("run");
    let code = out.stop as u64;
    if comm.min(&[code]) != comm.max(&[code]) || out.stop != StopReason::MaxStates || out.complete() {
        eprintln!("rank {}: max_states: stop {:?}", comm.rank, out.stop);
        ok = false;
    }
    let failed = comm.sum(&[u64::from(!ok)])[0];
    if comm.rank == 0 {
        if failed == 0 {
            println!("dist_check: {} ranks: every case equal to the single-process engine", comm.size);
        } else {
            println!("dist_check: {} ranks: {failed} rank(s) saw a difference", comm.size);
        }
    }
    drop(_universe);
    std::process::exit(i32::from(failed != 0));
}
