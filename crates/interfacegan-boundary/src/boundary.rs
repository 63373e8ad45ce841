use std::path::{Path, PathBuf};
use std::time::Instant;

use interfacegan_io::{NpyArray, OutputSet, read_f64, stage_npy};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::rows::{CodeRows, CodeSlice, gather, sum_over_rows};
use interfacegan_svm::kernels::first_non_finite;
use interfacegan_svm::train_linear_svm;

use crate::fit::Accuracies;
use crate::{
    BoundaryError, FitOptions, FitReport, LinearSvm, NormalProblem, Split, SvmError, SvmReport, split_samples,
};

/// A semantic boundary: the unit normal `n` of a hyperplane `n . z + bias = 0` in a latent
/// space, separating codes whose images have an attribute from those that do not.
///
/// The normal is what the official `.npy` boundary files hold; the intercept, the attribute's name,
/// the latent space and how the boundary was fitted are kept in a JSON file beside it (see
/// [`Boundary::save`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    normal: Vec<f64>,
    bias: Option<f64>,
    attribute: Option<String>,
    latent_space: Option<String>,
    fit: Option<FitReport>,
}

/// The JSON file written beside a boundary's `.npy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Metadata {
    format: String,
    dim: usize,
    bias: Option<f64>,
    attribute: Option<String>,
    latent_space: Option<String>,
    fit: Option<FitReport>,
}

const METADATA_FORMAT: &str = "interfacegan-rs boundary metadata v1";

