//! The CPU engine: the interpreter's prepared graph run on host memory in channel-last layout,
//! convolutions as im2col + GEMM. burn's CPU backend convolves small maps at about 30 GFLOP/s on
//! our nets; this engine reaches 80-230 GFLOP/s on the same layers (docs/attributes.md), which is
//! what keeps scoring from being the slow stage of a generate-and-score run.
//!
//! The plan is built from the same folded nodes as the burn graph, so both engines run one graph.
//! Every operator of the interpreter is supported except grouped convolutions other than
//! depthwise and padding of the batch axis (a model that uses them runs on burn), and constants
//! that are neither scalars, per-channel vectors of a feature map nor single rows of features:
//! those are an error naming the node when they are met (`Engine::Burn` runs them).

use std::collections::HashMap;
use std::rc::Rc;

use burn::tensor::Tensor;

use super::graph::{Elementwise, Node, Op, Operand};
use super::host_kernels::{Conv, ConvWeights, MapShape, Pool, Window, for_each_block, matmul, pool, relu};
use crate::error::ScorerError;

/// A value of the CPU engine: a channel-last feature map or a batch of feature vectors.
#[derive(Clone)]
enum Buffer {
    Map { data: Vec<f32>, shape: MapShape },
    Features { data: Vec<f32>, rows: usize, cols: usize },
}

/// A constant operand as the CPU engine broadcasts it.
#[derive(Clone)]
struct HostConstant {
    /// For a feature map: one value, or one per channel.
    map: Option<Vec<f32>>,
    /// For feature vectors: one value, or one per column.
    features: Option<Vec<f32>>,
}

enum HostOperand {
    /// A value of the graph, passed in the node's inputs.
    Named,
    Constant(HostConstant),
}

enum Step {
    Conv(Conv),
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Relu,
    Elementwise {
        kind: Elementwise,
        a: HostOperand,
        b: HostOperand,
    },
    /// Constant padding of the channel, height and width axes: `[channel, top, left]` before,
    /// `[channel, bottom, right]` after.
    Pad {
        before: [usize; 3],
        after: [usize; 3],
        value: f32,
    },
    Pool {
        kind: Pool,
        window: Window,
    },
    GlobalAveragePool,
    Flatten,
    Gemm {
        b: Vec<f32>,
        k: usize,
        m: usize,
        c: Option<Vec<f32>>,
        alpha: f32,
    },
    Softmax,
    Identity,
}

struct HostNode {
    step: Step,
    inputs: Vec<String>,
    output: String,
}

/// The graph prepared for the CPU engine.
pub(super) struct HostPlan {
    nodes: Vec<HostNode>,
    input: String,
    output: String,
    uses: HashMap<String, usize>,
}

fn values<const D: usize>(t: &Tensor<D>) -> Option<Vec<f32>> {
    t.to_data().convert::<f32>().try_to_vec::<f32>().ok()
}

/// A `[1, C, 1, 1]` (or scalar) constant as one value per channel (or one value).
fn per_channel(t: &Tensor<4>) -> Option<Vec<f32>> {
    let [n, _, h, w] = t.dims();
    (n == 1 && h == 1 && w == 1).then(|| values(t)).flatten()
}

fn host_constant(map: &Tensor<4>, features: &Option<Tensor<2>>) -> HostConstant {
    let features = features.as_ref().filter(|f| f.dims()[0] == 1).and_then(values);
    HostConstant { map: per_channel(map), features }
}

