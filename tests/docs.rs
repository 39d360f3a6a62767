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

/// The README's "Scenario format" example is a scenario the checker accepts, every field it
/// documents included, and its model explores (a user's first copy-and-edit must work).
#[test]
fn the_readme_scenario_format_example_is_a_valid_scenario() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("## Scenario format").expect("the README has a Scenario format section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let block = &section[start..start + section[start..].find("```").expect("the block ends")];
    let spec = klp_model::scenario::parse("readme", "README.md", block).unwrap_or_else(|e| panic!("{e}"));
    // One of each kind the example documents: user, kthread, two idle tasks (one offline).
    assert_eq!(spec.tasks.len(), 4);
    assert_eq!(spec.funcs.len(), 3);
    assert!(spec.modules[0].work.is_some(), "the module's work item resolves");
    assert_eq!(spec.funcs[1].proc_file.as_deref(), Some("/proc/cmdline"), "the show function's file");
    let model = klp_model::KlpSystem::new(spec, klp_properties::catalogue);
    // `online = false`: swapper/1 starts parked, until the script's cpu_up.
    assert_eq!(model.init_state().tasks[3].context, klp_model::task::Context::Offline);
}
