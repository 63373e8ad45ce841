//! The whole method as one call: sample, score, fit, condition, edit, re-score, report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use interfacegan_attributes::Scorer;
use interfacegan_boundary::{Boundary, FitReport, chosen_count};
use interfacegan_generator::{Generator, LatentSpace, RgbImage, ZSampler, grid, normalize_z};
use interfacegan_io::{MappedMatrix, NpyArray, OutputSet, read_f32, write_atomic, write_npy};
use interfacegan_subspace::{correlation_matrix, cosine_similarity_matrix};
use serde::Serialize;

use crate::batch::{StageClock, synthesize_images};
use crate::report::write_report;
use crate::{
    Direction, MatchOptions, MatchTable, PipelineError, PipelineOptions, Progress, RescoreOptions, RescoreTable,
    RunManifest, SampleOptions, SampleReport, conditional_directions, edit_codes, match_directions, match_sheets,
    rescore, sample_and_score, stage_match_files,
};

/// The official share of samples taken from each end of the score ranking.
pub const OFFICIAL_CHOSEN_RATIO: f64 = 0.02;

/// Streams of the run's seed used for the fresh codes of the edits and of the re-scoring: far from
/// the chunk streams `0..chunks`, so they never coincide with a sampled code.
const EDIT_STREAM: u64 = u64::MAX - 1;
const RESCORE_STREAM: u64 = u64::MAX - 2;

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
    /// The unsupervised directions measured against the boundaries, when any were given.
    pub matching: Option<MatchTable>,
    /// Edit strips of each boundary and its best unsupervised match.
    #[serde(skip)]
    pub match_sheets: Vec<EditSheet>,
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
    unsupervised: Vec<Direction>,
}

