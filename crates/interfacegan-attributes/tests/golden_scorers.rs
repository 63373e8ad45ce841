//! Parity with the reference pipeline (Pillow 13 + onnxruntime 1.32) on the DCGAN golden faces.

use std::path::PathBuf;

use image::RgbImage;
use interfacegan_attributes::{Attribute, BuiltInScorer, Engine, ModelStore, OnnxError, OnnxModel, Scorer};
use interfacegan_io::{resize_bilinear, to_luma};

fn golden(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden").join(rel)
}

fn npy(rel: &str) -> Vec<f32> {
    interfacegan_io::read_f32(golden(rel)).unwrap().data().to_vec()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The 16 DCGAN faces as uint8 RGB images (the scorers' reference input).
fn faces() -> Vec<RgbImage> {
    let bytes: Vec<u8> = npy("dcgan_digiface/image_uint8.npy").iter().map(|&v| v as u8).collect();
    bytes.chunks_exact(64 * 64 * 3).map(|b| RgbImage::from_raw(64, 64, b.to_vec()).unwrap()).collect()
}

fn cpu() -> interfacegan_device::Device {
    interfacegan_device::cpu_device()
}

#[test]
fn pillow_resize_and_luma_are_exact() {
    let want_resized: Vec<u8> = npy("scorers/gender_resized_uint8.npy").iter().map(|&v| v as u8).collect();
    let got: Vec<u8> = faces().iter().flat_map(|f| resize_bilinear(f, 32, 32).into_raw()).collect();
    assert_eq!(got, want_resized);
    let want_gray: Vec<u8> = npy("scorers/gray_uint8.npy").iter().map(|&v| v as u8).collect();
    let got: Vec<u8> = faces().iter().flat_map(|f| to_luma(f).into_raw()).collect();
    assert_eq!(got, want_gray);
}

#[test]
fn network_inputs_outputs_and_scores_match() {
    let faces = faces();
    let cases = [
        (Attribute::Gender, "gender_input.npy", "gender_probs.npy", "p_male.npy", 1e-5),
        (Attribute::Age, "age_input.npy", "age_probs.npy", "expected_age.npy", 1e-3),
        (Attribute::Smile, "emotion_input.npy", "emotion_probs.npy", "p_happy.npy", 1e-5),
    ];
    for ((attribute, input_file, probs_file, score_file, score_tolerance), engine) in
        cases.into_iter().flat_map(|case| [(case, Engine::Cpu), (case, Engine::Burn)])
    {
        let scorer = BuiltInScorer::new(attribute, &cpu()).unwrap().with_engine(engine).unwrap();
        let attribute = (attribute, engine);
        let (input, shape) = scorer.network_input(&faces).unwrap();
        let want_input = npy(&format!("scorers/{input_file}"));
        let diff = max_abs_diff(&input, &want_input);
        assert!(diff <= 1e-6, "{attribute:?} input: {diff}");
        // The network alone, from the reference's own input.
        let probs = scorer.probabilities(&want_input, shape).unwrap();
        let diff = max_abs_diff(&probs, &npy(&format!("scorers/{probs_file}")));
        assert!(diff <= 1e-5, "{attribute:?} probabilities: {diff}");
        // End to end from the uint8 faces.
        let scores = scorer.score(&faces).unwrap();
        let diff = max_abs_diff(&scores, &npy(&format!("scorers/{score_file}")));
        assert!(diff <= score_tolerance, "{attribute:?} scores: {diff}");
    }
}

#[test]
fn batch_size_does_not_change_scores() {
    let faces = faces();
    let scorer = BuiltInScorer::new(Attribute::Gender, &cpu()).unwrap();
    let all = scorer.score(&faces).unwrap();
    let one_by_one: Vec<f32> = faces.iter().flat_map(|f| scorer.score(std::slice::from_ref(f)).unwrap()).collect();
    assert!(max_abs_diff(&all, &one_by_one) <= 1e-6);
}

#[test]
fn bad_input_is_a_named_error() {
    let scorer = BuiltInScorer::new(Attribute::Age, &cpu()).unwrap();
    let err = scorer.score(&[]).unwrap_err();
    assert!(err.to_string().contains("no images"), "{err}");
    let err = scorer.score(&[RgbImage::new(4, 64)]).unwrap_err();
    assert!(err.to_string().contains("4x64"), "{err}");
    let err = scorer.probabilities(&[0.0; 3 * 32 * 32], [1, 3, 32, 32]).unwrap_err();
    assert!(err.to_string().contains("[N, 3, 64, 64]"), "{err}");
    // Non-square and other sizes are centre-cropped and resized.
    assert_eq!(scorer.score(&[RgbImage::new(100, 80)]).unwrap().len(), 1);
    // Damaged model files.
    let (_, bytes) = ModelStore::from_env().read("gender").unwrap();
    for cut in [10, bytes.len() / 2, bytes.len() - 3] {
        let err = OnnxModel::from_bytes(&bytes[..cut], "cut.onnx", &cpu()).err().unwrap();
        assert!(matches!(err, OnnxError::Protobuf { .. }), "{err}");
    }
    assert!(OnnxModel::from_bytes(b"not onnx at all", "x.onnx", &cpu()).is_err());
    // A scorer takes only the registry's file, by any route.
    let mut damaged = bytes.clone();
    damaged[1000] ^= 1;
    let err = BuiltInScorer::from_bytes(Attribute::Gender, &damaged, "mine.onnx", &cpu()).err().unwrap();
    assert!(err.to_string().contains("mine.onnx: sha256") && err.to_string().contains("d4c4116c"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = BuiltInScorer::in_store(Attribute::Age, &ModelStore::in_dir(empty.path()), &cpu()).err().unwrap();
    assert!(err.to_string().contains("age-v1.onnx") && err.to_string().contains("not found"), "{err}");
    assert!(BuiltInScorer::from_bytes(Attribute::Gender, &bytes, "mine.onnx", &cpu()).is_ok());
    let path = empty.path().join("mine.onnx");
    std::fs::write(&path, &bytes[..1000]).unwrap();
    let err = BuiltInScorer::from_file(Attribute::Gender, &path, &cpu()).err().unwrap();
    assert!(err.to_string().contains("1000 bytes, but the model file has 530620"), "{err}");
    std::fs::write(&path, &bytes).unwrap();
    assert!(BuiltInScorer::from_file(Attribute::Gender, &path, &cpu()).is_ok());
}

#[test]
fn affine_maps_are_folded_into_the_convolutions() {
    // Nodes in the ONNX files (onnx.load) and after loading: the dlib nets' per-channel Mul + Add after each
    // convolution (4 in gender, 11 in age) and the 14 BatchNormalizations of the smile net disappear into the
    // convolutions; the input scaling, residual Adds and the classifier tails stay. The golden tests above
    // check that the outputs did not move.
    for (attribute, in_file, folded) in
        [(Attribute::Gender, 26, 18), (Attribute::Age, 59, 37), (Attribute::Smile, 54, 40)]
    {
        let (_, bytes) = ModelStore::from_env().read(attribute.model_name()).unwrap();
        let model = OnnxModel::from_bytes(&bytes, attribute.name(), &cpu()).unwrap();
        assert_eq!(model.node_count(), folded, "{attribute:?}: {in_file} nodes in the file");
    }
}

#[test]
fn the_cpu_engine_is_the_default_and_agrees_with_burn() {
    // An odd batch of inputs unlike faces (uniform in the inputs' range), beside the golden faces.
    let mut state = 7u32;
    let mut uniform = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    };
    for attribute in Attribute::ALL {
        let cpu_engine = BuiltInScorer::new(attribute, &cpu()).unwrap();
        assert_eq!(cpu_engine.engine(), Engine::Cpu, "{attribute:?}");
        let burn = BuiltInScorer::new(attribute, &cpu()).unwrap().with_engine(Engine::Burn).unwrap();
        assert_eq!(burn.engine(), Engine::Burn);
        let spec = cpu_engine.input();
        let shape = [5, if spec.gray { 1 } else { 3 }, spec.size as usize, spec.size as usize];
        let input: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| uniform()).collect();
        let (a, b) = (cpu_engine.probabilities(&input, shape).unwrap(), burn.probabilities(&input, shape).unwrap());
        assert!(max_abs_diff(&a, &b) <= 1e-5, "{attribute:?}: {}", max_abs_diff(&a, &b));
    }
}

#[test]
fn the_cpu_engine_takes_any_batch_size() {
    let faces = faces();
    let scorer = BuiltInScorer::new(Attribute::Smile, &cpu()).unwrap();
    let (input, shape) = scorer.network_input(&faces).unwrap();
    let all = scorer.probabilities(&input, shape).unwrap();
    let per_image = input.len() / faces.len();
    for n in [1, 3, 16] {
        let part = scorer.probabilities(&input[..n * per_image], [n, shape[1], shape[2], shape[3]]).unwrap();
        assert!(max_abs_diff(&part, &all[..part.len()]) <= 1e-6, "batch of {n}");
    }
    let (_, bytes) = ModelStore::from_env().read("smile").unwrap();
    let err = OnnxModel::from_bytes(&bytes, "smile", &cpu()).unwrap().infer(&input, [1, 1, 2, 2]);
    assert!(err.unwrap_err().to_string().contains("[1, 1, 2, 2]"));
}
