//! `interfacegan sefa`: the files it writes, and refusals of what cannot be factorized.

use std::process::{Command, Output};

use interfacegan::io::read_f64;

fn sefa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).arg("sefa").args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_default_dcgan_gives_orthonormal_directions_in_boundary_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sefa");
    let o = sefa(&["-k", "4", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all = read_f64(out.join("directions.npy")).unwrap();
    assert_eq!(all.shape(), [4, 100]);
    let rows: Vec<&[f64]> = all.data().chunks(100).collect();
    for (i, a) in rows.iter().enumerate() {
        for (j, b) in rows.iter().enumerate() {
            let dot: f64 = a.iter().zip(*b).map(|(x, y)| x * y).sum();
            assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-6, "rows {i}, {j}: {dot}");
        }
    }
    let third = read_f64(out.join("direction_002.npy")).unwrap();
    assert_eq!((third.shape(), third.data()), (&[1, 100][..], rows[2]));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("sefa.json")).unwrap()).unwrap();
    let values: Vec<f64> = report["eigenvalues"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(values.len() == 4 && values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    assert_eq!(report["layers"], serde_json::json!([0]));
    // `edit --index 2` moves along the third row, relatively: step 1 - step 0 is the direction itself.
    let edited = dir.path().join("edited");
    let directions = out.join("directions.npy");
    let o = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(["edit", "-b", directions.to_str().unwrap(), "--index", "2", "--steps", "2"])
        .args(["--start-distance", "0", "--end-distance", "1", "-o", edited.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let codes = read_f64(edited.join("edited_codes.npy")).unwrap();
    for (i, &d) in rows[2].iter().enumerate() {
        assert!((codes.data()[100 + i] - codes.data()[i] - d).abs() < 1e-6, "{i}");
    }
    // Existing outputs are kept unless --force.
    let o = sefa(&["-k", "4", "-o", out.to_str().unwrap()]);
    assert!(o.status.code() == Some(2) && stderr(&o).contains("already exists"), "{}", stderr(&o));
}

#[test]
fn what_cannot_be_factorized_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    for (args, says) in [
        (vec!["-k", "101", "-o", out], "101 directions asked for, but the latent space has 100"),
        (vec!["-k", "0", "-o", out], "0 directions asked for"),
        (vec!["--layers", "2-5", "-o", out], "layers within 0..1"),
        (vec!["--layers", "5-2", "-o", out], "runs backwards"),
    ] {
        let o = sefa(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(!dir.path().join("x").join("directions.npy").exists());
}
