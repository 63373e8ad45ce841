//! `Boundary`: the official file format, its metadata, and `fit` on whole data sets.

use std::path::{Path, PathBuf};

use interfacegan_boundary::{Boundary, BoundaryError, CodeSlice, FitOptions};
use interfacegan_io::{MappedMatrix, NpyArray, read_header, write_npy};
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use rand_distr::StandardNormal;

fn official(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/boundaries/official").join(name)
}

fn gaussian_codes(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * dim).map(|_| rng.sample(StandardNormal)).collect()
}

#[test]
fn reads_official_f8_files_and_writes_f4_with_metadata() {
    let b = Boundary::load(official("pggan_celebahq_smile_boundary.npy")).unwrap();
    assert_eq!(b.dim(), 512);
    assert!(b.bias().is_none() && b.attribute().is_none(), "no sidecar next to official files");
    let raw = interfacegan_io::read_f64(official("pggan_celebahq_smile_boundary.npy")).unwrap();
    let max_diff = b.normal().iter().zip(raw.data()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(max_diff < 1e-15, "unit files load unchanged: {max_diff:e}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smile_boundary.npy");
    let tagged = b.clone().with_attribute("smile").with_latent_space("z").with_bias(0.25);
    tagged.save(&out, false).unwrap();
    let header = read_header(&out).unwrap();
    assert_eq!((header.shape.clone(), header.element_size), (vec![1, 512], 4), "official layout: (1, D) float32");
    let back = Boundary::load(&out).unwrap();
    assert_eq!(back.attribute(), Some("smile"));
    assert_eq!(back.latent_space(), Some("z"));
    assert_eq!(back.bias(), Some(0.25));
    let diff = back.normal().iter().zip(b.normal()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff < 1e-7);
    // No silent overwrite of either file.
    assert!(matches!(tagged.save(&out, false), Err(BoundaryError::Io(_))));
    tagged.save(&out, true).unwrap();
    // Without its sidecar the file still loads.
    std::fs::remove_file(Boundary::metadata_path(&out)).unwrap();
    assert!(Boundary::load(&out).unwrap().attribute().is_none());
}

#[test]
fn bad_boundary_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong_shape.npy");
    write_npy(&wrong, &NpyArray::new(vec![2, 3], vec![1.0f32; 6]).unwrap(), false).unwrap();
    let err = Boundary::load(&wrong).unwrap_err().to_string();
    assert!(err.contains("wrong_shape.npy") && err.contains("[2, 3]"), "{err}");
    let zero = dir.path().join("zero.npy");
    write_npy(&zero, &NpyArray::new(vec![1, 3], vec![0.0f32; 3]).unwrap(), false).unwrap();
    let err = Boundary::load(&zero).unwrap_err().to_string();
    assert!(err.contains("zero.npy") && err.contains("zero vector"), "{err}");
    let stale = dir.path().join("stale.npy");
    Boundary::from_normal(&[1.0, 0.0, 0.0]).unwrap().save(&stale, false).unwrap();
    write_npy(&stale, &NpyArray::new(vec![1, 2], vec![1.0f32, 0.0]).unwrap(), true).unwrap();
    let err = Boundary::load(&stale).unwrap_err().to_string();
    assert!(err.contains("stale.json") && err.contains("dimension 3"), "{err}");
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not numpy").unwrap();
    assert!(Boundary::load(&garbage).unwrap_err().to_string().contains("garbage.npy"));
}

#[test]
fn fit_recovers_a_planted_direction_and_reports() {
    let (n, dim) = (20_000, 24);
    let codes = gaussian_codes(n, dim, 3);
    let truth: Vec<f64> = (0..dim).map(|k| if k < 3 { 1.0 } else { 0.0 }).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let scores: Vec<f32> = codes
        .chunks(dim)
        .map(|z| {
            (z.iter().zip(&truth).map(|(a, b)| *a as f64 * b).sum::<f64>() + 0.3 * rng.sample::<f64, _>(StandardNormal))
                as f32
        })
        .collect();
    let options = FitOptions::default().seed(9).attribute("planted").latent_space("z");
    let (boundary, report) = Boundary::fit(&codes, dim, &scores, &options).unwrap();
    let cosine: f64 = boundary.normal().iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>() / 3f64.sqrt();
    assert!(cosine > 0.98, "planted direction recovered: {cosine}");
    assert_eq!(report.chosen_per_side, 400);
    assert_eq!((report.train_samples, report.val_samples, report.remaining_samples), (560, 240, 19_200));
    assert!(report.val_accuracy.unwrap() > 0.97);
    let remaining = report.remaining_accuracy.unwrap();
    assert!(remaining > 0.7 && remaining < 1.0, "{remaining}");
    assert!(report.svm.converged);
    assert_eq!(report.train_indices.len(), 560);
    assert!(report.train_indices[..280].iter().all(|&i| scores[i] > report.remaining_threshold));
    assert_eq!(boundary.attribute(), Some("planted"));
    assert!(boundary.bias().is_some());
    // The same seed gives the same boundary; the official "remaining" pass can be skipped.
    let (again, report2) = Boundary::fit(&codes, dim, &scores, &options.clone().skip_remaining(true)).unwrap();
    assert_eq!(again.normal(), boundary.normal());
    assert!(report2.remaining_accuracy.is_none());
    // Scores shaped [N, 1] work the same (a flat slice either way), and so does an invalid value.
    let mut marked = scores.clone();
    marked[0] = -999.0;
    let (_, report3) = Boundary::fit(&codes, dim, &marked, &FitOptions::default().invalid_value(Some(-999.0))).unwrap();
    assert_eq!(report3.invalid_samples, 1);
}

