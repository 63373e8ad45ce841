use std::path::PathBuf;
use std::time::Instant;

use interfacegan::io::{MappedMatrix, NpyArray, OutputSet, stage_npy};
use interfacegan::{Boundary, FitOptions, FitReport};

use crate::CliError;
use crate::cli_error::refuse_existing;
use crate::scores::read_scores;

#[derive(clap::Args)]
pub struct Args {
    /// Latent codes, an [N, D] .npy (float32 or float64).
    #[arg(short = 'c', long = "latent-codes", value_name = "CODES.npy")]
    codes: PathBuf,
    /// Attribute scores, an [N] or [N, 1] .npy.
    #[arg(short = 's', long = "scores", value_name = "SCORES.npy")]
    scores: PathBuf,
    /// Output folder (created if missing).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Samples per side: a ratio of N in (0, 1], or a count above 1.
    #[arg(short = 'n', long = "chosen-num-or-ratio", default_value_t = 0.02)]
    chosen_num_or_ratio: f64,
    /// Share of each side used for training; the rest validates.
    #[arg(short = 'r', long = "split-ratio", default_value_t = 0.7)]
    split_ratio: f64,
    /// Drop the samples whose score equals this value.
    #[arg(short = 'V', long = "invalid-value", allow_negative_numbers = true)]
    invalid_value: Option<f32>,
    /// Seed of the train/validation shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The attribute's name, recorded in the metadata.
    #[arg(long)]
    attribute: Option<String>,
    /// The latent space of the codes (z, w, wp...), recorded in the metadata.
    #[arg(long)]
    space: Option<String>,
    /// SVM stopping tolerance (libsvm's eps).
    #[arg(long, default_value_t = 1e-3)]
    tolerance: f64,
    /// Skip the accuracy on the remaining (unselected) samples.
    #[arg(long)]
    no_remaining: bool,
    /// Replace existing output files.
    #[arg(long)]
    force: bool,
    /// Print the fit report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Below this validation accuracy a boundary separates the two sides little better than a coin.
const CHANCE_WARNING: f64 = 0.6;

const OUTPUTS: [&str; 4] = ["boundary.npy", "boundary.json", "train_indices.npy", "val_indices.npy"];

pub fn run(args: Args) -> Result<(), CliError> {
    let start = Instant::now();
    refuse_existing(OUTPUTS.map(|name| args.output.join(name)), args.force)?;
    let codes = MappedMatrix::open(&args.codes)?;
    let scores = read_scores(&args.scores)?;
    if scores.len() != codes.rows() {
        return Err(CliError::new(format!(
            "{} holds {} codes but {} holds {} scores: they must describe the same samples",
            args.codes.display(),
            codes.rows(),
            args.scores.display(),
            scores.len()
        )));
    }
    let mut options = FitOptions::default()
        .chosen_num_or_ratio(args.chosen_num_or_ratio)
        .split_ratio(args.split_ratio)
        .invalid_value(args.invalid_value)
        .seed(args.seed)
        .skip_remaining(args.no_remaining)
        .tolerance(args.tolerance);
    if let Some(attribute) = &args.attribute {
        options = options.attribute(attribute);
    }
    if let Some(space) = &args.space {
        options = options.latent_space(space);
    }
    let (boundary, report) = Boundary::fit_codes(&codes, &scores, &options).map_err(|e| {
        CliError::new(format!("codes {} with scores {}: {e}", args.codes.display(), args.scores.display()))
    })?;

    let indices =
        |list: &[usize]| NpyArray::new(vec![list.len()], list.iter().map(|&i| i as i64).collect()).expect("1-D");
    let mut outputs = OutputSet::new(args.force);
    outputs.create_dir_all(&args.output)?;
    boundary.stage(&mut outputs, args.output.join("boundary.npy"))?;
    stage_npy(&mut outputs, args.output.join("train_indices.npy"), &indices(&report.train_indices))?;
    stage_npy(&mut outputs, args.output.join("val_indices.npy"), &indices(&report.val_indices))?;
    outputs.commit()?;

    if let Some(accuracy) = report.val_accuracy.filter(|&a| a < CHANCE_WARNING) {
        eprintln!(
            "warning: validation accuracy {accuracy:.3} is near chance (0.5): the scores hardly follow the codes, \
             so this boundary is no attribute direction; check that {} scores the samples of {}",
            args.scores.display(),
            args.codes.display()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("report serialises"));
        return Ok(());
    }
    print_report(&report);
    println!("wrote {} in {:.3} s", args.output.join("boundary.npy").display(), start.elapsed().as_secs_f64());
    Ok(())
}

/// The fit in three lines: samples, accuracies, the solver.
fn print_report(report: &FitReport) {
    let pct = |a: Option<f64>| a.map_or("n/a".to_string(), |v| format!("{:.4}", v));
    println!(
        "samples {} ({} invalid), dimension {}, {} per side: train {} / validation {} / remaining {}",
        report.samples,
        report.invalid_samples,
        report.dim,
        report.chosen_per_side,
        report.train_samples,
        report.val_samples,
        report.remaining_samples
    );
    println!(
        "accuracy: train {}, validation {}, remaining {}",
        pct(report.train_accuracy),
        pct(report.val_accuracy),
        pct(report.remaining_accuracy)
    );
    println!(
        "svm: {} support vectors ({} at C), {} rounds, {} SMO steps, KKT gap {:.2e}{}, {:.3} s ({})",
        report.svm.support_vectors,
        report.svm.bounded_support_vectors,
        report.svm.rounds,
        report.svm.smo_iterations,
        report.svm.kkt_gap,
        if report.svm.converged { "" } else { " (NOT converged)" },
        report.svm.seconds,
        interfacegan::simd::level().name()
    );
}
