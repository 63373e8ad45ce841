//! `interfacegan match`: SeFa's directions of the default DCGAN against boundaries, and refusals.

use std::path::Path;
use std::process::{Command, Output};

use interfacegan::Boundary;
use interfacegan::io::read_f64;

fn interfacegan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// SeFa's directions of the default DCGAN in `dir/sefa`, and a boundary folder `dir/boundaries`
/// whose gender boundary is SeFa's second direction and whose smile boundary is its third, turned.
fn sefa_and_boundaries(dir: &Path) -> Vec<Vec<f64>> {
    let o = interfacegan(&["sefa", "-k", "3", "-o", p(&dir.join("sefa"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<Vec<f64>> =
        read_f64(dir.join("sefa/directions.npy")).unwrap().data().chunks(100).map(<[f64]>::to_vec).collect();
    std::fs::create_dir_all(dir.join("boundaries")).unwrap();
    let turned: Vec<f64> = rows[2].iter().map(|v| -v).collect();
    for (name, normal) in [("gender", &rows[1]), ("smile", &turned)] {
        let file = dir.join("boundaries").join(format!("{name}_boundary.npy"));
        Boundary::from_normal(normal).unwrap().save(file, false).unwrap();
    }
    rows
}

#[test]
fn a_direction_that_is_a_boundary_has_its_effects_and_cosine_one() {
    let dir = tempfile::tempdir().unwrap();
    sefa_and_boundaries(dir.path());
    let out = dir.path().join("match");
    let (sefa, boundaries) = (dir.path().join("sefa"), dir.path().join("boundaries"));
    let args = ["match", "-d", p(&sefa), "--boundaries", p(&boundaries), "-n", "12", "--strip-samples", "1"];
    let o = interfacegan(&[&args[..], &["--distances", "-1,1", "-o", p(&out)]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("gender: ") && stdout.contains("smile: "), "{stdout}");

    let table: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("match.json")).unwrap()).unwrap();
    assert_eq!(table["attributes"], serde_json::json!(["gender", "smile"]));
    let names: Vec<&str> =
        table["candidates"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sefa_000", "sefa_001", "sefa_002"]);
    let numbers =
        |v: &serde_json::Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    let gender = numbers(&table["boundaries"][0]["effects"]);
    let second = numbers(&table["candidates"][1]["effects"]);
    let third = numbers(&table["candidates"][2]["effects"]);
    let smile = numbers(&table["boundaries"][1]["effects"]);
    for a in 0..2 {
        // The same directions up to float32 rounding of the files: the same effects, or their opposite.
        assert!((second[a] - gender[a]).abs() < 1e-3 * (1.0 + gender[a].abs()), "{second:?} vs {gender:?}");
        assert!((third[a] + smile[a]).abs() < 1e-3 * (1.0 + smile[a].abs()), "{third:?} vs {smile:?}");
    }
    assert!((numbers(&table["candidates"][1]["cosines"])[0] - 1.0).abs() < 1e-6);
    assert!((numbers(&table["candidates"][2]["cosines"])[1] + 1.0).abs() < 1e-6);

    for file in ["match.html", "match.csv", "strips/gender_boundary.png", "strips/smile_boundary.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(out.join("match.html")).unwrap();
    assert!(html.contains("sefa_001") && html.contains("data:image/jpeg;base64,"));
    // Outputs are not replaced without --force.
    let o = interfacegan(&[&args[..], &["-o", p(&out)]].concat());
    assert!(o.status.code() == Some(2) && stderr(&o).contains("already exists"), "{}", stderr(&o));
}

#[test]
fn what_cannot_be_matched_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    sefa_and_boundaries(dir.path());
    let (sefa, boundaries) = (dir.path().join("sefa"), dir.path().join("boundaries"));
    let short = dir.path().join("short.npy");
    interfacegan::io::write_npy(&short, &interfacegan::io::NpyArray::new(vec![2, 5], vec![1.0f32; 10]).unwrap(), false)
        .unwrap();
    let out = dir.path().join("out");
    for (args, says) in [
        (vec!["-d", p(&boundaries), "--boundaries", p(&boundaries)], "holds neither sefa.json nor ganspace.json"),
        (vec!["-d", p(&sefa), "--boundaries", p(&sefa)], "holds no gender_boundary.npy"),
        (vec!["-d", p(&sefa), "-d", p(&sefa), "--boundaries", p(&boundaries)], "two directions are named sefa_000"),
        (vec!["-d", p(&short), "--boundaries", p(&boundaries)], "do not fit this generator's codes ([k, 100])"),
        (vec!["-d", p(&sefa), "--boundaries", p(&boundaries), "-a", "age"], "age_boundary.npy"),
        (vec!["-d", p(&sefa), "--boundaries", p(&boundaries), "--min-share", "0"], "must be in (0, 1]"),
    ] {
        let o = interfacegan(&[&["match"][..], &args, &["-n", "4", "-o", p(&out)]].concat());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
    assert!(!out.exists(), "nothing is written when the inputs are refused");
}
