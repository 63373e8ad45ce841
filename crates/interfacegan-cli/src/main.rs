//! `interfacegan`: the command line of interfacegan-rs.

mod cli_error;
mod generate;
mod metrics;
mod model_args;
mod project;
mod score;
mod scores;
mod train_boundary;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use cli_error::CliError;

/// Edit semantic attributes of GAN faces by moving latent codes along learned boundaries
/// (InterFaceGAN).
#[derive(Parser)]
#[command(name = "interfacegan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sample latent codes and synthesise images (the embedded DCGAN, or PGGAN/StyleGAN weights).
    Generate(generate::Args),
    /// Score images for gender, age and smile (files, a folder, or codes through a generator).
    Score(score::Args),
    /// Fit an attribute boundary (linear SVM) from latent codes and their scores.
    TrainBoundary(train_boundary::Args),
    /// Remove from a boundary its components along condition boundaries (conditional editing).
    Project(project::Args),
    /// Measures on boundaries and scores.
    #[command(subcommand)]
    Metrics(metrics::Command),
}

/// A progress bar over `count` images (hidden when stderr is not a terminal).
pub(crate) fn image_progress(count: usize, message: &'static str) -> indicatif::ProgressBar {
    let progress = indicatif::ProgressBar::new(count as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} images ({per_sec}, {eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    progress.set_message(message);
    progress
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Score(args) => score::run(args),
        Command::TrainBoundary(args) => train_boundary::run(args),
        Command::Project(args) => project::run(args),
        Command::Metrics(command) => metrics::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
