//! Inversion on the GPU backend gives the CPU's (and PyTorch's) objective, gradient and steps. Built only
//! with `--features wgpu`; without a GPU, Mesa's software Vulkan (lavapipe) runs it.

#![cfg(feature = "wgpu")]

use interfacegan_generator::{default_generator, device_by_name};
use interfacegan_inversion::{InversionParams, Inverter, LearningRate, Start};
use interfacegan_io::read_f64;

mod common;
use common::{fixture, golden_images, golden_z};

#[test]
fn wgpu_inversion_matches_pytorch() {
    let g = default_generator(&device_by_name("wgpu").unwrap().autodiff()).unwrap();
    let target = golden_images()[1].clone();
    let z = golden_z();
    let inverter = Inverter::new(&g, InversionParams::default().prior_weight(1e-4)).unwrap();
    let (loss, grad) = inverter.loss_and_gradient(std::slice::from_ref(&target), &z[..100]).unwrap();
    let golden = read_f64(fixture("golden/inversion/dcgan_loss_grad.npy")).unwrap().into_data();
    assert!((f64::from(loss[0]) - golden[0]).abs() <= 1e-4 * golden[0], "loss {} vs {}", loss[0], golden[0]);
    let scale = golden[1..].iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = grad.iter().zip(&golden[1..]).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-3 * scale, "gradient off by {worst} (scale {scale})");

    let params = InversionParams::default().steps(5).learning_rate(LearningRate::constant(0.05));
    let out = Inverter::new(&g, params).unwrap().invert(&[target], Start::Codes(&z[..100]), &mut |_| {}).unwrap();
    let golden = read_f64(fixture("golden/inversion/dcgan_adam5.npy")).unwrap().into_data();
    let after = &golden[5 * 101 + 1..6 * 101];
    let worst = out.codes.iter().zip(after).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-3, "codes after 5 steps off by {worst}");
}