impl Boundary {
    /// A boundary from any non-zero finite normal vector (normalised here), without intercept.
    pub fn from_normal(normal: &[f64]) -> Result<Self, BoundaryError> {
        if normal.is_empty() {
            return Err(BoundaryError::Normal(NormalProblem::Empty));
        }
        if let Some(i) = normal.iter().position(|v| !v.is_finite()) {
            return Err(BoundaryError::Normal(NormalProblem::NonFinite { index: i, value: normal[i] }));
        }
        let norm = normal.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(BoundaryError::Normal(NormalProblem::Zero));
        }
        Ok(Self {
            normal: normal.iter().map(|v| v / norm).collect(),
            bias: None,
            attribute: None,
            latent_space: None,
            fit: None,
        })
    }

    /// The boundary of a trained linear classifier `w . z + b`: normal `w / |w|`, bias `b / |w|`.
    pub fn from_svm(model: &LinearSvm) -> Result<Self, BoundaryError> {
        let norm = model.weights.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut boundary = Self::from_normal(&model.weights)?;
        boundary.bias = Some(model.bias / norm);
        Ok(boundary)
    }

    /// Fits a boundary the way the official `train_boundary` does: sorts the samples by score,
    /// trains a linear SVM (hinge loss, C = 1, free intercept) on the top and bottom
    /// `chosen_num_or_ratio` of them, and reports validation and "remaining" accuracies.
    ///
    /// `codes` holds `N x dim` float32 values (row-major) and `scores` one score per row (an
    /// `[N]` or `[N, 1]` array). Returns the boundary and what the fit did.
    pub fn fit(
        codes: &[f32],
        dim: usize,
        scores: &[f32],
        options: &FitOptions,
    ) -> Result<(Self, FitReport), BoundaryError> {
        Self::fit_codes(&CodeSlice::new(codes, dim)?, scores, options)
    }

    /// [`Boundary::fit`] on codes read from `codes`, e.g. a [`MappedMatrix`] over a `.npy` file, so
    /// that only the selected rows are gathered in memory and every pass reads batches of rows.
    ///
    /// [`MappedMatrix`]: interfacegan_io::MappedMatrix
    pub fn fit_codes(
        codes: &impl CodeRows,
        scores: &[f32],
        options: &FitOptions,
    ) -> Result<(Self, FitReport), BoundaryError> {
        let start = Instant::now();
        options.check()?;
        let (rows, dim) = (codes.rows(), codes.dim());
        if dim == 0 {
            return Err(BoundaryError::CodeShape { values: 0, dim: 0 });
        }
        if scores.len() != rows {
            return Err(BoundaryError::CountMismatch { codes: rows, scores: scores.len() });
        }
        let (chosen, split_ratio) = (options.chosen_num_or_ratio, options.split_ratio);
        let split = split_samples(scores, chosen, split_ratio, options.invalid_value, options.seed)?;
        let train = gather(codes, &split.train)?;
        let (model, svm) = train_on(&train, dim, &split, options)?;
        let mut boundary = Self::from_svm(&model)?;
        boundary.attribute = options.attribute.clone();
        boundary.latent_space = options.latent_space.clone();
        let accuracies = accuracies(codes, scores, &split, &train, &model, options.skip_remaining)?;
        let mut report = FitReport::new(&split, scores.len(), dim, accuracies, svm);
        report.seconds = start.elapsed().as_secs_f64();
        boundary.fit = Some(report.clone());
        Ok((boundary, report))
    }

    /// The unit normal.
    pub fn normal(&self) -> &[f64] {
        &self.normal
    }

    /// The unit normal rounded to float32, as the official files store it.
    pub fn normal_f32(&self) -> Vec<f32> {
        self.normal.iter().map(|&v| v as f32).collect()
    }

    /// The latent dimension.
    pub fn dim(&self) -> usize {
        self.normal.len()
    }

    /// The intercept for the unit normal, when known (fitted here, or read from metadata).
    pub fn bias(&self) -> Option<f64> {
        self.bias
    }

    /// The attribute's name, when known.
    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }

    /// The latent space ("z", "w", "wp"...), when known.
    pub fn latent_space(&self) -> Option<&str> {
        self.latent_space.as_deref()
    }

    /// How this boundary was fitted, when known.
    pub fn fit_report(&self) -> Option<&FitReport> {
        self.fit.as_ref()
    }

    /// Names the attribute.
    pub fn with_attribute(mut self, attribute: impl Into<String>) -> Self {
        self.attribute = Some(attribute.into());
        self
    }

    /// Names the latent space.
    pub fn with_latent_space(mut self, space: impl Into<String>) -> Self {
        self.latent_space = Some(space.into());
        self
    }

    /// Sets the intercept.
    pub fn with_bias(mut self, bias: f64) -> Self {
        self.bias = Some(bias);
        self
    }

    /// Signed distance of a code from the hyperplane: `n . z + bias` (bias 0 when unknown).
    pub fn signed_distance(&self, code: &[f32]) -> Result<f64, BoundaryError> {
        if code.len() != self.dim() {
            return Err(BoundaryError::DimensionMismatch { code: code.len(), boundary: self.dim() });
        }
        Ok(self.normal.iter().zip(code).map(|(n, &z)| n * z as f64).sum::<f64>() + self.bias.unwrap_or(0.0))
    }

    /// The metadata file that goes with a boundary file: `x.npy` -> `x.json`.
    pub fn metadata_path(npy: &Path) -> PathBuf {
        npy.with_extension("json")
    }

    /// Reads a boundary file: an official `.npy` of shape `(1, D)` or `(D,)`, float32 or float64,
    /// plus the JSON metadata beside it when present. The normal is re-normalised (float32 files
    /// are unit only to about 1e-7).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, BoundaryError> {
        let path = path.as_ref();
        let array = read_f64(path)?;
        let dim = match array.shape() {
            [1, d] | [d] => *d,
            other => {
                return Err(BoundaryError::File {
                    path: path.to_path_buf(),
                    reason: format!("a boundary is a (1, D) or (D,) array, this one has shape {other:?}"),
                });
            }
        };
        let mut boundary = Self::from_normal(array.data())
            .map_err(|e| BoundaryError::File { path: path.to_path_buf(), reason: e.to_string() })?;
        let meta_path = Self::metadata_path(path);
        if meta_path.exists() {
            let text = std::fs::read_to_string(&meta_path)
                .map_err(|e| BoundaryError::File { path: meta_path.clone(), reason: format!("cannot read: {e}") })?;
            let meta: Metadata = serde_json::from_str(&text).map_err(|e| BoundaryError::File {
                path: meta_path.clone(),
                reason: format!("not boundary metadata: {e}"),
            })?;
            if meta.dim != dim {
                return Err(BoundaryError::File {
                    path: meta_path,
                    reason: format!(
                        "describes a boundary of dimension {}, but {} has dimension {dim}",
                        meta.dim,
                        path.display()
                    ),
                });
            }
            boundary.bias = meta.bias;
            boundary.attribute = meta.attribute;
            boundary.latent_space = meta.latent_space;
            boundary.fit = meta.fit;
        }
        Ok(boundary)
    }

    /// Writes the normal as an official boundary file (`(1, D)` float32, as `train_boundary.py`
    /// saves it) and the metadata beside it (`x.npy` -> `x.json`): both or neither. Existing
    /// files are kept unless `overwrite`.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<(), BoundaryError> {
        let mut outputs = OutputSet::new(overwrite);
        self.stage(&mut outputs, path)?;
        Ok(outputs.commit()?)
    }

    /// Stages the two files [`Boundary::save`] writes into `outputs`, to be committed with the
    /// command's other outputs.
    pub fn stage(&self, outputs: &mut OutputSet, path: impl AsRef<Path>) -> Result<(), BoundaryError> {
        let path = path.as_ref();
        let array = NpyArray::new(vec![1, self.dim()], self.normal_f32()).expect("shape matches");
        stage_npy(outputs, path, &array)?;
        let meta = Metadata {
            format: METADATA_FORMAT.into(),
            dim: self.dim(),
            bias: self.bias,
            attribute: self.attribute.clone(),
            latent_space: self.latent_space.clone(),
            fit: self.fit.clone(),
        };
        let text = serde_json::to_string_pretty(&meta).expect("metadata serialises");
        outputs.stage_bytes(Self::metadata_path(path), text.as_bytes())?;
        Ok(())
    }
}

