//! The dmesg-style transcript: every line prefixed with its step number where dmesg prints a
//! timestamp. An admin command appears as the selftests log it (`% insmod test_modules/lp1.ko`,
//! `% echo 0 > /sys/kernel/livepatch/lp1/enabled`), followed by the kernel's messages in the
//! kernel's wording (the model's own lines); a step of a task or of the kernel's work that is
//! not a command starts with `-- ` and the step's action, so every step of the trace appears.
//! Built from the JSON alone.

use crate::Trace;

/// The `[   N] ` prefix.
pub fn prefix(step: usize) -> String {
    format!("[{step:4}] ")
}

/// The transcript text.
pub fn render(trace: &Trace) -> String {
    let mut out = format!("# {}\n", crate::title(trace));
    out.push_str(&format!("# variant: {}\n", trace.variant.describe()));
    for s in &trace.steps {
        let p = prefix(s.i);
        if trace.cycle_start == Some(s.i - 1) {
            out.push_str(&format!("{p}-- cycle: the steps from here on repeat forever\n"));
        }
        if s.dmesg.first() != Some(&s.text) {
            out.push_str(&format!("{p}-- {}\n", s.text));
        }
        for l in &s.dmesg {
            out.push_str(&format!("{p}{l}\n"));
        }
    }
    match trace.cycle_start {
        Some(c) if c < trace.steps.len() => {
            out.push_str(&format!("# the cycle closes: back to the state before step {}\n", c + 1))
        }
        Some(_) => out.push_str("# no fair step is enabled: the run stays in the last state forever\n"),
        None => {}
    }
    if let Some(e) = &trace.violation {
        out.push_str(&format!("# step {}: '{}' violated: {}\n", e.step, trace.property, e.summary));
    }
    out.push_str(&format!("# found by: {}\n", trace.found_by));
    out.push_str(&format!("# replay: {}\n", trace.replay));
    out
}
