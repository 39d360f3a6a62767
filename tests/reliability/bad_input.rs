//! Every bad input tried: scenario files, variant presets and traces. Each must be refused with
//! exit code 2 and a located error (`file:line:column: field: message` plus a one-line hint for
//! files the user writes), never a panic. The README's "Bad input" table is generated from
//! these cases (`scripts/bless.sh` rewrites it).

/// A valid scenario that every scenario case below breaks in one way.
pub const BASE: &str = r#"description = "base of the bad-input cases"

[[functions]]
name = "vfs_read"
calls = ["cmdline_proc_show"]
sleeps = "interruptible"

[[functions]]
name = "cmdline_proc_show"

[[functions]]
name = "mod_fn"
object = "mod_a"

[[modules]]
name = "mod_a"

[[tasks]]
comm = "cat"
entry = ["vfs_read"]

[[tasks]]
comm = "kworker"
kind = "kthread"

[[patches]]
name = "lp1"
states = [{ id = 1, version = 1 }]
[[patches.objects]]
funcs = ["cmdline_proc_show"]
callbacks = { pre_patch = 0 }

[admin]
order = "any"
ops = [{ op = "insmod", patch = "lp1" }, { op = "disable", patch = "lp1", max = 2 }]

[bounds]
max_stack = 2
"#;

fn with(from: &str, to: &str) -> Vec<u8> {
    assert!(BASE.contains(from), "case pattern {from:?} not in BASE");
    BASE.replacen(from, to, 1).into_bytes()
}

fn with2(a: (&str, &str), b: (&str, &str)) -> Vec<u8> {
    let s = String::from_utf8(with(a.0, a.1)).unwrap();
    assert!(s.contains(b.0), "case pattern {:?} not in BASE", b.0);
    s.replacen(b.0, b.1, 1).into_bytes()
}

/// BASE with `/proc/cmdline` shown by cmdline_proc_show, a script, and `ops` as its commands.
fn proc_script(ops: &str) -> Vec<u8> {
    let s = String::from_utf8(with2(
        ("name = \"cmdline_proc_show\"\n", "name = \"cmdline_proc_show\"\nproc = \"/proc/cmdline\"\n"),
        ("order = \"any\"", "order = \"script\""),
    ))
    .unwrap();
    let from = "ops = [{ op = \"insmod\", patch = \"lp1\" }, { op = \"disable\", patch = \"lp1\", max = 2 }]";
    s.replacen(from, &format!("ops = [{{ op = \"insmod\", patch = \"lp1\" }}, {ops}]"), 1).into_bytes()
}

fn append(extra: &str) -> Vec<u8> {
    format!("{BASE}{extra}").into_bytes()
}

fn many(table: &str, n: usize, body: impl Fn(usize) -> String) -> Vec<u8> {
    let mut s = BASE.to_string();
    for i in 0..n {
        s.push_str(&format!("\n[[{table}]]\n{}\n", body(i)));
    }
    s.into_bytes()
}

/// Six more functions, patched by six more patches each: 37 patch funcs with lp1's, over the 32
/// slots a state has (model/src/ids.rs).
fn patch_funcs_over_capacity() -> Vec<u8> {
    let mut s = BASE.to_string();
    for i in 0..6 {
        s.push_str(&format!("\n[[functions]]\nname = \"g{i}\"\n"));
    }
    let funcs: Vec<String> = (0..6).map(|i| format!("\"g{i}\"")).collect();
    for i in 0..6 {
        s.push_str(&format!(
            "\n[[patches]]\nname = \"lp{}\"\n[[patches.objects]]\nfuncs = [{}]\n",
            i + 2,
            funcs.join(", ")
        ));
    }
    s.into_bytes()
}

