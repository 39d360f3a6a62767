//! Checkpoints at level boundaries, and the spill directory.
//!
//! At a level boundary the whole search is a handful of values: the visited set, the frontier
//! of the next level, the parent logs, the counters, the discoveries so far (BFS positions),
//! the coverage counts and the liveness graph recorded so far. A checkpoint writes them to
//! `DIR/level-D.tmp/`, syncs the files, renames the directory to `DIR/level-D/`, then points
//! `DIR/CURRENT` at it (written to `CURRENT.tmp` and renamed: an atomic switch), and only then
//! removes the previous one. A crash or a second Ctrl-C at any moment leaves `CURRENT` naming a
//! complete checkpoint. Resuming reads it back and continues the loop at level D: the same
//! batches in the same order, hence the same counts, verdicts and traces as a run that never
//! stopped.
//!
//! A checkpoint records two identities and refuses to resume under another: the caller's
//! (`Bfs::identity`: klpcheck puts the scenario, variant, options and binary there) and the
//! engine's (property names, liveness, symmetry, coverage counters, batch size, format).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::{self, read_u64, read_vec, write_vec};
use crate::frontier::Segments;
use crate::graph::Recorder;
use crate::outcome::Coverage;
use crate::parents::Levels;
use crate::table::{Shard, Store};

/// Bumped whenever the files change shape.
pub(crate) const FORMAT: u32 = 3;

/// `meta.json` of a checkpoint.
#[derive(Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) format: u32,
    pub(crate) identity: String,
    pub(crate) engine: String,
    /// The level the checkpoint starts at (its frontier's depth).
    pub(crate) depth: usize,
    pub(crate) frontier_len: u64,
    pub(crate) unique_states: u64,
    pub(crate) generated_states: u64,
    pub(crate) elapsed_secs: f64,
    pub(crate) found: Vec<Option<(usize, usize)>>,
    pub(crate) level_starts: Vec<u64>,
    /// The size of each level begun (`Stats::level_sizes`, for `--estimate` and progress).
    pub(crate) level_sizes: Vec<u64>,
    pub(crate) coverage: Option<(Vec<u64>, Vec<u64>)>,
    pub(crate) graph: bool,
    /// Written by a distributed run of this many MPI ranks (`dist/checkpoint.rs`: one
    /// directory per rank beside this file); absent for a single process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ranks: Option<usize>,
}

/// What a checkpoint directory holds, for callers that check before they resume.
#[derive(Clone, Debug)]
pub struct CheckpointInfo {
    /// The checkpoint in use (`DIR/level-D`).
    pub path: PathBuf,
    /// What `Bfs::identity` said when it was written.
    pub identity: String,
    /// The level it resumes at.
    pub depth: usize,
    /// Distinct states stored when it was written.
    pub unique_states: u64,
}

