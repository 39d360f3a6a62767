//! `klpcheck validate LOG --infer`: a scenario skeleton from a log. It proposes what the log
//! shows: the livepatches (every module named in `enabling patch '%s'`, `'%s': ... transition`,
//! or a selftest callback line), their objects (callback lines, `applying patch '%s' to loading
//! module '%s'`, `reverting patch ...`), the target modules and their init/exit messages, the
//! tasks and functions `klp_try_switch_task()` debug lines name, and the admin commands (the
//! harness's `% cmd` lines, or, in a plain dmesg, the commands the kernel messages imply). What a
//! log cannot show (the functions each object patches, the tasks and where they sleep) is left to
//! the user, with a comment saying so; the loader accepts the skeleton once a task is added.

use super::parse::{strip_prefixes, Observation, ParseError, SWITCH_DEBUG};
use std::fmt::Write;

#[derive(Default)]
struct Patch {
    name: String,
    /// Objects in the order seen, and whether callbacks were seen for each.
    objects: Vec<(String, bool)>,
}

#[derive(Default)]
struct Module {
    name: String,
    init_message: Option<String>,
    exit_message: Option<String>,
    other: Vec<String>,
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn between<'a>(s: &'a str, pre: &str, post: &str) -> Option<&'a str> {
    s.strip_prefix(pre)?.split_once(post).map(|(a, _)| a)
}

/// The patch a livepatch core line names (`livepatch: enabling patch 'p'`, `livepatch: 'p': ...`).
fn patch_of_core_line(l: &str) -> Option<&str> {
    let rest = l.strip_prefix("livepatch: ")?;
    if let Some(p) = between(rest, "enabling patch '", "'") {
        return Some(p);
    }
    let (p, what) = rest.strip_prefix('\'')?.split_once("': ")?;
    (what.contains("transition") || what.ends_with("complete")).then_some(p)
}

const CALLBACKS: &[&str] =
    &["pre_patch_callback", "post_patch_callback", "pre_unpatch_callback", "post_unpatch_callback"];