/// (what is wrong, file contents) for `klpcheck check bad.toml`.
pub fn scenarios() -> Vec<(&'static str, Vec<u8>)> {
    let fn_patch = "[[patches]]\nname = \"lp1\"";
    vec![
        ("empty file", b"".to_vec()),
        ("only a comment", b"# nothing here\n".to_vec()),
        ("not TOML (unclosed header)", b"[[tasks]\ncomm = \"cat\"\n".to_vec()),
        ("not UTF-8", b"description = \"caf\xe9\"\n".to_vec()),
        ("key given twice", with("comm = \"cat\"", "comm = \"cat\"\ncomm = \"dog\"")),
        ("unknown top-level key", format!("colour = \"blue\"\n{BASE}").into_bytes()),
        ("misspelt key (did you mean)", with("comm = \"cat\"", "comn = \"cat\"")),
        ("unknown key in an inline table", with("{ op = \"insmod\", patch", "{ op = \"insmod\", pach")),
        (
            "wrong type (string for an integer)",
            with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = \"two\""),
        ),
        (
            "wrong type (table for an array)",
            format!("tasks = 3\n{}", &BASE[BASE.find("[[functions]]").unwrap()..BASE.find("[[tasks]]").unwrap()])
                .into_bytes(),
        ),
        (
            "missing required key",
            with("[[patches.objects]]\nfuncs = [\"cmdline_proc_show\"]", "[[patches.objects]]\nname = \"vmlinux\""),
        ),
        ("unknown enum value (sleeps)", with("\"interruptible\"", "\"interuptible\"")),
        ("unknown enum value (task kind)", with("\"kthread\"", "\"daemon\"")),
        ("negative count", with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = -1")),
        ("count beyond u32", with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = 99999999999")),
        ("count 0", with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = 0")),
        ("count above the u8 pid limit", with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = 17")),
        (
            "forks that would allocate 4e9 tasks",
            with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\nforks = 4000000000"),
        ),
        (
            "count and forks over the task limit",
            with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = 4\nforks = 3"),
        ),
        ("forks on a kthread", with("kind = \"kthread\"", "kind = \"kthread\"\nforks = 1")),
        (
            "no tasks",
            BASE.replace("[[tasks]]\ncomm = \"cat\"\nentry = [\"vfs_read\"]\n", "")
                .replace("[[tasks]]\ncomm = \"kworker\"\nkind = \"kthread\"\n", "")
                .into_bytes(),
        ),
        ("no patches", BASE.as_bytes()[..BASE.find("[[patches]]").unwrap()].to_vec()),
        (
            "a patch with no object",
            with("[[patches.objects]]\nfuncs = [\"cmdline_proc_show\"]\ncallbacks = { pre_patch = 0 }", ""),
        ),
        ("unknown function in entry (did you mean)", with("entry = [\"vfs_read\"]", "entry = [\"vfs_raed\"]")),
        ("unknown function in calls", with("calls = [\"cmdline_proc_show\"]", "calls = [\"seq_read\"]")),
        ("unknown function in a patch", with("funcs = [\"cmdline_proc_show\"]", "funcs = [\"cmdline_proc_shwo\"]")),
        ("unknown module of a function", with("object = \"mod_a\"", "object = \"mod_b\"")),
        ("unknown module of a patch object", with("[[patches.objects]]\n", "[[patches.objects]]\nname = \"mdo_a\"\n")),
        (
            "unknown patch in a command (did you mean)",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"insmod\", patch = \"lp2\" }"),
        ),
        (
            "unknown module in a command",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"insmod\", module = \"mod_b\" }"),
        ),
        ("unknown command (did you mean)", with("op = \"insmod\"", "op = \"insmood\"")),
        ("command without its patch", with("{ op = \"disable\", patch = \"lp1\", max = 2 }", "{ op = \"disable\" }")),
        (
            "command with patch and module",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"insmod\", patch = \"lp1\", module = \"mod_a\" }"),
        ),
        ("duplicate function", with("name = \"cmdline_proc_show\"", "name = \"vfs_read\"")),
        ("duplicate module", append("\n[[modules]]\nname = \"mod_a\"\n")),
        (
            "module named vmlinux",
            with("[[modules]]\nname = \"mod_a\"", "[[modules]]\nname = \"mod_a\"\n[[modules]]\nname = \"vmlinux\""),
        ),
        ("duplicate patch", append("\n[[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = []\n")),
        ("patch named like a module", with(fn_patch, "[[patches]]\nname = \"mod_a\"")),
        ("duplicate task comm", with("comm = \"kworker\"", "comm = \"cat\"")),
        (
            "task comm clash through count",
            with2(
                ("comm = \"kworker\"", "comm = \"cat-1\""),
                ("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = 2"),
            ),
        ),
        ("two objects for vmlinux in one patch", append("[[patches.objects]]\nname = \"vmlinux\"\nfuncs = []\n")),
        ("function patched in the wrong object", with("funcs = [\"cmdline_proc_show\"]", "funcs = [\"mod_fn\"]")),
        (
            "function listed twice in an object",
            with("funcs = [\"cmdline_proc_show\"]", "funcs = [\"cmdline_proc_show\", \"cmdline_proc_show\"]"),
        ),
        (
            "duplicate klp_state id",
            with("states = [{ id = 1, version = 1 }]", "states = [{ id = 1, version = 1 }, { id = 1, version = 2 }]"),
        ),
        ("pre_patch returns a positive value", with("pre_patch = 0", "pre_patch = 5")),
        (
            "unknown shadow variable call",
            with(
                "funcs = [\"cmdline_proc_show\"]",
                "funcs = [{ name = \"cmdline_proc_show\", shadow = [{ op = \"alloc\", id = 1 }] }]",
            ),
        ),
        (
            "negative shadow variable id",
            with(
                "funcs = [\"cmdline_proc_show\"]",
                "funcs = [{ name = \"cmdline_proc_show\", shadow = [{ op = \"get\", id = -1 }] }]",
            ),
        ),
        (
            "shadow parent object out of range",
            with(
                "funcs = [\"cmdline_proc_show\"]",
                "funcs = [{ name = \"cmdline_proc_show\", shadow = [{ op = \"get\", id = 1, obj = 4 }] }]",
            ),
        ),
        ("more than 32 shadow variable pairs", {
            let calls: Vec<String> = (0..33).map(|i| format!("{{ op = \"get\", id = {i} }}")).collect();
            with(
                "funcs = [\"cmdline_proc_show\"]",
                &format!("funcs = [{{ name = \"cmdline_proc_show\", shadow = [{}] }}]", calls.join(", ")),
            )
        }),
        (
            "shadow_free_all in a callback the object does not have",
            with(
                "callbacks = { pre_patch = 0 }",
                "callbacks = { pre_patch = 0 }\nshadow_free_all = { post_unpatch = [1] }",
            ),
        ),
        (
            "unknown callback in shadow_free_all",
            with("callbacks = { pre_patch = 0 }", "callbacks = { pre_patch = 0 }\nshadow_free_all = { on_exit = [1] }"),
        ),
        (
            "exit_shadow_free_all not a list",
            with("states = [{ id = 1, version = 1 }]", "states = [{ id = 1, version = 1 }]\nexit_shadow_free_all = 1"),
        ),
        (
            "klp_state: unknown callback behaviour",
            with("callbacks = { pre_patch = 0 }", "callbacks = { pre_patch = 0, klp_state = \"loglevel\" }"),
        ),
        (
            "klp_state without all four callbacks",
            with("callbacks = { pre_patch = 0 }", "callbacks = { pre_patch = 0, klp_state = \"console_loglevel\" }"),
        ),
        (
            "klp_state callbacks on a module object",
            with(
                "callbacks = { pre_patch = 0 }",
                "callbacks = { pre_patch = 0 }\n[[patches.objects]]\nname = \"mod_a\"\nfuncs = []\n\
                 callbacks = { pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true, klp_state = \"console_loglevel\" }",
            ),
        ),
        ("max_stack 0", with("max_stack = 2", "max_stack = 0")),
        ("max_stack above the limit", with("max_stack = 2", "max_stack = 9")),
        ("command max 0", with("max = 2", "max = 0")),
        ("command max above the u8 counter limit", with("max = 2", "max = 300")),
        ("max in a script", with("order = \"any\"", "order = \"script\"")),
        ("unknown order", with("order = \"any\"", "order = \"random\"")),
        ("[admin] without order", with("order = \"any\"\n", "")),
        ("online on a user task", with("comm = \"cat\"\n", "comm = \"cat\"\nonline = false\n")),
        ("cpu_up without a cpu", with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"cpu_up\" }")),
        (
            "cpu_down of a CPU with no idle task",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"cpu_down\", cpu = 1 }"),
        ),
        (
            "cpu on a livepatch command",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"insmod\", patch = \"lp1\", cpu = 0 }"),
        ),
        (
            "sysfs check in any order",
            with(
                "{ op = \"insmod\", patch = \"lp1\" }",
                "{ op = \"check_sysfs_value\", patch = \"lp1\", path = \"enabled\", value = 1 }",
            ),
        ),
        (
            "sysfs check of a file the patch has not",
            with2(
                ("order = \"any\"", "order = \"script\""),
                (
                    "{ op = \"disable\", patch = \"lp1\", max = 2 }",
                    "{ op = \"check_sysfs_value\", patch = \"lp1\", path = \"mod_a/patched\", value = 1 }",
                ),
            ),
        ),
        (
            "sysfs rights no file has",
            with2(
                ("order = \"any\"", "order = \"script\""),
                (
                    "{ op = \"disable\", patch = \"lp1\", max = 2 }",
                    "{ op = \"check_sysfs_rights\", patch = \"lp1\", path = \"enabled\", rights = \"-rwxrwxrwx\" }",
                ),
            ),
        ),
        (
            "sysfs check without a value",
            with2(
                ("order = \"any\"", "order = \"script\""),
                (
                    "{ op = \"disable\", patch = \"lp1\", max = 2 }",
                    "{ op = \"check_sysfs_value\", patch = \"lp1\", path = \"enabled\" }",
                ),
            ),
        ),
        (
            "ftrace_enabled sysctl of 2",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"set_ftrace_enabled\", value = 2 }"),
        ),
        (
            "params on rmmod",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"rmmod\", patch = \"lp1\", params = \"replace=1\" }"),
        ),
        (
            "unknown module parameter (did you mean)",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"insmod\", patch = \"lp1\", params = \"replac=1\" }"),
        ),
        (
            "module parameter not an int",
            with(
                "{ op = \"insmod\", patch = \"lp1\" }",
                "{ op = \"insmod\", patch = \"lp1\", params = \"pre_patch_ret=x\" }",
            ),
        ),
        (
            "klp_pids element not an int",
            with(
                "{ op = \"insmod\", patch = \"lp1\" }",
                "{ op = \"insmod\", patch = \"lp1\", params = \"klp_pids=1,x\" }",
            ),
        ),
        (
            "klp_pids names no user task",
            with(
                "{ op = \"insmod\", patch = \"lp1\" }",
                "{ op = \"insmod\", patch = \"lp1\", params = \"klp_pids=9\" }",
            ),
        ),
        (
            "replace=0 against replace = true",
            with2(
                ("name = \"lp1\"\n", "name = \"lp1\"\nreplace = true\n"),
                (
                    "{ op = \"insmod\", patch = \"lp1\" }",
                    "{ op = \"insmod\", patch = \"lp1\", params = \"replace=0\" }",
                ),
            ),
        ),
        (
            "set_param without a value",
            with(
                "{ op = \"insmod\", patch = \"lp1\" }",
                "{ op = \"set_param\", patch = \"lp1\", param = \"pre_patch_ret\" }",
            ),
        ),
        (
            "set_param of an unknown parameter",
            with(
                "{ op = \"insmod\", patch = \"lp1\" }",
                "{ op = \"set_param\", patch = \"lp1\", param = \"replace\", value = 1 }",
            ),
        ),
        (
            "fail on a livepatch command",
            with("{ op = \"insmod\", patch = \"lp1\" }", "{ op = \"insmod\", patch = \"lp1\", fail = true }"),
        ),
        (
            "proc file not under /proc",
            with("name = \"cmdline_proc_show\"\n", "name = \"cmdline_proc_show\"\nproc = \"cmdline\"\n"),
        ),
        ("proc on a module's function", with("object = \"mod_a\"\n", "object = \"mod_a\"\nproc = \"/proc/mod_a\"\n")),
        (
            "output of a function that shows no file",
            with("name = \"cmdline_proc_show\"\n", "name = \"cmdline_proc_show\"\noutput = \"x\"\n"),
        ),
        (
            "patch func output for a function that shows no file",
            with(
                "funcs = [\"cmdline_proc_show\"]",
                "funcs = [{ name = \"cmdline_proc_show\", output = \"lp1: patched\" }]",
            ),
        ),
        (
            "grep in any order",
            with2(
                ("name = \"cmdline_proc_show\"\n", "name = \"cmdline_proc_show\"\nproc = \"/proc/cmdline\"\n"),
                (
                    "{ op = \"insmod\", patch = \"lp1\" }",
                    "{ op = \"grep\", task = \"cat\", pattern = \"live patched\", file = \"/proc/cmdline\" }",
                ),
            ),
        ),
        (
            "grep of a file no function shows (did you mean)",
            proc_script("{ op = \"grep\", task = \"cat\", pattern = \"live patched\", file = \"/proc/cmdlin\" }"),
        ),
        ("grep without a pattern", proc_script("{ op = \"grep\", task = \"cat\", file = \"/proc/cmdline\" }")),
        (
            "grep by a kthread",
            proc_script("{ op = \"grep\", task = \"kworker\", pattern = \"x\", file = \"/proc/cmdline\" }"),
        ),
        (
            "grep by an unknown task (did you mean)",
            proc_script("{ op = \"grep\", task = \"cta\", pattern = \"x\", file = \"/proc/cmdline\" }"),
        ),
        (
            "cat with expect and expect_not",
            proc_script(
                "{ op = \"cat\", task = \"cat\", file = \"/proc/cmdline\", expect = \"a\", expect_not = \"b\" }",
            ),
        ),
        (
            "pattern on a cat",
            proc_script("{ op = \"cat\", task = \"cat\", file = \"/proc/cmdline\", pattern = \"a\" }"),
        ),
        ("task on a livepatch command", proc_script("{ op = \"rmmod\", patch = \"lp1\", task = \"cat\" }")),
        (
            "more than 32 commands",
            with("ops = [", &format!("ops = [{}", "{ op = \"enable\", patch = \"lp1\" }, ".repeat(32))),
        ),
        (
            "more than 8 patches",
            many("patches", 8, |i| format!("name = \"lp{}\"\n[[patches.objects]]\nfuncs = []", i + 2)),
        ),
        ("more than 8 modules", many("modules", 8, |i| format!("name = \"m{i}\""))),
        ("more than 32 functions", many("functions", 30, |i| format!("name = \"f{i}\""))),
        ("more than 32 patch funcs (the state's fixed capacity)", patch_funcs_over_capacity()),
        ("unknown knob in [variant] (did you mean)", append("\n[variant]\nstack_chek = \"none\"\n")),
        ("unknown knob value", append("\n[variant]\nstack_check = \"prev\"\n")),
        ("knob value not a string", append("\n[variant]\nstack_check = 1\n")),
        // Unknown tables are named by their header, not the table before them.
        ("unknown table (did you mean)", with("[bounds]", "[bound]")),
        ("unknown table at the end (did you mean)", append("\n[admins]\norder = \"any\"\n")),
        ("unknown array of tables (did you mean)", append("\n[[patch]]\nname = \"lp2\"\n")),
        (
            "wrong type in a command on its own line",
            with(
                "ops = [{ op = \"insmod\", patch = \"lp1\" }, ",
                "ops = [\n  { op = \"insmod\", patch = \"lp1\", wait = \"maybe\" },\n  ",
            ),
        ),
        ("a boolean for an enum", with("sleeps = \"interruptible\"", "sleeps = true")),
        ("an integer for a table", with("states = [{ id = 1, version = 1 }]", "states = [1]")),
        // The user's own properties ([[invariant]], [[witness]]).
        (
            "user property: unknown patch (did you mean)",
            append("\n[[witness]]\nname = \"lp_loaded\"\nholds = { patch = \"lp2\", state = \"loaded\" }\n"),
        ),
        (
            "user property: unknown patch state (did you mean)",
            append("\n[[invariant]]\nname = \"never_on\"\nholds = { not = { patch = \"lp1\", state = \"enbled\" } }\n"),
        ),
        (
            "user property: two atoms in one table",
            append("\n[[witness]]\nname = \"both\"\nholds = { patch = \"lp1\", state = \"enabled\", transition = \"any\" }\n"),
        ),
        ("user property: empty predicate", append("\n[[witness]]\nname = \"nothing\"\nholds = {}\n")),
        (
            "user property: unknown key in a predicate (did you mean)",
            append("\n[[witness]]\nname = \"w\"\nholds = { all = [{ patch = \"lp1\", stat = \"enabled\" }] }\n"),
        ),
        (
            "user property: one copy of a task",
            with("entry = [\"vfs_read\"]", "entry = [\"vfs_read\"]\ncount = 2").into_iter().chain(
                b"\n[[witness]]\nname = \"w\"\nholds = { task = \"cat-1\", runs = \"vfs_read\" }\n".iter().copied(),
            ).collect(),
        ),
        (
            "user property: unknown function version",
            append("\n[[witness]]\nname = \"w\"\nholds = { runs = \"vfs_read\", version = \"lp9\" }\n"),
        ),
        (
            "user property: not a property name",
            append("\n[[witness]]\nname = \"Lp2 loaded\"\nholds = { transition = \"any\" }\n"),
        ),
        (
            "user property: a built-in property's name",
            append("\n[[witness]]\nname = \"patch_applied\"\nholds = { transition = \"any\" }\n"),
        ),
        (
            "user property: name given twice",
            append("\n[[witness]]\nname = \"w\"\nholds = { transition = \"any\" }\n[[invariant]]\nname = \"w\"\nholds = { transition = \"none\" }\n"),
        ),
    ]
}

