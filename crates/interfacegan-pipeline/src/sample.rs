//! Stage 1 and 2 at scale: sample codes and score their images in chunks that are written as they
//! finish, so a run of any size holds one chunk in memory, resumes after an interruption without
//! redoing finished chunks, and splits over machines as shards that [`merge_chunks`] joins.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use interfacegan_attributes::Scorer;
use interfacegan_generator::{Generator, LatentSpace, ZSampler, normalize_z};
use interfacegan_io::{NpyStreamWriter, OutputSet};
use serde::Serialize;

use crate::batch::{StageClock, score_images, synthesize_images_and_w};
use crate::run_folder::{CHUNKS_DIR, MANIFEST_FILE, RunLock, RunManifest};
use crate::{PipelineError, Progress};

/// One share of a run split over machines: chunks `index`, `index + count`, `index + 2 count`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The whole run on one machine.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Share `index` (0-based) of `count`.
    pub fn new(index: usize, count: usize) -> Result<Self, PipelineError> {
        if count == 0 || index >= count {
            return Err(PipelineError::NoSuchShard { shard: index + 1, count });
        }
        Ok(Self { index, count })
    }

    /// Parses `K/N` (1-based, as on the command line: `--shard 2/4`).
    pub fn parse(text: &str) -> Result<Self, PipelineError> {
        let bad = || PipelineError::ShardSyntax { text: text.to_string() };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n {
            return Err(bad());
        }
        Self::new(k - 1, n)
    }

    /// Whether this share computes chunk `chunk`.
    pub fn owns(&self, chunk: usize) -> bool {
        chunk % self.count == self.index
    }

    /// Whether this is the whole run.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Options of [`sample_and_score`].
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Number of codes N.
    pub samples: usize,
    /// Seed of the codes.
    pub seed: u64,
    /// Codes per chunk: the unit of resumption and of sharding.
    pub chunk_size: usize,
    /// Images per forward pass.
    pub batch: usize,
    /// Rescale z codes to norm sqrt(D) (the official PGGAN/StyleGAN preprocessing).
    pub normalize_z: bool,
    /// The share of the run this call computes.
    pub shard: Shard,
    /// Replace merged outputs (`z.npy`, scores) found in a folder that is not yet a run folder.
    pub overwrite: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            samples: 20_000,
            seed: 0,
            chunk_size: 1_000,
            batch: 64,
            normalize_z: false,
            shard: Shard::WHOLE,
            overwrite: false,
        }
    }
}

/// What [`sample_and_score`] did.
#[derive(Debug, Clone, Serialize)]
pub struct SampleReport {
    /// The run.
    pub manifest: RunManifest,
    /// The share computed, `K/N`.
    pub shard: String,
    /// Chunks of this share.
    pub chunks_owned: usize,
    /// Of those, chunks found finished (an earlier, interrupted call).
    pub chunks_resumed: usize,
    /// Codes synthesised and scored by this call.
    pub samples_run: usize,
    /// Seconds spent synthesising.
    pub synthesis_seconds: f64,
    /// Seconds spent in each scorer, by attribute.
    pub scorer_seconds: Vec<(String, f64)>,
    /// Whether the merged `z.npy` and scores were written (a whole run).
    pub merged: bool,
    /// Wall time of the call.
    pub seconds: f64,
}

impl SampleReport {
    /// Images per second of the synthesis, then of each scorer, over this call's samples.
    pub fn rates(&self) -> (f64, Vec<(String, f64)>) {
        let rate = |seconds: f64| self.samples_run as f64 / seconds.max(1e-9);
        let scorers = self.scorer_seconds.iter().map(|(a, s)| (a.clone(), rate(*s))).collect();
        (rate(self.synthesis_seconds), scorers)
    }
}

