//! Parity with NVIDIA's official StyleGAN2/StyleGAN3 code on network pickles with random weights
//! (`fixtures/golden/nvlabs/`, made by its `make_sg_fixtures.py` with NVlabs/stylegan3 unmodified), and
//! with rosinality's StyleGAN2 code on a checkpoint of its layout (`fixtures/golden/rosinality/`).

mod common;
use common::*;
use interfacegan_generator::{Generator, LatentSpace, StyleGan2, StyleGan3, Truncation, Weights};

fn largest(values: &[f32]) -> f32 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// ws within 1e-5; images within 1e-4 of the largest |pixel|, for psi 0.7 and 1 from z and for random ws.
fn check_parity(name: &str) {
    let (npz_file, weights_file) = match name.split('_').next() {
        Some("rosinality") => (format!("rosinality/{name}.npz"), format!("rosinality/{name}.pt")),
        Some("genforce") => (format!("genforce/{name}.npz"), format!("genforce/{name}.pth")),
        _ => (format!("nvlabs/{name}.npz"), format!("nvlabs/{name}.pkl")),
    };
    let weights = Weights::from_file(golden(&weights_file)).unwrap();
    let mut g: Box<dyn Tunable> = if !name.starts_with("sg3") {
        Box::new(StyleGan2::from_weights(&weights, &cpu()).unwrap())
    } else {
        Box::new(StyleGan3::from_weights(&weights, &cpu()).unwrap())
    };
    let z = npz(&npz_file, "z");
    // The mapping network alone gives the untruncated w, which every layer of ws holds at psi 1.
    let w = g.map_z(&z).unwrap().expect("a mapping network");
    let ws = npz(&npz_file, "ws_psi1.0");
    let d = g.info().latent_dim;
    let (n, layers) = (w.len() / d, ws.len() / w.len());
    for i in 0..n {
        let diff = max_abs_diff(&w[i * d..][..d], &ws[i * layers * d..][..d]);
        assert!(diff <= 1e-5, "{name}: map_z of code {i} differs from NVIDIA's w by {diff}");
    }
    // genforce's fixture truncates the first 8 layers (of 8), as SeFa does; the others all.
    let layers = if name.starts_with("genforce") { 8 } else { usize::MAX };
    for psi in ["0.7", "1.0"] {
        g.set_truncation(Truncation { psi: Some(psi.parse().unwrap()), layers }).unwrap();
        let out = g.synthesize(&z, LatentSpace::Z).unwrap();
        let ws_diff = max_abs_diff(out.wp.as_ref().unwrap(), &npz(&npz_file, &format!("ws_psi{psi}")));
        assert!(ws_diff <= 1e-5, "{name} psi {psi}: ws max |diff| {ws_diff}");
        let want = npz(&npz_file, &format!("img_psi{psi}"));
        let diff = max_abs_diff(&out.images, &want);
        eprintln!("{name} psi {psi}: ws {ws_diff:.2e}, image {diff:.2e} of largest {:.3}", largest(&want));
        assert!(
            diff <= 1e-4 * largest(&want),
            "{name} psi {psi}: image max |diff| {diff} (largest {})",
            largest(&want)
        );
    }
    let ws = npz(&npz_file, "ws_random");
    let out = g.synthesize(&ws, LatentSpace::WPlus).unwrap();
    let want = npz(&npz_file, "img_ws_random");
    let diff = max_abs_diff(&out.images, &want);
    assert!(diff <= 1e-4 * largest(&want), "{name} random ws: image max |diff| {diff}");
    if !name.starts_with("rosinality") {
        assert_eq!(g.latent_mean(LatentSpace::W).unwrap(), npz(&npz_file, "w_avg"));
    }
}

/// The generators with a settable truncation.
trait Tunable: Generator {
    fn set_truncation(&mut self, t: Truncation) -> Result<(), interfacegan_generator::GeneratorError>;
}

impl Tunable for StyleGan2 {
    fn set_truncation(&mut self, t: Truncation) -> Result<(), interfacegan_generator::GeneratorError> {
        StyleGan2::set_truncation(self, t)
    }
}

impl Tunable for StyleGan3 {
    fn set_truncation(&mut self, t: Truncation) -> Result<(), interfacegan_generator::GeneratorError> {
        StyleGan3::set_truncation(self, t)
    }
}

#[test]
fn stylegan2_skip_64_matches_nvidia() {
    check_parity("sg2_64_skip");
}

#[test]
fn stylegan2_128_with_fp16_blocks_and_clamp_matches_nvidia() {
    check_parity("sg2_128_clamp");
}

#[test]
fn stylegan2_orig_and_resnet_blocks_match_nvidia() {
    check_parity("sg2_32_orig");
    check_parity("sg2_32_resnet");
}

#[test]
fn stylegan3_t_matches_nvidia() {
    check_parity("sg3t_64");
}

#[test]
fn stylegan3_r_matches_nvidia() {
    check_parity("sg3r_64");
}

#[test]
fn rosinality_stylegan2_checkpoint_matches_its_code() {
    check_parity("rosinality_32");
}

