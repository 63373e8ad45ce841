//! `interfacegan invert`, `edit --image` and `train-encoder` end to end (few steps: the quality
//! bars are checked in the inversion crate's tests and docs/inversion.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use interfacegan::io::{NpyArray, read_f32, read_header, write_npy};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).args(args).output().unwrap()
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel).to_str().unwrap().to_string()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A face the DCGAN drew, as a PNG.
fn generated_face(dir: &Path) -> PathBuf {
    let out = dir.join("faces");
    let o = run(&["generate", "-n", "1", "--seed", "5", "-o", path(&out)]);
    assert!(o.status.success(), "{}", text(&o));
    out.join("000000.png")
}

#[test]
fn invert_writes_codes_pairs_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let face = generated_face(dir.path());
    let photo = fixture("photos/astronaut_face.png");
    let out = dir.path().join("inv");
    let o = run(&["invert", &photo, path(&face), "-o", path(&out), "--steps", "5", "--inversion-batch", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("PSNR"), "{}", text(&o));
    assert_eq!(read_header(out.join("codes.npy")).unwrap().shape, vec![2, 100]);
    let pair = image::open(out.join("000_astronaut_face_pair.png")).unwrap();
    assert_eq!((pair.width(), pair.height()), (128, 64));
    assert!(out.join("001_000000_pair.png").exists());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let photos = report["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    assert_eq!(photos[1]["loss_curve"].as_array().unwrap().len(), 6);
    assert!(photos[1]["psnr_db"].as_f64().unwrap() > 10.0);

    // Kept unless --force; an earlier inversion's codes restart the optimisation.
    let again = run(&["invert", &photo, path(&face), "-o", path(&out), "--steps", "1"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let codes = out.join("codes.npy");
    let resumed = run(&[
        "invert",
        &photo,
        path(&face),
        "-o",
        path(&out),
        "--steps",
        "0",
        "--start-codes",
        path(&codes),
        "--force",
    ]);
    assert!(resumed.status.success(), "{}", text(&resumed));
}

#[test]
fn bad_photos_and_codes_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inv");
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"not an image").unwrap();
    let gray = dir.path().join("gray.png");
    image::GrayImage::new(100, 100).save(&gray).unwrap();
    let tiny = dir.path().join("tiny.png");
    image::RgbImage::new(48, 48).save(&tiny).unwrap();
    let short = dir.path().join("short.npy");
    write_npy(&short, &NpyArray::new(vec![1, 99], vec![0.0f32; 99]).unwrap(), false).unwrap();
    let photo = fixture("photos/astronaut_face.png");
    for (args, expected) in [
        (vec!["invert", path(&broken), "-o", path(&out)], "broken.png"),
        (vec!["invert", path(&gray), "-o", path(&out)], "grayscale"),
        (vec!["invert", path(&tiny), "-o", path(&out)], "48x48"),
        (vec!["invert", &photo, "-o", path(&out), "--start-codes", path(&short)], "99"),
        (vec!["invert", &photo, "-o", path(&out), "--space", "wp"], "wp"),
        (vec!["invert", &photo, "-o", path(&out), "--encoder", &photo], "astronaut_face.png"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    assert!(!out.exists(), "nothing is written for bad input");
}

#[test]
fn edit_image_inverts_then_edits() {
    let dir = tempfile::tempdir().unwrap();
    let face = generated_face(dir.path());
    let boundary = dir.path().join("b.npy");
    let mut normal = vec![0.0f32; 100];
    normal[3] = 1.0;
    write_npy(&boundary, &NpyArray::new(vec![1, 100], normal).unwrap(), false).unwrap();
    let out = dir.path().join("edit");
    let o = run(&[
        "edit",
        "--image",
        path(&face),
        "-b",
        path(&boundary),
        "--inversion-steps",
        "3",
        "--steps",
        "3",
        "-o",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let inverted = read_f32(out.join("inverted_codes.npy")).unwrap();
    assert_eq!(inverted.shape(), [1, 100]);
    let edited = read_f32(out.join("edited_codes.npy")).unwrap();
    assert_eq!(edited.shape(), [1, 3, 100]);
    // Relative edits: the middle step is the inverted code itself, the ends move along the boundary.
    assert_eq!(&edited.data()[100..200], inverted.data());
    assert!((edited.data()[3] - (inverted.data()[3] - 3.0)).abs() < 1e-5);
    for step in 0..3 {
        assert!(out.join(format!("000_{step:03}.png")).exists());
    }
}

#[test]
fn train_encoder_writes_an_encoder_invert_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    let o = run(&["train-encoder", "-o", path(&enc), "--steps", "2", "--batch", "2", "--validation", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("enc.safetensors.json")).unwrap()).unwrap();
    assert_eq!(report["loss_curve"].as_array().unwrap().len(), 2);
    let again = run(&["train-encoder", "-o", path(&enc), "--steps", "1"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let out = dir.path().join("inv");
    let photo = fixture("photos/astronaut_face.png");
    let o = run(&["invert", &photo, "-o", path(&out), "--steps", "1", "--encoder", path(&enc)]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_stylegan2_pickle_inverts_in_wp_without_an_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let weights = fixture("golden/nvlabs/sg2_32_demo.pkl");
    let faces = dir.path().join("faces");
    let o = run(&["generate", "--weights", &weights, "-n", "1", "-o", path(&faces)]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("inv");
    let face = faces.join("000000.png");
    let o = run(&["invert", "--weights", &weights, path(&face), "--space", "wp", "--steps", "5", "-o", path(&out)]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(read_header(out.join("codes.npy")).unwrap().shape, vec![1, 8, 32]);
}
