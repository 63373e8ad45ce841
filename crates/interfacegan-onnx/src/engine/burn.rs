//! The burn engine: every node as burn tensor operations on the model's device (CPU or GPU), its
//! constants uploaded once at load.

use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::ShapeProblem;
use crate::execute::Backend;
use crate::graph::{Constant, Elementwise, Graph, Node, Op, Operand, Pool, Window};
use crate::model::Engine;

/// A value flowing through the graph: feature maps are rank 4, features after Flatten rank 2.
#[derive(Clone)]
pub(crate) enum Value {
    Map(Tensor<4>),
    Features(Tensor<2>),
}

impl Value {
    fn map(self) -> Result<Tensor<4>, ShapeProblem> {
        match self {
            Value::Map(t) => Ok(t),
            Value::Features(_) => Err(ShapeProblem::SpatialAfterFlatten),
        }
    }

    /// The value as `[N, K]` features (a map flattened in channel-first order).
    pub fn features(self) -> Tensor<2> {
        match self {
            Value::Features(t) => t,
            Value::Map(t) => {
                let [n, c, h, w] = t.dims();
                t.reshape([n, c * h * w])
            }
        }
    }
}

/// An element-wise constant in both ranks it may meet: as a map always (the parser refuses ranks
/// above 4), as features when its rank is at most 2.
struct ConstantTensors {
    map: Tensor<4>,
    features: Option<Tensor<2>>,
}

/// A node's constants on the device.
// Built once per node at load; the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Uploaded {
    Conv { weight: Tensor<4>, bias: Option<Tensor<1>> },
    Affine { scale: Tensor<4>, shift: Tensor<4> },
    Elementwise { a: Option<ConstantTensors>, b: Option<ConstantTensors> },
    Gemm { b: Tensor<2>, c: Option<Tensor<2>> },
    Nothing,
}

/// The graph's constants on a device, node by node.
pub(crate) struct BurnEngine {
    uploaded: Vec<Uploaded>,
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn upload<const D: usize>(constant: &Constant, device: &Device) -> Option<Tensor<D>> {
    Some(tensor(&constant.values, constant.dims_as::<D>()?, device))
}

impl BurnEngine {
    /// Uploads the constants of `graph` to `device`.
    pub fn new(graph: &Graph, device: &Device) -> Self {
        let uploaded = graph.nodes.iter().map(|node| Self::upload_node(&node.op, device)).collect();
        Self { uploaded }
    }

    fn upload_node(op: &Op, device: &Device) -> Uploaded {
        let operand = |o: &Operand| match o {
            Operand::Value => None,
            Operand::Constant(c) => Some(ConstantTensors {
                map: upload(c, device).expect("rank <= 4 at load"),
                features: upload(c, device),
            }),
        };
        match op {
            Op::Conv { weight, bias, .. } => Uploaded::Conv {
                weight: tensor(&weight.values, weight.dims_as::<4>().expect("rank 4 at load"), device),
                bias: bias.as_ref().map(|b| tensor(b, [b.len()], device)),
            },
            Op::Affine { scale, shift } => Uploaded::Affine {
                scale: upload(scale, device).expect("rank 4 at load"),
                shift: upload(shift, device).expect("rank 4 at load"),
            },
            Op::Elementwise { a, b, .. } => Uploaded::Elementwise { a: operand(a), b: operand(b) },
            Op::Gemm { b, c, .. } => Uploaded::Gemm {
                b: upload(b, device).expect("rank 2 at load"),
                c: c.as_ref().map(|c| tensor(c, [1, c.len()], device)),
            },
            _ => Uploaded::Nothing,
        }
    }
}

impl Backend for BurnEngine {
    type Value = Value;
    const ENGINE: Engine = Engine::Burn;

