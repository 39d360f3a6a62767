//! A [`State`] as a short bit string, for the checker's frontier and fingerprints
//! (`klp_checker::Bfs::pack`).
//!
//! Why: a `State` is about a kilobyte of fixed-capacity arrays (ids.rs), most of it unused
//! slots, and a BFS level of the default scenario holds up to 450,000 of them. Packed, a state
//! of the default scenario takes about 40 bytes: every field in as few bits as its values need,
//! and no lengths that the [`Spec`] fixes (the number of tasks, modules, patches, objects,
//! funcs, functions and admin counters never changes during a run). Hashing those bytes is
//! also cheaper than hashing the state field by field.
//!
//! Layout: the identifying bits of [`encode`] (every field that `State`'s `Eq` compares),
//! padded to a byte, then one byte for [`State::klp_signals_sent`], which `Eq` and `Hash`
//! ignore ([`crate::state::LogOnly`]): the fingerprint covers the first part only, so states
//! that differ in that bit are one state, as they are for `Hash`.
//!
//! Hand-written on purpose: this runs for every successor. A field added to [`State`] must be
//! added here too; the round-trip test (tests/pack.rs) decodes every state of small scenarios.

use crate::ids::*;
use crate::spec::{AdminOrder, Spec};
use crate::state::*;
use crate::task::{Context, Frame, FuncStackRead, HandlerRead, PatchState, SelfSwitch, Task};
use crate::KlpSystem;

/// Bits of a function id (`CAP_FUNCS` = 32), a klp_func id (`CAP_KLP_FUNCS` = 32), a patch id
/// or version (`CAP_PATCHES` = 9, version 0..=9), a pid (`CAP_TASKS` = 16, and one past the
/// last task for a pass's `next`), a stack depth (`CAP_STACK` = 8), an admin counter (`MAX_OPS`
/// = 32 script positions, `MAX_OP_REPEAT` = 8 runs).
const FUNC: u32 = 5;
const KLP_FUNC: u32 = 5;
const PATCH: u32 = 4;
const PID: u32 = 5;
const DEPTH: u32 = 4;
const COUNTER: u32 = 6;
const _: () = assert!(CAP_FUNCS <= 1 << FUNC && CAP_KLP_FUNCS <= 1 << KLP_FUNC && CAP_PATCHES < 1 << PATCH);
const _: () = assert!(CAP_TASKS < 1 << PID && CAP_STACK < 1 << DEPTH && CAP_PATCHES < 1 << DEPTH);
const _: () = assert!(CAP_OPS < 1 << COUNTER);

