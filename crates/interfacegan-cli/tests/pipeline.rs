//! `interfacegan demo`, `sample --shard`, `merge`, `edit` and `rescore` end to end.

use std::path::Path;
use std::process::{Command, Output};

use interfacegan::io::{NpyArray, read_f32, read_header, write_npy};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

fn fails(args: &[&str], expected: &str) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    let message = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(message.contains(expected), "{args:?}: `{message}` lacks `{expected}`");
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn demo_writes_the_report_and_the_official_files() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("demo");
    let demo = [
        "demo",
        "-n",
        "300",
        "-a",
        "gender,smile",
        "-o",
        p(&run_dir),
        "--chunk-size",
        "150",
        "--edit-samples",
        "1",
        "--rescore-samples",
        "8",
        "--rescore-distances",
        "-1,1",
        "--unsupervised",
        "sefa",
        "--unsupervised-k",
        "3",
    ];
    let out = ok(&demo);
    assert!(out.contains("smile: validation accuracy") && out.contains("report.html"), "{out}");
    // SeFa's directions measured against the boundaries: a finding per attribute.
    assert!(out.contains("  gender: ") && out.contains("  smile: "), "{out}");
    let matching: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("match.json")).unwrap()).unwrap();
    assert_eq!(matching["candidates"].as_array().unwrap().len(), 3);
    let report = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(report.contains("<section id=\"unsupervised\">") && report.contains("sefa_002"));
    assert!(run_dir.join("edits/match/smile_boundary.png").exists());
    for file in ["report.html", "z.npy", "smile_scores.npy", "gender_boundary.npy", "smile_without_gender_boundary.npy"]
    {
        assert!(run_dir.join(file).exists(), "{file}");
    }
    assert!(run_dir.join("edits").join("smile_without_gender").join("000_006.png").exists());
    // Again: resumed from the chunks.
    let out = ok(&demo);
    assert!(out.contains("resumed: 2 of 2 chunks"), "{out}");
    // Another N in the same folder is another run.
    fails(&["demo", "-n", "200", "-a", "gender,smile", "-o", p(&run_dir)], "another run");
    fails(&["demo", "-n", "300", "-a", "smile", "-o", p(&dir.path().join("x"))], "at least two attributes");
    let never = dir.path().join("y");
    let ganspace = ["demo", "-n", "300", "--unsupervised", "ganspace", "-o", p(&never)];
    fails(&ganspace, "GANSpace takes principal components of W, which a dcgan does not have");
    assert!(!never.exists());
}

#[test]
fn demo_runs_on_a_stylegan2_network_pickle() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("demo");
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/nvlabs/sg2_32_demo.pkl");
    let args = ["demo", "--weights", p(&weights), "-n", "200", "-a", "gender,smile", "--edit-samples", "1"];
    let out = ok(&[&args[..], &["--rescore-samples", "8", "--rescore-distances", "-1,1", "-o", p(&run_dir)]].concat());
    assert!(out.contains("smile: validation accuracy") && out.contains("report.html"), "{out}");
    assert_eq!(read_header(run_dir.join("z.npy")).unwrap().shape, vec![200, 32]);
    assert!(run_dir.join("smile_without_gender_boundary.npy").exists());
    // The run keeps w beside z, row for row: the same w as generate gives for the run's z.
    let again = dir.path().join("again");
    ok(&["generate", "--weights", p(&weights), "-i", p(&run_dir.join("z.npy")), "--no-images", "-o", p(&again)]);
    assert_eq!(read_f32(run_dir.join("w.npy")).unwrap(), read_f32(again.join("w.npy")).unwrap());
    // A boundary in W from it.
    let w_boundary = dir.path().join("smile_w");
    let (w, scores) = (run_dir.join("w.npy"), run_dir.join("smile_scores.npy"));
    ok(&["train-boundary", "-c", p(&w), "-s", p(&scores), "-n", "0.2", "-o", p(&w_boundary)]);
    assert_eq!(read_header(w_boundary.join("boundary.npy")).unwrap().shape, vec![1, 32]);
    let edit = image::open(run_dir.join("edits").join("smile").join("000_000.png")).unwrap();
    assert_eq!((edit.width(), edit.height()), (32, 32));

    // SeFa's directions of a StyleGAN2 are W directions: the demo refuses them, `match -s w` takes them.
    let never = dir.path().join("refused");
    let refused = [&args[..], &["--unsupervised", "sefa", "-o", p(&never)]].concat();
    fails(&refused, "act on W, but the demo fits its boundaries in z");
    let boundaries = dir.path().join("w_boundaries");
    std::fs::create_dir_all(&boundaries).unwrap();
    std::fs::copy(w_boundary.join("boundary.npy"), boundaries.join("smile_boundary.npy")).unwrap();
    let sefa = dir.path().join("sefa");
    ok(&["sefa", "--weights", p(&weights), "-k", "3", "-o", p(&sefa)]);
    let matched = dir.path().join("matched");
    let out = ok(&[
        "match",
        "--weights",
        p(&weights),
        "-s",
        "w",
        "-d",
        p(&sefa),
        "--boundaries",
        p(&boundaries),
        "-n",
        "8",
        "--strip-samples",
        "1",
        "--distances",
        "-1,1",
        "-o",
        p(&matched),
    ]);
    assert!(out.contains("smile: "), "{out}");
    assert!(matched.join("strips/smile_boundary.png").exists());
}

