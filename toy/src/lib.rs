//! klp-toy: the toy livepatch transition model, the benchmark that klpcheck's engine,
//! stateright's BFS and SPIN explore on identical work (`klpcheck bench toy`,
//! scripts/bench-vs-spin.sh). The same model is written in Promela (toy/toy.pml, for SPIN)
//! and TLA+ (toy/Toy.tla) beside this crate; toy/README.md describes it and gives the figures
//! all three reproduce: 4,230 / 57,122 / 808,950 / 11,770,418 distinct states for N = 3..6.
//!
//! It lives outside klp-checker so that the generic engine's public API carries no
//! livepatch model; the checker uses it only as a dev-dependency (examples, benches, tests).
//!
//! Constants as in toy/README.md: D = 2 (stack depth), NF = NP = 2 (both functions patched).
//!
//! The state is packed into 16 bytes (phase + one byte per task, up to 15 tasks) and hashed
//! with a single `write_u128`: a derived `Hash` would feed the hasher byte by byte, which
//! was measured 1.5x slower in a hand-written BFS. Task byte layout:
//! bit 0 patch_state, bit 1 seen_new, bits 2-3 stack length, bits 4-5 frame 0 and
//! bits 6-7 frame 1 (each frame: low bit function, high bit version). Frames above the
//! stack length are 0, so equal TLA+ states have equal bytes. Unused task slots hold 0xFF
//! (an impossible length of 3) so that sorting all slots keeps real tasks in front.

use std::fmt;
use std::hash::{Hash, Hasher};

use stateright::{Model, Property};

/// Call stack bound.
pub const D: u8 = 2;
/// Number of functions.
pub const NF: u8 = 2;
/// Functions `0..NP` are patched.
pub const NP: u8 = 2;
/// Most tasks a packed state can hold.
pub const MAX_TASKS: usize = 15;

pub const IDLE: u8 = 0;
pub const TRANS: u8 = 1;
pub const DONE: u8 = 2;

const PATCHED: u8 = 1;
const SEEN: u8 = 2;
const UNUSED: u8 = 0xFF;

/// Toy state, packed: byte 0 is the phase, byte 1 + i is task i.
///
/// One `u128` rather than a byte array: it is hashed with one `write_u128` of the very
/// value stored, whereas building the `u128` from bytes stalled store-to-load forwarding
/// (perf: 30 % of successor generation in one `movaps` before the change).
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToyState(u128);

impl ToyState {
    pub fn phase(&self) -> u8 {
        self.0 as u8
    }

    /// Packed byte of task `i` (0xFF for an unused slot).
    pub fn task(&self, i: usize) -> u8 {
        (self.0 >> (8 * (i + 1))) as u8
    }

    fn set_phase(&mut self, p: u8) {
        self.0 = (self.0 & !0xFF) | u128::from(p);
    }

    fn set_task(&mut self, i: usize, t: u8) {
        let sh = 8 * (i + 1);
        self.0 = (self.0 & !(0xFF << sh)) | (u128::from(t) << sh);
    }

    /// All task slots (unused ones are 0xFF).
    pub fn tasks(&self) -> [u8; MAX_TASKS] {
        let b = self.0.to_le_bytes();
        b[1..].try_into().expect("15 bytes")
    }

    fn from_parts(phase: u8, tasks: [u8; MAX_TASKS]) -> Self {
        let mut b = [0u8; 16];
        b[0] = phase;
        b[1..].copy_from_slice(&tasks);
        ToyState(u128::from_le_bytes(b))
    }
}

impl Hash for ToyState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u128(self.0);
    }
}

fn len(t: u8) -> u8 {
    (t >> 2) & 3
}

/// (function, version) of frame `i` of a task byte.
fn frame(t: u8, i: u8) -> (u8, u8) {
    let f = (t >> (4 + 2 * i)) & 3;
    (f & 1, f >> 1)
}

/// True if a task byte has no patched function on its stack (TLA+ `Clean`).
fn clean(t: u8) -> bool {
    (0..len(t)).all(|i| frame(t, i).0 >= NP)
}

impl fmt::Debug for ToyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = ["IDLE", "TRANS", "DONE"][self.phase() as usize];
        write!(f, "{phase}")?;
        for t in self.tasks().into_iter().take_while(|&t| t != UNUSED) {
            let ps = if t & PATCHED != 0 { 'P' } else { 'U' };
            write!(f, " {ps}[")?;
            for i in 0..len(t) {
                let (func, v) = frame(t, i);
                let sep = if i > 0 { "," } else { "" };
                write!(f, "{sep}F{func}{}", if v == 1 { "'" } else { "" })?;
            }
            write!(f, "]{}", if t & SEEN != 0 { "n" } else { "" })?;
        }
        Ok(())
    }
}

/// Actions, in the order `actions()` lists them.
///
/// Four bytes, aligned: at three (a tag and two `u8`s) an action was copied as a byte and a
/// 16-bit half and read back as one word, a store-forwarding stall that perf put at a third of
/// the engine's successor loop (toy N=6, 1 thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(align(4))]
pub enum ToyAction {
    Start,
    TryComplete,
    Call(u8, u8),
    Ret(u8),
    SelfSwitch(u8),
}

