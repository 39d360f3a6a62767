//! Running an exploration engine and collecting what the report needs, whatever the engine.

use klp_checker::Verdict;
use klp_model::{Action, KlpSystem};
use stateright::{Checker, Expectation, Model};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Limits of one run.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub threads: usize,
    pub max_states: Option<u64>,
    pub max_depth: Option<usize>,
    pub timeout: Option<Duration>,
    pub max_memory: Option<u64>,
    /// Count coverage (`check --coverage`; klpcheck's engine only).
    pub coverage: bool,
    /// The visited set (`check --store`; klpcheck's engine only).
    pub store: klp_checker::Store,
    /// Reduce over identical tasks where that applies ([`symmetry_mode`]; klpcheck's engine only).
    pub symmetry: Symmetry,
    /// Disk spill, checkpoints and resume (`check` only; klpcheck's engine only).
    pub disk: Disk,
}

/// `check --spill / --checkpoint / --resume`.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    pub spill: Option<PathBuf>,
    pub checkpoint: Option<(PathBuf, Duration)>,
    pub resume: Option<PathBuf>,
}

impl Disk {
    fn any(&self) -> bool {
        self.spill.is_some() || self.checkpoint.is_some() || self.resume.is_some()
    }
}

/// What a checkpoint must have been written by to be resumed: the scenario and its variant
/// (the whole resolved spec), the properties checked, coverage, and this klpcheck binary
/// (its version and a hash of the executable: another build may encode states differently).
pub fn identity(model: &KlpSystem, coverage: bool) -> serde_json::Value {
    let exe = std::env::current_exe().and_then(std::fs::read).map(|b| klp_checker::fingerprint(&b)).unwrap_or(0);
    let mut props: Vec<&str> = model.properties().iter().map(|p| p.name).collect();
    props.extend(crate::select::liveness().iter().map(|p| p.name));
    serde_json::json!({
        "scenario": model.spec.name,
        "variant": model.spec.variant.describe(),
        "spec": format!("{:016x}", klp_checker::fingerprint(&format!("{:?}", model.spec))),
        "properties": props.join(","),
        "coverage": coverage,
        "klpcheck": format!("{} (executable {exe:016x})", env!("CARGO_PKG_VERSION")),
    })
}

/// Symmetry reduction over identical tasks: `--symmetry`, `--no-symmetry`, or neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Symmetry {
    /// Reduce wherever the scenario has identical tasks; if the reduced run leaves a property
    /// undecided (a possibility property the atomic-pass check cannot show, a discovery the
    /// unreduced model does not confirm), check the scenario again unreduced, so that a plain
    /// `check` always ends with the unreduced model's verdicts (README "Symmetry reduction").
    #[default]
    Auto,
    /// Reduce whenever the scenario has identical tasks, and report what the reduction leaves
    /// undecided as incomplete.
    On,
    /// Never reduce.
    Off,
}

/// Renamings beyond which confirming a found trace (`symmetry::concretise`: up to `order()`
/// states per step) and unfolding a leads-to region (src/lasso/region.rs: `order()` states per
/// stored state) cost more than the reduction saves.
const MAX_RENAMINGS: usize = 720;

