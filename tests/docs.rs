//! The repository explains itself: every kernel-rule label the code and the README cite (S1-S15,
//! L1-L6, W1-W4 and W1', G1-G4) is defined in docs/kernel-semantics.md, and no file points
//! outside the repository.

use std::path::{Path, PathBuf};

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                files(&p, exts, out);
            }
        } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
}

/// The labels cited in `text`: a letter S, L, W or G, a rule number, an optional prime.
fn labels(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len() {
        let (max, letter) = match b[i] {
            b'S' => (15, 'S'),
            b'L' => (6, 'L'),
            b'W' => (4, 'W'),
            b'G' => (4, 'G'),
            _ => continue,
        };
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            continue;
        }
        let digits: String = text[i + 1..].chars().take_while(|c| c.is_ascii_digit()).collect();
        let end = i + 1 + digits.len();
        let after = b.get(end).copied();
        if digits.is_empty() || after.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            continue;
        }
        let n: u32 = digits.parse().unwrap();
        if (1..=max).contains(&n) && !digits.starts_with('0') {
            let prime = if after == Some(b'\'') { "'" } else { "" };
            out.push(format!("{letter}{n}{prime}"));
        }
    }
    out
}

#[test]
fn every_cited_kernel_rule_label_is_defined_in_the_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/kernel-semantics.md")).unwrap();
    let mut list = Vec::new();
    for d in ["model/src", "properties/src", "traces/src", "src"] {
        files(&root.join(d), &["rs"], &mut list);
    }
    list.push(root.join("README.md"));
    let mut cited = 0;
    for f in &list {
        let text = std::fs::read_to_string(f).unwrap();
        for l in labels(&text) {
            cited += 1;
            assert!(
                doc.contains(&format!("**{l} ")),
                "{}: label {l} is not defined in docs/kernel-semantics.md",
                f.display()
            );
        }
    }
    // The scan works: the code does cite labels.
    assert!(cited >= 40, "only {cited} labels found");
    assert_eq!(labels("S8, W1' and L6; not S16, GS1, S0x"), vec!["S8", "W1'", "L6"]);
}

#[test]
fn no_file_points_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut list = Vec::new();
    files(root, &["rs", "md", "sh", "py", "toml", "typ", "yml", "json"], &mut list);
    let outside = ["../", "shared"].concat();
    for f in &list {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains(&outside) && !line.contains(&["shared", "/"].concat()),
                "{}:{}: points outside the repository: {line}",
                f.display(),
                n + 1
            );
        }
    }
}

/// The ```toml blocks of a Markdown file.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find("```toml\n") {
        let start = i + "```toml\n".len();
        let len = rest[start..].find("```").expect("the block ends");
        let line = text[..offset + start].matches('\n').count() + 1;
        out.push((line, rest[start..start + len].to_string()));
        offset += start + len;
        rest = &rest[start + len..];
    }
    out
}

/// Every TOML example of the README and of docs/scenario.md is a scenario the checker accepts
/// (a user's first copy-and-edit must work), or a fragment of one: a block starting with
/// `[[invariant]]` / `[[witness]]` is checked appended to the README's complete example.
#[test]
fn every_scenario_example_in_the_docs_is_a_valid_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/scenario.md")).unwrap();
    let base = toml_blocks(&readme).into_iter().next().expect("the README has a scenario example").1;
    let mut checked = 0;
    for (file, text) in [("README.md", &readme), ("docs/scenario.md", &doc)] {
        for (line, block) in toml_blocks(text) {
            let fragment = block.starts_with("[[invariant]]") || block.starts_with("[[witness]]");
            let src = if fragment { format!("{base}\n{}", block.replace("lp2", "lp1")) } else { block.clone() };
            klp_model::scenario::parse("example", file, &src)
                .unwrap_or_else(|e| panic!("{file}: the example at line {line} is not a valid scenario: {e}"));
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} examples found");
}

/// docs/scenario.md's annotated example uses what it documents: every kind of task, a /proc
/// show function, a module's work item, user properties; its model explores.
#[test]
fn the_annotated_example_has_one_of_each_kind() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.md")).unwrap();
    let section = &doc[doc.find("## An annotated example").expect("docs/scenario.md has the annotated example")..];
    let block = &toml_blocks(section)[0].1;
    let spec = klp_model::scenario::parse("example", "docs/scenario.md", block).unwrap_or_else(|e| panic!("{e}"));
    // One of each kind the example documents: user, kthread, two idle tasks (one offline).
    assert_eq!(spec.tasks.len(), 4);
    assert_eq!(spec.funcs.len(), 3);
    assert!(spec.modules[0].work.is_some(), "the module's work item resolves");
    let show = spec.funcs.iter().find(|f| f.name == "cmdline_proc_show").unwrap();
    assert_eq!(show.proc_file.as_deref(), Some("/proc/cmdline"), "the show function's file");
    assert_eq!(spec.user_properties.len(), 2, "an invariant and a witness");
    let model = klp_model::KlpSystem::new(spec, klp_properties::catalogue)
        .with_user_properties(klp_properties::user::user_catalogue);
    // `online = false`: swapper/1 starts parked, until the script's cpu_up.
    assert_eq!(model.init_state().tasks[3].context, klp_model::task::Context::Offline);
}

/// docs/scenario.schema.json and docs/scenario.md's key reference are what the loader's types
/// generate (`klpcheck schema`, `klpcheck schema --markdown`); KLPCHECK_BLESS=1 rewrites them.
#[test]
fn the_scenario_schema_and_key_reference_are_current() {
    use klp_model::scenario::schema;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("KLPCHECK_BLESS").is_some();
    let json = serde_json::to_string_pretty(&schema::json_schema()).unwrap() + "\n";
    let path = root.join(schema::SCHEMA_FILE);
    if bless {
        std::fs::write(&path, &json).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        json,
        "{} is stale: KLPCHECK_BLESS=1",
        schema::SCHEMA_FILE
    );
    let path = root.join(schema::REFERENCE_FILE);
    let doc = std::fs::read_to_string(&path).unwrap();
    let (a, b) =
        (doc.find(schema::REFERENCE_START).expect("reference start"), doc.find(schema::REFERENCE_END).expect("end"));
    let current = &doc[a..b + schema::REFERENCE_END.len()];
    let fresh = format!("{}\n{}{}", schema::REFERENCE_START, schema::reference_markdown(), schema::REFERENCE_END);
    if bless {
        std::fs::write(&path, doc.replace(current, &fresh)).unwrap();
    } else {
        assert_eq!(current, fresh, "{}: the key reference is stale: KLPCHECK_BLESS=1", schema::REFERENCE_FILE);
    }
    // The binary prints the same schema.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_klpcheck")).arg("schema").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), json);
}
