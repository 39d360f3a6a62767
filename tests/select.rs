//! `--property NAME...` and `--no-liveness` (issue 17 point 6, src/select.rs): only the named
//! properties are checked and reported, and a property left out is never listed as holding.

use crate::common::{klpcheck, text};

/// `check`'s property rows on stdout: (name, verdict).
fn rows(t: &str) -> Vec<(String, String)> {
    t.lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap().to_string(), w.next().unwrap().to_string())
        })
        .collect()
}

fn property_count() -> usize {
    let o = klpcheck().args(["list", "properties", "--json"]).output().unwrap();
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap().as_array().unwrap().len()
}

#[test]
fn property_checks_and_reports_only_the_named_properties() {
    let out = tempfile::tempdir().unwrap();
    // no-stack-check violates no_mixed_universe, which is not asked for: the run holds.
    let o = klpcheck()
        .args(["check", "no-stack-check", "--threads", "1", "--property", "patch_applied"])
        .args(["--property", "transition_completes", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let want = [("patch_applied", "reachable"), ("transition_completes", "holds")];
    assert_eq!(rows(&String::from_utf8_lossy(&o.stdout)), want.map(|(n, v)| (n.to_string(), v.to_string())), "{t}");
    let summary = format!("2 of {} properties checked (--property); the others are not reported", property_count());
    assert!(t.contains(&summary), "{t}");
    assert!(!t.contains("no_mixed_universe"), "{t}");
    assert_eq!(std::fs::read_dir(out.path()).map(|d| d.count()).unwrap_or(0), 0, "no trace written");

    // The same run asked for no_mixed_universe alone: violated, exit 1, its trace written.
    let o = klpcheck()
        .args(["check", "no-stack-check", "--threads", "1", "--property", "no_mixed_universe", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(rows(&stdout), [("no_mixed_universe".to_string(), "VIOLATED".to_string())], "{t}");
    assert!(out.path().join("no-stack-check--no_mixed_universe.json").exists());
}

#[test]
fn no_liveness_leaves_out_every_eventually_property_and_the_state_graph() {
    let json = |extra: &[&str]| {
        let o = klpcheck().args(["check", "stack-check", "--threads", "1", "--json"]).args(extra).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["runs"][0].take()
    };
    let (all, safety) = (json(&[]), json(&["--no-liveness"]));
    let live = klp_properties::liveness::docs().len();
    let names = |j: &serde_json::Value| -> Vec<String> {
        j["properties"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&all).len(), property_count());
    assert_eq!(names(&safety).len(), property_count() - live);
    assert_eq!(names(&safety)[..], names(&all)[..property_count() - live]);
    assert_eq!(safety["unique_states"], all["unique_states"]);
    assert!(all["resources"]["graph_bytes_per_state"].is_number(), "{all}");
    let r = &safety["resources"];
    assert!(r["graph_bytes_per_state"].is_null() && r["liveness_seconds"].is_null(), "{safety}");

    // Under stateright's engine the liveness rows are "unchecked" (exit 3); left out, the run
    // can hold.
    let o = klpcheck().args(["check", "stack-check", "--engine", "stateright", "--threads", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = klpcheck()
        .args(["check", "stack-check", "--engine", "stateright", "--threads", "1", "--no-liveness"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("unchecked"), "{}", text(&o));
}

#[test]
fn compare_reports_only_the_named_property() {
    let out = tempfile::tempdir().unwrap();
    let o = klpcheck()
        .args(["compare", "stack-check", "--variants", "upstream,no-stack-check", "--format", "csv"])
        .args(["--property", "no_mixed_universe", "--threads", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let props: Vec<&str> = t.lines().skip(1).filter_map(|l| l.split(',').nth(5)).collect();
    assert_eq!(props, ["no_mixed_universe", "no_mixed_universe"], "{t}");
}
