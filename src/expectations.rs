//! The expectations file (`expectations/klpcheck.toml`, format in expectations/README.md): for
//! each scenario x variant, the pinned distinct-state count, tags, and the verdict of every
//! property whose verdict is not its kind's default ([`default_verdict`]: `always` and
//! `eventually` hold, `sometimes` are reachable). A property not listed is expected to have the
//! default verdict, so a new violation is still a difference.
//!
//! ```toml
//! [fork.no-stack-check]          # [<scenario>.<variant>]
//! tags = ["fast"]                # "fast" / "slow" (set by --update), plus any of your own
//! states = 7464                  # distinct states of the complete search
//! no_mixed_universe = "violated" # one line per property that is not holds / reachable
//! ```
//!
//! Errors name the file, line, column and field, with a "did you mean" for unknown scenario,
//! variant and property names (the same `ScenarioError` as scenario and preset files).

use crate::engine;
use crate::report::JobResult;
use klp_checker::Verdict;
use klp_model::hint::did_you_mean;
use klp_model::scenario::ScenarioError;
use stateright::Expectation;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// An entry under this many distinct states is tagged "fast" (run by `.ci/run`).
pub const FAST_STATES: u64 = 20_000;

/// The verdict a property of this kind is expected to have when its entry does not list it:
/// `always` and `eventually` properties hold, `sometimes` properties are reachable.
pub fn default_verdict(kind: &Expectation) -> Verdict {
    match kind {
        Expectation::Always | Expectation::Eventually => Verdict::Holds,
        Expectation::Sometimes => Verdict::Reachable,
    }
}

/// The verdicts a property of this kind can have: `always` and `eventually` properties hold or
/// are violated, `sometimes` properties are reachable or not; any may be incomplete (a limit
/// stopped the search) or unchecked (the engine does not check it).
fn possible(kind: &Expectation) -> Vec<Verdict> {
    let decided = match kind {
        Expectation::Always | Expectation::Eventually => [Verdict::Holds, Verdict::Violated],
        Expectation::Sometimes => [Verdict::Reachable, Verdict::Unreachable],
    };
    decided.into_iter().chain([Verdict::Incomplete, Verdict::Unchecked]).collect()
}

/// The verdict words of the file (as in `check --json`), in the order its hints list them.
fn verdict_words() -> Vec<String> {
    Verdict::ALL.iter().map(|v| v.name().to_string()).collect()
}

/// Keys of an entry that are not property names.
const RESERVED: &[&str] = &["states", "tags"];

/// One scenario x variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub scenario: String,
    pub variant: String,
    pub states: u64,
    pub tags: Vec<String>,
    /// property -> verdict, for the properties whose verdict is not their kind's default.
    pub verdicts: BTreeMap<String, Verdict>,
}

impl Entry {
    pub fn key(&self) -> String {
        format!("{}@{}", self.scenario, self.variant)
    }

    pub fn fast(&self) -> bool {
        self.tags.iter().any(|t| t == "fast")
    }

    /// The verdict the entry expects of `property` (of kind `kind`).
    pub fn expected(&self, property: &str, kind: &Expectation) -> Verdict {
        self.verdicts.get(property).copied().unwrap_or_else(|| default_verdict(kind))
    }