/// (what is wrong, file contents) for `klpcheck check stack-check --variant bad.toml`.
pub fn presets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("preset: empty file", b"".to_vec()),
        ("preset: only a description", b"description = \"nothing\"\n".to_vec()),
        ("preset: unknown knob (did you mean)", b"stack_chek = \"none\"\n".to_vec()),
        ("preset: unknown value", b"stack_check = \"nope\"\n".to_vec()),
        ("preset: not a string", b"stack_check = [1]\n".to_vec()),
        ("preset: not TOML", b"stack_check = \n".to_vec()),
        ("preset: not UTF-8", b"description = \"\xff\"\nstack_check = \"none\"\n".to_vec()),
    ]
}

/// (what is wrong, file contents) for `klpcheck replay bad.json`, from a valid trace.
pub fn traces(valid: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let v: serde_json::Value = serde_json::from_slice(valid).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut w = v.clone();
        f(&mut w);
        serde_json::to_vec_pretty(&w).unwrap()
    };
    let mut corrupt = valid.to_vec();
    let at = valid.windows(7).position(|w| w == b"\"steps\"").unwrap();
    corrupt[at + 12] = b'#';
    vec![
        ("trace: empty file", Vec::new()),
        ("trace: truncated", valid[..valid.len() / 2].to_vec()),
        ("trace: corrupted byte", corrupt),
        ("trace: not UTF-8", [&valid[..20], b"\xff", &valid[21..]].concat()),
        ("trace: JSON but not a trace", b"[1, 2, 3]\n".to_vec()),
        ("trace: another schema version", edit(&|w| w["schema"] = 99.into())),
        ("trace: no schema field", edit(&|w| drop(w.as_object_mut().unwrap().remove("schema")))),
        ("trace: a required field missing", edit(&|w| drop(w.as_object_mut().unwrap().remove("steps")))),
        ("trace: unknown action", edit(&|w| w["steps"][1]["action"] = serde_json::json!({"reboot": 0}))),
        ("trace: unknown knob in its variant", edit(&|w| w["variant"] = serde_json::json!({"stack_chek": "none"}))),
        ("trace: from a different scenario", edit(&|w| w["scenario"] = "fork".into())),
        // (A missing file alone falls back to the shipped scenario of the trace's name.)
        (
            "trace: its scenario file is gone",
            edit(&|w| {
                w["scenario_path"] = "gone.toml".into();
                w["scenario"] = "gone".into();
            }),
        ),
        (
            "trace: its scenario_path is another scenario's file",
            edit(&|w| w["scenario_path"] = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/fork.toml").into()),
        ),
        ("trace: step index out of range", edit(&|w| w["steps"][2]["i"] = 99.into())),
        (
            "trace: a task that does not exist",
            edit(&|w| w["steps"][1]["action"] = serde_json::json!({"syscall": [9, 0]})),
        ),
        ("trace: a patch that does not exist", edit(&|w| w["steps"][0]["action"] = serde_json::json!({"admin": 7}))),
        ("trace: pid beyond u8", edit(&|w| w["steps"][1]["action"] = serde_json::json!({"syscall": [300, 0]}))),
        ("trace: an unknown property", edit(&|w| w["property"] = "no_mixed_univers".into())),
        ("trace: an unknown verdict", edit(&|w| w["verdict"] = "violatd".into())),
        ("trace: steps that do not show its verdict", edit(&|w| drop(w["steps"].as_array_mut().unwrap().pop()))),
    ]
}

