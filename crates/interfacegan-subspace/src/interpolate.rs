use crate::{SubspaceError, checked_norm};

/// `steps` evenly spaced values from `start` to `end` inclusive, computed as numpy's `linspace`
/// does (`start + i * step`, the last value set to `end` exactly), so edits land on the same
/// floating-point distances as the official code.
pub fn linspace(start: f64, end: f64, steps: usize) -> Vec<f64> {
    match steps {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (end - start) / (steps - 1) as f64;
            let mut v: Vec<f64> = (0..steps).map(|i| i as f64 * step + start).collect();
            v[steps - 1] = end;
            v
        }
    }
}

/// How the distances of an interpolation are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceMode {
    /// Each output lies at the given signed distance from the hyperplane through the origin with
    /// normal `boundary` (`z + (d - z.n) n`): the official behaviour for `[1, D]` codes.
    Absolute,
    /// Each output is the input moved by the given distance (`z + d n`): the official behaviour
    /// for `[1, L, D]` W+ codes.
    Relative,
}

/// Which layers of a W+ code `[L, D]` an edit touches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LayerSelection {
    /// Every layer (the official behaviour).
    #[default]
    All,
    /// Only these layer indices; the others are copied unchanged (layer-wise editing, e.g. the
    /// coarse layers 0..4 for pose, the middle ones for expression).
    Only(Vec<usize>),
}

impl LayerSelection {
    fn mask(&self, layers: usize) -> Result<Vec<bool>, SubspaceError> {
        match self {
            LayerSelection::All => Ok(vec![true; layers]),
            LayerSelection::Only(list) => {
                let mut mask = vec![false; layers];
                for &l in list {
                    if l >= layers {
                        return Err(SubspaceError::NoSuchLayer { layer: l, layers });
                    }
                    mask[l] = true;
                }
                Ok(mask)
            }
        }
    }
}

/// Parameters of [`interpolate`]. The default is the official one: -3 to 3 in 10 steps.
#[derive(Debug, Clone, PartialEq)]
pub struct InterpolateOptions {
    /// First distance.
    pub start: f64,
    /// Last distance.
    pub end: f64,
    /// Number of outputs (>= 1).
    pub steps: usize,
    /// Absolute or relative distances; `None` picks the official choice from the code's shape.
    pub mode: Option<DistanceMode>,
    /// Layers of a W+ code to edit.
    pub layers: LayerSelection,
}

impl Default for InterpolateOptions {
    fn default() -> Self {
        Self { start: -3.0, end: 3.0, steps: 10, mode: None, layers: LayerSelection::All }
    }
}

fn layer_count(code: &[f32], dim: usize) -> Result<usize, SubspaceError> {
    if dim == 0 || code.is_empty() || !code.len().is_multiple_of(dim) {
        return Err(SubspaceError::Dimension {
            what: "the latent code (expected D or L x D values)".into(),
            expected: dim,
            found: code.len(),
        });
    }
    if let Some(i) = code.iter().position(|x| !x.is_finite()) {
        return Err(SubspaceError::NonFinite { what: "the latent code".into(), index: i, value: code[i] as f64 });
    }
    Ok(code.len() / dim)
}

/// Moves one code along a boundary to a series of distances: the official `linear_interpolate`.
///
/// `code` holds `D` values (a Z or W code, `[1, D]` upstream) or `L x D` values (a W+ code,
/// `[1, L, D]`); `boundary` holds `D` values. A `[D]` code gets outputs at the ABSOLUTE signed
/// distances `linspace(start, end, steps)` from the hyperplane through the origin; a W+ code is
/// moved by those distances (RELATIVE) on every layer. The arithmetic follows the official
/// float32/float64 mix, so the outputs equal upstream's to rounding. Returns `steps` codes of the
/// input's length.
pub fn linear_interpolate(
    code: &[f32],
    boundary: &[f64],
    start: f64,
    end: f64,
    steps: usize,
) -> Result<Vec<Vec<f64>>, SubspaceError> {
    interpolate(code, boundary, &InterpolateOptions { start, end, steps, ..Default::default() })
}

/// [`linear_interpolate`] with the distance mode and W+ layers chosen explicitly.
///
/// In [`DistanceMode::Absolute`] mode on a W+ code, each selected layer is placed at the distance
/// on its own (`w_l + (d - w_l.n) n`).
pub fn interpolate(
    code: &[f32],
    boundary: &[f64],
    options: &InterpolateOptions,
) -> Result<Vec<Vec<f64>>, SubspaceError> {
    let dim = boundary.len();
    checked_norm(|| "the boundary".into(), boundary)?;
    let layers = layer_count(code, dim)?;
    if options.steps == 0 {
        return Err(SubspaceError::NoSteps);
    }
    for (what, value) in [("the start", options.start), ("the end", options.end)] {
        if !value.is_finite() {
            return Err(SubspaceError::NonFiniteDistance { what: what.to_string(), value });
        }
    }
    let mode = options.mode.unwrap_or(if layers == 1 { DistanceMode::Absolute } else { DistanceMode::Relative });
    let mask = options.layers.mask(layers)?;
    let distances = linspace(options.start, options.end, options.steps);
    let outputs = distances
        .iter()
        .map(|&d| {
            let mut out: Vec<f64> = code.iter().map(|&x| x as f64).collect();
            for (layer, chunk) in out.chunks_exact_mut(dim).enumerate() {
                if !mask[layer] {
                    continue;
                }
                let offset = match mode {
                    DistanceMode::Absolute => d - chunk.iter().zip(boundary).map(|(a, b)| a * b).sum::<f64>(),
                    DistanceMode::Relative => d,
                };
                // Upstream casts the offsets to float32 before scaling the float64 boundary.
                let offset = offset as f32 as f64;
                for (v, n) in chunk.iter_mut().zip(boundary) {
                    *v += offset * n;
                }
            }
            out
        })
        .collect();
    Ok(outputs)
}

