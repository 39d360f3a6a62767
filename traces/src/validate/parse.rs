//! Reading a kernel log for `klpcheck validate`: a `dmesg` as a customer sends it, or a selftest's
//! expected `check_result` text. Each line loses its `printk` time stamp (`[   12.345678] `, with
//! or without the caller id `[    T1] `), and a `journalctl -k` / syslog prefix (`... kernel: `);
//! then the selftest harness's filter ([`crate::script::scenario_keeps`]) decides which lines
//! count, exactly as for the model's own transcript, so that both sides are filtered alike.
//!
//! Two kinds of lines are special:
//! - the harness's `% cmd` lines (functions.sh writes each command to /dev/kmsg) and the error
//!   text of a failed command: a log that has no `% ` line at all is a plain dmesg, and then the
//!   model's command lines are not expected either ([`LogFile::has_commands`]);
//! - the `pr_debug()` lines of `klp_try_switch_task()` (kernel/livepatch/transition.c, read at
//!   torvalds/linux 00619f7c: `%s: %s:%d is running`, `... has an unreliable stack`, `... is
//!   sleeping on function %s`, `Unknown error code (%d) when trying to switch %s:%d`), printed
//!   only with dynamic debug on. The harness switches them off, so the model's copies are
//!   filtered out; a log's copies are kept as [`Observation`]s, checked against the state the
//!   search has reached when it comes to them (`is sleeping on function f` only where that task's
//!   stack check fails on `f`), never skipped unchecked.

use klp_model::Spec;

/// The prefix of `klp_try_switch_task()`'s `pr_debug()` lines (`pr_fmt` + `__func__`).
pub const SWITCH_DEBUG: &str = "livepatch: klp_try_switch_task: ";

/// What a `klp_try_switch_task()` debug line says about a task (`comm:pid` as printed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// `-EBUSY`: the task is running on another CPU.
    Running { task: String },
    /// `-EADDRINUSE`: the stack check found `func` (the patched function's `old_name`).
    SleepingOn { task: String, func: String },
    /// `-EINVAL`: the stack could not be walked reliably.
    UnreliableStack { task: String },
    /// Any other error code.
    UnknownError { task: String, code: String },
}

impl Observation {
    /// Parses the text after [`SWITCH_DEBUG`].
    pub fn parse(rest: &str) -> Option<Observation> {
        if let Some(r) = rest.strip_prefix("Unknown error code (") {
            let (code, task) = r.split_once(") when trying to switch ")?;
            return Some(Observation::UnknownError { task: task.to_string(), code: code.to_string() });
        }
        if let Some(task) = rest.strip_suffix(" is running") {
            return Some(Observation::Running { task: task.to_string() });
        }
        if let Some(task) = rest.strip_suffix(" has an unreliable stack") {
            return Some(Observation::UnreliableStack { task: task.to_string() });
        }
        let (task, func) = rest.split_once(" is sleeping on function ")?;
        Some(Observation::SleepingOn { task: task.to_string(), func: func.to_string() })
    }

    /// The task as printed (`comm:pid`).
    pub fn task(&self) -> &str {
        match self {
            Observation::Running { task }
            | Observation::SleepingOn { task, .. }
            | Observation::UnreliableStack { task }
            | Observation::UnknownError { task, .. } => task,
        }
    }
}

/// One line of the log that counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// 1-based line number in the file.
    pub lineno: usize,
    /// The text without time stamp or syslog prefix.
    pub text: String,
    /// Set for a `klp_try_switch_task()` debug line.
    pub observation: Option<Observation>,
}

/// A parsed log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFile {
    /// The name used in messages.
    pub file: String,
    /// The lines that count, in order.
    pub lines: Vec<LogLine>,
    /// Whether the log has the harness's `% cmd` lines (then the model's must match).
    pub has_commands: bool,
    /// How many lines the filter dropped.
    pub dropped: usize,
}

/// Bad input: the file, the line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {what}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub what: String,
}

