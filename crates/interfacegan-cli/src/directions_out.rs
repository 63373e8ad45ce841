//! The files of unsupervised directions (`sefa`, `ganspace`): all of them in one `[k, D]` array,
//! and each in the official boundary layout `(1, D)` so that `edit -b` takes it.

use std::path::Path;

use interfacegan::io::{NpyArray, OutputSet, stage_npy};

use crate::CliError;

/// Stages `rows` as float32 `{stem}s.npy` `[k, D]` and `{stem}_000.npy`, `{stem}_001.npy`, ... `(1, D)`.
pub fn stage_directions(outputs: &mut OutputSet, dir: &Path, stem: &str, rows: &[Vec<f64>]) -> Result<(), CliError> {
    let dim = rows.first().map_or(0, Vec::len);
    let all: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    stage_npy(outputs, dir.join(format!("{stem}s.npy")), &NpyArray::new(vec![rows.len(), dim], all.clone())?)?;
    for (i, row) in all.chunks(dim.max(1)).enumerate() {
        stage_npy(outputs, dir.join(format!("{stem}_{i:03}.npy")), &NpyArray::new(vec![1, dim], row.to_vec())?)?;
    }
    Ok(())
}
