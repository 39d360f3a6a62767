//! Where the time goes, serial against parallel (issue 16 point 4): on when
//! `KLPCHECK_PROFILE=1` is set or [`Bfs::profile`](super::Bfs::profile) asks for it, and then
//! printed to stderr at the end of a run and kept in [`Stats::profile`](crate::Stats).
//!
//! Why thread CPU time (`CLOCK_THREAD_CPUTIME_ID`) and not wall time: the machine this is
//! measured on is shared, and a thread that waits for a core would count as busy on a wall
//! clock. CPU time charges each section only with what it ran, so the serial fraction is the
//! same on a loaded machine as on a quiet one.
//!
//! Per phase (one [`Phase`] per step of a batch or of the liveness checks):
//! * a serial section runs on the driving thread alone: its CPU time counts as work and as
//!   critical path;
//! * a parallel section hands tasks to the pool: the sum of their CPU times is work, and the
//!   busiest thread's share of that section is its critical path (the others wait for it at
//!   the barrier).
//!
//! Amdahl: with the serial fraction `f` of the work measured on one thread, `n` threads can
//! at best go `1 / (f + (1 - f) / n)` times faster. The critical path measured on `n` threads
//! adds the imbalance between threads: `work / critical path` is the speedup that run would
//! have on `n` idle cores (memory bandwidth aside). Time outside every section (rayon waking
//! and spinning, the progress callback) is not counted; it is small (the driving thread's
//! total CPU is printed beside the sections to show it).
//!
//! When off, every call is a test of one bool.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::sync::OnceLock;
        static T0: OnceLock<std::time::Instant> = OnceLock::new();
        T0.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }
}

/// The steps profiled, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// BFS phase A: properties, successors, fingerprints (parallel per sub-chunk).
    Expand,
    /// BFS phase B: the visited set (parallel per shard).
    Insert,
    /// BFS phase C: keep the new successors (parallel per sub-chunk).
    Collect,
    /// Liveness graph: the batch's edges encoded (parallel per sub-chunk, beside the table's
    /// provisional indices being replaced per shard and the next level's moves, which are then
    /// not in [`Phase::Append`]) and appended in order (serial).
    Record,
    /// The next level's states moved into its segments (without the liveness graph; with it,
    /// they are part of [`Phase::Record`]).
    Append,
    /// Per batch on the driving thread: counters, discoveries, parent logs, coverage, limits.
    Bookkeeping,
    /// Per level on the driving thread: sealing, spilling, checkpoints.
    Level,
    /// Liveness: the property checks.
    Properties,
}

impl Phase {
    const ALL: [Phase; 8] = [
        Phase::Expand,
        Phase::Insert,
        Phase::Collect,
        Phase::Record,
        Phase::Append,
        Phase::Bookkeeping,
        Phase::Level,
        Phase::Properties,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Expand => "A expand",
            Phase::Insert => "B insert",
            Phase::Collect => "C collect",
            Phase::Record => "graph record",
            Phase::Append => "next-level append",
            Phase::Bookkeeping => "batch bookkeeping",
            Phase::Level => "level bookkeeping",
            Phase::Properties => "liveness properties",
        }
    }

    /// True for the liveness checks after the search, false for the search itself.
    pub fn liveness(self) -> bool {
        matches!(self, Phase::Properties)
    }
}

/// What one phase cost over a run.
#[derive(Clone, Debug, Default)]
pub struct PhaseTimes {
    /// CPU time in serial sections (driving thread alone).
    pub serial: Duration,
    /// CPU time of the tasks of parallel sections, all threads together.
    pub parallel: Duration,
    /// Sum over parallel sections of the busiest thread's CPU time in it.
    pub span: Duration,
    /// Sections entered.
    pub sections: u64,
}

/// A run's profile (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub threads: usize,
    /// Indexed like [`Phase::ALL`].
    pub phases: Vec<(Phase, PhaseTimes)>,
    /// Per pool thread: CPU time in parallel tasks (the busy time; idle threads show here).
    pub busy: Vec<Duration>,
    /// CPU time of the driving thread over the search, and over the liveness checks.
    pub driver_search: Duration,
    pub driver_liveness: Duration,
    /// Per liveness pass (a task of the liveness section): the properties it checks and its CPU
    /// time, in the order they were handed out (why: the section's critical path is the
    /// busiest thread's sum of these).
    pub passes: Vec<(String, Duration)>,
}

/// Work, serial part and critical path of one part of the run (search or liveness).
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub work: Duration,
    pub serial: Duration,
    pub critical: Duration,
}

impl Totals {
    /// Amdahl's serial fraction `f` (0 without work).
    pub fn serial_fraction(&self) -> f64 {
        self.serial.as_secs_f64() / self.work.as_secs_f64().max(1e-12)
    }

