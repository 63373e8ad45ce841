//! Parity with the official code (golden fixtures from `fixtures/golden/`, see its README).

mod common;
use common::*;
use interfacegan_generator::{Dcgan, Generator, LatentSpace, Pggan, Weights};

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
}

#[test]
fn three_weight_formats_hold_identical_tensors() {
    for model in ["pggan64", "stylegan64", "stylegan128"] {
        let st = Weights::from_file(golden(&format!("{model}/weights.safetensors"))).unwrap();
        for other in ["weights_zip.pth", "weights_legacy.pth"] {
            let pth = Weights::from_file(golden(&format!("{model}/{other}"))).unwrap();
            assert_eq!(st.len(), pth.len(), "{model}/{other}");
            for key in st.keys() {
                let (a, b) = (st.get(key).unwrap(), pth.get(key).unwrap_or_else(|| panic!("{model}/{other}: {key}")));
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
