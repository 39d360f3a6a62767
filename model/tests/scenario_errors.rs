//! Bad scenarios are rejected with the file, line, column and field.

use klp_model::scenario::parse;

fn err(src: &str) -> String {
    parse("t", "t.toml", src).expect_err("must be rejected").to_string()
}

const OK: &str = "[[functions]]\nname = \"f\"\n\n[[tasks]]\ncomm = \"a\"\nentry = [\"f\"]\n\n[[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [\"f\"]\n";

#[test]
fn minimal_scenario_parses() {
    let s = parse("t", "t.toml", OK).unwrap();
    assert_eq!(s.funcs.len(), 1);
    assert_eq!(s.tasks.len(), 1);
    assert_eq!(s.max_stack, 2);
}

#[test]
fn unknown_key_names_line_and_field() {
    let e = err(&format!("colour = 1\n{OK}"));
    assert!(e.starts_with("t.toml:1:1: colour: unknown field `colour`"), "{e}");
    let e = err(&format!("{OK}colour = 1\n"));
    assert!(e.starts_with("t.toml:12:1: patches.objects.colour: unknown field `colour`"), "{e}");
    let e = err(&OK.replace("comm =", "comn ="));
    assert!(e.starts_with("t.toml:5:1: tasks.comn: unknown field `comn`"), "{e}");
    assert!(e.ends_with("hint: did you mean 'comm'?"), "{e}");
}

#[test]
fn unknown_function_suggests_a_name() {
    let e =
        err("[[functions]]\nname = \"cmdline_proc_show\"\n\n[[tasks]]\ncomm = \"a\"\nentry = [\"cmdline_proc_shw\"]\n");
    assert!(e.contains("t.toml:6:10: tasks.entry: unknown function 'cmdline_proc_shw'"), "{e}");
    assert!(e.contains("did you mean 'cmdline_proc_show'?"), "{e}");
}

#[test]
fn impossible_bounds_and_counts() {
    assert!(err(&format!("{OK}[bounds]\nmax_stack = 0\n")).contains("bounds.max_stack: 0 must be 1..=8"));
    let e = err("[[functions]]\nname = \"f\"\n\n[[tasks]]\ncomm = \"a\"\ncount = 99\n");
    assert!(e.contains("t.toml:6:9: tasks.count: count 99 must be 1..=16"), "{e}");
}

#[test]
fn empty_and_duplicate() {
    assert!(err("").contains("tasks: a scenario needs at least one task"));
    let e = err("[[functions]]\nname = \"f\"\n[[functions]]\nname = \"f\"\n[[tasks]]\ncomm = \"a\"\n");
    assert!(e.contains("t.toml:4:8: functions.name: duplicate function 'f'"), "{e}");
}

#[test]
fn unknown_patch_in_admin_and_unknown_command() {
    let e = err(&format!("{OK}[admin]\norder = \"script\"\nops = [{{ op = \"insmod\", patch = \"lp2\" }}]\n"));
    assert!(e.contains("admin.ops.patch: unknown patch 'lp2'"), "{e}");
    let e = err(&format!("{OK}[admin]\norder = \"script\"\nops = [{{ op = \"insmood\", patch = \"lp1\" }}]\n"));
    assert!(e.contains("admin.ops.op: unknown command 'insmood'") && e.contains("did you mean 'insmod'?"), "{e}");
}

/// `[variant]` is read like a preset: an unknown knob points at the key, a bad value at the value.
#[test]
fn unknown_variant_knob() {
    let e = err(&format!("{OK}[variant]\nstack_chek = \"none\"\n"));
    assert_eq!(e, "t.toml:13:1: variant.stack_chek: unknown knob 'stack_chek'\n  hint: did you mean 'stack_check'?");
    let e = err(&format!("{OK}[variant]\nstack_check = \"prev\"\n"));
    assert_eq!(
        e,
        "t.toml:13:15: variant.stack_check: knob 'stack_check' has no value 'prev'\n  hint: one of: previous, none, all"
    );
    let e = err(&format!("{OK}[variant]\nstack_check = 1\n"));
    assert_eq!(
        e,
        "t.toml:13:15: variant.stack_check: expected a string, found integer\n  \
         hint: write stack_check = \"value\" (`klpcheck list knobs`)"
    );
    let s = klp_model::scenario::read_str("t", "t.toml", &format!("{OK}[variant]\nstack_check = \"none\"\n")).unwrap();
    assert_eq!(s.variant.describe(), "stack_check=none");
    assert_eq!(s.into_spec().unwrap().variant.describe(), "stack_check=none");
}

#[test]
fn objects_without_functions_and_scenarios_without_functions_parse() {
    // klp_init_patch_early() only needs obj->funcs != NULL: the selftests' callback demo objects
    // patch nothing.
    let src = "[[tasks]]\ncomm = \"a\"\n[[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = []\n";
    let s = parse("t", "t.toml", src).unwrap();
    assert!(s.funcs.is_empty());
    assert_eq!(s.objs.len(), 1);
    assert!(s.objs[0].funcs.is_empty());
    // The field itself stays required (a NULL obj->funcs is -EINVAL).
    let e = err("[[tasks]]\ncomm = \"a\"\n[[patches]]\nname = \"lp1\"\n[[patches.objects]]\nname = \"vmlinux\"\n");
    assert!(e.contains("missing field `funcs`"), "{e}");
}

