//! Where a search starts (the initial states, or a checkpoint) and what a checkpoint writes
//! (`checkpoint.rs` has the files).

use std::hash::Hash;
use std::io;
use std::path::Path;
use std::time::Duration;

use stateright::{Model, Property};

use super::*;
use crate::checkpoint::{self, Meta, SpillDir, View};
use crate::frontier::{PackedRun, Segments};
use crate::graph::Recorder;
use crate::liveness::Liveness;
use crate::parents::{ByteLog, Levels};
use crate::table::{shard_of, Shard, SHARDS};

/// The search at a level boundary: everything the loop carries from one level to the next.
pub(super) struct Snapshot<S> {
    pub(super) found: Vec<Option<(usize, usize)>>,
    pub(super) shards: Vec<Shard>,
    pub(super) levels: Levels,
    pub(super) level_starts: Vec<u64>,
    pub(super) graph: Option<Recorder>,
    pub(super) coverage: Option<Coverage>,
    /// The states of level `depth`, not yet expanded.
    pub(super) frontier: Segments<S>,
    pub(super) depth: usize,
}

impl<M> Config<'_, M>
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    /// Level 0: the initial states within the boundary, first occurrence first.
    pub(super) fn fresh(&self, props: &[Property<M>], recording: bool, stats: &mut Stats) -> Snapshot<M::State> {
        let model = self.model;
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new(self.store, recording)).collect();
        let mut frontier = self.new_level();
        let mut scratch = Vec::new();
        let mut init_log = ByteLog::default();
        let graph = recording.then(|| {
            let filters = self
                .live
                .as_ref()
                .is_some_and(|l| l.props.iter().any(|p| matches!(p.kind, Liveness::Possibility { .. })));
            Recorder::new(filters)
        });
        for (i, s) in model.init_states().iter().enumerate() {
            if !model.within_boundary(s) {
                continue;
            }
            stats.generated_states += 1;
            let fp = self.fp(s, &mut scratch);
            let shard = &mut shards[shard_of(fp)];
            let new = if recording {
                let t = shard.indexed();
                t.reserve(1);
                t.insert_indexed(fp, frontier.len() as u32).is_err()
            } else {
                shard.insert(fp)
            };
            if new && frontier.is_packed() {
                let mut run = PackedRun::default();
                (self.pack.expect("packed").encode)(model, s, &mut run.bytes);
                run.close();
                frontier.append_packed(&[&run]);
                init_log.push(i as u32);
            } else if new {
                frontier.push(s.clone());
                init_log.push(i as u32);
            }
        }
        stats.unique_states = frontier.len() as u64;
        let mut levels = Levels::default();
        levels.action.push(init_log);
        Snapshot {
            found: vec![None; props.len()],
            shards,
            levels,
            level_starts: Vec::new(),
            graph,
            coverage: self.coverage.map(|(n, _)| Coverage { generated: vec![0; n], distinct: vec![0; n] }),
            frontier,
            depth: 0,
        }
    }

    /// What the engine must be the same in to resume: the properties, liveness, symmetry,
    /// coverage, store (its kind and size) and batch size (batches decide the order states are numbered in).
    fn engine_id(&self, props: &[Property<M>]) -> String {
        let names = |v: Vec<&str>| v.join(",");
        format!(
            "properties {}; liveness {}; symmetry {}; coverage counters {}; store {:?}; batch {BATCH} = {BATCH_SUBS} x {SUB}{}",
            names(props.iter().map(|p| p.name).collect()),
            names(self.live.iter().flat_map(|l| l.props.iter().map(|p| p.name)).collect()),
            if self.symmetry.is_some() { "on" } else { "off" },
            self.coverage.map_or(0, |c| c.0),
            self.store,
            // Packing changes the fingerprints.
            if self.pack.is_some() { "; packed fingerprints" } else { "" },
        )
    }

    pub(super) fn write_checkpoint(
        &self,
        dir: &Path,
        snap: &Snapshot<M::State>,
        props: &[Property<M>],
        stats: &Stats,
        elapsed: Duration,
    ) -> io::Result<()> {
        let meta = Meta {
            format: checkpoint::FORMAT,
            identity: self.identity.clone(),
            engine: self.engine_id(props),
            depth: snap.depth,
            frontier_len: snap.frontier.len() as u64,
            unique_states: stats.unique_states,
            generated_states: stats.generated_states,
            elapsed_secs: elapsed.as_secs_f64(),
            found: snap.found.clone(),
            level_starts: snap.level_starts.clone(),
            level_sizes: stats.level_sizes.clone(),
            coverage: snap.coverage.as_ref().map(|c| (c.generated.clone(), c.distinct.clone())),
            graph: snap.graph.is_some(),
        };
        let view = View {
            meta,
            shards: &snap.shards,
            levels: &snap.levels,
            frontier: &snap.frontier,
            codec: self.codec.expect("checkpoint sets the codec"),
            frame: SUB,
            graph: snap.graph.as_ref(),
        };
        checkpoint::write(dir, view)
    }

    /// The level boundary a checkpoint in `dir` was written at; `stats` gets its counters.
    pub(super) fn load(
        &self,
        dir: &Path,
        spill: Option<&SpillDir>,
        props: &[Property<M>],
        stats: &mut Stats,
    ) -> io::Result<Snapshot<M::State>> {
        let (ckpt, meta) = checkpoint::read_meta(dir)?;
        let engine = self.engine_id(props);
        for (what, theirs, ours) in [("run", &meta.identity, &self.identity), ("engine", &meta.engine, &engine)] {
            if theirs != ours {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{}: the checkpoint is of another {what}\n  checkpoint: {theirs}\n  this run:   {ours}",
                        dir.display()
                    ),
                ));
            }
        }
        let codec = self.codec.expect("resume sets the codec");
        let shards = checkpoint::read_shards(&ckpt, SHARDS, self.store)?;
        let mut levels = checkpoint::read_levels(&ckpt)?;
        if let Some(sp) = spill {
            levels.spill(&sp.0)?;
        }
        let graph = if meta.graph { Some(checkpoint::read_graph(&ckpt)?) } else { None };
        let src = ckpt.join("frontier.bin");
        let frontier = match spill {
            Some(sp) => {
                let f = sp.frontier(meta.depth);
                if std::fs::hard_link(&src, &f).is_err() {
                    std::fs::copy(&src, &f).map_err(|e| crate::codec::with_path(e, &src))?;
                }
                Segments::from_file(BATCH, f, meta.frontier_len as usize, codec, SUB)
            }
            None => {
                let mut r = crate::codec::open(&src)?;
                let mut f = Segments::new(BATCH);
                loop {
                    let mut batch = codec.read(&mut r, BATCH, SUB).map_err(|e| crate::codec::with_path(e, &src))?;
                    if batch.is_empty() {
                        break;
                    }
                    f.append(&mut batch);
                }
                f
            }
        };
        if frontier.len() as u64 != meta.frontier_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {} states, the checkpoint says {}", src.display(), frontier.len(), meta.frontier_len),
            ));
        }
        stats.unique_states = meta.unique_states;
        stats.generated_states = meta.generated_states;
        stats.level_sizes = meta.level_sizes.clone();
        stats.elapsed = Duration::from_secs_f64(meta.elapsed_secs);
        Ok(Snapshot {
            coverage: meta.coverage(),
            found: meta.found,
            shards,
            levels,
            level_starts: meta.level_starts,
            graph,
            frontier,
            depth: meta.depth,
        })
    }
}
