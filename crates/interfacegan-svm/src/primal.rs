//! Newton's method on the primal SVM with a Huber-smoothed hinge, `delta` driven towards 0.
//!
//! `f(w, b) = 1/2 |w|^2 + C sum_i h(m_i)`, `m_i = y_i (w.x_i + b)`, where `h` is the hinge with its
//! kink rounded over `(1 - delta, 1)`: `0` above 1, `(1 - m)^2 / (2 delta)` inside, `1 - m - delta/2`
//! below. `f` is convex and piecewise quadratic in the `d + 1 = 513` unknowns, so Newton with an
//! exact line search converges in a few steps per `delta`, independent of how ill-conditioned the
//! SVM dual is (the hard-margin-like case where SMO needs hundreds of thousands of pair updates).
//!
//! What keeps a step cheap: the Newton system stays factorised and follows the quadratic zone by
//! rank-one updates (`newton.rs`); the first level works on the rows with the smallest margins at
//! the start (`FIRST_LEVEL_SHARE`), later ones on the rows near the margin (`SHRINK`), checked
//! against all rows at the end of each level; a new level's first step uses
//! the previous level's pieces, so the free rows stay free instead of turning linear at the
//! narrower kink (one step then nearly solves the level).
//!
//! Its dual multipliers `alpha_i = -C h'(m_i)` lie in `[0, C]`, satisfy `sum y_i alpha_i = 0` at the
//! optimum and give `w = sum alpha_i y_i x_i`: a feasible point of the exact SVM dual whose KKT
//! violation is about `2 delta`. Once `delta` is below half the tolerance, the libsvm stopping rule
//! holds and the result is an exact-SVM solution in libsvm's sense; otherwise the caller polishes
//! it with SMO.

use std::borrow::Cow;

use crate::active_set::Set;
use crate::kernels::{add_scaled, dot_f64, gemv, gemv_wide};
use crate::newton::NewtonSystem;

/// What the continuation hands back.
pub(crate) struct PrimalResult {
    pub outcome: Outcome,
    pub newton_steps: usize,
    /// Fresh factorisations of the Newton system, and rank-one updates of it.
    pub factorisations: usize,
    pub rank_one_updates: usize,
    pub levels: usize,
}

/// How the continuation ended.
pub(crate) enum Outcome {
    /// The active-set step met libsvm's criterion: the exact solution.
    Exact(crate::active_set::Exact),
    /// The multipliers of the last smoothed solution, feasible for the exact dual.
    Smoothed(Vec<f64>),
}

/// Which piece of the smoothed hinge each row is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Piece {
    Zero,
    Quadratic,
    Linear,
}

/// The smoothed loss `C h(m)` of one smoothing level: the cost `c` and the width `delta` of the
/// rounded kink.
#[derive(Clone, Copy, Debug)]
struct Hinge {
    c: f64,
    delta: f64,
}

impl Hinge {
    fn piece(self, m: f64) -> Piece {
        if m >= 1.0 {
            Piece::Zero
        } else if m > 1.0 - self.delta {
            Piece::Quadratic
        } else {
            Piece::Linear
        }
    }

    /// `h'(m)`.
    fn slope(self, m: f64) -> f64 {
        match self.piece(m) {
            Piece::Zero => 0.0,
            Piece::Quadratic => -(1.0 - m) / self.delta,
            Piece::Linear => -1.0,
        }
    }

    /// The dual multiplier `alpha = -C h'(m)` a margin implies, in `[0, C]`.
    fn multiplier(self, m: f64) -> f64 {
        -self.c * self.slope(m)
    }
}

/// `phi'(t)` of the exact line search along (dw, db): convex, so `phi'` is non-decreasing.
fn line_derivative(t: f64, w_dot_dw: f64, dw2: f64, margins: &[f64], steps: &[f64], hinge: Hinge) -> f64 {
    let mut s = w_dot_dw + t * dw2;
    for (&m, &sm) in margins.iter().zip(steps) {
        if sm != 0.0 {
            s += hinge.c * hinge.slope(m + t * sm) * sm;
        }
    }
    s
}

