//! Files from strangers and extreme arguments, through the binary: each ends with exit status 2 and
//! one line on stderr that names the file or argument and the limit, within 1 GiB of memory (the
//! process's own peak resident set) and 10 seconds. The crafted files are made here, small.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use interfacegan::io::{NpyArray, write_npy};
use interfacegan_testkit::{Crafted, claimed_png, zip_checkpoint, zip_state_dict};

const MEMORY_LIMIT_KIB: i64 = 1 << 20;
const TIME_LIMIT: Duration = Duration::from_secs(10);

struct Outcome {
    code: i32,
    stderr: String,
    peak_kib: i64,
    elapsed: Duration,
}

/// Runs the binary, and reads its exit status and peak resident set from `wait4`.
#[expect(clippy::zombie_processes, reason = "reaped by wait4, which also reports the peak resident set")]
fn measured(args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for this child, whose pid we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    Outcome {
        code,
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        peak_kib: usage.ru_maxrss,
        elapsed: start.elapsed(),
    }
}

/// The command fails cleanly: status 2, one line containing every `expected` piece, bounded
/// memory and time.
fn refused(args: &[&str], expected: &[&str]) {
    let o = measured(args);
    let what = format!("`{}`", args.join(" "));
    eprintln!("{what}: status {}, peak {} MiB, {:.2} s", o.code, o.peak_kib >> 10, o.elapsed.as_secs_f64());
    assert_eq!(o.code, 2, "{what}: status {} ({})", o.code, o.stderr);
    assert_eq!(o.stderr.trim_end().lines().count(), 1, "{what}: one line, got {:?}", o.stderr);
    for piece in expected {
        assert!(o.stderr.contains(piece), "{what}: {:?} lacks {piece:?}", o.stderr);
    }
    assert!(o.peak_kib < MEMORY_LIMIT_KIB, "{what}: peak resident set {} MiB", o.peak_kib >> 10);
    assert!(o.elapsed < TIME_LIMIT, "{what}: {:?}", o.elapsed);
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

fn npy_with_header(shape: &str, body: &[u8]) -> Vec<u8> {
    interfacegan_testkit::npy_bytes("<f4", false, shape, body)
}

#[test]
fn npy_sizes_that_wrap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let codes = write(&dir.path().join("codes.npy"), &npy_with_header("(4611686018427387908, 4)", &[0; 64]));
    let scores = dir.path().join("scores.npy");
    write_npy(&scores, &NpyArray::new(vec![4, 1], vec![0.0f32, 1.0, 2.0, 3.0]).unwrap(), false).unwrap();
    let out = dir.path().join("out");
    refused(&["train-boundary", "-c", p(&codes), "-s", p(&scores), "-o", p(&out)], &["codes.npy", "overflows"]);
    let huge_header = [&b"\x93NUMPY\x02\x00"[..], &u32::MAX.to_le_bytes(), b"{"].concat();
    let codes = write(&dir.path().join("header.npy"), &huge_header);
    refused(&["train-boundary", "-c", p(&codes), "-s", p(&scores), "-o", p(&out)], &["header.npy", "limit"]);
    assert!(!out.exists(), "no output folder is left behind");
}

#[test]
fn image_bombs_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = write(&dir.path().join("bomb.png"), &claimed_png(40_000, 40_000));
    let out = dir.path().join("out");
    let expected = ["bomb.png", "40000x40000", "50 megapixels"];
    refused(&["invert", p(&bomb), "--steps", "1", "-o", p(&out)], &expected);
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::copy(&bomb, photos.join("bomb.png")).unwrap();
    refused(&["score", "--images", p(&photos), "-o", p(&out)], &expected);
    assert!(!out.exists(), "a failed score leaves no output folder");
}

#[test]
fn edit_image_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = write(&dir.path().join("bomb.png"), &claimed_png(40_000, 40_000));
    let boundary = dir.path().join("b.npy");
    write_npy(&boundary, &NpyArray::new(vec![1, 100], vec![0.1f32; 100]).unwrap(), false).unwrap();
    let out = dir.path().join("out");
    refused(
        &["edit", "--image", p(&bomb), "-b", p(&boundary), "--inversion-steps", "1", "-o", p(&out)],
        &["bomb.png", "50 megapixels"],
    );
}

