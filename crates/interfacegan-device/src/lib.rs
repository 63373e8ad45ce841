//! Device selection: burn's `flex` CPU backend, or a GPU through wgpu with the `wgpu` feature.
//!
//! Every crate of the workspace that runs a network takes a [`Device`]; this is the one place
//! that makes one. `docs/generator.md` says why the CPU backend is `flex` and not ndarray.
//!
//! ```
//! use interfacegan_device::{DeviceError, cpu_device, device_by_name};
//! assert_eq!(device_by_name("cpu")?, cpu_device());
//! assert!(matches!(device_by_name("tpu"), Err(DeviceError::Unknown { .. })));
//! # Ok::<(), DeviceError>(())
//! ```
#![warn(missing_docs)]

pub use burn::tensor::Device;

/// A device name that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// Neither `cpu` nor `wgpu`.
    #[error("unknown device `{name}` (cpu, wgpu)")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// A GPU was asked for, but this build has no GPU backend.
    #[error("this build has no GPU backend: rebuild with `--features wgpu`")]
    NoGpuBackend,
}

/// The CPU device (burn's `flex` backend).
pub fn cpu_device() -> Device {
    Device::flex()
}

/// A device by name: `cpu` (or `flex`), or `wgpu` (or `gpu`) when built with the `wgpu` feature.
pub fn device_by_name(name: &str) -> Result<Device, DeviceError> {
    match name {
        "cpu" | "flex" => Ok(cpu_device()),
        #[cfg(feature = "wgpu")]
        "wgpu" | "gpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        "wgpu" | "gpu" => Err(DeviceError::NoGpuBackend),
        other => Err(DeviceError::Unknown { name: other.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pick_devices() {
        assert_eq!(device_by_name("flex").unwrap(), Device::flex());
        let err = device_by_name("tpu").unwrap_err();
        assert_eq!(err.to_string(), "unknown device `tpu` (cpu, wgpu)");
        #[cfg(not(feature = "wgpu"))]
        assert_eq!(device_by_name("gpu"), Err(DeviceError::NoGpuBackend));
    }
}