/// `phi'` on a bracket `[lo, hi]`: the rows whose piece is the same at both ends (their margin moves
/// monotonically in `t`, so it is the same throughout) are summed once into `constant + slope * t`;
/// only the rows that cross a kink inside the bracket are evaluated at each `t`. Rebuilt as the
/// bracket narrows, so that a line search evaluates hundreds of rows instead of thousands.
struct BracketDerivative {
    constant: f64,
    slope: f64,
    crossing: Vec<(f64, f64)>,
}

impl BracketDerivative {
    fn new([lo, hi]: [f64; 2], w_dot_dw: f64, dw2: f64, rows: impl Iterator<Item = (f64, f64)>, hinge: Hinge) -> Self {
        let Hinge { c, delta } = hinge;
        let (mut constant, mut slope, mut crossing) = (w_dot_dw, dw2, Vec::new());
        for (m, sm) in rows {
            let piece_lo = hinge.piece(m + lo * sm);
            if piece_lo != hinge.piece(m + hi * sm) {
                crossing.push((m, sm));
                continue;
            }
            match piece_lo {
                Piece::Zero => {}
                // c h'(m + t s) s with h' = -(1 - m - t s) / delta.
                Piece::Quadratic => {
                    constant += c * sm * (m - 1.0) / delta;
                    slope += c * sm * sm / delta;
                }
                Piece::Linear => constant -= c * sm,
            }
        }
        Self { constant, slope, crossing }
    }

    fn at(&self, t: f64, hinge: Hinge) -> f64 {
        let mut s = self.constant + self.slope * t;
        for &(m, sm) in &self.crossing {
            s += hinge.c * hinge.slope(m + t * sm) * sm;
        }
        s
    }
}

/// Minimises `phi(t)` over `t >= 0` by a bracketed secant/bisection on `phi'`.
fn line_search(w_dot_dw: f64, dw2: f64, margins: &[f64], steps: &[f64], hinge: Hinge) -> f64 {
    let d = |t: f64| line_derivative(t, w_dot_dw, dw2, margins, steps, hinge);
    let d0 = d(0.0);
    if d0 >= 0.0 {
        return 0.0;
    }
    let (mut lo, mut dlo) = (0.0, d0);
    let (mut hi, mut dhi) = (1.0, d(1.0));
    let mut grow = 0;
    while dhi < 0.0 && grow < 60 {
        lo = hi;
        dlo = dhi;
        hi *= 2.0;
        dhi = d(hi);
        grow += 1;
    }
    if dhi <= 0.0 {
        return hi;
    }
    if dhi.abs() < 1e-14 {
        return hi;
    }
    let moving = || margins.iter().copied().zip(steps.iter().copied()).filter(|&(_, sm)| sm != 0.0);
    let mut bracket = BracketDerivative::new([lo, hi], w_dot_dw, dw2, moving(), hinge);
    for k in 0..100 {
        // Secant on the bracket, with bisection every third step to guarantee progress.
        let t = if k % 3 == 2 { 0.5 * (lo + hi) } else { lo - dlo * (hi - lo) / (dhi - dlo) };
        let t = if t > lo && t < hi { t } else { 0.5 * (lo + hi) };
        let dt = bracket.at(t, hinge);
        if dt.abs() <= 1e-13 * (1.0 + d0.abs()) || (hi - lo) <= 1e-15 * hi {
            return t;
        }
        if dt < 0.0 {
            lo = t;
            dlo = dt;
        } else {
            hi = t;
            dhi = dt;
        }
        if k % 4 == 3 {
            let rows = bracket.crossing.iter().copied();
            let narrowed = BracketDerivative::new([lo, hi], 0.0, 0.0, rows, hinge);
            bracket = BracketDerivative {
                constant: bracket.constant + narrowed.constant,
                slope: bracket.slope + narrowed.slope,
                crossing: narrowed.crossing,
            };
        }
    }
    0.5 * (lo + hi)
}

