//! Parent links at about 2 bytes per state.
//!
//! The engine numbers the states of each BFS level in (parent position, action index)
//! order. Parents of consecutive states are therefore non-decreasing, so a level can be
//! described by two byte logs:
//! * `children[p]`: how many new states frontier state `p` produced in the next level;
//! * `action[i]`: the index (into `Model::actions`) of the action that produced state `i`
//!   (for level 0: the index into `Model::init_states`).
//!
//! The parent of state `i` of level `d` is the `p` where the running sum of
//! `children` of level `d-1` passes `i`: a linear scan, paid only when a trace is rebuilt.
//! Replaying the action indices from the initial state reproduces exactly the states the
//! engine held in its frontier, with or without symmetry, so no fingerprint matching is
//! needed.
//!
//! Nor does it depend on the visited set being exact. Under bitstate hashing (`bitstate.rs`)
//! a state wrongly taken for a seen one is simply not in the next level: it gets no position
//! and no link, and no stored state can have it as parent. Every stored state therefore still
//! has a path of real steps from an initial state, so counterexamples stay valid and replay;
//! what can be lost is the shortest one, when a state on it was dropped (the path found is
//! then a longer one, still the first in BFS order among the states kept).

//!
//! With disk spill each finished level's logs go to a file of their own and come back (all of
//! them, about 2 bytes per state) only when the search is over and traces are rebuilt.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::codec::{self, read_vec, write_vec};

/// A `u32` log that costs one byte per entry; values >= 255 spill into a side map.
#[derive(Default)]
pub(crate) struct ByteLog {
    bytes: Vec<u8>,
    big: HashMap<usize, u32>,
    /// Spilled: the entries are in this file, not in memory.
    file: Option<PathBuf>,
}

impl ByteLog {
    pub(crate) fn push(&mut self, v: u32) {
        if v < 255 {
            self.bytes.push(v as u8);
        } else {
            self.big.insert(self.bytes.len(), v);
            self.bytes.push(255);
        }
    }

    pub(crate) fn extend(&mut self, vs: &[u32]) {
        self.bytes.reserve(vs.len());
        for &v in vs {
            self.push(v);
        }
    }

    pub(crate) fn get(&self, i: usize) -> u32 {
        debug_assert!(self.file.is_none(), "a spilled log is loaded before it is read");
        match self.bytes[i] {
            255 => self.big[&i],
            b => u32::from(b),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.capacity() + self.big.capacity() * 16
    }

    /// Gives back unused capacity once a level is finished (a `Vec` doubles while it grows).
    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
    }

    pub(crate) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        if let Some(f) = &self.file {
            return ByteLog::read_file(f)?.write_to(w);
        }
        write_vec(w, &self.bytes)?;
        let mut big: Vec<(usize, u32)> = self.big.iter().map(|(&k, &v)| (k, v)).collect();
        big.sort_unstable();
        write_vec(w, &big.iter().map(|&(k, _)| k as u64).collect::<Vec<_>>())?;
        write_vec(w, &big.iter().map(|&(_, v)| v).collect::<Vec<_>>())
    }

    pub(crate) fn read_from(r: &mut impl Read) -> io::Result<Self> {
        let bytes = read_vec::<u8>(r)?;
        let keys = read_vec::<u64>(r)?;
        let vals = read_vec::<u32>(r)?;
        let big = keys.into_iter().map(|k| k as usize).zip(vals).collect();
        Ok(ByteLog { bytes, big, file: None })
    }

    fn read_file(path: &Path) -> io::Result<Self> {
        ByteLog::read_from(&mut codec::open(path)?).map_err(|e| codec::with_path(e, path))
    }

    /// Moves the entries to `path` (no-op if spilled already).
    fn spill(&mut self, path: PathBuf) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let mut w = codec::create(&path)?;
        self.write_to(&mut w).and_then(|()| w.flush()).map_err(|e| codec::with_path(e, &path))?;
        *self = ByteLog { file: Some(path), ..ByteLog::default() };
        Ok(())
    }

    /// Brings spilled entries back into memory (and removes their file).
    fn load(&mut self) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            *self = ByteLog::read_file(&f)?;
            let _ = std::fs::remove_file(f);
        }
        Ok(())
    }
}

