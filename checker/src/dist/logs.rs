//! The parent log of one rank: per level, a record per state it owns, from which the ranks
//! walk a counterexample back (issue 19.2).
//!
//! A record is built as 12 bytes ([`record`]: the state's global BFS index and its parent's as
//! 40-bit numbers, 10^12 states, a hundred times what a cluster of today holds; the action's
//! index as 16 bits) and kept compressed, about 3-4 bytes a state instead of 12 (the largest
//! part of a rank's memory beyond the single-process engine's, which keeps about 2): a level's
//! records ascend by index, and so do their parents (the single-process numbering, which the
//! ranks rebuild, orders a level by (parent, action)), so each record after the first of its
//! block is the index's and the parent's differences and the action, as LEB128 varints
//! (the parent's zigzag-signed, so that any order decodes). Blocks of [`BLOCK`] records start
//! with an absolute parent; their first indices and byte offsets stay in memory (16 bytes a
//! block), so a lookup is a binary search over blocks and the decoding of one. In memory, or
//! with `--spill` appended to a file of this rank's (`DIR/klpcheck-rank-R-PID.parents`,
//! removed at the end), read back with positioned reads only when a trace is rebuilt: the
//! records are written once and read a few times per counterexample, never in the search's
//! hot path.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::comm::Comm;
use crate::codec::{self, read_u64, read_vec, write_vec};

/// Bytes per record as [`record`] builds it.
pub(crate) const REC: usize = 12;
/// The largest index (and the "no parent" mark of level 0).
const MAX40: u64 = (1 << 40) - 1;
/// Records per block of the compressed log.
const BLOCK: u64 = 32;

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

/// (index, parent or `MAX40`, action) of a 12-byte record.
fn fields(r: &[u8]) -> (u64, u64, u64) {
    (u40(r), u40(&r[5..]), u64::from(u16::from_le_bytes([r[10], r[11]])))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &mut &[u8]) -> io::Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first().ok_or_else(|| invalid("a truncated parent log block".into()))?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err(invalid("a parent log varint over 64 bits".into()))
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// The records of every level so far.
pub(crate) struct Logs {
    /// Per level: its first block in `blocks` and its record count.
    levels: Vec<(u64, u64)>,
    /// Per block: the BFS index of its first record and the byte offset of its encoding.
    blocks: Vec<(u64, u64)>,
    /// The encoded records, when kept in memory.
    mem: Vec<u8>,
    /// The spill file (and its path, removed on drop), when not.
    file: Option<(File, PathBuf)>,
    /// Bytes of encoded records so far.
    len: u64,
}

impl Logs {
    pub(crate) fn in_memory() -> Self {
        Logs { levels: Vec::new(), blocks: Vec::new(), mem: Vec::new(), file: None, len: 0 }
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
        Ok(Logs { levels: Vec::new(), blocks: Vec::new(), mem: Vec::new(), file: Some((file, path)), len: 0 })
    }

    /// Appends one level's records (built by [`record`], ascending by index).
    pub(crate) fn push_level(&mut self, recs: &[u8]) -> io::Result<()> {
        let first_block = self.blocks.len() as u64;
        let mut out = Vec::with_capacity(recs.len() / 3);
        let (mut prev_idx, mut prev_parent) = (0u64, 0u64);
        for (k, r) in recs.chunks_exact(REC).enumerate() {
            let (idx, parent, action) = fields(r);
            if k > 0 && idx <= prev_idx {
                return Err(invalid(format!("parent log records out of order: {idx} after {prev_idx}")));
            }
            if (k as u64).is_multiple_of(BLOCK) {
                self.blocks.push((idx, self.len + out.len() as u64));
                put_varint(&mut out, parent);
            } else {
                put_varint(&mut out, idx - prev_idx);
                put_varint(&mut out, zigzag(parent as i64 - prev_parent as i64));
            }
            put_varint(&mut out, action);
            (prev_idx, prev_parent) = (idx, parent);
        }
        self.levels.push((first_block, (recs.len() / REC) as u64));
        match &mut self.file {
            Some((f, path)) => f.write_all(&out).map_err(|e| codec::with_path(e, path))?,
            None => self.mem.extend_from_slice(&out),
        }
        self.len += out.len() as u64;
        Ok(())
    }