#[test]
fn genforce_stylegan2_checkpoint_matches_its_code() {
    check_parity("genforce_32");
}

#[test]
fn rosinality_without_latent_avg_estimates_it_from_the_mapping() {
    let full = Weights::from_file(golden("rosinality/rosinality_32.pt")).unwrap();
    let stored = full.tensor("latent_avg").unwrap().values.clone();
    let tensors = full.keys().filter(|k| *k != "latent_avg").map(|k| (k.to_string(), full.tensor(k).unwrap()));
    let g = StyleGan2::from_weights(&Weights::from_tensors(tensors, "no_avg.pt"), &cpu()).unwrap();
    let estimated = g.latent_mean(LatentSpace::W).unwrap();
    // Both are means of w over 4096 random z (different draws). w's standard deviation is 0.14-0.96 per
    // dimension (measured on 100,000 z with rosinality's code), so the two means differ by a standard
    // error of at most sqrt(2) * 0.96 / 64 = 0.021: 5 of them bound all 32 dimensions.
    let diff = max_abs_diff(&estimated, &stored);
    assert!(diff < 0.106, "estimated w_avg {diff} from the stored one");
}

#[test]
fn rosinality_runs_g_ema_when_g_is_there_too() {
    // train.py's checkpoints hold the raw generator `g` beside `g_ema`; give `g` other (zero) weights.
    let full = Weights::from_file(golden("rosinality/rosinality_32.pt")).unwrap();
    let mut tensors: Vec<_> = full.keys().map(|k| (k.to_string(), full.tensor(k).unwrap())).collect();
    let raw: Vec<_> = tensors
        .iter()
        .filter_map(|(k, t)| k.strip_prefix("g_ema.").map(|k| (format!("g.{k}"), t.clone())))
        .map(|(k, mut t)| {
            t.values.iter_mut().for_each(|v| *v = 0.0);
            (k, t)
        })
        .collect();
    tensors.extend(raw);
    let g = StyleGan2::from_weights(&Weights::from_tensors(tensors, "train.pt"), &cpu()).unwrap();
    let ws = npz("rosinality/rosinality_32.npz", "ws_random");
    let diff = max_abs_diff(
        &g.synthesize(&ws, LatentSpace::WPlus).unwrap().images,
        &npz("rosinality/rosinality_32.npz", "img_ws_random"),
    );
    assert!(diff <= 1e-4, "{diff}");
}

/// `synthesize` on the CPU runs StyleGAN2's synthesis without burn (modulation in the gather,
/// the up-sampling convolution by output parity, the filters, the skip images); it must agree with
/// burn's `forward` for every noise mode, batch and block architecture the route takes, and with
/// filters that are not symmetric (NVIDIA's are, so the parity tests cannot tell a flipped one).
#[test]
fn stylegan2_cpu_route_agrees_with_burn() {
    use interfacegan_generator::{NoiseMode, Tensor, WeightTensor, ZSampler};
    let burn_images = |g: &StyleGan2, z: &[f32], n: usize| {
        let d = g.info().latent_dim;
        let input = Tensor::from_data(burn::tensor::TensorData::new(z.to_vec(), [n, 1, d]), &cpu());
        g.forward(input, LatentSpace::Z).unwrap().into_data().try_to_vec::<f32>().unwrap()
    };
    for name in ["sg2_64_skip", "sg2_128_clamp", "sg2_32_orig"] {
        let weights = Weights::from_file(golden(&format!("nvlabs/{name}.pkl"))).unwrap();
        let config = StyleGan2::from_weights(&weights, &cpu()).unwrap().config().clone();
        // Every resampling filter made asymmetric: outer([1, 2, 3, 4], [1, 3, 2, 1]) / 100.
        let skewed = weights.keys().map(|key| {
            let mut tensor: WeightTensor = weights.tensor(key).unwrap();
            if key.ends_with("resample_filter") {
                let (rows, cols) = ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 1.0]);
                tensor.values = (0..16).map(|i| rows[i / 4] * cols[i % 4] / 100.0).collect();
            }
            (key.to_string(), tensor)
        });
        let skewed = Weights::from_tensors(skewed.collect::<Vec<_>>(), "skewed");
        for (filters, source) in [("symmetric", &weights), ("asymmetric", &skewed)] {
            let mut g = StyleGan2::with_config(source, config.clone(), &cpu()).unwrap();
            for (mode, n) in [(NoiseMode::Const, 1), (NoiseMode::Const, 3), (NoiseMode::None, 2)] {
                g.set_noise_mode(mode);
                let z = ZSampler::new(g.info().latent_dim, n as u64).next_batch(n);
                let host = g.synthesize(&z, LatentSpace::Z).unwrap();
                let want = burn_images(&g, &z, n);
                assert_eq!(host.image_shape[0], n);
                // Two routes summing in different orders: never bit-identical over a network.
                assert_ne!(host.images, want, "{name}: the CPU route was not taken");
                let diff = max_abs_diff(&host.images, &want);
                let scale = largest(&want).max(1.0);
                assert!(diff <= 1e-5 * scale, "{name}, {filters} filters, {mode:?}, batch {n}: {diff} of {scale}");
            }
        }
    }
}
