//! The model files of interfacegan-rs (the default generator, the three scorers, the inversion
//! encoder), found at run time rather than compiled in: a registry of their sizes and sha256
//! ([`MODELS`]), and a [`ModelStore`] that looks for them in order in a folder the caller names,
//! [`MODELS_ENV`], the checkout's `fixtures/models` and the user's cache folder. Every copy is
//! verified before use; a wrong copy is an error naming the file and both checksums, never a
//! silent fallback to another.
//!
//! ```
//! use interfacegan_models::{ModelError, ModelStore, model};
//! let gender = model("gender")?;
//! assert_eq!((gender.file_name, gender.bytes), ("gender-v1.onnx", 530_620));
//! let empty = tempfile::tempdir().unwrap();
//! let err = ModelStore::in_dir(empty.path()).locate("gender").unwrap_err();
//! assert!(err.to_string().contains("gender-v1.onnx") && err.to_string().contains(gender.sha256));
//! # Ok::<(), ModelError>(())
//! ```
#![warn(missing_docs)]

#[cfg(feature = "download")]
mod download;
mod error;
mod registry;
mod store;
#[cfg(feature = "download")]
mod store_downloads;

#[cfg(feature = "download")]
pub use download::{DEFAULT_TIMEOUT, download, fetch};
pub use error::ModelError;
pub use registry::{Archive, MODELS, ModelFile, Source, model};
pub use store::{
    Located, MIRROR_ENV, MODELS_ENV, ModelStore, OFFLINE_ENV, Route, check_bytes, read_verified, verify_file,
};
#[cfg(feature = "download")]
pub use store_downloads::Progress;