#[test]
fn extreme_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let boundary = dir.path().join("b.npy");
    write_npy(&boundary, &NpyArray::new(vec![1, 100], vec![0.1f32; 100]).unwrap(), false).unwrap();
    let out = dir.path().join("out");
    let b = p(&boundary);
    refused(&["edit", "-b", b, "-n", "1000000000000", "-o", p(&out)], &["1000000000000 codes", "GiB"]);
    refused(&["edit", "-b", b, "--steps", "1000000000000", "-o", p(&out)], &["1000000000000 steps", "10000"]);
    refused(&["generate", "-n", "1000000000000000000", "-o", p(&out)], &["-n 1000000000000000000", "1000000000"]);
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/photos/astronaut_face.png");
    refused(&["invert", p(&photo), "--steps", "1000000000000000", "-o", p(&out)], &["steps", "1000000"]);
    let encoder = dir.path().join("encoder.safetensors");
    refused(&["train-encoder", "--steps", "1000000000000", "-o", p(&encoder)], &["steps", "1000000"]);
    assert!(!out.exists() && !encoder.exists());
    let run = dir.path().join("run");
    refused(
        &["sample", "-n", "1000000000000000000", "--chunk-size", "1000000000000000000", "-o", p(&run)],
        &["samples 1000000000000000000", "1000000000"],
    );
    assert!(!run.join("manifest.json").exists(), "a refused run leaves no manifest to block the folder");
}

#[test]
fn hostile_run_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(["sample", "-n", "20", "--chunk-size", "10", "-a", "gender", "-o", p(&run)])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let manifest_path = run.join("manifest.json");
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let out = dir.path().join("merged");
    for (field, value, expected) in [
        ("attributes", serde_json::json!(["../../../escaped"]), "attribute name"),
        ("chunk_size", serde_json::json!(0), "chunk_size 0"),
        ("samples", serde_json::json!(1_000_000_000_000_000_000u64), "samples"),
    ] {
        let mut hostile = good.clone();
        hostile[field] = value;
        std::fs::write(&manifest_path, serde_json::to_vec(&hostile).unwrap()).unwrap();
        refused(&["merge", p(&run), "-o", p(&out)], &["manifest.json", expected]);
    }
    assert!(!dir.path().join("escaped_scores.npy").exists() && !out.join("z.npy").exists());
    // A manifest of a gigabyte is not read.
    let file = std::fs::File::create(&manifest_path).unwrap();
    file.set_len(1 << 30).unwrap();
    refused(&["merge", p(&run), "-o", p(&out)], &["manifest.json", "over the limit"]);
}

/// A network pickle that memoises a list and appends it to a new list ten times per level, ten
/// levels deep: 10^10 references in 150 bytes.
fn memo_bomb() -> Vec<u8> {
    let mut bytes = b"\x80\x02]q\x00".to_vec();
    for level in 1..=10u8 {
        bytes.extend_from_slice(b"](");
        for _ in 0..10 {
            bytes.extend_from_slice(&[b'h', level - 1]);
        }
        bytes.extend_from_slice(&[b'e', b'q', level]);
    }
    bytes.push(b'.');
    bytes
}

#[test]
fn hostile_weight_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let memo = write(&dir.path().join("memo.pkl"), &memo_bomb());
    refused(&["generate", "--weights", p(&memo), "-n", "1", "-o", p(&out)], &["memo.pkl"]);
    let deep = [&b"\x80\x02"[..], &vec![b'('; 1_000_000], &vec![b'l'; 1_000_000], b"."].concat();
    let deep = write(&dir.path().join("deep.pkl"), &deep);
    refused(&["generate", "--weights", p(&deep), "-n", "1", "-o", p(&out)], &["deep.pkl"]);
    // A zip checkpoint whose only entry declares 4 GiB.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("archive/data.pkl", options).unwrap();
    zip.write_all(&vec![0u8; 4 << 20]).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    patch_declared_size(&mut bytes, u32::MAX - 1);
    let declared = write(&dir.path().join("declared.pth"), &bytes);
    refused(&["generate", "--weights", p(&declared), "-n", "1", "-o", p(&out)], &["declared.pth"]);
    assert!(!out.exists());
}

