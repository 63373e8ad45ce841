#![allow(dead_code)]
use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn golden(rel: &str) -> PathBuf {
    fixtures().join("golden").join(rel)
}

pub fn npy(rel: &str) -> Vec<f32> {
    interfacegan_io::read_f32(golden(rel)).unwrap_or_else(|e| panic!("{e}")).data().to_vec()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

pub fn cpu() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
