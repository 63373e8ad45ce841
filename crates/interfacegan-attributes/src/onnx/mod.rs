//! Running ONNX image classifiers on burn, or on the CPU engine for CPU devices.

mod graph;
mod host;
mod host_kernels;
mod proto;
mod shapes;

pub use graph::{Engine, OnnxModel};
