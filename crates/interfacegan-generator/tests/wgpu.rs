//! The GPU backend gives the CPU's images. Built only with `--features wgpu`; on a machine without
//! a GPU, Mesa's software Vulkan (lavapipe: `apt-get install mesa-vulkan-drivers`) runs it.

#![cfg(feature = "wgpu")]

mod common;
use common::*;
use interfacegan_generator::{Dcgan, Generator, LatentSpace, StyleGan, Weights, device_by_name, sample_z};

#[test]
fn wgpu_images_match_cpu_and_golden() {
    let gpu = device_by_name("wgpu").unwrap();
    let weights = Weights::from_file(fixtures().join("models/dcgan_digiface.pth")).unwrap();
    let on_cpu = Dcgan::from_weights(&weights, &cpu()).unwrap();
    let on_gpu = Dcgan::from_weights(&weights, &gpu).unwrap();
    let z = sample_z(8, 100, 11);
    let a = on_cpu.synthesize(&z, LatentSpace::Z).unwrap();
    let b = on_gpu.synthesize(&z, LatentSpace::Z).unwrap();
    let diff = max_abs_diff(&a.images, &b.images);
    assert!(diff <= 1e-4, "DCGAN cpu vs wgpu: {diff}");
    let golden_diff = max_abs_diff(
        &on_gpu.synthesize(&npy("dcgan_digiface/z.npy"), LatentSpace::Z).unwrap().images,
        &npy("dcgan_digiface/image.npy"),
    );
    assert!(golden_diff <= 1e-4, "DCGAN wgpu vs golden: {golden_diff}");

    let weights = Weights::from_file(golden("stylegan64/weights.safetensors")).unwrap();
    let g = StyleGan::from_weights(&weights, &gpu).unwrap();
    let out = g.synthesize(&npy("stylegan64/synth_z_psi0.7/z.npy"), LatentSpace::Z).unwrap();
    let diff = max_abs_diff(&out.images, &npy("stylegan64/synth_z_psi0.7/image.npy"));
    assert!(diff <= 1e-3, "StyleGAN wgpu vs golden: {diff}");
}

/// StyleGAN2 and StyleGAN3 from NVIDIA network pickles on the GPU backend: images within 1e-3 of the
/// largest |pixel| of NVIDIA's (the CPU is within 4e-6, `tests/nvlabs.rs`).
#[test]
fn wgpu_nvidia_stylegans_match_golden() {
    use interfacegan_generator::{StyleGan2, StyleGan3, Truncation};
    let gpu = device_by_name("wgpu").unwrap();
    for name in ["sg2_64_skip", "sg2_128_clamp", "sg3t_64", "sg3r_64"] {
        let weights = Weights::from_file(golden(&format!("nvlabs/{name}.pkl"))).unwrap();
        let fixture = format!("nvlabs/{name}.npz");
        let truncation = Truncation { psi: Some(0.7), layers: usize::MAX };
        let g: Box<dyn Generator> = if name.starts_with("sg2") {
            let mut g = StyleGan2::from_weights(&weights, &gpu).unwrap();
            g.set_truncation(truncation).unwrap();
            Box::new(g)
        } else {
            let mut g = StyleGan3::from_weights(&weights, &gpu).unwrap();
            g.set_truncation(truncation).unwrap();
            Box::new(g)
        };
        let want = npz(&fixture, "img_psi0.7");
        let largest = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(&g.synthesize(&npz(&fixture, "z"), LatentSpace::Z).unwrap().images, &want);
        eprintln!("{name}: wgpu vs NVIDIA {diff:.2e} (largest |pixel| {largest:.3})");
        assert!(diff <= 1e-3 * largest, "{name} wgpu vs NVIDIA: {diff}");
    }
}