impl<'a> Pipeline<'a> {
    /// A run of `generator` scored by `scorers`, with the default options.
    pub fn new(generator: &'a dyn Generator, scorers: &'a [&'a dyn Scorer]) -> Self {
        Self { generator, scorers, options: PipelineOptions::default(), unsupervised: Vec::new() }
    }

    /// Directions found without labels (SeFa, GANSpace; each named by its `target`, e.g.
    /// `sefa_003`, with no conditions) to measure against the fitted boundaries: re-scored on
    /// every attribute, ranked per attribute, with edit strips of each attribute's best match
    /// ([`match_directions`]); `match.json`, `match.csv` and the report's `unsupervised` section.
    pub fn unsupervised(mut self, directions: Vec<Direction>) -> Self {
        self.unsupervised = directions;
        self
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
        self.check(dir)?;
        let options = &self.options;
        let mut timings = Timings::start();
        let sample_options = SampleOptions { overwrite: options.overwrite, ..options.sample.clone() };
        let sample = sample_and_score(self.generator, self.scorers, &sample_options, dir, progress)?;
        timings.lap("sampling and scoring");
        let codes = MappedMatrix::open(dir.join("z.npy"))?;
        let fitted = self.fit_boundaries(&codes, dir, progress)?;
        timings.lap("fitting boundaries");
        let directions = conditional_directions(&fitted.boundaries)?;
        let measures = save_directions(&directions, &fitted, dir)?;
        timings.lap("conditional directions");
        let edit_sheets = self.render_edits(&directions, dir, progress)?;
        timings.lap("edits");
        let table = self.rescore_directions(&directions, dir, progress)?;
        timings.lap("re-scoring");
        let plain: Vec<Direction> = directions.iter().filter(|d| d.is_plain()).cloned().collect();
        let (matching, match_sheets) = self.match_unsupervised(&plain, dir, progress)?;
        if matching.is_some() {
            timings.lap("matching unsupervised directions");
        }
        let sample_grid = self.sample_grid(&codes)?;
        let mut outcome = PipelineOutcome {
            dir: dir.to_path_buf(),
            generator: sample.manifest.generator.clone(),
            sample,
            attributes: fitted.attributes,
            directions: directions.iter().map(Direction::name).collect(),
            cosine: measures.cosine,
            correlation: measures.correlation,
            rescore: table,
            edit_distances: interfacegan_subspace::linspace(options.edit.start, options.edit.end, options.edit.steps),
            timings: timings.laps,
            sample_grid: Some(sample_grid),
            edit_sheets,
            matching,
            match_sheets,
        };
        let report_start = Instant::now();
        write_report(&outcome, &dir.join("report.html"))?;
        outcome.timings.push(("report".to_string(), report_start.elapsed().as_secs_f64()));
        let summary = serde_json::to_string_pretty(&outcome).expect("outcome serialises");
        write_atomic(dir.join("summary.json"), summary.as_bytes(), true)?;
        Ok(outcome)
    }

    /// Fails before anything is written when the run cannot go ahead in `dir`.
    fn check(&self, dir: &Path) -> Result<(), PipelineError> {
        if self.scorers.len() < 2 {
            return Err(PipelineError::TooFewAttributes);
        }
        self.options.check()?;
        if RunManifest::read(dir)?.is_none() && !self.options.overwrite && folder_has_files(dir)? {
            return Err(PipelineError::file(dir, "is not empty and holds no run; choose an empty or new folder"));
        }
        Ok(())
    }

    /// One boundary per attribute, saved as `<attribute>_boundary.npy`.
    fn fit_boundaries(
        &self,
        codes: &MappedMatrix,
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<FittedBoundaries, PipelineError> {
        let options = &self.options;
        let (ratio, note) = chosen_ratio(codes.rows(), options.chosen_num_or_ratio, options.min_chosen_per_side)?;
        let mut fitted = FittedBoundaries::default();
        progress.begin("fitting boundaries", self.scorers.len() as u64);
        for (i, scorer) in self.scorers.iter().enumerate() {
            let name = scorer.attribute().to_string();
            let scores = read_f32(dir.join(format!("{name}_scores.npy")))?.into_data();
            let fit_options = options
                .fit
                .clone()
                .chosen_num_or_ratio(ratio)
                .seed(options.sample.seed)
                .attribute(name.clone())
                .latent_space("z");
            let (boundary, mut fit) = Boundary::fit_codes(codes, &scores, &fit_options)?;
            boundary.save(dir.join(format!("{name}_boundary.npy")), true)?;
            fit.train_indices.clear();
            fit.val_indices.clear();
            fitted.attributes.push(describe_scores(&name, scorer.meaning(), ratio, note.clone(), fit, &scores));
            fitted.boundaries.push((name, boundary));
            fitted.scores.push(scores);
            progress.set(i as u64 + 1);
        }
        progress.end();
        Ok(fitted)
    }

    /// `count` fresh codes of the run's seed from `stream`, normalised as the sampled ones are.
    fn fresh_codes(&self, count: usize, stream: u64) -> Vec<f32> {
        let dim = self.generator.info().latent_dim;
        let mut z = ZSampler::with_stream(dim, self.options.sample.seed, stream).next_batch(count);
        if self.options.sample.normalize_z {
            normalize_z(&mut z, dim);
        }
        z
    }

    /// Edits of fresh samples along each plain direction and the one conditioned on all others,
    /// saved under `edits/`; returns their sheets.
    fn render_edits(
        &self,
        directions: &[Direction],
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<Vec<EditSheet>, PipelineError> {
        let options = &self.options;
        let edit_z = self.fresh_codes(options.edit_samples, EDIT_STREAM);
        let edits_dir = dir.join("edits");
        std::fs::create_dir_all(&edits_dir)
            .map_err(|e| PipelineError::file(&edits_dir, format!("cannot create: {e}")))?;
        let shape = vec![options.edit_samples, self.generator.info().latent_dim];
        write_npy(edits_dir.join("z.npy"), &NpyArray::new(shape, edit_z.clone())?, true)?;
        let shown: Vec<&Direction> =
            directions.iter().filter(|d| edited_in_report(&d.conditions, self.scorers.len())).collect();
        let mut edit_sheets = Vec::new();
        progress.begin("rendering edits", shown.len() as u64);
        for (i, direction) in shown.iter().enumerate() {
            let (space, batch) = (LatentSpace::Z, options.sample.batch);
            let edits = edit_codes(self.generator, &edit_z, space, &direction.vector, &options.edit, batch)?;
            edits.save(&edits_dir.join(direction.name()), true)?;
            edit_sheets.push(EditSheet {
                direction: direction.name(),
                target: direction.target.clone(),
                image: edits.sheet()?,
            });
            progress.set(i as u64 + 1);
        }
        progress.end();
        Ok(edit_sheets)
    }

    /// Every direction re-scored on fresh codes: `rescore_z.npy`, `rescore.csv`, `rescore.json`.
    fn rescore_directions(
        &self,
        directions: &[Direction],
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<RescoreTable, PipelineError> {
        let options = &self.options;
        let rescore_z = self.fresh_codes(options.rescore_samples, RESCORE_STREAM);
        let shape = vec![options.rescore_samples, self.generator.info().latent_dim];
        write_npy(dir.join("rescore_z.npy"), &NpyArray::new(shape, rescore_z.clone())?, true)?;
        let rescore_options = RescoreOptions { batch: options.sample.batch, ..options.rescore.clone() };
        let (generator, scorers) = (self.generator, self.scorers);
        let table = rescore(generator, scorers, &rescore_z, LatentSpace::Z, directions, &rescore_options, progress)?;
        write_atomic(dir.join("rescore.csv"), table.to_csv().as_bytes(), true)?;
        let json = serde_json::to_string_pretty(&table).expect("serialises");
        write_atomic(dir.join("rescore.json"), json.as_bytes(), true)?;
        Ok(table)
    }

    /// The unsupervised directions against the `boundaries` on the re-scoring's codes, with edit
    /// strips of the edits' codes: `match.json`, `match.csv`, `edits/match/<attribute>_<direction>.png`.
    fn match_unsupervised(
        &self,
        boundaries: &[Direction],
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<(Option<MatchTable>, Vec<EditSheet>), PipelineError> {
        if self.unsupervised.is_empty() {
            return Ok((None, Vec::new()));
        }
        let options = &self.options;
        let batch = options.sample.batch;
        let match_options = MatchOptions::default().distances(options.rescore.distances.clone()).batch(batch);
        let codes = self.fresh_codes(options.rescore_samples, RESCORE_STREAM);
        let directions = (boundaries, self.unsupervised.as_slice());
        let (generator, scorers) = (self.generator, self.scorers);
        let table = match_directions(generator, scorers, &codes, LatentSpace::Z, directions, &match_options, progress)?;
        let edit_codes = self.fresh_codes(options.edit_samples, EDIT_STREAM);
        let sheets = match_sheets(generator, &table, directions, (&edit_codes, LatentSpace::Z), &options.edit, batch)?;
        let mut outputs = OutputSet::new(true);
        stage_match_files(&mut outputs, &table, &sheets, dir, &dir.join("edits").join("match"))?;
        outputs.commit()?;
        Ok((Some(table), sheets))
    }

    /// The first codes' images (8 x 8 at most) as one grid.
    fn sample_grid(&self, codes: &MappedMatrix) -> Result<RgbImage, PipelineError> {
        let shown = codes.rows().min(64);
        let grid_z: Vec<f32> = (0..shown).flat_map(|r| codes.row(r).to_vec()).collect();
        let batch = self.options.sample.batch;
        let faces = synthesize_images(self.generator, &grid_z, LatentSpace::Z, batch, &mut StageClock::new(0))?;
        let columns = (shown as f64).sqrt().ceil() as usize;
        Ok(grid(&faces, shown.div_ceil(columns), columns, 2, [255, 255, 255])?)
    }
}

/// The boundaries of a run with what the report shows of each attribute, in the scorers' order.
#[derive(Default)]
struct FittedBoundaries {
    attributes: Vec<AttributeOutcome>,
    boundaries: Vec<(String, Boundary)>,
    scores: Vec<Vec<f32>>,
}

/// The disentanglement measures of the plain boundaries and the scores.
struct Measures {
    cosine: Vec<Vec<f64>>,
    correlation: Vec<Vec<f64>>,
}

/// Saves the conditional directions as boundary files; returns the cosines of the plain
/// boundaries and the correlations of the scores.
fn save_directions(directions: &[Direction], fitted: &FittedBoundaries, dir: &Path) -> Result<Measures, PipelineError> {
    for d in directions.iter().filter(|d| !d.is_plain()) {
        Boundary::from_normal(&d.vector)?
            .with_attribute(d.name())
            .with_latent_space("z")
            .save(dir.join(d.file_name()), true)?;
    }
    let plain: Vec<&[f64]> = fitted.boundaries.iter().map(|(_, b)| b.normal()).collect();
    let columns: Vec<&[f32]> = fitted.scores.iter().map(|s| s.as_slice()).collect();
    Ok(Measures { cosine: cosine_similarity_matrix(&plain)?, correlation: correlation_matrix(&columns)? })
}

/// Seconds per stage, in order.
struct Timings {
    laps: Vec<(String, f64)>,
    clock: Instant,
}

impl Timings {
    fn start() -> Self {
        Self { laps: Vec::new(), clock: Instant::now() }
    }

    fn lap(&mut self, name: &str) {
        self.laps.push((name.to_string(), self.clock.elapsed().as_secs_f64()));
        self.clock = Instant::now();
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
    let mean = crate::rescore::mean(scores);
    let std = crate::rescore::std_around(scores, mean);
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
