//! GAN inversion for InterFaceGAN on burn: find the latent code whose synthesis matches a photo, so
//! the photo can be edited along the same boundaries as generated faces.
//!
//! - [`Inverter`]: optimisation with burn's autodiff (Adam, the StyleGAN2 projector's learning-rate
//!   ramps, restarts, a latent prior, pixel MSE and, with user-supplied weights, the VGG16 perceptual
//!   distance of Image2StyleGAN).
//! - [`Encoder`]: a small convolutional encoder trained on the generator's own `(G(z), z)` pairs
//!   ([`train_encoder`]); its codes start the optimisation ("encoder + optimisation").
//! - [`load_target`]: photos centre-cropped and resized with the scorers' Pillow-exact filter;
//!   [`psnr`] and [`ssim`] for the reports.
#![warn(missing_docs)]

mod adam;
mod encoder;
mod error;
mod invert;
mod perceptual;
mod quality;
mod schedule;
mod target;

pub use adam::Adam;
pub use encoder::{
    DEFAULT_ENCODER, Encoder, EncoderConfig, EncoderReport, EncoderTraining, MAX_TRAINING_BATCH, train_encoder,
};
pub use error::InversionError;
pub use interfacegan_models::{ModelError, ModelStore};
pub use invert::{Inversion, InversionParams, InversionReport, Inverter, MAX_STEPS, Start};
pub use perceptual::{IMAGE2STYLEGAN_LAYERS, Vgg16Features};
pub use quality::{psnr, ssim};
pub use schedule::LearningRate;
pub use target::{load_target, prepare_target};
