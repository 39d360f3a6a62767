//! The one JSON document `check --json`, `compare --format json` and `ci --json` print
//! ([`Document`]; docs/json.md describes it, docs/report.schema.json is its JSON Schema,
//! generated from these types): a list of runs (a scenario under a variant), each with its
//! state counts, the limits it was given and the one it hit, and every property's verdict with
//! the length of its counterexample or witness and the files of its trace; then the verdict of
//! the whole command and its exit code. Every field is structured (no numbers inside text), so
//! a script reads `runs[0].properties[i].steps`, not a note column.

use crate::engine::{Exploration, Limits, PropertyResult};
use klp_checker::Verdict;
use klp_traces::naming;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The document's `schema` value; raised when a field changes meaning or goes away.
pub const SCHEMA: &str = "klpcheck-report/1";

/// What `check --json`, `compare --format json` and `ci --json` print.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Always "klpcheck-report/1".
    pub schema: String,
    /// The program and its version, e.g. "klpcheck 0.1.0".
    pub tool: String,
    /// The command that printed it.
    pub command: CommandName,
    /// `compare`: the variants in column order (runs are scenario-major, one per variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<String>>,
    /// One entry per scenario x variant checked (`check`: exactly one).
    pub runs: Vec<Run>,
    /// `ci`: the scenario x variant pairs the expectations file should hold but does not
    /// (`<scenario>@<variant>`; each is a difference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_entries: Option<Vec<String>>,
    /// The verdict over all runs.
    pub verdict: Summary,
}

/// The command that printed a [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommandName {
    Check,
    Compare,
    Ci,
}

/// One scenario under one variant.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The scenario's name (its file stem).
    pub scenario: String,
    /// The scenario file (a shipped one as `model/scenarios/NAME.toml`).
    pub scenario_path: String,
    /// The variant's label: "upstream", "scenario" (its own `[variant]`), a preset's name or
    /// "custom" (`--set`).
    pub variant: String,
    /// Every design knob of the variant (`klpcheck list knobs`).
    pub knobs: serde_json::Value,
    /// The engine: "klpcheck" or "stateright".
    pub engine: String,
    /// Distinct states explored (what the expectations file pins).
    pub unique_states: u64,
    /// Transitions generated, duplicates included.
    pub generated: u64,
    /// The deepest BFS level reached (steps from the initial state).
    pub max_depth: u64,
    /// Wall time of the search, liveness included.
    pub seconds: f64,
    /// Whether the whole reachable state space was explored.
    pub complete: bool,
    /// The limit that stopped the search ("max-states", "max-depth", "timeout",
    /// "max-memory", "interrupted", ...), null when complete.
    pub limit_hit: Option<String>,
    /// The limits the run was given.
    pub limits: RunLimits,
    /// What the process used (klpcheck's engine only; null under stateright's).
    pub resources: Option<Resources>,
    /// Every property checked, safety properties in catalogue order, then liveness.
    pub properties: Vec<Property>,
    /// `check`'s exit code for this run alone (0, 1 or 3; see [`Summary::exit_code`]).
    pub exit_code: u8,
    /// Whether the search stored one state per orbit of identical tasks (symmetry reduction;
    /// README "Symmetry reduction": its verdicts are the unreduced model's, its traces concrete).
    pub symmetry: bool,
    /// The sizes of the scenario's groups of identical tasks (empty: none), reduced or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symmetry_groups: Vec<usize>,
    /// Why the reduction was on or off (absent when the scenario has no identical tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetry_note: Option<String>,
    /// The number of states in each BFS level begun (klpcheck's engine; `check --estimate`
    /// projects from them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level_sizes: Vec<u64>,
    /// `check --store bitstate`: the table and its estimated coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitstate: Option<Bitstate>,
    /// `check --coverage`: what fired (README "Random walks and coverage").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<serde_json::Value>,
    /// `ci`: the run against its entry in the expectations file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

