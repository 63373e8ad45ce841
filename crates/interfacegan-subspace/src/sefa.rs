//! Closed-form factorization (SeFa, Shen & Zhou, CVPR 2021): the directions of the latent space
//! that the generator's first projection weights stretch most, found from the weights alone.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::SubspaceError;

/// SeFa's directions, strongest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Factorization {
    /// Unit directions in the latent space, one per row (`k` x `dim`).
    pub directions: Vec<Vec<f64>>,
    /// Their eigenvalues of `AᵀA`, descending.
    pub eigenvalues: Vec<f64>,
}

/// The `k` leading eigenvectors of `AᵀA`, where the rows of `A` are the rows of `blocks` (each
/// row-major `[rows, dim]`: one output unit's weights on the latent code, as genforce/sefa gathers
/// them) scaled to unit length. Sorted by eigenvalue, largest first; each direction's entry of
/// largest magnitude is positive (the official code leaves the sign to LAPACK).
pub fn sefa(blocks: &[&[f32]], dim: usize, k: usize) -> Result<Factorization, SubspaceError> {
    if dim == 0 || blocks.iter().all(|b| b.is_empty()) {
        return Err(SubspaceError::Empty { what: "the latent weights".into() });
    }
    if k == 0 || k > dim {
        return Err(SubspaceError::DirectionCount { asked: k, dim });
    }
    let mut rows = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        if block.len() % dim != 0 {
            let what = format!("latent weight block {b} ({} values)", block.len());
            return Err(SubspaceError::Dimension { what, expected: dim, found: block.len() % dim });
        }
        for (r, row) in block.chunks(dim).enumerate() {
            rows.extend(unit_row(row, &format!("row {r} of latent weight block {b}"))?);
        }
    }
    let a = DMatrix::from_row_slice(rows.len() / dim, dim, &rows);
    // A product, not `tr_mul`: it runs in matrixmultiply's GEMM (optimised in any profile).
    let gram = a.transpose() * &a;
    let (directions, eigenvalues) = leading_eigenvectors(gram, k);
    Ok(Factorization { directions, eigenvalues })
}

/// The `k` eigenvectors of the symmetric `matrix` with the largest eigenvalues, largest first, each
/// with its entry of largest magnitude positive; and those eigenvalues.
pub(crate) fn leading_eigenvectors(matrix: DMatrix<f64>, k: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let eigen = SymmetricEigen::new(matrix);
    let mut order: Vec<usize> = (0..eigen.eigenvalues.len()).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let vectors = order[..k].iter().map(|&i| signed(eigen.eigenvectors.column(i).iter().copied())).collect();
    (vectors, order[..k].iter().map(|&i| eigen.eigenvalues[i]).collect())
}

/// `row / |row|` in f64 (the official code normalises each column of the weight it gathers).
fn unit_row(row: &[f32], what: &str) -> Result<impl Iterator<Item = f64>, SubspaceError> {
    if let Some(index) = row.iter().position(|v| !v.is_finite()) {
        return Err(SubspaceError::NonFinite { what: what.into(), index, value: row[index] as f64 });
    }
    let norm = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Err(SubspaceError::Zero { what: what.into() });
    }
    Ok(row.iter().map(move |&v| v as f64 / norm))
}

/// `v` with the sign that makes its entry of largest magnitude positive.
fn signed(v: impl Iterator<Item = f64>) -> Vec<f64> {
    let v: Vec<f64> = v.collect();
    let largest = v.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    if largest < 0.0 { v.iter().map(|x| -x).collect() } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_form_case() {
        // Rows e0 (three times, at different scales) and e1 (once): AᵀA = diag(3, 1, 0) after the
        // rows are made unit, so the directions are e0 then e1, with eigenvalues 3 and 1.
        let block = [2.0, 0.0, 0.0, -5.0, 0.0, 0.0, 0.0, 0.5, 0.0];
        let more = [0.1, 0.0, 0.0];
        let f = sefa(&[&block, &more], 3, 2).unwrap();
        assert_eq!(f.directions, vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]);
        assert!((f.eigenvalues[0] - 3.0).abs() < 1e-12 && (f.eigenvalues[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rotated_rows_give_the_rotated_axes_with_a_fixed_sign() {
        // Rows along u = (1, 1)/√2 twice and v = (1, -1)/√2 once: u first, then v (signs fixed).
        let block = [3.0, 3.0, -1.0, -1.0, -2.0, 2.0];
        let f = sefa(&[&block], 2, 2).unwrap();
        let h = std::f64::consts::FRAC_1_SQRT_2;
        for (got, want) in f.directions.iter().zip([[h, h], [-h, h]]) {
            let flip = if want.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m }) < 0.0 {
                -1.0
            } else {
                1.0
            };
            for (g, w) in got.iter().zip(want) {
                assert!((g - flip * w).abs() < 1e-12, "{got:?}");
            }
        }
        assert!((f.eigenvalues[0] - 2.0).abs() < 1e-12 && (f.eigenvalues[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_named() {
        let err = |blocks: &[&[f32]], dim, k| sefa(blocks, dim, k).unwrap_err().to_string();
        assert!(err(&[&[1.0, 0.0]], 2, 3).contains("3 directions asked for"));
        assert!(err(&[&[1.0, 0.0]], 2, 0).contains("0 directions"));
        assert!(err(&[&[1.0, 0.0, 1.0]], 2, 1).contains("block 0"));
        assert!(err(&[&[1.0, 0.0, 0.0, 0.0]], 2, 1).contains("row 1 of latent weight block 0 is the zero vector"));
        assert!(err(&[&[1.0, f32::NAN]], 2, 1).contains("non-finite"));
        assert!(err(&[], 2, 1).contains("empty"));
    }
}
