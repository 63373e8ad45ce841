//! The CPU engine: the graph run on host memory in channel-last (NHWC) layout, convolutions as
//! im2col + GEMM, a direct kernel for narrow outputs (`direct`) or Winograd's F(2x2, 3x3) for 3x3
//! layers (`winograd`), with their bias and ReLU fused: several times faster than burn's CPU
//! convolutions on these small nets (docs/attributes.md has the figures).
//!
//! It runs every operator of the interpreter except grouped convolutions other than depthwise and
//! padding of the batch axis, and per-channel maps that are not one value per channel (a model
//! with those runs on burn). An element-wise constant that is neither a scalar, one value per
//! channel nor a single row of features is an error naming the node when it is met.

mod direct;
mod kernels;
mod values;
mod winograd;

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{OnnxError, ShapeProblem};
use crate::execute::{Backend, execute};
use crate::graph::{Constant, Elementwise, Graph, Node, Op, Operand, Window};
use crate::model::Engine;
use kernels::{Conv, ConvWeights, MapShape, for_each_block, matmul, pool, relu};
use values::Values;

/// A value of the CPU engine: a channel-last feature map or a batch of feature vectors.
#[derive(Clone)]
pub(crate) enum Buffer {
    Map { data: Values, shape: MapShape },
    Features { data: Values, rows: usize, cols: usize },
}

/// What a node needs beyond the graph's own data.
enum Prepared {
    /// Weights packed for the GEMM, with the bias and possibly the next node's ReLU.
    Conv(Conv),
    /// A ReLU the convolution before it already applied: passes its input on.
    FusedRelu,
    /// Gemm's `beta * c`.
    Gemm {
        scaled_c: Option<Vec<f32>>,
    },
    Nothing,
}

/// The graph prepared for the CPU engine.
pub(crate) struct CpuEngine {
    prepared: Vec<Prepared>,
}

impl CpuEngine {
    /// The engine for `graph`, or `None` when a node is outside what it runs.
    pub fn new(graph: &Graph) -> Option<Self> {
        let mut prepared: Vec<Prepared> = graph.nodes.iter().map(prepare).collect::<Option<_>>()?;
        fuse_relus(graph, &mut prepared);
        Some(Self { prepared })
    }

    /// Runs `graph` (the one this engine was prepared for) on a batch `[N, C, H, W]`, row-major;
    /// returns `[N, K]`.
    pub fn run(
        &self,
        graph: &Graph,
        readers: &HashMap<String, usize>,
        input: &[f32],
        [n, c, h, w]: [usize; 4],
    ) -> Result<(Vec<f32>, [usize; 2]), OnnxError> {
        let shape = MapShape { n, h, w, c };
        let batch = Rc::new(Buffer::Map { data: to_channel_last(input, shape).into(), shape });
        Ok(match Rc::unwrap_or_clone(execute(graph, readers, self, batch)?) {
            Buffer::Features { data, rows, cols } => (data.into_vec(), [rows, cols]),
            Buffer::Map { data, shape } => (to_channel_first(&data, shape), [shape.n, shape.c * shape.h * shape.w]),
        })
    }
}

fn prepare(node: &Node) -> Option<Prepared> {
    Some(match &node.op {
        Op::Conv { weight, bias, window, groups } => {
            let [c_out, per_group, kh, kw] = weight.dims_as::<4>()?;
            if c_out * per_group * kh * kw == 0 {
                return None;
            }
            let c_in = per_group * groups;
            let weights = ConvWeights::from_onnx(&weight.values, [c_out, c_in, kh, kw], *groups)?;
            let bias = bias.clone().unwrap_or_else(|| vec![0.0; c_out]);
            let winograd = match &weights {
                ConvWeights::Dense(w) if winograd::takes(window, c_in, c_out) => {
                    Some(winograd::transform_filters(w, c_in, c_out))
                }
                _ => None,
            };
            Prepared::Conv(Conv { window: *window, c_in, c_out, weights, bias, relu: false, winograd })
        }
        Op::Affine { scale, shift } => {
            scale.per_channel()?;
            shift.per_channel()?;
            Prepared::Nothing
        }
        Op::Pad { pads, .. } if pads[0] != 0 || pads[4] != 0 => return None,
        Op::Gemm { c, beta, .. } => {
            Prepared::Gemm { scaled_c: c.as_ref().map(|c| c.iter().map(|v| v * beta).collect()) }
        }
        _ => Prepared::Nothing,
    })
}

