//! The generator architectures, one file each.

pub mod dcgan;
pub mod pggan;
pub mod stylegan;