impl HostPlan {
    /// The plan for `nodes`, or `None` when one of them is outside what this engine runs.
    pub fn new(nodes: &[Node], input: &str, output: &str) -> Option<Self> {
        let mut plan = Vec::with_capacity(nodes.len());
        for node in nodes {
            let step = match &node.op {
                Op::Conv { weight, bias, stride, pads, groups, dilation } => {
                    let [c_out, per_group, kh, kw] = weight.dims();
                    if c_out * per_group * kh * kw == 0 {
                        return None;
                    }
                    let w = values(weight)?;
                    let c_in = per_group * groups;
                    let weights = ConvWeights::from_onnx(&w, [c_out, c_in, kh, kw], *groups)?;
                    let bias = match bias {
                        Some(b) => values(b)?,
                        None => vec![0.0; c_out],
                    };
                    let window =
                        Window { kernel: [kh, kw], stride: *stride, dilation: *dilation, pads: *pads, ceil: false };
                    Step::Conv(Conv { window, c_in, c_out, weights, bias, relu: false })
                }
                Op::Affine { scale, shift } => Step::Affine { scale: per_channel(scale)?, shift: per_channel(shift)? },
                Op::Relu => Step::Relu,
                Op::Elementwise { kind, a, b } => {
                    let operand = |o: &Operand| match o {
                        Operand::Named(_) => HostOperand::Named,
                        Operand::Constant { map, features } => HostOperand::Constant(host_constant(map, features)),
                    };
                    Step::Elementwise { kind: *kind, a: operand(a), b: operand(b) }
                }
                Op::Pad { pads, value } => {
                    if pads[0] != 0 || pads[4] != 0 {
                        return None;
                    }
                    Step::Pad { before: [pads[1], pads[2], pads[3]], after: [pads[5], pads[6], pads[7]], value: *value }
                }
                Op::MaxPool { kernel, stride, pads, ceil } => Step::Pool {
                    kind: Pool::Max,
                    window: Window { kernel: *kernel, stride: *stride, dilation: [1, 1], pads: *pads, ceil: *ceil },
                },
                Op::AveragePool { kernel, stride, pads, include_pad, ceil } => Step::Pool {
                    kind: Pool::Average { include_pad: *include_pad },
                    window: Window { kernel: *kernel, stride: *stride, dilation: [1, 1], pads: *pads, ceil: *ceil },
                },
                Op::GlobalAveragePool => Step::GlobalAveragePool,
                Op::Flatten => Step::Flatten,
                Op::Gemm { b, c, alpha, beta } => {
                    let [k, m] = b.dims();
                    let c = match c {
                        Some(c) => Some(values(c)?.into_iter().map(|v| v * beta).collect()),
                        None => None,
                    };
                    Step::Gemm { b: values(b)?, k, m, c, alpha: *alpha }
                }
                Op::Softmax => Step::Softmax,
                Op::Identity => Step::Identity,
            };
            let inputs = node.inputs().into_iter().map(str::to_string).collect();
            plan.push(HostNode { step, inputs, output: node.output.clone() });
        }
        let nodes = fuse_relus(plan, output);
        let mut uses: HashMap<String, usize> = HashMap::new();
        for node in &nodes {
            for name in &node.inputs {
                *uses.entry(name.clone()).or_default() += 1;
            }
        }
        Some(Self { nodes, input: input.to_string(), output: output.to_string(), uses })
    }

    /// Runs the plan on a batch `[N, C, H, W]` (row-major); returns `[N, K]`.
    pub fn run(&self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, [usize; 2]), ScorerError> {
        let [n, c, h, w] = shape;
        let map = MapShape { n, h, w, c };
        let mut values: HashMap<&str, Rc<Buffer>> = HashMap::new();
        values.insert(&self.input, Rc::new(Buffer::Map { data: to_channel_last(input, map), shape: map }));
        let mut uses_left = self.uses.clone();
        let missing =
            |name: &str| ScorerError::InvalidInput(format!("ONNX graph value `{name}` is used before it is computed"));
        for node in &self.nodes {
            let mut args = Vec::with_capacity(node.inputs.len());
            for name in &node.inputs {
                let left = uses_left.get_mut(name.as_str()).ok_or_else(|| missing(name))?;
                *left = left.saturating_sub(1);
                // The last reader takes the value, so that element-wise steps can work in place.
                let value = if *left == 0 && *name != self.output {
                    values.remove(name.as_str())
                } else {
                    values.get(name.as_str()).cloned()
                };
                args.push(value.ok_or_else(|| missing(name))?);
            }
            let result = node.step.apply(args).map_err(|reason| {
                ScorerError::InvalidInput(format!("ONNX node `{}` on the CPU engine: {reason}", node.output))
            })?;
            values.insert(&node.output, Rc::new(result));
        }
        let result = values.remove(self.output.as_str()).ok_or_else(|| missing(&self.output))?;
        Ok(match Rc::unwrap_or_clone(result) {
            Buffer::Features { data, rows, cols } => (data, [rows, cols]),
            Buffer::Map { data, shape } => (to_channel_first(&data, shape), [shape.n, shape.c * shape.h * shape.w]),
        })
    }
}

/// Gives a convolution the ReLU that is the only reader of its output.
fn fuse_relus(nodes: Vec<HostNode>, graph_output: &str) -> Vec<HostNode> {
    let mut readers: HashMap<&str, usize> = HashMap::new();
    for node in &nodes {
        for name in &node.inputs {
            *readers.entry(name.as_str()).or_default() += 1;
        }
    }
    let fusable: Vec<bool> = nodes
        .iter()
        .map(|node| {
            matches!(node.step, Step::Relu)
                && node.inputs[0] != graph_output
                && readers.get(node.inputs[0].as_str()) == Some(&1)
        })
        .collect();
    let mut kept: Vec<HostNode> = Vec::with_capacity(nodes.len());
    let mut conv_by_output: HashMap<String, usize> = HashMap::new();
    for (node, fusable) in nodes.into_iter().zip(fusable) {
        if fusable && let Some(&j) = conv_by_output.get(&node.inputs[0]) {
            if let Step::Conv(conv) = &mut kept[j].step {
                conv.relu = true;
            }
            kept[j].output = node.output;
            continue;
        }
        if matches!(node.step, Step::Conv(_)) {
            conv_by_output.insert(node.output.clone(), kept.len());
        }
        kept.push(node);
    }
    kept
}

