use std::path::{Path, PathBuf};
use std::time::Instant;

use interfacegan_io::{NpyArray, read_f64, write_atomic, write_npy};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{BoundaryError, FitOptions, FitReport, LinearSvm, Split, split_samples, train_linear_svm};

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
            return Err(BoundaryError::Input("a boundary normal needs at least one value".into()));
        }
        if let Some(i) = normal.iter().position(|v| !v.is_finite()) {
            return Err(BoundaryError::Input(format!("boundary normal value {i} is {}", normal[i])));
        }
        let norm = normal.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(BoundaryError::Input("the boundary normal is the zero vector".into()));
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
        if dim == 0 || !codes.len().is_multiple_of(dim) {
            return Err(BoundaryError::Input(format!(
                "{} code values do not form rows of dimension {dim}",
                codes.len()
            )));
        }
        Self::fit_rows(codes.len() / dim, dim, |i| &codes[i * dim..(i + 1) * dim], scores, options)
    }

    /// [`Boundary::fit`] on rows served by `row(i)`, e.g. from a memory-mapped file, so that only the
    /// selected rows are gathered in memory.
    pub fn fit_rows<'a>(
        rows: usize,
        dim: usize,
        row: impl Fn(usize) -> &'a [f32] + Sync,
        scores: &[f32],
        options: &FitOptions,
    ) -> Result<(Self, FitReport), BoundaryError> {
        let start = Instant::now();
        if scores.len() != rows {
            return Err(BoundaryError::Input(format!(
                "{rows} latent codes but {} scores: both files must describe the same samples",
                scores.len()
            )));
        }
        let split = split_samples(
            scores,
            options.chosen_num_or_ratio,
            options.split_ratio,
            options.invalid_value,
            options.seed,
        )?;
        let checked_row = |i: usize| -> Result<&'a [f32], BoundaryError> {
            let r = row(i);
            if r.len() != dim {
                return Err(BoundaryError::Input(format!("code row {i} has {} values, expected {dim}", r.len())));
            }
            if let Some(k) = r.iter().position(|v| !v.is_finite()) {
                return Err(BoundaryError::Input(format!("code row {i} holds a non-finite value at column {k}")));
            }
            Ok(r)
        };
        // Gathered on all cores: from a memory-mapped file each row costs a page fault.
        let mut train = vec![0f32; split.train.len() * dim];
        train.par_chunks_mut(dim.max(1)).zip(&split.train).try_for_each(|(dst, &i)| {
            dst.copy_from_slice(checked_row(i)?);
            Ok::<_, BoundaryError>(())
        })?;
        let labels: Vec<bool> = (0..split.train.len()).map(|k| k < split.train_positives).collect();
        let (model, svm) = train_linear_svm(&train, dim, &labels, &options.svm)?;
        let mut boundary = Self::from_svm(&model)?;
        boundary.attribute = options.attribute.clone();
        boundary.latent_space = options.latent_space.clone();

        let train_accuracy = side_accuracy(&model, train.par_chunks_exact(dim.max(1)).map(Ok), split.train_positives)?;
        // Validation rows are read in place: a copy of them would cost more than the dot products.
        let val_accuracy = side_accuracy(&model, split.val.par_iter().map(|&i| checked_row(i)), split.val_positives)?;
        let remaining_accuracy =
            if options.skip_remaining { None } else { remaining_accuracy(&model, &row, scores, &split)? };
        let report = FitReport::new(
            &split,
            scores.len(),
            dim,
            train_accuracy,
            val_accuracy,
            remaining_accuracy,
            svm,
            start.elapsed().as_secs_f64(),
        );
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
            return Err(BoundaryError::Input(format!(
                "code of dimension {} for a boundary of dimension {}",
                code.len(),
                self.dim()
            )));
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
    /// saves it) and the metadata beside it (`x.npy` -> `x.json`). Both are written atomically;
    /// existing files are kept unless `overwrite`.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<(), BoundaryError> {
        let path = path.as_ref();
        let meta_path = Self::metadata_path(path);
        if !overwrite && meta_path.exists() {
            return Err(interfacegan_io::IoError::AlreadyExists { path: meta_path }.into());
        }
        let array = NpyArray::new(vec![1, self.dim()], self.normal_f32()).expect("shape matches");
        write_npy(path, &array, overwrite)?;
        let meta = Metadata {
            format: METADATA_FORMAT.into(),
            dim: self.dim(),
            bias: self.bias,
            attribute: self.attribute.clone(),
            latent_space: self.latent_space.clone(),
            fit: self.fit.clone(),
        };
        let text = serde_json::to_string_pretty(&meta).expect("metadata serialises");
        write_atomic(&meta_path, text.as_bytes(), overwrite)?;
        Ok(())
    }
}

/// The share of `rows` that `model` puts on their side, the first `positives` rows belonging on the
/// positive one, counted on all cores; `None` for no rows.
fn side_accuracy<'r>(
    model: &LinearSvm,
    rows: impl IndexedParallelIterator<Item = Result<&'r [f32], BoundaryError>>,
    positives: usize,
) -> Result<Option<f64>, BoundaryError> {
    let count = rows.len();
    if count == 0 {
        return Ok(None);
    }
    let correct = rows
        .enumerate()
        .map(|(k, r)| Ok::<_, BoundaryError>(((model.decision(r?) > 0.0) == (k < positives)) as usize))
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    Ok(Some(correct as f64 / count as f64))
}

/// Accuracy on the rows between the chosen top and bottom, labelled by the score midpoint: what
/// upstream logs as "remaining" (it runs `SVC.predict`; here it is one dot product a row, on all
/// cores). A row with a non-finite value is an error: its decision would be meaningless.
fn remaining_accuracy<'a>(
    model: &LinearSvm,
    row: &(impl Fn(usize) -> &'a [f32] + Sync),
    scores: &[f32],
    split: &Split,
) -> Result<Option<f64>, BoundaryError> {
    if split.remaining.is_empty() {
        return Ok(None);
    }
    let w: Vec<f32> = model.weights.iter().map(|&v| v as f32).collect();
    let b = model.bias;
    let rows = &split.remaining;
    // Runs of consecutive rows (`remaining` is in row order), so that each worker reads its part
    // of the file sequentially.
    let correct = rows
        .par_chunks(4096)
        .map(|part| {
            let mut correct = 0;
            for &i in part {
                let decision = crate::kernels::dot(row(i), &w) + b;
                if !decision.is_finite() {
                    return Err(BoundaryError::Input(format!("code row {i} holds a non-finite value")));
                }
                correct += ((decision > 0.0) == (scores[i] >= split.remaining_threshold)) as usize;
            }
            Ok(correct)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    Ok(Some(correct as f64 / rows.len() as f64))
}