    /// The entry a complete run gives, keeping the user's own tags of `old`.
    pub fn from_run(r: &JobResult, old: Option<&Entry>) -> Entry {
        let o = &r.explored;
        let mut tags = vec![if o.unique_states < FAST_STATES { "fast" } else { "slow" }.to_string()];
        for t in old.into_iter().flat_map(|o| &o.tags) {
            if t != "fast" && t != "slow" && !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        Entry {
            scenario: r.scenario.clone(),
            variant: r.variant.clone(),
            states: o.unique_states,
            tags,
            verdicts: o
                .properties
                .iter()
                .filter(|p| p.verdict != default_verdict(&p.expectation))
                .map(|p| (p.name.to_string(), p.verdict))
                .collect(),
        }
    }
}

/// The names an expectations file may use.
pub struct Known {
    pub scenarios: Vec<String>,
    /// "upstream" and the shipped presets.
    pub variants: Vec<String>,
    /// Properties and their kinds, in catalogue order.
    pub properties: Vec<(&'static str, Expectation)>,
    /// Each scenario's own properties (`[[invariant]]`, `[[witness]]`) and their kinds.
    pub user: BTreeMap<String, Vec<(&'static str, Expectation)>>,
}

impl Known {
    pub fn shipped() -> Known {
        Known {
            scenarios: crate::scenarios::shipped().iter().map(|(n, _)| n.to_string()).collect(),
            variants: std::iter::once("upstream".to_string())
                .chain(crate::variants::shipped().iter().map(|(n, _)| n.to_string()))
                .collect(),
            properties: klp_properties::docs().iter().map(|d| (d.name, d.expectation.clone())).collect(),
            user: crate::scenarios::shipped()
                .iter()
                .filter_map(|(n, text)| {
                    let spec = crate::scenarios::load_shipped(n, text).ok()?;
                    let docs = klp_properties::user::docs(&spec);
                    (!docs.is_empty())
                        .then(|| (n.to_string(), docs.into_iter().map(|d| (d.name, d.expectation)).collect()))
                })
                .collect(),
        }
    }

    /// A property's kind in `scenario`: a built-in one or the scenario's own.
    fn kind(&self, scenario: &str, name: &str) -> Option<&Expectation> {
        let user = self.user.get(scenario).into_iter().flatten();
        self.properties.iter().chain(user).find(|(p, _)| *p == name).map(|(_, k)| k)
    }
}

/// The committed file, as messages name the copy compiled into the binary (src/shipped.rs).
pub const SHIPPED: &str = "expectations/klpcheck.toml";

/// The committed file in the source tree this binary was built from: what `ci --update`
/// without FILE rewrites. An error when that tree is gone (an installed or moved binary).
pub fn source_tree_path() -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(SHIPPED);
    if !path.parent().is_some_and(Path::exists) {
        anyhow::bail!(
            "ci --update: {} is gone (this binary was built in {}); name the file to write: \
             `klpcheck ci FILE --update`",
            path.display(),
            root.display()
        );
    }
    Ok(path)
}

type RawFile = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>>;

/// Parses an expectations file. Unknown scenario, variant or property names are errors, unless
/// `lenient` (for `--update`): then the entries or lines are dropped and described in the
/// returned notes. `file` is only used in messages.
pub fn parse(file: &str, src: &str, known: &Known, lenient: bool) -> Result<(Vec<Entry>, Vec<String>), ScenarioError> {
    let err = |span: std::ops::Range<usize>, field: &str, message: String, hint: Option<String>| {
        let (line, column) = line_col(src, span.start);
        ScenarioError { file: file.to_string(), line, column, field: field.to_string(), message, hint }
    };
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        err(e.span().unwrap_or(0..0), "(syntax)", e.message().to_string(), Some("see expectations/README.md".into()))
    })?;
    let unknown = |what: &str, name: &Spanned<String>, field: &str, names: &[String]| {
        let list = if what == "property" { "properties".to_string() } else { format!("{what}s") };
        let hint = did_you_mean(name.get_ref(), names.iter()).unwrap_or_else(|| format!("`klpcheck list {list}`"));
        err(name.span(), field, format!("unknown {what} '{}'", name.get_ref()), Some(hint))
    };
    let properties: Vec<String> = known.properties.iter().map(|(p, _)| p.to_string()).collect();
    let verdicts = verdict_words();
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    for (scenario, variants) in raw {
        if !known.scenarios.contains(scenario.get_ref()) {
            let e = unknown("scenario", &scenario, scenario.get_ref(), &known.scenarios);
            if !lenient {
                return Err(e);
            }
            notes.push(format!("dropped: {e}"));
            continue;
        }
        for (variant, fields) in variants {
            let key = format!("{}.{}", scenario.get_ref(), variant.get_ref());
            if !known.variants.contains(variant.get_ref()) {
                let e = unknown("variant", &variant, &key, &known.variants);
                if !lenient {
                    return Err(e);
                }
                notes.push(format!("dropped: {e}"));
                continue;
            }
            let mut entry = Entry {
                scenario: scenario.get_ref().clone(),
                variant: variant.get_ref().clone(),
                states: 0,
                tags: Vec::new(),
                verdicts: BTreeMap::new(),
            };
            let mut states = None;
            for (k, v) in fields {
                let name = k.get_ref().as_str();
                let field = format!("{key}.{name}");
                let kind = known.kind(scenario.get_ref(), name);
                match (name, v.get_ref(), kind) {
                    ("states", toml::Value::Integer(n), _) if *n >= 0 => states = Some(*n as u64),
                    ("states", _, _) => {
                        return Err(err(
                            v.span(),
                            &field,
                            "expected the distinct-state count (an integer)".into(),
                            Some("states = 35: what `klpcheck check --json` reports as unique_states".into()),
                        ))
                    }
                    ("tags", toml::Value::Array(a), _) if a.iter().all(|t| t.is_str()) => {
                        entry.tags = a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
                    }
                    ("tags", _, _) => {
                        let hint = Some("e.g. tags = [\"fast\", \"mine\"]".into());
                        return Err(err(v.span(), &field, "expected a list of strings".into(), hint));
                    }
                    (_, _, None) => {
                        let mut names = properties.clone();
                        names.extend(RESERVED.iter().map(|r| r.to_string()));
                        let e = unknown("property", &k, &field, &names);
                        if !lenient {
                            return Err(e);
                        }
                        notes.push(format!("dropped: {e}"));
                    }
                    (_, val, Some(kind)) => match val.as_str().and_then(Verdict::from_name) {
                        Some(verdict) => {
                            if !possible(kind).contains(&verdict) {
                                let words: Vec<&str> = possible(kind).iter().map(|v| v.name()).collect();
                                let article = if *kind == Expectation::Sometimes { "a" } else { "an" };
                                let message = format!(
                                    "'{}' is not a verdict of {article} `{}` property",
                                    verdict.name(),
                                    engine::kind(kind)
                                );
                                let hint = Some(format!("one of: {}", words.join(", ")));
                                return Err(err(v.span(), &field, message, hint));
                            }
                            entry.verdicts.insert(name.to_string(), verdict);
                        }
                        None => {
                            let hint = val.as_str().and_then(|s| did_you_mean(s, verdicts.iter()));
                            let hint = hint.unwrap_or_else(|| format!("one of: {}", verdicts.join(", ")));
                            let shown = val.as_str().map(str::to_string).unwrap_or_else(|| val.to_string());
                            return Err(err(v.span(), &field, format!("'{shown}' is not a verdict"), Some(hint)));
                        }
                    },
                }
            }
            let Some(n) = states else {
                let hint = Some("`klpcheck ci --update` writes every entry with its state count".into());
                return Err(err(variant.span(), &key, "missing `states = <distinct states>`".into(), hint));
            };
            entry.states = n;
            entries.push(entry);
        }
    }
    Ok((entries, notes))
}

