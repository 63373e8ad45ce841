//! A small ONNX interpreter on burn for image classifiers: the graph is read once, every node
//! becomes a prepared operation with its weights on the device, and `run` executes them in order.
//!
//! The operator set is what convolutional classifiers use (and what our three scorers need):
//! Conv, BatchNormalization, Relu, Mul, Add, Sub, Div, Pad (constant), MaxPool, AveragePool,
//! GlobalAveragePool, Flatten, Gemm, Softmax, Identity, Dropout. Anything else is an error naming
//! the operator when the model is loaded, not when it runs.

use std::collections::HashMap;

use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::host::HostPlan;
use super::proto::{Attribute, NodeProto, TensorProto, TensorValues, parse_model};
use crate::error::{ScorerError, format_error};

/// A value flowing through the graph: feature maps are rank 4, features after Flatten rank 2.
#[derive(Clone)]
enum Value {
    Map(Tensor<4>),
    Features(Tensor<2>),
}

/// An operand of an element-wise op: another value, or a constant prepared for both ranks.
// Built once per node at load; the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(super) enum Operand {
    Named(String),
    Constant { map: Tensor<4>, features: Option<Tensor<2>> },
}

#[derive(Clone, Copy)]
pub(super) enum Elementwise {
    Add,
    Sub,
    Mul,
    Div,
}

// Built once per node at load; the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Op {
    Conv {
        weight: Tensor<4>,
        bias: Option<Tensor<1>>,
        stride: [usize; 2],
        pads: [usize; 4],
        groups: usize,
        dilation: [usize; 2],
    },
    Affine {
        scale: Tensor<4>,
        shift: Tensor<4>,
    },
    Relu,
    Elementwise {
        kind: Elementwise,
        a: Operand,
        b: Operand,
    },
    Pad {
        pads: [usize; 8],
        value: f32,
    },
    MaxPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
        ceil: bool,
    },
    AveragePool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
        include_pad: bool,
        ceil: bool,
    },
    GlobalAveragePool,
    Flatten,
    Gemm {
        b: Tensor<2>,
        c: Option<Tensor<2>>,
        alpha: f32,
        beta: f32,
    },
    Softmax,
    Identity,
}

pub(super) struct Node {
    pub(super) op: Op,
    input: String,
    pub(super) output: String,
}

/// Which code runs a model's operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// burn's tensor operations on the model's device (CPU or GPU).
    Burn,
    /// Our CPU engine: channel-last maps, convolutions as im2col + GEMM (the `gemm` crate),
    /// several times faster than burn's CPU convolutions on these small nets
    /// (`docs/attributes.md`). The default on CPU devices for every graph it supports.
    Cpu,
}

/// A loaded ONNX classifier: image batch `[N, C, H, W]` in, `[N, K]` out.
pub struct OnnxModel {
    nodes: Vec<Node>,
    /// The graph prepared for the CPU engine, when the device is the CPU and the graph fits it.
    host: Option<HostPlan>,
    engine: Engine,
    input: String,
    output: String,
    /// How many nodes read each value: a value is handed over (not copied) to its last reader, so
    /// that the backend can work in place and memory is freed as early as possible.
    uses: HashMap<String, usize>,
    device: Device,
}

impl Node {
    /// The value a one-input node reads.
    pub(super) fn input(&self) -> &str {
        &self.input
    }

    /// The values this node reads.
    pub(super) fn inputs(&self) -> Vec<&str> {
        match &self.op {
            Op::Elementwise { a, b, .. } => [a, b]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Named(n) => Some(n.as_str()),
                    Operand::Constant { .. } => None,
                })
                .collect(),
            _ => vec![self.input.as_str()],
        }
    }
}

/// `x * scale + shift` per channel for an element-wise op between a value and a constant feature
/// map, when it is one: returns the scale, the shift and the value's name.
fn as_affine(kind: Elementwise, a: &Operand, b: &Operand) -> Option<(Tensor<4>, Tensor<4>, String)> {
    let (name, constant, constant_first) = match (a, b) {
        (Operand::Named(n), Operand::Constant { map, .. }) => (n, map, false),
        (Operand::Constant { map, .. }, Operand::Named(n)) => (n, map, true),
        _ => return None,
    };
    let ones = constant.ones_like();
    let zeros = constant.zeros_like();
    let c = constant.clone();
    let (scale, shift) = match (kind, constant_first) {
        (Elementwise::Mul, _) => (c, zeros),
        (Elementwise::Add, _) => (ones, c),
        (Elementwise::Sub, false) => (ones, c.neg()),
        (Elementwise::Sub, true) => (ones.neg(), c),
        (Elementwise::Div, false) => (c.recip(), zeros),
        (Elementwise::Div, true) => return None,
    };
    Some((scale, shift, name.clone()))
}

