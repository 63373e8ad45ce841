//! The `interfacegan` binary end to end: files, formats, refusals and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use interfacegan::io::{NpyArray, read_f32, read_f64, read_header, write_npy};
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use rand_distr::StandardNormal;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_interfacegan"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn official(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/boundaries/official")
        .join(format!("{name}_boundary.npy"))
        .to_string_lossy()
        .into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Codes [n, dim] and scores [n, 1] whose score follows the first coordinate.
fn write_data(dir: &Path, n: usize, dim: usize) -> (PathBuf, PathBuf) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let codes: Vec<f32> = (0..n * dim).map(|_| rng.sample(StandardNormal)).collect();
    let scores: Vec<f32> = codes.chunks(dim).map(|z| z[0] + 0.2 * z[1]).collect();
    let c = dir.join("z.npy");
    let s = dir.join("smile_scores.npy");
    write_npy(&c, &NpyArray::new(vec![n, dim], codes).unwrap(), false).unwrap();
    write_npy(&s, &NpyArray::new(vec![n, 1], scores).unwrap(), false).unwrap();
    (c, s)
}

#[test]
fn train_boundary_writes_official_files_and_refuses_to_clobber() {
    let dir = tempfile::tempdir().unwrap();
    let (codes, scores) = write_data(dir.path(), 5_000, 16);
    let out = dir.path().join("smile");
    let args = [
        "train-boundary",
        "-c",
        codes.to_str().unwrap(),
        "-s",
        scores.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-n",
        "0.05",
        "--seed",
        "3",
        "--attribute",
        "smile",
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("validation") && text.contains("250 per side"), "{text}");
    let header = read_header(out.join("boundary.npy")).unwrap();
    assert_eq!((header.shape, header.element_size), (vec![1, 16], 4));
    let normal = read_f32(out.join("boundary.npy")).unwrap();
    assert!(normal.data()[0] > 0.9);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("boundary.json")).unwrap()).unwrap();
    assert_eq!(meta["attribute"], "smile");
    assert_eq!(meta["fit"]["train_samples"], 350);
    let train = read_f64(out.join("train_indices.npy")).unwrap();
    assert_eq!(train.shape(), &[350]);
    assert!(train.data().iter().all(|&i| (0.0..5_000.0).contains(&i) && i.fract() == 0.0));
    assert_eq!(read_header(out.join("val_indices.npy")).unwrap().shape, vec![150]);

    let before = std::fs::read(out.join("boundary.npy")).unwrap();
    let again = run(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    assert_eq!(stderr(&again).lines().count(), 1, "one clear line");
    assert_eq!(std::fs::read(out.join("boundary.npy")).unwrap(), before, "nothing overwritten");
    let mut forced = args.to_vec();
    forced.extend(["--force", "--json"]);
    let o = run(&forced);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report["val_accuracy"].as_f64().unwrap() > 0.95);
}

#[test]
fn train_boundary_bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (codes, _) = write_data(dir.path(), 200, 4);
    let short = dir.path().join("short.npy");
    write_npy(&short, &NpyArray::new(vec![150], vec![0.5f32; 150]).unwrap(), false).unwrap();
    let wide = dir.path().join("wide.npy");
    write_npy(&wide, &NpyArray::new(vec![200, 2], vec![0.5f32; 400]).unwrap(), false).unwrap();
    let missing = dir.path().join("missing.npy");
    let out = dir.path().join("out");
    let cases: [(&Path, &str); 3] = [(&short, "150 scores"), (&wide, "shape [N] or [N, 1]"), (&missing, "missing.npy")];
    for (scores, expected) in cases {
        let o = run(&[
            "train-boundary",
            "-c",
            codes.to_str().unwrap(),
            "-s",
            scores.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let e = stderr(&o);
        assert!(e.contains(expected) && e.lines().count() == 1, "{e}");
    }
    assert!(!out.exists(), "no output folder for failed runs");
}

#[test]
fn project_reproduces_official_conditional_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("age_c_gender_eyeglasses.npy");
    let o = run(&[
        "project",
        &official("pggan_celebahq_age"),
        "-c",
        &official("pggan_celebahq_gender"),
        "-c",
        &official("pggan_celebahq_eyeglasses"),
        "-o",
        out.to_str().unwrap(),
        "--f64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = read_f64(&out).unwrap();
    let theirs = read_f64(official("pggan_celebahq_age_c_gender_eyeglasses")).unwrap();
    assert_eq!(ours.shape(), &[1, 512]);
    let diff = ours.data().iter().zip(theirs.data()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff < 1e-12, "{diff:e}");
    let again =
        run(&["project", &official("pggan_celebahq_age"), "-c", &official("pggan_celebahq_age"), "-o", "x.npy"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("span of the conditions"), "{}", stderr(&again));
    let o = run(&[
        "project",
        &official("pggan_celebahq_age"),
        "-c",
        &official("pggan_celebahq_gender"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "existing output kept");
}

#[test]
fn metrics_print_labelled_matrices() {
    let o = run(&["metrics", "cosine", &official("pggan_celebahq_age"), &official("pggan_celebahq_gender"), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["labels"][1], "pggan_celebahq_gender");
    let c = v["matrix"][0][1].as_f64().unwrap();
    assert!((c - 0.486).abs() < 5e-4, "{c}");
    let table = run(&["metrics", "cosine", &official("pggan_celebahq_age"), &official("pggan_celebahq_gender")]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("pggan_celebahq_age") && text.contains("0.48"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let (_, smile) = write_data(dir.path(), 100, 3);
    let o = run(&["metrics", "correlation", smile.to_str().unwrap(), smile.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((v["matrix"][0][1].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(v["labels"][0], "smile");
}
