//! Checkpoints of a distributed run at level boundaries (issue 19.4): a lost rank costs the
//! levels since the last checkpoint, not the run.
//!
//! The single-process layout (`crate::checkpoint`), one directory per rank inside it:
//! `DIR/level-D/meta.json` is the manifest, written by rank 0 (the single-process `Meta`, with
//! the number of ranks: a checkpoint resumes only on as many ranks, since the states are
//! partitioned by rank), and `DIR/level-D/rank-R/` holds rank R's visited set (`visited.bin`,
//! the single-process format), its frontier (`frontier.bin`, packed states), its parent log
//! (`parents.bin`) and its own counters (`rank.json`). The directory must be one that every
//! rank sees (a shared file system on a cluster).
//!
//! The switch is atomic as in a single process: every rank writes into `DIR/level-D.tmp/` and
//! syncs; once all have (a collective), rank 0 writes the manifest, renames the directory to
//! `DIR/level-D`, points `DIR/CURRENT` at it and removes the previous checkpoint. A rank killed
//! at any moment leaves `CURRENT` naming a complete checkpoint. Every step that may fail on
//! one rank ends in an agreement (`Comm::agree`), so the others stop with it instead of
//! waiting in a collective.

use std::hash::Hash;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use stateright::{Model, Property};

use super::comm::Comm;
use super::front::Front;
use super::search::At;
use crate::bfs::Config;
use crate::checkpoint::{self, Meta};
use crate::codec;
use crate::outcome::Stats;
use crate::table::SHARDS;

/// `rank.json`: what is this rank's alone.
#[derive(Serialize, Deserialize)]
struct RankMeta {
    rank: usize,
    depth: usize,
    frontier_len: u64,
    generated: u64,
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync + Serialize + DeserializeOwned,
    M::Action: Clone + Send + Sync,
{
    /// Writes a checkpoint of the level boundary `at` into `dir` (every rank calls it).
    pub(super) fn dist_checkpoint(
        &self,
        comm: &Comm,
        dir: &Path,
        at: &At,
        props: &[Property<M>],
        stats: &Stats,
        elapsed: Duration,
    ) -> io::Result<()> {
        let name = format!("level-{}", at.depth);
        let tmp = dir.join(format!("{name}.tmp"));
        let generated = comm.sum(&[at.generated])[0];
        let made = match comm.rank {
            0 => std::fs::create_dir_all(dir)
                .and_then(|()| match std::fs::remove_dir_all(&tmp) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => std::fs::create_dir(&tmp),
                })
                .map_err(|e| codec::with_path(e, &tmp)),
            _ => Ok(()),
        };
        comm.agree(made)?;

        let mine = tmp.join(format!("rank-{}", comm.rank));
        let written = (|| {
            std::fs::create_dir(&mine).map_err(|e| codec::with_path(e, &mine))?;
            checkpoint::write_shards(&mine.join("visited.bin"), &at.shards)?;
            let mut w = codec::create(&mine.join("frontier.bin"))?;
            at.front.write_to(&mut w)?;
            codec::finish(w)?;
            let mut w = codec::create(&mine.join("parents.bin"))?;
            at.logs.write_to(&mut w)?;
            codec::finish(w)?;
            let rank = RankMeta {
                rank: comm.rank,
                depth: at.depth,
                frontier_len: at.front.len() as u64,
                generated: at.generated,
            };
            let mut w = codec::create(&mine.join("rank.json"))?;
            w.write_all(serde_json::to_string_pretty(&rank).map_err(io::Error::other)?.as_bytes())?;
            codec::finish(w)
        })();
        comm.agree(written)?;

        let switched = match comm.rank {
            0 => {
                let meta = Meta {
                    format: checkpoint::FORMAT,
                    identity: self.identity.clone(),
                    engine: self.engine_id(props),
                    depth: at.depth,
                    frontier_len: at.len,
                    unique_states: stats.unique_states,
                    generated_states: generated,
                    elapsed_secs: elapsed.as_secs_f64(),
                    found: at.found.iter().map(|f| f.map(|(d, i)| (d, i as usize))).collect(),
                    level_starts: at.level_starts.clone(),
                    level_sizes: stats.level_sizes.clone(),
                    coverage: None,
                    graph: false,
                    ranks: Some(comm.size),
                };
                checkpoint::switch(dir, &name, &meta)
            }
            _ => Ok(()),
        };
        comm.agree(switched)
    }

