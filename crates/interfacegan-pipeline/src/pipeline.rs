//! The whole method as one call: sample, score, fit, condition, edit, re-score, report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use interfacegan_attributes::Scorer;
use interfacegan_boundary::{Boundary, FitOptions, FitReport, chosen_count};
use interfacegan_generator::{Generator, LatentSpace, RgbImage, ZSampler, grid, normalize_z};
use interfacegan_io::{MappedMatrix, NpyArray, read_f32, write_atomic, write_npy};
use interfacegan_subspace::{InterpolateOptions, correlation_matrix, cosine_similarity_matrix};
use serde::Serialize;

use crate::batch::{StageClock, synthesize_images};
use crate::report::write_report;
use crate::{
    Direction, PipelineError, Progress, RescoreOptions, RescoreTable, RunManifest, SampleOptions, SampleReport,
    conditional_directions, edit_codes, rescore, sample_and_score,
};

/// The official share of samples taken from each end of the score ranking.
pub const OFFICIAL_CHOSEN_RATIO: f64 = 0.02;

/// Streams of the run's seed used for the fresh codes of the edits and of the re-scoring: far from
/// the chunk streams `0..chunks`, so they never coincide with a sampled code.
const EDIT_STREAM: u64 = u64::MAX - 1;
const RESCORE_STREAM: u64 = u64::MAX - 2;

/// Everything [`Pipeline::run`] can be told. The defaults are the demo's.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Sampling and scoring (N, seed, chunks, batch, z normalisation).
    pub sample: SampleOptions,
    /// Samples per side for the SVM (ratio or count); `None` takes the official 0.02, raised to
    /// `min_chosen_per_side` when N is too small for it.
    pub chosen_num_or_ratio: Option<f64>,
    /// The least number of samples per side when the ratio is chosen automatically.
    pub min_chosen_per_side: usize,
    /// Share of each side used for training (official 0.7).
    pub split_ratio: f64,
    /// Fresh codes rendered along each direction.
    pub edit_samples: usize,
    /// Distances of the edit strips (official `linear_interpolate` semantics).
    pub edit: InterpolateOptions,
    /// Fresh codes moved and re-scored along each direction.
    pub rescore_samples: usize,
    /// Steps of the re-scoring.
    pub rescore: RescoreOptions,
    /// Write into a folder that holds files but no run.
    pub overwrite: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            sample: SampleOptions::default(),
            chosen_num_or_ratio: None,
            min_chosen_per_side: 100,
            split_ratio: 0.7,
            edit_samples: 5,
            edit: InterpolateOptions { start: -3.0, end: 3.0, steps: 7, ..Default::default() },
            rescore_samples: 128,
            rescore: RescoreOptions::default(),
            overwrite: false,
        }
    }
}

/// The fit of one attribute, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AttributeOutcome {
    /// Attribute name.
    pub name: String,
    /// What the score is.
    pub meaning: String,
    /// The `chosen_num_or_ratio` used.
    pub chosen_num_or_ratio: f64,
    /// Why that value (official, or raised for a small N).
    pub chosen_note: String,
    /// The fit report (without the index lists).
    pub fit: FitReport,
    /// Histogram of the N scores: `bins` counts over `[min, max]`.
    pub histogram: Vec<u32>,
    /// Lowest score.
    pub min: f32,
    /// Highest score.
    pub max: f32,
    /// Mean score.
    pub mean: f64,
    /// Standard deviation of the scores: the unit of the side effects in the report.
    pub std: f64,
    /// Scores at or above this are in the positive (top) set.
    pub top_cut: f32,
    /// Scores at or below this are in the negative (bottom) set.
    pub bottom_cut: f32,
}

