//! SeFa against genforce/sefa's own computation (`fixtures/golden/sefa/make_golden.py`, numpy) on
//! the golden PGGAN, StyleGAN and StyleGAN2 weights: directions equal up to sign, eigenvalues equal.

use std::path::{Path, PathBuf};

use interfacegan::generator::{Architecture, Weights, latent_weights};
use interfacegan::io::read_f64;
use interfacegan::subspace::sefa;

fn golden(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden").join(path)
}

/// The official rows and eigenvalues, sorted by eigenvalue descending.
fn official(name: &str) -> (Vec<Vec<f64>>, Vec<f64>) {
    let vectors = read_f64(golden(&format!("sefa/{name}_directions.npy"))).unwrap().into_data();
    let values = read_f64(golden(&format!("sefa/{name}_eigenvalues.npy"))).unwrap().into_data();
    let dim = values.len();
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let rows = order.iter().map(|&i| vectors[i * dim..(i + 1) * dim].to_vec()).collect();
    (rows, order.iter().map(|&i| values[i]).collect())
}

fn check(file: &str, architecture: Architecture, layers: Option<&[usize]>, name: &str, k: usize) {
    let weights = Weights::from_file(golden(file)).unwrap();
    let gathered = latent_weights(&weights, architecture, layers).unwrap();
    let blocks: Vec<&[f32]> = gathered.blocks.iter().map(|(_, rows)| rows.as_slice()).collect();
    let ours = sefa(&blocks, gathered.dim, k).unwrap();
    let (rows, values) = official(name);
    for i in 0..k {
        let rel = (ours.eigenvalues[i] - values[i]).abs() / values[i];
        assert!(rel < 1e-5, "{name}: eigenvalue {i}: {} vs {}", ours.eigenvalues[i], values[i]);
        let dot: f64 = ours.directions[i].iter().zip(&rows[i]).map(|(a, b)| a * b).sum();
        let sign = dot.signum();
        let diff = ours.directions[i].iter().zip(&rows[i]).map(|(a, b)| (a - sign * b).abs()).fold(0.0, f64::max);
        assert!(diff < 1e-5, "{name}: direction {i} differs by {diff}");
    }
}

#[test]
fn pggan_matches_the_official_factorization() {
    check("pggan64/weights.safetensors", Architecture::Pggan, None, "pggan64_all", 10);
}

#[test]
fn stylegan_matches_the_official_factorization_on_all_and_on_some_layers() {
    let file = "stylegan64/weights.safetensors";
    check(file, Architecture::StyleGan, None, "stylegan64_all", 10);
    check(file, Architecture::StyleGan, Some(&[2, 3, 4, 5]), "stylegan64_2-5", 10);
}

#[test]
fn stylegan2_matches_the_official_factorization_in_sefa_s_own_layout() {
    // genforce/sefa's StyleGAN2 checkpoint (generator_smooth), read through the loader's renaming.
    check("genforce/genforce_32.pth", Architecture::StyleGan2, None, "stylegan2_genforce32_all", 10);
}

#[test]
fn nvidia_pickles_give_one_block_per_w_plus_layer() {
    let weights = Weights::from_file(golden("nvlabs/sg2_32_orig.pkl")).unwrap();
    let gathered = latent_weights(&weights, Architecture::StyleGan2, None).unwrap();
    assert_eq!(gathered.layers, (0..8).collect::<Vec<_>>());
    assert_eq!(gathered.blocks[0].0, "synthesis.b4.conv1.affine.weight");
    assert_eq!(gathered.blocks[7].0, "synthesis.b32.torgb.affine.weight");
    let blocks: Vec<&[f32]> = gathered.blocks.iter().map(|(_, rows)| rows.as_slice()).collect();
    let f = sefa(&blocks, gathered.dim, 3).unwrap();
    assert!(f.eigenvalues.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn stylegan3_gives_the_affine_of_every_synthesis_layer() {
    for name in ["nvlabs/sg3t_64.pkl", "nvlabs/sg3r_64.pkl"] {
        let weights = Weights::from_file(golden(name)).unwrap();
        let gathered = latent_weights(&weights, Architecture::StyleGan3, None).unwrap();
        let layers = gathered.layers.len();
        assert_eq!(gathered.layers, (1..=layers).collect::<Vec<_>>(), "{name}: all = the synthesis layers");
        assert!(gathered.blocks[0].0.starts_with("synthesis.L0_") && gathered.blocks[0].0.ends_with(".affine.weight"));
        // Each block is that layer's affine: one row per input channel it modulates.
        for (key, rows) in &gathered.blocks {
            let t = weights.tensor(key).unwrap();
            assert_eq!((&t.shape[1], &t.values), (&gathered.dim, rows), "{key}");
        }
        let input = latent_weights(&weights, Architecture::StyleGan3, Some(&[0])).unwrap();
        assert_eq!(input.blocks[0].0, "synthesis.input.affine.weight");
        let err = latent_weights(&weights, Architecture::StyleGan3, Some(&[layers + 1])).unwrap_err().to_string();
        assert!(err.contains(&format!("layers within 0..{}", layers + 1)), "{err}");

        // The factorization's defining property: A^T A v = lambda v for the unit-row matrix A.
        let blocks: Vec<&[f32]> = gathered.blocks.iter().map(|(_, rows)| rows.as_slice()).collect();
        let f = sefa(&blocks, gathered.dim, 3).unwrap();
        let d = gathered.dim;
        let unit_rows: Vec<Vec<f64>> = blocks
            .iter()
            .flat_map(|b| b.chunks(d))
            .map(|r| {
                let norm = r.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
                r.iter().map(|&v| v as f64 / norm).collect()
            })
            .collect();
        for (v, lambda) in f.directions.iter().zip(&f.eigenvalues) {
            let av: Vec<f64> = unit_rows.iter().map(|r| r.iter().zip(v).map(|(a, b)| a * b).sum()).collect();
            for j in 0..d {
                let atav: f64 = unit_rows.iter().zip(&av).map(|(r, x)| r[j] * x).sum();
                assert!((atav - lambda * v[j]).abs() < 1e-9 * lambda.max(1.0), "{name}: column {j}");
            }
        }
    }
}

#[test]
fn generators_without_such_layers_are_refused_by_name() {
    let weights = Weights::from_file(golden("pggan64/weights.safetensors")).unwrap();
    let err = latent_weights(&weights, Architecture::Pggan, Some(&[3])).unwrap_err().to_string();
    assert!(err.contains("layers within 0..1"), "{err}");
    let err = latent_weights(&weights, Architecture::StyleGan, None).unwrap_err().to_string();
    assert!(err.contains("not a StyleGAN"), "{err}");
    let sg = Weights::from_file(golden("stylegan64/weights.safetensors")).unwrap();
    let err = latent_weights(&sg, Architecture::StyleGan, Some(&[10])).unwrap_err().to_string();
    assert!(err.contains("layers within 0..10"), "{err}");
}