/// Appends `st` to `out`; returns the number of identifying bytes (the fingerprinted prefix).
pub fn encode(sys: &KlpSystem, st: &State, out: &mut Vec<u8>) -> usize {
    let s = &*sys.spec;
    let start = out.len();
    out.reserve(256);
    let mut w = Writer { out, acc: 0, n: 0 };
    // Every field by name: a field added to `State` does not compile until it is packed.
    let State {
        tasks,
        mods,
        patches,
        objs,
        funcs,
        func_stacks,
        klp_patches,
        klp_transition_patch,
        klp_target_state,
        pass,
        admin,
        cb_setup,
        ghost,
        completing,
        split,
        klp_signals_sent,
        ftrace_enabled,
        klp_shadow_hash,
        klp_state_data,
    } = st;
    assert!(
        tasks.len() == s.tasks.len()
            && mods.len() == s.modules.len()
            && patches.len() == s.patches.len()
            && objs.len() == s.objs.len()
            && cb_setup.len() == s.objs.len()
            && funcs.len() == s.klp_funcs.len()
            && func_stacks.len() == s.funcs.len()
            && admin.0.len() == admin_len(s)
            && klp_state_data.len() == state_data_len(s),
        "pack: a state's tables must have the sizes its Spec gives them"
    );
    for t in tasks {
        task(&mut w, t);
    }
    for m in mods {
        w.put(mod_state(m.state), 4);
        w.flag(m.klp_alive);
        w.flag(m.work_pending);
    }
    for p in patches {
        w.put(p.life as u64, 2);
        w.flag(p.enabled);
        w.flag(p.forced);
        w.opt(p.pre_patch_ret, 16, |r| r as u16 as u64);
    }
    for o in objs {
        w.put(bits4([o.exists, o.mod_bound, o.patched, o.post_unpatch_enabled]), 4);
    }
    for f in funcs {
        w.put(bits4([f.exists, f.patched, f.transition, false]), 3);
    }
    for fs in func_stacks {
        w.put(fs.len() as u64, DEPTH);
        for &k in fs {
            w.put(k.into(), KLP_FUNC);
        }
    }
    w.put(klp_patches.len() as u64, DEPTH);
    for &p in klp_patches {
        w.put(p.into(), PATCH);
    }
    w.opt(*klp_transition_patch, PATCH, u64::from);
    w.put(patch_state(*klp_target_state), 2);
    w.opt(*pass, PID + 3, |p| {
        let half = match p.half {
            None => 0,
            Some(PassHalf::CpuOfflineRead) => 1,
            Some(PassHalf::StackSampled) => 2,
        };
        u64::from(p.next) | u64::from(p.complete) << PID | half << (PID + 1)
    });
    for &c in &admin.0 {
        w.put(c.into(), COUNTER);
    }
    for c in cb_setup {
        w.put(bits4([c.pre_patch, c.post_patch, false, false]), 2);
    }
    w.word(ghost.warns);
    w.word(ghost.events);
    w.word(ghost.reached);
    w.opt(*completing, 2, |c| c as u64);
    w.opt(*split, 4, |sp| match sp {
        Split::ReverseFlipped => 0,
        Split::DisableInitialised => 1,
        Split::TransitionUnseen => 2,
        Split::TargetUnseen(ps) => 4 | patch_state(ps),
    });
    w.flag(*ftrace_enabled);
    w.word(*klp_shadow_hash);
    for &d in klp_state_data {
        w.put(d.into(), 8);
    }
    w.finish();
    let id = out.len() - start;
    out.push(klp_signals_sent.0 as u8);
    id
}

/// Reads one state [`encode`] wrote from the front of `bytes` and moves `bytes` past it.
///
/// # Panics
/// If `bytes` does not start with a state that [`encode`] wrote for this `sys` (the checker
/// only hands back what it stored).
pub fn decode(sys: &KlpSystem, bytes: &mut &[u8]) -> State {
    let mut st = State::default();
    decode_into(sys, bytes, &mut st);
    st
}

