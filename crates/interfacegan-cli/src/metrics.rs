use std::path::PathBuf;

use interfacegan::Boundary;
use interfacegan::subspace::{correlation_matrix, cosine_similarity_matrix};

use crate::CliError;
use crate::boundary_args::label;
use crate::scores::read_scores;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Cosine similarity matrix of boundaries.
    Cosine {
        /// Boundary files (.npy).
        #[arg(value_name = "BOUNDARY.npy", required = true, num_args = 1..)]
        boundaries: Vec<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pearson correlation matrix of attribute scores over the same samples.
    Correlation {
        /// Score files ([N] or [N, 1] .npy), one per attribute.
        #[arg(value_name = "SCORES.npy", required = true, num_args = 1..)]
        scores: Vec<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn print_matrix(labels: &[String], matrix: &[Vec<f64>], json: bool) {
    if json {
        let value = serde_json::json!({ "labels": labels, "matrix": matrix });
        println!("{}", serde_json::to_string_pretty(&value).expect("matrix serialises"));
        return;
    }
    let width = labels.iter().map(|l| l.len()).max().unwrap_or(0).max(7);
    print!("{:width$}", "");
    for l in labels {
        print!("  {l:>width$}");
    }
    println!();
    for (l, row) in labels.iter().zip(matrix) {
        print!("{l:width$}");
        for v in row {
            print!("  {v:>width$.4}");
        }
        println!();
    }
}

pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Cosine { boundaries, json } => {
            let loaded = boundaries.iter().map(Boundary::load).collect::<Result<Vec<_>, _>>()?;
            if let Some((path, b)) = boundaries.iter().zip(&loaded).find(|(_, b)| b.dim() != loaded[0].dim()) {
                return Err(CliError::new(format!(
                    "{}: dimension {} differs from {} (dimension {})",
                    path.display(),
                    b.dim(),
                    boundaries[0].display(),
                    loaded[0].dim()
                )));
            }
            let refs: Vec<&[f64]> = loaded.iter().map(|b| b.normal()).collect();
            let matrix = cosine_similarity_matrix(&refs)?;
            let labels: Vec<String> = boundaries.iter().map(|p| label(p)).collect();
            print_matrix(&labels, &matrix, json);
        }
        Command::Correlation { scores, json } => {
            let mut columns = Vec::with_capacity(scores.len());
            for path in &scores {
                columns.push(read_scores(path)?);
            }
            if let Some((path, c)) = scores.iter().zip(&columns).find(|(_, c)| c.len() != columns[0].len()) {
                return Err(CliError::new(format!(
                    "{}: {} scores, but {} has {}: they must describe the same samples",
                    path.display(),
                    c.len(),
                    scores[0].display(),
                    columns[0].len()
                )));
            }
            let refs: Vec<&[f32]> = columns.iter().map(|c| c.as_slice()).collect();
            let matrix = correlation_matrix(&refs)?;
            let labels: Vec<String> = scores.iter().map(|p| label(p)).collect();
            print_matrix(&labels, &matrix, json);
        }
    }
    Ok(())
}
