//! The whole pipeline on the embedded DCGAN at a small N, and the chunked sampling stage's
//! resumption, sharding and merging.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use interfacegan_attributes::{Attribute, BuiltInScorer, InputSpec, Scorer, ScorerError};
use interfacegan_boundary::Boundary;
use interfacegan_generator::{Dcgan, LatentSpace, RgbImage, ZSampler, cpu_device, default_generator};
use interfacegan_io::{read_f32, read_header};
use interfacegan_pipeline::{
    Direction, MatchOptions, Pipeline, PipelineOptions, REPORT_SECTIONS, RescoreOptions, SampleOptions, Shard, Silent,
    match_directions, merge_chunks, sample_and_score,
};
use interfacegan_subspace::InterpolateOptions;

/// Mean red minus mean blue: a cheap user scorer for the tests of the chunk logic.
struct Warmth;

impl Scorer for Warmth {
    fn attribute(&self) -> &str {
        "warmth"
    }
    fn meaning(&self) -> &str {
        "mean red minus mean blue"
    }
    fn input(&self) -> InputSpec {
        InputSpec { size: 64, gray: false }
    }
    fn score(&self, images: &[RgbImage]) -> Result<Vec<f32>, ScorerError> {
        Ok(images
            .iter()
            .map(|im| im.pixels().map(|p| p[0] as f32 - p[2] as f32).sum::<f32>() / (im.width() * im.height()) as f32)
            .collect())
    }
}

/// Fails after `batches` calls, like a run killed part way.
struct FailsAfter {
    batches: AtomicUsize,
}

impl Scorer for FailsAfter {
    fn attribute(&self) -> &str {
        Warmth.attribute()
    }
    fn meaning(&self) -> &str {
        Warmth.meaning()
    }
    fn input(&self) -> InputSpec {
        Warmth.input()
    }
    fn score(&self, images: &[RgbImage]) -> Result<Vec<f32>, ScorerError> {
        if self.batches.fetch_sub(1, Ordering::SeqCst) == 0 {
            return Err(ScorerError::Custom("interrupted".into()));
        }
        Warmth.score(images)
    }
}

