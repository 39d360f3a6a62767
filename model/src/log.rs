//! Where a step's kernel messages go. Exploration uses [`NoLog`] (the closures are never
//! called, so the hot path builds no strings); traces re-execute a path with a [`Dmesg`].

/// A sink for kernel messages produced by one step.
pub trait Log {
    /// Records one line, built only if someone listens.
    fn line(&mut self, f: impl FnOnce() -> String);
}

/// Discards everything (exploration).
pub struct NoLog;

impl Log for NoLog {
    #[inline(always)]
    fn line(&mut self, _f: impl FnOnce() -> String) {}
}

/// Collects lines in order.
#[derive(Default, Debug, Clone)]
pub struct Dmesg(pub Vec<String>);

impl Log for Dmesg {
    fn line(&mut self, f: impl FnOnce() -> String) {
        self.0.push(f());
    }
}
