//! Stage 5, the paper's evidence: move fresh codes along each direction by fixed steps and score
//! every attribute again. A direction is disentangled when its target changes and the others do not.

use interfacegan_attributes::Scorer;
use interfacegan_generator::{Generator, LatentSpace};
use interfacegan_subspace::{LayerSelection, shift};
use serde::Serialize;

use crate::batch::{StageClock, code_length, score_images, synthesize_images};
use crate::{Direction, PipelineError, Progress};

/// Options of [`rescore`].
#[derive(Debug, Clone)]
pub struct RescoreOptions {
    /// Signed steps along each direction (relative moves `z + d n`); at least two distinct values.
    pub distances: Vec<f64>,
    /// Images per forward pass.
    pub batch: usize,
}

impl Default for RescoreOptions {
    fn default() -> Self {
        Self { distances: vec![-2.0, -1.0, 0.0, 1.0, 2.0], batch: 64 }
    }
}

impl RescoreOptions {
    /// Fails unless the distances hold two distinct finite values (a slope needs them).
    pub fn check(&self) -> Result<(), PipelineError> {
        let mut distinct = self.distances.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 2 || self.distances.iter().any(|d| !d.is_finite()) {
            return Err(PipelineError::RescoreDistances { distances: self.distances.clone() });
        }
        Ok(())
    }
}

/// Mean scores of one direction.
#[derive(Debug, Clone, Serialize)]
pub struct RescoreRow {
    /// The direction's name (`smile_without_gender`).
    pub direction: String,
    /// The attribute it is meant to change.
    pub target: String,
    /// The attributes it was made orthogonal to.
    pub conditions: Vec<String>,
    /// Mean score of every attribute at every distance: `means[distance][attribute]`.
    pub means: Vec<Vec<f64>>,
    /// Least-squares slope of each attribute's mean over the distances: change per unit step.
    pub slopes: Vec<f64>,
}

/// The re-scoring of all directions.
#[derive(Debug, Clone, Serialize)]
pub struct RescoreTable {
    /// The scored attributes, in column order.
    pub attributes: Vec<String>,
    /// The distances.
    pub distances: Vec<f64>,
    /// Codes moved per direction.
    pub samples: usize,
    /// Standard deviation of each attribute's score over the codes before any move: the unit in
    /// which side effects are compared across attributes.
    pub unmoved_std: Vec<f64>,
    /// One row per direction.
    pub rows: Vec<RescoreRow>,
}

impl RescoreTable {
    /// The row of the direction named `name`.
    pub fn row(&self, name: &str) -> Option<&RescoreRow> {
        self.rows.iter().find(|r| r.direction == name)
    }

    /// Column of `attribute`.
    pub fn column(&self, attribute: &str) -> Option<usize> {
        self.attributes.iter().position(|a| a == attribute)
    }

    /// Whether the target's mean score strictly increases with the distance along `row`.
    pub fn target_monotonic(&self, row: &RescoreRow) -> bool {
        self.column(&row.target).is_some_and(|t| row.means.windows(2).all(|pair| pair[1][t] > pair[0][t]))
    }

    /// The table as CSV: one line per direction, the slopes, then the means by distance.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("direction,target,conditions");
        for a in &self.attributes {
            out.push_str(&format!(",slope_{a}"));
        }
        for d in &self.distances {
            for a in &self.attributes {
                out.push_str(&format!(",mean_{a}@{d}"));
            }
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&format!("{},{},{}", row.direction, row.target, row.conditions.join("+")));
            for s in &row.slopes {
                out.push_str(&format!(",{s:.6}"));
            }
            for means in &row.means {
                for m in means {
                    out.push_str(&format!(",{m:.6}"));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// The mean of `values`, in f64.
pub(crate) fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
}

/// The standard deviation of `values` around `mean` (`n` in the denominator).
pub(crate) fn std_around(values: &[f32], mean: f64) -> f64 {
    (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

fn least_squares_slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// Moves every code of `codes` (rows of `space`) by each distance along each direction,
/// synthesises and scores them, and tabulates the mean score of every attribute. The unmoved codes
/// are scored once for all directions (for distance 0 and for [`RescoreTable::unmoved_std`]), even
/// when 0 is not among the distances.
pub fn rescore(
    generator: &dyn Generator,
    scorers: &[&dyn Scorer],
    codes: &[f32],
    space: LatentSpace,
    directions: &[Direction],
    options: &RescoreOptions,
    progress: &dyn Progress,
) -> Result<RescoreTable, PipelineError> {
    let info = generator.info();
    let per_code = code_length(generator, codes, space)?;
    options.check()?;
    if let Some(d) = directions.iter().find(|d| d.vector.len() != info.latent_dim) {
        return Err(PipelineError::DirectionDimension {
            direction: format!("direction `{}`", d.name()),
            dim: d.vector.len(),
            latent_dim: info.latent_dim,
        });
    }
    let samples = codes.len() / per_code;
    let moved_sets = 1 + directions.len() * options.distances.iter().filter(|&&d| d != 0.0).count();
    progress.begin("re-scoring edits", (moved_sets * samples) as u64);
    let mut done = 0u64;
    let mut clock = StageClock::new(scorers.len());
    let mut score = |moved: &[f32]| -> Result<Vec<Vec<f32>>, PipelineError> {
        let images = synthesize_images(generator, moved, space, options.batch, &mut clock)?;
        let scores = score_images(scorers, &images, &mut clock)?;
        done += images.len() as u64;
        progress.set(done);
        Ok(scores)
    };
    let unmoved_scores = score(codes)?;
    let unmoved: Vec<f64> = unmoved_scores.iter().map(|s| mean(s)).collect();
    let unmoved_std = unmoved_scores.iter().zip(&unmoved).map(|(s, &m)| std_around(s, m)).collect();
    let mut rows = Vec::with_capacity(directions.len());
    for direction in directions {
        let mut means = Vec::with_capacity(options.distances.len());
        for &d in &options.distances {
            if d == 0.0 {
                means.push(unmoved.clone());
                continue;
            }
            let mut moved = Vec::with_capacity(codes.len());
            for code in codes.chunks(per_code) {
                let out = shift(code, &[(&direction.vector, d)], &LayerSelection::All)?;
                moved.extend(out.iter().map(|&v| v as f32));
            }
            means.push(score(&moved)?.iter().map(|s| mean(s)).collect());
        }
        let slopes = (0..scorers.len())
            .map(|a| least_squares_slope(&options.distances, &means.iter().map(|m| m[a]).collect::<Vec<_>>()))
            .collect();
        rows.push(RescoreRow {
            direction: direction.name(),
            target: direction.target.clone(),
            conditions: direction.conditions.clone(),
            means,
            slopes,
        });
    }
    progress.end();
    Ok(RescoreTable {
        attributes: scorers.iter().map(|s| s.attribute().to_string()).collect(),
        distances: options.distances.clone(),
        samples,
        unmoved_std,
        rows,
    })
}