fn small_run(samples: usize) -> SampleOptions {
    SampleOptions { samples, chunk_size: 40, batch: 20, ..Default::default() }
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn generator() -> Dcgan {
    default_generator(&cpu_device()).expect("embedded DCGAN")
}

#[test]
fn an_interrupted_run_resumes_without_redoing_chunks() {
    let g = generator();
    let dir = tempfile::tempdir().unwrap();
    let reference = tempfile::tempdir().unwrap();
    let options = small_run(150); // chunks of 40, 40, 40, 30
    let full = sample_and_score(&g, &[&Warmth], &options, reference.path(), &Silent).unwrap();
    assert_eq!((full.chunks_owned, full.chunks_resumed, full.samples_run), (4, 0, 150));

    // Two batches of 20 make one chunk: fail in the fifth batch, inside the third chunk.
    let failing = FailsAfter { batches: AtomicUsize::new(4) };
    let err = sample_and_score(&g, &[&failing], &options, dir.path(), &Silent).unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    assert!(!dir.path().join("z.npy").exists());
    let resumed = sample_and_score(&g, &[&Warmth], &options, dir.path(), &Silent).unwrap();
    assert_eq!((resumed.chunks_resumed, resumed.samples_run), (2, 70));
    for file in ["z.npy", "warmth_scores.npy"] {
        assert_eq!(bytes(&dir.path().join(file)), bytes(&reference.path().join(file)), "{file}");
    }
    assert_eq!(read_header(dir.path().join("z.npy")).unwrap().shape, vec![150, 100]);
    assert_eq!(read_header(dir.path().join("warmth_scores.npy")).unwrap().shape, vec![150, 1]);

    // A finished run asked again does nothing but rewrite the same merged files.
    let again = sample_and_score(&g, &[&Warmth], &options, dir.path(), &Silent).unwrap();
    assert_eq!((again.chunks_resumed, again.samples_run), (4, 0));
}

#[test]
fn shards_merge_into_the_whole_run() {
    let g = generator();
    let whole = tempfile::tempdir().unwrap();
    let shards = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let merged = tempfile::tempdir().unwrap();
    sample_and_score(&g, &[&Warmth], &small_run(130), whole.path(), &Silent).unwrap();
    for (k, dir) in shards.iter().enumerate() {
        let options = SampleOptions { shard: Shard::new(k, 3).unwrap(), ..small_run(130) };
        let report = sample_and_score(&g, &[&Warmth], &options, dir.path(), &Silent).unwrap();
        assert!(!report.merged);
        assert_eq!(report.chunks_owned, if k == 0 { 2 } else { 1 });
    }
    let inputs: Vec<_> = shards.iter().map(|d| d.path().to_path_buf()).collect();

    // Two shards are not the whole run: the error names the missing chunk.
    let err = merge_chunks(&inputs[..2], merged.path(), false, &Silent).unwrap_err().to_string();
    assert!(err.contains("1 of 4 chunks") && err.contains("chunk 2"), "{err}");

    let report = merge_chunks(&inputs, merged.path(), false, &Silent).unwrap();
    assert_eq!(report.chunks_per_input, vec![2, 1, 1]);
    for file in ["z.npy", "warmth_scores.npy"] {
        assert_eq!(bytes(&merged.path().join(file)), bytes(&whole.path().join(file)), "{file}");
    }
    // Merging again does not overwrite unless asked.
    let err = merge_chunks(&inputs, merged.path(), false, &Silent).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    merge_chunks(&inputs, merged.path(), true, &Silent).unwrap();
}

#[test]
fn runs_refuse_folders_that_are_not_theirs() {
    let g = generator();
    let dir = tempfile::tempdir().unwrap();
    sample_and_score(&g, &[&Warmth], &small_run(50), dir.path(), &Silent).unwrap();
    let err = sample_and_score(&g, &[&Warmth], &small_run(60), dir.path(), &Silent).unwrap_err().to_string();
    assert!(err.contains("another run") && err.contains("samples: 50 vs 60"), "{err}");

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("z.npy"), b"a user's file").unwrap();
    let err = sample_and_score(&g, &[&Warmth], &small_run(50), other.path(), &Silent).unwrap_err().to_string();
    assert!(err.contains("z.npy") && err.contains("not part of a run"), "{err}");
    assert_eq!(std::fs::read(other.path().join("z.npy")).unwrap(), b"a user's file");

    // A finished chunk that changed (here: another chunk's codes copied over it) is refused, not reused.
    let chunk = dir.path().join("chunks").join("z_000000.npy");
    let tail = dir.path().join("chunks").join("z_000001.npy");
    std::fs::copy(&tail, &chunk).unwrap();
    let err = sample_and_score(&g, &[&Warmth], &small_run(50), dir.path(), &Silent).unwrap_err().to_string();
    assert!(err.contains("z_000000.npy") && err.contains("differs from its record"), "{err}");
    let merged = tempfile::tempdir().unwrap();
    let err = merge_chunks(&[dir.path().to_path_buf()], merged.path(), false, &Silent).unwrap_err().to_string();
    assert!(err.contains("z_000000.npy") && err.contains("differs from its record"), "{err}");
    assert!(!merged.path().join("z.npy").exists());

    assert!(Shard::parse("0/3").is_err() && Shard::parse("4/3").is_err() && Shard::parse("2").is_err());
    assert_eq!(Shard::parse("2/3").unwrap(), Shard::new(1, 3).unwrap());
}