/// A starting point on the hyperplane halfway between the class means, scaled so that about a
/// tenth of the rows lie inside the margin: Newton then starts with a populated quadratic zone
/// instead of discovering it a few rows per step from `w = 0`. Returns `w`, `b` and every row's
/// margin `y_i (w . x_i + b)` there (from the float32 projections: they only choose the first
/// level's rows and pieces, whose margins are recomputed exactly before the level ends).
fn class_mean_start(x: &[f32], dim: usize, y: &[f64]) -> (Vec<f64>, f64, Vec<f64>) {
    use rayon::prelude::*;
    let n = y.len();
    let positives = y.iter().filter(|&&v| v > 0.0).count().max(1) as f64;
    let negatives = (n as f64 - positives).max(1.0);
    // A partial sum per block of rows, added in block order: the same on any number of cores.
    const BLOCK: usize = 256;
    let partials: Vec<Vec<f64>> = x
        .par_chunks(BLOCK * dim)
        .zip(y.par_chunks(BLOCK))
        .map(|(rows, ys)| {
            let mut u = vec![0f64; dim];
            for (row, &yi) in rows.chunks_exact(dim).zip(ys) {
                add_scaled(&mut u, if yi > 0.0 { 1.0 / positives } else { -1.0 / negatives }, row);
            }
            u
        })
        .collect();
    let mut u = vec![0f64; dim];
    for partial in &partials {
        u.iter_mut().zip(partial).for_each(|(a, p)| *a += p);
    }
    let norm = dot_f64(&u, &u).sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return (vec![0.0; dim], 0.0, vec![0.0; n]);
    }
    u.iter_mut().for_each(|a| *a /= norm);
    let u32: Vec<f32> = u.iter().map(|&a| a as f32).collect();
    let mut proj = vec![0f64; n];
    gemv(x, &u32, &mut proj);
    let mean = |sign: f64| {
        let (s, k) =
            proj.iter().zip(y).filter(|(_, yi)| **yi == sign).fold((0.0, 0.0), |(s, k), (p, _)| (s + p, k + 1.0));
        s / f64::max(k, 1.0)
    };
    let centre = 0.5 * (mean(1.0) + mean(-1.0));
    let signed: Vec<f64> = proj.iter().zip(y).map(|(p, yi)| yi * (p - centre)).collect();
    let mut sorted = signed.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let scale = [0.1, 0.2, 0.3, 0.5]
        .iter()
        .map(|q| sorted[((n as f64 * q) as usize).min(n - 1)])
        .find(|&v| v > 0.0)
        .map_or(1.0, |v| 1.0 / v);
    let margins = signed.iter().map(|m| scale * m).collect();
    (u.iter().map(|a| a * scale).collect(), -scale * centre, margins)
}

/// `sum y_i x_i` and `sum y_i` over the rows on the linear piece, kept up to date as rows join and
/// leave it: in the noisy regime thousands of rows sit there, and summing them afresh at every
/// step cost more than the rest of the gradient.
struct LinearSum {
    member: Vec<bool>,
    xy: Vec<f64>,
    y: f64,
}

impl LinearSum {
    fn new(rows: usize, dim: usize) -> Self {
        Self { member: vec![false; rows], xy: vec![0.0; dim], y: 0.0 }
    }

    fn update(&mut self, x: &[f32], dim: usize, y: &[f64], pieces: &[Piece]) {
        for (i, p) in pieces.iter().enumerate() {
            let linear = *p == Piece::Linear;
            if linear != self.member[i] {
                let s = if linear { y[i] } else { -y[i] };
                add_scaled(&mut self.xy, s, &x[i * dim..(i + 1) * dim]);
                self.y += s;
                self.member[i] = linear;
            }
        }
    }
}

