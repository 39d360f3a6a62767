//! `check`'s progress display: states, depth, rate, memory and the projected size of the run.
//!
//! On a terminal it is an indicatif status line (redrawn in place, cleared at the end); when
//! stderr is not a terminal (a pipe, a log file, CI) nothing is drawn unless `--progress` asks
//! for it, and then it is one plain line per sample, which a log keeps readable.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use klp_checker::estimate::{project, Projection};
use klp_checker::Progress;
use std::io::IsTerminal;
use std::time::Duration;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off,
    /// An indicatif line redrawn in place (stderr is a terminal), a sample every so often.
    Bar(Duration),
    /// One line per sample (`--progress` with stderr not a terminal), a sample every so often.
    Lines(Duration),
}

impl Mode {
    /// The default (a bar on a terminal, nothing otherwise), or what `--progress` /
    /// `--no-progress` force, with a sample every `every` (`--progress-every`).
    pub fn of(progress: bool, no_progress: bool, every: Duration) -> Mode {
        match (no_progress, std::io::stderr().is_terminal(), progress) {
            (true, _, _) => Mode::Off,
            (false, true, _) => Mode::Bar(every),
            (false, false, true) => Mode::Lines(every),
            (false, false, false) => Mode::Off,
        }
    }

    /// The time between two samples, if progress is shown.
    pub fn every(self) -> Option<Duration> {
        match self {
            Mode::Off => None,
            Mode::Bar(every) | Mode::Lines(every) => Some(every),
        }
    }
}

/// The display of one run.
pub struct Display {
    mode: Mode,
    bar: Option<ProgressBar>,
}

impl Display {
    pub fn new(mode: Mode) -> Display {
        let bar = matches!(mode, Mode::Bar(_)).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"));
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Display { mode, bar }
    }

    pub fn update(&self, p: &Progress) {
        let line = line(p);
        match (&self.bar, self.mode) {
            (Some(b), _) => b.set_message(line),
            (None, Mode::Lines(_)) => eprintln!("progress: {line}"),
            _ => {}
        }
    }

    /// Clears the bar (a finished run prints its own summary).
    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// One progress sample in words.
pub fn line(p: &Progress) -> String {
    let rate = p.states_per_sec;
    let mut s = format!(
        "{} states, depth {}, {} states/s, {} MiB",
        count(p.unique_states as f64),
        p.depth,
        count(rate),
        p.rss_bytes >> 20
    );
    match project(&p.level_sizes) {
        Ok(pr) => s.push_str(&format!(", {}", projected(&pr, p.unique_states, rate))),
        Err(why) => s.push_str(&format!(", no projection yet ({why})")),
    }
    s
}

/// "projected ~N states, depth ~D, ~T left" (time at the rate so far).
pub fn projected(pr: &Projection, done: u64, rate: f64) -> String {
    let left = (pr.total - done as f64).max(0.0) / rate.max(1e-9);
    format!("projected ~{} states, depth ~{}, ~{} left", count(pr.total), pr.levels.saturating_sub(1), duration(left))
}

/// 1234 -> "1234", 5.0e6 -> "5.00 M", 3.05e7 -> "30.5 M".
pub fn count(n: f64) -> String {
    match n {
        n if n >= 1e9 => format!("{:.3} G", n / 1e9),
        n if n >= 1e6 => format!("{:.3} M", n / 1e6),
        n if n >= 1e4 => format!("{:.1} k", n / 1e3),
        n => format!("{n:.0}"),
    }
}

/// Seconds as "42 s", "7 min", "3.2 h".
pub fn duration(secs: f64) -> String {
    match secs {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}
