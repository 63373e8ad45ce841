//! The Newton system of the smoothed primal, `H = I (w block) + (C / delta) sum_zone [x; 1][x; 1]^T`,
//! kept factorised from one step to the next.
//!
//! Between Newton steps of one smoothing level the quadratic zone changes by few rows (a few dozen
//! early in a level, fewer than ten later), so the factor is
//! brought up to date by rank-one updates (rows entering) and downdates (rows leaving), `O(p^2)`
//! each, instead of a new `O(p^3)` factorisation. A new level (another `C / delta`), a long run of
//! updates, a failed downdate or a large change factorises afresh from the zone's Gram matrix; the
//! first large change after a factorisation or after updates keeps the factor for that step (an
//! inexact Newton direction, which still descends).

use crate::dense::{cholesky, lower_gram, lower_to_upper, rank_updates, upper_solve};

/// Zone changes up to this many rows are applied as rank-one updates; beyond it a factorisation
/// is cheaper (docs/svm.md, tuned constants).
const MAX_RANK_ONE_PER_STEP: usize = 48;
/// Refactorise after this many rank-one updates, so rounding cannot build up.
const MAX_RANK_ONE_TOTAL: usize = 256;

/// `sum x x^T` and `sum x` over the rows of a zone, maintained incrementally.
struct ZoneGram {
    member: Vec<bool>,
    /// Lower triangle of `sum x x^T` (row-major; the upper triangle is not kept).
    matrix: Vec<f64>,
    sum: Vec<f64>,
    /// Scratch for the rows being added or removed, widened to float64.
    gathered: Vec<f64>,
}

impl ZoneGram {
    fn new(n: usize, dim: usize) -> Self {
        Self { member: vec![false; n], matrix: vec![0.0; dim * dim], sum: vec![0.0; dim], gathered: Vec::new() }
    }

    /// Adds `sign x x^T` for the listed rows to the lower triangle (all that the factorisation
    /// reads), one product per block of columns: half the work of the full square.
    fn add(&mut self, x: &[f32], dim: usize, rows: &[usize], sign: f64) {
        if rows.is_empty() {
            return;
        }
        self.gathered.clear();
        for &i in rows {
            self.gathered.extend(x[i * dim..(i + 1) * dim].iter().map(|&v| v as f64));
        }
        // The gathered rows transposed are the dim x rows factor of the update.
        lower_gram(&self.gathered, [dim, rows.len()], [1, dim], sign, true, &mut self.matrix);
        for row in self.gathered.chunks_exact(dim) {
            for (s, v) in self.sum.iter_mut().zip(row) {
                *s += sign * v;
            }
        }
    }

    /// Makes the zone exactly `zone` (products of float32 values are exact in float64, so adding
    /// and subtracting rows does not drift).
    fn update(&mut self, x: &[f32], dim: usize, zone: &[usize]) {
        let (entering, leaving) = difference(&self.member, zone);
        if entering.len() + leaving.len() >= zone.len() {
            self.matrix.iter_mut().for_each(|v| *v = 0.0);
            self.sum.iter_mut().for_each(|v| *v = 0.0);
            self.add(x, dim, zone, 1.0);
        } else {
            self.add(x, dim, &entering, 1.0);
            self.add(x, dim, &leaving, -1.0);
        }
        set_members(&mut self.member, zone);
    }
}

/// The rows of `zone` not in `member`, and the members not in `zone`.
fn difference(member: &[bool], zone: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut now = vec![false; member.len()];
    for &i in zone {
        now[i] = true;
    }
    let entering = zone.iter().copied().filter(|&i| !member[i]).collect();
    let leaving = (0..member.len()).filter(|&i| member[i] && !now[i]).collect();
    (entering, leaving)
}

fn set_members(member: &mut [bool], zone: &[usize]) {
    member.iter_mut().for_each(|m| *m = false);
    for &i in zone {
        member[i] = true;
    }
}

/// `H` for a zone and a scale `C / delta`, held as its upper Cholesky factor.
pub(crate) struct NewtonSystem {
    dim: usize,
    gram: ZoneGram,
    /// `U` with `U^T U = H`, row-major `p x p`.
    factor: Vec<f64>,
    scratch: Vec<f64>,
    /// The scaled rows `sqrt(scale) [x; 1]` of a step's rank-one updates, and their signs.
    vectors: Vec<f64>,
    signs: Vec<f64>,
    /// The zone and scale `factor` belongs to; `scale` is NaN when there is no valid factor.
    member: Vec<bool>,
    scale: f64,
    updates: usize,
    /// Whether the last solve used the factor of an earlier zone (see `bring_up_to_date`).
    kept_stale: bool,
    /// Factorisations and rank-one updates done, for the report.
    pub factorisations: usize,
    pub rank_one_updates: usize,
}