/// A valid expectations file (one entry of the committed one, with a default verdict written
/// out, which the file accepts) that the cases below break.
pub const EXPECTATIONS: &str =
    "[stack-check.upstream]\ntags = [\"fast\"]\nstates = 35\nno_mixed_universe = \"holds\"\n";

/// (what is wrong, file contents) for `klpcheck ci bad.toml`.
pub fn expectations() -> Vec<(&'static str, Vec<u8>)> {
    let with = |from: &str, to: &str| {
        assert!(EXPECTATIONS.contains(from), "case pattern {from:?} not in EXPECTATIONS");
        EXPECTATIONS.replacen(from, to, 1).into_bytes()
    };
    vec![
        ("expectations: not TOML (unclosed header)", with("[stack-check.upstream]", "[stack-check.upstream")),
        (
            "expectations: not UTF-8",
            with("\"fast\"", "\"f?st\"").into_iter().map(|b| if b == b'?' { 0xff } else { b }).collect(),
        ),
        ("expectations: unknown scenario (did you mean)", with("[stack-check.", "[stack-chek.")),
        ("expectations: unknown variant (did you mean)", with(".upstream]", ".upstraem]")),
        ("expectations: unknown property (did you mean)", with("no_mixed_universe", "no_mixed_univers")),
        ("expectations: unknown verdict (did you mean)", with("\"holds\"", "\"hold\"")),
        ("expectations: a verdict its property's kind cannot have", with("\"holds\"", "\"reachable\"")),
        ("expectations: verdict not a string", with("\"holds\"", "true")),
        ("expectations: state count not an integer", with("states = 35", "states = \"35\"")),
        ("expectations: negative state count", with("states = 35", "states = -1")),
        ("expectations: missing state count", with("states = 35\n", "")),
        ("expectations: tags not a list of strings", with("[\"fast\"]", "[1]")),
        ("expectations: an entry that is not a table", b"stack-check = 1\n".to_vec()),
    ]
}