/// A bitstate store (`check --store bitstate`) in SPIN's terms.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bitstate {
    /// Bits in the table.
    pub bits: u64,
    /// Bits set per state (SPIN's -k).
    pub hashes: u32,
    /// States stored (not already present in the table when generated).
    pub stored: u64,
    /// Bits per stored state (SPIN: best if over 100).
    pub hash_factor: f64,
    /// Probability that the next new state would have been dropped.
    pub omission_probability: f64,
    /// Estimated share of the reachable states stored.
    pub estimated_coverage: f64,
}

/// The limits a run was given (null: none).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    pub threads: usize,
    pub max_states: Option<u64>,
    pub max_depth: Option<usize>,
    pub timeout_seconds: Option<u64>,
    pub max_memory_bytes: Option<u64>,
}

/// Memory and time of klpcheck's engine.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Peak resident set size of the process.
    pub peak_rss_bytes: u64,
    /// Peak RSS over distinct states: meaningful only for large runs (the process's own
    /// memory dominates below about a million states).
    pub bytes_per_state: f64,
    /// Probability that a 64-bit fingerprint collision dropped a state.
    pub collision_probability: f64,
    /// Peak bytes per state of the graph kept for liveness (null without liveness properties).
    pub graph_bytes_per_state: Option<f64>,
    /// Time spent building that graph and checking liveness (null without liveness).
    pub liveness_seconds: Option<f64>,
    /// What the memory was made of at the search's highest RSS sample.
    pub memory_search: MemoryParts,
    /// What it was made of during the liveness checks (null without liveness).
    pub memory_liveness: Option<MemoryParts>,
}

/// The bytes each part of the engine held at one moment (the engine's own accounting;
/// `rss_bytes` minus their sum is the process, allocator slack and batch buffers).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryParts {
    /// VmRSS at that moment.
    pub rss_bytes: u64,
    /// The visited set (with liveness: including each state's u32 index).
    pub table_bytes: u64,
    /// Parent links.
    pub parents_bytes: u64,
    /// States in the frontier (the rest of the level being expanded and the next level).
    pub frontier_states: u64,
    /// Those states at their in-memory size (heap parts not counted).
    pub frontier_bytes: u64,
    /// The liveness graph.
    pub graph_bytes: u64,
    /// The liveness checks' working arrays (all passes running at once).
    pub liveness_bytes: u64,
}

impl MemoryParts {
    fn of(m: &klp_checker::MemoryParts) -> MemoryParts {
        MemoryParts {
            rss_bytes: m.rss,
            table_bytes: m.table,
            parents_bytes: m.parents,
            frontier_states: m.frontier_states,
            frontier_bytes: m.frontier,
            graph_bytes: m.graph,
            liveness_bytes: m.liveness,
        }
    }
}

/// One property's result.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Property {
    pub name: String,
    /// "always", "sometimes" or "eventually".
    pub kind: String,
    /// How `check` groups it: "always", "sometimes", "liveness" or "termination".
    pub group: String,
    /// "holds", "violated", "reachable", "unreachable", "incomplete" or "unchecked".
    pub verdict: String,
    /// Steps of the counterexample or witness found (null: none found).
    pub steps: Option<usize>,
    /// A lasso (liveness counterexample): index of the first step of the repeating cycle;
    /// equal to `steps` when the run stays in its last state forever.
    pub cycle_start: Option<usize>,
    /// The files written for it (violations, and witnesses `--witness` asked for).
    pub trace: Option<TraceFiles>,
    /// What the engine said about it (a liveness counterexample's explanation, or why it was
    /// not checked); null when nothing.
    pub note: Option<String>,
}

/// The three renderings of one trace (traces/README.md); `klpcheck replay JSON` re-runs it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceFiles {
    pub json: String,
    pub timeline: String,
    pub dmesg: String,
}

