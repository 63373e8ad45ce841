//! Where a fit reads its latent codes from, and the passes over them.

use interfacegan_io::MappedMatrix;
use rayon::prelude::*;

use crate::BoundaryError;

/// The latent codes of a fit: `rows() x dim()` float32 values, read a batch of rows at a time, so
/// that a file serves them with one read per run of consecutive rows.
///
/// Implemented for codes in memory ([`CodeSlice`]) and for `.npy` files ([`MappedMatrix`]).
pub trait CodeRows: Sync {
    /// The number of codes, N.
    fn rows(&self) -> usize;
    /// The latent dimension, D.
    fn dim(&self) -> usize;
    /// Copies the rows `indices` into `out` (`indices.len() x dim()`, row-major).
    fn read_rows(&self, indices: &[usize], out: &mut [f32]) -> Result<(), BoundaryError>;
    /// All the values (row-major) where they already lie in memory, so that a pass reads them in
    /// place; `None` (the default) to have them read with [`CodeRows::read_rows`].
    fn in_memory(&self) -> Option<&[f32]> {
        None
    }
}

/// Codes held in memory: `values.len() / dim` rows of `dim` float32 values, row-major.
#[derive(Clone, Copy, Debug)]
pub struct CodeSlice<'a> {
    values: &'a [f32],
    dim: usize,
}

impl<'a> CodeSlice<'a> {
    /// Rows of `dim` values; an error if `values` does not divide into them.
    pub fn new(values: &'a [f32], dim: usize) -> Result<Self, BoundaryError> {
        if dim == 0 || !values.len().is_multiple_of(dim) {
            return Err(BoundaryError::CodeShape { values: values.len(), dim });
        }
        Ok(Self { values, dim })
    }
}

impl CodeRows for CodeSlice<'_> {
    fn rows(&self) -> usize {
        self.values.len() / self.dim
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn read_rows(&self, indices: &[usize], out: &mut [f32]) -> Result<(), BoundaryError> {
        let (rows, dim) = (self.rows(), self.dim);
        if out.len() != indices.len() * dim {
            return Err(BoundaryError::BufferSize { values: out.len(), rows: indices.len(), dim });
        }
        for (dst, &i) in out.chunks_exact_mut(dim).zip(indices) {
            if i >= rows {
                return Err(BoundaryError::RowOutOfRange { row: i, rows });
            }
            dst.copy_from_slice(&self.values[i * dim..(i + 1) * dim]);
        }
        Ok(())
    }

    fn in_memory(&self) -> Option<&[f32]> {
        Some(self.values)
    }
}

impl CodeRows for MappedMatrix {
    fn rows(&self) -> usize {
        MappedMatrix::rows(self)
    }

    fn dim(&self) -> usize {
        self.cols()
    }

    fn read_rows(&self, indices: &[usize], out: &mut [f32]) -> Result<(), BoundaryError> {
        Ok(MappedMatrix::read_rows(self, indices, out)?)
    }
}

/// Rows a pass handles at a time: 1 MB of codes in R^512, small enough to stay in cache.
const BATCH: usize = 512;

/// Copies the rows `indices` of `codes` into a new row-major buffer, on all cores.
pub(crate) fn gather(codes: &impl CodeRows, indices: &[usize]) -> Result<Vec<f32>, BoundaryError> {
    let dim = codes.dim();
    let mut out = vec![0f32; indices.len() * dim];
    out.par_chunks_mut(BATCH * dim.max(1))
        .zip(indices.par_chunks(BATCH))
        .try_for_each(|(dst, batch)| codes.read_rows(batch, dst))?;
    Ok(out)
}

/// Sums `count(position, row)` over the rows `indices` of `codes` (`position` being the row's
/// place in `indices`), on all cores, a batch at a time.
pub(crate) fn sum_over_rows(
    codes: &impl CodeRows,
    indices: &[usize],
    count: impl Fn(usize, &[f32]) -> Result<usize, BoundaryError> + Sync,
) -> Result<usize, BoundaryError> {
    let dim = codes.dim();
    indices
        .par_chunks(BATCH)
        .enumerate()
        .map_init(Vec::new, |buffer, (b, batch)| {
            let mut total = 0;
            if let Some(values) = codes.in_memory() {
                for (k, &i) in batch.iter().enumerate() {
                    let row = values
                        .get(i * dim..(i + 1) * dim)
                        .ok_or(BoundaryError::RowOutOfRange { row: i, rows: values.len() / dim.max(1) })?;
                    total += count(b * BATCH + k, row)?;
                }
            } else {
                buffer.resize(batch.len() * dim, 0.0);
                codes.read_rows(batch, buffer)?;
                for (k, row) in buffer.chunks_exact(dim.max(1)).enumerate() {
                    total += count(b * BATCH + k, row)?;
                }
            }
            Ok(total)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))
}