/// Samples `options.samples` z codes, synthesises them and scores every image with every scorer,
/// chunk by chunk into `dir/chunks/`. A folder with the same run's manifest is resumed: finished
/// chunks are kept and skipped. When the share is the whole run, the chunks are then joined into
/// `dir/z.npy` `[N, D]` and `dir/<attribute>_scores.npy` `[N, 1]`, the official files.
pub fn sample_and_score(
    generator: &dyn Generator,
    scorers: &[&dyn Scorer],
    options: &SampleOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<SampleReport, PipelineError> {
    let start = Instant::now();
    let manifest = planned_manifest(generator, scorers, options)?;
    let lock = RunLock::exclusive(dir)?;
    lock.remove_temporaries(dir);
    prepare_run_folder(dir, &manifest, options.overwrite)?;

    let owned: Vec<usize> = (0..manifest.chunks()).filter(|&c| options.shard.owns(c)).collect();
    let mut pending = Vec::new();
    for &c in &owned {
        if manifest.read_chunk(dir, c)?.is_none() {
            pending.push(c);
        }
    }
    let rows = |chunks: &[usize]| chunks.iter().map(|&c| manifest.chunk_rows(c).len()).sum::<usize>();
    let (total_rows, pending_rows) = (rows(&owned), rows(&pending));
    progress.begin("sampling and scoring", total_rows as u64);
    let mut done = total_rows - pending_rows;
    progress.set(done as u64);
    let mut clock = StageClock::new(scorers.len());
    for &c in &pending {
        let mut on_images = |images: usize| {
            done += images;
            progress.set(done as u64);
        };
        let arrays = sample_chunk(generator, scorers, options, &manifest, c, &mut clock, &mut on_images)?;
        manifest.write_chunk(dir, c, arrays)?;
    }
    progress.end();

    let merged = options.shard.is_whole();
    if merged {
        merge_locked(&[dir.to_path_buf()], dir, true, progress)?;
    }
    drop(lock);
    let attributes = manifest.attributes.clone();
    Ok(SampleReport {
        manifest,
        shard: options.shard.to_string(),
        chunks_owned: owned.len(),
        chunks_resumed: owned.len() - pending.len(),
        samples_run: pending_rows,
        synthesis_seconds: clock.synthesis.as_secs_f64(),
        scorer_seconds: attributes.into_iter().zip(clock.scorers.iter().map(|d| d.as_secs_f64())).collect(),
        merged,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The manifest of the run `options` asks for, after checking that it can be run and written.
fn planned_manifest(
    generator: &dyn Generator,
    scorers: &[&dyn Scorer],
    options: &SampleOptions,
) -> Result<RunManifest, PipelineError> {
    if options.samples == 0 || options.chunk_size == 0 || options.batch == 0 {
        let (samples, chunk_size, batch) = (options.samples, options.chunk_size, options.batch);
        return Err(PipelineError::SampleSizes { samples, chunk_size, batch });
    }
    if scorers.is_empty() {
        return Err(PipelineError::NoScorers);
    }
    let info = generator.info();
    if !info.spaces.contains(&LatentSpace::Z) {
        return Err(PipelineError::NoZCodes { architecture: info.architecture.to_string() });
    }
    let attributes: Vec<String> = scorers.iter().map(|s| s.attribute().to_string()).collect();
    if let Some(a) = attributes.iter().enumerate().find_map(|(i, a)| attributes[..i].contains(a).then_some(a)) {
        return Err(PipelineError::DuplicateAttribute { attribute: a.clone() });
    }
    let manifest = RunManifest {
        format: 1,
        samples: options.samples,
        seed: options.seed,
        chunk_size: options.chunk_size,
        generator: format!("{} {}x{}", info.architecture, info.resolution, info.resolution),
        latent_dim: info.latent_dim,
        normalize_z: options.normalize_z,
        attributes,
        w_dim: if info.spaces.contains(&LatentSpace::W) { info.latent_dim } else { 0 },
    };
    manifest.check().map_err(|reason| PipelineError::UnwritableRun { reason })?;
    Ok(manifest)
}

/// Makes `dir` the folder of the run `manifest` describes: resumed when it holds the same run,
/// started when it holds none (refusing outputs of no run unless `overwrite`, and chunks without a
/// manifest), refused when it holds another. The caller holds the run's lock.
fn prepare_run_folder(dir: &Path, manifest: &RunManifest, overwrite: bool) -> Result<(), PipelineError> {
    let new_run = match RunManifest::read(dir)? {
        Some(existing) if existing != *manifest => {
            let differences = existing.differences(manifest).join(", ");
            return Err(PipelineError::file(
                dir,
                format!("holds another run ({differences}); use another folder or remove it"),
            ));
        }
        Some(_) => false,
        None => {
            if !overwrite && let Some(name) = manifest.output_files().into_iter().find(|n| dir.join(n).exists()) {
                return Err(PipelineError::file(
                    dir.join(name),
                    "already exists and is not part of a run (pass overwrite to replace it)",
                ));
            }
            // Chunks without a manifest belong to a run nobody can name: never mix them in.
            let chunks = dir.join(CHUNKS_DIR);
            if std::fs::read_dir(&chunks).is_ok_and(|mut entries| entries.next().is_some()) {
                return Err(PipelineError::file(chunks, "holds chunks of a run without a manifest; remove it"));
            }
            true
        }
    };
    std::fs::create_dir_all(dir.join(CHUNKS_DIR))
        .map_err(|e| PipelineError::file(dir.join(CHUNKS_DIR), format!("cannot create: {e}")))?;
    if new_run {
        manifest.create(dir)?;
    }
    Ok(())
}

/// Chunk `chunk` of the run: its codes (stream `chunk` of the seed), `w` when the generator has a
/// mapping, and every scorer's scores, in the order the chunk files hold them. `on_images` hears
/// of every batch done.
fn sample_chunk(
    generator: &dyn Generator,
    scorers: &[&dyn Scorer],
    options: &SampleOptions,
    manifest: &RunManifest,
    chunk: usize,
    clock: &mut StageClock,
    on_images: &mut dyn FnMut(usize),
) -> Result<Vec<Vec<f32>>, PipelineError> {
    let (rows, dim) = (manifest.chunk_rows(chunk).len(), manifest.latent_dim);
    let mut codes = ZSampler::with_stream(dim, options.seed, chunk as u64).next_batch(rows);
    if options.normalize_z {
        normalize_z(&mut codes, dim);
    }
    let mut scores: Vec<Vec<f32>> = vec![Vec::with_capacity(rows); scorers.len()];
    let mut w = Vec::with_capacity(rows * manifest.w_dim);
    for part in codes.chunks(options.batch * dim) {
        let w_out = (manifest.w_dim > 0).then_some(&mut w);
        let images = synthesize_images_and_w(generator, part, LatentSpace::Z, options.batch, clock, w_out)?;
        for (all, batch) in scores.iter_mut().zip(score_images(scorers, &images, clock)?) {
            all.extend(batch);
        }
        on_images(images.len());
    }
    let mut arrays = vec![codes];
    if manifest.w_dim > 0 {
        arrays.push(w);
    }
    arrays.extend(scores);
    Ok(arrays)
}

/// What [`merge_chunks`] did.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    /// The run.
    pub manifest: RunManifest,
    /// Chunks taken from each input folder, in the order given.
    pub chunks_per_input: Vec<usize>,
    /// The files written.
    pub outputs: Vec<PathBuf>,
}

/// Joins the chunks that one or more folders of the same run hold (the shards of a run, copied
/// next to each other) into `out/z.npy` and `out/<attribute>_scores.npy`. Every chunk must be in
/// one of the folders; a missing one is an error that names it. Existing outputs are replaced only
/// with `overwrite`.
///
/// `out` is locked for writing and each other input for reading, so a merge never reads a shard
/// that a process is still writing.
pub fn merge_chunks(
    inputs: &[PathBuf],
    out: &Path,
    overwrite: bool,
    progress: &dyn Progress,
) -> Result<MergeReport, PipelineError> {
    let out_lock = RunLock::exclusive(out)?;
    out_lock.remove_temporaries(out);
    let same_as_out = |dir: &Path| match (dir.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let mut input_locks = Vec::new();
    for dir in inputs.iter().filter(|d| !same_as_out(d)) {
        input_locks.push(RunLock::shared(dir)?);
    }
    merge_locked(inputs, out, overwrite, progress)
}

/// [`merge_chunks`] for a caller that holds the locks.
fn merge_locked(
    inputs: &[PathBuf],
    out: &Path,
    overwrite: bool,
    progress: &dyn Progress,
) -> Result<MergeReport, PipelineError> {
    let first = inputs.first().ok_or(PipelineError::NoMergeInputs)?;
    let manifest = RunManifest::read(first)?
        .ok_or_else(|| PipelineError::file(first.join(MANIFEST_FILE), "missing: not a run folder"))?;
    for dir in &inputs[1..] {
        let other = RunManifest::read(dir)?
            .ok_or_else(|| PipelineError::file(dir.join(MANIFEST_FILE), "missing: not a run folder"))?;
        if other != manifest {
            return Err(PipelineError::file(
                dir,
                format!(
                    "belongs to another run than {} ({})",
                    first.display(),
                    manifest.differences(&other).join(", ")
                ),
            ));
        }
    }
    let mut source = Vec::with_capacity(manifest.chunks());
    let mut missing = Vec::new();
    for c in 0..manifest.chunks() {
        let mut found = None;
        for (i, dir) in inputs.iter().enumerate() {
            if manifest.has_record(dir, c) {
                found = Some(i);
                break;
            }
        }
        match found {
            Some(i) => source.push(i),
            None => missing.push(c),
        }
    }
    if !missing.is_empty() {
        return Err(PipelineError::MissingChunks { missing, total: manifest.chunks() });
    }

    if let Some(existing) = RunManifest::read(out)?
        && existing != manifest
    {
        return Err(PipelineError::file(
            out,
            format!("holds another run ({}); merge into another folder", manifest.differences(&existing).join(", ")),
        ));
    }
    let outputs: Vec<PathBuf> = manifest.output_files().iter().map(|n| out.join(n)).collect();
    if !overwrite && let Some(existing) = outputs.iter().find(|p| p.exists()) {
        return Err(PipelineError::file(existing, "already exists (pass overwrite to replace it)"));
    }
    let mut writers = Vec::new();
    for (path, width) in outputs.iter().zip(manifest.widths()) {
        writers.push(NpyStreamWriter::create(path, &[manifest.samples, width], overwrite)?);
    }
    progress.begin("merging chunks", manifest.chunks() as u64);
    for (c, &i) in source.iter().enumerate() {
        let arrays = manifest
            .read_chunk(&inputs[i], c)?
            .ok_or_else(|| PipelineError::file(&inputs[i], format!("chunk {c} vanished during the merge")))?;
        for (writer, array) in writers.iter_mut().zip(arrays) {
            writer.push(array.data())?;
        }
        progress.set(c as u64 + 1);
    }
    progress.end();
    let mut set = OutputSet::new(overwrite);
    for writer in writers {
        set.push(writer.stage()?)?;
    }
    set.commit()?;
    if RunManifest::read(out)?.is_none() {
        manifest.create(out)?;
    }
    let chunks_per_input = (0..inputs.len()).map(|i| source.iter().filter(|&&s| s == i).count()).collect();
    Ok(MergeReport { manifest, chunks_per_input, outputs })
}
