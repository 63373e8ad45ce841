//! Run folders under concurrency and interruption: two runs in one folder never mix, and a run
//! killed at any point resumes to the same bytes as an uninterrupted one, leaving no stray files.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const OUTPUTS: [&str; 3] = ["z.npy", "gender_scores.npy", "manifest.json"];

fn sample(dir: &Path, seed: u64) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_interfacegan"));
    command.args(["sample", "-n", "120", "--chunk-size", "10", "--batch", "10", "-a", "gender", "--seed"]);
    command.arg(seed.to_string()).arg("-o").arg(dir);
    command
}

fn finished(dir: &Path, seed: u64) -> Output {
    let output = sample(dir, seed).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn same_outputs(a: &Path, b: &Path) {
    for file in OUTPUTS {
        assert!(std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap(), "{file} differs");
    }
}

/// Names in `dir` and its chunks folder that no finished run holds: temporaries and backups.
fn stray_files(dir: &Path) -> Vec<String> {
    [dir.to_path_buf(), dir.join("chunks")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn two_runs_started_together_in_one_folder_never_mix() {
    let root = tempfile::tempdir().unwrap();
    let lone: Vec<_> = (0..2u64).map(|seed| root.path().join(format!("lone{seed}"))).collect();
    for (seed, dir) in lone.iter().enumerate() {
        finished(dir, seed as u64);
    }
    for trial in 0..3 {
        let shared = root.path().join(format!("shared{trial}"));
        let children: Vec<_> = (0..2u64)
            .map(|seed| {
                sample(&shared, seed).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn()
            })
            .collect::<Result<_, _>>()
            .unwrap();
        let outcomes: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        let winners: Vec<usize> = (0..2).filter(|&i| outcomes[i].status.success()).collect();
        assert_eq!(winners.len(), 1, "trial {trial}: exactly one run proceeds");
        let loser = &outcomes[1 - winners[0]];
        let message = String::from_utf8_lossy(&loser.stderr);
        assert_eq!(loser.status.code(), Some(2), "{message}");
        assert!(message.contains("in use by another process") || message.contains("holds another run"), "{message}");
        same_outputs(&shared, &lone[winners[0]]);
        assert!(stray_files(&shared).is_empty());
    }
}

#[test]
fn a_run_killed_at_any_point_resumes_to_the_same_bytes() {
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    let start = Instant::now();
    finished(&reference, 3);
    let whole = start.elapsed();
    let resumed = root.path().join("resumed");
    // Kills spread over the start, the chunks and the merge of a run as long as the reference.
    for fraction in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97] {
        let mut child = sample(&resumed, 3)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole.mul_f64(fraction).max(Duration::from_millis(5)));
        let _ = child.kill();
        child.wait().unwrap();
    }
    finished(&resumed, 3);
    same_outputs(&resumed, &reference);
    assert!(stray_files(&resumed).is_empty(), "{:?}", stray_files(&resumed));
    let chunks = std::fs::read_dir(resumed.join("chunks")).unwrap().count();
    assert_eq!(chunks, 12 * 3, "z, scores and a record per chunk, nothing else");
}
