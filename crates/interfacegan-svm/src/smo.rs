//! Stage 3, SMO decomposition: the SVMlight scheme with libsvm's second-order pair selection on a
//! cached kernel block of the working set (free support vectors plus the worst violators of each
//! side), run until libsvm's stopping criterion holds on every row.

use crate::SvmParams;
use crate::kernels::{add_scaled, gemv};

/// A dual iterate: the multipliers with `w = sum_i alpha_i y_i x_i` and `wx = X w` kept current.
pub(crate) struct Dual {
    pub alpha: Vec<f64>,
    pub w: Vec<f64>,
    pub wx: Vec<f64>,
}

/// What the decomposition did.
pub(crate) struct SmoFigures {
    pub rounds: usize,
    pub iterations: u64,
    pub max_working_set: usize,
    /// The maximal KKT violation at the end.
    pub gap: f64,
}

/// Improves `dual` by SMO rounds until its KKT gap is at most the tolerance or the rounds run out.
pub(crate) fn decompose(x: &[f32], dim: usize, y: &[f64], params: &SvmParams, dual: &mut Dual) -> SmoFigures {
    let (c, eps) = (params.c, params.tolerance);
    let n = y.len();
    let mut w32: Vec<f32> = dual.w.iter().map(|&v| v as f32).collect();
    let mut position = vec![u32::MAX; n];
    let mut set = WorkingSet { rows: Vec::new(), kernel: Vec::new() };
    let mut figures = SmoFigures { rounds: 0, iterations: 0, max_working_set: 0, gap: f64::INFINITY };
    loop {
        let (gap, m_up, m_low) = kkt_gap(y, &dual.alpha, &dual.wx, c);
        figures.gap = gap;
        if gap <= eps || figures.rounds >= params.max_rounds {
            return figures;
        }
        figures.rounds += 1;
        let next = working_rows(y, dual, c, eps, (m_up, m_low), params.violators_per_round);
        set.update(x, dim, &mut position, next);
        figures.max_working_set = figures.max_working_set.max(set.rows.len());

        let mut sub_alpha: Vec<f64> = set.rows.iter().map(|&r| dual.alpha[r]).collect();
        let mut sub_grad: Vec<f64> = set.rows.iter().map(|&r| y[r] * dual.wx[r] - 1.0).collect();
        // Solve a little tighter than the outer criterion so one round can finish the job.
        figures.iterations += solve_subproblem(&set, y, &mut sub_alpha, &mut sub_grad, c, eps * 0.5);
        for (p, &r) in set.rows.iter().enumerate() {
            let delta = sub_alpha[p] - dual.alpha[r];
            if delta != 0.0 {
                dual.alpha[r] = sub_alpha[p];
                add_scaled(&mut dual.w, delta * y[r], &x[r * dim..(r + 1) * dim]);
            }
        }
        for (a, b) in w32.iter_mut().zip(&dual.w) {
            *a = *b as f32;
        }
        gemv(x, &w32, &mut dual.wx);
    }
}

/// The next working set: the free support vectors plus the `per_side` worst violators of each
/// side, given the extremes `(m, M)` of the KKT conditions; sorted, without repeats.
fn working_rows(y: &[f64], dual: &Dual, c: f64, eps: f64, (m_up, m_low): (f64, f64), per_side: usize) -> Vec<usize> {
    let mut up = Vec::new();
    let mut low = Vec::new();
    let mut next = Vec::new();
    for (i, (&yi, (&alpha, &wx))) in y.iter().zip(dual.alpha.iter().zip(&dual.wx)).enumerate() {
        let v = yi - wx;
        if alpha > 0.0 && alpha < c {
            next.push(i);
            continue;
        }
        if in_up(yi, alpha, c) && v > m_low + eps * 0.5 {
            up.push((-v, i));
        }
        if in_low(yi, alpha, c) && v < m_up - eps * 0.5 {
            low.push((v, i));
        }
    }
    next.extend(take_smallest(&mut up, per_side));
    next.extend(take_smallest(&mut low, per_side));
    next.sort_unstable();
    next.dedup();
    next
}

const TAU: f64 = 1e-12;

/// The working set and its kernel block `K[a][b] = x_a . x_b` (float32, row-major).
struct WorkingSet {
    rows: Vec<usize>,
    kernel: Vec<f32>,
}

