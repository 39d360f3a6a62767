//! One JSON report for `check --json`, `compare --format json` and `ci --json` (docs/json.md):
//! each command's document validates against docs/report.schema.json (generated from the
//! types in src/json.rs, checked by its unit test), and their runs have the same fields.

use assert_cmd::Command;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The document a command prints on stdout, after checking its exit code.
fn document(args: &[&str], out: &Path, code: i32) -> serde_json::Value {
    let o = Command::cargo_bin("klpcheck").unwrap().args(args).arg("--out").arg(out).output().unwrap();
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// Validates `doc` against docs/report.schema.json.
fn validate(what: &str, doc: &serde_json::Value) {
    let text = std::fs::read_to_string(root().join("docs/report.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("report.schema.json", schema).unwrap();
    let index = compiler.compile("report.schema.json", &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("{what}: does not validate against docs/report.schema.json: {e:#}\n{doc:#}");
    }
}

/// The field names of every run of a document.
fn run_fields(doc: &serde_json::Value) -> Vec<Vec<String>> {
    let runs = doc["runs"].as_array().unwrap();
    runs.iter().map(|r| r.as_object().unwrap().keys().cloned().collect()).collect()
}

#[test]
fn check_compare_and_ci_print_one_schema() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let check = document(&["check", "no-stack-check", "--json", "--threads", "1"], o, 1);
    let compare = document(
        &["compare", "stack-check", "no-stack-check", "--variants", "upstream", "--format", "json", "--threads", "1"],
        o,
        1,
    );
    let ci = document(&["ci", "--filter", "stack-check", "--json", "--threads", "1"], o, 0);
    for (what, doc) in [("check --json", &check), ("compare --format json", &compare), ("ci --json", &ci)] {
        validate(what, doc);
        assert_eq!(doc["schema"], "klpcheck-report/1", "{what}");
    }
    assert_eq!((check["command"].as_str(), compare["command"].as_str()), (Some("check"), Some("compare")));
    assert_eq!(check["runs"].as_array().unwrap().len(), 1);
    assert_eq!(compare["runs"].as_array().unwrap().len(), 2);
    // Every run has the same fields (ci's add `expected`: its entry and differences).
    let base = &run_fields(&check)[0];
    for f in run_fields(&compare) {
        assert_eq!(&f, base);
    }
    for f in run_fields(&ci) {
        let mut f = f;
        f.retain(|k| k != "expected");
        assert_eq!(&f, base);
    }
    // The counterexample is structured: its steps, its three files, no free text.
    let p = &check["runs"][0]["properties"][0];
    assert_eq!(
        (p["name"].as_str(), p["verdict"].as_str(), p["steps"].as_u64()),
        (Some("no_mixed_universe"), Some("violated"), Some(4))
    );
    let json = p["trace"]["json"].as_str().unwrap();
    assert!(json.ends_with("no-stack-check--no_mixed_universe.json") && Path::new(json).exists(), "{p}");
    for k in ["timeline", "dmesg"] {
        assert!(Path::new(p["trace"][k].as_str().unwrap()).exists(), "{p}");
    }
    assert_eq!(check["runs"][0]["limit_hit"], serde_json::Value::Null);
    assert_eq!(check["verdict"]["violated"], 1);
    assert_eq!(check["verdict"]["exit_code"], 1);
    let ci_run = &ci["runs"][0];
    assert_eq!(ci_run["expected"]["differences"], serde_json::json!([]), "{ci_run}");
    assert_eq!(ci_run["expected"]["unique_states"], ci_run["unique_states"]);
    assert_eq!(ci["missing_entries"], serde_json::json!([]));
}

/// A run stopped by a limit says which, and no property of it holds.
#[test]
fn a_limit_hit_is_a_field() {
    let out = tempfile::tempdir().unwrap();
    let doc = document(&["check", "fork", "--json", "--max-states", "100", "--threads", "1"], out.path(), 3);
    validate("check --max-states", &doc);
    let run = &doc["runs"][0];
    assert_eq!((run["complete"].as_bool(), run["limit_hit"].as_str()), (Some(false), Some("max-states")));
    assert_eq!(run["limits"]["max_states"], 100);
    assert_eq!(doc["verdict"]["holds"], 0);
    assert!(doc["verdict"]["text"].as_str().unwrap().contains("exit 3 (incomplete: max-states"), "{doc}");
}