/// What [`Pipeline::run`] produced; `summary.json` in the run folder holds it (without images).
#[derive(Debug, Clone, Serialize)]
pub struct PipelineOutcome {
    /// The run folder.
    pub dir: PathBuf,
    /// The generator, in words.
    pub generator: String,
    /// Sampling and scoring.
    pub sample: SampleReport,
    /// One per attribute, in the scorers' order.
    pub attributes: Vec<AttributeOutcome>,
    /// Every direction's name, plain first for each attribute.
    pub directions: Vec<String>,
    /// Cosine similarity of the plain boundaries.
    pub cosine: Vec<Vec<f64>>,
    /// Pearson correlation of the N scores.
    pub correlation: Vec<Vec<f64>>,
    /// Re-scoring of all directions.
    pub rescore: RescoreTable,
    /// Distances of the edit strips.
    pub edit_distances: Vec<f64>,
    /// Seconds per stage, in order.
    pub timings: Vec<(String, f64)>,
    /// The first codes' images (8 x 8 at most).
    #[serde(skip)]
    pub sample_grid: Option<RgbImage>,
    /// Edit strips of the directions the report shows.
    #[serde(skip)]
    pub edit_sheets: Vec<EditSheet>,
}

/// The edits of the fresh samples along one direction, as one image.
#[derive(Debug, Clone)]
pub struct EditSheet {
    /// The direction's name (`smile_without_gender_age`).
    pub direction: String,
    /// The attribute it changes.
    pub target: String,
    /// One row per sample, one column per distance.
    pub image: RgbImage,
}

impl PipelineOutcome {
    /// The attribute named `name`.
    pub fn attribute(&self, name: &str) -> Option<&AttributeOutcome> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// InterFaceGAN end to end on a generator and a set of scorers.
///
/// ```no_run
/// use interfacegan_pipeline::{Pipeline, Silent};
/// use interfacegan_attributes::{Attribute, BuiltInScorer, Scorer};
/// use interfacegan_generator::{cpu_device, default_generator};
///
/// let device = cpu_device();
/// let generator = default_generator(&device)?;
/// let scorers = [Attribute::Gender, Attribute::Smile].map(|a| BuiltInScorer::new(a, &device));
/// let scorers: Vec<BuiltInScorer> = scorers.into_iter().collect::<Result<_, _>>()?;
/// let refs: Vec<&dyn Scorer> = scorers.iter().map(|s| s as &dyn Scorer).collect();
/// let outcome = Pipeline::new(&generator, &refs).samples(20_000).seed(1).run("run".as_ref(), &Silent)?;
/// println!("smile validation accuracy {:?}", outcome.attribute("smile").unwrap().fit.val_accuracy);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pipeline<'a> {
    generator: &'a dyn Generator,
    scorers: &'a [&'a dyn Scorer],
    options: PipelineOptions,
}

impl<'a> Pipeline<'a> {
    /// A run of `generator` scored by `scorers`, with the default options.
    pub fn new(generator: &'a dyn Generator, scorers: &'a [&'a dyn Scorer]) -> Self {
        Self { generator, scorers, options: PipelineOptions::default() }
    }

    /// Replaces all options.
    pub fn options(mut self, options: PipelineOptions) -> Self {
        self.options = options;
        self
    }

    /// Number of sampled codes N.
    pub fn samples(mut self, samples: usize) -> Self {
        self.options.sample.samples = samples;
        self
    }

    /// Seed of every code of the run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.sample.seed = seed;
        self
    }