/// [`decode`] written over `st` (every field of it). Why: the checker decodes each frontier
/// state into one reused buffer; decoded as values, a sub-chunk's states were built, copied
/// into a vector of ~1.3 KB states (680 KB for 512 of them, out of the cache by the time they
/// were expanded) and copied again (perf on the default scenario: `decode` 11 % of the search).
///
/// # Panics
/// As [`decode`].
pub fn decode_into(sys: &KlpSystem, bytes: &mut &[u8], st: &mut State) {
    let s = &*sys.spec;
    let mut r = Reader { bytes, pos: 0 };
    // Every field by name: a field added to `State` does not compile until it is read.
    let State {
        tasks,
        mods,
        patches,
        objs,
        funcs,
        func_stacks,
        klp_patches,
        klp_transition_patch,
        klp_target_state,
        pass,
        admin,
        cb_setup,
        ghost,
        completing,
        split,
        klp_signals_sent,
        ftrace_enabled,
        klp_shadow_hash,
        klp_state_data,
    } = st;
    refill(tasks, s.tasks.len(), |t| read_task(&mut r, t));
    refill(mods, s.modules.len(), |m| {
        let v = r.get(6);
        *m = ModRt { state: MOD_STATES[(v & 15) as usize], klp_alive: v & 16 != 0, work_pending: v & 32 != 0 };
    });
    refill(patches, s.patches.len(), |p| {
        let v = r.get(5);
        let life = [PatchLife::Unloaded, PatchLife::Listed, PatchLife::Freeing, PatchLife::Freed][(v & 3) as usize];
        let pre_patch_ret = (v & 16 != 0).then(|| r.get(16) as u16 as i16);
        *p = PatchRt { life, enabled: v & 4 != 0, forced: v & 8 != 0, pre_patch_ret };
    });
    refill(objs, s.objs.len(), |o| {
        let [exists, mod_bound, patched, post_unpatch_enabled] = unbits4(r.get(4));
        *o = ObjRt { exists, mod_bound, patched, post_unpatch_enabled };
    });
    refill(funcs, s.klp_funcs.len(), |f| {
        let [exists, patched, transition, _] = unbits4(r.get(3));
        *f = FuncRt { exists, patched, transition };
    });
    refill(func_stacks, s.funcs.len(), |fs| {
        let depth = r.get(DEPTH) as usize;
        refill(fs, depth, |k| *k = r.get(KLP_FUNC) as KlpFuncId);
    });
    let listed = r.get(DEPTH) as usize;
    refill(klp_patches, listed, |p| *p = r.get(PATCH) as PatchId);
    *klp_transition_patch = r.opt(PATCH).map(|p| p as PatchId);
    *klp_target_state = PATCH_STATES[r.get(2) as usize];
    *pass = r.opt(PID + 3).map(|v| Pass {
        next: (v & ((1 << PID) - 1)) as Pid,
        complete: v >> PID & 1 == 1,
        half: [None, Some(PassHalf::CpuOfflineRead), Some(PassHalf::StackSampled)][(v >> (PID + 1)) as usize],
    });
    refill(&mut admin.0, admin_len(s), |c| *c = r.get(COUNTER) as u8);
    refill(cb_setup, s.objs.len(), |c| {
        let [pre_patch, post_patch, _, _] = unbits4(r.get(2));
        *c = CallbackSetup { pre_patch, post_patch };
    });
    *ghost = Ghost { warns: r.word(), events: r.word(), reached: r.word() };
    *completing = r.opt(2).map(|c| {
        [Completing::Begin, Completing::UnpatchReplaced, Completing::ClearTransition, Completing::Finish][c as usize]
    });
    *split = r.opt(4).map(|v| match v {
        0 => Split::ReverseFlipped,
        1 => Split::DisableInitialised,
        2 => Split::TransitionUnseen,
        _ => Split::TargetUnseen(PATCH_STATES[(v & 3) as usize]),
    });
    *ftrace_enabled = r.flag();
    *klp_shadow_hash = r.word();
    refill(klp_state_data, state_data_len(s), |d| *d = r.get(8) as u8);
    let (&signals, rest) = r.finish().split_first().expect("pack: a state ends with its log-only byte");
    *bytes = rest;
    *klp_signals_sent = LogOnly(signals != 0);
}

/// `v` as `n` values, each written by `f` in order, in place. Not `collect()` into a new
/// vector: tinyvec's `ArrayVec::default()`, which `collect()` starts from, builds its array
/// element by element through an iterator (perf: `try_from_trusted_iterator` 6 % of a run on
/// the default scenario), and the result is then copied into the state. Slots past `n` keep
/// what they held, as after `ArrayVec::truncate` of `Copy` elements: nothing reads them.
/// Panics if `n > N` (as `collect()`).
#[inline]
fn refill<T: Default, const N: usize>(v: &mut Inline<T, N>, n: usize, mut f: impl FnMut(&mut T)) {
    v.set_len(n);
    for x in v.iter_mut() {
        f(x);
    }
}

fn admin_len(s: &Spec) -> usize {
    match s.admin.order {
        AdminOrder::Script => 1,
        AdminOrder::Any => s.admin.ops.len(),
    }
}

fn state_data_len(s: &Spec) -> usize {
    if s.has_klp_state_data() {
        s.patches.len()
    } else {
        0
    }
}

