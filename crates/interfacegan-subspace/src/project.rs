use nalgebra::DMatrix;

use crate::{SubspaceError, checked_norm};

/// Relative size below which a vector counts as lying in a span: a condition whose part orthogonal
/// to the conditions before it is smaller than this fraction of its norm adds nothing to the span,
/// and a primal with less than this fraction left after the projection has no direction left.
/// Boundaries saved as float32 carry relative errors of about 1e-7, hence 1e-6.
pub const DEFAULT_RANK_TOLERANCE: f64 = 1e-6;

/// How [`conditional_direction_with`] treats conditions and degenerate cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProjectOptions {
    /// See [`DEFAULT_RANK_TOLERANCE`].
    pub rank_tolerance: f64,
    /// Drop a condition that lies in the span of the ones before it (the span, and so the result,
    /// is unchanged) instead of failing with [`SubspaceError::DependentConditions`]. The official
    /// code fails (singular matrix) on dependent conditions; dropping gives the same projection as
    /// the independent subset would.
    pub drop_dependent: bool,
}

impl Default for ProjectOptions {
    fn default() -> Self {
        Self { rank_tolerance: DEFAULT_RANK_TOLERANCE, drop_dependent: true }
    }
}

/// A conditional direction and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The unit direction, orthogonal to every condition.
    pub direction: Vec<f64>,
    /// Indices of the conditions whose span was removed.
    pub used_conditions: Vec<usize>,
    /// Indices of conditions dropped as linear combinations of earlier ones.
    pub dropped_conditions: Vec<usize>,
    /// Norm of the projected primal relative to the primal's norm: how much of it survived.
    pub residual: f64,
}

/// The primal direction with its components along the span of `conditions` removed, normalised to
/// unit length: the official `project_boundary(primal, *conditions)` for any number of conditions.
///
/// Inputs need not be unit vectors. Linearly dependent conditions are dropped (see
/// [`ProjectOptions::drop_dependent`]). Errors: empty, zero or non-finite vectors, mismatched
/// dimensions, and a primal lying in the span of the conditions.
pub fn conditional_direction(primal: &[f64], conditions: &[&[f64]]) -> Result<Vec<f64>, SubspaceError> {
    conditional_direction_with(primal, conditions, &ProjectOptions::default()).map(|p| p.direction)
}