    /// Runs every stage into `dir` and writes `dir/report.html`. A folder holding the same run is
    /// resumed (finished chunks are kept; the later stages are recomputed from the files).
    pub fn run(&self, dir: &Path, progress: &dyn Progress) -> Result<PipelineOutcome, PipelineError> {
        let options = &self.options;
        let generator = self.generator;
        let info = generator.info().clone();
        if self.scorers.len() < 2 {
            return Err(PipelineError::Invalid(
                "the pipeline needs at least two attributes (conditional editing removes one from another)".into(),
            ));
        }
        if options.edit_samples == 0 || options.rescore_samples == 0 {
            return Err(PipelineError::Invalid("edit and re-scoring samples must be at least 1".into()));
        }
        if RunManifest::read(dir)?.is_none() && !options.overwrite && folder_has_files(dir)? {
            return Err(PipelineError::file(dir, "is not empty and holds no run; choose an empty or new folder"));
        }
        let mut timings = Vec::new();
        let mut clock = Instant::now();
        let mut lap = |name: &str, timings: &mut Vec<(String, f64)>| {
            timings.push((name.to_string(), clock.elapsed().as_secs_f64()));
            clock = Instant::now();
        };

        let sample_options = SampleOptions { overwrite: options.overwrite, ..options.sample.clone() };
        let sample = sample_and_score(generator, self.scorers, &sample_options, dir, progress)?;
        lap("sampling and scoring", &mut timings);

        // Boundaries.
        let codes = MappedMatrix::open(dir.join("z.npy"))?;
        let n = codes.rows();
        let mut attributes = Vec::new();
        let mut boundaries = Vec::new();
        let mut all_scores = Vec::new();
        let (ratio, note) = chosen_ratio(n, options.chosen_num_or_ratio, options.min_chosen_per_side)?;
        progress.begin("fitting boundaries", self.scorers.len() as u64);
        for (i, scorer) in self.scorers.iter().enumerate() {
            let name = scorer.attribute().to_string();
            let scores = read_f32(dir.join(format!("{name}_scores.npy")))?.into_data();
            let fit_options = FitOptions::default()
                .chosen_num_or_ratio(ratio)
                .split_ratio(options.split_ratio)
                .seed(options.sample.seed)
                .attribute(name.clone())
                .latent_space("z");
            let (boundary, mut fit) = Boundary::fit_codes(&codes, &scores, &fit_options)?;
            boundary.save(dir.join(format!("{name}_boundary.npy")), true)?;
            fit.train_indices.clear();
            fit.val_indices.clear();
            attributes.push(describe_scores(&name, scorer.meaning(), ratio, note.clone(), fit, &scores));
            boundaries.push((name, boundary));
            all_scores.push(scores);
            progress.set(i as u64 + 1);
        }
        progress.end();
        lap("fitting boundaries", &mut timings);

        let directions = conditional_directions(&boundaries)?;
        for d in directions.iter().filter(|d| !d.is_plain()) {
            Boundary::from_normal(&d.vector)?
                .with_attribute(d.name())
                .with_latent_space("z")
                .save(dir.join(d.file_name()), true)?;
        }
        let plain: Vec<&[f64]> = boundaries.iter().map(|(_, b)| b.normal()).collect();
        let cosine = cosine_similarity_matrix(&plain)?;
        let columns: Vec<&[f32]> = all_scores.iter().map(|s| s.as_slice()).collect();
        let correlation = correlation_matrix(&columns)?;
        lap("conditional directions", &mut timings);

        // Edits of fresh samples along each plain direction and the one conditioned on all others.
        let fresh = |count: usize, stream: u64| {
            let mut z = ZSampler::with_stream(info.latent_dim, options.sample.seed, stream).next_batch(count);
            if options.sample.normalize_z {
                normalize_z(&mut z, info.latent_dim);
            }
            z
        };
        let edit_z = fresh(options.edit_samples, EDIT_STREAM);
        let edits_dir = dir.join("edits");
        std::fs::create_dir_all(&edits_dir)
            .map_err(|e| PipelineError::file(&edits_dir, format!("cannot create: {e}")))?;
        let shape = vec![options.edit_samples, info.latent_dim];
        write_npy(edits_dir.join("z.npy"), &NpyArray::new(shape, edit_z.clone())?, true)?;
        let shown: Vec<&Direction> =
            directions.iter().filter(|d| edited_in_report(&d.conditions, self.scorers.len())).collect();
        let mut edit_sheets = Vec::new();
        progress.begin("rendering edits", shown.len() as u64);
        for (i, direction) in shown.iter().enumerate() {
            let edits =
                edit_codes(generator, &edit_z, LatentSpace::Z, &direction.vector, &options.edit, options.sample.batch)?;
            edits.save(&edits_dir.join(direction.name()), true)?;
            edit_sheets.push(EditSheet {
                direction: direction.name(),
                target: direction.target.clone(),
                image: edits.sheet()?,
            });
            progress.set(i as u64 + 1);
        }
        progress.end();
        lap("edits", &mut timings);

        let rescore_z = fresh(options.rescore_samples, RESCORE_STREAM);
        write_npy(
            dir.join("rescore_z.npy"),
            &NpyArray::new(vec![options.rescore_samples, info.latent_dim], rescore_z.clone())?,
            true,
        )?;
        let rescore_options = RescoreOptions { batch: options.sample.batch, ..options.rescore.clone() };
        let table =
            rescore(generator, self.scorers, &rescore_z, LatentSpace::Z, &directions, &rescore_options, progress)?;
        write_atomic(dir.join("rescore.csv"), table.to_csv().as_bytes(), true)?;
        write_atomic(
            dir.join("rescore.json"),
            serde_json::to_string_pretty(&table).expect("serialises").as_bytes(),
            true,
        )?;
        lap("re-scoring", &mut timings);

        let shown_codes = n.min(64);
        let grid_z: Vec<f32> = (0..shown_codes).flat_map(|r| codes.row(r).to_vec()).collect();
        let faces =
            synthesize_images(generator, &grid_z, LatentSpace::Z, options.sample.batch, &mut StageClock::new(0))?;
        let columns = (shown_codes as f64).sqrt().ceil() as usize;
        let sample_grid = grid(&faces, shown_codes.div_ceil(columns), columns, 2, [255, 255, 255])?;

        let mut outcome = PipelineOutcome {
            dir: dir.to_path_buf(),
            generator: sample.manifest.generator.clone(),
            sample,
            attributes,
            directions: directions.iter().map(Direction::name).collect(),
            cosine,
            correlation,
            rescore: table,
            edit_distances: interfacegan_subspace::linspace(options.edit.start, options.edit.end, options.edit.steps),
            timings,
            sample_grid: Some(sample_grid),
            edit_sheets,
        };
        let report_start = Instant::now();
        write_report(&outcome, &dir.join("report.html"))?;
        outcome.timings.push(("report".to_string(), report_start.elapsed().as_secs_f64()));
        let summary = serde_json::to_string_pretty(&outcome).expect("outcome serialises");
        write_atomic(dir.join("summary.json"), summary.as_bytes(), true)?;
        Ok(outcome)
    }
}

