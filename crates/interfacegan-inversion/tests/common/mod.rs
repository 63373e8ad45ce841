//! Fixtures shared by the inversion tests.
#![allow(dead_code)]

use std::path::PathBuf;

use image::RgbImage;
use interfacegan_io::read_f32;

pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(path)
}

/// Images of the DCGAN golden set (official post-processing of 16 codes).
pub fn golden_images() -> Vec<RgbImage> {
    // read_f32 widens the u8 file.
    let bytes: Vec<u8> = read_f32(fixture("golden/dcgan_digiface/image_uint8.npy"))
        .unwrap()
        .into_data()
        .into_iter()
        .map(|v| v as u8)
        .collect();
    bytes.chunks_exact(64 * 64 * 3).map(|b| RgbImage::from_raw(64, 64, b.to_vec()).unwrap()).collect()
}

/// The golden set's 16 codes, row-major.
pub fn golden_z() -> Vec<f32> {
    read_f32(fixture("golden/dcgan_digiface/z.npy")).unwrap().into_data()
}