/// Per-level parent information for the whole run.
#[derive(Default)]
pub(crate) struct Levels {
    /// `action[d]`: one entry per state of level `d`.
    pub(crate) action: Vec<ByteLog>,
    /// `children[d]`: one entry per state of level `d` that was expanded.
    pub(crate) children: Vec<ByteLog>,
}

impl Levels {
    pub(crate) fn bytes(&self) -> usize {
        self.action.iter().chain(&self.children).map(ByteLog::bytes).sum()
    }

    /// Moves every log still in memory to a file in `dir`.
    pub(crate) fn spill(&mut self, dir: &Path) -> io::Result<()> {
        for (d, l) in self.action.iter_mut().enumerate() {
            l.spill(dir.join(format!("action-{d}.bin")))?;
        }
        for (d, l) in self.children.iter_mut().enumerate() {
            l.spill(dir.join(format!("children-{d}.bin")))?;
        }
        Ok(())
    }

    /// Brings every spilled log back (before [`path_to`](Levels::path_to)).
    pub(crate) fn load(&mut self) -> io::Result<()> {
        self.action.iter_mut().chain(&mut self.children).try_for_each(ByteLog::load)
    }

    pub(crate) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        for logs in [&self.action, &self.children] {
            w.write_all(&(logs.len() as u64).to_le_bytes())?;
            logs.iter().try_for_each(|l| l.write_to(w))?;
        }
        Ok(())
    }

    pub(crate) fn read_from(r: &mut impl Read) -> io::Result<Self> {
        let mut read = || -> io::Result<Vec<ByteLog>> {
            let n = codec::read_u64(r)?;
            (0..n).map(|_| ByteLog::read_from(r)).collect()
        };
        let action = read()?;
        let children = read()?;
        Ok(Levels { action, children })
    }

    /// Returns (init index, action indices) leading to state `pos` of level `depth`.
    pub(crate) fn path_to(&self, depth: usize, mut pos: usize) -> (usize, Vec<usize>) {
        let mut steps = Vec::with_capacity(depth);
        for d in (1..=depth).rev() {
            steps.push(self.action[d].get(pos) as usize);
            pos = self.parents_of(d, &[pos])[0];
        }
        steps.reverse();
        (self.action[0].get(pos) as usize, steps)
    }

    /// The parents (positions on level `d - 1`) of the states at `positions` (ascending) on
    /// level `d`: children are stored in their parents' order, so one pass over level `d - 1`'s
    /// children counts finds them all.
    pub(crate) fn parents_of(&self, d: usize, positions: &[usize]) -> Vec<usize> {
        let children = &self.children[d - 1];
        let (mut acc, mut p) = (0usize, 0usize);
        let mut up = Vec::with_capacity(positions.len());
        for &pos in positions {
            loop {
                let c = children.get(p) as usize;
                if pos < acc + c {
                    break;
                }
                acc += c;
                p += 1;
            }
            up.push(p);
        }
        up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_log_spills_large_values() {
        let mut l = ByteLog::default();
        l.extend(&[0, 254, 255, 70_000, 3]);
        let got: Vec<u32> = (0..l.len()).map(|i| l.get(i)).collect();
        assert_eq!(got, vec![0, 254, 255, 70_000, 3]);
    }

    #[test]
    fn path_walks_children_counts() {
        // level 0: inits #0, #1; init #1 has 2 children (actions 4, 7); level 1 state 1
        // (action 7) has one child (action 2).
        let mut lv = Levels::default();
        let mut a0 = ByteLog::default();
        a0.extend(&[0, 1]);
        let mut c0 = ByteLog::default();
        c0.extend(&[0, 2]);
        let mut a1 = ByteLog::default();
        a1.extend(&[4, 7]);
        let mut c1 = ByteLog::default();
        c1.extend(&[0, 1]);
        let mut a2 = ByteLog::default();
        a2.extend(&[2]);
        lv.action = vec![a0, a1, a2];
        lv.children = vec![c0, c1];
        assert_eq!(lv.path_to(2, 0), (1, vec![7, 2]));
        assert_eq!(lv.path_to(1, 0), (1, vec![4]));
        assert_eq!(lv.path_to(0, 0), (0, vec![]));
    }
}