/// Proposes a scenario (TOML) for the log `text` of `file`.
pub fn infer(file: &str, text: &str) -> Result<String, ParseError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = strip_prefixes(raw).map_err(|what| ParseError { file: file.into(), line: i + 1, what })?;
        lines.push(l.to_string());
    }
    // Pass 1: the livepatches.
    let mut patches: Vec<Patch> = Vec::new();
    let add_patch = |patches: &mut Vec<Patch>, p: &str| {
        if !patches.iter().any(|x| x.name == p) {
            patches.push(Patch { name: p.to_string(), ..Patch::default() });
        }
    };
    for l in &lines {
        if let Some(p) = patch_of_core_line(l) {
            add_patch(&mut patches, p);
        }
        if let Some((p, rest)) = l.split_once(": ") {
            if CALLBACKS.iter().any(|c| rest.starts_with(&format!("{c}: "))) {
                add_patch(&mut patches, p);
            }
        }
    }
    let patch_names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
    let is_patch = |n: &str| patch_names.iter().any(|p| p == n);
    // Pass 2: objects, modules, tasks, functions, commands.
    let mut modules: Vec<Module> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    let mut funcs: Vec<String> = Vec::new();
    let mut ops: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let has_commands = lines.iter().any(|l| l.starts_with("% "));
    // The module whose init (`Some(true)`) or exit (`Some(false)`) message comes next.
    let mut expecting: Option<(String, bool)> = None;
    let add_obj = |patches: &mut Vec<Patch>, p: &str, o: &str, cb: bool| {
        if let Some(pp) = patches.iter_mut().find(|x| x.name == p) {
            match pp.objects.iter_mut().find(|x| x.0 == o) {
                Some(x) => x.1 |= cb,
                None => pp.objects.push((o.to_string(), cb)),
            }
        }
    };
    let add_module = |modules: &mut Vec<Module>, m: &str| {
        if !modules.iter().any(|x| x.name == m) {
            modules.push(Module { name: m.to_string(), ..Module::default() });
        }
    };
    for (i, l) in lines.iter().enumerate() {
        if let Some(cmd) = l.strip_prefix("% ") {
            expecting = None;
            let words: Vec<&str> = cmd.split_whitespace().collect();
            match words.as_slice() {
                ["insmod", path, args @ ..] => {
                    let name = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".ko");
                    let params =
                        if args.is_empty() { String::new() } else { format!(", params = {}", quoted(&args.join(" "))) };
                    if args.iter().any(|a| a.starts_with("block_transition=")) {
                        notes.push(format!(
                            "line {}: {name} takes block_transition=: give the module its work item (`work = \"...\"`, \
                             test_klp_callbacks_busy.c's busymod_work_func) and a kthread task with it in `entry`",
                            i + 1
                        ));
                    }
                    if is_patch(name) {
                        let nowait = insmod_does_not_wait(&lines[i + 1..], name);
                        let wait = if nowait { ", wait = false" } else { "" };
                        ops.push(format!("{{ op = \"insmod\", patch = {}{params}{wait} }}", quoted(name)));
                    } else {
                        add_module(&mut modules, name);
                        expecting = Some((name.to_string(), true));
                        ops.push(format!("{{ op = \"insmod\", module = {}{params} }}", quoted(name)));
                    }
                }
                ["rmmod", name] => {
                    let kind = if is_patch(name) { "patch" } else { "module" };
                    if kind == "module" {
                        add_module(&mut modules, name);
                        expecting = Some((name.to_string(), false));
                    }
                    ops.push(format!("{{ op = \"rmmod\", {kind} = {} }}", quoted(name)));
                }
                ["echo", v, ">", path] => {
                    let p = between(path, "/sys/kernel/livepatch/", "/");
                    let op = match (p, path.rsplit('/').next(), *v) {
                        (Some(p), Some("enabled"), "0") => {
                            Some(format!("{{ op = \"disable\", patch = {} }}", quoted(p)))
                        }
                        (Some(p), Some("enabled"), "1") => {
                            Some(format!("{{ op = \"enable\", patch = {} }}", quoted(p)))
                        }
                        (Some(p), Some("force"), "1") => Some(format!("{{ op = \"force\", patch = {} }}", quoted(p))),
                        _ => None,
                    };
                    let op = op.or_else(|| {
                        let p = between(path, "/sys/module/", "/parameters/pre_patch_ret")?;
                        Some(format!(
                            "{{ op = \"set_param\", patch = {}, param = \"pre_patch_ret\", value = {v} }}",
                            quoted(p)
                        ))
                    });
                    let op = op.or_else(|| {
                        let cpu = between(path, "/sys/devices/system/cpu/cpu", "/online")?;
                        Some(format!("{{ op = \"{}\", cpu = {cpu} }}", if *v == "1" { "cpu_up" } else { "cpu_down" }))
                    });
                    match op {
                        Some(op) => ops.push(op),
                        None => notes.push(format!("line {}: command not understood: {l}", i + 1)),
                    }
                }
                _ => notes.push(format!("line {}: command not understood: {l}", i + 1)),
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix(SWITCH_DEBUG) {
            if let Some(obs) = Observation::parse(rest) {
                let comm = obs.task().rsplit_once(':').map_or(obs.task(), |(c, _)| c).to_string();
                if !tasks.contains(&comm) {
                    tasks.push(comm);
                }
                if let Observation::SleepingOn { func, .. } = &obs {
                    if !funcs.contains(func) {
                        funcs.push(func.clone());
                    }
                }
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix("livepatch: ") {
            let loading = between(rest, "applying patch '", "' to loading module '")
                .zip(rest.rsplit_once("module '").map(|(_, m)| m.trim_end_matches('\'')));
            let unloading = between(rest, "reverting patch '", "' on unloading module '")
                .zip(rest.rsplit_once("module '").map(|(_, m)| m.trim_end_matches('\'')));
            if let Some((p, m)) = loading.or(unloading) {
                add_obj(&mut patches, p, m, false);
                add_module(&mut modules, m);
                if !has_commands {
                    let op = if loading.is_some() { "insmod" } else { "rmmod" };
                    ops.push(format!("{{ op = \"{op}\", module = {} }}", quoted(m)));
                }
            }
            if !has_commands {
                if let Some(p) = between(rest, "enabling patch '", "'") {
                    ops.push(format!("{{ op = \"insmod\", patch = {} }}", quoted(p)));
                }
                if let Some(p) = between(rest, "'", "': starting unpatching transition") {
                    let reversed = i > 0 && lines[i - 1].contains("reversing transition");
                    if !reversed {
                        ops.push(format!("{{ op = \"disable\", patch = {} }}", quoted(p)));
                    }
                }
                if rest.starts_with("forcing remaining tasks") {
                    if let Some(p) = patches.first() {
                        ops.push(format!("{{ op = \"force\", patch = {} }}", quoted(&p.name)));
                    }
                }
            }
            continue;
        }
        if let Some((who, msg)) = l.split_once(": ") {
            if let Some(cb) = CALLBACKS.iter().find(|c| msg.starts_with(&format!("{c}: "))) {
                let obj = msg[cb.len() + 2..].split(" -> ").next().unwrap_or_default();
                add_obj(&mut patches, who, obj, true);
                if obj != "vmlinux" {
                    add_module(&mut modules, obj);
                }
                continue;
            }
            if let Some(m) = modules.iter_mut().find(|m| m.name == who) {
                // `init_message` is printed as mod->init starts (the module's first line after its
                // insmod), `exit_message` as mod->exit() returns (its last line after the rmmod).
                match &expecting {
                    Some((e, true)) if e == who && m.init_message.is_none() => {
                        m.init_message = Some(msg.into());
                        expecting = None;
                    }
                    Some((e, false)) if e == who => {
                        if let Some(prev) = m.exit_message.replace(msg.into()) {
                            m.other.push(prev);
                        }
                    }
                    _ => m.other.push(msg.into()),
                }
            }
        }
    }
    Ok(render(file, has_commands, &patches, &modules, &tasks, &funcs, &ops, &notes))
}

/// `load_lp_nowait`: another command follows the insmod of `p` before its transition finished.
fn insmod_does_not_wait(rest: &[String], p: &str) -> bool {
    let started = format!("livepatch: '{p}': starting patching transition");
    let done = format!("livepatch: '{p}': patching complete");
    let undone = format!("livepatch: '{p}': unpatching complete");
    let mut in_transition = false;
    for l in rest {
        if *l == started {
            in_transition = true;
        } else if *l == done || *l == undone {
            return false;
        } else if l.starts_with("% ") {
            return in_transition;
        }
    }
    false
}

#[allow(clippy::too_many_arguments)]
fn render(
    file: &str,
    has_commands: bool,
    patches: &[Patch],
    modules: &[Module],
    tasks: &[String],
    funcs: &[String],
    ops: &[String],
    notes: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Scenario skeleton inferred by `klpcheck validate {file} --infer`.");
    let _ = writeln!(out, "# What a log cannot show is left to you:");
    let _ = writeln!(out, "# - [[tasks]]: at least one (the loader refuses a scenario without tasks), e.g. the shell");
    let _ = writeln!(out, "#   that ran the commands and one idle task per CPU;");
    let _ = writeln!(out, "# - the functions each object patches (`funcs = []` below) and [[functions]] for them,");
    let _ = writeln!(out, "#   with the tasks that call or sleep in them (`entry`, `sleeps`);");
    let _ = writeln!(out, "# - a module's work item and the messages of its functions (listed as comments).");
    if !has_commands {
        let _ =
            writeln!(out, "# The log has no `% cmd` lines: the commands below are the ones its kernel messages imply.");
    }
    for n in notes {
        let _ = writeln!(out, "# {n}");
    }
    let _ = writeln!(out, "description = {}", quoted(&format!("inferred from {file}")));
    for f in funcs {
        let _ = writeln!(out, "\n# A klp_try_switch_task() line names it: set its `object` (module) if not vmlinux.");
        let _ = writeln!(out, "[[functions]]\nname = {}", quoted(f));
    }
    for m in modules {
        let _ = writeln!(out, "\n[[modules]]\nname = {}", quoted(&m.name));
        if let Some(s) = &m.init_message {
            let _ = writeln!(out, "init_message = {}", quoted(s));
        }
        if let Some(s) = &m.exit_message {
            let _ = writeln!(out, "exit_message = {}", quoted(s));
        }
        for s in &m.other {
            let _ = writeln!(out, "# also printed: {}: {s} (a function's enter_message / exit_message?)", m.name);
        }
    }
    for t in tasks {
        let kind = if t.starts_with("swapper/") {
            "\nkind = \"idle\""
        } else if t.starts_with("kworker/") || t.starts_with('k') {
            "\nkind = \"kthread\""
        } else {
            ""
        };
        let _ = writeln!(out, "\n# Named by a klp_try_switch_task() line.\n[[tasks]]\ncomm = {}{kind}", quoted(t));
    }
    if tasks.is_empty() {
        let _ =
            writeln!(out, "\n# [[tasks]]\n# comm = \"bash\"\n\n# [[tasks]]\n# comm = \"swapper/0\"\n# kind = \"idle\"");
    }
    for p in patches {
        let _ = writeln!(out, "\n[[patches]]\nname = {}", quoted(&p.name));
        if p.objects.is_empty() {
            let _ = writeln!(out, "  # No object is named in the log: vmlinux proposed; add the objects it patches.");
            let _ =
                writeln!(out, "  [[patches.objects]]\n  name = \"vmlinux\"\n  funcs = []  # the functions it patches");
        }
        for (o, cb) in &p.objects {
            let _ = writeln!(
                out,
                "  [[patches.objects]]\n  name = {}\n  funcs = []  # the functions it patches",
                quoted(o)
            );
            if *cb {
                let _ = writeln!(
                    out,
                    "  callbacks = {{ pre_patch = 0, post_patch = true, pre_unpatch = true, post_unpatch = true }}"
                );
            }
        }
    }
    if !ops.is_empty() {
        let _ = writeln!(out, "\n[admin]\norder = \"script\"\nops = [");
        for o in ops {
            let _ = writeln!(out, "  {o},");
        }
        let _ = writeln!(out, "]");
    }
    out
}