/// Gives a convolution the ReLU that is the only reader of its output.
fn fuse_relus(graph: &Graph, prepared: &mut [Prepared]) {
    let readers = graph.readers();
    let producer: HashMap<&str, usize> = graph.nodes.iter().enumerate().map(|(i, n)| (n.output.as_str(), i)).collect();
    for (index, node) in graph.nodes.iter().enumerate() {
        let (Op::Relu, [input]) = (&node.op, node.inputs.as_slice()) else { continue };
        if readers.get(input) != Some(&1) || *input == graph.output {
            continue;
        }
        if let Some(&j) = producer.get(input.as_str())
            && let Prepared::Conv(conv) = &mut prepared[j]
        {
            conv.relu = true;
            prepared[index] = Prepared::FusedRelu;
        }
    }
}

impl Backend for CpuEngine {
    type Value = Rc<Buffer>;
    const ENGINE: Engine = Engine::Cpu;

    fn apply(&self, index: usize, node: &Node, mut inputs: Vec<Rc<Buffer>>) -> Result<Rc<Buffer>, ShapeProblem> {
        if let Op::Elementwise { kind, a, b } = &node.op {
            return elementwise(*kind, a, b, inputs).map(Rc::new);
        }
        let value = inputs.pop().ok_or(ShapeProblem::MapAndFeatures)?;
        Ok(Rc::new(match (&node.op, &self.prepared[index]) {
            (_, Prepared::FusedRelu) | (Op::Identity, _) => return Ok(value),
            (Op::Conv { .. }, Prepared::Conv(conv)) => convolution(conv, &value)?,
            (Op::Affine { scale, shift }, _) => affine(take(value), scale, shift)?,
            (Op::Relu, _) => {
                let mut value = take(value);
                match &mut value {
                    Buffer::Map { data, .. } | Buffer::Features { data, .. } => for_each_block(
                        data,
                        1,
                        #[inline(always)]
                        |_, block| relu(block),
                    ),
                }
                value
            }
            (Op::Pad { pads, value: fill }, _) => pad(&value, *pads, *fill)?,
            (Op::Pool { kind, window }, _) => {
                let (x, shape) = as_map(&value)?;
                let [h, w] = window.output(shape.h, shape.w).ok_or_else(|| window_problem(window, shape))?;
                let out_shape = MapShape { h, w, ..shape };
                Buffer::Map { data: pool(*kind, window, x, shape, out_shape), shape: out_shape }
            }
            (Op::GlobalAveragePool, _) => global_average_pool(&value)?,
            (Op::Flatten, _) => flatten(take(value)),
            (Op::Gemm { b, alpha, .. }, Prepared::Gemm { scaled_c }) => gemm(take(value), b, *alpha, scaled_c)?,
            (Op::Softmax, _) => {
                let mut value = take(value);
                // The class axis is the last one in both layouts.
                match &mut value {
                    Buffer::Map { data, shape } => softmax_rows(data, shape.c),
                    Buffer::Features { data, cols, .. } => softmax_rows(data, *cols),
                }
                value
            }
            _ => unreachable!("every node is prepared with its operator"),
        }))
    }
}

fn take(value: Rc<Buffer>) -> Buffer {
    Rc::unwrap_or_clone(value)
}

fn as_map(value: &Buffer) -> Result<(&[f32], MapShape), ShapeProblem> {
    match value {
        Buffer::Map { data, shape } => Ok((data, *shape)),
        Buffer::Features { .. } => Err(ShapeProblem::SpatialAfterFlatten),
    }
}