    /// Amdahl's bound for `n` threads from the serial fraction.
    pub fn amdahl(&self, n: usize) -> f64 {
        let f = self.serial_fraction();
        1.0 / (f + (1.0 - f) / n as f64)
    }

    /// Work over critical path: the speedup of the run measured, on idle cores.
    pub fn balance_speedup(&self) -> f64 {
        self.work.as_secs_f64() / self.critical.as_secs_f64().max(1e-12)
    }
}

impl Profile {
    /// The search's (`liveness == false`) or the liveness checks' totals.
    pub fn totals(&self, liveness: bool) -> Totals {
        let mut t = Totals::default();
        for (_, p) in self.phases.iter().filter(|(ph, _)| ph.liveness() == liveness) {
            t.work += p.serial + p.parallel;
            t.serial += p.serial;
            t.critical += p.serial + p.span;
        }
        t
    }

    /// The report printed to stderr.
    pub fn report(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut s = format!(
            "profile ({} threads; thread CPU time, ms):\n  {:<22}{:>10}{:>10}{:>10}{:>9}\n",
            self.threads, "phase", "serial", "parallel", "span", "sections"
        );
        for (ph, p) in &self.phases {
            if p.sections == 0 {
                continue;
            }
            s += &format!(
                "  {:<22}{:>10.0}{:>10.0}{:>10.0}{:>9}\n",
                ph.name(),
                ms(p.serial),
                ms(p.parallel),
                ms(p.span),
                p.sections
            );
        }
        for (name, live, driver) in [("search", false, self.driver_search), ("liveness", true, self.driver_liveness)] {
            let t = self.totals(live);
            if t.work.is_zero() {
                continue;
            }
            s += &format!(
                "  {name}: work {:.0} ms, serial {:.0} ms (fraction {:.3}: Amdahl 2 threads {:.2}x), critical path \
                 {:.0} ms (work/critical {:.2}x at {} threads); driving thread CPU {:.0} ms\n",
                ms(t.work),
                ms(t.serial),
                t.serial_fraction(),
                t.amdahl(2),
                ms(t.critical),
                t.balance_speedup(),
                self.threads,
                ms(driver)
            );
        }
        if !self.passes.is_empty() {
            let passes: Vec<String> = self.passes.iter().map(|(n, d)| format!("{n} {:.0}", ms(*d))).collect();
            s += &format!("  liveness passes (ms): {}\n", passes.join(", "));
        }
        let busy: Vec<String> = self.busy.iter().map(|&b| format!("{:.0}", ms(b))).collect();
        s += &format!("  busy per thread in parallel tasks (ms): {}\n", busy.join(" "));
        s
    }
}

/// Collects a [`Profile`] (or nothing, when off).
pub(crate) struct Prof {
    on: bool,
    times: Vec<PhaseTimes>,
    busy: Vec<u64>,
    driver_start: u64,
    /// The driving thread's CPU time over the search and over the liveness checks.
    driver: [Duration; 2],
    /// [`Profile::passes`].
    pub(crate) passes: Vec<(String, Duration)>,
}

/// A time stamp from [`Prof::now`] (`None` when off).
pub(crate) type Stamp = Option<u64>;

impl Prof {
    pub(crate) fn new(on: bool) -> Self {
        Prof {
            on,
            times: vec![PhaseTimes::default(); Phase::ALL.len()],
            busy: Vec::new(),
            driver_start: 0,
            driver: [Duration::ZERO; 2],
            passes: Vec::new(),
        }
    }

    pub(crate) fn now(&self) -> Stamp {
        self.on.then(thread_cpu_ns)
    }

    fn at(&mut self, phase: Phase) -> &mut PhaseTimes {
        let i = Phase::ALL.iter().position(|&p| p == phase).expect("every phase is listed");
        &mut self.times[i]
    }

    /// Ends a serial section of `phase` begun at `since`; returns a stamp for the next one.
    pub(crate) fn serial(&mut self, phase: Phase, since: Stamp) -> Stamp {
        let t0 = since?;
        let t = thread_cpu_ns();
        let p = self.at(phase);
        p.serial += Duration::from_nanos(t.saturating_sub(t0));
        p.sections += 1;
        Some(t)
    }

    /// A parallel section: hand [`Section::task`] to its tasks, then [`Prof::end`] it.
    pub(crate) fn section(&self) -> Section {
        let n = if self.on { rayon::current_num_threads() } else { 0 };
        Section { on: self.on, per_thread: (0..n).map(|_| AtomicU64::new(0)).collect() }
    }

