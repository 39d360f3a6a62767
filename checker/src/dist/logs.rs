//! The parent log of one rank: per level, a record per state it owns, from which the ranks
//! walk a counterexample back (issue 19.2).
//!
//! A record is 12 bytes: the state's global BFS index and its parent's as 40-bit numbers
//! (10^12 states, a hundred times what a cluster of today holds), the action's index as 16
//! bits; a level's records ascend by index (binary search). In memory, or with `--spill`
//! appended to a file of this rank's (`DIR/klpcheck-rank-R-PID.parents`, removed at the end),
//! read back with positioned reads only when a trace is rebuilt: the records are written once
//! and read a few times per counterexample, never in the search's hot path.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::comm::Comm;
use crate::codec::{self, read_u64, read_vec, write_vec};

/// Bytes per record.
pub(crate) const REC: usize = 12;
/// The largest index (and the "no parent" mark of level 0).
const MAX40: u64 = (1 << 40) - 1;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Appends the record of state `idx` (parent `None` at level 0: then `action` indexes
/// `Model::init_states`).
pub(crate) fn record(out: &mut Vec<u8>, idx: u64, parent: Option<u64>, action: u32) -> io::Result<()> {
    let parent = parent.unwrap_or(MAX40);
    if idx >= MAX40 || parent > MAX40 {
        return Err(invalid(format!("state index {idx} is over the 2^40 a distributed parent log can hold")));
    }
    let action = u16::try_from(action)
        .map_err(|_| invalid(format!("action index {action} is over the 65,535 a distributed parent log can hold")))?;
    out.extend_from_slice(&idx.to_le_bytes()[..5]);
    out.extend_from_slice(&parent.to_le_bytes()[..5]);
    out.extend_from_slice(&action.to_le_bytes());
    Ok(())
}

fn u40(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..5].copy_from_slice(&b[..5]);
    u64::from_le_bytes(w)
}

/// (index, parent, action) of a record.
fn fields(r: &[u8]) -> (u64, Option<u64>, u32) {
    let parent = u40(&r[5..]);
    (u40(r), (parent != MAX40).then_some(parent), u32::from(u16::from_le_bytes([r[10], r[11]])))
}

/// The records of every level so far.
pub(crate) struct Logs {
    /// Per level: the byte offset of its first record and its record count.
    levels: Vec<(u64, u64)>,
    /// The records, when kept in memory.
    mem: Vec<u8>,
    /// The spill file (and its path, removed on drop), when not.
    file: Option<(File, PathBuf)>,
    /// Bytes of records so far.
    len: u64,
}

impl Logs {
    pub(crate) fn in_memory() -> Self {
        Logs { levels: Vec::new(), mem: Vec::new(), file: None, len: 0 }
    }

    /// Records appended to a new file in `dir`.
    pub(crate) fn on_disk(dir: &Path, rank: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| codec::with_path(e, dir))?;
        let path = dir.join(format!("klpcheck-rank-{rank}-{}.parents", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| codec::with_path(e, &path))?;
        Ok(Logs { levels: Vec::new(), mem: Vec::new(), file: Some((file, path)), len: 0 })
    }

    /// Appends one level's records (built by [`record`], ascending by index).
    pub(crate) fn push_level(&mut self, recs: &[u8]) -> io::Result<()> {
        self.levels.push((self.len, (recs.len() / REC) as u64));
        match &mut self.file {
            Some((f, path)) => f.write_all(recs).map_err(|e| codec::with_path(e, path))?,
            None => self.mem.extend_from_slice(recs),
        }
        self.len += recs.len() as u64;
        Ok(())
    }

    /// Bytes held in memory.
    pub(crate) fn bytes(&self) -> usize {
        self.mem.capacity() + self.levels.capacity() * 16
    }

    fn read(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        match &self.file {
            Some((f, path)) => f.read_exact_at(buf, at).map_err(|e| codec::with_path(e, path)),
            None => {
                buf.copy_from_slice(&self.mem[at as usize..at as usize + buf.len()]);
                Ok(())
            }
        }
    }

