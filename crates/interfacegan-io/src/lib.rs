//! File input and output for interfacegan-rs: `.npy` arrays, memory-mapped code matrices, images
//! from strangers (bounded decoding, the reference's Pillow-exact resize, crop and luma) and
//! atomic, no-clobber output files.
//!
//! Every error names the file it is about and what is wrong with it, so that a command-line user
//! can act on the message alone.
//!
//! ```
//! use interfacegan_io::{NpyArray, read_f64, write_npy};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("boundary.npy");
//! let normal = NpyArray::new(vec![1, 3], vec![0.6f32, 0.0, 0.8]).unwrap();
//! write_npy(&path, &normal, false).unwrap();
//! let back = read_f64(&path).unwrap();
//! assert_eq!(back.shape(), &[1, 3]);
//! assert!((back.data()[2] - 0.8).abs() < 1e-7);
//! // An existing output is never replaced unless asked.
//! assert!(write_npy(&path, &normal, false).is_err());
//! ```

#![warn(missing_docs)]

mod array;
mod atomic;
mod error;
mod image_file;
mod mapped;
mod npy;
mod preprocess;

pub use array::NpyArray;
pub use atomic::{OutputSet, StagedFile, StreamingFile, is_temporary_name, write_atomic, write_atomic_with};
pub use error::IoError;
pub use image_file::{MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, open_image};
pub use mapped::MappedMatrix;
pub use npy::{
    MAX_HEADER_BYTES, MAX_RANK, NpyElement, NpyHeaderInfo, NpyStreamWriter, parse_f32, read_f32, read_f64, read_header,
    stage_npy, write_npy,
};
pub use preprocess::{center_crop_square, resize_bilinear, to_luma};