#[test]
fn fit_rejects_bad_input() {
    let codes = gaussian_codes(100, 4, 1);
    let scores: Vec<f32> = codes.chunks(4).map(|z| z[0]).collect();
    let err = Boundary::fit(&codes, 4, &scores[..99], &FitOptions::default()).unwrap_err().to_string();
    assert!(err.contains("100 latent codes but 99 scores"), "{err}");
    let err = Boundary::fit(&codes[..7], 4, &scores, &FitOptions::default()).unwrap_err().to_string();
    assert!(err.contains("dimension 4"), "{err}");
    let err =
        Boundary::fit(&codes, 4, &scores, &FitOptions::default().chosen_num_or_ratio(0.0)).unwrap_err().to_string();
    assert!(err.contains("chosen_num_or_ratio"), "{err}");
    let err =
        Boundary::fit(&codes, 4, &scores, &FitOptions::default().chosen_num_or_ratio(0.001)).unwrap_err().to_string();
    assert!(err.contains("no sample"), "{err}");
    let mut bad = codes.clone();
    let top = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    bad[top * 4 + 2] = f32::NAN;
    let err = Boundary::fit(&bad, 4, &scores, &FitOptions::default().chosen_num_or_ratio(0.2)).unwrap_err().to_string();
    assert!(err.contains(&format!("code row {top}")), "{err}");
    // In a training row: named by its code row and column, not its place in the training set.
    let (_, report) = Boundary::fit(&codes, 4, &scores, &FitOptions::default().chosen_num_or_ratio(0.2)).unwrap();
    let trained = report.train_indices[report.train_indices.len() - 1];
    let mut bad = codes.clone();
    bad[trained * 4 + 1] = f32::INFINITY;
    let err = Boundary::fit(&bad, 4, &scores, &FitOptions::default().chosen_num_or_ratio(0.2)).unwrap_err().to_string();
    assert!(err.contains(&format!("code row {trained} holds a non-finite value at column 1")), "{err}");
}

#[test]
fn a_code_file_fits_like_the_same_codes_in_memory() {
    let (n, dim) = (2_000, 16);
    let codes = gaussian_codes(n, dim, 3);
    let scores: Vec<f32> =
        codes.chunks(dim).enumerate().map(|(i, z)| z[0] + 0.3 * ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.npy");
    write_npy(&path, &NpyArray::new(vec![n, dim], codes.clone()).unwrap(), false).unwrap();
    let options = FitOptions::default().chosen_num_or_ratio(0.1).seed(5);
    let (in_memory, a) = Boundary::fit(&codes, dim, &scores, &options).unwrap();
    let (from_file, b) = Boundary::fit_codes(&MappedMatrix::open(&path).unwrap(), &scores, &options).unwrap();
    assert_eq!(in_memory.normal(), from_file.normal());
    assert_eq!(
        (a.train_accuracy, a.val_accuracy, a.remaining_accuracy),
        (b.train_accuracy, b.val_accuracy, b.remaining_accuracy)
    );
    assert!(a.remaining_accuracy.unwrap() > 0.5);
    // A non-finite value in a row that is neither trained on nor validated: named by the remaining pass.
    let mut bad = codes.clone();
    let remaining_row = (0..n).find(|i| !a.train_indices.contains(i) && !a.val_indices.contains(i)).unwrap();
    bad[remaining_row * dim + 3] = f32::INFINITY;
    write_npy(&path, &NpyArray::new(vec![n, dim], bad).unwrap(), true).unwrap();
    let err = Boundary::fit_codes(&MappedMatrix::open(&path).unwrap(), &scores, &options).unwrap_err().to_string();
    assert!(err.contains(&format!("code row {remaining_row}")), "{err}");
    let err = CodeSlice::new(&codes[..5], 4).unwrap_err().to_string();
    assert!(err.contains("dimension 4"), "{err}");
}

/// Rows that cannot be told apart give the SVM optimum w = 0, of which no boundary can be made: a
/// named error.
#[test]
fn indistinguishable_rows_give_no_boundary() {
    let x = vec![0.5f32; 20 * 4];
    let labels: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
    let (model, _) =
        interfacegan_svm::train_linear_svm(&x, 4, &labels, &interfacegan_svm::SvmParams::default()).unwrap();
    let err = Boundary::from_svm(&model).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("zero"), "{err}");
}
