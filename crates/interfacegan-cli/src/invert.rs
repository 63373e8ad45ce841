use std::path::PathBuf;

use interfacegan::generator::{grid, stage_image};
use interfacegan::inversion::InversionParams;
use interfacegan::io::OutputSet;

use crate::CliError;
use crate::cli_error::refuse_existing;
use crate::codes_input::latent_space;
use crate::inversion_args::{InversionArgs, photo_label};
use crate::model_args::GeneratorArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Photos to invert (any format the image crate reads; centre-cropped and resized to the generator's size).
    #[arg(value_name = "PHOTO", required = true)]
    photos: Vec<PathBuf>,
    /// Output folder: codes.npy, NNN_<photo>_pair.png (target | reconstruction), report.json.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Latent space of the codes: z, w or wp (w+).
    #[arg(long, default_value = "z")]
    space: String,
    /// Optimisation steps per photo (0: the encoder's codes as they are).
    #[arg(long, default_value_t = 500)]
    steps: usize,
    #[command(flatten)]
    inversion: InversionArgs,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let labels: Vec<String> = args.photos.iter().enumerate().map(|(i, p)| photo_label(i, p)).collect();
    let codes_path = args.output.join("codes.npy");
    let report_path = args.output.join("report.json");
    let pair_paths: Vec<PathBuf> = labels.iter().map(|l| args.output.join(format!("{l}_pair.png"))).collect();
    refuse_existing([&codes_path, &report_path].into_iter().chain(&pair_paths), args.force)?;
    let device = args.generator.device()?.autodiff();
    let (generator, _) = args.generator.load(&device)?;
    let info = generator.info().clone();
    let space = latent_space(&info, &args.space)?;
    let inverted = args.inversion.invert(
        &args.photos,
        generator.as_ref(),
        args.generator.is_default_model(),
        space,
        args.steps,
        // `invert` aims at the closest reconstruction: the library's default prior.
        InversionParams::default().prior_weight,
    )?;
    let inversion = &inverted.inversion;

    let mut outputs = OutputSet::new(args.force);
    inverted.stage_codes(&mut outputs, &codes_path)?;
    let mut entries = Vec::new();
    println!("{:<40} {:>9} {:>7} {:>8}", "photo", "PSNR dB", "SSIM", "seconds");
    for (i, report) in inversion.reports.iter().enumerate() {
        let pair =
            grid(&[inverted.targets[i].clone(), inversion.reconstructions[i].clone()], 1, 2, 0, [255, 255, 255])?;
        stage_image(&mut outputs, &pair_paths[i], &pair)?;
        println!("{:<40} {:>9.2} {:>7.4} {:>8.1}", args.photos[i].display(), report.psnr, report.ssim, report.seconds);
        entries.push(serde_json::json!({
            "photo": args.photos[i].display().to_string(),
            "pair_image": pair_paths[i].file_name().map(|n| n.to_string_lossy().into_owned()),
            "psnr_db": report.psnr,
            "ssim": report.ssim,
            "seconds": report.seconds,
            "restart": report.restart,
            "final_loss": report.loss_curve.last(),
            "loss_curve": report.loss_curve,
        }));
    }
    let json = serde_json::json!({
        "generator": info.architecture,
        "space": space.short_name(),
        "steps": args.steps,
        "codes": "codes.npy",
        "photos": entries,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| CliError::new(e.to_string()))?;
    outputs.stage_bytes(&report_path, text.as_bytes())?;
    outputs.commit()?;
    println!("codes -> {}", codes_path.display());
    Ok(())
}