fn task(w: &mut Writer, t: &Task) {
    let Task { patch_state: ps, tif_patch_pending, context: ctx, ref stack, handler, self_switch, proc_read, nop_loop } =
        *t;
    w.put(patch_state(ps), 2);
    w.flag(tif_patch_pending);
    w.put(context(ctx), 3);
    w.flag(nop_loop);
    w.put(stack.len() as u64, DEPTH);
    for f in stack {
        w.put(f.func.into(), FUNC);
        w.put(f.version.0.into(), PATCH);
    }
    // The rest is set only in the middle of a split step (design variants): one bit says so.
    let rare = handler.is_some() || self_switch.is_some() || proc_read.is_some();
    w.flag(rare);
    if !rare {
        return;
    }
    w.opt(handler, 32, |h| {
        let next = h.read.next.map_or(0, |k| u64::from(k) + 1);
        let transition = h.transition.map_or(0, |t| 2 + u64::from(t));
        let ps = h.patch_state.map_or(0, |p| 1 + patch_state(p));
        u64::from(h.func) | u64::from(h.read.top) << 8 | next << 16 | transition << 24 | ps << 26
    });
    w.opt(self_switch, 6, |sw| match sw {
        SelfSwitch::Update { resume } => context(resume) << 3,
        SelfSwitch::SchedCheck => 1,
        SelfSwitch::SchedStore => 2,
        SelfSwitch::CondReschedCheck => 3,
        SelfSwitch::CondReschedStore => 4,
    });
    w.opt(proc_read, 8, u64::from);
}

fn read_task(r: &mut Reader, t: &mut Task) {
    // patch_state, TIF_PATCH_PENDING, context, nop_loop and the depth in one read, each frame in one.
    let head = r.get(7 + DEPTH);
    t.patch_state = PATCH_STATES[(head & 3) as usize];
    t.tif_patch_pending = head & 4 != 0;
    t.context = CONTEXTS[(head >> 3 & 7) as usize];
    t.nop_loop = head & 64 != 0;
    refill(&mut t.stack, (head >> 7) as usize, |f| {
        let v = r.get(FUNC + PATCH);
        *f = Frame { func: (v & ((1 << FUNC) - 1)) as FuncId, version: Version((v >> FUNC) as u8) };
    });
    let (mut handler, mut self_switch, mut proc_read) = (None, None, None);
    if r.flag() {
        handler = r.opt(32).map(|v| HandlerRead {
            func: v as u8,
            read: FuncStackRead { top: (v >> 8) as u8, next: ((v >> 16) as u8).checked_sub(1) },
            transition: match v >> 24 & 3 {
                0 => None,
                b => Some(b == 3),
            },
            patch_state: ((v >> 26) as usize).checked_sub(1).map(|p| PATCH_STATES[p]),
        });
        self_switch = r.opt(6).map(|v| match v {
            1 => SelfSwitch::SchedCheck,
            2 => SelfSwitch::SchedStore,
            3 => SelfSwitch::CondReschedCheck,
            4 => SelfSwitch::CondReschedStore,
            _ => SelfSwitch::Update { resume: CONTEXTS[(v >> 3) as usize] },
        });
        proc_read = r.opt(8).map(|v| v as u8);
    }
    (t.handler, t.self_switch, t.proc_read) = (handler, self_switch, proc_read);
}

const PATCH_STATES: [PatchState; 3] = [PatchState::Idle, PatchState::Unpatched, PatchState::Patched];

fn patch_state(p: PatchState) -> u64 {
    match p {
        PatchState::Idle => 0,
        PatchState::Unpatched => 1,
        PatchState::Patched => 2,
    }
}

const CONTEXTS: [Context; 8] = [
    Context::Unborn,
    Context::Forked,
    Context::User,
    Context::Running,
    Context::Sleeping,
    Context::Preempted,
    Context::Forking,
    Context::Offline,
];

fn context(c: Context) -> u64 {
    match c {
        Context::Unborn => 0,
        Context::Forked => 1,
        Context::User => 2,
        Context::Running => 3,
        Context::Sleeping => 4,
        Context::Preempted => 5,
        Context::Forking => 6,
        Context::Offline => 7,
    }
}

