//! Attribute scorers for InterFaceGAN on burn: gender, age and smile from real pretrained
//! classifiers embedded in the crate, with the reference's preprocessing reproduced bit for bit.
//!
//! ```
//! use interfacegan_attributes::{Attribute, BuiltInScorer, Scorer};
//! let device = interfacegan_generator::cpu_device();
//! let smile = BuiltInScorer::new(Attribute::Smile, &device)?;
//! let face = image::RgbImage::from_pixel(64, 64, image::Rgb([180, 140, 120]));
//! let p_happy = smile.score(&[face])?;
//! assert!((0.0..=1.0).contains(&p_happy[0]));
//! # Ok::<(), interfacegan_attributes::ScorerError>(())
//! ```
#![warn(missing_docs)]

mod error;
mod image_file;
mod onnx;
mod preprocess;
mod scorer;

pub use error::ScorerError;
pub use image_file::{MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, open_image};
pub use onnx::{Engine, OnnxModel};
pub use preprocess::{center_crop_square, resize_bilinear, to_luma};
pub use scorer::{Attribute, BuiltInScorer, InputSpec, Scorer};
