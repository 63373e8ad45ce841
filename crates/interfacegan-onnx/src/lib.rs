//! A small ONNX interpreter for convolutional image classifiers, hardened for files from
//! strangers: the graph is read once (every node checked, constants on the host), per-channel
//! affine maps are folded into the convolutions before them, and one interpreter loop runs it on
//! one of two engines:
//!
//! - [`Engine::Cpu`]: channel-last maps, convolutions as im2col + GEMM (direct kernels for narrow
//!   outputs, Winograd's F(2x2, 3x3) for 3x3 layers) with fused bias and ReLU, SIMD chosen at run
//!   time; the default on the CPU device.
//! - [`Engine::Burn`]: burn's tensor operations on any device (the GPU through wgpu).
//!
//! Before a batch runs, every node's output shape is derived with checked arithmetic and bounded
//! ([`MAX_VALUE_PER_IMAGE`]), so that a hostile graph is an error naming its node, never a panic
//! or an unbounded allocation.
//!
//! The operator set is what convolutional classifiers use: Conv, BatchNormalization, Relu, Add,
//! Sub, Mul, Div, Pad (constant), MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm,
//! Softmax, Identity, Dropout. Anything else is an error naming the operator at load.
//!
//! ```
//! use interfacegan_onnx::{Engine, OnnxModel, OnnxError};
//! # fn model_bytes() -> Vec<u8> {
//! #     // A one-node graph, `z = Relu(x)`, in ONNX's protobuf encoding.
//! #     let field = |n: u8, payload: &[u8]| [&[n << 3 | 2, payload.len() as u8][..], payload].concat();
//! #     let node = [field(1, b"x"), field(2, b"z"), field(4, b"Relu")].concat();
//! #     let graph = [field(1, &node), field(11, &field(1, b"x")), field(12, &field(1, b"z"))].concat();
//! #     field(7, &graph)
//! # }
//! let device = burn::tensor::Device::flex();
//! let model = OnnxModel::from_bytes(&model_bytes(), "relu.onnx", &device)?;
//! assert_eq!(model.engine(), Engine::Cpu);
//! let (out, shape) = model.infer(&[-1.0, 2.0], [1, 2, 1, 1])?;
//! assert_eq!((out, shape), (vec![0.0, 2.0], [1, 2]));
//! // Both engines run the same graph.
//! let on_burn = model.with_engine(Engine::Burn)?;
//! assert_eq!(on_burn.infer(&[-1.0, 2.0], [1, 2, 1, 1])?.0, vec![0.0, 2.0]);
//! # Ok::<(), OnnxError>(())
//! ```
#![warn(missing_docs)]

mod engine;
mod error;
mod execute;
mod graph;
mod model;
mod parse;
mod proto;
mod shapes;

pub use error::{OnnxError, ShapeProblem};
pub use model::{Engine, OnnxModel};
pub use shapes::MAX_VALUE_PER_IMAGE;