impl NewtonSystem {
    pub(crate) fn new(n: usize, dim: usize) -> Self {
        let p = dim + 1;
        Self {
            dim,
            gram: ZoneGram::new(n, dim),
            factor: vec![0.0; p * p],
            scratch: vec![0.0; p * p],
            vectors: Vec::new(),
            signs: Vec::new(),
            member: vec![false; n],
            scale: f64::NAN,
            updates: 0,
            kept_stale: false,
            factorisations: 0,
            rank_one_updates: 0,
        }
    }

    /// Whether the factor was computed afresh for the last solve's zone (no rank-one updates since,
    /// not kept from an earlier zone).
    pub(crate) fn is_fresh(&self) -> bool {
        self.updates == 0 && !self.kept_stale
    }

    /// Forgets the factor, so that the next solve factorises afresh: for when a direction from an
    /// updated factor made no progress (rounding in downdates grows with the condition number).
    pub(crate) fn invalidate(&mut self) {
        self.scale = f64::NAN;
    }

    /// Solves `H d = rhs` in place for the quadratic zone `zone` (sorted rows) and `scale = C / delta`.
    /// Returns false, leaving `rhs` as it was, if `H` cannot be factorised in floating point.
    pub(crate) fn solve(&mut self, x: &[f32], zone: &[usize], scale: f64, rhs: &mut [f64]) -> bool {
        if !self.bring_up_to_date(x, zone, scale) {
            return false;
        }
        upper_solve(&self.factor, self.dim + 1, rhs);
        true
    }

    fn bring_up_to_date(&mut self, x: &[f32], zone: &[usize], scale: f64) -> bool {
        let (entering, leaving) = difference(&self.member, zone);
        let changes = entering.len() + leaving.len();
        if scale == self.scale
            && changes <= MAX_RANK_ONE_PER_STEP
            && self.updates + changes <= MAX_RANK_ONE_TOTAL
            && self.apply_rank_one(x, scale, &entering, &leaving)
        {
            set_members(&mut self.member, zone);
            self.kept_stale = false;
            return true;
        }
        // The first large change after a factorisation or after updates keeps the factor for one
        // step: its direction still descends, and early in a level, when the zone reshuffles by
        // hundreds of rows a step, the exact Hessian is not worth a factorisation every time
        // (docs/svm.md, tuned constants).
        if scale == self.scale && !self.kept_stale && changes > MAX_RANK_ONE_PER_STEP {
            self.kept_stale = true;
            return true;
        }
        self.kept_stale = false;
        self.factorise(x, zone, scale)
    }

    fn apply_rank_one(&mut self, x: &[f32], scale: f64, entering: &[usize], leaving: &[usize]) -> bool {
        let (dim, p) = (self.dim, self.dim + 1);
        let root = scale.sqrt();
        let count = entering.len() + leaving.len();
        self.vectors.clear();
        self.signs.clear();
        // Updates first: the downdates then act on the larger, better-conditioned matrix.
        for (rows, sign) in [(entering, 1.0), (leaving, -1.0)] {
            for &i in rows {
                self.vectors.extend(x[i * dim..(i + 1) * dim].iter().map(|&xk| root * xk as f64));
                self.vectors.push(root);
                self.signs.push(sign);
            }
        }
        self.updates += count;
        self.rank_one_updates += count;
        if !rank_updates(&mut self.factor, p, &mut self.vectors, &self.signs) {
            self.scale = f64::NAN;
            return false;
        }
        true
    }

    fn factorise(&mut self, x: &[f32], zone: &[usize], scale: f64) -> bool {
        let (dim, p) = (self.dim, self.dim + 1);
        self.gram.update(x, dim, zone);
        let h = &mut self.scratch;
        // The lower triangle is all that the factorisation reads.
        for r in 0..dim {
            for (hv, g) in h[r * p..r * p + r + 1].iter_mut().zip(&self.gram.matrix[r * dim..r * dim + r + 1]) {
                *hv = scale * g;
            }
            h[r * p + dim] = scale * self.gram.sum[r];
            h[dim * p + r] = scale * self.gram.sum[r];
            h[r * p + r] += 1.0;
        }
        let hbb = scale * zone.len() as f64;
        // The intercept is unregularised: a tiny ridge keeps the system solvable when no row is
        // in the quadratic zone (the line search then finds the step length).
        h[dim * p + dim] = hbb + 1e-8 * (1.0 + hbb);
        self.factorisations += 1;
        self.updates = 0;
        set_members(&mut self.member, zone);
        if !cholesky(h, p) {
            self.scale = f64::NAN;
            return false;
        }
        lower_to_upper(h, p, &mut self.factor);
        self.scale = scale;
        true
    }
}