/// Whether a run of klpcheck's engine reduces over identical tasks, and the line that says so
/// (`None`: nothing to say). README "Symmetry reduction": the reduced model over-approximates
/// (a pass may visit identical tasks in any order), so "holds" and "unreachable" are sound for
/// safety, leads-to and deadlock, every violation or example is confirmed on the unreduced
/// model before it is reported ([`confirm`], [`confirm_live`]), a leads-to candidate of the
/// quotient is decided on the unreduced model in its region ([`decide_live`]), and a
/// possibility property that holds on the quotient is decided exactly where every pass can run
/// in one go (`klp_checker::SECTIONS_EXACT`), else left incomplete. `Auto` and `On` both reduce;
/// `Auto` reruns unreduced when something is left undecided ([`run_klpcheck`]).
pub fn symmetry_mode(model: &KlpSystem, wanted: Symmetry) -> (bool, Option<String>) {
    let groups = klp_model::symmetry::Groups::of(&model.spec);
    let sizes = || groups.0.iter().map(|g| g.len().to_string()).collect::<Vec<_>>().join(", ");
    if groups.is_empty() {
        let say = (wanted == Symmetry::On).then(|| "off: the scenario has no interchangeable tasks".to_string());
        return (false, say);
    }
    if groups.order() > MAX_RENAMINGS {
        let why = format!("off: groups of {} identical tasks have more than {MAX_RENAMINGS} renamings", sizes());
        return (false, Some(why));
    }
    match wanted {
        Symmetry::Off => (false, Some(format!("off (--no-symmetry): groups of {} identical tasks", sizes()))),
        Symmetry::Auto | Symmetry::On => (true, Some(format!("on: groups of {} identical tasks", sizes()))),
    }
}

/// A violation or example of the reduced model, checked on the unreduced one
/// (klp_model::symmetry::concretise): the concrete trace's actions, or `None` when no path of
/// the unreduced model follows it.
fn confirm(
    model: &KlpSystem,
    groups: &klp_model::symmetry::Groups,
    name: &str,
    expectation: &Expectation,
    states: &[klp_model::State],
) -> Option<Vec<Action>> {
    let props = model.properties();
    let p = props.iter().find(|p| p.name == name)?;
    let found = |s: &klp_model::State| match expectation {
        Expectation::Always => !(p.condition)(model, s),
        _ => (p.condition)(model, s),
    };
    klp_model::symmetry::concretise(model, groups, states, found).map(|(actions, _)| actions)
}

/// A liveness violation of a reduced run, confirmed on the unreduced model: a leads-to lasso
/// lifted (crate::lasso), a possibility or deadlock state reached along the trace's orbits
/// (either is a property of the orbit). The concrete actions and the cycle start, or `None`.
fn confirm_live(
    model: &KlpSystem,
    groups: &klp_model::symmetry::Groups,
    name: &str,
    d: &klp_checker::Discovery<klp_model::KlpSystem>,
    cycle_start: Option<usize>,
) -> Option<(Vec<Action>, Option<usize>)> {
    let live = klp_properties::liveness::catalogue();
    let p = live.iter().find(|p| p.name == name)?;
    match p.kind {
        klp_checker::Liveness::LeadsTo { p, q } => {
            // The lasso part (from the P state on) is all ¬Q: start from the first P state of
            // the trace's last ¬Q stretch (the path from it to the reported one stays in ¬Q).
            let from = d.states.iter().rposition(|s| q(model, s)).map_or(0, |i| i + 1);
            let at = (from..d.states.len()).find(|&i| p(model, &d.states[i]))?;
            let (actions, cycle) = crate::lasso::lift(model, groups, &d.states, at, p, q)?;
            Some((actions, Some(cycle)))
        }
        // A possibility or deadlock discovery's cycle, if any, is its last state: it stays at
        // the end of the concrete path, which may be longer than the reduced one.
        _ => klp_model::symmetry::concretise(model, groups, &d.states, |_| true).map(|(a, _)| {
            let longer = a.len().saturating_sub(d.actions.len());
            (a, cycle_start.map(|c| c + longer))
        }),
    }
}

/// Whether a leads-to candidate of a reduced run is refuted on the unreduced model: no state
/// of its region (the orbits of `region`, crate::lasso::region) starts a fair run that stays
/// there, so the property holds. `false` for other properties, without a region (the engine
/// found it larger than the bound) or when the region has a candidate of its own.
fn decide_live(
    model: &KlpSystem,
    groups: &klp_model::symmetry::Groups,
    name: &str,
    region: Option<&[klp_model::State]>,
    threads: usize,
) -> bool {
    let live = klp_properties::liveness::catalogue();
    let Some(klp_checker::Liveness::LeadsTo { q, .. }) = live.iter().find(|p| p.name == name).map(|p| &p.kind) else {
        return false;
    };
    let Some(region) = region else { return false };
    crate::lasso::region::decide(model, groups, region, *q, threads) == crate::lasso::region::Decided::Holds
}

