//! One BFS level of full states, kept as fixed-size segments (one per batch).
//!
//! Why: a single `Vec` for the next level doubles while it grows (up to 2x slack) and the
//! current level stays allocated until the level ends. Segments of exactly one batch need
//! no slack, and each is dropped as soon as its batch is expanded, so the two levels
//! overlap in memory only partly; equal-sized blocks are also easy to reuse: a segment whose
//! batch was expanded is handed back (`recycle`) and filled again by the next level, instead
//! of going back to the allocator (which may return its pages to the kernel, to be faulted in
//! and zeroed again a moment later).

pub(crate) struct Segments<S> {
    segs: Vec<Vec<S>>,
    cap: usize,
    len: usize,
    /// Empty segments with capacity `cap`, reused before allocating.
    spare: Vec<Vec<S>>,
}

/// Spare segments kept at most (one batch is expanded, then its segment refills the next
/// level, so a few cover the steady state).
const MAX_SPARE: usize = 4;

impl<S> Segments<S> {
    pub(crate) fn new(cap: usize) -> Self {
        Segments { segs: Vec::new(), cap, len: 0, spare: Vec::new() }
    }

    /// Takes back an expanded batch's segment for reuse.
    pub(crate) fn recycle(&mut self, mut seg: Vec<S>) {
        seg.clear();
        if seg.capacity() == self.cap && self.spare.len() < MAX_SPARE {
            self.spare.push(seg);
        }
    }

    pub(crate) fn push(&mut self, s: S) {
        match self.segs.last_mut() {
            Some(last) if last.len() < self.cap => last.push(s),
            _ => {
                let mut seg = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(self.cap));
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

    /// The segments (every one but the last holds exactly `cap` states) and the spare ones.
    pub(crate) fn into_parts(self) -> (Vec<Vec<S>>, Vec<Vec<S>>) {
        (self.segs, self.spare)
    }

    /// Adds spare segments (from the previous level) for reuse.
    pub(crate) fn adopt_spare(&mut self, spare: Vec<Vec<S>>) {
        for seg in spare {
            self.recycle(seg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_segments_are_refilled_empty() {
        let mut f = Segments::new(2);
        let mut old = Vec::with_capacity(2);
        old.extend([9, 9]);
        let ptr = old.as_ptr();
        f.recycle(old);
        f.push(1);
        let (segs, spare) = f.into_parts();
        assert_eq!(segs, vec![vec![1]]);
        assert_eq!(segs[0].as_ptr(), ptr, "the recycled allocation is reused");
        assert!(spare.is_empty());
    }

    #[test]
    fn segments_are_full_except_the_last() {
        let mut f = Segments::new(3);
        f.append(&mut (0..7).collect());
        assert_eq!(f.len(), 7);
        assert_eq!(f.into_parts().0, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    }
}
