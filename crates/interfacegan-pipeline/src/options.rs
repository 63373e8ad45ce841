//! What a whole run can be told, checked once before anything runs.

use interfacegan_boundary::FitOptions;
use interfacegan_subspace::InterpolateOptions;

use crate::{PipelineError, RescoreOptions, SampleOptions};

/// Everything [`Pipeline::run`](crate::Pipeline::run) can be told, set by builders and checked by
/// [`PipelineOptions::check`]. The defaults are the demo's.
///
/// ```
/// use interfacegan_pipeline::{PipelineOptions, RescoreOptions, SampleOptions};
/// let options = PipelineOptions::default()
///     .sample(SampleOptions { samples: 2_000, ..Default::default() })
///     .edit_samples(2)
///     .rescore(RescoreOptions { distances: vec![-1.0, 1.0], ..Default::default() });
/// assert!(options.check().is_ok());
/// assert!(options.edit_samples(0).check().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub(crate) sample: SampleOptions,
    pub(crate) fit: FitOptions,
    pub(crate) chosen_num_or_ratio: Option<f64>,
    pub(crate) min_chosen_per_side: usize,
    pub(crate) edit_samples: usize,
    pub(crate) edit: InterpolateOptions,
    pub(crate) rescore_samples: usize,
    pub(crate) rescore: RescoreOptions,
    pub(crate) overwrite: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            sample: SampleOptions::default(),
            fit: FitOptions::default(),
            chosen_num_or_ratio: None,
            min_chosen_per_side: 100,
            edit_samples: 5,
            edit: InterpolateOptions { start: -3.0, end: 3.0, steps: 7, ..Default::default() },
            rescore_samples: 128,
            rescore: RescoreOptions::default(),
            overwrite: false,
        }
    }
}

impl PipelineOptions {
    /// Sets sampling and scoring (N, seed, chunks, batch, z normalisation).
    pub fn sample(mut self, sample: SampleOptions) -> Self {
        self.sample = sample;
        self
    }

    /// Sets the options every boundary is fitted with (split ratio, the SVM's C and tolerance,
    /// the invalid score). The rows per side, the seed, the attribute and the space are the run's.
    pub fn fit(mut self, fit: FitOptions) -> Self {
        self.fit = fit;
        self
    }

    /// Sets the samples per side for the SVM (ratio or count); `None` takes the official 0.02,
    /// raised to [`PipelineOptions::min_chosen_per_side`] when N is too small for it.
    pub fn chosen_num_or_ratio(mut self, value: Option<f64>) -> Self {
        self.chosen_num_or_ratio = value;
        self
    }

    /// Sets the least number of samples per side when the ratio is chosen automatically.
    pub fn min_chosen_per_side(mut self, count: usize) -> Self {
        self.min_chosen_per_side = count;
        self
    }

    /// Sets the fresh codes rendered along each direction (at least 1).
    pub fn edit_samples(mut self, count: usize) -> Self {
        self.edit_samples = count;
        self
    }

    /// Sets the distances of the edit strips (official `linear_interpolate` semantics).
    pub fn edit(mut self, edit: InterpolateOptions) -> Self {
        self.edit = edit;
        self
    }

    /// Sets the fresh codes moved and re-scored along each direction (at least 1).
    pub fn rescore_samples(mut self, count: usize) -> Self {
        self.rescore_samples = count;
        self
    }

    /// Sets the steps of the re-scoring.
    pub fn rescore(mut self, rescore: RescoreOptions) -> Self {
        self.rescore = rescore;
        self
    }

    /// Allows writing into a folder that holds files but no run.
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Fails naming the first option out of range: sizes, the fit's options, the chosen ratio,
    /// the re-scoring distances.
    pub fn check(&self) -> Result<(), PipelineError> {
        let SampleOptions { samples, chunk_size, batch, .. } = self.sample;
        if samples == 0 || chunk_size == 0 || batch == 0 {
            return Err(PipelineError::SampleSizes { samples, chunk_size, batch });
        }
        if self.edit_samples == 0 || self.rescore_samples == 0 {
            return Err(PipelineError::NoFreshSamples);
        }
        let fit = match self.chosen_num_or_ratio {
            Some(value) => self.fit.clone().chosen_num_or_ratio(value),
            None => self.fit.clone(),
        };
        fit.check()?;
        self.rescore.check()
    }
}