    /// (parent, action) of state `idx` of level `d` if this rank owns it.
    fn lookup(&self, d: usize, idx: u64) -> io::Result<Option<(Option<u64>, u32)>> {
        let Some(&(at, n)) = self.levels.get(d) else { return Ok(None) };
        let (mut lo, mut hi) = (0u64, n);
        let mut r = [0u8; REC];
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            self.read(at + mid * REC as u64, &mut r)?;
            let (i, parent, action) = fields(&r);
            match i.cmp(&idx) {
                std::cmp::Ordering::Equal => return Ok(Some((parent, action))),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(None)
    }

    /// (init index, action indices) leading to state `idx` of level `depth`: a walk back, one
    /// `Allreduce` per level (the owner of each state answers, the others say `u64::MAX`).
    /// Every rank calls it; a failed read on one rank is reported by all of them.
    pub(crate) fn path_to(&self, comm: &Comm, depth: usize, mut idx: u64) -> io::Result<(usize, Vec<usize>)> {
        let mut steps = Vec::with_capacity(depth);
        for d in (0..=depth).rev() {
            let here = self.lookup(d, idx);
            let mine = match &here {
                Ok(Some((p, a))) => [p.unwrap_or(u64::MAX), u64::from(*a), 0],
                Ok(None) => [u64::MAX, u64::MAX, 0],
                Err(_) => [u64::MAX, u64::MAX, 1],
            };
            let got = comm.min(&[mine[0], mine[1]]);
            if comm.max(&[mine[2]])[0] != 0 {
                return Err(here
                    .err()
                    .unwrap_or_else(|| io::Error::other("another rank could not read its parent log")));
            }
            if got[1] == u64::MAX {
                return Err(invalid(format!("state {idx} of level {d} has no owner in the parent logs")));
            }
            if d == 0 {
                steps.reverse();
                return Ok((got[1] as usize, steps));
            }
            steps.push(got[1] as usize);
            idx = got[0];
        }
        unreachable!("level 0 returns")
    }

    /// Writes every level's records (a checkpoint's `parents.bin`).
    pub(crate) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let flat: Vec<u64> = self.levels.iter().flat_map(|&(a, n)| [a, n]).collect();
        write_vec(w, &flat)?;
        w.write_all(&self.len.to_le_bytes())?;
        match &self.file {
            None => w.write_all(&self.mem),
            Some((f, path)) => {
                let mut pos = 0u64;
                let mut buf = vec![0u8; 1 << 20];
                while pos < self.len {
                    let n = (self.len - pos).min(buf.len() as u64) as usize;
                    f.read_exact_at(&mut buf[..n], pos).map_err(|e| codec::with_path(e, path))?;
                    w.write_all(&buf[..n])?;
                    pos += n as u64;
                }
                Ok(())
            }
        }
    }

    /// Reads what [`Logs::write_to`] wrote into `self` (empty: in memory or a new spill file).
    pub(crate) fn read_into(&mut self, r: &mut impl Read) -> io::Result<()> {
        let flat = read_vec::<u64>(r)?;
        let len = read_u64(r)?;
        let mut left = len;
        let mut buf = vec![0u8; 1 << 20];
        let mut recs = Vec::new();
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            r.read_exact(&mut buf[..n])?;
            recs.extend_from_slice(&buf[..n]);
            left -= n as u64;
            // Spill: write through in pieces instead of holding every record.
            if self.file.is_some() && recs.len() >= 1 << 24 {
                self.append_raw(&recs)?;
                recs.clear();
            }
        }
        self.append_raw(&recs)?;
        self.levels = flat.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        if self.len != len || self.levels.iter().any(|&(a, n)| a + n * REC as u64 > len) {
            return Err(invalid(format!("parent log of {} bytes, {len} expected", self.len)));
        }
        Ok(())
    }

    fn append_raw(&mut self, b: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some((f, path)) => f.write_all(b).map_err(|e| codec::with_path(e, path))?,
            None => self.mem.extend_from_slice(b),
        }
        self.len += b.len() as u64;
        Ok(())
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.file {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_memory_and_on_disk() {
        let dir = std::env::temp_dir().join(format!("klp-dist-logs-{}", std::process::id()));
        for disk in [false, true] {
            let mut logs = if disk { Logs::on_disk(&dir, 3).unwrap() } else { Logs::in_memory() };
            let mut l0 = Vec::new();
            record(&mut l0, 0, None, 2).unwrap();
            record(&mut l0, 5, None, 7).unwrap();
            logs.push_level(&l0).unwrap();
            let mut l1 = Vec::new();
            record(&mut l1, 9, Some(5), 1).unwrap();
            record(&mut l1, MAX40 - 1, Some(0), 65_535).unwrap();
            logs.push_level(&l1).unwrap();
            assert_eq!(logs.lookup(0, 5).unwrap(), Some((None, 7)));
            assert_eq!(logs.lookup(1, MAX40 - 1).unwrap(), Some((Some(0), 65_535)));
            assert_eq!(logs.lookup(1, 8).unwrap(), None);
            assert_eq!(logs.lookup(2, 9).unwrap(), None);
            let mut b = Vec::new();
            logs.write_to(&mut b).unwrap();
            let mut back = if disk { Logs::on_disk(&dir, 4).unwrap() } else { Logs::in_memory() };
            back.read_into(&mut &b[..]).unwrap();
            assert_eq!(back.lookup(1, 9).unwrap(), Some((Some(5), 1)));
            assert_eq!(back.lookup(0, 0).unwrap(), Some((None, 2)));
        }
        assert!(record(&mut Vec::new(), MAX40, None, 0).is_err());
        assert!(record(&mut Vec::new(), 1, None, 65_536).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
