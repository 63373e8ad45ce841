use crate::{SubspaceError, checked_norm};

/// Cosine of the angle between two directions.
pub fn cosine_similarity(a: &[f64], b: &[f64]) -> Result<f64, SubspaceError> {
    if a.len() != b.len() {
        return Err(SubspaceError::Dimension {
            what: "the second direction".into(),
            expected: a.len(),
            found: b.len(),
        });
    }
    let na = checked_norm(|| "the first direction".into(), a)?;
    let nb = checked_norm(|| "the second direction".into(), b)?;
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    Ok((dot / (na * nb)).clamp(-1.0, 1.0))
}

/// The matrix of pairwise cosine similarities of boundary normals (1 on the diagonal): the
/// paper's measure of how entangled two attributes' boundaries are.
pub fn cosine_similarity_matrix(directions: &[&[f64]]) -> Result<Vec<Vec<f64>>, SubspaceError> {
    let dim = directions.first().map_or(0, |d| d.len());
    let mut units = Vec::with_capacity(directions.len());
    for (i, d) in directions.iter().enumerate() {
        if d.len() != dim {
            return Err(SubspaceError::Dimension { what: format!("direction {i}"), expected: dim, found: d.len() });
        }
        let norm = checked_norm(|| format!("direction {i}"), d)?;
        units.push(d.iter().map(|x| x / norm).collect::<Vec<f64>>());
    }
    Ok(pairwise(&units, |a, b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>().clamp(-1.0, 1.0)))
}

fn pairwise(rows: &[Vec<f64>], f: impl Fn(&[f64], &[f64]) -> f64) -> Vec<Vec<f64>> {
    let k = rows.len();
    let mut m = vec![vec![1.0; k]; k];
    for i in 0..k {
        for j in i + 1..k {
            let v = f(&rows[i], &rows[j]);
            m[i][j] = v;
            m[j][i] = v;
        }
    }
    m
}

/// The Pearson correlation matrix of attribute scores: `scores[k]` holds attribute k's score for
/// each of the same N samples. A constant attribute (zero variance) has no correlation and is an
/// error, never NaN.
pub fn correlation_matrix(scores: &[&[f32]]) -> Result<Vec<Vec<f64>>, SubspaceError> {
    let n = scores.first().map_or(0, |s| s.len());
    if n < 2 {
        return Err(SubspaceError::TooFewSamples { samples: n });
    }
    let mut centred = Vec::with_capacity(scores.len());
    for (k, s) in scores.iter().enumerate() {
        if s.len() != n {
            return Err(SubspaceError::Dimension {
                what: format!("scores of attribute {k}"),
                expected: n,
                found: s.len(),
            });
        }
        let values: Vec<f64> = s.iter().map(|&x| x as f64).collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        let c: Vec<f64> = values.iter().map(|x| x - mean).collect();
        let norm = checked_norm(|| format!("scores of attribute {k}"), &c).map_err(|e| match e {
            SubspaceError::Zero { .. } => SubspaceError::ConstantScores { attribute: k },
            other => other,
        })?;
        centred.push(c.into_iter().map(|x| x / norm).collect());
    }
    Ok(pairwise(&centred, |a, b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>().clamp(-1.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_matrix_closed_form() {
        let a = [1.0, 0.0];
        let b = [1.0, 1.0];
        let c = [0.0, -2.0];
        let m = cosine_similarity_matrix(&[&a, &b, &c]).unwrap();
        let h = 1.0 / 2f64.sqrt();
        assert!((m[0][1] - h).abs() < 1e-15 && (m[1][2] + h).abs() < 1e-15 && m[0][2].abs() < 1e-15);
        assert_eq!(m[1][1], 1.0);
        assert!(cosine_similarity_matrix(&[&a, &[0.0, 0.0][..]]).is_err());
    }

    #[test]
    fn correlation_closed_form() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let y = [2.0f32, 4.0, 6.0, 8.0];
        let z = [4.0f32, 3.0, 2.0, 1.0];
        let w = [1.0f32, -1.0, -1.0, 1.0];
        let m = correlation_matrix(&[&x, &y, &z, &w]).unwrap();
        assert!((m[0][1] - 1.0).abs() < 1e-15);
        assert!((m[0][2] + 1.0).abs() < 1e-15);
        assert!(m[0][3].abs() < 1e-15);
        let err = correlation_matrix(&[&x, &[1.0, 1.0, 1.0, 1.0][..]]).unwrap_err();
        assert!(err.to_string().contains("constant"));
        assert!(correlation_matrix(&[&x, &[1.0, 2.0][..]]).is_err());
    }
}