fn convolution(conv: &Conv, value: &Buffer) -> Result<Buffer, ShapeProblem> {
    let (x, shape) = as_map(value)?;
    if shape.c != conv.c_in {
        let [kh, kw] = conv.window.kernel;
        let (per_group, groups) = match conv.weights {
            ConvWeights::Dense(_) => (conv.c_in, 1),
            ConvWeights::Depthwise(_) => (1, conv.c_in),
        };
        return Err(ShapeProblem::Channels { channels: shape.c, weight: [conv.c_out, per_group, kh, kw], groups });
    }
    let out_shape = conv.output_shape(shape).ok_or_else(|| window_problem(&conv.window, shape))?;
    Ok(Buffer::Map { data: conv.run(x, shape, out_shape), shape: out_shape })
}

/// The error of `window` not fitting maps of `shape`.
fn window_problem(window: &Window, shape: MapShape) -> ShapeProblem {
    let Window { kernel, dilation, pads, .. } = *window;
    ShapeProblem::Window { kernel, dilation, pads, height: shape.h, width: shape.w }
}

/// `x * scale + shift` per channel (`prepare` checked both are per-channel).
fn affine(value: Buffer, scale: &Constant, shift: &Constant) -> Result<Buffer, ShapeProblem> {
    let Buffer::Map { mut data, shape } = value else { return Err(ShapeProblem::SpatialAfterFlatten) };
    let per_channel = |c: &Constant| -> Result<Vec<f32>, ShapeProblem> {
        match c.per_channel() {
            Some(v) if v.len() == 1 || v.len() == shape.c => Ok(v.iter().copied().cycle().take(shape.c).collect()),
            _ => Err(ShapeProblem::Constant { constant: c.dims.clone(), maps: [shape.n, shape.c, shape.h, shape.w] }),
        }
    };
    let (scale, shift) = (per_channel(scale)?, per_channel(shift)?);
    for_each_block(
        &mut data,
        shape.c,
        #[inline(always)]
        |_, block| {
            for position in block.chunks_exact_mut(shape.c) {
                for ((v, &a), &b) in position.iter_mut().zip(&scale).zip(&shift) {
                    *v = *v * a + b;
                }
            }
        },
    );
    Ok(Buffer::Map { data, shape })
}

/// Constant padding of the channel, height and width axes (`prepare` refused the batch axis).
fn pad(value: &Buffer, pads: [usize; 8], fill: f32) -> Result<Buffer, ShapeProblem> {
    let (x, s) = as_map(value)?;
    let (before, after) = ([pads[1], pads[2], pads[3]], [pads[5], pads[6], pads[7]]);
    let out_shape = MapShape {
        n: s.n,
        c: s.c + before[0] + after[0],
        h: s.h + before[1] + after[1],
        w: s.w + before[2] + after[2],
    };
    let mut out = Values::filled(out_shape.len(), fill);
    for n in 0..s.n {
        for y in 0..s.h {
            for x_ in 0..s.w {
                let src = ((n * s.h + y) * s.w + x_) * s.c;
                let dst = ((n * out_shape.h + y + before[1]) * out_shape.w + x_ + before[2]) * out_shape.c + before[0];
                out[dst..dst + s.c].copy_from_slice(&x[src..src + s.c]);
            }
        }
    }
    Ok(Buffer::Map { data: out, shape: out_shape })
}

fn global_average_pool(value: &Buffer) -> Result<Buffer, ShapeProblem> {
    let (x, s) = as_map(value)?;
    let plane = s.h * s.w;
    let mut out = Values::filled(s.n * s.c, 0.0);
    for (n, acc) in out.chunks_exact_mut(s.c).enumerate() {
        for position in x[n * plane * s.c..(n + 1) * plane * s.c].chunks_exact(s.c) {
            acc.iter_mut().zip(position).for_each(|(a, &v)| *a += v);
        }
        acc.iter_mut().for_each(|a| *a /= plane as f32);
    }
    Ok(Buffer::Map { data: out, shape: MapShape { h: 1, w: 1, ..s } })
}

