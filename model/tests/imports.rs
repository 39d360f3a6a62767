//! The module structure of model/src stays what the crate doc promises: the types import
//! nothing from the kernel code, and the only import cycle among the modules is the kernel's
//! own (kernel/livepatch/core.c <-> transition.c). Read from the source: every `crate::` and
//! `super::` path in code (comments are skipped), each mapped to the module of the file it
//! names (submodules of a kernel file's module count as that module).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules that describe a system and its state: they may import only each other.
const TYPES: &[&str] = &[
    "action", "dmesg", "errno", "hint", "ids", "log", "mutation", "preset", "program", "scenario", "spec", "state",
    "task", "variant",
];

/// The one cycle the kernel itself has.
const ALLOWED_CYCLE: &[&str] = &["kernel::livepatch::core", "kernel::livepatch::transition"];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: src/kernel/livepatch/core/module.rs -> kernel::livepatch::core::module.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut segs: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
        segs.pop();
    }
    segs
}

/// The module whose file a path names: `kernel::<dir>::<file>` (or `kernel::fork`) for the
/// kernel code, the first segment otherwise.
fn unit(path: &[String]) -> Option<String> {
    let first = path.first()?;
    if first != "kernel" {
        return Some(first.clone());
    }
    match path.get(1).map(String::as_str) {
        Some("livepatch" | "module" | "sched" | "entry") => path.get(2).map(|f| format!("kernel::{}::{f}", path[1])),
        Some(f) => Some(format!("kernel::{f}")),
        None => None,
    }
}

/// The leading identifiers of every `crate::` / `super::` path in `code`, resolved against
/// the module `me`; a `{...}` group contributes each of its members.
fn paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for (start, root) in [("crate::", None), ("super::", Some(()))] {
        let mut at = 0;
        while let Some(i) = code[at..].find(start) {
            let i = at + i;
            at = i + start.len();
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let mut base: Vec<String> = match root {
                None => Vec::new(),
                Some(()) => me[..me.len().saturating_sub(1)].to_vec(),
            };
            // super::super:: ...
            let mut rest = &code[at..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            collect(rest, base, &mut out);
        }
    }
    out
}

fn collect(rest: &str, mut base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut s = rest;
    loop {
        let ident: String = s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if ident.is_empty() {
            if let Some(inner) = s.strip_prefix('{') {
                // A group: split its top level at commas.
                let mut depth = 0;
                let mut item = String::new();
                for c in inner.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            collect(item.trim(), base.clone(), out);
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                collect(item.trim(), base, out);
            } else if !base.is_empty() {
                out.push(base);
            }
            return;
        }
        s = &s[ident.len()..];
        base.push(ident);
        match s.strip_prefix("::") {
            Some(r) => s = r,
            None => {
                out.push(base);
                return;
            }
        }
    }
}

/// The code of a file without its comments (line comments and doc comments).
fn code_of(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let me = module_of(&src, &f);
        let Some(from) = unit(&me) else { continue };
        let code = code_of(&std::fs::read_to_string(&f).unwrap());
        let deps = g.entry(from.clone()).or_default();
        for p in paths(&code, &me) {
            if let Some(to) = unit(&p) {
                if to != from && to != "kernel" {
                    deps.insert(to);
                }
            }
        }
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    fn visit(
        v: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        idx: &mut BTreeMap<String, (usize, usize)>,
        stack: &mut Vec<String>,
        n: &mut usize,
        out: &mut Vec<BTreeSet<String>>,
    ) {
        idx.insert(v.to_string(), (*n, *n));
        *n += 1;
        stack.push(v.to_string());
        for w in g.get(v).into_iter().flatten() {
            if !idx.contains_key(w) {
                visit(w, g, idx, stack, n, out);
                let low = idx[w].1.min(idx[v].1);
                idx.get_mut(v).unwrap().1 = low;
            } else if stack.contains(w) {
                let low = idx[w].0.min(idx[v].1);
                idx.get_mut(v).unwrap().1 = low;
            }
        }
        if idx[v].0 == idx[v].1 {
            let mut scc = BTreeSet::new();
            while let Some(w) = stack.pop() {
                scc.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                out.push(scc);
            }
        }
    }
    let (mut idx, mut stack, mut n, mut out) = (BTreeMap::new(), Vec::new(), 0, Vec::new());
    for v in g.keys() {
        if !idx.contains_key(v) {
            visit(v, g, &mut idx, &mut stack, &mut n, &mut out);
        }
    }
    out
}

#[test]
fn the_only_import_cycle_is_core_and_transition() {
    let g = graph();
    // The reader works: it sees the known edges of the cycle and of the layers.
    assert!(g["kernel::livepatch::core"].contains("kernel::livepatch::transition"), "{g:#?}");
    assert!(g["kernel::livepatch::transition"].contains("kernel::livepatch::core"), "{g:#?}");
    assert!(g["system"].contains("kernel::livepatch::transition"), "{g:#?}");
    assert!(g["state"].contains("task"), "{g:#?}");
    let allowed: BTreeSet<String> = ALLOWED_CYCLE.iter().map(|s| s.to_string()).collect();
    assert_eq!(cycles(&g), vec![allowed], "import cycles among model/src modules:\n{g:#?}");
}

#[test]
fn types_import_only_types() {
    let g = graph();
    for t in TYPES {
        let deps = g.get(*t).unwrap_or_else(|| panic!("no module {t}"));
        let bad: Vec<&String> = deps.iter().filter(|d| !TYPES.contains(&d.as_str())).collect();
        assert!(bad.is_empty(), "type module {t} imports {bad:?}");
    }
}

#[test]
fn the_reader_sees_groups_and_super() {
    let me: Vec<String> = ["kernel", "livepatch", "core", "module"].iter().map(|s| s.to_string()).collect();
    let got = paths("use super::registration::x;\nuse crate::{ids::*, state::{A, B}};\n", &me);
    let units: BTreeSet<String> = got.iter().filter_map(|p| unit(p)).collect();
    let want: BTreeSet<String> = ["ids", "state", "kernel::livepatch::core"].iter().map(|s| s.to_string()).collect();
    assert_eq!(units, want, "{got:?}");
}