/// Trains the SVM on the gathered training rows `train` of `split`. The solver scans its rows
/// for non-finite values; its error names the training row, this one the code row.
fn train_on(
    train: &[f32],
    dim: usize,
    split: &Split,
    options: &FitOptions,
) -> Result<(LinearSvm, SvmReport), BoundaryError> {
    let labels: Vec<bool> = (0..split.train.len()).map(|k| k < split.train_positives).collect();
    train_linear_svm(train, dim, &labels, &options.svm).map_err(|e| match e {
        SvmError::NonFinite { row } => {
            let column = first_non_finite(&train[row * dim..(row + 1) * dim], dim).map_or(0, |(_, column)| column);
            BoundaryError::NonFiniteCode { row: split.train[row], column: Some(column) }
        }
        e => e.into(),
    })
}

/// The accuracies of `model` on the training, validation and (unless skipped) remaining rows.
/// Rows that were not gathered (and checked) are refused by their non-finite decision.
fn accuracies(
    codes: &impl CodeRows,
    scores: &[f32],
    split: &Split,
    train: &[f32],
    model: &LinearSvm,
    skip_remaining: bool,
) -> Result<Accuracies, BoundaryError> {
    let side = |indices: &[usize], k: usize, decision: f64| {
        if decision.is_finite() {
            Ok(decision > 0.0)
        } else {
            Err(BoundaryError::NonFiniteCode { row: indices[k], column: None })
        }
    };
    let share = |correct: usize, count: usize| (count > 0).then(|| correct as f64 / count as f64);
    let train_correct = train
        .par_chunks_exact(codes.dim())
        .enumerate()
        .filter(|&(k, row)| (model.decision(row) > 0.0) == (k < split.train_positives))
        .count();
    let val_correct = sum_over_rows(codes, &split.val, |k, row| {
        Ok((side(&split.val, k, model.decision(row))? == (k < split.val_positives)) as usize)
    })?;
    let remaining = if skip_remaining || split.remaining.is_empty() {
        None
    } else {
        // Upstream calls `SVC.predict` on these rows; here it is one dot product a row. They are
        // labelled by the score midpoint.
        let w: Vec<f32> = model.weights.iter().map(|&v| v as f32).collect();
        let correct = sum_over_rows(codes, &split.remaining, |k, row| {
            let positive = side(&split.remaining, k, interfacegan_svm::kernels::dot(row, &w) + model.bias)?;
            Ok((positive == (scores[split.remaining[k]] >= split.remaining_threshold)) as usize)
        })?;
        share(correct, split.remaining.len())
    };
    Ok(Accuracies {
        train: share(train_correct, split.train.len()),
        val: share(val_correct, split.val.len()),
        remaining,
    })
}
