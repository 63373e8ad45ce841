//! Boundaries given with `-b` for the commands that move codes.

use std::path::{Path, PathBuf};

use interfacegan::Boundary;
use interfacegan::generator::GeneratorInfo;

use crate::CliError;

/// Loads each boundary and checks it fits the generator's latent dimension.
pub fn load_boundaries(paths: &[PathBuf], info: &GeneratorInfo) -> Result<Vec<Boundary>, CliError> {
    paths
        .iter()
        .map(|path| {
            let boundary = Boundary::load(path)?;
            if boundary.dim() != info.latent_dim {
                return Err(CliError::new(format!(
                    "{}: a boundary of dimension {} does not fit this {} generator (latent dimension {})",
                    path.display(),
                    boundary.dim(),
                    info.architecture,
                    info.latent_dim
                )));
            }
            Ok(boundary)
        })
        .collect()
}

/// A boundary's label: its file stem without `_boundary` (`smile_boundary.npy` -> `smile`).
pub fn label(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let trimmed = stem.trim_end_matches("_boundary").trim_end_matches("_scores");
    if trimmed.is_empty() || trimmed == "boundary" || trimmed == "scores" {
        // `train-boundary` writes DIR/boundary.npy: the folder names it.
        if let Some(parent) = path.parent().and_then(|p| p.file_name()) {
            return parent.to_string_lossy().into_owned();
        }
    }
    trimmed.to_string()
}