/// The gradient of the quadratic that `pieces` assign to the active rows (each row's formula
/// applied at its current margin, wherever that margin lies), and the rows of its quadratic zone
/// (indices into the active rows).
fn model_gradient(
    active: &ActiveRows,
    hinge: Hinge,
    w: &[f64],
    margins: &[f64],
    pieces: &[Piece],
    linear: &mut LinearSum,
) -> (Vec<f64>, f64, Vec<usize>) {
    let (x, y, dim) = (&active.x[..], &active.y[..], w.len());
    let Hinge { c, delta } = hinge;
    linear.update(x, dim, y, pieces);
    let mut gw: Vec<f64> = w.iter().zip(&linear.xy).map(|(wk, s)| wk - c * s).collect();
    let zone: Vec<usize> = (0..pieces.len()).filter(|&i| pieces[i] == Piece::Quadratic).collect();
    let coefficient = |i: usize| -c * (1.0 - margins[i]) / delta * y[i];
    let gb = -c * linear.y + zone.iter().map(|&i| coefficient(i)).sum::<f64>();
    // The zone's rows in blocks on all cores, the blocks' sums added in order (the same result on
    // any number of cores).
    const BLOCK: usize = 128;
    let partial = |rows: &[usize]| {
        let mut sum = vec![0f64; dim];
        for &i in rows {
            add_scaled(&mut sum, coefficient(i), &x[i * dim..(i + 1) * dim]);
        }
        sum
    };
    let partials: Vec<Vec<f64>> = if zone.len() <= BLOCK {
        vec![partial(&zone)]
    } else {
        use rayon::prelude::*;
        zone.par_chunks(BLOCK).map(partial).collect()
    };
    for sum in &partials {
        gw.iter_mut().zip(sum).for_each(|(g, s)| *g += s);
    }
    (gw, gb, zone)
}

/// The Newton direction `-H^-1 g` of the model with quadratic zone `zone`; the steepest descent
/// direction `-g` should `H` not factorise in floating point.
fn newton_direction(
    system: &mut NewtonSystem,
    x: &[f32],
    zone: &[usize],
    scale: f64,
    gw: &[f64],
    gb: f64,
) -> (Vec<f64>, f64) {
    let mut direction: Vec<f64> = gw.iter().map(|g| -g).chain(std::iter::once(-gb)).collect();
    system.solve(x, zone, scale, &mut direction);
    let db = direction.pop().unwrap_or(0.0);
    (direction, db)
}

/// Rows within this distance above the margin (in units of the margin, `y (w.x + b) < 1 + SHRINK`)
/// take part in a level's Newton steps; the others cannot contribute until a step moves them
/// onto the hinge, which the pass over all rows at the end of the level detects.
const SHRINK: f64 = 1.0;

/// The first level works on this share of the rows, those with the smallest margins at the
/// class-mean start: the support vectors are among them, and a row left out that a step moves onto
/// the hinge joins at the level's pass over all rows (docs/svm.md, tuned constants).
const FIRST_LEVEL_SHARE: f64 = 0.4;

/// The active-set step is tried once the smoothed solution's KKT gap is within this multiple of
/// the tolerance.
const ACTIVE_SET_GAP: f64 = 20.0;

/// The rows a level's Newton steps work on, gathered contiguously (borrowed when they are all).
struct ActiveRows<'a> {
    /// Indices into the training set, ascending.
    rows: Vec<usize>,
    x: Cow<'a, [f32]>,
    y: Cow<'a, [f64]>,
}

impl<'a> ActiveRows<'a> {
    fn gather(x: &'a [f32], dim: usize, y: &'a [f64], rows: Vec<usize>) -> Self {
        if rows.len() == y.len() {
            return Self { rows, x: Cow::Borrowed(x), y: Cow::Borrowed(y) };
        }
        let mut gathered = Vec::with_capacity(rows.len() * dim);
        for &i in &rows {
            gathered.extend_from_slice(&x[i * dim..(i + 1) * dim]);
        }
        let y = rows.iter().map(|&i| y[i]).collect();
        Self { rows, x: Cow::Owned(gathered), y: Cow::Owned(y) }
    }
}

/// The rows whose margin is at most the `share` quantile of `margins`, ascending.
fn rows_below_quantile(margins: &[f64], share: f64) -> Vec<usize> {
    let n = margins.len();
    if n == 0 || share >= 1.0 {
        return (0..n).collect();
    }
    let mut sorted = margins.to_vec();
    let k = ((n as f64 * share) as usize).min(n - 1);
    let cut = *sorted.select_nth_unstable_by(k, f64::total_cmp).1;
    (0..n).filter(|&i| margins[i] <= cut).collect()
}

