use std::path::PathBuf;

use interfacegan::inversion::{EncoderTraining, LearningRate, train_encoder};

use crate::CliError;
use crate::cli_error::refuse_existing;
use crate::model_args::GeneratorArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Output: the encoder's weights (.safetensors) and, beside it, <FILE>.json with the training report.
    #[arg(short = 'o', long = "output", value_name = "FILE.safetensors")]
    output: PathBuf,
    /// Optimisation steps.
    #[arg(long, default_value_t = EncoderTraining::default().steps)]
    steps: usize,
    /// Fresh (G(z), z) pairs per step.
    #[arg(long, default_value_t = EncoderTraining::default().batch)]
    batch: usize,
    /// Adam's peak learning rate (cosine ramp-down over the last 30 % of the steps).
    #[arg(long, default_value_t = EncoderTraining::default().learning_rate.initial)]
    lr: f64,
    /// Weight of the image loss through the generator (0: codes only, twice as fast).
    #[arg(long, default_value_t = EncoderTraining::default().image_weight)]
    image_weight: f64,
    /// Held-out pairs measured at the end.
    #[arg(long, default_value_t = EncoderTraining::default().validation)]
    validation: usize,
    /// Seed of the initial weights and the codes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Do not rescale z codes to norm sqrt(D) (PGGAN/StyleGAN only; the DCGAN never does).
    #[arg(long)]
    no_z_normalization: bool,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let report_path = PathBuf::from(format!("{}.json", args.output.display()));
    refuse_existing([&args.output, &report_path], args.force)?;
    let device = args.generator.device()?.autodiff();
    let (generator, architecture) = args.generator.load(&device)?;
    let defaults = EncoderTraining::default();
    let training = EncoderTraining {
        steps: args.steps,
        batch: args.batch,
        learning_rate: LearningRate { initial: args.lr, ..defaults.learning_rate },
        image_weight: args.image_weight,
        normalize_z: architecture.normalizes_z() && !args.no_z_normalization,
        validation: args.validation,
        seed: args.seed,
    };
    let bar = crate::progress_bars::bar(args.steps as u64, "training the encoder", "steps");
    let (encoder, report) = train_encoder(generator.as_ref(), &training, &mut |step, loss| {
        bar.set_position(step as u64);
        bar.set_message(format!("training the encoder (code loss {loss:.4})"));
    })?;
    bar.finish_and_clear();
    encoder.save(&args.output, args.force)?;
    let json = serde_json::json!({
        "generator": generator.info().architecture,
        "space": encoder.space().short_name(),
        "steps": training.steps,
        "batch": training.batch,
        "learning_rate": training.learning_rate.initial,
        "image_weight": training.image_weight,
        "normalize_z": training.normalize_z,
        "seed": training.seed,
        "validation_pairs": training.validation,
        "validation_code_mse": report.validation_code_mse,
        "validation_psnr_db": report.validation_psnr,
        "seconds": report.seconds,
        "loss_curve": report.loss_curve,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| CliError::new(e.to_string()))?;
    interfacegan::io::write_atomic(&report_path, text.as_bytes(), args.force)?;
    println!(
        "encoder -> {} ({} steps in {:.0} s): held-out code MSE {:.4}, G(E(x)) PSNR {:.2} dB",
        args.output.display(),
        training.steps,
        report.seconds,
        report.validation_code_mse,
        report.validation_psnr
    );
    Ok(())
}
