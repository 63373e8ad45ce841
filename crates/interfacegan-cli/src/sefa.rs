//! `interfacegan sefa`: directions without labels, from the weights alone (SeFa, Shen & Zhou, CVPR 2021).

use std::path::PathBuf;

use interfacegan::generator::latent_weights;
use interfacegan::io::{NpyArray, OutputSet, stage_npy};
use interfacegan::subspace::sefa;

use crate::CliError;
use crate::layers_arg::{LayerList, parse_layers};
use crate::model_args::WeightsArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: WeightsArgs,
    /// The layers whose weights are factorized: W+ indices as numbers and ranges (0-1 coarse, 2-5
    /// middle, 6-13 fine on a 1024 StyleGAN), or `all` [DCGAN and PGGAN: their first layer only].
    #[arg(long, default_value = "all", value_parser = parse_layer_choice)]
    layers: LayerChoice,
    /// How many directions to keep, strongest first.
    #[arg(short = 'k', long, default_value_t = 5)]
    k: usize,
    /// Where to write directions.npy [k, D], direction_NNN.npy (1, D) each and sefa.json.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

/// `all`, or a list of layers.
#[derive(Clone, Debug)]
pub struct LayerChoice(Option<LayerList>);

fn parse_layer_choice(text: &str) -> Result<LayerChoice, String> {
    if text.trim() == "all" { Ok(LayerChoice(None)) } else { parse_layers(text).map(|l| LayerChoice(Some(l))) }
}

pub fn run(args: Args) -> Result<(), CliError> {
    let (weights, architecture) = args.source.load()?;
    let layers = args.layers.0.as_ref().map(|l| l.0.as_slice());
    let gathered = latent_weights(&weights, architecture, layers)?;
    let blocks: Vec<&[f32]> = gathered.blocks.iter().map(|(_, rows)| rows.as_slice()).collect();
    let factorization = sefa(&blocks, gathered.dim, args.k)?;

    std::fs::create_dir_all(&args.output)
        .map_err(|e| CliError::new(format!("{}: cannot create the output folder: {e}", args.output.display())))?;
    let mut outputs = OutputSet::new(args.force);
    let dim = gathered.dim;
    let rows: Vec<f32> = factorization.directions.iter().flatten().map(|&v| v as f32).collect();
    stage_npy(&mut outputs, args.output.join("directions.npy"), &NpyArray::new(vec![args.k, dim], rows.clone())?)?;
    for (i, row) in rows.chunks(dim).enumerate() {
        let file = args.output.join(format!("direction_{i:03}.npy"));
        stage_npy(&mut outputs, file, &NpyArray::new(vec![1, dim], row.to_vec())?)?;
    }
    let report = serde_json::json!({
        "method": "sefa",
        "generator": args.source.describe(),
        "architecture": format!("{architecture:?}"),
        "latent_dim": dim,
        "layers": gathered.layers,
        "weights": gathered.blocks.iter().map(|(key, _)| key).collect::<Vec<_>>(),
        "eigenvalues": factorization.eigenvalues,
    });
    let json = serde_json::to_string_pretty(&report).expect("a JSON value serialises");
    outputs.stage_bytes(args.output.join("sefa.json"), json.as_bytes())?;
    outputs.commit()?;
    println!(
        "{} SeFa directions of {} ({dim}-dimensional latent, layers {:?}), eigenvalues {:.3?} -> {}",
        args.k,
        args.source.describe(),
        gathered.layers,
        factorization.eigenvalues,
        args.output.display()
    );
    Ok(())
}