const MOD_STATES: [ModState; 9] = [
    ModState::Unloaded,
    ModState::Formed,
    ModState::Coming,
    ModState::Live,
    ModState::Going,
    ModState::Gone,
    ModState::KlpWait,
    ModState::Exiting,
    ModState::NotifierFailed,
];

fn mod_state(m: ModState) -> u64 {
    match m {
        ModState::Unloaded => 0,
        ModState::Formed => 1,
        ModState::Coming => 2,
        ModState::Live => 3,
        ModState::Going => 4,
        ModState::Gone => 5,
        ModState::KlpWait => 6,
        ModState::Exiting => 7,
        ModState::NotifierFailed => 8,
    }
}

fn bits4(b: [bool; 4]) -> u64 {
    b.iter().enumerate().map(|(i, &x)| u64::from(x) << i).sum()
}

fn unbits4(v: u64) -> [bool; 4] {
    [v & 1 != 0, v & 2 != 0, v & 4 != 0, v & 8 != 0]
}

/// Appends bit fields, least significant bit first.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl Writer<'_> {
    /// `v` in `bits` bits (at most 32). Panics if it does not fit: a value out of its field's
    /// range would decode as another state.
    #[inline]
    fn put(&mut self, v: u64, bits: u32) {
        assert!(v >> bits == 0, "pack: {v} does not fit in {bits} bits");
        // `n < 32` between calls: the sum fits the 64-bit accumulator; whole 32-bit words go
        // out at once.
        self.acc |= v << self.n;
        self.n += bits;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }
    #[inline]
    fn flag(&mut self, b: bool) {
        self.put(b.into(), 1);
    }
    /// One presence bit, then the value.
    #[inline]
    fn opt<T: Copy>(&mut self, v: Option<T>, bits: u32, f: impl Fn(T) -> u64) {
        self.flag(v.is_some());
        if let Some(v) = v {
            self.put(f(v), bits);
        }
    }
    /// A `u32` as its bit length (6 bits) and that many bits: 6 bits for 0.
    #[inline]
    fn word(&mut self, v: u32) {
        let len = 32 - v.leading_zeros();
        self.put(len.into(), 6);
        if len > 0 {
            self.put(v.into(), len);
        }
    }
    /// Writes the bits left, the last byte padded.
    fn finish(&mut self) {
        let bytes = self.n.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
    }
}

/// Reads what [`Writer`] wrote: each field is one unaligned 8-byte load at its bit position
/// (no byte-by-byte refill loop; perf: `decode_into` 7 % of the search before).
struct Reader<'a> {
    bytes: &'a [u8],
    /// Bits read so far.
    pos: usize,
}

impl<'a> Reader<'a> {
    /// The next `bits` bits (1 to 56).
    #[inline(always)]
    fn get(&mut self, bits: u32) -> u64 {
        let at = self.pos >> 3;
        let w = match self.bytes.get(at..at + 8) {
            Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
            None => self.tail(at),
        };
        let v = (w >> (self.pos & 7)) & ((1u64 << bits) - 1);
        self.pos += bits as usize;
        v
    }
    /// The last bytes of the buffer, zero-padded to 8 ([`Reader::finish`] checks that the state
    /// did not run past them).
    #[cold]
    fn tail(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        let rest = self.bytes.get(at..).unwrap_or_default();
        b[..rest.len()].copy_from_slice(rest);
        u64::from_le_bytes(b)
    }
    #[inline(always)]
    fn flag(&mut self) -> bool {
        self.get(1) == 1
    }
    #[inline(always)]
    fn opt(&mut self, bits: u32) -> Option<u64> {
        self.flag().then(|| self.get(bits))
    }
    #[inline(always)]
    fn word(&mut self) -> u32 {
        let len = self.get(6) as u32;
        if len == 0 {
            0
        } else {
            self.get(len) as u32
        }
    }
    /// Drops the padding of the last byte read; the bytes after it.
    fn finish(self) -> &'a [u8] {
        self.bytes.get(self.pos.div_ceil(8)..).expect("pack: a state ended early")
    }
}