fn to_channel_last(x: &[f32], s: MapShape) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    let plane = s.h * s.w;
    for n in 0..s.n {
        for c in 0..s.c {
            let src = &x[(n * s.c + c) * plane..(n * s.c + c + 1) * plane];
            for (p, &v) in src.iter().enumerate() {
                out[(n * plane + p) * s.c + c] = v;
            }
        }
    }
    out
}

fn to_channel_first(x: &[f32], s: MapShape) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    let plane = s.h * s.w;
    for n in 0..s.n {
        for p in 0..plane {
            for c in 0..s.c {
                out[(n * s.c + c) * plane + p] = x[(n * plane + p) * s.c + c];
            }
        }
    }
    out
}

fn take(value: Rc<Buffer>) -> Buffer {
    Rc::unwrap_or_clone(value)
}

fn as_map(value: &Buffer) -> Result<(&[f32], MapShape), String> {
    match value {
        Buffer::Map { data, shape } => Ok((data, *shape)),
        Buffer::Features { .. } => Err("a spatial op after Flatten".into()),
    }
}

#[inline(always)]
fn combine(kind: Elementwise, a: f32, b: f32) -> f32 {
    match kind {
        Elementwise::Add => a + b,
        Elementwise::Sub => a - b,
        Elementwise::Mul => a * b,
        Elementwise::Div => a / b,
    }
}

impl Step {
    fn apply(&self, mut args: Vec<Rc<Buffer>>) -> Result<Buffer, String> {
        if let Step::Elementwise { kind, a, b } = self {
            return elementwise(*kind, a, b, args);
        }
        let value = args.pop().ok_or("no input")?;
        Ok(match self {
            Step::Conv(conv) => {
                let (x, shape) = as_map(&value)?;
                if shape.c != conv.c_in {
                    return Err(format!("a convolution over {} channels meets {}", conv.c_in, shape.c));
                }
                let out_shape = conv.output_shape(shape).ok_or("the kernel is larger than the padded input")?;
                Buffer::Map { data: conv.run(x, shape, out_shape), shape: out_shape }
            }
            Step::Affine { scale, shift } => {
                let Buffer::Map { mut data, shape } = take(value) else {
                    return Err("an affine map after Flatten".into());
                };
                if scale.len() != 1 && scale.len() != shape.c || shift.len() != 1 && shift.len() != shape.c {
                    return Err(format!("a per-channel map of {} values meets {} channels", scale.len(), shape.c));
                }
                let scale: Vec<f32> = scale.iter().copied().cycle().take(shape.c).collect();
                let shift: Vec<f32> = shift.iter().copied().cycle().take(shape.c).collect();
                for_each_block(&mut data, shape.c, |_, block| {
                    for position in block.chunks_exact_mut(shape.c) {
                        for ((v, &a), &b) in position.iter_mut().zip(&scale).zip(&shift) {
                            *v = *v * a + b;
                        }
                    }
                });
                Buffer::Map { data, shape }
            }
            Step::Relu => {
                let mut value = take(value);
                match &mut value {
                    Buffer::Map { data, .. } | Buffer::Features { data, .. } => {
                        for_each_block(data, 1, |_, block| relu(block))
                    }
                }
                value
            }
            Step::Pad { before, after, value: fill } => {
                let (x, s) = as_map(&value)?;
                let out_shape = MapShape {
                    n: s.n,
                    c: s.c + before[0] + after[0],
                    h: s.h + before[1] + after[1],
                    w: s.w + before[2] + after[2],
                };
                let mut out = vec![*fill; out_shape.len()];
                for n in 0..s.n {
                    for y in 0..s.h {
                        for x_ in 0..s.w {
                            let src = ((n * s.h + y) * s.w + x_) * s.c;
                            let dst = ((n * out_shape.h + y + before[1]) * out_shape.w + x_ + before[2]) * out_shape.c
                                + before[0];
                            out[dst..dst + s.c].copy_from_slice(&x[src..src + s.c]);
                        }
                    }
                }
                Buffer::Map { data: out, shape: out_shape }
            }
            Step::Pool { kind, window } => {
                let (x, shape) = as_map(&value)?;
                let [h, w] =
                    window.output(shape.h, shape.w).ok_or("the pool window is larger than the padded input")?;
                let out_shape = MapShape { h, w, ..shape };
                Buffer::Map { data: pool(*kind, window, x, shape, out_shape), shape: out_shape }
            }
            Step::GlobalAveragePool => {
                let (x, s) = as_map(&value)?;
                let plane = s.h * s.w;
                let mut out = vec![0f32; s.n * s.c];
                for (n, acc) in out.chunks_exact_mut(s.c).enumerate() {
                    for position in x[n * plane * s.c..(n + 1) * plane * s.c].chunks_exact(s.c) {
                        acc.iter_mut().zip(position).for_each(|(a, &v)| *a += v);
                    }
                    acc.iter_mut().for_each(|a| *a /= plane as f32);
                }
                Buffer::Map { data: out, shape: MapShape { h: 1, w: 1, ..s } }
            }
            Step::Flatten => flatten(take(value)),
            Step::Gemm { b, k, m, c, alpha } => {
                let Buffer::Features { data, rows, cols } = flatten(take(value)) else { unreachable!() };
                if cols != *k {
                    return Err(format!("a Gemm over {k} features meets {cols}"));
                }
                let mut y = matmul(&data, rows, *k, b, *m);
                for row in y.chunks_exact_mut(*m) {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = *v * alpha + c.as_ref().map_or(0.0, |c| c[j]);
                    }
                }
                Buffer::Features { data: y, rows, cols: *m }
            }
            Step::Softmax => {
                let mut value = take(value);
                // The class axis is the last one in both layouts.
                match &mut value {
                    Buffer::Map { data, shape } => softmax_rows(data, shape.c),
                    Buffer::Features { data, cols, .. } => softmax_rows(data, *cols),
                }
                value
            }
            Step::Identity => take(value),
            Step::Elementwise { .. } => unreachable!("handled above"),
        })
    }
}