/// Whether the report shows the edits and curves of a direction with these conditions: every plain
/// direction and the one conditioned on all `attributes - 1` others.
pub fn edited_in_report(conditions: &[String], attributes: usize) -> bool {
    conditions.is_empty() || conditions.len() + 1 == attributes
}

fn folder_has_files(dir: &Path) -> Result<bool, PipelineError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(PipelineError::file(dir, format!("cannot list: {e}"))),
    }
}

/// The `chosen_num_or_ratio` for `n` samples and why.
pub fn chosen_ratio(n: usize, requested: Option<f64>, min_per_side: usize) -> Result<(f64, String), PipelineError> {
    if let Some(value) = requested {
        let per_side = chosen_count(n, value)?;
        return Ok((value, format!("{value} as given: {per_side} samples per side")));
    }
    let official = chosen_count(n, OFFICIAL_CHOSEN_RATIO)?;
    if official >= min_per_side {
        return Ok((OFFICIAL_CHOSEN_RATIO, format!("the official ratio 0.02: {official} samples per side")));
    }
    let per_side = min_per_side.min(n / 4).max(2);
    Ok((
        per_side as f64,
        format!(
            "{per_side} samples per side: the official ratio 0.02 would leave {official} per side at N = {n}, \
             too few for a stable SVM"
        ),
    ))
}

fn describe_scores(
    name: &str,
    meaning: &str,
    ratio: f64,
    note: String,
    fit: FitReport,
    scores: &[f32],
) -> AttributeOutcome {
    const BINS: usize = 40;
    let min = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let width = ((max - min) as f64 / BINS as f64).max(f64::MIN_POSITIVE);
    let mut histogram = vec![0u32; BINS];
    for &s in scores {
        histogram[(((s - min) as f64 / width) as usize).min(BINS - 1)] += 1;
    }
    let n = scores.len() as f64;
    let mean = scores.iter().map(|&s| s as f64).sum::<f64>() / n;
    let std = (scores.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = scores.to_vec();
    sorted.sort_by(f32::total_cmp);
    let chosen = fit.chosen_per_side.clamp(1, sorted.len());
    AttributeOutcome {
        name: name.to_string(),
        meaning: meaning.to_string(),
        chosen_num_or_ratio: ratio,
        chosen_note: note,
        top_cut: sorted[sorted.len() - chosen],
        bottom_cut: sorted[chosen - 1],
        fit,
        histogram,
        min,
        max,
        mean,
        std,
    }
}
