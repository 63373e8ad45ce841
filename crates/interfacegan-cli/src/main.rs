//! `interfacegan`: the command line of interfacegan-rs.

mod attributes_arg;
mod boundary_args;
mod cli_error;
mod codes_input;
mod demo;
mod directions_out;
mod edit;
mod ganspace;
mod ganspace_state;
mod generate;
mod inversion_args;
mod invert;
mod layers_arg;
mod matching;
mod merge;
mod metrics;
mod model_args;
mod models;
mod progress_bars;
mod project;
mod rescore;
mod sample;
mod sampling_args;
mod score;
mod scores;
mod sefa;
mod train_boundary;
mod train_encoder;

use std::process::ExitCode;

/// burn and the CPU engines free and reallocate multi-megabyte buffers in every layer; glibc's malloc
/// hands them back to the kernel each time and takes page faults to get them again
/// (docs/benchmarks.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's option enum (v2 and v3); libmimalloc-sys names no constant.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays mapped for reuse instead of being returned to the OS after mimalloc's delay:
/// a command's working set is the same few buffers layer after layer, batch after batch, and
/// returning them costs a page fault and a cleared page per 2 MiB when they come back.
fn keep_freed_memory() {
    // SAFETY: sets a plain integer option; mimalloc reads options at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

use clap::{Parser, Subcommand};

pub(crate) use cli_error::CliError;
pub(crate) use models::model_store;

/// Edit semantic attributes of GAN faces by moving latent codes along learned boundaries
/// (InterFaceGAN).
#[derive(Parser)]
#[command(name = "interfacegan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    store: models::StoreArgs,
}

#[derive(Subcommand)]
enum Command {
    /// The whole method on the default DCGAN: sample, score, fit, condition, edit, re-score, report.html.
    Demo(demo::Args),
    /// Sample latent codes and synthesise images (the default DCGAN, or PGGAN/StyleGAN weights).
    Generate(generate::Args),
    /// Score images for gender, age and smile (files, a folder, or codes through a generator).
    Score(score::Args),
    /// Fit an attribute boundary (linear SVM) from latent codes and their scores.
    TrainBoundary(train_boundary::Args),
    /// Invert photos into the latent space (encoder + optimisation): codes, reconstructions, PSNR/SSIM.
    Invert(invert::Args),
    /// Train the encoder that starts inversions, on (G(z), z) pairs drawn from the generator.
    TrainEncoder(train_encoder::Args),
    /// Sample and score at scale: chunked, resumable, splittable over machines with --shard K/N.
    Sample(sample::Args),
    /// Join the chunk folders of a sharded `sample` run into z.npy and <attr>_scores.npy.
    Merge(merge::Args),
    /// Move codes along boundaries and render every step ({sample:03d}_{step:03d}.png).
    Edit(edit::Args),
    /// Move codes along boundaries by fixed steps and score every attribute again.
    Rescore(rescore::Args),
    /// Remove from a boundary its components along condition boundaries (conditional editing).
    Project(project::Args),
    /// Directions without labels: SeFa's closed-form factorization of the weights that read the code.
    Sefa(sefa::Args),
    /// Directions without labels: GANSpace's principal components of W codes (StyleGANs).
    Ganspace(ganspace::Args),
    /// Which unsupervised direction is which attribute: re-scored against the SVM boundaries.
    Match(matching::Args),
    /// Measures on boundaries and scores.
    #[command(subcommand)]
    Metrics(metrics::Command),
    /// The model files: where each is found, and whether every copy is the registry's (size, sha256).
    #[command(subcommand)]
    Models(models::Command),
}

/// A progress bar over `count` images (hidden when stderr is not a terminal).
pub(crate) fn image_progress(count: usize, message: &'static str) -> indicatif::ProgressBar {
    progress_bars::bar(count as u64, message, "images")
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    models::init_store(&cli.store);
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Edit(args) => edit::run(args),
        Command::Rescore(args) => rescore::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Score(args) => score::run(args),
        Command::TrainBoundary(args) => train_boundary::run(args),
        Command::TrainEncoder(args) => train_encoder::run(args),
        Command::Invert(args) => invert::run(args),
        Command::Project(args) => project::run(args),
        Command::Sefa(args) => sefa::run(args),
        Command::Ganspace(args) => ganspace::run(args),
        Command::Match(args) => matching::run(args),
        Command::Metrics(command) => metrics::run(command),
        Command::Models(command) => models::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