    fn apply(&self, index: usize, node: &Node, mut inputs: Vec<Value>) -> Result<Value, ShapeProblem> {
        let uploaded = &self.uploaded[index];
        if let (Op::Elementwise { kind, .. }, Uploaded::Elementwise { a, b }) = (&node.op, uploaded) {
            return elementwise(*kind, [a, b], inputs);
        }
        let value = inputs.pop().ok_or(ShapeProblem::MapAndFeatures)?;
        Ok(match (&node.op, uploaded) {
            (Op::Conv { window, groups, .. }, Uploaded::Conv { weight, bias }) => {
                Value::Map(convolution(value.map()?, weight, bias, window, *groups))
            }
            (Op::Affine { .. }, Uploaded::Affine { scale, shift }) => {
                Value::Map(value.map()? * scale.clone() + shift.clone())
            }
            (Op::Relu, _) => match value {
                Value::Map(t) => Value::Map(burn::tensor::activation::relu(t)),
                Value::Features(t) => Value::Features(burn::tensor::activation::relu(t)),
            },
            (Op::Pad { pads, value: fill }, _) => Value::Map(pad(value.map()?, *pads, *fill)),
            (Op::Pool { kind, window }, _) => Value::Map(pool(*kind, window, value.map()?)),
            (Op::GlobalAveragePool, _) => Value::Map(value.map()?.mean_dims(&[2, 3])),
            (Op::Flatten, _) => Value::Features(value.features()),
            (Op::Gemm { alpha, beta, .. }, Uploaded::Gemm { b, c }) => {
                let mut y = value.features().matmul(b.clone());
                if *alpha != 1.0 {
                    y = y.mul_scalar(*alpha);
                }
                if let Some(c) = c {
                    y = y + c.clone().mul_scalar(*beta);
                }
                Value::Features(y)
            }
            (Op::Softmax, _) => match value {
                Value::Features(t) => Value::Features(burn::tensor::activation::softmax(t, 1)),
                Value::Map(t) => Value::Map(burn::tensor::activation::softmax(t, 1)),
            },
            (Op::Identity, _) => value,
            _ => unreachable!("every node's constants are uploaded with it"),
        })
    }
}

fn convolution(
    x: Tensor<4>,
    weight: &Tensor<4>,
    bias: &Option<Tensor<1>>,
    window: &Window,
    groups: usize,
) -> Tensor<4> {
    let [top, left, bottom, right] = window.pads;
    // burn pads symmetrically: asymmetric pads are applied first.
    let (x, padding) = if top == bottom && left == right {
        (x, [top, left])
    } else {
        (pad(x, [0, 0, top, left, 0, 0, bottom, right], 0.0), [0, 0])
    };
    let options = ConvOptions::new(window.stride, padding, window.dilation, groups);
    conv2d(x, weight.clone(), bias.clone(), options)
}

fn pool(kind: Pool, window: &Window, x: Tensor<4>) -> Tensor<4> {
    let [t, l, b, r] = window.pads;
    let padding = [(t, b), (l, r)];
    match kind {
        Pool::Max => {
            let options = MaxPoolOptions {
                kernel_size: window.kernel,
                stride: window.stride,
                padding,
                dilation: [1, 1],
                ceil_mode: window.ceil,
            };
            max_pool2d(x, options)
        }
        Pool::Average { include_pad } => {
            let options = AvgPoolOptions {
                kernel_size: window.kernel,
                stride: window.stride,
                padding,
                count_include_pad: include_pad,
                ceil_mode: window.ceil,
            };
            avg_pool2d(x, options)
        }
    }
}

/// An element-wise op on the node's values and constants; a constant takes the rank of the value
/// it meets (at load, not both operands are constants).
fn elementwise(
    kind: Elementwise,
    constants: [&Option<ConstantTensors>; 2],
    inputs: Vec<Value>,
) -> Result<Value, ShapeProblem> {
    let like_map = matches!(inputs.first(), Some(Value::Map(_)));
    let mut inputs = inputs.into_iter();
    let [a, b] = constants.map(|constant| match constant {
        None => inputs.next().ok_or(ShapeProblem::MapAndFeatures),
        Some(c) if like_map => Ok(Value::Map(c.map.clone())),
        Some(c) => c.features.clone().map(Value::Features).ok_or(ShapeProblem::ConstantMeetsFeatures),
    });
    fn combine<const D: usize>(kind: Elementwise, a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        match kind {
            Elementwise::Add => a + b,
            Elementwise::Sub => a - b,
            Elementwise::Mul => a * b,
            Elementwise::Div => a / b,
        }
    }
    match (a?, b?) {
        (Value::Map(a), Value::Map(b)) => Ok(Value::Map(combine(kind, a, b))),
        (Value::Features(a), Value::Features(b)) => Ok(Value::Features(combine(kind, a, b))),
        _ => Err(ShapeProblem::MapAndFeatures),
    }
}

/// Constant padding of a rank-4 tensor; `pads` is ONNX's `[begins..., ends...]`.
fn pad(x: Tensor<4>, pads: [usize; 8], value: f32) -> Tensor<4> {
    let mut x = x;
    for axis in 0..4 {
        let (before, after) = (pads[axis], pads[axis + 4]);
        if before == 0 && after == 0 {
            continue;
        }
        let mut parts = Vec::new();
        let mut shape = x.dims();
        let device = x.device();
        if before > 0 {
            shape[axis] = before;
            parts.push(Tensor::<4>::full(shape, value, &device));
        }
        parts.push(x);
        if after > 0 {
            shape[axis] = after;
            parts.push(Tensor::<4>::full(shape, value, &device));
        }
        x = Tensor::cat(parts, axis);
    }
    x
}