#[test]
fn the_whole_method_on_the_embedded_dcgan() {
    let device = cpu_device();
    let g = generator();
    let scorers: Vec<BuiltInScorer> = [Attribute::Gender, Attribute::Age, Attribute::Smile]
        .iter()
        .map(|&a| BuiltInScorer::new(a, &device).unwrap())
        .collect();
    let refs: Vec<&dyn Scorer> = scorers.iter().map(|s| s as &dyn Scorer).collect();
    let options = PipelineOptions::default()
        .sample(SampleOptions { samples: 800, chunk_size: 400, ..Default::default() })
        .edit_samples(2)
        .edit(InterpolateOptions { start: -3.0, end: 3.0, steps: 3, ..Default::default() })
        .rescore_samples(32)
        .rescore(RescoreOptions { distances: vec![-2.0, 0.0, 2.0], batch: 64 });
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let unsupervised: Vec<Direction> = (0..3).map(|i| unit_direction(&format!("random_{i}"), 100, i)).collect();
    let outcome = Pipeline::new(&g, &refs).options(options).unsupervised(unsupervised).run(&run, &Silent).unwrap();

    // The official files and shapes.
    assert_eq!(read_header(run.join("z.npy")).unwrap().shape, vec![800, 100]);
    for attribute in ["gender", "age", "smile"] {
        assert_eq!(read_header(run.join(format!("{attribute}_scores.npy"))).unwrap().shape, vec![800, 1]);
        let boundary = Boundary::load(run.join(format!("{attribute}_boundary.npy"))).unwrap();
        assert_eq!(boundary.dim(), 100);
        let fit = &outcome.attribute(attribute).unwrap().fit;
        assert_eq!(fit.chosen_per_side, 100, "small N raises the official 0.02 to 100 per side");
    }
    let smile_without_gender = Boundary::load(run.join("smile_without_gender_boundary.npy")).unwrap();
    let gender = Boundary::load(run.join("gender_boundary.npy")).unwrap();
    let dot: f64 = smile_without_gender.normal().iter().zip(gender.normal()).map(|(a, b)| a * b).sum();
    assert!(dot.abs() < 1e-6, "conditional direction not orthogonal: {dot}");
    assert!(run.join("smile_without_gender_age_boundary.npy").exists());
    assert_eq!(outcome.directions.len(), 12);
    for direction in ["smile", "smile_without_gender_age", "gender"] {
        for (sample, step) in [(0, 0), (1, 2)] {
            assert!(run.join("edits").join(direction).join(format!("{sample:03}_{step:03}.png")).exists());
        }
    }
    assert_eq!(read_f32(run.join("edits").join("z.npy")).unwrap().shape(), &[2, 100]);

    // The target attribute rises along its own direction, plain and conditional.
    for name in ["smile", "smile_without_gender_age", "gender", "gender_without_age_smile"] {
        let row = outcome.rescore.row(name).unwrap();
        assert!(outcome.rescore.target_monotonic(row), "{name}: {:?}", row.means);
    }
    let csv = std::fs::read_to_string(run.join("rescore.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13);

    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    for section in REPORT_SECTIONS {
        assert!(html.contains(&format!("<section id=\"{section}\">")), "section {section} missing");
    }
    assert!(html.contains("<svg") && html.contains("data:image/jpeg;base64,"));
    assert!(run.join("summary.json").exists());

    // The unsupervised directions, measured against the boundaries.
    let matching = outcome.matching.as_ref().expect("directions were given");
    assert_eq!((matching.attributes.len(), matching.candidates.len(), matching.samples), (3, 3, 32));
    for (a, found) in matching.matches.iter().enumerate() {
        let strength: Vec<f64> = found.ranking.iter().map(|&c| matching.candidates[c].effects[a].abs()).collect();
        assert!(strength.windows(2).all(|w| w[0] >= w[1]), "{strength:?}");
        if found.attribute != "age" {
            // As above: at this small N the age boundary is too weak to count on.
            assert!(matching.boundaries[a].effects[a] > 0.0, "{}: {:?}", found.attribute, matching.boundaries[a]);
        }
        assert!((matching.boundaries[a].cosines[a] - 1.0).abs() < 1e-12);
        let (c, _) = matching.shown_candidate(a).unwrap();
        let file = run.join("edits/match").join(format!("{}_{}.png", found.attribute, matching.candidates[c].name));
        let turned =
            run.join("edits/match").join(format!("{}_minus_{}.png", found.attribute, matching.candidates[c].name));
        assert!(file.exists() || turned.exists(), "{}", file.display());
        assert!(html.contains(&found.finding.replace('<', "&lt;").replace('>', "&gt;")));
    }
    assert_eq!(std::fs::read_to_string(run.join("match.csv")).unwrap().lines().count(), 1 + 3 * 4);

    // Run again: the chunks are reused, the result is the same.
    let again = Pipeline::new(&g, &refs)
        .options(
            PipelineOptions::default()
                .sample(SampleOptions { samples: 800, chunk_size: 400, ..Default::default() })
                .edit_samples(2)
                .rescore_samples(8)
                .rescore(RescoreOptions { distances: vec![-1.0, 1.0], batch: 64 }),
        )
        .run(&run, &Silent)
        .unwrap();
    assert_eq!(again.sample.chunks_resumed, 2);
    assert_eq!(
        again.attribute("smile").unwrap().fit.val_accuracy,
        outcome.attribute("smile").unwrap().fit.val_accuracy
    );

    // A folder with other files in it is refused.
    let busy = dir.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let err = Pipeline::new(&g, &refs).samples(100).run(&busy, &Silent).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");
}

/// A seeded unit vector of `dim` values named `name`.
fn unit_direction(name: &str, dim: usize, seed: u64) -> Direction {
    let v = ZSampler::new(dim, seed).next_batch(1);
    let norm = v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    Direction { target: name.to_string(), conditions: Vec::new(), vector: v.iter().map(|&x| x as f64 / norm).collect() }
}

#[test]
fn a_boundary_turned_around_matches_itself_with_the_opposite_effects() {
    let device = cpu_device();
    let g = generator();
    let scorers: Vec<BuiltInScorer> =
        [Attribute::Gender, Attribute::Smile].iter().map(|&a| BuiltInScorer::new(a, &device).unwrap()).collect();
    let refs: Vec<&dyn Scorer> = scorers.iter().map(|s| s as &dyn Scorer).collect();
    let boundaries = [unit_direction("gender", 100, 7), unit_direction("smile", 100, 8)];
    let turned = Direction {
        target: "minus_smile".into(),
        conditions: Vec::new(),
        vector: boundaries[1].vector.iter().map(|v| -v).collect(),
    };
    let candidates = [turned, unit_direction("random", 100, 9)];
    let codes = ZSampler::new(100, 3).next_batch(16);
    let options = MatchOptions::default().distances(vec![-1.0, 0.0, 1.0]).batch(16);
    let table =
        match_directions(&g, &refs, &codes, LatentSpace::Z, (&boundaries, &candidates), &options, &Silent).unwrap();
    // Moving along -n by d is moving along n by -d: the same images, so exactly opposite slopes.
    for (own, turned) in table.boundaries[1].effects.iter().zip(&table.candidates[0].effects) {
        assert_eq!(*turned, -own);
    }
    assert!((table.candidates[0].cosines[1] + 1.0).abs() < 1e-12);
    let smile_is_its_main_effect = table.boundaries[1].effects[1].abs() >= table.boundaries[1].effects[0].abs();
    assert_eq!(table.matches[1].best == Some(0), smile_is_its_main_effect, "{}", table.matches[1].finding);
    if smile_is_its_main_effect {
        assert_eq!(table.shown_candidate(1), Some((0, -1.0)));
    }

    // A boundary for an attribute nobody scores, or none for a scored one, is refused.
    let err = match_directions(&g, &refs, &codes, LatentSpace::Z, (&boundaries[..1], &candidates), &options, &Silent)
        .unwrap_err();
    assert!(err.to_string().contains("`smile` has no boundary"), "{err}");
}

#[test]
fn hostile_manifests_are_refused_before_use() {
    let g = generator();
    let dir = tempfile::tempdir().unwrap();
    sample_and_score(&g, &[&Warmth], &small_run(20), dir.path(), &Silent).unwrap();
    let manifest_path = dir.path().join("manifest.json");
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let out = tempfile::tempdir().unwrap();
    for (field, value, expect) in [
        ("chunk_size", serde_json::json!(0), "chunk_size 0"),
        ("samples", serde_json::json!(1_000_000_000_000_000_000u64), "samples"),
        ("attributes", serde_json::json!(["../../../escaped"]), "attribute name"),
        ("attributes", serde_json::json!(["a/b"]), "attribute name"),
        ("attributes", serde_json::json!([]), "0 attributes"),
        ("latent_dim", serde_json::json!(1usize << 40), "latent_dim"),
        ("format", serde_json::json!(7), "format 7"),
    ] {
        let mut hostile = good.clone();
        hostile[field] = value;
        std::fs::write(&manifest_path, serde_json::to_vec(&hostile).unwrap()).unwrap();
        let err = merge_chunks(&[dir.path().to_path_buf()], out.path(), false, &Silent).unwrap_err().to_string();
        assert!(err.contains("manifest.json") && err.contains(expect), "{field}: {err}");
        let err = sample_and_score(&g, &[&Warmth], &small_run(20), dir.path(), &Silent).unwrap_err().to_string();
        assert!(err.contains("manifest.json") && err.contains(expect), "{field}: {err}");
    }
    let names: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["run.lock"], "nothing but the lock was written");
    assert!(!dir.path().join("../../escaped_scores.npy").exists());
    // Far too large runs are refused before any file is written.
    let fresh = tempfile::tempdir().unwrap();
    let huge =
        SampleOptions { samples: 1_000_000_000_000_000_000, chunk_size: 1_000_000_000_000_000_000, ..small_run(1) };
    let err = sample_and_score(&g, &[&Warmth], &huge, fresh.path(), &Silent).unwrap_err().to_string();
    assert!(err.contains("samples"), "{err}");
    assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0);
}

