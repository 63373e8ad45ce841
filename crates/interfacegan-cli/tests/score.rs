//! `interfacegan score` end to end.

use std::path::Path;
use std::process::{Command, Output};

use interfacegan::io::read_f32;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn folder_codes_and_single_files_give_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let gen_dir = dir.path().join("gen");
    let g = run(&["generate", "-n", "3", "--seed", "4", "-o", gen_dir.to_str().unwrap()]);
    assert!(g.status.success(), "{}", text(&g));

    let from_images = dir.path().join("from_images");
    let o = run(&["score", "--images", gen_dir.to_str().unwrap(), "-o", from_images.to_str().unwrap(), "--batch", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let from_codes = dir.path().join("from_codes");
    let z = gen_dir.join("z.npy");
    let o = run(&["score", "--codes", z.to_str().unwrap(), "-a", "smile,gender", "-o", from_codes.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for attribute in ["gender", "smile"] {
        let a = read_f32(from_images.join(format!("{attribute}_scores.npy"))).unwrap();
        let b = read_f32(from_codes.join(format!("{attribute}_scores.npy"))).unwrap();
        assert_eq!(a.shape(), &[3, 1]);
        // PNG files are lossless, so the inputs are the same; the batches differ (2 vs 3 images), and the
        // convolutions' summation order with them, by a few ulps.
        let worst = a.data().iter().zip(b.data()).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-6, "{attribute}: {:?} vs {:?}", a.data(), b.data());
    }
    assert!(!from_codes.join("age_scores.npy").exists());
    let ages = read_f32(from_images.join("age_scores.npy")).unwrap();
    assert!(ages.data().iter().all(|a| (0.25..=80.0).contains(a)), "{:?}", ages.data());

    // One image on the command line: printed.
    let first = gen_dir.join("000000.png");
    let o = run(&["score", first.to_str().unwrap(), "-a", "gender"]);
    assert!(o.status.success(), "{}", text(&o));
    let printed = String::from_utf8_lossy(&o.stdout).into_owned();
    let gender = read_f32(from_images.join("gender_scores.npy")).unwrap().data()[0];
    assert!(printed.contains(&format!("gender {gender:.4}")), "{printed} vs {gender}");

    // Existing outputs are kept.
    let again = run(&["score", "--images", gen_dir.to_str().unwrap(), "-o", from_images.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let corrupt = dir.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let out = dir.path().join("o");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["score", "--images", empty.to_str().unwrap(), "-o", out.to_str().unwrap()], "no images"),
        (vec!["score", corrupt.to_str().unwrap()], "cannot read image"),
        (vec!["score", "-a", "beauty", corrupt.to_str().unwrap()], "unknown attribute"),
        (vec!["score"], "nothing to score"),
        (vec!["score", "--images", empty.to_str().unwrap()], "need -o"),
    ];
    for (args, message) in cases {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    assert!(!Path::new(&out).join("gender_scores.npy").exists());
}
