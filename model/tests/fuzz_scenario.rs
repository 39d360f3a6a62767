//! No input may make the scenario or preset loader panic. proptest feeds `scenario::parse` and
//! `preset::parse` (a) arbitrary text, (b) TOML built from the scenario grammar with wrong keys,
//! types, names and numbers, (c) shipped scenarios mutated line by line. Every error must be
//! located (line and column from 1) and carry a hint; every accepted scenario must build a model
//! whose first steps run. `model/tests/corpus/*.toml` keeps the interesting inputs found
//! (`ok-*` must load, everything else must be refused), replayed by `corpus_replays`.

use klp_model::scenario::{self, ScenarioError};
use klp_model::{preset, KlpSystem};
use proptest::prelude::*;
use stateright::{Model, Property};
use std::path::Path;

fn no_properties() -> Vec<Property<KlpSystem>> {
    Vec::new()
}

fn check_error(src: &str, e: &ScenarioError) {
    assert!(e.line >= 1 && e.column >= 1, "unlocated error {e} for {src:?}");
    assert!(e.hint.as_deref().is_some_and(|h| !h.is_empty() && !h.contains('\n')), "no one-line hint: {e} for {src:?}");
    assert!(!e.field.is_empty(), "no field: {e}");
}

/// Parses; an accepted scenario must give a model that runs `walk` steps without panicking.
fn load(src: &str, walk: &[usize]) -> Result<(), ScenarioError> {
    match scenario::parse("fuzz", "fuzz.toml", src) {
        Err(e) => {
            check_error(src, &e);
            Err(e)
        }
        Ok(spec) => {
            let m = KlpSystem::new(spec, no_properties);
            let mut st = m.init_state();
            for &w in walk {
                let mut acts = Vec::new();
                m.actions(&st, &mut acts);
                let Some(&a) = acts.get(w % acts.len().max(1)) else { break };
                m.describe(&a);
                match m.next_state(&st, a) {
                    Some(n) => st = n,
                    None => break,
                }
            }
            Ok(())
        }
    }
}

fn shipped() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

const KEYS: &[&str] = &[
    "name",
    "calls",
    "sleeps",
    "object",
    "loaded",
    "comm",
    "kind",
    "count",
    "entry",
    "forks",
    "replace",
    "states",
    "objects",
    "funcs",
    "callbacks",
    "pre_patch",
    "post_patch",
    "order",
    "ops",
    "op",
    "patch",
    "module",
    "max",
    "wait",
    "max_stack",
    "stack_check",
    "description",
    "id",
    "version",
    "nmae",
    "x",
];
const HEADERS: &[&str] = &[
    "[[functions]]",
    "[[modules]]",
    "[[tasks]]",
    "[[patches]]",
    "[[patches.objects]]",
    "[admin]",
    "[bounds]",
    "[variant]",
    "[patches.objects.callbacks]",
    "[[admin.ops]]",
    "[tasks]",
    "[[bogus]]",
    "[[tasks.entry]]",
];
const WORDS: &[&str] = &[
    "f",
    "g",
    "vfs_read",
    "lp1",
    "lp2",
    "m",
    "vmlinux",
    "cat",
    "user",
    "kthread",
    "idle",
    "script",
    "any",
    "insmod",
    "rmmod",
    "enable",
    "disable",
    "force",
    "never",
    "interruptible",
    "uninterruptible",
    "forever",
    "none",
    "previous",
    "",
    "é",
    "a-0",
    "cat-1",
];

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(WORDS).prop_map(|w| format!("{w:?}")),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(8),
            Just(9),
            Just(16),
            Just(17),
            Just(255),
            Just(256),
            Just(4_000_000_000),
            Just(i64::MAX),
            any::<i64>()
        ]
        .prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("1.5".to_string()),
        Just("1979-05-27".to_string()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|v| {
                let kv: Vec<_> = v.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", kv.join(", "))
            }),
        ]
    })
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(HEADERS).prop_map(str::to_string),
        (prop::sample::select(KEYS), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        "[ -~]{0,20}",
    ]
}

/// Scenario-shaped TOML: mostly headers and `key = value` lines of the scenario grammar.
fn grammar() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..40).prop_map(|v| v.join("\n") + "\n")
}

/// A shipped scenario with one to four line edits.
fn mutated() -> impl Strategy<Value = String> {
    let files = shipped();
    (0..files.len(), prop::collection::vec((0..4u8, any::<prop::sample::Index>(), line()), 1..5)).prop_map(
        move |(f, edits)| {
            let mut lines: Vec<String> = files[f].lines().map(str::to_string).collect();
            for (kind, at, new) in edits {
                if lines.is_empty() {
                    break;
                }
                let i = at.index(lines.len());
                match kind {
                    0 => drop(lines.remove(i)),
                    1 => lines.insert(i, new),
                    2 => lines[i] = new,
                    _ => {
                        let l = lines[i].clone();
                        lines.insert(i, l);
                    }
                }
            }
            lines.join("\n") + "\n"
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}", walk in prop::collection::vec(any::<usize>(), 0..8)) {
        let _ = load(&src, &walk);
        if let Err(e) = preset::parse("fuzz", "fuzz.toml", &src) {
            check_error(&src, &e);
        }
    }

    #[test]
    fn scenario_grammar_never_panics(src in grammar(), walk in prop::collection::vec(any::<usize>(), 0..16)) {
        let _ = load(&src, &walk);
        if let Err(e) = preset::parse("fuzz", "fuzz.toml", &src) {
            check_error(&src, &e);
        }
    }

    #[test]
    fn mutated_shipped_scenarios_never_panic(src in mutated(), walk in prop::collection::vec(any::<usize>(), 0..24)) {
        let _ = load(&src, &walk);
    }
}

#[test]
fn corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let walk = [0, 1, 2, 3, 4, 5, 6, 7];
        let r = match std::str::from_utf8(&bytes) {
            Ok(src) => load(src, &walk).map_err(|e| e.to_string()),
            Err(_) => scenario::load(&path).map(|_| ()).map_err(|e| e.to_string()),
        };
        match (name.starts_with("ok-"), r) {
            (true, Err(e)) => panic!("{name} must load: {e}"),
            (false, Ok(())) => panic!("{name} must be refused"),
            (false, Err(e)) => {
                // The expected first line is the file's first comment, when it has one.
                if let Some(want) = bytes.strip_prefix(b"# expect: ") {
                    let want = String::from_utf8_lossy(want.split(|&b| b == b'\n').next().unwrap()).into_owned();
                    assert!(e.contains(&want), "{name}: {e}\nwanted: {want}");
                }
            }
            (true, Ok(())) => {}
        }
        n += 1;
    }
    assert!(n >= 10, "corpus has {n} files");
}