/// `y_i (w.x_i + b)` for every row of `x`, in float64 throughout: the multipliers implied at a small
/// `delta`, `(1 - m) / delta`, magnify a float32 rounding of the margins past the tolerance.
fn all_margins(x: &[f32], y: &[f64], w: &[f64], b: f64, margins: &mut [f64]) {
    gemv_wide(x, w, margins);
    for (m, yi) in margins.iter_mut().zip(y) {
        *m = yi * (*m + b);
    }
}

/// Runs the continuation until the libsvm KKT gap of the implied multipliers is at most `eps`
/// or `delta` reaches `min_delta`.
pub(crate) fn huber_continuation(x: &[f32], dim: usize, y: &[f64], c: f64, eps: f64) -> PrimalResult {
    let n = y.len();
    let (w, b, mut margins_all) = class_mean_start(x, dim, y);
    let mut plane = Plane { w, b };
    let mut system = NewtonSystem::new(n, dim);
    let mut newton_steps = 0;
    let mut levels = 0;
    let mut level_start_pieces: Option<Vec<Piece>> = None;
    // Start wide and divide by 10: a narrower start or a slower shrink makes the active-set step
    // miss its free set (docs/svm.md, tuned constants).
    let mut delta: f64 = 1.0;
    let factor = 0.1;
    let min_delta = eps * 0.05;
    loop {
        levels += 1;
        let mut rows: Vec<usize> = if levels == 1 {
            rows_below_quantile(&margins_all, FIRST_LEVEL_SHARE)
        } else {
            (0..n).filter(|&i| margins_all[i] < 1.0 + SHRINK).collect()
        };
        loop {
            let active = ActiveRows::gather(x, dim, y, rows);
            let mut margins: Vec<f64> = active.rows.iter().map(|&i| margins_all[i]).collect();
            let mut predicted: Option<Vec<Piece>> =
                level_start_pieces.take().map(|p| active.rows.iter().map(|&i| p[i]).collect());
            let level = Level { active: &active, x, hinge: Hinge { c, delta } };
            newton_steps += level.run(&mut system, &mut plane, &mut margins, &mut predicted);
            // Fresh margins of every row (which also keeps the level's incremental updates from
            // drifting); rows left out may have been moved onto the hinge: bring them in, go on.
            all_margins(x, y, &plane.w, plane.b, &mut margins_all);
            let mut inside = vec![false; n];
            active.rows.iter().for_each(|&i| inside[i] = true);
            if (0..n).all(|i| inside[i] || margins_all[i] >= 1.0) {
                break;
            }
            rows = (0..n).filter(|&i| inside[i] || margins_all[i] < 1.0 + SHRINK).collect();
        }
        let hinge = Hinge { c, delta };
        let gap = implied_gap(&margins_all, y, hinge);
        if delta <= min_delta || gap <= eps {
            break;
        }
        // Far from the tolerance the smoothed margin is a poor guess of the free set and the
        // solves are wasted.
        let exact =
            if gap <= ACTIVE_SET_GAP * eps { try_active_set(x, dim, y, eps, &margins_all, hinge) } else { None };
        if let Some(exact) = exact {
            return PrimalResult {
                outcome: Outcome::Exact(exact),
                newton_steps,
                factorisations: system.factorisations,
                rank_one_updates: system.rank_one_updates,
                levels,
            };
        }
        // The next level's first step takes these pieces as its model: the free rows of this
        // level stay free instead of turning linear at the narrower kink.
        level_start_pieces = Some(margins_all.iter().map(|&m| hinge.piece(m)).collect());
        delta *= factor;
    }
    let hinge = Hinge { c, delta };
    let alpha: Vec<f64> = margins_all.iter().map(|&m| hinge.multiplier(m)).collect();
    PrimalResult {
        outcome: Outcome::Smoothed(alpha),
        newton_steps,
        factorisations: system.factorisations,
        rank_one_updates: system.rank_one_updates,
        levels,
    }
}

/// A level's working buffers: the running sum of the linear rows, and each active row's margin
/// change per unit step.
struct Scratch {
    linear: LinearSum,
    steps: Vec<f64>,
}

/// The hyperplane `w . x + b` being optimised.
struct Plane {
    w: Vec<f64>,
    b: f64,
}

