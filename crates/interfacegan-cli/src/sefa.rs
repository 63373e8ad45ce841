//! `interfacegan sefa`: directions without labels, from the weights alone (SeFa, Shen & Zhou, CVPR 2021).

use std::path::PathBuf;

use interfacegan::generator::{Architecture, LatentWeights, Weights, latent_weights};
use interfacegan::io::OutputSet;
use interfacegan::subspace::{Factorization, sefa};

use crate::CliError;
use crate::directions_out::stage_directions;
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

/// SeFa's `k` strongest directions of `weights`, over `layers` (all when `None`), with the
/// weights they came from.
pub fn factorize(
    weights: &Weights,
    architecture: Architecture,
    layers: Option<&[usize]>,
    k: usize,
) -> Result<(Factorization, LatentWeights), CliError> {
    let gathered = latent_weights(weights, architecture, layers)?;
    let blocks: Vec<&[f32]> = gathered.blocks.iter().map(|(_, rows)| rows.as_slice()).collect();
    Ok((sefa(&blocks, gathered.dim, k)?, gathered))
}

pub fn run(args: Args) -> Result<(), CliError> {
    let (weights, architecture) = args.source.load()?;
    let layers = args.layers.0.as_ref().map(|l| l.0.as_slice());
    let (factorization, gathered) = factorize(&weights, architecture, layers, args.k)?;

    let mut outputs = OutputSet::new(args.force);
    outputs.create_dir_all(&args.output)?;
    let dim = gathered.dim;
    stage_directions(&mut outputs, &args.output, "direction", &factorization.directions)?;
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