impl WorkingSet {
    /// Replaces the set by `rows`, reusing the kernel entries of rows already present.
    fn update(&mut self, x: &[f32], dim: usize, position: &mut [u32], rows: Vec<usize>) {
        let old_rows = std::mem::take(&mut self.rows);
        let old_m = old_rows.len();
        let old_kernel = std::mem::take(&mut self.kernel);
        // Order: kept rows first (their block is copied), new rows after (computed).
        let (kept, fresh): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&r| position[r] != u32::MAX);
        let old_pos: Vec<usize> = kept.iter().map(|&r| position[r] as usize).collect();
        for &r in &old_rows {
            position[r] = u32::MAX;
        }
        let mut ordered = kept;
        let kept_m = ordered.len();
        ordered.extend(fresh);
        let m = ordered.len();
        for (p, &r) in ordered.iter().enumerate() {
            position[r] = p as u32;
        }
        let mut kernel = vec![0f32; m * m];
        for (a, &pa) in old_pos.iter().enumerate() {
            for (b, &pb) in old_pos.iter().enumerate() {
                kernel[a * m + b] = old_kernel[pa * old_m + pb];
            }
        }
        let new_m = m - kept_m;
        if new_m > 0 {
            let gather = |list: &[usize]| -> Vec<f32> {
                let mut g = Vec::with_capacity(list.len() * dim);
                for &r in list {
                    g.extend_from_slice(&x[r * dim..(r + 1) * dim]);
                }
                g
            };
            let all = gather(&ordered);
            let fresh_rows = &all[kept_m * dim..];
            // block[f][b] = x_fresh[f] . x_all[b], an (new_m x m) product.
            let mut block = vec![0f32; new_m * m];
            // SAFETY: the pointers and strides describe the three buffers above exactly:
            // A is new_m x dim row-major, B = all^T is dim x m (column stride dim), C is new_m x m.
            unsafe {
                crate::dense::gemm(
                    [new_m, dim, m],
                    1.0,
                    (fresh_rows.as_ptr(), [dim as isize, 1]),
                    (all.as_ptr(), [1, dim as isize]),
                    0.0,
                    (block.as_mut_ptr(), [m as isize, 1]),
                );
            }
            for f in 0..new_m {
                for b in 0..m {
                    let v = block[f * m + b];
                    kernel[(kept_m + f) * m + b] = v;
                    kernel[b * m + kept_m + f] = v;
                }
            }
        }
        self.rows = ordered;
        self.kernel = kernel;
    }
}

/// Index sets of the dual: whether `alpha_i` may move up (`I_up`) or down (`I_low`) in the
/// direction `y_i`.
#[inline]
fn in_up(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 { alpha < c } else { alpha > 0.0 }
}

#[inline]
fn in_low(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 { alpha > 0.0 } else { alpha < c }
}

/// libsvm's maximal violation `m(alpha) - M(alpha)`, with `m = max_{I_up} -y G`,
/// `M = min_{I_low} -y G` and `G_i = y_i w.x_i - 1` (so `-y_i G_i = y_i - w.x_i`); returns
/// `(gap, m, M)`.
pub(crate) fn kkt_gap(y: &[f64], alpha: &[f64], wx: &[f64], c: f64) -> (f64, f64, f64) {
    let mut m_up = f64::NEG_INFINITY;
    let mut m_low = f64::INFINITY;
    for i in 0..y.len() {
        let v = y[i] - wx[i];
        if in_up(y[i], alpha[i], c) {
            m_up = m_up.max(v);
        }
        if in_low(y[i], alpha[i], c) {
            m_low = m_low.min(v);
        }
    }
    (m_up - m_low, m_up, m_low)
}

