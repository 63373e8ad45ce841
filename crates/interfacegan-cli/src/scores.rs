use std::path::Path;

use interfacegan::io::read_f32;

use crate::CliError;

/// Reads an attribute-score file: `[N]` or `[N, 1]` (the official `<attr>_scores.npy`).
pub fn read_scores(path: &Path) -> Result<Vec<f32>, CliError> {
    let scores = read_f32(path)?;
    if !matches!(scores.shape(), [_] | [_, 1]) {
        return Err(CliError::new(format!(
            "{}: scores must have shape [N] or [N, 1], found {:?}",
            path.display(),
            scores.shape()
        )));
    }
    Ok(scores.into_data())
}