#[test]
fn shards_merge_edit_and_rescore() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    for k in 1..=2 {
        let out = ok(&[
            "sample",
            "-n",
            "90",
            "--chunk-size",
            "30",
            "-a",
            "smile",
            "--shard",
            &format!("{k}/2"),
            "-o",
            p(&d(&format!("part{k}"))),
        ]);
        assert!(out.contains(&format!("shard {k}/2")), "{out}");
    }
    ok(&["merge", p(&d("part1")), p(&d("part2")), "-o", p(&d("all"))]);
    ok(&["sample", "-n", "90", "--chunk-size", "30", "-a", "smile", "-o", p(&d("whole"))]);
    for file in ["z.npy", "smile_scores.npy"] {
        assert_eq!(std::fs::read(d("all").join(file)).unwrap(), std::fs::read(d("whole").join(file)).unwrap());
    }
    fails(&["merge", p(&d("part1")), "-o", p(&d("half"))], "chunk 1");
    fails(&["sample", "-n", "90", "--shard", "3/2", "-o", p(&d("bad"))], "shard `3/2`");

    // Fit a boundary on the merged files, then edit and re-score along it.
    let z = d("all").join("z.npy");
    ok(&["train-boundary", "-c", p(&z), "-s", p(&d("all").join("smile_scores.npy")), "-o", p(&d("smile")), "-n", "20"]);
    let boundary = d("smile").join("boundary.npy");
    ok(&["edit", "-b", p(&boundary), "-i", p(&z), "--steps", "3", "-o", p(&d("edits"))]);
    assert_eq!(read_header(d("edits").join("edited_codes.npy")).unwrap().shape, vec![90, 3, 100]);
    assert!(d("edits").join("089_002.png").exists());
    fails(&["edit", "-b", p(&boundary), "-n", "1", "-o", p(&d("edits"))], "already exists");

    let out = ok(&["rescore", "-b", p(&boundary), "-n", "8", "-a", "smile", "--distances", "-1,1", "-o", p(&d("rs"))]);
    assert!(out.contains("smile"), "{out}");
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d("rs").join("rescore.json")).unwrap()).unwrap();
    assert_eq!(table["rows"][0]["direction"], "smile", "the boundary is named after its folder");

    // A boundary of another dimension is refused with its file named.
    let wrong = d("wrong_boundary.npy");
    write_npy(&wrong, &NpyArray::new(vec![1, 512], vec![0.1f32; 512]).unwrap(), false).unwrap();
    fails(&["edit", "-b", p(&wrong), "-n", "1", "-o", p(&d("e2"))], "dimension 512");
    fails(&["rescore", "-b", p(&wrong), "-n", "2"], "wrong_boundary.npy");
    let scores = read_f32(d("all").join("smile_scores.npy")).unwrap();
    assert_eq!(scores.shape(), &[90, 1]);
}