/// One smoothing level: its loss, the rows its Newton steps work on, and all training rows `x`
/// (the Newton system indexes them).
struct Level<'a> {
    active: &'a ActiveRows<'a>,
    x: &'a [f32],
    hinge: Hinge,
}

impl Level<'_> {
    /// Newton's method with an exact line search over the active rows; returns the number of
    /// steps. `margins` (of the active rows) are kept current with the plane.
    fn run(
        &self,
        system: &mut NewtonSystem,
        plane: &mut Plane,
        margins: &mut [f64],
        predicted: &mut Option<Vec<Piece>>,
    ) -> usize {
        let (active, hinge) = (self.active, self.hinge);
        let m = active.rows.len();
        let mut scratch = Scratch { linear: LinearSum::new(m, plane.w.len()), steps: vec![0f64; m] };
        let mut refreshed = false;
        let mut taken = 0;
        for _ in 0..100 {
            let current: Vec<Piece> = margins.iter().map(|&v| hinge.piece(v)).collect();
            let (gw, gb, zone) = model_gradient(active, hinge, &plane.w, margins, &current, &mut scratch.linear);
            let gnorm = (dot_f64(&gw, &gw) + gb * gb).sqrt();
            let wnorm = dot_f64(&plane.w, &plane.w).sqrt();
            if gnorm <= 1e-7 * (1.0 + wnorm) {
                // The margins were carried along in float32 products; converged on exact ones?
                if refreshed {
                    break;
                }
                all_margins(&active.x, &active.y, &plane.w, plane.b, margins);
                refreshed = true;
                continue;
            }
            refreshed = false;
            // The Newton step of the pieces predicted for the minimiser (the previous full step's,
            // or the previous level's) when it makes progress, else that of the current pieces.
            let model = predicted.take().unwrap_or_else(|| current.clone());
            let (dw, db, t) = self.step(system, plane, margins, (model, current), (gw, gb, zone), &mut scratch);
            taken += 1;
            if t == 0.0 {
                if system.is_fresh() {
                    break;
                }
                system.invalidate();
                continue;
            }
            let mut next = Vec::with_capacity(m);
            for (v, s) in margins.iter_mut().zip(&scratch.steps) {
                next.push(hinge.piece(*v + s));
                *v += t * s;
            }
            for (wk, d) in plane.w.iter_mut().zip(&dw) {
                *wk += t * d;
            }
            plane.b += t * db;
            // Even a full step that keeps every row on its model's piece reaches the minimiser only
            // as far as the solve is accurate (not enough for the tolerance at the smallest
            // widths): the gradient test at the top of the loop decides when the level is done.
            if t >= 0.9 {
                *predicted = Some(next);
            }
        }
        taken
    }

    /// The Newton direction of `model`'s pieces (`current`'s when that one does not descend) and
    /// the exact step length along it; `steps` receives each active row's margin change per unit.
    fn step(
        &self,
        system: &mut NewtonSystem,
        plane: &Plane,
        margins: &[f64],
        (mut model, current): (Vec<Piece>, Vec<Piece>),
        at_current: (Vec<f64>, f64, Vec<usize>),
        scratch: &mut Scratch,
    ) -> (Vec<f64>, f64, f64) {
        let (active, hinge) = (self.active, self.hinge);
        let Scratch { linear, steps } = scratch;
        let mut at_current = Some(at_current);
        loop {
            let (gw, gb, zone) = match at_current.take() {
                Some(g) if model == current => g,
                _ => model_gradient(active, hinge, &plane.w, margins, &model, linear),
            };
            let zone: Vec<usize> = zone.iter().map(|&k| active.rows[k]).collect();
            let (dw, db) = newton_direction(system, self.x, &zone, hinge.c / hinge.delta, &gw, gb);
            let dw32: Vec<f32> = dw.iter().map(|&v| v as f32).collect();
            gemv(&active.x, &dw32, steps);
            for (s, yi) in steps.iter_mut().zip(active.y.iter()) {
                *s = yi * (*s + db);
            }
            let t = line_search(dot_f64(&plane.w, &dw), dot_f64(&dw, &dw), margins, steps, hinge);
            if t > 0.0 || model == current {
                return (dw, db, t);
            }
            model = current.clone();
        }
    }
}