#[test]
fn tensor_views_and_deflate_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A 10^6 x 10^6 view of one float (strides 0): 4 TB if materialised.
    let stride0 = zip_checkpoint([1_000_000, 1_000_000], [0, 0], 1, &[0; 4], zip::CompressionMethod::Stored);
    let stride0 = write(&dir.path().join("stride0.pth"), &stride0);
    refused(&["generate", "--weights", p(&stride0), "-n", "1", "-o", p(&out)], &["stride0.pth", "repeated"]);
    // 256 MiB of zeros, deflated to 256 KiB.
    let zeros = vec![0u8; 256 << 20];
    let bomb = zip_checkpoint([8192, 8192], [8192, 1], 8192 * 8192, &zeros, zip::CompressionMethod::Deflated);
    let bomb = write(&dir.path().join("deflate.pth"), &bomb);
    refused(&["generate", "--weights", p(&bomb), "-n", "1", "-o", p(&out)], &["deflate.pth", "100:1"]);
}

/// The peak resident set of `generate -n 1` on `weights`, which must succeed.
fn generate_peak_kib(weights: &Path, out: &Path) -> i64 {
    let o = measured(&["generate", "--weights", p(weights), "-n", "1", "--force", "-o", p(out)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.peak_kib
}

#[test]
fn unused_tensors_of_a_checkpoint_cost_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/dcgan_digiface.pth");
    let generator = interfacegan::generator::Weights::from_file(fixtures).unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = generator
        .keys()
        .map(|key| {
            let t = generator.tensor(key).unwrap();
            (format!("netG.{key}"), t.shape, t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect();
    let alone: Vec<Crafted> = tensors.iter().map(|(k, shape, data)| Crafted::plain(k, shape, data)).collect();
    let alone = write(&dir.path().join("alone.pth"), &zip_state_dict(&alone));
    // A training checkpoint: beside the generator, a discriminator and optimiser state 18x its size.
    let unused = vec![0u8; 128 << 20];
    let mut full: Vec<Crafted> = tensors.iter().map(|(k, shape, data)| Crafted::plain(k, shape, data)).collect();
    full.push(Crafted::plain("netD.features.0.weight", &[8192, 4096], &unused));
    full.push(Crafted::plain("optimizerD.state.0.exp_avg", &[8192, 4096], &unused));
    let full = write(&dir.path().join("full.pth"), &zip_state_dict(&full));
    let (alone_kib, full_kib) = (generate_peak_kib(&alone, &out), generate_peak_kib(&full, &out));
    eprintln!(
        "peak resident set: generator alone {} MiB, in a 270 MB checkpoint {} MiB",
        alone_kib >> 10,
        full_kib >> 10
    );
    assert!(full_kib < alone_kib + (32 << 10), "the unused 256 MiB cost {} MiB", (full_kib - alone_kib) >> 10);
}

/// Sets the uncompressed size of every entry record (local header and central directory).
fn patch_declared_size(bytes: &mut [u8], size: u32) {
    let value = size.to_le_bytes();
    for at in 0..bytes.len().saturating_sub(30) {
        match &bytes[at..at + 4] {
            b"PK\x03\x04" => bytes[at + 22..at + 26].copy_from_slice(&value),
            b"PK\x01\x02" => bytes[at + 24..at + 28].copy_from_slice(&value),
            _ => {}
        }
    }
}

#[test]
fn degenerate_scores_are_refused_and_chance_boundaries_warned() {
    let dir = tempfile::tempdir().unwrap();
    let codes: Vec<f32> = (0..400 * 8).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    let codes_path = dir.path().join("z.npy");
    write_npy(&codes_path, &NpyArray::new(vec![400, 8], codes).unwrap(), false).unwrap();
    let flat = dir.path().join("flat.npy");
    write_npy(&flat, &NpyArray::new(vec![400, 1], vec![0.5f32; 400]).unwrap(), false).unwrap();
    let out = dir.path().join("b");
    refused(&["train-boundary", "-c", p(&codes_path), "-s", p(&flat), "-o", p(&out)], &["flat.npy", "overlap"]);
    assert!(!out.exists());
    // Scores unrelated to the codes: a boundary comes out, with a warning on stderr.
    let noise: Vec<f32> = (0..400).map(|i| ((i * 104_729) % 997) as f32).collect();
    let noise_path = dir.path().join("noise.npy");
    write_npy(&noise_path, &NpyArray::new(vec![400, 1], noise).unwrap(), false).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(["train-boundary", "-c", p(&codes_path), "-s", p(&noise_path), "-o", p(&out), "-n", "0.25"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && stderr.contains("near chance"), "{stderr}");
}
