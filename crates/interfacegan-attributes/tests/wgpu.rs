//! The scorers on the GPU backend give the reference's scores. Built only with `--features wgpu`; on
//! a machine without a GPU, Mesa's software Vulkan (lavapipe: `apt-get install mesa-vulkan-drivers`)
//! runs it: `cargo test -p interfacegan-attributes --features wgpu --test wgpu`.

#![cfg(feature = "wgpu")]

use std::path::PathBuf;

use image::RgbImage;
use interfacegan_attributes::{Attribute, BuiltInScorer, Scorer};

fn npy(rel: &str) -> Vec<f32> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden").join(rel);
    interfacegan_io::read_f32(path).unwrap().data().to_vec()
}

#[test]
fn wgpu_scores_match_the_reference() {
    let gpu = interfacegan_device::device_by_name("wgpu").unwrap();
    let bytes: Vec<u8> = npy("dcgan_digiface/image_uint8.npy").iter().map(|&v| v as u8).collect();
    let faces: Vec<RgbImage> =
        bytes.chunks_exact(64 * 64 * 3).map(|b| RgbImage::from_raw(64, 64, b.to_vec()).unwrap()).collect();
    for (attribute, file, tolerance) in [
        (Attribute::Gender, "p_male.npy", 1e-5),
        (Attribute::Age, "expected_age.npy", 1e-3),
        (Attribute::Smile, "p_happy.npy", 1e-5),
    ] {
        let scores = BuiltInScorer::new(attribute, &gpu).unwrap().score(&faces).unwrap();
        let want = npy(&format!("scorers/{file}"));
        let diff = scores.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        eprintln!("{attribute:?} on wgpu: largest difference to the reference {diff:e}");
        assert!(diff <= tolerance, "{attribute:?} on wgpu: {diff}");
    }
}
