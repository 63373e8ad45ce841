//! The options of sampling and scoring that `demo` and `sample` share.

use interfacegan::attributes::BuiltInScorer;
use interfacegan::generator::{Architecture, Generator, Weights};
use interfacegan::pipeline::{SampleOptions, SampleReport};

use crate::CliError;
use crate::attributes_arg::built_in_scorers;
use crate::model_args::GeneratorArgs;

#[derive(clap::Args)]
pub struct SamplingArgs {
    /// Attributes to score, comma separated (`demo` needs at least two).
    #[arg(short = 'a', long, value_delimiter = ',', default_value = "gender,age,smile")]
    attributes: Vec<String>,
    /// Seed of the run: chunk k draws its codes from stream k of it, wherever it runs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Codes per chunk (the unit of resumption and of sharding).
    #[arg(long, default_value_t = 1_000)]
    chunk_size: usize,
    /// Images per forward pass.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Do not rescale z codes to norm sqrt(D) (PGGAN/StyleGAN only).
    #[arg(long)]
    no_z_normalization: bool,
}

/// What a sampling command works with.
pub struct SamplingRun {
    pub generator: Box<dyn Generator>,
    pub scorers: Vec<BuiltInScorer>,
    /// A whole run on one machine; the command sets the shard and overwriting.
    pub options: SampleOptions,
}

impl SamplingArgs {
    /// The generator, the scorers, and the options of a run of `samples` codes.
    pub fn load(&self, samples: usize) -> Result<SamplingRun, CliError> {
        let device = self.generator.device()?;
        let (generator, architecture) = self.generator.load(&device)?;
        let scorers = built_in_scorers(&self.attributes, &device, self.generator.scorer_engine())?;
        let options = SampleOptions {
            samples,
            seed: self.seed,
            chunk_size: self.chunk_size,
            batch: self.batch,
            normalize_z: architecture.normalizes_z() && !self.no_z_normalization,
            ..Default::default()
        };
        Ok(SamplingRun { generator, scorers, options })
    }
}

impl SamplingArgs {
    /// The generator's weight file and architecture (for methods that read weights, as SeFa).
    pub fn weights(&self) -> Result<(Weights, Architecture), CliError> {
        self.generator.weights()
    }
}

/// `synthesis 270 images/s; scoring gender 592/s, ...` for a sampling report.
pub fn rates(report: &SampleReport) -> String {
    let (synthesis, scorers) = report.rates();
    let scorers: Vec<String> = scorers.iter().map(|(a, r)| format!("{a} {r:.0}/s")).collect();
    format!("synthesis {synthesis:.0} images/s; scoring {}", scorers.join(", "))
}
