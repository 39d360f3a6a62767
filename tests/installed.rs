//! An installed binary (issue 17 point 2): a copy of `klpcheck` outside the source tree, run
//! from another directory with CARGO_MANIFEST_DIR unset and the source tree hidden, finds the
//! shipped scenarios, presets and expectations compiled into it (build.rs, src/shipped.rs); a
//! file the user names still wins over a shipped name; a trace of a shipped scenario replays.
//!
//! The source tree is hidden by mounting an empty tmpfs over it in a private mount namespace
//! (`unshare -rm`, util-linux), so a binary that still read `model/scenarios/` from its build
//! tree fails here. Where namespaces are not permitted the test runs without hiding and says
//! so, except under CI (the variable CI set), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Installed {
    bin: PathBuf,
    cwd: PathBuf,
    hide: bool,
}

impl Installed {
    fn run(&self, args: &[&str]) -> Output {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut c = if self.hide {
            let mut c = Command::new("unshare");
            c.args(["-rm", "sh", "-c", "mount -t tmpfs none \"$0\" && exec \"$@\"", root]).arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        c.args(args).current_dir(&self.cwd).env_remove("CARGO_MANIFEST_DIR").output().unwrap()
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Whether a private mount namespace can hide the source tree here.
fn can_hide(bin: &Path) -> bool {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = "mount -t tmpfs none \"$0\" && test ! -e \"$0/Cargo.toml\" && exec \"$@\" --version";
    let o = Command::new("unshare").args(["-rm", "sh", "-c", script, root]).arg(bin).output();
    let ok = o.as_ref().is_ok_and(|o| o.status.success());
    if !ok {
        let why = o.map(|o| text(&o)).unwrap_or_else(|e| e.to_string());
        assert!(std::env::var_os("CI").is_none(), "CI: cannot hide the source tree with `unshare -rm`: {why}");
        println!(
            "SKIPPED hiding the source tree (`unshare -rm` failed: {}); the binary still runs elsewhere",
            why.trim()
        );
    }
    ok
}

#[test]
fn installed_binary_works_from_elsewhere_without_its_source_tree() {
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin/klpcheck");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(assert_cmd::cargo::cargo_bin("klpcheck"), &bin).unwrap();
    let cwd = home.path().join("elsewhere");
    std::fs::create_dir_all(&cwd).unwrap();
    let shipped = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    let k = Installed { hide: can_hide(&bin), bin, cwd: cwd.clone() };

    let o = k.run(&["list", "scenarios"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let names: Vec<&str> = t.lines().filter(|l| !l.starts_with(' ')).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names.len(), shipped, "{t}");
    assert!(names.contains(&"no-stack-check") && !t.contains("(invalid"), "{t}");

    let o = k.run(&["list", "variants"]);
    assert!(text(&o).contains("\nno-stack-check "), "{}", text(&o));

    let o = k.run(&["check", "no-stack-check", "--threads", "1", "--out", "out"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("no_mixed_universe                          VIOLATED"), "{t}");
    assert!(t.contains("found by: klpcheck check no-stack-check\n"), "{t}");
    let trace = std::fs::read_to_string(cwd.join("out/no-stack-check--no_mixed_universe.json")).unwrap();
    assert!(trace.contains("\"scenario_path\": \"model/scenarios/no-stack-check.toml\""), "{trace}");

    // The trace names a path that does not exist here: replay falls back to the shipped name.
    let o = k.run(&["replay", "out/no-stack-check--no_mixed_universe.json"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("replay: all 4 steps valid; violation of 'no_mixed_universe' confirmed"), "{t}");

    let o = k.run(&["check", "stack-check", "--variant", "no-stack-check", "--threads", "1", "--out", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    let o = k.run(&["ci", "--filter", "stack-check", "--out", "out"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.starts_with("ci: expectations/klpcheck.toml: 38 entries ("), "{t}");

    // A file the user names wins over the shipped name: here `no-stack-check` is a copy of the
    // stack-check scenario (stack checking on), in which every property holds.
    let stack_check = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios/stack-check.toml"));
    std::fs::write(cwd.join("no-stack-check"), stack_check.unwrap()).unwrap();
    let o = k.run(&["check", "no-stack-check", "--threads", "1", "--out", "out"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("no_mixed_universe                          holds"), "{t}");

    if k.hide {
        // `ci --update` writes the source tree's file, which is gone: it asks for one.
        let o = k.run(&["ci", "--update", "--filter", "stack-check"]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(t.contains("is gone (this binary was built in"), "{t}");
        assert!(t.contains("name the file to write: `klpcheck ci FILE --update`"), "{t}");
    }
}