/// The text of a line without its `printk` time stamp, caller id, or syslog prefix; `Err` with
/// what is wrong for a time stamp that does not end.
pub fn strip_prefixes(line: &str) -> Result<&str, String> {
    let mut s = line.trim_end_matches(['\r', '\n']);
    // `[   12.345678] ` and the optional caller id `[    T123] ` / `[  C1] `.
    for _ in 0..2 {
        let Some(rest) = s.strip_prefix('[') else { break };
        let Some(end) = rest.find(']') else {
            return Err(format!("a time stamp `[` without its `]`: `{}`", truncate(line)));
        };
        let inner = rest[..end].trim();
        let stamp = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit() || c == '.');
        let caller = inner.len() > 1
            && (inner.starts_with('T') || inner.starts_with('C'))
            && inner[1..].chars().all(|c| c.is_ascii_digit());
        if !stamp && !caller {
            break;
        }
        s = rest[end + 1..].strip_prefix(' ').unwrap_or(&rest[end + 1..]);
    }
    // journalctl -k / syslog: "Dec 07 10:00:00 host kernel: livepatch: ...".
    if let Some(i) = s.find(" kernel: ") {
        if !s.starts_with("% ") && !s[..i].contains("livepatch:") {
            s = &s[i + " kernel: ".len()..];
        }
    }
    Ok(s)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The lines that the harness writes itself, not the kernel: its `% cmd` lines and the error
/// text of a failed command (klp_model::dmesg::command_error, `die`, `skip`).
pub fn is_harness_line(line: &str) -> bool {
    const PREFIXES: &[&str] =
        &["% ", "insmod: ERROR", "rmmod: ERROR", "echo: write error", "sysctl: ", "ERROR: ", "SKIP: ", "check: "];
    PREFIXES.iter().any(|p| line.starts_with(p))
}

/// Parses `text` (the contents of `file`) for `spec`'s scenario.
pub fn parse(file: &str, text: &str, spec: &Spec) -> Result<LogFile, ParseError> {
    let mut log = LogFile { file: file.to_string(), ..LogFile::default() };
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = strip_prefixes(raw).map_err(|what| ParseError { file: file.into(), line: lineno, what })?;
        if let Some(rest) = line.strip_prefix(SWITCH_DEBUG) {
            let Some(obs) = Observation::parse(rest) else {
                return Err(ParseError {
                    file: file.into(),
                    line: lineno,
                    what: format!("a klp_try_switch_task() debug line of unknown form: `{line}`"),
                });
            };
            log.lines.push(LogLine { lineno, text: line.to_string(), observation: Some(obs) });
            continue;
        }
        if !crate::script::scenario_keeps(spec, line) {
            log.dropped += 1;
            continue;
        }
        log.has_commands |= line.starts_with("% ");
        log.lines.push(LogLine { lineno, text: line.to_string(), observation: None });
    }
    if log.lines.is_empty() {
        return Err(ParseError {
            file: file.into(),
            line: text.lines().count().max(1),
            what: format!(
                "no line is a livepatch line (`livepatch:`, `test_klp` or a module of scenario '{}'): nothing to validate",
                spec.name
            ),
        });
    }
    Ok(log)
}

/// Whether the model's line `line` must appear in a log like `log`: the harness's filter keeps it
/// (which drops the model's `klp_try_switch_task()` debug lines), and harness lines only if the
/// log has them.
pub fn model_line_expected(spec: &Spec, log: &LogFile, line: &str) -> bool {
    crate::script::scenario_keeps(spec, line) && (log.has_commands || !is_harness_line(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(strip_prefixes("[   12.345678] livepatch: x").unwrap(), "livepatch: x");
        assert_eq!(strip_prefixes("[   12.345678][    T1] livepatch: x").unwrap(), "livepatch: x");
        assert_eq!(strip_prefixes("livepatch: x").unwrap(), "livepatch: x");
        assert_eq!(strip_prefixes("Dec 07 10:00:00 host kernel: livepatch: x").unwrap(), "livepatch: x");
        assert_eq!(strip_prefixes("[BOOT] x").unwrap(), "[BOOT] x");
        assert!(strip_prefixes("[   12.3 livepatch").is_err());
    }

    #[test]
    fn observations() {
        assert_eq!(
            Observation::parse("kworker/0:1:42 is sleeping on function busymod_work_func"),
            Some(Observation::SleepingOn { task: "kworker/0:1:42".into(), func: "busymod_work_func".into() })
        );
        assert_eq!(
            Observation::parse("swapper/0:0 is running"),
            Some(Observation::Running { task: "swapper/0:0".into() })
        );
        assert_eq!(
            Observation::parse("Unknown error code (-5) when trying to switch a:1"),
            Some(Observation::UnknownError { task: "a:1".into(), code: "-5".into() })
        );
        assert_eq!(Observation::parse("what"), None);
    }
}
