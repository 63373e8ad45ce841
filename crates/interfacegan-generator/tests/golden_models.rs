//! Parity with the official code (golden fixtures from `fixtures/golden/`, see its README).

mod common;
use burn::tensor::TensorData;
use common::*;
use interfacegan_generator::{
    Dcgan, Generator, LatentSpace, ModelStore, Pggan, Tensor, Weights, ZSampler, default_generator,
    default_generator_in,
};

#[test]
fn dcgan_digiface_matches_torch() {
    let weights = Weights::from_file(fixtures().join("models/dcgan_digiface.pth")).unwrap();
    let g = Dcgan::from_weights(&weights, &cpu()).unwrap();
    assert_eq!(g.info().resolution, 64);
    assert_eq!(g.info().latent_dim, 100);
    let z = npy("dcgan_digiface/z.npy");
    let out = g.synthesize(&z, LatentSpace::Z).unwrap();
    assert_eq!(out.image_shape, [16, 3, 64, 64]);
    let diff = max_abs_diff(&out.images, &npy("dcgan_digiface/image.npy"));
    assert!(diff <= 1e-5, "max |diff| {diff}");
    // The default generator is this file, found at run time, and nothing else.
    assert_eq!(g.map_z(&z).unwrap(), None, "a DCGAN has no mapping network");
    let default = default_generator(&cpu()).unwrap().synthesize(&z, LatentSpace::Z).unwrap();
    assert_eq!(default.images, out.images);
    let empty = tempfile::tempdir().unwrap();
    let err = default_generator_in(&ModelStore::in_dir(empty.path()), &cpu()).err().unwrap();
    assert!(err.to_string().contains("dcgan_digiface.pth") && err.to_string().contains("0c3b90b1"), "{err}");
}

/// `synthesize` on the CPU runs the DCGAN without burn (batched products and a tap gather); it
/// must agree with burn's transposed convolutions (`forward`) at every batch size and tiling.
#[test]
fn dcgan_host_route_agrees_with_burn_at_any_batch() {
    let g = default_generator(&cpu()).unwrap();
    for n in [1, 3, 17, 64, 130] {
        let z = ZSampler::new(100, n as u64).next_batch(n);
        let host = g.synthesize(&z, LatentSpace::Z).unwrap();
        let input = Tensor::from_data(TensorData::new(z.clone(), [n, 1, 100]), &cpu());
        let burn = g.forward(input, LatentSpace::Z).unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(host.image_shape, [n, 3, 64, 64]);
        let diff = max_abs_diff(&host.images, &burn);
        assert!(diff <= 1e-5, "batch {n}: max |diff| {diff}");
    }
}

/// `synthesize_traced` on the CPU pulls an image gradient back through the DCGAN without burn
/// (the forward pass's products transposed); it must agree with burn's autodiff of `forward`.
#[test]
fn dcgan_pullback_agrees_with_burn_autodiff() {
    let device = cpu().autodiff();
    let g = default_generator(&device).unwrap();
    for n in [1, 3, 17] {
        let z = ZSampler::new(100, n as u64).next_batch(n);
        let traced = g.synthesize_traced(&z, LatentSpace::Z).unwrap().expect("the DCGAN has a CPU route");
        assert_eq!(traced.image_shape, [n, 3, 64, 64]);
        assert_eq!(traced.images, g.synthesize(&z, LatentSpace::Z).unwrap().images);
        // The gradient of sum(v * G(z)) for a random v.
        let v = ZSampler::new(n * 3 * 64 * 64, 7).next_batch(1);
        let ours = traced.pullback(&v).unwrap();
        let input = Tensor::<3>::from_data(TensorData::new(z.clone(), [n, 1, 100]), &device).require_grad();
        let images = g.forward(input.clone(), LatentSpace::Z).unwrap();
        let weights = Tensor::<4>::from_data(TensorData::new(v.clone(), [n, 3, 64, 64]), &device);
        let grads = (images * weights).sum().backward();
        let theirs = input.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
        let scale = theirs.iter().fold(0f32, |m, x| m.max(x.abs()));
        let diff = max_abs_diff(&ours, &theirs);
        assert!(diff <= 1e-5 * scale, "batch {n}: max |diff| {diff} of {scale}");
        let err = traced.pullback(&v[1..]).err().unwrap().to_string();
        assert!(err.contains(&format!("{} raw values", v.len() - 1)), "{err}");
    }
}

/// PGGAN's `synthesize` at lod 0 runs without burn on the CPU (tiled im2col, upsampling in the
/// gather, pixel norm fused); it must agree with burn's `forward` at every batch size.
#[test]
fn pggan_host_route_agrees_with_burn_at_any_batch() {
    let weights = Weights::from_file(golden("pggan64/weights_legacy.pth")).unwrap();
    let g = Pggan::from_weights(&weights, &cpu()).unwrap();
    for n in [1, 2, 5, 33] {
        let z = ZSampler::new(48, n as u64).next_batch(n);
        let host = g.synthesize(&z, LatentSpace::Z).unwrap();
        let input = Tensor::from_data(TensorData::new(z.clone(), [n, 1, 48]), &cpu());
        let burn = g.forward(input, LatentSpace::Z).unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(host.image_shape, [n, 3, 64, 64]);
        let scale = burn.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(&host.images, &burn);
        assert!(diff <= 1e-5 * scale.max(1.0), "batch {n}: max |diff| {diff} (largest pixel {scale})");
    }
}