/// A leads-to property whose quotient candidate the unreduced model refutes.
pub const REGION_HOLDS: &str =
    "decided on the unreduced model: no state in the orbits of the quotient's candidate cycles starts a fair run that avoids the goal";

/// A possibility property that holds on the reduced model: undecided for the unreduced one.
pub const POSSIBILITY_UNDECIDED: &str =
    "holds on the reduced model, whose passes may visit identical tasks in any order (more paths to the goal): rerun with --no-symmetry to decide";

/// What a reduced run found but the unreduced model does not follow says.
pub const UNCONFIRMED: &str =
    "found only in the reduced model (a pass visiting identical tasks in an order the task list cannot produce there): rerun with --no-symmetry";

/// What a reduced run's liveness violation that the unreduced model does not confirm says.
pub const UNCONFIRMED_LIVE: &str =
    "a violation of the reduced model (its fairness merged over identical tasks) that no run of the unreduced model along it confirms: rerun with --no-symmetry";

/// One property's result: the one shape it has from the engine to every report (`check`'s
/// table and `--json`, `compare`'s formats, `ci` and the expectations file). The verdict is
/// decided by the engine (klp-checker, or [`Verdict::of`] for stateright's) and never again.
pub struct PropertyResult {
    pub name: &'static str,
    pub expectation: Expectation,
    pub verdict: Verdict,
    /// The discovery's actions from the initial state (counterexample or example), if any.
    pub path: Option<Vec<Action>>,
    /// Liveness only: index in `path` of the first step of the repeating cycle.
    pub cycle_start: Option<usize>,
    /// Liveness: what the counterexample shows; unchecked: why it was not checked.
    pub note: String,
    /// The trace file written for the discovery (violations, and witnesses asked for).
    pub trace: Option<PathBuf>,
}

impl PropertyResult {
    fn safety(name: &'static str, expectation: Expectation, path: Option<Vec<Action>>, complete: bool) -> Self {
        let verdict = Verdict::of(&expectation, path.is_some(), complete);
        PropertyResult { name, expectation, verdict, path, cycle_start: None, note: String::new(), trace: None }
    }

    /// The property's kind as `klpcheck list properties` names it.
    pub fn kind(&self) -> &'static str {
        kind(&self.expectation)
    }

    /// Length of the counterexample or witness, if one was found.
    pub fn steps(&self) -> Option<usize> {
        self.path.as_ref().map(Vec::len)
    }

    /// What `check`'s table says under a property: the length of its counterexample (a lasso:
    /// prefix and cycle) and its trace file, or the engine's note.
    pub fn note_column(&self) -> String {
        use klp_traces::steps;
        match (&self.path, &self.trace) {
            (Some(actions), Some(file)) => match self.cycle_start {
                Some(c) if c < actions.len() => {
                    format!("lasso: {} then a cycle of {}, {}", steps(c), steps(actions.len() - c), file.display())
                }
                Some(_) => format!("{}, then stuck, {}", steps(actions.len()), file.display()),
                None => format!("{}, {}", steps(actions.len()), file.display()),
            },
            (Some(actions), None) => steps(actions.len()),
            (None, _) => self.note.clone(),
        }
    }
}

/// A property kind's name: "always", "sometimes", "eventually".
pub fn kind(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

/// The verdict in a text table: VIOLATED in capitals, so that it stands out.
pub fn word(v: Verdict) -> &'static str {
    match v {
        Verdict::Violated => "VIOLATED",
        v => v.name(),
    }
}