impl CheckpointInfo {
    /// Reads `DIR/CURRENT` and the checkpoint it names.
    pub fn read(dir: &Path) -> io::Result<Self> {
        let (path, meta) = read_meta(dir)?;
        Ok(CheckpointInfo { path, identity: meta.identity, depth: meta.depth, unique_states: meta.unique_states })
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

pub(crate) fn read_meta(dir: &Path) -> io::Result<(PathBuf, Meta)> {
    let current = dir.join("CURRENT");
    let name = std::fs::read_to_string(&current).map_err(|e| {
        codec::with_path(io::Error::new(e.kind(), format!("{e} (not a checkpoint directory?)")), &current)
    })?;
    let path = dir.join(name.trim());
    let file = path.join("meta.json");
    let text = std::fs::read_to_string(&file).map_err(|e| codec::with_path(e, &file))?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
    if meta.format != FORMAT {
        return Err(invalid(format!(
            "{}: checkpoint format {} (this build reads {FORMAT})",
            file.display(),
            meta.format
        )));
    }
    Ok((path, meta))
}

/// What a checkpoint is written from (borrowed from the running search).
pub(crate) struct View<'a, S> {
    pub(crate) meta: Meta,
    pub(crate) shards: &'a [Shard],
    pub(crate) levels: &'a Levels,
    pub(crate) frontier: &'a Segments<S>,
    pub(crate) codec: codec::Codec<S>,
    pub(crate) frame: usize,
    pub(crate) graph: Option<&'a Recorder>,
}

/// Writes a checkpoint into `dir` and makes it the current one. The frontier must be sealed.
pub(crate) fn write<S: Send + Sync>(dir: &Path, v: View<'_, S>) -> io::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| codec::with_path(e, dir))?;
    let name = format!("level-{}", v.meta.depth);
    let tmp = dir.join(format!("{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| codec::with_path(e, &tmp))?;
    let file = |f: &str| tmp.join(f);

    write_shards(&file("visited.bin"), v.shards)?;

    let mut w = codec::create(&file("parents.bin"))?;
    v.levels.write_to(&mut w)?;
    codec::finish(w)?;

    let front = file("frontier.bin");
    match v.frontier.file() {
        // A spilled level is complete on disk already: link it (or copy across file systems).
        Some(f) => {
            if std::fs::hard_link(f, &front).is_err() {
                std::fs::copy(f, &front).map_err(|e| codec::with_path(e, f))?;
            }
        }
        None => {
            let mut w = codec::create(&front)?;
            for seg in v.frontier.segments() {
                v.codec.write(&mut w, seg, v.frame)?;
            }
            codec::finish(w)?;
        }
    }

    if let Some(g) = v.graph {
        let mut w = codec::create(&file("graph.bin"))?;
        g.write_to(&mut w)?;
        codec::finish(w)?;
    }

    switch(dir, &name, &v.meta)
}

/// Writes `meta.json` into `DIR/NAME.tmp/` (its other files written and synced), renames it
/// to `DIR/NAME/`, makes it the current checkpoint and removes the previous one.
pub(crate) fn switch(dir: &Path, name: &str, meta: &Meta) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let meta = serde_json::to_string_pretty(meta).map_err(|e| invalid(e.to_string()))?;
    let mut w = codec::create(&tmp.join("meta.json"))?;
    w.write_all(meta.as_bytes())?;
    codec::finish(w)?;

    let old = std::fs::read_to_string(dir.join("CURRENT")).ok().map(|n| n.trim().to_string());
    let done = dir.join(name);
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&tmp, &done).map_err(|e| codec::with_path(e, &done))?;
    let mut w = codec::create(&dir.join("CURRENT.tmp"))?;
    writeln!(w, "{name}")?;
    codec::finish(w)?;
    std::fs::rename(dir.join("CURRENT.tmp"), dir.join("CURRENT")).map_err(|e| codec::with_path(e, dir))?;
    if let Some(old) = old.filter(|o| *o != name && !o.is_empty()) {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(())
}

/// Writes the visited set to `f` (synced).
pub(crate) fn write_shards(f: &Path, shards: &[Shard]) -> io::Result<()> {
    let mut w = codec::create(f)?;
    for s in shards {
        let (slots, index, len) = s.raw();
        write_vec(&mut w, slots)?;
        write_vec(&mut w, index)?;
        w.write_all(&(len as u64).to_le_bytes())?;
    }
    codec::finish(w)
}

/// The visited set of a checkpoint.
pub(crate) fn read_shards(ckpt: &Path, n: usize, store: Store) -> io::Result<Vec<Shard>> {
    read_shards_from(&ckpt.join("visited.bin"), n, store)
}

pub(crate) fn read_shards_from(f: &Path, n: usize, store: Store) -> io::Result<Vec<Shard>> {
    let mut r = codec::open(f)?;
    (0..n)
        .map(|_| {
            let slots = read_vec::<u64>(&mut r)?;
            let index = read_vec::<u32>(&mut r)?;
            let len = read_u64(&mut r)? as usize;
            Ok(Shard::from_raw(store, &slots, index, len))
        })
        .collect::<io::Result<_>>()
        .map_err(|e| codec::with_path(e, f))
}

pub(crate) fn read_levels(ckpt: &Path) -> io::Result<Levels> {
    let f = ckpt.join("parents.bin");
    Levels::read_from(&mut codec::open(&f)?).map_err(|e| codec::with_path(e, &f))
}

pub(crate) fn read_graph(ckpt: &Path) -> io::Result<Recorder> {
    let f = ckpt.join("graph.bin");
    Recorder::read_from(&mut codec::open(&f)?).map_err(|e| codec::with_path(e, &f))
}

impl Meta {
    pub(crate) fn coverage(&self) -> Option<Coverage> {
        self.coverage.clone().map(|(generated, distinct)| Coverage { generated, distinct })
    }
}

/// The directory a run spills to: `DIR/klpcheck-PID-N/`, removed when the run ends.
pub(crate) struct SpillDir(pub(crate) PathBuf);

impl SpillDir {
    pub(crate) fn new(parent: &Path) -> io::Result<Self> {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = parent.join(format!("klpcheck-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| codec::with_path(e, &dir))?;
        Ok(SpillDir(dir))
    }

    pub(crate) fn frontier(&self, depth: usize) -> PathBuf {
        self.0.join(format!("frontier-{depth}.bin"))
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
