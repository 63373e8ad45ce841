//! Attribute scorers for InterFaceGAN on burn: gender, age and smile from real pretrained
//! classifiers (files found and verified at run time by `interfacegan-models`), with the reference's preprocessing reproduced bit for bit.
//!
//! ```
//! use interfacegan_attributes::{Attribute, BuiltInScorer, Scorer};
//! let device = interfacegan_device::cpu_device();
//! let smile = BuiltInScorer::new(Attribute::Smile, &device)?;
//! let face = image::RgbImage::from_pixel(64, 64, image::Rgb([180, 140, 120]));
//! let p_happy = smile.score(&[face])?;
//! assert!((0.0..=1.0).contains(&p_happy[0]));
//! # Ok::<(), interfacegan_attributes::ScorerError>(())
//! ```
#![warn(missing_docs)]

mod error;
mod scorer;

pub use error::ScorerError;
pub use interfacegan_models::{ModelError, ModelStore};
/// The interpreter the built-in scorers run on (re-export of `interfacegan-onnx`), for a user's own classifier.
pub use interfacegan_onnx::{Engine, OnnxError, OnnxModel};
pub use scorer::{Attribute, BuiltInScorer, InputSpec, Scorer};
