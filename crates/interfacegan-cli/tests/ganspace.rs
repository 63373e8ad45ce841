//! `interfacegan ganspace`: the files it writes, and refusals.

use std::path::Path;
use std::process::{Command, Output};

use interfacegan::io::read_f64;

fn ganspace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).arg("ganspace").args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn components_of_w_with_their_spread() {
    let pickle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/nvlabs/sg2_32_orig.pkl");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gs");
    let args = ["--weights", pickle.to_str().unwrap(), "-n", "5000", "-k", "4", "--batch", "1500"];
    let o = ganspace(&[&args[..], &["-o", out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let components = read_f64(out.join("components.npy")).unwrap();
    assert_eq!(components.shape(), [4, 32]);
    let rows: Vec<&[f64]> = components.data().chunks(32).collect();
    for (i, a) in rows.iter().enumerate() {
        for (j, b) in rows.iter().enumerate() {
            let dot: f64 = a.iter().zip(*b).map(|(x, y)| x * y).sum();
            assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-6, "rows {i}, {j}: {dot}");
        }
    }
    assert_eq!(read_f64(out.join("lat_mean.npy")).unwrap().shape(), [32]);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("ganspace.json")).unwrap()).unwrap();
    let variances = report["variances"].as_array().unwrap();
    let stdev = read_f64(out.join("lat_stdev.npy")).unwrap().into_data();
    // Fresh samples spread along each component as the fitted variance says (5,000 of them: within 5 %).
    for (v, s) in variances.iter().zip(&stdev) {
        let expected = v.as_f64().unwrap().sqrt();
        assert!((s - expected).abs() / expected < 0.05, "stdev {s} vs sqrt(variance) {expected}");
    }

    // GANSpace's edit: w + x lat_stdev[c] component[c], x in standard deviations (relative moves).
    let (w_dir, edited) = (dir.path().join("w"), dir.path().join("edited"));
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_interfacegan")).args(args).output().unwrap();
    let weights = pickle.to_str().unwrap();
    let o = run(&["generate", "--weights", weights, "-n", "2", "--no-images", "-o", w_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = w_dir.join("w.npy");
    let components_file = out.join("components.npy");
    let edit =
        ["edit", "--weights", weights, "-s", "w", "-i", w.to_str().unwrap(), "-b", components_file.to_str().unwrap()];
    let range = ["--start-distance", "-2", "--end-distance", "2", "--steps", "3", "-o", edited.to_str().unwrap()];
    let o = run(&[&edit[..], &["--index", "1", "--sigma"], &range].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let codes = read_f64(edited.join("edited_codes.npy")).unwrap();
    assert_eq!(codes.shape(), [2, 3, 32]);
    let original = read_f64(&w).unwrap();
    for (i, c) in rows[1].iter().enumerate() {
        let (expected, got) = (original.data()[i] + 2.0 * stdev[1] * c, codes.data()[2 * 32 + i]);
        assert!((got - expected).abs() < 1e-4, "{i}: {got} vs {expected}");
    }
    for (extra, says) in
        [(vec!["--index", "4"], "--index 4, but the file holds 4 directions"), (vec!["--sigma"], "--index")]
    {
        let o = run(&[&edit[..], &extra, &range, &["--force"]].concat());
        assert!(o.status.code() == Some(2) && stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    }
}

#[test]
fn generators_without_a_mapping_network_and_bad_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let o = ganspace(&["-n", "100", "-o", out.to_str().unwrap()]);
    assert!(o.status.code() == Some(2) && stderr(&o).contains("no mapping network"), "{}", stderr(&o));
    let o = ganspace(&["-n", "1", "-o", out.to_str().unwrap()]);
    assert!(o.status.code() == Some(2) && stderr(&o).contains("-n must be"), "{}", stderr(&o));
    assert!(!out.join("components.npy").exists());
}

/// GANSpace end to end against scikit-learn's PCA and IncrementalPCA on the W codes the command
/// itself kept (`--save-samples`). Needs python3 with numpy and scikit-learn, hence ignored:
/// `cargo test -p interfacegan-cli --test ganspace -- --ignored`.
#[test]
#[ignore]
fn ganspace_matches_scikit_learn_on_its_own_samples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pickle = root.join("fixtures/golden/nvlabs/sg2_32_orig.pkl");
    let dir = tempfile::tempdir().unwrap();
    let (out, samples, reference) = (dir.path().join("gs"), dir.path().join("w"), dir.path().join("sklearn"));
    let args = ["--weights", pickle.to_str().unwrap(), "-n", "100000", "-k", "10", "--save-samples"];
    let o = ganspace(&[&args[..], &[samples.to_str().unwrap(), "-o", out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let script = root.join("fixtures/golden/pca/ganspace_reference.py");
    let o = Command::new("python3").arg(script).args([&samples, &reference]).arg("10").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = read_f64(out.join("components.npy")).unwrap();
    let our_stdev = read_f64(out.join("lat_stdev.npy")).unwrap().into_data();
    for name in ["pca", "ipca"] {
        let theirs = read_f64(reference.join(format!("{name}_components.npy"))).unwrap();
        let their_stdev = read_f64(reference.join(format!("{name}_lat_stdev.npy"))).unwrap().into_data();
        for (c, (a, b)) in ours.data().chunks(32).zip(theirs.data().chunks(32)).enumerate() {
            let cosine: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            assert!(cosine.abs() >= 0.999, "{name} component {c}: |cosine| {}", cosine.abs());
            let relative = (our_stdev[c] - their_stdev[c]).abs() / their_stdev[c];
            assert!(relative < 0.01, "{name} lat_stdev {c}: {} vs {}", our_stdev[c], their_stdev[c]);
            println!(
                "{name} {c}: |cosine| {:.7}, lat_stdev {:.5} vs {:.5}",
                cosine.abs(),
                our_stdev[c],
                their_stdev[c]
            );
        }
    }
}

fn outputs_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("ganspace.lock"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_run_killed_part_way_resumes_to_the_same_bytes() {
    let pickle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/nvlabs/sg2_32_orig.pkl");
    let dir = tempfile::tempdir().unwrap();
    let (reference, resumed) = (dir.path().join("reference"), dir.path().join("resumed"));
    let args = ["--weights", pickle.to_str().unwrap(), "-n", "400000", "-k", "5", "--batch", "2000"];
    let start = std::time::Instant::now();
    let o = ganspace(&[&args[..], &["-o", reference.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let whole = start.elapsed();
    let mut resumed_once = false;
    for fraction in [0.2, 0.45, 0.7] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
            .arg("ganspace")
            .args(args)
            .args(["-o", resumed.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole.mul_f64(fraction));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        resumed_once |= String::from_utf8_lossy(&out.stdout).contains("resumed: ");
    }
    if !resumed.join("ganspace.json").exists() {
        let o = ganspace(&[&args[..], &["-o", resumed.to_str().unwrap()]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        resumed_once |= String::from_utf8_lossy(&o.stdout).contains("resumed: ");
    }
    assert!(resumed_once, "no run was resumed: the kills came too late");
    assert_eq!(outputs_of(&resumed), outputs_of(&reference), "resumed outputs differ, or a state file is left");

    // The state of another run is refused (seed 1 here), and --force starts over; a damaged one is named.
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let partial = |bytes: &[u8]| std::fs::write(state.join("ganspace.partial"), bytes).unwrap();
    let header = format!(
        "{{\"run\":{{\"generator\":\"{}\",\"seed\":1,\"samples\":400000,\"batch\":2000,\"dim\":32}},\"chunks_done\":0}}\n",
        pickle.display()
    );
    partial(&[header.as_bytes(), &[0u8; 10]].concat());
    let o = ganspace(&[&args[..], &["-o", state.to_str().unwrap()]].concat());
    assert!(o.status.code() == Some(2) && stderr(&o).contains("holds another run"), "{}", stderr(&o));
    let o = ganspace(&[&args[..], &["--force", "-o", state.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    partial(&[header.replace("\"seed\":1", "\"seed\":0").as_bytes(), &[0u8; 10]].concat());
    let o = ganspace(&[&args[..], &["--force", "-o", state.to_str().unwrap()]].concat());
    assert!(o.status.code() == Some(2) && stderr(&o).contains("not a saved PCA state"), "{}", stderr(&o));
}