/// `ci`: the expectations entry of a run and how the run differs from it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// `<scenario>@<variant>` in the expectations file.
    pub entry: String,
    /// The pinned distinct-state count.
    pub unique_states: u64,
    /// One per difference (empty: the run matches).
    pub differences: Vec<Difference>,
}

/// One difference between a run and its expectations entry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// The property, or "distinct_states" / "expectations".
    pub what: String,
    /// The `DIFF` line's text.
    pub message: String,
}

/// The verdict of a whole command: how many properties (over all runs) got each verdict.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub violated: usize,
    pub holds: usize,
    pub reachable: usize,
    pub unreachable: usize,
    pub incomplete: usize,
    pub unchecked: usize,
    /// The command's exit code: 0 every property holds (complete search), 1 a property is
    /// violated (`ci`: a difference from the expectations), 3 incomplete or unchecked.
    pub exit_code: u8,
    /// The summary line `check` prints, e.g. "1 violated, 44 hold, 15 reachable, 14
    /// unreachable; exit 1 (a property is violated)".
    pub text: String,
}

impl Summary {
    /// Counts the verdicts of `runs`' properties; `exit_code` is the command's.
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a Exploration>, exit_code: u8) -> Summary {
        Summary::with_reason(runs, exit_code, None)
    }

    /// [`Summary::of`] with the command's own reason for its exit code (`ci`: differences).
    pub fn with_reason<'a>(
        runs: impl IntoIterator<Item = &'a Exploration>,
        exit_code: u8,
        why: Option<String>,
    ) -> Summary {
        let mut s = Summary {
            violated: 0,
            holds: 0,
            reachable: 0,
            unreachable: 0,
            incomplete: 0,
            unchecked: 0,
            exit_code,
            text: String::new(),
        };
        let mut limits: Vec<&str> = Vec::new();
        for r in runs {
            if let Some(l) = &r.incomplete {
                if !limits.contains(&l.as_str()) {
                    limits.push(l);
                }
            }
            for p in &r.properties {
                *match p.verdict {
                    Verdict::Violated => &mut s.violated,
                    Verdict::Holds => &mut s.holds,
                    Verdict::Reachable => &mut s.reachable,
                    Verdict::Unreachable => &mut s.unreachable,
                    Verdict::Incomplete => &mut s.incomplete,
                    Verdict::Unchecked => &mut s.unchecked,
                } += 1;
            }
        }
        let mut parts = vec![format!("{} violated", s.violated)];
        for (n, one, many) in [
            (s.holds, "holds", "hold"),
            (s.reachable, "reachable", "reachable"),
            (s.unreachable, "unreachable", "unreachable"),
            (s.incomplete, "incomplete", "incomplete"),
            (s.unchecked, "unchecked", "unchecked"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        let why = why.unwrap_or_else(|| match exit_code {
            0 => "every property holds, search complete".to_string(),
            1 => "a property is violated".to_string(),
            3 if !limits.is_empty() => format!("incomplete: {} stopped the search", limits.join(", ")),
            3 => "a property could not be checked".to_string(),
            _ => "error".to_string(),
        });
        s.text = format!("{}; exit {exit_code} ({why})", parts.join(", "));
        s
    }
}

impl Document {
    pub fn new(command: CommandName, runs: Vec<Run>, verdict: Summary) -> Document {
        Document {
            schema: SCHEMA.to_string(),
            tool: format!("klpcheck {}", env!("CARGO_PKG_VERSION")),
            command,
            variants: None,
            runs,
            missing_entries: None,
            verdict,
        }
    }

    /// Pretty JSON, as the commands print it.
    pub fn to_string_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }
}

/// What a [`Run`] is made of.
pub struct RunOf<'a> {
    pub scenario: &'a str,
    pub scenario_path: &'a Path,
    pub variant: &'a str,
    pub knobs: &'a klp_model::Variant,
    pub engine: &'a str,
    pub limits: &'a Limits,
    pub explored: &'a Exploration,
}