/// Reads and parses `path`; `shown` is how messages name it.
pub fn load(
    path: &Path,
    shown: &str,
    known: &Known,
    lenient: bool,
) -> Result<(Vec<Entry>, Vec<String>), ScenarioError> {
    // A bad byte is located (line, column); a missing file is written by `--update`.
    let src = klp_model::scenario::read_utf8(path).map_err(|e| ScenarioError {
        file: shown.to_string(),
        hint: e.hint.clone().or_else(|| Some("`klpcheck ci --update` writes it".into())),
        ..e
    })?;
    parse(shown, &src, known, lenient)
}

/// The file's text: entries sorted by scenario then variant ("upstream" first), properties in
/// catalogue order.
pub fn render(entries: &[Entry], known: &Known) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| (e.scenario.clone(), e.variant != "upstream", e.variant.clone()));
    let mut out = String::from(
        "# klpcheck expectations: for each scenario x variant, the distinct-state count and every\n\
         # property whose verdict is not its kind's default (always and eventually: holds; sometimes:\n\
         # reachable), checked by `klpcheck ci` (format: expectations/README.md). A property not\n\
         # listed must have the default verdict. Written by `klpcheck ci --update` (or\n\
         # scripts/bless.sh), the way to accept an intended change: review its diff.\n",
    );
    for e in sorted {
        out += &format!("\n[{}.{}]\n", key(&e.scenario), key(&e.variant));
        let tags: Vec<String> = e.tags.iter().map(|t| toml::Value::String(t.clone()).to_string()).collect();
        out += &format!("tags = [{}]\nstates = {}\n", tags.join(", "), e.states);
        let mut props: Vec<(&String, &Verdict)> = e.verdicts.iter().collect();
        props.sort_by_key(|(p, _)| known.properties.iter().position(|(k, _)| k == p).unwrap_or(usize::MAX));
        for (p, v) in props {
            out += &format!("{} = \"{}\"\n", key(p), v.name());
        }
    }
    out
}

