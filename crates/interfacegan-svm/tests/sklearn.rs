//! The linear SVM against sklearn's SVC(kernel='linear'), the official classifier, on the same rows
//! (fixtures/svm, made by fixtures/svm/make_svm_fixture.py).

use std::path::{Path, PathBuf};

use interfacegan_io::{read_f32, read_f64};
use interfacegan_svm::{LinearSvm, SvmParams, train_linear_svm};

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/svm").join(case)
}

struct Case {
    x_train: Vec<f32>,
    y_train: Vec<bool>,
    x_val: Vec<f32>,
    y_val: Vec<bool>,
    dim: usize,
    coef: Vec<f64>,
    info: serde_json::Value,
}

fn load(case: &str) -> Case {
    let d = dir(case);
    let x = read_f32(d.join("x_train.npy")).unwrap();
    let dim = x.shape()[1];
    let labels = |name: &str| read_f32(d.join(name)).unwrap().data().iter().map(|&v| v > 0.5).collect::<Vec<bool>>();
    Case {
        x_train: x.into_data(),
        y_train: labels("y_train.npy"),
        x_val: read_f32(d.join("x_val.npy")).unwrap().into_data(),
        y_val: labels("y_val.npy"),
        dim,
        coef: read_f64(d.join("sklearn_coef.npy")).unwrap().into_data(),
        info: serde_json::from_str(&std::fs::read_to_string(d.join("info.json")).unwrap()).unwrap(),
    }
}

fn accuracy(model: &LinearSvm, x: &[f32], y: &[bool], dim: usize) -> f64 {
    let correct = x.chunks(dim).zip(y).filter(|(row, label)| (model.decision(row) > 0.0) == **label).count();
    correct as f64 / y.len() as f64
}

fn check(case: &str, params: &SvmParams) {
    let c = load(case);
    let (model, report) = train_linear_svm(&c.x_train, c.dim, &c.y_train, params).unwrap();
    assert!(report.converged && report.kkt_gap <= 1e-3, "{report:?}");
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let cosine =
        model.weights.iter().zip(&c.coef).map(|(a, b)| a * b).sum::<f64>() / (norm(&model.weights) * norm(&c.coef));
    assert!(cosine >= 0.9999, "{case}: cosine {cosine} to sklearn's normal");
    let sk_bias = c.info["intercept"].as_f64().unwrap() / norm(&c.coef);
    let bias = model.bias / norm(&model.weights);
    assert!((bias - sk_bias).abs() < 5e-3, "{case}: intercept {bias} vs sklearn {sk_bias}");
    let val = accuracy(&model, &c.x_val, &c.y_val, c.dim);
    let sk_val = c.info["val_accuracy"].as_f64().unwrap();
    assert!((val - sk_val).abs() <= 0.005, "{case}: validation accuracy {val} vs sklearn {sk_val}");
    let sk_support = c.info["n_support"].as_u64().unwrap() as usize;
    assert!(
        report.support_vectors.abs_diff(sk_support) <= sk_support / 20 + 2,
        "{case}: {} vs {sk_support} SVs",
        report.support_vectors
    );
}

#[test]
fn separable_matches_sklearn() {
    check("separable", &SvmParams::default());
}

#[test]
fn noisy_matches_sklearn() {
    check("noisy", &SvmParams::default());
}

#[test]
fn smo_alone_matches_sklearn() {
    let params = SvmParams::default().primal_newton(false);
    check("separable", &params);
    check("noisy", &params);
}

#[test]
fn label_flip_mirrors_the_solution() {
    let c = load("noisy");
    let flipped: Vec<bool> = c.y_train.iter().map(|l| !l).collect();
    let (a, _) = train_linear_svm(&c.x_train, c.dim, &c.y_train, &SvmParams::default()).unwrap();
    let (b, _) = train_linear_svm(&c.x_train, c.dim, &flipped, &SvmParams::default()).unwrap();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let cosine =
        a.weights.iter().zip(&b.weights).map(|(x, y)| x * y).sum::<f64>() / (norm(&a.weights) * norm(&b.weights));
    assert!(cosine < -0.9999, "{cosine}");
}

/// Random problems of many shapes (fewer rows than dimensions, duplicated rows, heavy overlap):
/// the three-stage solver and SMO alone must reach the same optimum.
#[test]
fn stages_agree_with_smo_alone_on_varied_problems() {
    use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for (case, (n, dim, noise)) in
        [(40, 64, 0.0), (300, 8, 0.1), (500, 16, 2.0), (200, 3, 5.0), (1000, 32, 0.5)].into_iter().enumerate()
    {
        let mut x: Vec<f32> = (0..n * dim).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        // Duplicate a tenth of the rows.
        for i in 0..n / 10 {
            let (src, dst) = (i * dim, (n - 1 - i) * dim);
            let row: Vec<f32> = x[src..src + dim].to_vec();
            x[dst..dst + dim].copy_from_slice(&row);
        }
        let labels: Vec<bool> =
            x.chunks(dim).map(|r| r[0] + 0.5 * r[dim - 1] + noise * (rng.random::<f32>() - 0.5) > 0.0).collect();
        let (a, ra) = train_linear_svm(&x, dim, &labels, &SvmParams::default()).unwrap();
        let smo = SvmParams::default().primal_newton(false);
        let (b, rb) = train_linear_svm(&x, dim, &labels, &smo).unwrap();
        assert!(ra.converged && rb.converged, "case {case}");
        // Both are eps-optimal: their dual objectives agree to a small fraction.
        let scale = ra.dual_objective.abs().max(1.0);
        assert!((ra.dual_objective - rb.dual_objective).abs() < 1e-2 * scale, "case {case}: {ra:?} {rb:?}");
        let norm = |v: &[f64]| v.iter().map(|t| t * t).sum::<f64>().sqrt();
        let cosine =
            a.weights.iter().zip(&b.weights).map(|(p, q)| p * q).sum::<f64>() / (norm(&a.weights) * norm(&b.weights));
        assert!(cosine > 0.999, "case {case}: cosine {cosine}");
    }
}

/// Rows that cannot be told apart: the optimum is w = 0; the fit ends (no hang, no NaN).
#[test]
fn indistinguishable_rows_end_cleanly() {
    let x = vec![0.5f32; 20 * 4];
    let labels: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
    let (model, report) = train_linear_svm(&x, 4, &labels, &SvmParams::default()).unwrap();
    assert!(model.weights.iter().all(|w| w.is_finite() && w.abs() < 1e-6), "{model:?}");
    assert!(model.bias.is_finite());
    assert!(report.converged, "{report:?}");
}
