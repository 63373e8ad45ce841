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

/// One float32 array of a golden `.npz` file.
pub fn npz(rel: &str, key: &str) -> Vec<f32> {
    use std::io::Read;
    let bytes = std::fs::read(golden(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut entry = archive.by_name(&format!("{key}.npy")).unwrap_or_else(|e| panic!("{rel}: {key}: {e}"));
    let mut raw = Vec::new();
    entry.read_to_end(&mut raw).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("array.npy");
    std::fs::write(&path, raw).unwrap();
    interfacegan_io::read_f32(&path).unwrap_or_else(|e| panic!("{e}")).data().to_vec()
}
