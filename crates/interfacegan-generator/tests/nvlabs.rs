//! Parity with NVIDIA's official StyleGAN2/StyleGAN3 code on network pickles with random weights
//! (`fixtures/golden/nvlabs/`, made by its `make_sg_fixtures.py` with NVlabs/stylegan3 unmodified).

mod common;
use common::*;
use interfacegan_generator::{Generator, LatentSpace, StyleGan2, StyleGan3, Truncation, Weights};

fn largest(values: &[f32]) -> f32 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// ws within 1e-5; images within 1e-4 of the largest |pixel|, for psi 0.7 and 1 from z and for random ws.
fn check_parity(name: &str) {
    let npz_file = format!("nvlabs/{name}.npz");
    let weights = Weights::from_file(golden(&format!("nvlabs/{name}.pkl"))).unwrap();
    let mut g: Box<dyn Tunable> = if name.starts_with("sg2") {
        Box::new(StyleGan2::from_weights(&weights, &cpu()).unwrap())
    } else {
        Box::new(StyleGan3::from_weights(&weights, &cpu()).unwrap())
    };
    let z = npz(&npz_file, "z");
    for psi in ["0.7", "1.0"] {
        g.set_truncation(Truncation { psi: Some(psi.parse().unwrap()), layers: usize::MAX }).unwrap();
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
    assert_eq!(g.latent_mean(LatentSpace::W).unwrap(), npz(&npz_file, "w_avg"));
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
fn stylegan3_t_matches_nvidia() {
    check_parity("sg3t_64");
}

#[test]
fn stylegan3_r_matches_nvidia() {
    check_parity("sg3r_64");
}