/// Moves a code by a signed distance along each of several directions at once:
/// `z + sum_k a_k n_k` (directions need not be unit; they are used as given, so pass unit
/// boundaries to move by distances). For a W+ code `[L, D]` only the selected layers move.
pub fn shift(code: &[f32], moves: &[(&[f64], f64)], layers: &LayerSelection) -> Result<Vec<f64>, SubspaceError> {
    let Some((first, _)) = moves.first() else {
        return Err(SubspaceError::NoDirection);
    };
    let dim = first.len();
    let layer_total = layer_count(code, dim)?;
    let mask = layers.mask(layer_total)?;
    for (k, (direction, amount)) in moves.iter().enumerate() {
        if direction.len() != dim {
            return Err(SubspaceError::Dimension {
                what: format!("direction {k}"),
                expected: dim,
                found: direction.len(),
            });
        }
        checked_norm(|| format!("direction {k}"), direction)?;
        if !amount.is_finite() {
            return Err(SubspaceError::NonFiniteDistance { what: format!("distance {k}"), value: *amount });
        }
    }
    let mut out: Vec<f64> = code.iter().map(|&x| x as f64).collect();
    for (layer, chunk) in out.chunks_exact_mut(dim).enumerate() {
        if mask[layer] {
            for (direction, amount) in moves {
                for (v, n) in chunk.iter_mut().zip(direction.iter()) {
                    *v += amount * n;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy() {
        // Values printed by numpy 2.4 `np.linspace`.
        assert_eq!(linspace(-3.0, 3.0, 10)[9], 3.0);
        assert_eq!(linspace(-2.0, 5.0, 4), vec![-2.0, 0.3333333333333335, 2.666666666666667, 5.0]);
        assert_eq!(linspace(1.0, 2.0, 1), vec![1.0]);
    }

    #[test]
    fn absolute_distances_for_single_codes() {
        let n = [0.6, 0.8];
        let out = linear_interpolate(&[1.0, 1.0], &n, -1.0, 1.0, 3).unwrap();
        for (o, d) in out.iter().zip([-1.0, 0.0, 1.0]) {
            let dist: f64 = o.iter().zip(&n).map(|(a, b)| a * b).sum();
            assert!((dist - d).abs() < 1e-6);
        }
    }

    #[test]
    fn relative_moves_and_layer_subsets_for_wplus() {
        let n = [1.0, 0.0];
        let code = [0.5f32, 0.5, 0.5, 0.5, 0.5, 0.5];
        let out = linear_interpolate(&code, &n, 0.0, 2.0, 2).unwrap();
        assert_eq!(out[1], vec![2.5, 0.5, 2.5, 0.5, 2.5, 0.5]);
        let options = InterpolateOptions {
            start: 0.0,
            end: 2.0,
            steps: 2,
            layers: LayerSelection::Only(vec![1]),
            ..Default::default()
        };
        let out = interpolate(&code, &n, &options).unwrap();
        assert_eq!(out[1], vec![0.5, 0.5, 2.5, 0.5, 0.5, 0.5]);
        let bad = InterpolateOptions { layers: LayerSelection::Only(vec![3]), ..options };
        assert!(matches!(interpolate(&code, &n, &bad), Err(SubspaceError::NoSuchLayer { layer: 3, .. })));
    }

    #[test]
    fn shift_along_several_directions() {
        let a = [1.0, 0.0, 0.0];
        let b = [0.0, 0.0, 1.0];
        let out = shift(&[1.0, 1.0, 1.0], &[(&a, 2.0), (&b, -1.0)], &LayerSelection::All).unwrap();
        assert_eq!(out, vec![3.0, 1.0, 0.0]);
        assert!(shift(&[1.0, 1.0], &[(&a, 1.0)], &LayerSelection::All).is_err());
        assert!(shift(&[1.0, 1.0, 1.0], &[], &LayerSelection::All).is_err());
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(matches!(
            linear_interpolate(&[1.0, 2.0, 3.0], &[1.0, 0.0], -3.0, 3.0, 10),
            Err(SubspaceError::Dimension { expected: 2, found: 3, .. })
        ));
        assert!(matches!(linear_interpolate(&[1.0, 2.0], &[0.0, 0.0], -3.0, 3.0, 10), Err(SubspaceError::Zero { .. })));
        assert!(linear_interpolate(&[1.0, 2.0], &[1.0, 0.0], -3.0, 3.0, 0).is_err());
        assert!(linear_interpolate(&[f32::NAN, 2.0], &[1.0, 0.0], -3.0, 3.0, 2).is_err());
    }
}