#[test]
fn freezable_and_main_loop_fields() {
    // A freezable function must sleep.
    let e = err(&OK.replace("name = \"f\"\n", "name = \"f\"\nfreezable = true\n"));
    assert!(e.starts_with("t.toml:3:13: functions.freezable: function 'f' is freezable but never sleeps"), "{e}");
    // Main-loop fields are a kthread's only.
    let e = err(&OK.replace("comm = \"a\"\n", "comm = \"a\"\nsleeps = \"never\"\n"));
    assert!(e.starts_with("t.toml:6:10: tasks.sleeps: only a kthread's main loop has `sleeps`"), "{e}");
    let e =
        err(&OK.replace("comm = \"a\"\n", "comm = \"a\"\nkind = \"kthread\"\nsleeps = \"never\"\nfreezable = true\n"));
    assert!(e.starts_with("t.toml:8:13: tasks.freezable: task 'a' is freezable but its main loop never sleeps"), "{e}");
    let s =
        parse("t", "t.toml", &OK.replace("comm = \"a\"\n", "comm = \"a\"\nkind = \"kthread\"\ncond_resched = true\n"))
            .unwrap();
    let m = s.tasks[0].main_loop;
    assert_eq!((m.sleeps, m.freezable, m.cond_resched), (klp_model::spec::Sleeps::Interruptible, false, true));
}

/// A patch's func as a table: its new function's `calls` and `sleeps` (default: the
/// original's) and how patching it fails.
const VERSIONS: &str = "[[functions]]\nname = \"f\"\ncalls = [\"g\"]\nsleeps = \"forever\"\n[[functions]]\nname = \"g\"\n[[functions]]\nname = \"h\"\n\n[[tasks]]\ncomm = \"a\"\nentry = [\"f\"]\n\n[[patches]]\nname = \"lp1\"\n[[patches.objects]]\nfuncs = [{ name = \"f\", calls = [\"h\"], sleeps = \"never\" }, \"g\"]\n[[patches]]\nname = \"lp2\"\n[[patches.objects]]\nfuncs = [{ name = \"f\", patch_fails = \"ipmodify\" }]\n";

#[test]
fn patch_funcs_declare_their_new_body() {
    use klp_model::ids::Version;
    use klp_model::spec::{PatchFails, Sleeps};
    let s = parse("t", "t.toml", VERSIONS).unwrap();
    let f = &s.funcs[0];
    assert_eq!((f.calls_of(Version::ORIGINAL), f.sleeps_of(Version::ORIGINAL)), (&[1][..], Sleeps::Forever));
    assert_eq!((f.calls_of(Version::of_patch(0)), f.sleeps_of(Version::of_patch(0))), (&[2][..], Sleeps::Never));
    // lp2 declares no body: its new function calls and sleeps as the original.
    assert_eq!((f.calls_of(Version::of_patch(1)), f.sleeps_of(Version::of_patch(1))), (&[1][..], Sleeps::Forever));
    let fails: Vec<_> = s.klp_funcs.iter().map(|k| (k.patch, k.old_func, k.patch_fails)).collect();
    assert_eq!(fails, [(0, 0, None), (0, 1, None), (1, 0, Some(PatchFails::Ipmodify))]);
}

#[test]
fn bad_patch_func_tables_name_line_and_field() {
    let e = err(&VERSIONS.replace("calls = [\"h\"]", "calls = [\"hh\"]"));
    assert!(e.starts_with("t.toml:17:33: patches.objects.funcs.calls: unknown function 'hh'"), "{e}");
    assert!(e.ends_with("hint: did you mean 'h'?"), "{e}");
    let e = err(&VERSIONS.replace("sleeps = \"never\"", "sleep = \"never\""));
    assert!(e.starts_with("t.toml:17:") && e.contains("unknown field `sleep`"), "{e}");
    let e = err(&VERSIONS.replace("\"ipmodify\"", "\"kprobe\""));
    assert!(e.starts_with("t.toml:21:") && e.contains("unknown variant `kprobe`"), "{e}");
    let e = err(&VERSIONS.replace("{ name = \"f\", patch_fails", "{ nam = \"f\", patch_fails"));
    assert!(e.starts_with("t.toml:21:") && e.contains("`nam`"), "{e}");
    let e = err(&VERSIONS.replace("\"g\"]\n[[patches]]", "3]\n[[patches]]"));
    assert!(e.starts_with("t.toml:17:59: patches.objects.funcs: invalid type: integer `3`"), "{e}");
    assert!(e.contains("expected a function name, or a table"), "{e}");
    let e = err(&VERSIONS.replace("patch_fails = \"ipmodify\" }]", "patch_fails = \"ipmodify\" }, \"f\"]"));
    assert!(e.starts_with("t.toml:21:52: patches.objects.funcs: function 'f' listed twice"), "{e}");
}