    /// Bytes held in memory.
    pub(crate) fn bytes(&self) -> usize {
        self.mem.capacity() + (self.levels.capacity() + self.blocks.capacity()) * 16
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
        let Some(&(first, n)) = self.levels.get(d) else { return Ok(None) };
        let level = &self.blocks[first as usize..(first + n.div_ceil(BLOCK)) as usize];
        let k = level.partition_point(|b| b.0 <= idx);
        if k == 0 {
            return Ok(None);
        }
        let b = first as usize + k - 1;
        let at = self.blocks[b].1;
        let end = self.blocks.get(b + 1).map_or(self.len, |x| x.1);
        let mut buf = vec![0u8; (end - at) as usize];
        self.read(at, &mut buf)?;
        let mut rest = &buf[..];
        let (mut i, mut parent) = (self.blocks[b].0, get_varint(&mut rest)?);
        for r in 0..BLOCK.min(n - (k as u64 - 1) * BLOCK) {
            if r > 0 {
                i += get_varint(&mut rest)?;
                parent = parent.wrapping_add_signed(unzigzag(get_varint(&mut rest)?));
            }
            let action = get_varint(&mut rest)?;
            if i == idx {
                return Ok(Some(((parent != MAX40).then_some(parent), action as u32)));
            }
            if i > idx {
                break;
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
        let flat = |v: &[(u64, u64)]| -> Vec<u64> { v.iter().flat_map(|&(a, n)| [a, n]).collect() };
        write_vec(w, &flat(&self.levels))?;
        write_vec(w, &flat(&self.blocks))?;
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
        let pairs = |v: Vec<u64>| -> Vec<(u64, u64)> { v.chunks_exact(2).map(|c| (c[0], c[1])).collect() };
        let levels = pairs(read_vec::<u64>(r)?);
        let blocks = pairs(read_vec::<u64>(r)?);
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
        let blocks_ok = blocks.windows(2).all(|w| w[0].1 <= w[1].1) && blocks.last().is_none_or(|b| b.1 <= len);
        let levels_ok = levels.iter().all(|&(f, n)| f + n.div_ceil(BLOCK) <= blocks.len() as u64);
        if self.len != len || !blocks_ok || !levels_ok {
            return Err(invalid(format!("parent log of {} bytes, {len} expected, or its blocks do not fit", self.len)));
        }
        (self.levels, self.blocks) = (levels, blocks);
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
            // A level of several blocks, index gaps and parents going either way.
            let mut l2 = Vec::new();
            let key = |i: u64| (10 + 3 * i + i % 2, (i * 7919) % 1000, (i % 300) as u32);
            for i in 0..100 {
                let (idx, parent, action) = key(i);
                record(&mut l2, idx, Some(parent), action).unwrap();
            }
            back.push_level(&l2).unwrap();
            for i in 0..100 {
                let (idx, parent, action) = key(i);
                assert_eq!(back.lookup(2, idx).unwrap(), Some((Some(parent), action)), "record {i}");
                assert_eq!(back.lookup(2, idx + 1).unwrap(), None);
            }
            assert_eq!(back.lookup(2, 9).unwrap(), None);
            assert_eq!(back.lookup(1, 9).unwrap(), Some((Some(5), 1)));
            let mut out_of_order = Vec::new();
            record(&mut out_of_order, 5, None, 0).unwrap();
            record(&mut out_of_order, 5, None, 1).unwrap();
            assert!(back.push_level(&out_of_order).is_err());
        }
        assert!(record(&mut Vec::new(), MAX40, None, 0).is_err());
        assert!(record(&mut Vec::new(), 1, None, 65_536).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