/// Solves the dual restricted to the working set by SMO; `grad` holds the set's gradients on
/// entry and is kept current. Returns the number of pair updates.
fn solve_subproblem(set: &WorkingSet, y: &[f64], alpha: &mut [f64], grad: &mut [f64], c: f64, eps: f64) -> u64 {
    let m = set.rows.len();
    let k = &set.kernel;
    let ys: Vec<f64> = set.rows.iter().map(|&r| y[r]).collect();
    let diag: Vec<f64> = (0..m).map(|a| k[a * m + a] as f64).collect();
    let max_iterations = (100 * m as u64).max(10_000_000);
    let mut iterations = 0u64;
    while iterations < max_iterations {
        // libsvm's WSS 2: i maximises -y G over I_up; j minimises the second-order gain.
        let mut gmax = f64::NEG_INFINITY;
        let mut i = usize::MAX;
        for t in 0..m {
            if in_up(ys[t], alpha[t], c) {
                let v = -ys[t] * grad[t];
                if v >= gmax {
                    gmax = v;
                    i = t;
                }
            }
        }
        if i == usize::MAX {
            break;
        }
        let ki = &k[i * m..(i + 1) * m];
        let mut gmax2 = f64::NEG_INFINITY;
        let mut best = f64::INFINITY;
        let mut j = usize::MAX;
        for t in 0..m {
            if in_low(ys[t], alpha[t], c) {
                let v = ys[t] * grad[t];
                if v >= gmax2 {
                    gmax2 = v;
                }
                let diff = gmax + v;
                if diff > 0.0 {
                    let quad = diag[i] + diag[t] - 2.0 * ki[t] as f64;
                    let gain = -(diff * diff) / if quad > 0.0 { quad } else { TAU };
                    if gain <= best {
                        best = gain;
                        j = t;
                    }
                }
            }
        }
        if gmax + gmax2 < eps || j == usize::MAX {
            break;
        }
        iterations += 1;
        let kj = &k[j * m..(j + 1) * m];
        let (yi, yj) = (ys[i], ys[j]);
        let (old_i, old_j) = (alpha[i], alpha[j]);
        let quad = (diag[i] + diag[j] - 2.0 * ki[j] as f64).max(TAU);
        let (new_i, new_j) = clipped_pair_step((alpha[i], alpha[j]), (grad[i], grad[j]), yi == yj, quad, c);
        alpha[i] = new_i;
        alpha[j] = new_j;
        let di = (alpha[i] - old_i) * yi;
        let dj = (alpha[j] - old_j) * yj;
        // G_t += Q_ti dalpha_i + Q_tj dalpha_j, with Q_ts = y_t y_s K_ts.
        for t in 0..m {
            grad[t] += ys[t] * (ki[t] as f64 * di + kj[t] as f64 * dj);
        }
    }
    iterations
}

/// libsvm's analytic step for one pair: moves `(alpha_i, alpha_j)` along `y_i e_i - y_j e_j` (which
/// keeps `sum(y alpha)` fixed) by the Newton step `-(gradient)/quad`, clipped to the box `[0, C]^2`.
fn clipped_pair_step(
    (mut ai, mut aj): (f64, f64),
    (gi, gj): (f64, f64),
    same_label: bool,
    quad: f64,
    c: f64,
) -> (f64, f64) {
    if !same_label {
        let delta = (-gi - gj) / quad;
        let diff = ai - aj;
        ai += delta;
        aj += delta;
        if diff > 0.0 {
            if aj < 0.0 {
                (ai, aj) = (diff, 0.0);
            }
        } else if ai < 0.0 {
            (ai, aj) = (0.0, -diff);
        }
        if diff > 0.0 {
            if ai > c {
                (ai, aj) = (c, c - diff);
            }
        } else if aj > c {
            (ai, aj) = (c + diff, c);
        }
    } else {
        let delta = (gi - gj) / quad;
        let sum = ai + aj;
        ai -= delta;
        aj += delta;
        if sum > c {
            if ai > c {
                (ai, aj) = (c, sum - c);
            }
        } else if aj < 0.0 {
            (ai, aj) = (sum, 0.0);
        }
        if sum > c {
            if aj > c {
                (ai, aj) = (sum - c, c);
            }
        } else if ai < 0.0 {
            (ai, aj) = (0.0, sum);
        }
    }
    (ai, aj)
}

/// The `count` entries with the smallest keys (all of them if fewer), in no particular order.
fn take_smallest(items: &mut [(f64, usize)], count: usize) -> Vec<usize> {
    if items.len() > count {
        items.select_nth_unstable_by(count, |a, b| a.0.total_cmp(&b.0));
    }
    items.iter().take(count).map(|&(_, i)| i).collect()
}