/// A TOML key: bare if it can be, else quoted.
fn key(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        s.to_string()
    } else {
        toml::Value::String(s.to_string()).to_string()
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    (line, before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            scenarios: vec!["fork".into(), "stack-check".into()],
            variants: vec!["upstream".into(), "no-stack-check".into()],
            properties: vec![
                ("no_mixed_universe", Expectation::Always),
                ("mixed_universe_possible", Expectation::Sometimes),
            ],
            user: BTreeMap::new(),
        }
    }

    #[test]
    fn render_then_parse_is_identity() {
        let e = Entry {
            scenario: "fork".into(),
            variant: "no-stack-check".into(),
            states: 7464,
            tags: vec!["fast".into(), "mine".into()],
            verdicts: [("no_mixed_universe", Verdict::Violated), ("mixed_universe_possible", Verdict::Unreachable)]
                .iter()
                .map(|(p, v)| (p.to_string(), *v))
                .collect(),
        };
        let text = render(std::slice::from_ref(&e), &known());
        assert!(text.ends_with(
            "\n[fork.no-stack-check]\ntags = [\"fast\", \"mine\"]\nstates = 7464\n\
             no_mixed_universe = \"violated\"\nmixed_universe_possible = \"unreachable\"\n"
        ));
        assert_eq!(parse("f", &text, &known(), false).unwrap(), (vec![e], vec![]));
    }

    /// A property the entry does not list is expected to have its kind's default verdict; a
    /// listed one, the verdict listed (even the default, which `--update` then drops).
    /// A scenario's own properties ([[invariant]], [[witness]]) may be expected in its entries
    /// only.
    #[test]
    fn a_scenarios_own_property_may_be_expected() {
        let mut k = known();
        k.user.insert("fork".into(), vec![("lp2_loaded", Expectation::Sometimes)]);
        let (entries, _) =
            parse("e.toml", "[fork.upstream]\nstates = 3\nlp2_loaded = \"unreachable\"\n", &k, false).unwrap();
        assert_eq!(entries[0].verdicts["lp2_loaded"], Verdict::Unreachable);
        let e = parse("e.toml", "[fork.upstream]\nstates = 3\nlp2_loaded = \"holds\"\n", &k, false).unwrap_err();
        assert!(e.message.contains("not a verdict of a `sometimes` property"), "{e}");
        let e = parse("e.toml", "[stack-check.upstream]\nstates = 3\nlp2_loaded = \"unreachable\"\n", &k, false);
        assert_eq!(e.unwrap_err().message, "unknown property 'lp2_loaded'");
    }

    #[test]
    fn unlisted_properties_expect_their_kinds_default() {
        let src = "[fork.upstream]\nstates = 2\n[stack-check.upstream]\nstates = 3\n\
                   no_mixed_universe = \"incomplete\"\nmixed_universe_possible = \"reachable\"\n";
        let (entries, _) = parse("x.toml", src, &known(), false).unwrap();
        let (fork, stack) = (&entries[0], &entries[1]);
        assert_eq!(fork.expected("no_mixed_universe", &Expectation::Always), Verdict::Holds);
        assert_eq!(fork.expected("mixed_universe_possible", &Expectation::Sometimes), Verdict::Reachable);
        assert_eq!(fork.expected("a_liveness_property", &Expectation::Eventually), Verdict::Holds);
        assert_eq!(stack.expected("no_mixed_universe", &Expectation::Always), Verdict::Incomplete);
        assert_eq!(stack.expected("mixed_universe_possible", &Expectation::Sometimes), Verdict::Reachable);
        assert!(render(&entries, &known()).ends_with(
            "\n[fork.upstream]\ntags = []\nstates = 2\n\n[stack-check.upstream]\ntags = []\nstates = 3\n\
             no_mixed_universe = \"incomplete\"\nmixed_universe_possible = \"reachable\"\n"
        ));
    }

    #[test]
    fn errors_name_line_field_and_closest_name() {
        let e = |src: &str| parse("x.toml", src, &known(), false).unwrap_err().to_string();
        assert_eq!(
            e("[forc.upstream]\nstates = 1\n"),
            "x.toml:1:2: forc: unknown scenario 'forc'\n  hint: did you mean 'fork'?"
        );
        assert_eq!(
            e("[fork.upstraem]\nstates = 1\n"),
            "x.toml:1:7: fork.upstraem: unknown variant 'upstraem'\n  hint: did you mean 'upstream'?"
        );
        assert_eq!(
            e("[fork.upstream]\nstates = 1\nno_mixed_univers = \"holds\"\n"),
            "x.toml:3:1: fork.upstream.no_mixed_univers: unknown property 'no_mixed_univers'\n  \
             hint: did you mean 'no_mixed_universe'?"
        );
        assert_eq!(
            e("[fork.upstream]\nstates = 1\nno_mixed_universe = \"hods\"\n"),
            "x.toml:3:21: fork.upstream.no_mixed_universe: 'hods' is not a verdict\n  hint: did you mean 'holds'?"
        );
        assert_eq!(
            e("[fork.upstream]\nstates = 1\nno_mixed_universe = \"reachable\"\n"),
            "x.toml:3:21: fork.upstream.no_mixed_universe: 'reachable' is not a verdict of an `always` property\n  \
             hint: one of: holds, violated, incomplete, unchecked"
        );
        assert_eq!(
            e("[fork.upstream]\nstates = 1\nmixed_universe_possible = \"holds\"\n"),
            "x.toml:3:27: fork.upstream.mixed_universe_possible: 'holds' is not a verdict of a `sometimes` property\n  \
             hint: one of: reachable, unreachable, incomplete, unchecked"
        );
        assert_eq!(
            e("[fork.upstream]\nstates = \"many\"\n"),
            "x.toml:2:10: fork.upstream.states: expected the distinct-state count (an integer)\n  \
             hint: states = 35: what `klpcheck check --json` reports as unique_states"
        );
        assert_eq!(
            e("[fork.upstream]\ntags = []\n"),
            "x.toml:1:7: fork.upstream: missing `states = <distinct states>`\n  \
             hint: `klpcheck ci --update` writes every entry with its state count"
        );
        assert!(e("[fork.upstream\n").starts_with("x.toml:1:15: (syntax): "), "{}", e("[fork.upstream\n"));
    }

    #[test]
    fn lenient_parse_drops_stale_names() {
        let src = "[gone.upstream]\nstates = 1\n[fork.upstream]\nstates = 2\nold_prop = \"holds\"\n";
        let (entries, notes) = parse("x.toml", src, &known(), true).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].states, 2);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
