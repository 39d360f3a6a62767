//! On-disk encodings of spill files and checkpoints.
//!
//! * States: CBOR (ciborium) through the model's serde derives. A self-describing format on
//!   purpose: a model may leave default fields out when it serialises (klp-model's states use
//!   `skip_serializing_if` so that traces stay short), which formats without field names
//!   (bincode, postcard) cannot read back. States are written in frames of one sub-chunk,
//!   encoded and decoded in parallel.
//! * Numbers (fingerprints, parent logs, the liveness graph): little-endian arrays, a `u64`
//!   length first.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rayon::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// Encodes a run of states into bytes and back (fn pointers: the engine's bounds on
/// `Model::State` need not include serde; only the builder methods that spill ask for it).
pub(crate) struct Codec<S> {
    enc: fn(&[S], &mut Vec<u8>) -> io::Result<()>,
    dec: fn(&[u8]) -> io::Result<Vec<S>>,
}

impl<S> Clone for Codec<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for Codec<S> {}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl<S: Serialize + DeserializeOwned> Codec<S> {
    pub(crate) fn cbor() -> Self {
        Codec {
            enc: |v, out| ciborium::into_writer(v, out).map_err(invalid),
            dec: |b| ciborium::from_reader(b).map_err(invalid),
        }
    }
}

impl<S: Send + Sync> Codec<S> {
    /// Writes `states` as frames of `frame` states each (the last may be shorter).
    pub(crate) fn write(&self, w: &mut impl Write, states: &[S], frame: usize) -> io::Result<()> {
        let bufs: Vec<io::Result<Vec<u8>>> = states
            .par_chunks(frame)
            .map(|c| {
                let mut b = Vec::new();
                (self.enc)(c, &mut b).map(|()| b)
            })
            .collect();
        for b in bufs {
            let b = b?;
            w.write_all(&(b.len() as u64).to_le_bytes())?;
            w.write_all(&b)?;
        }
        Ok(())
    }

    /// Reads frames until `want` states were read or the file ends (decoded in parallel).
    pub(crate) fn read(&self, r: &mut impl Read, want: usize, frame: usize) -> io::Result<Vec<S>> {
        let mut frames = Vec::new();
        for _ in 0..want.div_ceil(frame) {
            let mut len = [0u8; 8];
            match r.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
            let mut b = vec![0u8; u64::from_le_bytes(len) as usize];
            r.read_exact(&mut b)?;
            frames.push(b);
        }
        let decoded: Vec<io::Result<Vec<S>>> = frames.par_iter().map(|b| (self.dec)(b)).collect();
        let mut out = Vec::with_capacity(want);
        for d in decoded {
            out.append(&mut d?);
        }
        Ok(out)
    }
}

/// A fixed-size little-endian number.
pub(crate) trait Le: Copy + Default {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

macro_rules! le {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().expect("sized chunk"))
            }
        }
    )*};
}
le!(u8, u16, u32, u64);

/// Elements per write or read (bounds the staging buffer to a few MB).
const CHUNK: usize = 1 << 18;

pub(crate) fn write_vec<T: Le>(w: &mut impl Write, v: &[T]) -> io::Result<()> {
    w.write_all(&(v.len() as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(CHUNK.min(v.len()) * T::SIZE);
    for c in v.chunks(CHUNK) {
        buf.clear();
        c.iter().for_each(|&x| x.put(&mut buf));
        w.write_all(&buf)?;
    }
    Ok(())
}

pub(crate) fn read_vec<T: Le>(r: &mut impl Read) -> io::Result<Vec<T>> {
    let n = read_u64(r)? as usize;
    let mut v = Vec::with_capacity(n);
    let mut buf = vec![0u8; CHUNK.min(n) * T::SIZE];
    let mut left = n;
    while left > 0 {
        let k = left.min(CHUNK);
        let b = &mut buf[..k * T::SIZE];
        r.read_exact(b)?;
        v.extend(b.chunks_exact(T::SIZE).map(T::get));
        left -= k;
    }
    Ok(v)
}

pub(crate) fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

pub(crate) fn create(path: &Path) -> io::Result<BufWriter<File>> {
    File::create(path).map(|f| BufWriter::with_capacity(1 << 20, f)).map_err(|e| with_path(e, path))
}

pub(crate) fn open(path: &Path) -> io::Result<BufReader<File>> {
    File::open(path).map(|f| BufReader::with_capacity(1 << 20, f)).map_err(|e| with_path(e, path))
}

/// Flushes and syncs a file written with [`create`] (a checkpoint is renamed into place only
/// once its files are on disk).
pub(crate) fn finish(w: BufWriter<File>) -> io::Result<()> {
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// The error, with the file it is about.
pub(crate) fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_states_round_trip() {
        let v: Vec<u64> = (0..600_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        let mut b = Vec::new();
        write_vec(&mut b, &v).unwrap();
        write_vec(&mut b, &[7u16, 9]).unwrap();
        let mut r = &b[..];
        assert_eq!(read_vec::<u64>(&mut r).unwrap(), v);
        assert_eq!(read_vec::<u16>(&mut r).unwrap(), vec![7, 9]);

        let states: Vec<(u8, Option<String>)> = (0..10).map(|i| (i, (i % 3 == 0).then(|| format!("s{i}")))).collect();
        let c = Codec::cbor();
        let mut b = Vec::new();
        c.write(&mut b, &states, 4).unwrap();
        let mut r = &b[..];
        assert_eq!(c.read(&mut r, 8, 4).unwrap(), states[..8]);
        assert_eq!(c.read(&mut r, 8, 4).unwrap(), states[8..]);
        assert!(c.read(&mut r, 8, 4).unwrap().is_empty());
    }
}
