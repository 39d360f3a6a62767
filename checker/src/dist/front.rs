//! States as bytes in a distributed run: on the wire, while they wait for the level's end at
//! their owner, and in the frontier.
//!
//! With the model's packed encoding (`Bfs::pack`; about 40 bytes a kernel-model state) when it
//! has one, otherwise CBOR behind a 4-byte length; either way self-delimiting, so a run of
//! states is one byte arena read front to back. No state is boxed or allocated on its own: a
//! level's frontier is three flat vectors ([`Front`]).

use std::hash::Hash;
use std::io::{self, Read, Write};

use serde::{de::DeserializeOwned, Serialize};
use stateright::Model;

use crate::bfs::{Config, SUB};
use crate::codec::{read_vec, write_vec};

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// Appends `s` as self-delimiting bytes.
    pub(super) fn put_state(&self, s: &M::State, out: &mut Vec<u8>) {
        match &self.pack {
            Some(p) => _ = (p.encode)(self.model, s, out),
            None => {
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                ciborium::into_writer(s, &mut *out).expect("CBOR encoding into memory");
                let len = (out.len() - at - 4) as u32;
                out[at..at + 4].copy_from_slice(&len.to_le_bytes());
            }
        }
    }

    /// Appends successor `n`, whose fingerprint [`Config::fp`] just took with `scratch`: a
    /// packed state without symmetry is the encoding `scratch` holds already.
    pub(super) fn put_successor(&self, n: &M::State, scratch: &[u8], out: &mut Vec<u8>) {
        match (&self.pack, &self.symmetry) {
            (Some(_), None) => out.extend_from_slice(scratch),
            (Some(_), Some(_)) if self.canonical_successors => out.extend_from_slice(scratch),
            _ => self.put_state(n, out),
        }
    }

    /// Reads one state from the front of `b` and advances past it.
    pub(super) fn get_state(&self, b: &mut &[u8]) -> io::Result<M::State> {
        match &self.pack {
            Some(p) => Ok((p.decode)(self.model, b)),
            None => {
                let bad = || io::Error::new(io::ErrorKind::InvalidData, "a truncated state");
                let len = u32::from_le_bytes(b.get(..4).ok_or_else(bad)?.try_into().expect("4 bytes")) as usize;
                let body = b.get(4..4 + len).ok_or_else(bad)?;
                let s = ciborium::from_reader(body)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("a received state: {e}")))?;
                *b = &b[4 + len..];
                Ok(s)
            }
        }
    }
}

/// The states of one level that this rank owns, ascending by global BFS index.
#[derive(Default)]
pub(crate) struct Front {
    pub(crate) idx: Vec<u64>,
    bytes: Vec<u8>,
    /// Byte offset of every `SUB`-th state (where a sub-chunk starts).
    subs: Vec<u64>,
}

impl Front {
    /// An empty frontier with room for `states` states of `bytes` bytes in all.
    pub(crate) fn with_capacity(states: usize, bytes: usize) -> Self {
        Front {
            idx: Vec::with_capacity(states),
            bytes: Vec::with_capacity(bytes),
            subs: Vec::with_capacity(states.div_ceil(SUB)),
        }
    }

    pub(crate) fn push(&mut self, idx: u64, state: &[u8]) {
        if self.idx.len().is_multiple_of(SUB) {
            self.subs.push(self.bytes.len() as u64);
        }
        self.idx.push(idx);
        self.bytes.extend_from_slice(state);
    }

    pub(crate) fn len(&self) -> usize {
        self.idx.len()
    }

    /// Allocated bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.idx.capacity() * 8 + self.bytes.capacity() + self.subs.capacity() * 8
    }

    /// The sub-chunks of states `from..to` (multiples of `SUB`, or the end): their indices and
    /// bytes.
    pub(crate) fn sub_chunks(&self, from: usize, to: usize) -> Vec<(&[u64], &[u8])> {
        let to = to.min(self.len());
        (from..to)
            .step_by(SUB)
            .map(|a| {
                let k = a / SUB;
                let lo = self.subs[k] as usize;
                let hi = self.subs.get(k + 1).map_or(self.bytes.len(), |&h| h as usize);
                (&self.idx[a..(a + SUB).min(to)], &self.bytes[lo..hi])
            })
            .collect()
    }

    /// A checkpoint's `frontier.bin`.
    pub(crate) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        write_vec(w, &self.idx)?;
        write_vec(w, &self.subs)?;
        write_vec(w, &self.bytes)
    }

    pub(crate) fn read_from(r: &mut impl Read) -> io::Result<Self> {
        let f = Front { idx: read_vec(r)?, subs: read_vec(r)?, bytes: read_vec(r)? };
        let subs_ok = f.subs.len() == f.idx.len().div_ceil(SUB)
            && f.subs.windows(2).all(|w| w[0] <= w[1])
            && f.subs.last().is_none_or(|&l| l as usize <= f.bytes.len());
        if !subs_ok {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "a frontier whose sub-chunk offsets do not fit"));
        }
        Ok(f)
    }
}
