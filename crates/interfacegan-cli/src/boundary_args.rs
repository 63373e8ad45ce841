//! Boundaries given with `-b` for the commands that move codes.

use std::path::{Path, PathBuf};

use interfacegan::Boundary;
use interfacegan::generator::GeneratorInfo;
use interfacegan::io::read_f64;

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

/// One direction `edit` moves along.
pub struct EditDirection {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name: the boundary's label, or `<stem>_NNN` for row NNN of a file of directions.
    pub label: String,
    /// The unit direction.
    pub normal: Vec<f64>,
    /// The factor the distances are scaled by (GANSpace's `lat_stdev` of the row with `--sigma`).
    pub scale: f64,
}

/// The directions of `-b` files: whole boundaries, or with `index` row `index` of each `[k, D]`
/// file (SeFa's `directions.npy`, GANSpace's `components.npy`); `sigma` scales the distances by
/// the row's spread in `lat_stdev.npy` beside the file (GANSpace's edits in standard deviations).
pub fn edit_directions(
    paths: &[PathBuf],
    index: Option<usize>,
    sigma: bool,
    info: &GeneratorInfo,
) -> Result<Vec<EditDirection>, CliError> {
    let Some(index) = index else {
        if sigma {
            return Err(CliError::new("--sigma scales by a component's lat_stdev: give the component with --index"));
        }
        let boundaries = load_boundaries(paths, info)?;
        return Ok(paths
            .iter()
            .zip(boundaries)
            .map(|(path, b)| EditDirection {
                path: path.clone(),
                label: label(path),
                normal: b.normal().to_vec(),
                scale: 1.0,
            })
            .collect());
    };
    paths.iter().map(|path| row_direction(path, index, sigma, info.latent_dim)).collect()
}

/// Row `index` of the `[k, D]` directions in `path`, scaled to unit length.
fn row_direction(path: &Path, index: usize, sigma: bool, dim: usize) -> Result<EditDirection, CliError> {
    let rows = read_f64(path)?;
    let k = match rows.shape() {
        [k, d] if *d == dim => *k,
        other => {
            return Err(CliError::new(format!(
                "{}: directions of shape {other:?} do not fit this generator's codes ([k, {dim}])",
                path.display()
            )));
        }
    };
    if index >= k {
        return Err(CliError::new(format!("{}: --index {index}, but the file holds {k} directions", path.display())));
    }
    let boundary = Boundary::from_normal(&rows.data()[index * dim..(index + 1) * dim])
        .map_err(|e| CliError::new(format!("{}: row {index}: {e}", path.display())))?;
    let scale = if sigma { spread(path, index, k)? } else { 1.0 };
    let stem = path.file_stem().map_or("direction".into(), |s| s.to_string_lossy().into_owned());
    Ok(EditDirection {
        path: path.to_path_buf(),
        label: format!("{stem}_{index:03}"),
        normal: boundary.normal().to_vec(),
        scale,
    })
}

/// GANSpace's `lat_stdev[index]` from `lat_stdev.npy` beside `path`, which must hold `k` values.
fn spread(path: &Path, index: usize, k: usize) -> Result<f64, CliError> {
    let file = path.with_file_name("lat_stdev.npy");
    if !file.is_file() {
        return Err(CliError::new(format!(
            "{}: --sigma needs the components' lat_stdev.npy beside them (as `interfacegan ganspace` writes it)",
            file.display()
        )));
    }
    let stdev = read_f64(&file)?;
    match stdev.data().get(index) {
        Some(&s) if stdev.data().len() == k && s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(CliError::new(format!(
            "{}: expected {k} positive spreads, one per component; it holds shape {:?}",
            file.display(),
            stdev.shape()
        ))),
    }
}
