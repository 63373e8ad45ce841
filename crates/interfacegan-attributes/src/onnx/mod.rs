//! Running ONNX image classifiers on burn.

mod graph;
mod proto;

pub use graph::OnnxModel;
