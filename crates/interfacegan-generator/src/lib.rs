//! GAN generators for InterFaceGAN on burn.
#![warn(missing_docs)]

mod error;
mod generator;
pub mod models;
mod ops;
pub mod weights;

pub use error::GeneratorError;
pub use generator::{Generator, GeneratorInfo, LatentSpace, Synthesis};
pub use models::dcgan::{Dcgan, DcganConfig};
pub use models::pggan::{Pggan, PgganConfig};
pub use models::stylegan::{StyleGan, StyleGanConfig, Truncation};
pub use weights::{FileDtype, TensorTaker, WeightTensor, Weights};
