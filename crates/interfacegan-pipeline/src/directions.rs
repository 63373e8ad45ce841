//! The directions a run edits along: each attribute's boundary, and the same boundary made
//! orthogonal to the other attributes' boundaries (conditional editing), one condition at a time
//! and all together.

use interfacegan_boundary::Boundary;
use interfacegan_subspace::{ProjectOptions, conditional_direction_with};

use crate::PipelineError;

/// A unit direction in latent space that changes `target` and, when `conditions` is not empty,
/// is orthogonal to the boundaries of those attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Direction {
    /// The attribute the direction changes.
    pub target: String,
    /// The attributes whose boundaries were projected out (empty: the plain boundary).
    pub conditions: Vec<String>,
    /// The unit normal.
    pub vector: Vec<f64>,
}

impl Direction {
    /// `smile`, `smile_without_gender`, `smile_without_age_gender`.
    pub fn name(&self) -> String {
        if self.conditions.is_empty() {
            self.target.clone()
        } else {
            format!("{}_without_{}", self.target, self.conditions.join("_"))
        }
    }

    /// The official file name pattern: `<name>_boundary.npy`.
    pub fn file_name(&self) -> String {
        format!("{}_boundary.npy", self.name())
    }

    /// Whether this is a plain boundary.
    pub fn is_plain(&self) -> bool {
        self.conditions.is_empty()
    }
}

/// For every boundary: itself, conditioned on each other boundary, and (with three or more)
/// conditioned on all the others at once. `boundaries` pairs attribute names with boundaries of
/// one dimension.
pub fn conditional_directions(boundaries: &[(String, Boundary)]) -> Result<Vec<Direction>, PipelineError> {
    if let Some((name, b)) = boundaries.iter().find(|(_, b)| b.dim() != boundaries[0].1.dim()) {
        return Err(PipelineError::BoundaryDimensions {
            name: name.clone(),
            dim: b.dim(),
            first: boundaries[0].0.clone(),
            first_dim: boundaries[0].1.dim(),
        });
    }
    let options = ProjectOptions { drop_dependent: true, ..Default::default() };
    let mut directions = Vec::new();
    for (i, (target, boundary)) in boundaries.iter().enumerate() {
        directions.push(Direction {
            target: target.clone(),
            conditions: Vec::new(),
            vector: boundary.normal().to_vec(),
        });
        let others: Vec<usize> = (0..boundaries.len()).filter(|&j| j != i).collect();
        let mut sets: Vec<Vec<usize>> = others.iter().map(|&j| vec![j]).collect();
        if others.len() >= 2 {
            sets.push(others.clone());
        }
        for set in sets {
            let conditions: Vec<&[f64]> = set.iter().map(|&j| boundaries[j].1.normal()).collect();
            let projection = conditional_direction_with(boundary.normal(), &conditions, &options)?;
            directions.push(Direction {
                target: target.clone(),
                conditions: set.iter().map(|&j| boundaries[j].0.clone()).collect(),
                vector: projection.direction,
            });
        }
    }
    Ok(directions)
}
