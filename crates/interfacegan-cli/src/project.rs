use std::path::PathBuf;

use interfacegan::Boundary;
use interfacegan::io::{NpyArray, write_npy};
use interfacegan::subspace::{ProjectOptions, conditional_direction_with};

use crate::CliError;
use crate::cli_error::refuse_existing;

#[derive(clap::Args)]
pub struct Args {
    /// The boundary to edit along (.npy, (1, D) or (D,)).
    #[arg(value_name = "PRIMAL.npy")]
    primal: PathBuf,
    /// A boundary whose attribute must not change; repeat for several.
    #[arg(short = 'c', long = "condition", value_name = "COND.npy", required = true)]
    conditions: Vec<PathBuf>,
    /// The conditional boundary to write, (1, D) float32 like the official files.
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    output: PathBuf,
    /// Fail on a condition that is a linear combination of the others instead of dropping it.
    #[arg(long)]
    strict: bool,
    /// Write float64 instead of float32.
    #[arg(long)]
    f64: bool,
    /// Replace an existing output.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    refuse_existing([&args.output], args.force)?;
    let primal = Boundary::load(&args.primal)?;
    let mut conditions = Vec::with_capacity(args.conditions.len());
    for path in &args.conditions {
        let c = Boundary::load(path)?;
        if c.dim() != primal.dim() {
            return Err(CliError::new(format!(
                "{}: dimension {} does not match the primal {} (dimension {})",
                path.display(),
                c.dim(),
                args.primal.display(),
                primal.dim()
            )));
        }
        conditions.push(c);
    }
    let refs: Vec<&[f64]> = conditions.iter().map(|c| c.normal()).collect();
    let options = ProjectOptions { drop_dependent: !args.strict, ..Default::default() };
    let projection = conditional_direction_with(primal.normal(), &refs, &options)?;
    for &i in &projection.dropped_conditions {
        eprintln!(
            "warning: {} is a linear combination of the conditions before it; dropped (the result is unchanged)",
            args.conditions[i].display()
        );
    }
    let dim = projection.direction.len();
    if args.f64 {
        write_npy(&args.output, &NpyArray::new(vec![1, dim], projection.direction.clone())?, args.force)?;
    } else {
        let data: Vec<f32> = projection.direction.iter().map(|&v| v as f32).collect();
        write_npy(&args.output, &NpyArray::new(vec![1, dim], data)?, args.force)?;
    }
    let cosine: f64 = projection.direction.iter().zip(primal.normal()).map(|(a, b)| a * b).sum();
    println!(
        "wrote {}: {} condition(s) removed, cosine to the primal {:.6}",
        args.output.display(),
        projection.used_conditions.len(),
        cosine
    );
    Ok(())
}