/// StyleGAN's `synthesize` at lod 0 runs its synthesis network without burn on the CPU (plain and
/// fused up-convolutions, blur, noise, instance norm, styles); it must agree with burn's `forward`.
#[test]
fn stylegan_host_route_agrees_with_burn() {
    use interfacegan_generator::StyleGan;
    for model in ["stylegan64", "stylegan128"] {
        let weights = Weights::from_file(golden(&format!("{model}/weights_zip.pth"))).unwrap();
        let g = StyleGan::from_weights(&weights, &cpu()).unwrap();
        let d = g.info().latent_dim;
        for n in [1, 3] {
            let z = ZSampler::new(d, n as u64).next_batch(n);
            let host = g.synthesize(&z, LatentSpace::Z).unwrap();
            let input = Tensor::from_data(TensorData::new(z.clone(), [n, 1, d]), &cpu());
            let burn = g.forward(input, LatentSpace::Z).unwrap().into_data().try_to_vec::<f32>().unwrap();
            assert_eq!(host.images.len(), burn.len());
            let scale = burn.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = max_abs_diff(&host.images, &burn);
            assert!(diff <= 1e-5 * scale.max(1.0), "{model}, batch {n}: max |diff| {diff} (largest pixel {scale})");
        }
    }
}

#[test]
fn three_weight_formats_hold_identical_tensors() {
    for model in ["pggan64", "stylegan64", "stylegan128"] {
        let st = Weights::from_file(golden(&format!("{model}/weights.safetensors"))).unwrap();
        for other in ["weights_zip.pth", "weights_legacy.pth"] {
            let pth = Weights::from_file(golden(&format!("{model}/{other}"))).unwrap();
            assert_eq!(st.len(), pth.len(), "{model}/{other}");
            for key in st.keys() {
                let (a, b) =
                    (st.tensor(key).unwrap(), pth.tensor(key).unwrap_or_else(|e| panic!("{model}/{other}: {e}")));
                assert_eq!(a.shape, b.shape, "{key}");
                assert_eq!(a.values, b.values, "{key}");
            }
        }
    }
}

#[test]
fn pggan_matches_official_at_every_lod() {
    let weights = Weights::from_file(golden("pggan64/weights_legacy.pth")).unwrap();
    let mut g = Pggan::from_weights(&weights, &cpu()).unwrap();
    assert_eq!(g.config().channels, vec![48, 32, 32, 24, 16, 8]);
    let z = npy("pggan64/synth_z/z.npy");
    for (lod, file) in [(0.0, "synth_z/image.npy"), (1.0, "synth_z_lod1/image.npy"), (2.0, "synth_z_lod2/image.npy")] {
        g.set_lod(lod).unwrap();
        let out = g.synthesize(&z, LatentSpace::Z).unwrap();
        let diff = max_abs_diff(&out.images, &npy(&format!("pggan64/{file}")));
        assert!(diff <= 1e-3, "lod {lod}: max |diff| {diff}");
    }
}

fn check(name: &str, got: &[f32], want_file: &str, tolerance: f32) {
    let diff = max_abs_diff(got, &npy(want_file));
    assert!(diff <= tolerance, "{name}: max |diff| {diff} > {tolerance} ({want_file})");
}

#[test]
fn stylegan_matches_official_in_every_space() {
    use interfacegan_generator::{StyleGan, Truncation};
    for (model, fused) in [("stylegan64", vec![]), ("stylegan128", vec![10])] {
        let weights = Weights::from_file(golden(&format!("{model}/weights_zip.pth"))).unwrap();
        let mut g = StyleGan::from_weights(&weights, &cpu()).unwrap();
        assert_eq!(g.config().fused_layers, fused, "{model}");
        let layers = g.info().wp_layers;
        // The mapping network alone: the official untruncated w.
        let w = g.map_z(&npy(&format!("{model}/synth_z_psi1.0/z.npy"))).unwrap().expect("a mapping network");
        let diff = max_abs_diff(&w, &npy(&format!("{model}/synth_z_psi1.0/w.npy")));
        assert!(diff <= 1e-5, "{model}: map_z differs from the official w by {diff}");
        let cases = [
            ("synth_z_psi0.7", LatentSpace::Z, Some(0.7), "z.npy"),
            ("synth_z_psi1.0", LatentSpace::Z, Some(1.0), "z.npy"),
            ("synth_w_psi0.7", LatentSpace::W, Some(0.7), "w.npy"),
            ("synth_wp", LatentSpace::WPlus, Some(0.7), "wp.npy"),
        ];
        for (dir, space, psi, input) in cases {
            g.set_truncation(Truncation { psi, layers: 8 }).unwrap();
            let codes = npy(&format!("{model}/{dir}/{input}"));
            let (out, styles) = g.synthesize_with_styles(&codes, space).unwrap();
            let at = |f: &str| format!("{model}/{dir}/{f}");
            if space == LatentSpace::Z {
                check(dir, out.w.as_ref().unwrap(), &at("w.npy"), 1e-5);
            }
            check(dir, out.wp.as_ref().unwrap(), &at("wp.npy"), 1e-5);
            for (l, style) in styles.iter().enumerate().take(layers) {
                check(dir, style, &at(&format!("style{l:02}.npy")), 1e-5);
            }
            check(dir, &out.images, &at("image.npy"), 1e-3);
        }
        g.set_truncation(Truncation::default()).unwrap();
        let wp = npy(&format!("{model}/synth_z_psi0.7/wp.npy"));
        for lod in [1.0, 2.0] {
            g.set_lod(lod).unwrap();
            let out = g.synthesize(&wp, LatentSpace::WPlus).unwrap();
            check("lod", &out.images, &format!("{model}/synth_z_psi0.7_lod{lod}/image.npy"), 1e-3);
        }
    }
}