#[test]
fn interrupted_writes_leave_no_temporaries_after_a_resume() {
    let g = generator();
    let dir = tempfile::tempdir().unwrap();
    sample_and_score(&g, &[&Warmth], &small_run(50), dir.path(), &Silent).unwrap();
    let z = std::fs::read(dir.path().join("z.npy")).unwrap();
    // What a process killed while writing leaves: temporaries beside outputs and chunks, a chunk
    // without its record.
    std::fs::write(dir.path().join(".z.npy.123.0.tmp"), b"partial").unwrap();
    std::fs::write(dir.path().join("chunks").join(".z_000001.npy.123.1.tmp"), b"partial").unwrap();
    std::fs::remove_file(dir.path().join("chunks").join("chunk_000001.json")).unwrap();
    std::fs::write(dir.path().join("chunks").join("z_000001.npy"), b"half a chunk").unwrap();
    let report = sample_and_score(&g, &[&Warmth], &small_run(50), dir.path(), &Silent).unwrap();
    assert_eq!(report.chunks_resumed, 1);
    assert_eq!(std::fs::read(dir.path().join("z.npy")).unwrap(), z, "the recomputed chunk is the same");
    let stray = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
            .count()
    };
    assert_eq!(stray(dir.path()) + stray(&dir.path().join("chunks")), 0);
}