/// The model: `n` tasks; `buggy` = TryComplete without the stack check.
#[derive(Clone, Debug)]
pub struct Toy {
    pub n: usize,
    pub buggy: bool,
}

impl Toy {
    pub fn new(n: usize) -> Self {
        assert!((1..=MAX_TASKS).contains(&n), "toy: 1..={MAX_TASKS} tasks");
        Toy { n, buggy: false }
    }

    pub fn buggy(n: usize) -> Self {
        Toy { buggy: true, ..Toy::new(n) }
    }
}

/// Symmetry canonicaliser: tasks are interchangeable and hold no references to each
/// other, so sorting the task bytes gives a unique orbit representative.
pub fn canonical(s: &ToyState) -> ToyState {
    let mut tasks = s.tasks();
    tasks.sort_unstable();
    ToyState::from_parts(s.phase(), tasks)
}

/// A second, independently written canonicaliser (counting sort, descending, real tasks
/// after the unused slots) used to cross-check symmetry-reduced counts.
pub fn canonical_by_counts(s: &ToyState) -> ToyState {
    let mut counts = [0u8; 256];
    for t in s.tasks() {
        counts[t as usize] += 1;
    }
    let mut tasks = [0; MAX_TASKS];
    let mut k = 0;
    for v in (0..256).rev() {
        for _ in 0..counts[v] {
            tasks[k] = v as u8;
            k += 1;
        }
    }
    ToyState::from_parts(s.phase(), tasks)
}

impl Model for Toy {
    type State = ToyState;
    type Action = ToyAction;

    fn init_states(&self) -> Vec<ToyState> {
        let mut tasks = [UNUSED; MAX_TASKS];
        tasks[..self.n].fill(0);
        vec![ToyState::from_parts(IDLE, tasks)]
    }

    // `actions` and `next_state` are inlined into the engines' successor loops (across crates
    // they were calls): the successor then stays in registers, instead of being written as two
    // 8-byte halves and read back as one 16-byte value (perf: a third of klpcheck's successor
    // loop stalled on that load, toy N=6, 1 thread). stateright's BFS gets the same code.
    #[inline(always)]
    fn actions(&self, s: &ToyState, out: &mut Vec<ToyAction>) {
        let phase = s.phase();
        if phase == IDLE {
            out.push(ToyAction::Start);
        }
        if phase == TRANS {
            out.push(ToyAction::TryComplete);
        }
        for i in 0..self.n {
            let t = s.task(i);
            let i = i as u8;
            if len(t) < D {
                out.extend((0..NF).map(|f| ToyAction::Call(i, f)));
            }
            if len(t) > 0 {
                out.push(ToyAction::Ret(i));
            }
            if phase == TRANS && len(t) == 0 && t & PATCHED == 0 {
                out.push(ToyAction::SelfSwitch(i));
            }
        }
    }

    #[inline(always)]
    fn next_state(&self, s: &ToyState, a: ToyAction) -> Option<ToyState> {
        let mut n = *s;
        match a {
            ToyAction::Start => n.set_phase(TRANS),
            ToyAction::TryComplete => {
                let mut all = true;
                for i in 0..self.n {
                    let t = s.task(i);
                    if t & PATCHED == 0 {
                        if self.buggy || clean(t) {
                            n.set_task(i, t | PATCHED);
                        } else {
                            all = false;
                        }
                    }
                }
                if all {
                    n.set_phase(DONE);
                }
            }
            ToyAction::Call(i, f) => {
                let (i, t) = (i as usize, s.task(i as usize));
                let v = match (f < NP, s.phase()) {
                    (false, _) | (true, IDLE) => 0,
                    (true, DONE) => 1,
                    (true, _) => t & PATCHED,
                };
                let l = len(t);
                let mut t = (t & !0b1100) | ((l + 1) << 2) | (((v << 1) | f) << (4 + 2 * l));
                if f < NP && v == 1 {
                    t |= SEEN;
                }
                n.set_task(i, t);
            }
            ToyAction::Ret(i) => {
                let (i, t) = (i as usize, s.task(i as usize));
                let l = len(t) - 1;
                n.set_task(i, (t & !(3 << (4 + 2 * l)) & !0b1100) | (l << 2));
            }
            ToyAction::SelfSwitch(i) => n.set_task(i as usize, s.task(i as usize) | PATCHED),
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("p1_no_old_after_new", |m: &Toy, s: &ToyState| {
                (0..m.n)
                    .map(|i| s.task(i))
                    .all(|t| t & SEEN == 0 || (0..len(t)).all(|i| frame(t, i).0 >= NP || frame(t, i).1 == 1))
            }),
            Property::always("p2_no_mixed_versions", |m: &Toy, s: &ToyState| {
                (0..m.n).map(|i| s.task(i)).all(|t| {
                    let vs = (0..len(t)).filter(|&i| frame(t, i).0 < NP).map(|i| frame(t, i).1);
                    vs.clone().min() == vs.max()
                })
            }),
            Property::sometimes("transition_completes", |_: &Toy, s: &ToyState| s.phase() == DONE),
        ]
    }
}
