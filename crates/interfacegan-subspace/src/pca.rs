//! Principal components of latent codes fed in chunks (GANSpace, Härkönen et al., NeurIPS 2020,
//! takes them of sampled W codes): the covariance is accumulated exactly, so memory is `D²`
//! whatever the number of samples, and the result is the batch PCA's, not an approximation.

use nalgebra::DMatrix;

use crate::SubspaceError;

/// The principal components found.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// The mean code.
    pub mean: Vec<f64>,
    /// Unit components, one per row, by variance descending; each one's entry of largest magnitude
    /// is positive.
    pub components: Vec<Vec<f64>>,
    /// The variance of the samples along each component (`n - 1` in the denominator, as
    /// scikit-learn's `explained_variance_`).
    pub variances: Vec<f64>,
}

/// The first bytes of [`PcaAccumulator::to_bytes`].
const STATE_MAGIC: &[u8; 8] = b"IGPCA\x00\x01\x00";

/// Sums of codes fed in chunks. Codes are taken relative to the first one seen, which keeps the
/// sums small where the mean is far from zero (the textbook one-pass formula cancels there).
#[derive(Clone, Debug)]
pub struct PcaAccumulator {
    dim: usize,
    count: u64,
    shift: Vec<f64>,
    sum: Vec<f64>,
    cross: DMatrix<f64>,
}

impl PcaAccumulator {
    /// An empty accumulator of `dim`-dimensional codes.
    pub fn new(dim: usize) -> Self {
        Self { dim, count: 0, shift: Vec::new(), sum: vec![0.0; dim], cross: DMatrix::zeros(dim, dim) }
    }

    /// How many codes have been added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds the codes `rows` (row-major `[n, dim]`).
    pub fn add(&mut self, rows: &[f32]) -> Result<(), SubspaceError> {
        if self.dim == 0 || !rows.len().is_multiple_of(self.dim) {
            let found = if self.dim == 0 { rows.len() } else { rows.len() % self.dim };
            return Err(SubspaceError::Dimension { what: "a chunk of codes".into(), expected: self.dim, found });
        }
        if let Some(index) = rows.iter().position(|v| !v.is_finite()) {
            let value = rows[index] as f64;
            return Err(SubspaceError::NonFinite { what: "a chunk of codes".into(), index, value });
        }
        if rows.is_empty() {
            return Ok(());
        }
        if self.shift.is_empty() {
            self.shift = rows[..self.dim].iter().map(|&v| v as f64).collect();
        }
        let n = rows.len() / self.dim;
        let centred: Vec<f64> = rows.iter().enumerate().map(|(i, &v)| v as f64 - self.shift[i % self.dim]).collect();
        let x = DMatrix::from_row_slice(n, self.dim, &centred);
        // A product, not `tr_mul`: matrixmultiply's GEMM, optimised in every profile.
        self.cross += x.transpose() * &x;
        for row in centred.chunks(self.dim) {
            for (s, v) in self.sum.iter_mut().zip(row) {
                *s += v;
            }
        }
        self.count += n as u64;
        Ok(())
    }

    /// The sums as bytes, to resume an interrupted accumulation with [`PcaAccumulator::from_bytes`]:
    /// a magic, the dimension and count, then the shift, the sum and the `D x D` cross products as
    /// little-endian f64, so a resumed run continues with exactly the same numbers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(Self::state_len(self.dim).expect("an accumulator's own size fits"));
        bytes.extend_from_slice(STATE_MAGIC);
        bytes.extend_from_slice(&(self.dim as u64).to_le_bytes());
        bytes.extend_from_slice(&self.count.to_le_bytes());
        let shift = if self.shift.is_empty() { vec![0.0; self.dim] } else { self.shift.clone() };
        for v in shift.iter().chain(&self.sum).chain(self.cross.as_slice()) {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes
    }