    pub(crate) fn end(&mut self, phase: Phase, sec: Section) {
        if !self.on {
            return;
        }
        let per: Vec<u64> = sec.per_thread.iter().map(|a| a.load(Relaxed)).collect();
        if self.busy.len() < per.len() {
            self.busy.resize(per.len(), 0);
        }
        for (b, &p) in self.busy.iter_mut().zip(&per) {
            *b += p;
        }
        let p = self.at(phase);
        p.parallel += Duration::from_nanos(per.iter().sum());
        p.span += Duration::from_nanos(per.iter().copied().max().unwrap_or(0));
        p.sections += 1;
    }

    /// Runs `f`, which parallelises inside itself (its tasks are not wrapped in
    /// [`Section::task`]), as a parallel section of `phase`: every pool thread's CPU time is
    /// read before and after (`rayon::broadcast`, a barrier each: use it for long sections or
    /// a few per batch). A thread's rayon spinning while it waits counts as busy here.
    pub(crate) fn opaque<R>(&mut self, phase: Phase, f: impl FnOnce() -> R) -> R {
        if !self.on {
            return f();
        }
        let before = rayon::broadcast(|_| thread_cpu_ns());
        let r = f();
        let after = rayon::broadcast(|_| thread_cpu_ns());
        let sec = self.section();
        for ((a, b), slot) in after.iter().zip(&before).zip(&sec.per_thread) {
            slot.store(a.saturating_sub(*b), Relaxed);
        }
        self.end(phase, sec);
        r
    }

    /// Marks the start of the driving thread's part (search or liveness).
    pub(crate) fn start_driver(&mut self) {
        if self.on {
            self.driver_start = thread_cpu_ns();
        }
    }

    /// Marks the end of the driving thread's part begun by [`start_driver`](Prof::start_driver).
    pub(crate) fn end_driver(&mut self, liveness: bool) {
        if self.on {
            self.driver[usize::from(liveness)] +=
                Duration::from_nanos(thread_cpu_ns().saturating_sub(self.driver_start));
        }
    }

    /// Adds what this collector saw to `into` (the search's and the liveness checks' collectors
    /// go to one profile).
    pub(crate) fn merge_into(self, into: &mut Profile) {
        if !self.on {
            return;
        }
        if into.phases.is_empty() {
            into.phases = Phase::ALL.iter().map(|&p| (p, PhaseTimes::default())).collect();
        }
        for ((_, t), s) in into.phases.iter_mut().zip(self.times) {
            t.serial += s.serial;
            t.parallel += s.parallel;
            t.span += s.span;
            t.sections += s.sections;
        }
        if into.busy.len() < self.busy.len() {
            into.busy.resize(self.busy.len(), Duration::ZERO);
        }
        for (b, &s) in into.busy.iter_mut().zip(&self.busy) {
            *b += Duration::from_nanos(s);
        }
        into.driver_search += self.driver[0];
        into.driver_liveness += self.driver[1];
        into.passes.extend(self.passes);
    }
}

thread_local! {
    /// This thread is in a [`Section::task`].
    static IN_TASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The per-thread CPU time of one parallel section.
pub(crate) struct Section {
    on: bool,
    per_thread: Vec<AtomicU64>,
}

impl Section {
    /// Runs one task of the section, charging its CPU time to the thread that ran it.
    /// A task run inside another on the same thread (a thread that waits in a task for work
    /// it spawned runs it meanwhile) is charged once, with the outer one.
    #[inline]
    pub(crate) fn task<R>(&self, f: impl FnOnce() -> R) -> R {
        if !self.on || IN_TASK.get() {
            return f();
        }
        IN_TASK.set(true);
        let t0 = thread_cpu_ns();
        let r = f();
        IN_TASK.set(false);
        let i = rayon::current_thread_index().unwrap_or(0).min(self.per_thread.len().saturating_sub(1));
        if let Some(a) = self.per_thread.get(i) {
            a.fetch_add(thread_cpu_ns().saturating_sub(t0), Relaxed);
        }
        r
    }

    /// [`Section::task`] that also returns the task's CPU time (zero when off).
    pub(crate) fn timed<R>(&self, f: impl FnOnce() -> R) -> (R, Duration) {
        let t0 = if self.on { thread_cpu_ns() } else { 0 };
        let r = self.task(f);
        let t = if self.on { thread_cpu_ns().saturating_sub(t0) } else { 0 };
        (r, Duration::from_nanos(t))
    }
}

/// Whether `KLPCHECK_PROFILE` asks for a profile (set and not "0").
pub(crate) fn from_env() -> bool {
    std::env::var_os("KLPCHECK_PROFILE").is_some_and(|v| !v.is_empty() && v != "0")
}