/// (what is wrong, arguments) for `klpcheck ARGS`: names on the command line.
pub fn command_lines() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("--witness: unknown property (did you mean)", vec!["check", "stack-check", "--witness", "patch_aplied"]),
        ("--witness: an `always` property", vec!["check", "stack-check", "--witness", "no_mixed_universe"]),
        ("--set: unknown knob (did you mean)", vec!["check", "stack-check", "--set", "stack_chek=none"]),
        ("--set: unknown value", vec!["check", "stack-check", "--set", "stack_check=nope"]),
        ("--set: no `=`", vec!["check", "stack-check", "--set", "stack_check"]),
        ("--variant: unknown preset (did you mean)", vec!["check", "stack-check", "--variant", "no-stack-chek"]),
        ("unknown scenario name", vec!["check", "no-such-scenario"]),
        ("unknown scenario name (did you mean)", vec!["check", "no-stack-chek"]),
        ("--property: unknown property (did you mean)", vec!["check", "stack-check", "--property", "no_mixed_univers"]),
        (
            "--property: a liveness property under --no-liveness",
            vec!["check", "stack-check", "--no-liveness", "--property", "transition_completes"],
        ),
        (
            "--witness: a property --property leaves out",
            vec!["check", "stack-check", "--property", "no_mixed_universe", "--witness", "patch_applied"],
        ),
        ("--threads 0", vec!["check", "stack-check", "--threads", "0"]),
        ("ci --filter: unknown tag or name", vec!["ci", "--filter", "fsat"]),
        (
            "check --coverage with stateright's engine",
            vec!["check", "stack-check", "--coverage", "--engine", "stateright"],
        ),
        ("simulate --walks 0", vec!["simulate", "stack-check", "--walks", "0"]),
        ("simulate --threads 0", vec!["simulate", "stack-check", "--threads", "0"]),
        ("simulate: unknown scenario name", vec!["simulate", "no-such-scenario"]),
    ]
}