/// A map in channel-first order as feature vectors (ONNX Flatten of `[N, C, H, W]`).
fn flatten(value: Buffer) -> Buffer {
    match value {
        Buffer::Map { data, shape } => {
            let cols = shape.c * shape.h * shape.w;
            let data = if shape.h * shape.w == 1 { data } else { to_channel_first(&data, shape) };
            Buffer::Features { data, rows: shape.n, cols }
        }
        features => features,
    }
}

fn softmax_rows(data: &mut [f32], width: usize) {
    for row in data.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        row.iter_mut().for_each(|v| *v /= sum);
    }
}

/// An element-wise op on two values of the same shape, or on a value and a broadcast constant.
fn elementwise(kind: Elementwise, a: &HostOperand, b: &HostOperand, args: Vec<Rc<Buffer>>) -> Result<Buffer, String> {
    let mut args = args.into_iter();
    match (a, b) {
        (HostOperand::Named, HostOperand::Named) => {
            let (Some(x), Some(y)) = (args.next(), args.next()) else { return Err("two inputs expected".into()) };
            // Work in the buffer nobody else holds, when there is one.
            let (mut out, other, swapped) = match Rc::try_unwrap(x) {
                Ok(x) => (x, y, false),
                Err(x) => (take(y), x, true),
            };
            let (out_data, other_data) = match (&mut out, &*other) {
                (Buffer::Map { data, shape }, Buffer::Map { data: o, shape: os }) if shape == os => (data, o),
                (Buffer::Features { data, rows, cols }, Buffer::Features { data: o, rows: r, cols: c })
                    if (*rows, *cols) == (*r, *c) =>
                {
                    (data, o)
                }
                _ => return Err("element-wise op on values of different shapes".into()),
            };
            for_each_block(out_data, 1, |offset, block| {
                let other = &other_data[offset..offset + block.len()];
                match swapped {
                    false => block.iter_mut().zip(other).for_each(|(v, &o)| *v = combine(kind, *v, o)),
                    true => block.iter_mut().zip(other).for_each(|(v, &o)| *v = combine(kind, o, *v)),
                }
            });
            Ok(out)
        }
        (HostOperand::Named, HostOperand::Constant(k)) | (HostOperand::Constant(k), HostOperand::Named) => {
            let constant_first = matches!(a, HostOperand::Constant(_));
            let mut out = take(args.next().ok_or("no input")?);
            let (data, width, constant) = match &mut out {
                Buffer::Map { data, shape } => (data, shape.c, k.map.as_ref()),
                Buffer::Features { data, cols, .. } => (data, *cols, k.features.as_ref()),
            };
            let constant = constant
                .filter(|k| k.len() == 1 || k.len() == width)
                .ok_or("a constant that is not a scalar or one value per channel (run this model on burn)")?;
            let constant: Vec<f32> = constant.iter().copied().cycle().take(width).collect();
            for_each_block(data, width, |_, block| {
                for row in block.chunks_exact_mut(width) {
                    for (v, &k) in row.iter_mut().zip(&constant) {
                        *v = if constant_first { combine(kind, k, *v) } else { combine(kind, *v, k) };
                    }
                }
            });
            Ok(out)
        }
        (HostOperand::Constant(_), HostOperand::Constant(_)) => Err("both inputs are constants".into()),
    }
}