/// What exploring a model returned, whatever the engine.
pub struct Exploration {
    pub unique_states: u64,
    pub generated: u64,
    pub max_depth: u64,
    pub elapsed: Duration,
    /// `None` if the whole reachable state space was explored; else the limit that stopped it.
    pub incomplete: Option<String>,
    /// Safety properties in catalogue order, then the liveness properties.
    pub properties: Vec<PropertyResult>,
    /// Peak RSS of the process (klpcheck engine only).
    pub peak_rss_bytes: Option<u64>,
    /// Peak RSS per distinct state (klpcheck engine only).
    pub bytes_per_state: Option<f64>,
    /// Probability that a 64-bit fingerprint collision dropped a state (klpcheck engine only).
    pub collision_probability: Option<f64>,
    /// Peak bytes per state of the explored graph kept for liveness (klpcheck engine only).
    pub graph_bytes_per_state: Option<f64>,
    /// Time spent building the graph and checking liveness (klpcheck engine only).
    pub liveness_elapsed: Option<Duration>,
    /// What the memory was made of at the search's peak and during the liveness checks
    /// (klpcheck engine only; the second is `None` without liveness).
    pub memory: Option<(klp_checker::MemoryParts, Option<klp_checker::MemoryParts>)>,
    /// What `--coverage` counted (klpcheck engine only; crate::coverage lays the counters out).
    pub coverage: Option<klp_checker::Coverage>,
    /// Bitstate store only: its size and fill (klpcheck engine only).
    pub bitstate: Option<klp_checker::BitstateStats>,
    /// The size of each BFS level begun (klpcheck engine only; `--estimate` projects from it).
    pub level_sizes: Vec<u64>,
    /// Symmetry reduction: whether it was on and why ([`symmetry_mode`]); `None`: the scenario
    /// has no identical tasks (or the engine does not reduce).
    pub symmetry: Option<String>,
    /// The search stored one state per orbit of identical tasks.
    pub reduced: bool,
    /// The sizes of the scenario's groups of identical tasks, reduced or not.
    pub symmetry_groups: Vec<usize>,
}

impl Exploration {
    pub fn violated(&self) -> impl Iterator<Item = &PropertyResult> {
        self.properties.iter().filter(|p| p.verdict == Verdict::Violated)
    }
    /// `check`'s exit code: 1 if a property is violated; else 3 if a limit stopped the search or
    /// the engine could not check or decide a property (`unchecked`: liveness under
    /// stateright's engine; `incomplete` after a complete search: a possibility property under
    /// symmetry reduction): neither may read as "every property holds"; else 0.
    pub fn exit_code(&self) -> u8 {
        if self.violated().next().is_some() {
            1
        } else if self.incomplete.is_some()
            || self.properties.iter().any(|p| matches!(p.verdict, Verdict::Unchecked | Verdict::Incomplete))
        {
            3
        } else {
            0
        }
    }
}