    /// An accumulator of `dim`-dimensional codes from [`PcaAccumulator::to_bytes`]. The length is
    /// checked against `dim` before anything is allocated; every value must be finite.
    pub fn from_bytes(bytes: &[u8], dim: usize) -> Result<Self, SubspaceError> {
        let error = |reason: String| SubspaceError::PcaState { dim, reason };
        if Self::state_len(dim) != Some(bytes.len()) || !bytes.starts_with(STATE_MAGIC) {
            return Err(error(format!("{} bytes without the expected header and length", bytes.len())));
        }
        let word = |i: usize| u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes"));
        if word(0) != dim as u64 {
            return Err(error(format!("it holds {}-dimensional codes", word(0))));
        }
        let values: Vec<f64> =
            bytes[24..].chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(error(format!("value {index} is {}", values[index])));
        }
        let count = word(1);
        let shift = if count == 0 { Vec::new() } else { values[..dim].to_vec() };
        let sum = values[dim..2 * dim].to_vec();
        let cross = DMatrix::from_column_slice(dim, dim, &values[2 * dim..]);
        Ok(Self { dim, count, shift, sum, cross })
    }

    /// The length of [`PcaAccumulator::to_bytes`] for `dim`-dimensional codes (`None` past `usize`):
    /// 24 header bytes, then `D² + 2D` f64 values.
    pub fn state_len(dim: usize) -> Option<usize> {
        dim.checked_mul(dim)?.checked_add(2 * dim)?.checked_mul(8)?.checked_add(24)
    }

    /// The `k` leading components of the codes added so far (at least two).
    pub fn finish(&self, k: usize) -> Result<Pca, SubspaceError> {
        if self.count < 2 {
            return Err(SubspaceError::TooFewSamples { samples: self.count as usize });
        }
        if k == 0 || k > self.dim {
            return Err(SubspaceError::DirectionCount { asked: k, dim: self.dim });
        }
        let n = self.count as f64;
        let mean_shifted: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let m = DMatrix::from_column_slice(self.dim, 1, &mean_shifted);
        let covariance = (&self.cross - (&m * m.transpose()) * n) / (n - 1.0);
        let (components, variances) = crate::sefa::leading_eigenvectors(covariance, k);
        Ok(Pca {
            mean: mean_shifted.iter().zip(&self.shift).map(|(m, s)| m + s).collect(),
            components,
            // Rounding can leave an exactly flat direction a hair below zero.
            variances: variances.into_iter().map(|v| v.max(0.0)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_resumes_to_the_same_components() {
        let rows: Vec<f32> = (0..60).map(|i| ((i * 37) % 11) as f32 - 0.3 * i as f32).collect();
        // Fed in the same chunks, uninterrupted: the same sums in the same order.
        let mut whole = PcaAccumulator::new(3);
        whole.add(&rows[..30]).unwrap();
        whole.add(&rows[30..]).unwrap();
        let mut first = PcaAccumulator::new(3);
        assert!(PcaAccumulator::from_bytes(&first.to_bytes(), 3).is_ok(), "an empty state");
        first.add(&rows[..30]).unwrap();
        let mut resumed = PcaAccumulator::from_bytes(&first.to_bytes(), 3).unwrap();
        resumed.add(&rows[30..]).unwrap();
        assert_eq!(resumed.finish(2).unwrap(), whole.finish(2).unwrap());
        assert_eq!(resumed.count(), 20);

        let bytes = first.to_bytes();
        for (bad, says) in [
            (bytes[..bytes.len() - 1].to_vec(), "bytes without"),
            ([&b"XXXXXXXX"[..], &bytes[8..]].concat(), "bytes without"),
            ([&bytes[..24], &f64::NAN.to_le_bytes(), &bytes[32..]].concat(), "value 0 is NaN"),
        ] {
            let err = PcaAccumulator::from_bytes(&bad, 3).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
        assert!(PcaAccumulator::from_bytes(&bytes, 4).is_err(), "another dimension");
        assert!(PcaAccumulator::from_bytes(&bytes, usize::MAX / 2).is_err(), "no overflow, no allocation");
    }

    #[test]
    fn a_closed_form_case_fed_in_two_chunks() {
        // Points (±2, ±1) around (10, -5): variances 16/3 along x and 4/3 along y (n - 1 = 3).
        let mut acc = PcaAccumulator::new(2);
        acc.add(&[12.0, -4.0, 8.0, -6.0]).unwrap();
        acc.add(&[12.0, -6.0, 8.0, -4.0]).unwrap();
        let pca = acc.finish(2).unwrap();
        assert_eq!((acc.count(), pca.mean.clone()), (4, vec![10.0, -5.0]));
        assert_eq!(pca.components, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!((pca.variances[0] - 16.0 / 3.0).abs() < 1e-12 && (pca.variances[1] - 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_named() {
        let mut acc = PcaAccumulator::new(2);
        assert!(acc.add(&[1.0, 2.0, 3.0]).unwrap_err().to_string().contains("chunk of codes"));
        assert!(acc.add(&[1.0, f32::INFINITY]).unwrap_err().to_string().contains("non-finite"));
        acc.add(&[1.0, 2.0]).unwrap();
        assert!(acc.finish(1).unwrap_err().to_string().contains("at least 2 samples"));
        acc.add(&[3.0, 2.0]).unwrap();
        assert!(acc.finish(3).unwrap_err().to_string().contains("3 directions asked for"));
    }
}