fn gemm(value: Buffer, b: &Constant, alpha: f32, scaled_c: &Option<Vec<f32>>) -> Result<Buffer, ShapeProblem> {
    let Buffer::Features { data, rows, cols } = flatten(value) else { unreachable!("flatten gives features") };
    let [k, m] = b.dims_as::<2>().ok_or(ShapeProblem::Overflow)?;
    if cols != k {
        return Err(ShapeProblem::GemmWidth { features: cols, b: [k, m] });
    }
    let mut y = matmul(&data, rows, k, &b.values, m);
    for row in y.chunks_exact_mut(m) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = *v * alpha + scaled_c.as_ref().map_or(0.0, |c| c[j]);
        }
    }
    Ok(Buffer::Features { data: y.into(), rows, cols: m })
}

/// A map in channel-first order as feature vectors (ONNX Flatten of `[N, C, H, W]`).
fn flatten(value: Buffer) -> Buffer {
    match value {
        Buffer::Map { data, shape } => {
            let cols = shape.c * shape.h * shape.w;
            let data = if shape.h * shape.w == 1 { data } else { to_channel_first(&data, shape).into() };
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
fn elementwise(kind: Elementwise, a: &Operand, b: &Operand, inputs: Vec<Rc<Buffer>>) -> Result<Buffer, ShapeProblem> {
    let mut inputs = inputs.into_iter();
    let mut next = || inputs.next().ok_or(ShapeProblem::MapAndFeatures);
    match (a, b) {
        (Operand::Value, Operand::Value) => {
            let (x, y) = (next()?, next()?);
            two_values(kind, x, y)
        }
        (Operand::Value, Operand::Constant(k)) => with_constant(kind, take(next()?), k, false),
        (Operand::Constant(k), Operand::Value) => with_constant(kind, take(next()?), k, true),
        (Operand::Constant(_), Operand::Constant(_)) => Err(ShapeProblem::UnsupportedConstant),
    }
}

/// `x op y` for two values of one shape, in the buffer nobody else holds when there is one.
fn two_values(kind: Elementwise, x: Rc<Buffer>, y: Rc<Buffer>) -> Result<Buffer, ShapeProblem> {
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
        _ => return Err(ShapeProblem::MapAndFeatures),
    };
    for_each_block(
        out_data,
        1,
        #[inline(always)]
        |offset, block| {
            kind.apply_all(block, &other_data[offset..offset + block.len()], swapped);
        },
    );
    Ok(out)
}

/// `x op k` (or `k op x`) for a constant that is a scalar or one value per channel (per column of features).
fn with_constant(
    kind: Elementwise,
    mut out: Buffer,
    k: &Constant,
    constant_first: bool,
) -> Result<Buffer, ShapeProblem> {
    let (data, width, constant) = match &mut out {
        Buffer::Map { data, shape } => (data, shape.c, k.per_channel()),
        Buffer::Features { data, cols, .. } => (data, *cols, k.per_feature()),
    };
    let constant = constant.filter(|k| k.len() == 1 || k.len() == width).ok_or(ShapeProblem::UnsupportedConstant)?;
    let constant: Vec<f32> = constant.iter().copied().cycle().take(width).collect();
    for_each_block(
        data,
        width,
        #[inline(always)]
        |_, block| {
            for row in block.chunks_exact_mut(width) {
                kind.apply_all(row, &constant, constant_first);
            }
        },
    );
    Ok(out)
}

fn to_channel_last(x: &[f32], s: MapShape) -> Vec<f32> {
    interfacegan_simd::to_channel_last(x, s.c, s.h * s.w)
}

fn to_channel_first(x: &[f32], s: MapShape) -> Vec<f32> {
    interfacegan_simd::to_channel_first(x, s.c, s.h * s.w)
}