/// [`conditional_direction`] with explicit options, reporting which conditions were used.
///
/// The span is found with a Householder QR decomposition of the `D x k` condition matrix; the
/// projection is applied twice ("twice is enough" re-orthogonalisation), so the result is
/// orthogonal to the conditions to about 1e-16 whatever their mutual angles.
pub fn conditional_direction_with(
    primal: &[f64],
    conditions: &[&[f64]],
    options: &ProjectOptions,
) -> Result<Projection, SubspaceError> {
    let dim = primal.len();
    let primal_norm = checked_norm(|| "the primal direction".into(), primal)?;
    let mut norms = Vec::with_capacity(conditions.len());
    for (i, c) in conditions.iter().enumerate() {
        if c.len() != dim {
            return Err(SubspaceError::Dimension { what: format!("condition {i}"), expected: dim, found: c.len() });
        }
        norms.push(checked_norm(|| format!("condition {i}"), c)?);
    }

    let mut kept: Vec<usize> = (0..conditions.len()).collect();
    let mut dropped = Vec::new();
    let basis = loop {
        if kept.is_empty() {
            break None;
        }
        let matrix = DMatrix::from_fn(dim, kept.len(), |r, c| conditions[kept[c]][r] / norms[kept[c]]);
        let qr = matrix.qr();
        let r = qr.r();
        let diagonal = r.nrows().min(r.ncols());
        // Column j's part orthogonal to the columns before it has norm |R_jj|; columns past the
        // dimension are always dependent.
        let dependent = (0..kept.len()).find(|&j| j >= diagonal || r[(j, j)].abs() < options.rank_tolerance);
        match dependent {
            None => break Some(qr.q()),
            Some(j) => {
                if !options.drop_dependent {
                    return Err(SubspaceError::DependentConditions {
                        index: kept[j],
                        rank: j.min(diagonal),
                        count: conditions.len(),
                    });
                }
                dropped.push(kept.remove(j));
            }
        }
    };

    let mut direction: Vec<f64> = primal.iter().map(|x| x / primal_norm).collect();
    if let Some(q) = &basis {
        for _ in 0..2 {
            for col in q.column_iter() {
                let along: f64 = col.iter().zip(&direction).map(|(a, b)| a * b).sum();
                for (d, a) in direction.iter_mut().zip(col.iter()) {
                    *d -= along * a;
                }
            }
        }
    }
    let residual = direction.iter().map(|x| x * x).sum::<f64>().sqrt();
    if residual < options.rank_tolerance {
        return Err(SubspaceError::PrimalInConditionSpan { residual });
    }
    direction.iter_mut().for_each(|x| *x /= residual);
    dropped.sort_unstable();
    Ok(Projection { direction, used_conditions: kept, dropped_conditions: dropped, residual })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn no_condition_gives_normalised_primal() {
        let n = conditional_direction(&[3.0, 4.0], &[]).unwrap();
        assert_eq!(n, vec![0.6, 0.8]);
    }

    #[test]
    fn one_condition_matches_closed_form() {
        let p = [0.5, 0.5, 0.5, 0.5];
        let c = [1.0, 0.0, 0.0, 0.0];
        let n = conditional_direction(&p, &[&c]).unwrap();
        let expected = [0.0, 1.0 / 3f64.sqrt(), 1.0 / 3f64.sqrt(), 1.0 / 3f64.sqrt()];
        for (a, b) in n.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15);
        }
    }

    #[test]
    fn result_is_independent_of_condition_order_and_scale() {
        let p = [0.3, -0.2, 0.9, 0.1, 0.4];
        let c1 = [0.1, 0.8, 0.2, -0.3, 0.0];
        let c2 = [-0.5, 0.1, 0.3, 0.7, 0.2];
        let a = conditional_direction(&p, &[&c1, &c2]).unwrap();
        let c2_scaled: Vec<f64> = c2.iter().map(|x| x * 7.0).collect();
        let b = conditional_direction(&p, &[&c2_scaled, &c1]).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-14);
        }
        assert!(dot(&a, &c1).abs() < 1e-15 && dot(&a, &c2).abs() < 1e-15);
    }

    #[test]
    fn dependent_conditions_are_dropped_or_rejected() {
        let p = [0.0, 0.0, 1.0, 1.0];
        let c1 = [1.0, 0.0, 0.0, 0.0];
        let c2 = [0.0, 1.0, 0.0, 0.0];
        let c3 = [2.0, -3.0, 0.0, 0.0];
        let proj = conditional_direction_with(&p, &[&c1, &c2, &c3], &ProjectOptions::default()).unwrap();
        assert_eq!(proj.dropped_conditions, vec![2]);
        assert_eq!(proj.used_conditions, vec![0, 1]);
        let strict = ProjectOptions { drop_dependent: false, ..Default::default() };
        let err = conditional_direction_with(&p, &[&c1, &c2, &c3], &strict).unwrap_err();
        assert_eq!(err, SubspaceError::DependentConditions { index: 2, rank: 2, count: 3 });
        // A duplicated condition (say, one saved as float32) is dependent too.
        let c1_copy: Vec<f64> = c1.iter().map(|&x| (x as f32) as f64).collect();
        let proj = conditional_direction_with(&p, &[&c1, &c1_copy], &ProjectOptions::default()).unwrap();
        assert_eq!(proj.dropped_conditions, vec![1]);
    }

    #[test]
    fn more_conditions_than_dimensions() {
        let p = [1.0, 2.0];
        let c1 = [1.0, 0.0];
        let c2 = [0.0, 1.0];
        let c3 = [1.0, 1.0];
        let err = conditional_direction(&p, &[&c1, &c3, &c2]).unwrap_err();
        assert!(matches!(err, SubspaceError::PrimalInConditionSpan { .. }), "{err:?}");
        let strict = ProjectOptions { drop_dependent: false, ..Default::default() };
        let err = conditional_direction_with(&p, &[&c1, &c2, &c3], &strict).unwrap_err();
        assert_eq!(err, SubspaceError::DependentConditions { index: 2, rank: 2, count: 3 });
    }

    #[test]
    fn degenerate_inputs_are_named_errors() {
        let p = [1.0, 1.0, 0.0];
        assert!(matches!(
            conditional_direction(&p, &[&[1.0, 1.0, 0.0][..]]),
            Err(SubspaceError::PrimalInConditionSpan { .. })
        ));
        assert!(matches!(conditional_direction(&[0.0, 0.0, 0.0], &[]), Err(SubspaceError::Zero { .. })));
        assert!(matches!(conditional_direction(&[], &[]), Err(SubspaceError::Empty { .. })));
        assert!(matches!(
            conditional_direction(&p, &[&[1.0, f64::NAN, 0.0][..]]),
            Err(SubspaceError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            conditional_direction(&p, &[&[1.0, 0.0][..]]),
            Err(SubspaceError::Dimension { expected: 3, found: 2, .. })
        ));
        assert!(matches!(conditional_direction(&p, &[&[0.0, 0.0, 0.0][..]]), Err(SubspaceError::Zero { .. })));
    }

    #[test]
    fn nearly_parallel_conditions_stay_accurate() {
        // Conditions 1e-5 apart: the eps-regularised closed form loses ~1e-8 here; QR does not.
        let p = [0.2, 0.3, 0.5, 0.7, 0.1];
        let c1 = [1.0, 0.0, 0.0, 0.0, 0.0];
        let c2 = [1.0, 1e-5, 0.0, 0.0, 0.0];
        let n = conditional_direction(&p, &[&c1, &c2]).unwrap();
        assert!(dot(&n, &c1).abs() < 1e-15);
        assert!(dot(&n, &c2).abs() < 1e-15);
        assert!(n[0].abs() < 1e-12 && n[1].abs() < 1e-10);
    }
}