/// klpcheck's own engine (`klp-checker`): level-synchronous parallel BFS on fingerprints
/// with parent links; counterexamples are shortest and identical for any thread count, and
/// every limit stops the run with an incomplete verdict.
pub fn run_klpcheck(
    model: &KlpSystem,
    limits: &Limits,
    progress: crate::progress::Mode,
) -> anyhow::Result<Exploration> {
    let live = crate::select::liveness();
    let with_liveness = !live.is_empty();
    let (reduced, symmetry) = symmetry_mode(model, limits.symmetry);
    let groups = klp_model::symmetry::Groups::of(&model.spec);
    let reduced_model;
    let explored = if reduced {
        // Successors land on their representatives (one encode a successor; opt out with
        // `KLPCHECK_CANONICAL_SUCCESSORS=0`, to compare). The first path BFS then finds to an
        // orbit may be one only the reduced model has; `concretise` confirms a discovery by any
        // unreduced path to its last orbit when the trace's orbits cannot be followed. Never
        // with coverage, which compares a task's slot before and after its step.
        let m = model.clone().with_free_pass_order(groups.clone());
        let canon = !limits.coverage && std::env::var_os("KLPCHECK_CANONICAL_SUCCESSORS").is_none_or(|v| v != "0");
        reduced_model = if canon { m.with_canonical_successors() } else { m };
        &reduced_model
    } else {
        model
    };
    let mut b = klp_checker::Bfs::new(explored)
        .store(limits.store)
        .threads(limits.threads.max(1))
        .max_states(limits.max_states)
        .max_depth(limits.max_depth)
        .timeout(limits.timeout)
        .max_memory(limits.max_memory)
        .stop_flag(crate::interrupted())
        // States as bytes (model/src/pack.rs): a frontier of ~40 bytes a state instead of a
        // kilobyte, fingerprinted in one pass.
        .pack(klp_model::pack::encode, klp_model::pack::decode)
        // Frontier states decoded into, and successors built in, reused buffers (a `State` is
        // ~1.3 KB of fixed-capacity arrays, and each copy of one showed in the profile).
        .decode_into(klp_model::pack::decode_into)
        .step_into(KlpSystem::successor_into);
    // Without liveness properties (`--no-liveness`, or `--property` naming none) the engine
    // keeps no state graph.
    let kinds: Vec<(&'static str, bool)> =
        live.iter().map(|p| (p.name, matches!(p.kind, klp_checker::Liveness::Possibility { .. }))).collect();
    if with_liveness {
        b = b
            .liveness(live, klp_properties::liveness::fairness)
            .quotient_fairness(klp_properties::liveness::quotient_fairness)
            .quotient_region(crate::lasso::region::REGION_STATES / groups.order().max(1));
        // `KLPCHECK_NO_ATOMIC_PASSES` (tests): leave the check out, so that a possibility
        // property that holds on the quotient stays undecided (the path `Auto` reruns from).
        if reduced && std::env::var_os("KLPCHECK_NO_ATOMIC_PASSES").is_none() {
            // A pass run in one go has the same outcome in any order: possibility exactly.
            b = b.atomic_sections(klp_properties::liveness::in_pass, klp_properties::liveness::pass_step);
        }
    }
    if reduced {
        let g = groups.clone();
        b = b.symmetry(move |s| g.canonical(s));
        if explored.canonical_successors() {
            b = b.canonical_successors();
        }
    }
    if limits.coverage {
        b = b.coverage(crate::coverage::counters(&model.spec), crate::coverage::count);
    }
    let display = std::sync::Arc::new(crate::progress::Display::new(progress));
    if let Some(every) = progress.every() {
        let d = display.clone();
        b = b.progress_interval(every).progress(move |p: &klp_checker::Progress| d.update(p));
    }
    let d = &limits.disk;
    if d.any() {
        b = b.identity(identity(model, limits.coverage).to_string());
    }
    if let Some(dir) = &d.spill {
        b = b.spill(dir);
    }
    if let Some((dir, every)) = &d.checkpoint {
        b = b.checkpoint(dir, *every);
    }
    if let Some(dir) = &d.resume {
        b = b.resume(dir);
    }
    let out = crate::distributed::try_run(b);
    if let Ok(d) = std::sync::Arc::try_unwrap(display) {
        d.finish();
    }
    let out = out?;
    let bitstate = out.stats.bitstate;
    // A bitstate search that ran out of states: what it did not find may be among the states
    // it dropped.
    let approx = bitstate.map(|b| format!("bitstate, estimated coverage {}", percent(b.coverage())));
    let incomplete = match out.stop {
        klp_checker::StopReason::Exhausted => None,
        klp_checker::StopReason::MaxStates => Some("max-states".to_string()),
        klp_checker::StopReason::MaxDepth => Some("max-depth".to_string()),
        klp_checker::StopReason::Timeout => Some("timeout".to_string()),
        klp_checker::StopReason::MaxMemory => Some("max-memory".to_string()),
        klp_checker::StopReason::Stopped => Some("interrupted".to_string()),
        klp_checker::StopReason::Finished => Some("stopped early".to_string()),
        klp_checker::StopReason::Bitstate => approx.clone(),
    };
    // The checker decided every verdict; they are carried over as they are, except that a
    // reduced run's discoveries are confirmed on the unreduced model first.
    let properties = out
        .properties
        .into_iter()
        .chain(out.liveness)
        .map(|p| {
            let mut note = match (&approx, p.verdict, &p.expectation) {
                (Some(a), Verdict::Incomplete, Expectation::Always) => format!("no violation found ({a})"),
                (Some(a), Verdict::Incomplete, _) => format!("not found ({a})"),
                (Some(_), Verdict::Unchecked, _) => "bitstate keeps no state graph: liveness not checked".to_string(),
                _ => p.note,
            };
            let mut verdict = p.verdict;
            let possibility = kinds.iter().any(|&(n, poss)| n == p.name && poss);
            if reduced
                && possibility
                && verdict == Verdict::Holds
                && note != klp_checker::VACUOUS
                && note != klp_checker::SECTIONS_EXACT
            {
                verdict = Verdict::Incomplete;
                note = POSSIBILITY_UNDECIDED.to_string();
            }
            let mut cycle_start = p.cycle_start;
            let region = p.region;
            let path = match p.discovery {
                Some(_) if reduced && decide_live(model, &groups, p.name, region.as_deref(), limits.threads) => {
                    verdict = Verdict::Holds;
                    note = REGION_HOLDS.to_string();
                    None
                }
                Some(d) if reduced && p.expectation == Expectation::Eventually => {
                    let concrete = confirm_live(model, &groups, p.name, &d, p.cycle_start);
                    if concrete.is_none() {
                        verdict = Verdict::Incomplete;
                        note = UNCONFIRMED_LIVE.to_string();
                    }
                    concrete.map(|(actions, c)| {
                        cycle_start = c;
                        actions
                    })
                }
                Some(d) if reduced && p.expectation != Expectation::Eventually => {
                    let concrete = confirm(model, &groups, p.name, &p.expectation, &d.states);
                    if concrete.is_none() {
                        verdict = Verdict::Incomplete;
                        note = UNCONFIRMED.to_string();
                    }
                    concrete
                }
                d => d.map(|d| d.actions),
            };
            PropertyResult { note, name: p.name, expectation: p.expectation, verdict, path, cycle_start, trace: None }
        })
        .collect::<Vec<_>>();
    let incomplete = incomplete.or_else(|| {
        properties
            .iter()
            .any(|p| p.note == UNCONFIRMED || p.note == UNCONFIRMED_LIVE)
            .then(|| "an unconfirmed discovery of symmetry reduction".into())
    });
    let explored = Exploration {
        unique_states: out.stats.unique_states,
        generated: out.stats.generated_states,
        max_depth: out.stats.max_depth as u64,
        elapsed: out.stats.elapsed,
        incomplete,
        properties,
        peak_rss_bytes: Some(out.stats.peak_rss_bytes),
        bytes_per_state: Some(out.stats.bytes_per_state()),
        collision_probability: Some(out.stats.collision_probability()),
        graph_bytes_per_state: (with_liveness && bitstate.is_none()).then(|| out.stats.graph_bytes_per_state()),
        liveness_elapsed: (with_liveness && bitstate.is_none()).then_some(out.stats.liveness_elapsed),
        memory: Some((
            out.stats.memory_search.clone(),
            (with_liveness && bitstate.is_none()).then(|| out.stats.memory_liveness.clone()),
        )),
        coverage: out.coverage,
        bitstate,
        level_sizes: out.stats.level_sizes,
        symmetry,
        reduced,
        symmetry_groups: groups.0.iter().map(|g| g.len()).collect(),
    };
    // `Auto`: a complete reduced search that left a property undecided is followed by the
    // unreduced one, whose verdicts are reported (what `check` without options promises). Not
    // with checkpoints or a resume, which belong to the first run.
    let undecided: Vec<&str> =
        explored.properties.iter().filter(|p| p.verdict == Verdict::Incomplete).map(|p| p.name).collect();
    if limits.symmetry == Symmetry::Auto
        && reduced
        && explored.incomplete.is_none()
        && !undecided.is_empty()
        && !d.any()
    {
        let mut off = limits.clone();
        off.symmetry = Symmetry::Off;
        let mut again = run_klpcheck(model, &off, progress)?;
        again.symmetry = Some(format!(
            "off: the reduced run ({} states) left {} undecided, so it was checked again unreduced",
            explored.unique_states,
            undecided.join(", ")
        ));
        return Ok(again);
    }
    Ok(explored)
}

/// A coverage fraction as a percentage that never rounds a loss up to 100%.
pub fn percent(f: f64) -> String {
    let p = f * 100.0;
    if p >= 100.0 {
        "100%".to_string()
    } else {
        // Enough digits to show the loss: 99.9997% rather than 100.0%.
        let digits = (-(100.0 - p).log10()).ceil().clamp(1.0, 4.0) as usize + 1;
        format!("{:.*}%", digits, (p * 10f64.powi(digits as i32)).floor() / 10f64.powi(digits as i32))
    }
}

/// stateright's BFS. Its known limits (why klpcheck has its own engine, checker/src/lib.rs):
/// counterexamples are not always shortest with several threads, and `timeout` does not stop
/// a single-threaded run.
/// Completeness is decided here, never by stateright's `assert_properties()`.
pub fn run_stateright(model: KlpSystem, limits: &Limits) -> Exploration {
    let props = model.properties();
    let mut b = model.checker().threads(limits.threads.max(1)).finish_when(stateright::HasDiscoveries::AllFailures);
    if let Some(n) = limits.max_states {
        b = b.target_state_count(n as usize);
    }
    if let Some(d) = limits.max_depth {
        b = b.target_max_depth(d);
    }
    if let Some(t) = limits.timeout {
        b = b.timeout(t);
    }
    let start = Instant::now();
    let checker = b.spawn_bfs().join();
    let elapsed = start.elapsed();
    let unique = checker.unique_state_count() as u64;
    let generated = checker.state_count() as u64;
    let depth = checker.max_depth() as u64;
    let paths: Vec<Option<Vec<Action>>> =
        props.iter().map(|p| checker.discovery(p.name).map(|path| path.into_actions())).collect();
    // `HasDiscoveries::AllFailures` stops the search once every `always` property has a
    // counterexample; `sometimes` properties not found by then are incomplete.
    let all_failed =
        props.iter().zip(&paths).filter(|(p, _)| p.expectation != Expectation::Sometimes).all(|(_, f)| f.is_some());
    let incomplete = if limits.timeout.is_some_and(|t| elapsed >= t) {
        Some("timeout".to_string())
    } else if limits.max_states.is_some_and(|n| generated >= n) {
        Some("max-states".to_string())
    } else if limits.max_depth.is_some_and(|d| depth as usize >= d) {
        Some("max-depth".to_string())
    } else if all_failed {
        Some("stopped once every always property was violated".to_string())
    } else if limits.max_memory.is_some() {
        Some("--max-memory is not supported by the stateright engine".to_string())
    } else {
        None
    };
    let complete = incomplete.is_none();
    let mut properties: Vec<PropertyResult> = props
        .iter()
        .zip(paths)
        .map(|(p, path)| PropertyResult::safety(p.name, p.expectation.clone(), path, complete))
        .collect();
    // stateright's `eventually` looks at terminal states only (no cycles, no fairness): the
    // liveness properties are listed, never checked.
    let live = klp_properties::liveness::docs().into_iter().filter(|d| crate::select::selected(d.name, &d.expectation));
    properties.extend(live.map(|d| PropertyResult {
        name: d.name,
        expectation: Expectation::Eventually,
        verdict: Verdict::Unchecked,
        path: None,
        cycle_start: None,
        note: "stateright's engine does not check liveness".to_string(),
        trace: None,
    }));
    Exploration {
        unique_states: unique,
        generated,
        max_depth: depth,
        elapsed,
        incomplete,
        properties,
        peak_rss_bytes: None,
        bytes_per_state: None,
        collision_probability: None,
        graph_bytes_per_state: None,
        liveness_elapsed: None,
        memory: None,
        coverage: None,
        bitstate: None,
        level_sizes: Vec::new(),
        symmetry: None,
        reduced: false,
        symmetry_groups: Vec::new(),
    }
}
