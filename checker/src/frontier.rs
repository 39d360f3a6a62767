//! One BFS level of full states, kept as fixed-size segments (one per batch).
//!
//! Why: a single `Vec` for the next level doubles while it grows (up to 2x slack) and the
//! current level stays allocated until the level ends. Segments of exactly one batch need
//! no slack, and each is dropped as soon as its batch is expanded, so the two levels
//! overlap in memory only partly; equal-sized blocks are also easy for malloc to reuse.

pub(crate) struct Segments<S> {
    segs: Vec<Vec<S>>,
    cap: usize,
    len: usize,
}

impl<S> Segments<S> {
    pub(crate) fn new(cap: usize) -> Self {
        Segments { segs: Vec::new(), cap, len: 0 }
    }

    pub(crate) fn push(&mut self, s: S) {
        match self.segs.last_mut() {
            Some(last) if last.len() < self.cap => last.push(s),
            _ => {
                let mut seg = Vec::with_capacity(self.cap);
                seg.push(s);
                self.segs.push(seg);
            }
        }
        self.len += 1;
    }

    /// Moves all of `v` to the end (leaves `v` empty, with its capacity).
    pub(crate) fn append(&mut self, v: &mut Vec<S>) {
        for s in v.drain(..) {
            self.push(s);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The segments; every one but the last holds exactly `cap` states.
    pub(crate) fn into_segments(self) -> Vec<Vec<S>> {
        self.segs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_full_except_the_last() {
        let mut f = Segments::new(3);
        f.append(&mut (0..7).collect());
        assert_eq!(f.len(), 7);
        assert_eq!(f.into_segments(), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    }
}
