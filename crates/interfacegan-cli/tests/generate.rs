//! `interfacegan generate` end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use interfacegan::io::{NpyArray, read_f32, read_header, write_npy};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).args(args).output().unwrap()
}

fn golden(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden").join(rel)
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn default_model_writes_codes_images_and_grid_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = out.to_str().unwrap();
    let first = run(&["generate", "-n", "5", "-o", o, "--batch", "2", "--seed", "9", "--raw", "--grid"]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(read_header(out.join("z.npy")).unwrap().shape, vec![5, 100]);
    assert_eq!(read_header(out.join("images.npy")).unwrap().shape, vec![5, 3, 64, 64]);
    for i in 0..5 {
        let img = image::open(out.join(format!("{i:06}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (64, 64));
    }
    assert!(out.join("grid.png").exists());
    // Outputs are kept unless --force; the same seed in other batches gives the same codes.
    let again = run(&["generate", "-n", "5", "-o", o, "--seed", "9"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let z1 = read_f32(out.join("z.npy")).unwrap();
    let forced = run(&["generate", "-n", "5", "-o", o, "--batch", "5", "--seed", "9", "--force", "--no-images"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(read_f32(out.join("z.npy")).unwrap(), z1);
}

#[test]
fn given_codes_reproduce_the_official_stylegan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sg");
    let weights = golden("stylegan64/weights_legacy.pth");
    let z = golden("stylegan64/z_raw.npy");
    let o = run(&[
        "generate",
        "--weights",
        weights.to_str().unwrap(),
        "-i",
        z.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--raw",
        "--no-images",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let close = |file: &str, want: &str, tol: f32| {
        let (a, b) = (read_f32(out.join(file)).unwrap(), read_f32(golden(want)).unwrap());
        assert_eq!(a.shape(), b.shape(), "{file}");
        let diff = a.data().iter().zip(b.data()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(diff <= tol, "{file}: {diff}");
    };
    // Raw z in, the official preprocessing applied, then mapping, truncation 0.7 and synthesis.
    close("z.npy", "stylegan64/synth_z_psi0.7/z.npy", 1e-6);
    close("w.npy", "stylegan64/synth_z_psi0.7/w.npy", 1e-5);
    close("wp.npy", "stylegan64/synth_z_psi0.7/wp.npy", 1e-5);
    close("images.npy", "stylegan64/synth_z_psi0.7/image.npy", 1e-3);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let codes = dir.path().join("z.npy");
    write_npy(&codes, &NpyArray::new(vec![2, 7], vec![0.0f32; 14]).unwrap(), false).unwrap();
    let o = dir.path().join("o");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["generate", "-i", codes.to_str().unwrap(), "-o", o.to_str().unwrap()], "do not fit"),
        (vec!["generate", "--weights", codes.to_str().unwrap(), "-o", o.to_str().unwrap()], "not a weight file"),
        (vec!["generate", "-s", "wp", "-o", o.to_str().unwrap()], "takes no wp codes"),
        (vec!["generate", "--model", "biggan", "-o", o.to_str().unwrap()], "unknown --model"),
        (vec!["generate", "--device", "tpu", "-o", o.to_str().unwrap()], "unknown device"),
    ];
    for (args, message) in cases {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    assert!(!o.join("z.npy").exists(), "nothing written on bad input");
}

/// An array of a golden `.npz` file, with its shape.
fn npz(rel: &str, key: &str) -> NpyArray<f32> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(golden(rel)).unwrap()).unwrap();
    let mut raw = Vec::new();
    archive.by_name(&format!("{key}.npy")).unwrap().read_to_end(&mut raw).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.npy"), raw).unwrap();
    read_f32(dir.path().join("a.npy")).unwrap()
}

#[test]
fn stylegan2_and_stylegan3_files_reproduce_their_official_code() {
    for file in [
        "nvlabs/sg2_64_skip.pkl",
        "nvlabs/sg2_128_clamp.pkl",
        "nvlabs/sg3t_64.pkl",
        "nvlabs/sg3r_64.pkl",
        "rosinality/rosinality_32.pt",
        "genforce/genforce_32.pth",
    ] {
        reproduces_the_official_code(file);
    }
}

/// `generate --weights FILE` from z (psi 0.7, all layers truncated) and from random W+ codes.
fn reproduces_the_official_code(file: &str) {
    let dir = tempfile::tempdir().unwrap();
    let weights = golden(file);
    let name = file.rsplit_once('/').map_or(file, |(_, n)| n);
    let fixture = format!("{}.npz", file.rsplit_once('.').map_or(file, |(stem, _)| stem));
    let (z, ws) = (dir.path().join("z.npy"), dir.path().join("ws.npy"));
    write_npy(&z, &npz(&fixture, "z"), false).unwrap();
    write_npy(&ws, &npz(&fixture, "ws_random"), false).unwrap();
    // ws within `tolerance`, images within `tolerance` of their largest |pixel|.
    let close = |file: &Path, want: &str, tolerance: f32| {
        let (a, b) = (read_f32(file).unwrap(), npz(&fixture, want));
        assert_eq!(a.shape(), b.shape(), "{want}");
        let largest = b.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = a.data().iter().zip(b.data()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        let bound = if want.starts_with("img") { tolerance * largest } else { tolerance };
        assert!(diff <= bound, "{name} {want}: {diff} > {bound}");
    };
    let from_z = dir.path().join("from_z");
    let args = ["generate", "--weights", weights.to_str().unwrap(), "-i", z.to_str().unwrap(), "--raw"];
    let o = run(&[&args[..], &["--truncation-psi", "0.7", "--no-images", "-o", from_z.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    close(&from_z.join("wp.npy"), "ws_psi0.7", 1e-5);
    close(&from_z.join("images.npy"), "img_psi0.7", 1e-4);
    let from_ws = dir.path().join("from_ws");
    let args = ["generate", "--weights", weights.to_str().unwrap(), "-s", "wp", "-i", ws.to_str().unwrap()];
    let o = run(&[&args[..], &["--raw", "--no-images", "-o", from_ws.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    close(&from_ws.join("images.npy"), "img_ws_random", 1e-4);
}

#[test]
fn a_pickle_that_runs_code_is_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let evil = dir.path().join("evil.pkl");
    let command = format!("touch {}", marker.display());
    let mut bytes = b"\x80\x02}X\x05\x00\x00\x00G_emacposix\nsystem\n(X".to_vec();
    bytes.extend((command.len() as u32).to_le_bytes());
    bytes.extend(command.as_bytes());
    bytes.extend(b"tRs.");
    std::fs::write(&evil, bytes).unwrap();
    let out = dir.path().join("out");
    let o = run(&["generate", "--weights", evil.to_str().unwrap(), "-n", "2", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("evil.pkl") && err.contains("posix.system"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!out.exists() && !marker.exists());
}