/// Folds every per-channel affine map (inference BatchNormalization, or a Mul/Add/Sub/Div by a
/// per-channel constant) into the convolution or affine map that produces its input, when nothing
/// else reads that value: one convolution instead of a convolution and two passes over the maps.
fn fold_affine_maps(nodes: Vec<Node>, graph_output: &str) -> Vec<Node> {
    let readers = readers(&nodes);
    let mut kept: Vec<Node> = Vec::with_capacity(nodes.len());
    let mut producer: HashMap<String, usize> = HashMap::new();
    for node in nodes {
        if let Op::Affine { scale, shift } = &node.op
            && readers.get(&node.input) == Some(&1)
            && node.input != graph_output
            && let Some(&j) = producer.get(&node.input)
            && fold_into(&mut kept[j].op, scale, shift)
        {
            producer.remove(&node.input);
            kept[j].output = node.output.clone();
            producer.insert(node.output, j);
            continue;
        }
        producer.insert(node.output.clone(), kept.len());
        kept.push(node);
    }
    kept
}

/// How many nodes read each value.
fn readers(nodes: &[Node]) -> HashMap<String, usize> {
    let mut readers: HashMap<String, usize> = HashMap::new();
    for node in nodes {
        for name in node.inputs() {
            *readers.entry(name.to_string()).or_default() += 1;
        }
    }
    readers
}

/// Makes `op` followed by `x * scale + shift` one op; false when it cannot.
fn fold_into(op: &mut Op, scale: &Tensor<4>, shift: &Tensor<4>) -> bool {
    match op {
        Op::Affine { scale: s, shift: t } => {
            // Only maps of one shape fold; a graph from a stranger may pair any two.
            if [s.dims(), t.dims(), shift.dims()].iter().any(|d| *d != scale.dims()) {
                return false;
            }
            *t = t.clone() * scale.clone() + shift.clone();
            *s = s.clone() * scale.clone();
            true
        }
        Op::Conv { weight, bias, .. } => {
            let out_channels = weight.dims()[0];
            if scale.dims() != [1, out_channels, 1, 1] || shift.dims() != [1, out_channels, 1, 1] {
                return false;
            }
            let per_channel = |t: &Tensor<4>| t.clone().reshape([out_channels]);
            *weight = weight.clone() * scale.clone().reshape([out_channels, 1, 1, 1]);
            *bias = Some(match bias.take() {
                Some(b) => b * per_channel(scale) + per_channel(shift),
                None => per_channel(shift),
            });
            true
        }
        _ => false,
    }
}