/// libsvm's KKT gap of the multipliers `alpha_i = -C h'(m_i)` implied by the margins. With
/// `w.x_i + b = y_i m_i` in place of `w.x_i`, every `-y G` moves by the same `b`, which cancels.
fn implied_gap(margins: &[f64], y: &[f64], hinge: Hinge) -> f64 {
    let alpha: Vec<f64> = margins.iter().map(|&m| hinge.multiplier(m)).collect();
    let decision: Vec<f64> = margins.iter().zip(y).map(|(m, yi)| m * yi).collect();
    crate::smo::kkt_gap(y, &alpha, &decision, hinge.c).0
}

/// Tries the exact active-set solve with the sets the smoothed solution suggests.
fn try_active_set(
    x: &[f32],
    dim: usize,
    y: &[f64],
    eps: f64,
    margins: &[f64],
    hinge: Hinge,
) -> Option<crate::active_set::Exact> {
    let mut sets: Vec<Set> = margins
        .iter()
        .map(|&m| match hinge.piece(m) {
            Piece::Zero => Set::Zero,
            Piece::Quadratic => Set::Free,
            Piece::Linear => Set::Bound,
        })
        .collect();
    // More free rows than dimensions cannot be the free set of an optimum (the system is
    // singular); the next, narrower zone will be closer.
    if sets.iter().filter(|s| **s == Set::Free).count() > dim {
        return None;
    }
    // A good guess converges in one to three solves; a poor one is not worth more.
    crate::active_set::solve_from_sets(x, dim, y, hinge.c, eps, &mut sets, 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Margins and step products spread over all three pieces and across both kinks.
    fn rows(n: usize) -> (Vec<f64>, Vec<f64>) {
        let margins = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 250.0 - 1.5).collect();
        let steps = (0..n).map(|i| ((i * 104_729) % 997) as f64 / 400.0 - 1.2).collect();
        (margins, steps)
    }

    #[test]
    fn bracket_derivative_equals_the_full_sum() {
        let (margins, steps) = rows(3000);
        let (hinge, w_dot_dw, dw2) = (Hinge { c: 1.0, delta: 0.1 }, -40.0, 3.0);
        for (lo, hi) in [(0.0, 1.0), (0.25, 0.5), (1.0, 2.0), (0.3, 0.3001)] {
            let moving = margins.iter().copied().zip(steps.iter().copied()).filter(|&(_, s)| s != 0.0);
            let bracket = BracketDerivative::new([lo, hi], w_dot_dw, dw2, moving, hinge);
            // Only rows near a kink are left to evaluate, fewer the narrower the bracket.
            assert!(bracket.crossing.len() < if hi - lo < 0.01 { 10 } else { 3000 });
            for k in 0..=8 {
                let t = lo + (hi - lo) * k as f64 / 8.0;
                let full = line_derivative(t, w_dot_dw, dw2, &margins, &steps, hinge);
                let fast = bracket.at(t, hinge);
                assert!((full - fast).abs() <= 1e-9 * (1.0 + full.abs()), "t {t}: {full} vs {fast}");
            }
        }
    }

    #[test]
    fn line_search_finds_the_minimiser() {
        let (margins, steps) = rows(3000);
        let (hinge, dw2) = (Hinge { c: 1.0, delta: 0.1 }, 3.0);
        for w_dot_dw in [-400.0, -40.0, -4.0] {
            let d = |t: f64| line_derivative(t, w_dot_dw, dw2, &margins, &steps, hinge);
            let t = line_search(w_dot_dw, dw2, &margins, &steps, hinge);
            assert!(t > 0.0);
            // phi' is non-decreasing: it changes sign at the minimiser.
            let h = 1e-9 * (1.0 + t);
            assert!(d(t - h) <= 1e-9 && d(t + h) >= -1e-9, "t {t}: {} {}", d(t - h), d(t + h));
        }
        // A direction that does not descend (phi'(0) > 0) is not taken.
        assert!(line_derivative(0.0, 1e6, dw2, &margins, &steps, hinge) > 0.0);
        assert_eq!(line_search(1e6, dw2, &margins, &steps, hinge), 0.0);
    }
}