    /// The level boundary of the checkpoint in `dir`, this rank's part of it (every rank calls
    /// it); `stats` gets its counters.
    pub(super) fn dist_load(
        &self,
        comm: &Comm,
        dir: &Path,
        props: &[Property<M>],
        stats: &mut Stats,
    ) -> io::Result<At> {
        let loaded = self.read_part(comm, dir, props);
        let (meta, at) = comm.agree(loaded)?;
        let total = comm.sum(&[at.front.len() as u64])[0];
        if total != meta.frontier_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: the ranks hold {total} frontier states, the manifest says {}",
                    dir.display(),
                    meta.frontier_len
                ),
            ));
        }
        stats.unique_states = meta.unique_states;
        stats.level_sizes = meta.level_sizes;
        stats.elapsed = Duration::from_secs_f64(meta.elapsed_secs);
        Ok(at)
    }

    fn read_part(&self, comm: &Comm, dir: &Path, props: &[Property<M>]) -> io::Result<(Meta, At)> {
        let (ckpt, meta) = checkpoint::read_meta(dir)?;
        let d = dir.display();
        match meta.ranks {
            None => {
                return Err(invalid_input(format!(
                    "{d}: a single-process checkpoint (resume it without --distributed)"
                )))
            }
            Some(n) if n != comm.size => {
                return Err(invalid_input(format!(
                    "{d}: the checkpoint was written by {n} ranks and this job has {}: the states are partitioned \
                     by rank, resume it with `mpirun -n {n}`",
                    comm.size
                )))
            }
            Some(_) => {}
        }
        let engine = self.engine_id(props);
        for (what, theirs, ours) in [("run", &meta.identity, &self.identity), ("engine", &meta.engine, &engine)] {
            if theirs != ours {
                return Err(invalid_input(format!(
                    "{d}: the checkpoint is of another {what}\n  checkpoint: {theirs}\n  this run:   {ours}"
                )));
            }
        }
        let mine = ckpt.join(format!("rank-{}", comm.rank));
        let file = mine.join("rank.json");
        let text = std::fs::read_to_string(&file).map_err(|e| codec::with_path(e, &file))?;
        let rank: RankMeta = serde_json::from_str(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", file.display())))?;
        if rank.rank != comm.rank || rank.depth != meta.depth {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: rank {} at level {}, expected rank {} at level {}",
                    file.display(),
                    rank.rank,
                    rank.depth,
                    comm.rank,
                    meta.depth
                ),
            ));
        }
        let shards = checkpoint::read_shards_from(&mine.join("visited.bin"), SHARDS, self.store)?;
        let f = mine.join("frontier.bin");
        let front = Front::read_from(&mut codec::open(&f)?).map_err(|e| codec::with_path(e, &f))?;
        if front.len() as u64 != rank.frontier_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {} states, rank.json says {}", f.display(), front.len(), rank.frontier_len),
            ));
        }
        let mut logs = self.new_logs(comm)?;
        let f = mine.join("parents.bin");
        logs.read_into(&mut codec::open(&f)?).map_err(|e| codec::with_path(e, &f))?;
        let at = At {
            shards,
            logs,
            front,
            found: meta.found.iter().map(|f| f.map(|(d, i)| (d, i as u64))).collect(),
            start: meta.unique_states - meta.frontier_len,
            len: meta.frontier_len,
            depth: meta.depth,
            generated: rank.generated,
            level_starts: meta.level_starts.clone(),
            live: Default::default(),
        };
        if at.found.len() != props.len() {
            return Err(invalid_input(format!(
                "{d}: {} properties in the checkpoint, {} here",
                at.found.len(),
                props.len()
            )));
        }
        Ok((meta, at))
    }
}