/// Sets subnormal weights to zero. The age net has 6,667 of them (down to 3e-42) in two convolutions;
/// every multiply by one takes a microcode assist on x86, which made its first convolution 18 times
/// slower (223 against 12 ms a batch of 64), on burn and on the CPU engine alike. Their products
/// are below 1e-38, far under the outputs' precision: the scores do not change.
fn flush_subnormals(initializers: &mut [TensorProto]) {
    for tensor in initializers {
        if let TensorValues::Float(values) = &mut tensor.values {
            values.iter_mut().filter(|v| v.is_subnormal()).for_each(|v| *v = 0.0);
        }
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a Attribute> {
    node.attributes.iter().find(|(n, _)| n == name).map(|(_, a)| a)
}

fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    match attr(node, name) {
        Some(Attribute::Ints(v)) => Some(v.clone()),
        _ => None,
    }
}

fn int(node: &NodeProto, name: &str, default: i64) -> i64 {
    match attr(node, name) {
        Some(Attribute::Int(v)) => *v,
        _ => default,
    }
}

fn float(node: &NodeProto, name: &str, default: f32) -> f32 {
    match attr(node, name) {
        Some(Attribute::Float(v)) => *v,
        _ => default,
    }
}

/// Kernel sizes, strides, dilations, pads and groups above this are no classifier's: refused, so
/// that a graph from a stranger cannot size buffers with them (a pad of 2^62).
const MAX_WINDOW: i64 = 4096;

/// The `N` values of the ints attribute `name` (`default` each when absent), each within
/// `min..=MAX_WINDOW`.
fn window<const N: usize>(node: &NodeProto, name: &str, default: usize, min: i64) -> Result<[usize; N], String> {
    let Some(values) = ints(node, name) else { return Ok([default; N]) };
    let values: Vec<usize> = values
        .iter()
        .map(|&v| {
            (min..=MAX_WINDOW)
                .contains(&v)
                .then_some(v as usize)
                .ok_or(format!("`{name}` {v} is outside {min}..={MAX_WINDOW}"))
        })
        .collect::<Result<_, _>>()?;
    let found = values.len();
    values.try_into().map_err(|_| format!("`{name}` needs {N} values, not {found}"))
}

impl OnnxModel {
    /// Loads a model from the bytes of an `.onnx` file; `source` names it in errors.
    pub fn from_bytes(bytes: &[u8], source: &str, device: &Device) -> Result<Self, ScorerError> {
        let mut graph = parse_model(bytes, source)?;
        flush_subnormals(&mut graph.initializers);
        let constants: HashMap<&str, &TensorProto> = graph.initializers.iter().map(|t| (t.name.as_str(), t)).collect();
        let input = graph
            .inputs
            .iter()
            .find(|name| !constants.contains_key(name.as_str()))
            .cloned()
            .ok_or_else(|| format_error(source, "the graph has no input"))?;
        let output = graph.outputs.first().cloned().ok_or_else(|| format_error(source, "the graph has no output"))?;
        let err = |node: &NodeProto, what: String| {
            format_error(source, format!("{} node `{}`: {what}", node.op_type, node.outputs.join(",")))
        };
        let floats = |name: &str| -> Option<(&[usize], &[f32])> {
            constants.get(name).and_then(|t| match &t.values {
                TensorValues::Float(v) => Some((t.dims.as_slice(), v.as_slice())),
                TensorValues::Int(_) => None,
            })
        };
        let constant = |node: &NodeProto, name: &str| -> Result<(Vec<usize>, Vec<f32>), ScorerError> {
            floats(name)
                .map(|(d, v)| (d.to_vec(), v.to_vec()))
                .ok_or_else(|| err(node, format!("input `{name}` must be a float initializer")))
        };
        let mut nodes = Vec::new();
        for node in &graph.nodes {
            let first = node.inputs.first().cloned().unwrap_or_default();
            let out = node.outputs.first().cloned().ok_or_else(|| err(node, "no output".into()))?;
            let op = match node.op_type.as_str() {
                "Conv" => {
                    let weight_name = node.inputs.get(1).ok_or_else(|| err(node, "no weight input".into()))?;
                    let (dims, w) = constant(node, weight_name)?;
                    let [o, i, kh, kw] = dims[..] else { return Err(err(node, format!("weight of shape {dims:?}"))) };
                    let bias = match node.inputs.get(2).filter(|s| !s.is_empty()) {
                        Some(name) => {
                            let (_, b) = constant(node, name)?;
                            if b.len() != o {
                                return Err(err(node, format!("bias of {} values for {o} output channels", b.len())));
                            }
                            Some(tensor(&b, [o], device))
                        }
                        None => None,
                    };
                    if matches!(attr(node, "auto_pad"), Some(Attribute::String(s)) if s != "NOTSET") {
                        return Err(err(node, "auto_pad is not supported (give explicit pads)".into()));
                    }
                    Op::Conv {
                        weight: tensor(&w, [o, i, kh, kw], device),
                        bias,
                        stride: window(node, "strides", 1, 1).map_err(|e| err(node, e))?,
                        pads: window(node, "pads", 0, 0).map_err(|e| err(node, e))?,
                        groups: match int(node, "group", 1) {
                            g @ 1..=MAX_WINDOW => g as usize,
                            g => return Err(err(node, format!("group {g} is outside 1..={MAX_WINDOW}"))),
                        },
                        dilation: window(node, "dilations", 1, 1).map_err(|e| err(node, e))?,
                    }
                }
                "BatchNormalization" => {
                    let eps = float(node, "epsilon", 1e-5);
                    let [g, b, m, v] = [1, 2, 3, 4].map(|k| node.inputs.get(k).map(|n| constant(node, n)));
                    let (Some(g), Some(b), Some(m), Some(v)) = (g, b, m, v) else {
                        return Err(err(node, "needs scale, bias, mean and variance".into()));
                    };
                    let (g, b, m, v) = (g?.1, b?.1, m?.1, v?.1);
                    if [b.len(), m.len(), v.len()].iter().any(|&n| n != g.len()) {
                        let lengths = [g.len(), b.len(), m.len(), v.len()];
                        return Err(err(node, format!("scale, bias, mean and variance of {lengths:?} values")));
                    }
                    // Inference: the running statistics, folded into one per-channel affine map.
                    let scale: Vec<f32> = g.iter().zip(&v).map(|(g, v)| g / (v + eps).sqrt()).collect();
                    let shift: Vec<f32> = b.iter().zip(&m).zip(&scale).map(|((b, m), s)| b - m * s).collect();
                    let c = scale.len();
                    Op::Affine {
                        scale: tensor(&scale, [1, c, 1, 1], device),
                        shift: tensor(&shift, [1, c, 1, 1], device),
                    }
                }
                "Relu" => Op::Relu,
                "Add" | "Sub" | "Mul" | "Div" => {
                    let kind = match node.op_type.as_str() {
                        "Add" => Elementwise::Add,
                        "Sub" => Elementwise::Sub,
                        "Mul" => Elementwise::Mul,
                        _ => Elementwise::Div,
                    };
                    let operand = |name: &String| -> Result<Operand, ScorerError> {
                        let Some((dims, v)) = floats(name) else { return Ok(Operand::Named(name.clone())) };
                        if dims.len() > 4 {
                            return Err(err(node, format!("constant of rank {}", dims.len())));
                        }
                        let mut shape4 = [1usize; 4];
                        shape4[4 - dims.len()..].copy_from_slice(dims);
                        let features = (dims.len() <= 2).then(|| {
                            let mut shape2 = [1usize; 2];
                            shape2[2 - dims.len()..].copy_from_slice(dims);
                            tensor(v, shape2, device)
                        });
                        Ok(Operand::Constant { map: tensor(v, shape4, device), features })
                    };
                    let (Some(a), Some(b)) = (node.inputs.first(), node.inputs.get(1)) else {
                        return Err(err(node, "needs two inputs".into()));
                    };
                    let constant_rank = |name: &String| floats(name).map(|(dims, _)| dims.len());
                    let map_only = constant_rank(a).or(constant_rank(b)).is_some_and(|rank| rank >= 3);
                    let (a, b) = (operand(a)?, operand(b)?);
                    if matches!((&a, &b), (Operand::Constant { .. }, Operand::Constant { .. })) {
                        return Err(err(node, "both inputs are constants".into()));
                    }
                    // A constant of rank 3 or 4 only ever meets feature maps: as a per-channel affine
                    // map it can be folded into the convolution before it.
                    match (map_only, as_affine(kind, &a, &b)) {
                        (true, Some((scale, shift, input))) => {
                            nodes.push(Node { op: Op::Affine { scale, shift }, input, output: out });
                            continue;
                        }
                        _ => Op::Elementwise { kind, a, b },
                    }
                }
                "Pad" => {
                    if matches!(attr(node, "mode"), Some(Attribute::String(s)) if s != "constant") {
                        return Err(err(node, "only constant padding is supported".into()));
                    }
                    let pads = match node.inputs.get(1).and_then(|n| constants.get(n.as_str())).map(|t| &t.values) {
                        Some(TensorValues::Int(p)) => p.clone(),
                        _ => ints(node, "pads").ok_or_else(|| err(node, "pads must be a constant".into()))?,
                    };
                    let pads: [usize; 8] = pads
                        .iter()
                        .map(|&p| match p {
                            0..=MAX_WINDOW => Ok(p as usize),
                            ..0 => Err(err(node, "negative pads (cropping) are not supported".into())),
                            _ => Err(err(node, format!("pad {p} is over {MAX_WINDOW}"))),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .try_into()
                        .map_err(|_| err(node, "pads for a rank-4 tensor must have 8 entries".into()))?;
                    let value =
                        node.inputs.get(2).and_then(|n| floats(n)).and_then(|(_, v)| v.first().copied()).unwrap_or(0.0);
                    Op::Pad { pads, value }
                }
                "MaxPool" => Op::MaxPool {
                    kernel: window(node, "kernel_shape", 1, 1).map_err(|e| err(node, e))?,
                    stride: window(node, "strides", 1, 1).map_err(|e| err(node, e))?,
                    pads: window(node, "pads", 0, 0).map_err(|e| err(node, e))?,
                    ceil: int(node, "ceil_mode", 0) != 0,
                },
                "AveragePool" => Op::AveragePool {
                    kernel: window(node, "kernel_shape", 1, 1).map_err(|e| err(node, e))?,
                    stride: window(node, "strides", 1, 1).map_err(|e| err(node, e))?,
                    pads: window(node, "pads", 0, 0).map_err(|e| err(node, e))?,
                    include_pad: int(node, "count_include_pad", 0) != 0,
                    ceil: int(node, "ceil_mode", 0) != 0,
                },
                "GlobalAveragePool" => Op::GlobalAveragePool,
                "Flatten" => {
                    if int(node, "axis", 1) != 1 {
                        return Err(err(node, "only axis 1 is supported".into()));
                    }
                    Op::Flatten
                }
                "Gemm" => {
                    if int(node, "transA", 0) != 0 {
                        return Err(err(node, "transA is not supported".into()));
                    }
                    let b_name = node.inputs.get(1).ok_or_else(|| err(node, "no B input".into()))?;
                    let (dims, w) = constant(node, b_name)?;
                    let [r, c] = dims[..] else { return Err(err(node, format!("B of shape {dims:?}"))) };
                    let b = if int(node, "transB", 0) != 0 {
                        let mut t = vec![0f32; r * c];
                        for i in 0..r {
                            for j in 0..c {
                                t[j * r + i] = w[i * c + j];
                            }
                        }
                        tensor(&t, [c, r], device)
                    } else {
                        tensor(&w, [r, c], device)
                    };
                    let out_dim = b.dims()[1];
                    let c = match node.inputs.get(2).filter(|s| !s.is_empty()) {
                        Some(name) => {
                            let (_, v) = constant(node, name)?;
                            if v.len() != out_dim {
                                return Err(err(node, format!("C has {} values for {out_dim} outputs", v.len())));
                            }
                            Some(tensor(&v, [1, out_dim], device))
                        }
                        None => None,
                    };
                    Op::Gemm { b, c, alpha: float(node, "alpha", 1.0), beta: float(node, "beta", 1.0) }
                }
                "Softmax" => {
                    if !matches!(int(node, "axis", -1), 1 | -1) {
                        return Err(err(node, "only the class axis is supported".into()));
                    }
                    Op::Softmax
                }
                "Identity" | "Dropout" => Op::Identity,
                other => {
                    return Err(format_error(
                        source,
                        format!("ONNX operator `{other}` is not supported by this interpreter"),
                    ));
                }
            };
            nodes.push(Node { op, input: first, output: out });
        }
        let nodes = fold_affine_maps(nodes, &output);
        let uses = readers(&nodes);
        let host = (*device == Device::flex()).then(|| HostPlan::new(&nodes, &input, &output)).flatten();
        let engine = if host.is_some() { Engine::Cpu } else { Engine::Burn };
        Ok(Self { nodes, host, engine, input, output, uses, device: device.clone() })
    }

    /// The engine [`OnnxModel::infer`] uses.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Runs [`OnnxModel::infer`] on `engine`: [`Engine::Cpu`] needs a CPU device and a graph that
    /// engine supports (every operator of this interpreter except grouped convolutions other than
    /// depthwise and padding of the batch axis). An element-wise constant that is neither a scalar, per
    /// channel nor a feature row is a run-time error of that engine, naming its node.
    pub fn with_engine(mut self, engine: Engine) -> Result<Self, ScorerError> {
        if engine == Engine::Cpu && self.host.is_none() {
            return Err(ScorerError::InvalidInput(
                "the CPU engine needs the CPU device and a graph it supports; this model runs on burn".into(),
            ));
        }
        self.engine = engine;
        Ok(self)
    }

    /// Runs the graph on a batch `[N, C, H, W]` given as row-major values; returns `[N, K]` and its
    /// shape. Uses [`OnnxModel::engine`].
    pub fn infer(&self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, [usize; 2]), ScorerError> {
        if input.len() != shape.iter().product::<usize>() {
            return Err(ScorerError::InvalidInput(format!(
                "{} input values for a batch of shape {shape:?}",
                input.len()
            )));
        }
        self.check_shapes(shape)?;
        if let (Engine::Cpu, Some(host)) = (self.engine, &self.host) {
            return host.run(input, shape);
        }
        let output = self.run(Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &self.device))?;
        let dims = output.dims();
        let values =
            output.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| {
                ScorerError::InvalidInput(format!("cannot read the output back from the device: {e:?}"))
            })?;
        Ok((values, dims))
    }

    /// Fails unless every node's inputs fit it for a batch of shape `input`: a graph from a
    /// stranger may pair operators whose shapes disagree, which the backends would not survive.
    fn check_shapes(&self, input: [usize; 4]) -> Result<(), ScorerError> {
        super::shapes::check(&self.nodes, &self.input, &self.output, input).map_err(|reason| {
            ScorerError::InvalidInput(format!("the ONNX graph cannot take a batch of {input:?}: {reason}"))
        })
    }

    /// Number of operations after per-channel affine maps are folded into the convolutions before them.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs the graph with burn on a batch on the model's device; returns the graph output `[N, K]`.
    pub fn run(&self, images: Tensor<4>) -> Result<Tensor<2>, ScorerError> {
        self.check_shapes(images.dims())?;
        let mut values: HashMap<&str, Value> = HashMap::new();
        values.insert(self.input.as_str(), Value::Map(images));
        let mut uses_left = self.uses.clone();
        let missing =
            |name: &str| ScorerError::InvalidInput(format!("ONNX graph value `{name}` is used before it is computed"));
        for node in &self.nodes {
            // The last reader of a value takes it (the backend may then work in place); the others share it.
            let mut fetch = |name: &str| -> Result<Value, ScorerError> {
                let left = uses_left.get_mut(name).ok_or_else(|| missing(name))?;
                *left = left.saturating_sub(1);
                let value =
                    if *left == 0 && name != self.output { values.remove(name) } else { values.get(name).cloned() };
                value.ok_or_else(|| missing(name))
            };
            let result = match &node.op {
                Op::Elementwise { kind, a, b } => {
                    let a_value = match a {
                        Operand::Named(n) => Some(fetch(n)?),
                        Operand::Constant { .. } => None,
                    };
                    let b_value = match b {
                        Operand::Named(n) => Some(fetch(n)?),
                        Operand::Constant { .. } => None,
                    };
                    // A constant takes the rank of the value it meets (checked at load: not both constant).
                    let like_map = matches!(a_value.as_ref().or(b_value.as_ref()), Some(Value::Map(_)));
                    let resolve = |operand: &Operand, value: Option<Value>| -> Result<Value, ScorerError> {
                        match (operand, value) {
                            (_, Some(v)) => Ok(v),
                            (Operand::Constant { map, .. }, None) if like_map => Ok(Value::Map(map.clone())),
                            (Operand::Constant { features, .. }, None) => {
                                features.clone().map(Value::Features).ok_or_else(|| {
                                    ScorerError::InvalidInput("a constant of rank > 2 meets a feature vector".into())
                                })
                            }
                            (Operand::Named(n), None) => Err(missing(n)),
                        }
                    };
                    elementwise(*kind, resolve(a, a_value)?, resolve(b, b_value)?)?
                }
                op => apply(op, fetch(&node.input)?)?,
            };
            values.insert(node.output.as_str(), result);
        }
        match values.remove(self.output.as_str()) {
            Some(Value::Features(t)) => Ok(t),
            Some(Value::Map(t)) => {
                let [n, c, h, w] = t.dims();
                Ok(t.reshape([n, c * h * w]))
            }
            None => Err(missing(&self.output)),
        }
    }
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn elementwise(kind: Elementwise, a: Value, b: Value) -> Result<Value, ScorerError> {
    fn combine<const D: usize>(kind: Elementwise, a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        match kind {
            Elementwise::Add => a + b,
            Elementwise::Sub => a - b,
            Elementwise::Mul => a * b,
            Elementwise::Div => a / b,
        }
    }
    match (a, b) {
        (Value::Map(a), Value::Map(b)) => Ok(Value::Map(combine(kind, a, b))),
        (Value::Features(a), Value::Features(b)) => Ok(Value::Features(combine(kind, a, b))),
        _ => Err(ScorerError::InvalidInput("element-wise op on a feature map and a feature vector".into())),
    }
}

fn map(value: Value) -> Result<Tensor<4>, ScorerError> {
    match value {
        Value::Map(t) => Ok(t),
        Value::Features(_) => Err(ScorerError::InvalidInput("a spatial op after Flatten".into())),
    }
}

fn apply(op: &Op, value: Value) -> Result<Value, ScorerError> {
    Ok(match op {
        Op::Conv { weight, bias, stride, pads, groups, dilation } => {
            let [top, left, bottom, right] = *pads;
            let x = map(value)?;
            let (x, padding) = if top == bottom && left == right {
                (x, [top, left])
            } else {
                (pad(x, [0, 0, top, left, 0, 0, bottom, right], 0.0), [0, 0])
            };
            let options = ConvOptions::new(*stride, padding, *dilation, *groups);
            Value::Map(conv2d(x, weight.clone(), bias.clone(), options))
        }
        Op::Affine { scale, shift } => Value::Map(map(value)? * scale.clone() + shift.clone()),
        Op::Relu => match value {
            Value::Map(t) => Value::Map(burn::tensor::activation::relu(t)),
            Value::Features(t) => Value::Features(burn::tensor::activation::relu(t)),
        },
        Op::Pad { pads, value: fill } => Value::Map(pad(map(value)?, *pads, *fill)),
        Op::MaxPool { kernel, stride, pads, ceil } => {
            let [t, l, b, r] = *pads;
            let options = MaxPoolOptions {
                kernel_size: *kernel,
                stride: *stride,
                padding: [(t, b), (l, r)],
                dilation: [1, 1],
                ceil_mode: *ceil,
            };
            Value::Map(max_pool2d(map(value)?, options))
        }
        Op::AveragePool { kernel, stride, pads, include_pad, ceil } => {
            let [t, l, b, r] = *pads;
            let options = AvgPoolOptions {
                kernel_size: *kernel,
                stride: *stride,
                padding: [(t, b), (l, r)],
                count_include_pad: *include_pad,
                ceil_mode: *ceil,
            };
            Value::Map(avg_pool2d(map(value)?, options))
        }
        Op::GlobalAveragePool => Value::Map(map(value)?.mean_dims(&[2, 3])),
        Op::Flatten => match value {
            Value::Map(t) => {
                let [n, c, h, w] = t.dims();
                Value::Features(t.reshape([n, c * h * w]))
            }
            v => v,
        },
        Op::Gemm { b, c, alpha, beta } => {
            let x = match value {
                Value::Features(t) => t,
                Value::Map(t) => {
                    let [n, ch, h, w] = t.dims();
                    t.reshape([n, ch * h * w])
                }
            };
            let mut y = x.matmul(b.clone());
            if *alpha != 1.0 {
                y = y.mul_scalar(*alpha);
            }
            if let Some(c) = c {
                y = y + c.clone().mul_scalar(*beta);
            }
            Value::Features(y)
        }
        Op::Softmax => match value {
            Value::Features(t) => Value::Features(burn::tensor::activation::softmax(t, 1)),
            Value::Map(t) => Value::Map(burn::tensor::activation::softmax(t, 1)),
        },
        Op::Identity => value,
        Op::Elementwise { .. } => unreachable!("handled by run"),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Protobuf fields as ONNX writes them: a length-delimited field, a varint field.
    fn bytes_field(number: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = varint(u64::from(number << 3 | 2));
        out.extend(varint(payload.len() as u64));
        out.extend_from_slice(payload);
        out
    }

    fn varint_field(number: u32, value: u64) -> Vec<u8> {
        [varint(u64::from(number << 3)), varint(value)].concat()
    }

    fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn float_tensor(name: &str, dims: &[u64], value: f32) -> Vec<u8> {
        let count = dims.iter().product::<u64>() as usize;
        let values: Vec<u8> = (0..count).flat_map(|_| value.to_le_bytes()).collect();
        let mut out: Vec<u8> = dims.iter().flat_map(|&d| varint_field(1, d)).collect();
        out.extend(varint_field(2, 1));
        out.extend(bytes_field(4, &values));
        out.extend(bytes_field(8, name.as_bytes()));
        out
    }

    fn node(op: &str, inputs: &[&str], output: &str) -> Vec<u8> {
        let mut out: Vec<u8> = inputs.iter().flat_map(|i| bytes_field(1, i.as_bytes())).collect();
        out.extend(bytes_field(2, output.as_bytes()));
        out.extend(bytes_field(4, op.as_bytes()));
        out
    }

    fn with_ints(node: Vec<u8>, name: &str, values: &[u64]) -> Vec<u8> {
        let mut attribute = bytes_field(1, name.as_bytes());
        attribute.extend(values.iter().flat_map(|&v| varint_field(8, v)));
        [node, bytes_field(5, &attribute)].concat()
    }

    fn one_node_graph(node: Vec<u8>, initializers: &[Vec<u8>]) -> Vec<u8> {
        let mut graph = bytes_field(1, &node);
        graph.extend(initializers.iter().flat_map(|t| bytes_field(5, t)));
        graph.extend(bytes_field(11, &bytes_field(1, b"x")));
        graph.extend(bytes_field(12, &bytes_field(1, b"z")));
        bytes_field(7, &graph)
    }

    #[test]
    fn windows_beyond_any_classifier_are_refused_at_load() {
        let device = Device::flex();
        let pool = with_ints(node("MaxPool", &["x"], "z"), "strides", &[0, 1]);
        let err = OnnxModel::from_bytes(&one_node_graph(pool, &[]), "pool.onnx", &device).err().unwrap().to_string();
        assert!(err.contains("pool.onnx") && err.contains("`strides` 0 is outside 1..=4096"), "{err}");
        let conv = with_ints(node("Conv", &["x", "w"], "z"), "pads", &[0, 0, 1 << 62, 0]);
        let weight = float_tensor("w", &[1, 1, 1, 1], 1.0);
        let err = OnnxModel::from_bytes(&one_node_graph(conv, std::slice::from_ref(&weight)), "conv.onnx", &device)
            .err()
            .unwrap();
        assert!(err.to_string().contains("`pads` 4611686018427387904 is outside 0..=4096"), "{err}");
        let conv = with_ints(node("Conv", &["x", "w"], "z"), "pads", &[1, 1, 1, 1]);
        assert!(OnnxModel::from_bytes(&one_node_graph(conv, &[weight]), "fine.onnx", &device).is_ok());
    }

    #[test]
    fn per_channel_constants_of_the_wrong_length_are_refused() {
        // Found by fuzz/ (target onnx): a Conv bias of 64 values for 1 output channel panicked in burn.
        let device = Device::flex();
        let conv = node("Conv", &["x", "w", "b"], "z");
        let tensors = [float_tensor("w", &[1, 1, 1, 1], 1.0), float_tensor("b", &[64], 0.5)];
        let err = OnnxModel::from_bytes(&one_node_graph(conv, &tensors), "bias.onnx", &device).err().unwrap();
        assert!(err.to_string().contains("bias of 64 values for 1 output channels"), "{err}");
        let norm = node("BatchNormalization", &["x", "g", "b", "m", "v"], "z");
        let tensors = [
            float_tensor("g", &[4], 1.0),
            float_tensor("b", &[4], 0.0),
            float_tensor("m", &[3], 0.0),
            float_tensor("v", &[4], 1.0),
        ];
        let err = OnnxModel::from_bytes(&one_node_graph(norm, &tensors), "norm.onnx", &device).err().unwrap();
        assert!(err.to_string().contains("[4, 4, 3, 4]"), "{err}");
        // A padding value given as an empty tensor pads with zeros.
        let pad = with_ints(node("Pad", &["x", "", "v"], "z"), "pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
        let model = OnnxModel::from_bytes(&one_node_graph(pad, &[float_tensor("v", &[0], 7.0)]), "pad.onnx", &device);
        let (out, shape) = model.unwrap().with_engine(Engine::Burn).unwrap().infer(&[1.0], [1, 1, 1, 1]).unwrap();
        assert_eq!((out, shape), (vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1, 9]));
    }

    /// x * a * b, with `a` of `a_channels` and `b` of `b_channels` per-channel values.
    fn two_scalings(a_channels: u64, b_channels: u64) -> Vec<u8> {
        let graph = [
            bytes_field(1, &node("Mul", &["x", "a"], "y")),
            bytes_field(1, &node("Mul", &["y", "b"], "z")),
            bytes_field(5, &float_tensor("a", &[1, a_channels, 1, 1], 2.0)),
            bytes_field(5, &float_tensor("b", &[1, b_channels, 1, 1], 3.0)),
            bytes_field(11, &bytes_field(1, b"x")),
            bytes_field(12, &bytes_field(1, b"z")),
        ]
        .concat();
        bytes_field(7, &graph)
    }

    #[test]
    fn affine_maps_of_different_shapes_are_not_folded() {
        // Found by fuzz/ (target onnx): folding a 32-channel scaling into a 64-channel one panicked in burn.
        let device = Device::flex();
        let mismatched = OnnxModel::from_bytes(&two_scalings(32, 64), "mismatched.onnx", &device).unwrap();
        assert_eq!(mismatched.node_count(), 2);
        let folded = OnnxModel::from_bytes(&two_scalings(4, 4), "folded.onnx", &device).unwrap();
        assert_eq!(folded.node_count(), 1);
        let (out, _) = folded.with_engine(Engine::Burn).unwrap().infer(&[1.0; 4], [1, 4, 1, 1]).unwrap();
        assert_eq!(out, vec![6.0; 4]);
    }

    #[test]
    fn shape_mismatches_are_errors_on_both_engines() {
        let device = Device::flex();
        let gemm = [
            bytes_field(1, &node("Flatten", &["x"], "f")),
            bytes_field(1, &node("Gemm", &["f", "b"], "z")),
            bytes_field(5, &float_tensor("b", &[10, 3], 1.0)),
            bytes_field(11, &bytes_field(1, b"x")),
            bytes_field(12, &bytes_field(1, b"z")),
        ]
        .concat();
        let conv = one_node_graph(node("Conv", &["x", "w"], "z"), &[float_tensor("w", &[1, 3, 1, 1], 1.0)]);
        let pool = one_node_graph(with_ints(node("MaxPool", &["x"], "z"), "kernel_shape", &[5, 5]), &[]);
        let cases = [
            (bytes_field(7, &gemm), "8 features in, but B is [10, 3]"),
            (conv, "2 input channels for a weight [1, 3, 1, 1]"),
            (pool, "a [5, 5] window (dilation [1, 1]) does not fit 2x2"),
            (two_scalings(32, 64), "do not broadcast"),
        ];
        for (bytes, expected) in cases {
            for engine in [Engine::Burn, Engine::Cpu] {
                let model = OnnxModel::from_bytes(&bytes, "m.onnx", &device).unwrap();
                let Ok(model) = model.with_engine(engine) else { continue };
                let err = model.infer(&[1.0; 8], [1, 2, 2, 2]).unwrap_err().to_string();
                assert!(err.contains("[1, 2, 2, 2]") && err.contains(expected), "{engine:?}: {err}");
            }
        }
        // Chained pads that would need gigabytes are refused before anything is allocated.
        let pads = with_ints(node("Pad", &["x"], "p"), "pads", &[0, 0, 4096, 4096, 0, 0, 4096, 4096]);
        let pads = [
            bytes_field(1, &pads),
            bytes_field(1, &with_ints(node("Pad", &["p"], "z"), "pads", &[0, 0, 4096, 4096, 0, 0, 4096, 4096])),
            bytes_field(11, &bytes_field(1, b"x")),
            bytes_field(12, &bytes_field(1, b"z")),
        ]
        .concat();
        let model = OnnxModel::from_bytes(&bytes_field(7, &pads), "pads.onnx", &device).unwrap();
        let err = model.infer(&[1.0; 8], [1, 2, 2, 2]).unwrap_err().to_string();
        assert!(err.contains("node `p`") && err.contains("over the limit of 16777216 values"), "{err}");
        // The same graphs run when the batch fits them.
        let conv = one_node_graph(node("Conv", &["x", "w"], "z"), &[float_tensor("w", &[1, 3, 1, 1], 1.0)]);
        let model = OnnxModel::from_bytes(&conv, "m.onnx", &device).unwrap();
        assert_eq!(model.infer(&[1.0; 12], [1, 3, 2, 2]).unwrap(), (vec![3.0; 4], [1, 4]));
    }
}