impl Run {
    pub fn of(r: RunOf) -> Run {
        let o = r.explored;
        Run {
            scenario: r.scenario.to_string(),
            scenario_path: crate::target::portable_path(r.scenario_path),
            variant: r.variant.to_string(),
            knobs: serde_json::to_value(r.knobs).unwrap_or_default(),
            engine: r.engine.to_string(),
            unique_states: o.unique_states,
            generated: o.generated,
            max_depth: o.max_depth,
            seconds: o.elapsed.as_secs_f64(),
            complete: o.incomplete.is_none(),
            limit_hit: o.incomplete.clone(),
            limits: RunLimits {
                threads: r.limits.threads,
                max_states: r.limits.max_states,
                max_depth: r.limits.max_depth,
                timeout_seconds: r.limits.timeout.map(|t| t.as_secs()),
                max_memory_bytes: r.limits.max_memory,
            },
            resources: o.peak_rss_bytes.map(|peak| Resources {
                peak_rss_bytes: peak,
                bytes_per_state: o.bytes_per_state.unwrap_or_default(),
                collision_probability: o.collision_probability.unwrap_or_default(),
                graph_bytes_per_state: o.graph_bytes_per_state,
                liveness_seconds: o.liveness_elapsed.map(|t| t.as_secs_f64()),
                memory_search: o
                    .memory
                    .as_ref()
                    .map(|m| MemoryParts::of(&m.0))
                    .unwrap_or_else(|| MemoryParts::of(&Default::default())),
                memory_liveness: o.memory.as_ref().and_then(|m| m.1.as_ref()).map(MemoryParts::of),
            }),
            properties: o.properties.iter().map(Property::of).collect(),
            exit_code: o.exit_code(),
            symmetry: o.reduced,
            symmetry_groups: o.symmetry_groups.clone(),
            symmetry_note: o.symmetry.clone(),
            level_sizes: o.level_sizes.clone(),
            bitstate: o.bitstate.as_ref().map(|b| Bitstate {
                bits: b.bits,
                hashes: b.hashes,
                stored: b.stored,
                hash_factor: b.hash_factor(),
                omission_probability: b.omission_probability(b.stored),
                estimated_coverage: b.coverage(),
            }),
            coverage: None,
            expected: None,
        }
    }
}

impl Property {
    pub fn of(p: &PropertyResult) -> Property {
        Property {
            name: p.name.to_string(),
            kind: p.kind().to_string(),
            group: klp_properties::group(p.name, &p.expectation).name().to_string(),
            verdict: p.verdict.name().to_string(),
            steps: p.steps(),
            cycle_start: p.cycle_start,
            trace: p.trace.as_deref().map(TraceFiles::of),
            note: (!p.note.is_empty()).then(|| p.note.clone()),
        }
    }
}

impl TraceFiles {
    /// The renderings written beside a trace's JSON file (report.rs `write_renderings`).
    pub fn of(json: &Path) -> TraceFiles {
        let name = json.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = name.strip_suffix(naming::JSON).unwrap_or(&name);
        let sibling = |suffix: &str| json.with_file_name(format!("{stem}{suffix}")).display().to_string();
        TraceFiles {
            json: json.display().to_string(),
            timeline: sibling(naming::TIMELINE),
            dmesg: sibling(naming::DMESG),
        }
    }
}

/// The JSON Schema of [`Document`], as docs/report.schema.json holds it.
#[cfg(test)]
pub fn schema() -> String {
    let s = schemars::schema_for!(Document);
    serde_json::to_string_pretty(&s).expect("a schema serialises") + "\n"
}

#[cfg(test)]
mod tests {
    /// docs/report.schema.json is generated from the types above (`KLPCHECK_BLESS=1` rewrites
    /// it), so the documented schema is the one the commands print.
    #[test]
    fn committed_schema_is_generated() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
        let want = super::schema();
        if std::env::var_os("KLPCHECK_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(got == want, "{} is stale: rerun with KLPCHECK_BLESS=1", path.display());
    }
}
