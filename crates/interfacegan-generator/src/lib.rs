//! GAN generators for InterFaceGAN on burn: the default DigiFace-1M DCGAN, and PGGAN and
//! StyleGAN in the official (genforce) layout, from PyTorch `.pth` (zip or legacy) or
//! safetensors weights, on the CPU (burn's `flex` backend) or a GPU (`wgpu` feature).
//!
//! ```
//! use interfacegan_generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z, to_rgb_images};
//! let g = default_generator(&cpu_device()).unwrap();
//! let z = sample_z(2, g.info().latent_dim, 7);
//! let out = g.synthesize(&z, LatentSpace::Z).unwrap();
//! assert_eq!(out.image_shape, [2, 3, 64, 64]);
//! let faces = to_rgb_images(&out.images, out.image_shape).unwrap();
//! assert_eq!(faces[0].dimensions(), (64, 64));
//! ```
#![warn(missing_docs)]

mod error;
mod generator;
mod images;
mod latent_weights;
mod load;
pub mod models;
mod ops;
mod sampling;
pub mod weights;

pub use burn::tensor::Tensor;
pub use error::GeneratorError;
pub use generator::{Generator, GeneratorInfo, LatentSpace, Pullback, Synthesis, Traced};
pub use image::RgbImage;
pub use images::{grid, postprocess, save_image, stage_image, to_rgb_images};
/// The device the generators run on, and its selection (re-exported from `interfacegan-device`).
pub use interfacegan_device::{Device, DeviceError, cpu_device, device_by_name};
pub use interfacegan_models::{ModelError, ModelStore};
pub use latent_weights::{LatentWeights, latent_weights};
pub use load::{Architecture, DEFAULT_MODEL, LoadOptions, default_generator, default_generator_in, load_generator};
pub use models::NoiseMode;
pub use models::dcgan::{Dcgan, DcganConfig};
pub use models::pggan::{Pggan, PgganConfig};
pub use models::stylegan::{StyleGan, StyleGanConfig, Truncation};
pub use models::stylegan2::{BlockArchitecture, BlockConfig, StyleGan2, StyleGan2Config};
pub use models::stylegan3::{StyleGan3, StyleGan3Config};
pub use sampling::{ZSampler, normalize_z, sample_z};
pub use weights::{FileDtype, ModuleRecord, TensorTaker, WeightTensor, Weights};
