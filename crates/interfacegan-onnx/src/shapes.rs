//! Shape checking of a loaded graph for one input shape, before anything runs.
//!
//! A graph from a stranger can pair any operators: a convolution whose weight expects other
//! channels, a Gemm after a Flatten of the wrong width, a window larger than its input. burn and
//! the CPU engine assume consistent shapes (burn asserts, which panics), so every node's output
//! shape is derived from the input's with checked arithmetic and each mismatch is an error naming
//! the node. Values are bounded too ([`MAX_VALUE_PER_IMAGE`]): chained pads or a huge Gemm could
//! otherwise ask for any amount of memory.

use std::collections::HashMap;

use crate::error::{OnnxError, ShapeProblem};
use crate::graph::{Graph, Op, Operand, Window};

/// The most elements one value of the graph may hold per image of the batch: 64 MiB of f32,
/// about 80 times the largest activation of a ResNet-50 at 224 px.
pub const MAX_VALUE_PER_IMAGE: usize = 1 << 24;

/// The shape of a value: a feature map `[N, C, H, W]` or features `[N, K]` after Flatten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Map([usize; 4]),
    Features([usize; 2]),
}

/// Checks that the graph can run on a batch of shape `input` and computes its output; the error
/// names the first node that cannot.
pub(crate) fn check(graph: &Graph, input: [usize; 4]) -> Result<(), OnnxError> {
    let mut shapes: HashMap<&str, Shape> = HashMap::from([(graph.input.as_str(), Shape::Map(input))]);
    let find = |shapes: &HashMap<&str, Shape>, name: &str| {
        shapes.get(name).copied().ok_or_else(|| OnnxError::MissingValue { value: name.to_string() })
    };
    for node in &graph.nodes {
        let named: Vec<Shape> = node.inputs.iter().map(|n| find(&shapes, n)).collect::<Result<_, _>>()?;
        let shape = match (&node.op, named.as_slice()) {
            (Op::Elementwise { a, b, .. }, named) => elementwise(a, b, named),
            (op, [single]) => output_shape(op, *single),
            (_, _) => Err(ShapeProblem::MapAndFeatures),
        }
        .and_then(bounded)
        .map_err(|problem| OnnxError::Batch {
            shape: input,
            node: node.output.clone(),
            problem: Box::new(problem),
        })?;
        shapes.insert(&node.output, shape);
    }
    find(&shapes, &graph.output).map(|_| ())
}

/// `shape`, when each image's part of it is within [`MAX_VALUE_PER_IMAGE`] elements.
fn bounded(shape: Shape) -> Result<Shape, ShapeProblem> {
    let per_image = match &shape {
        Shape::Map(d) => &d[1..],
        Shape::Features(d) => &d[1..],
    };
    match per_image.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) if n <= MAX_VALUE_PER_IMAGE => Ok(shape),
        _ => Err(ShapeProblem::TooLarge { per_image: per_image.to_vec() }),
    }
}

fn flat([n, c, h, w]: [usize; 4]) -> Result<[usize; 2], ShapeProblem> {
    Ok([n, c.checked_mul(h).and_then(|x| x.checked_mul(w)).ok_or(ShapeProblem::Overflow)?])
}

/// The output shape of a one-input op on `input`.
fn output_shape(op: &Op, input: Shape) -> Result<Shape, ShapeProblem> {
    let map = || match input {
        Shape::Map(d) => Ok(d),
        Shape::Features(_) => Err(ShapeProblem::SpatialAfterFlatten),
    };
    Ok(match op {
        Op::Conv { weight, window, groups, .. } => {
            let [n, c, h, w] = map()?;
            let weight: [usize; 4] = weight.dims_as::<4>().ok_or(ShapeProblem::Overflow)?;
            let [o, i, ..] = weight;
            if c != i * groups || o % groups != 0 {
                return Err(ShapeProblem::Channels { channels: c, weight, groups: *groups });
            }
            let [out_h, out_w] = window_output(window, h, w)?;
            Shape::Map([n, o, out_h, out_w])
        }
        Op::Affine { scale, shift } => {
            let d = map()?;
            for constant in [scale, shift] {
                let constant_dims = constant.dims_as::<4>().ok_or(ShapeProblem::Overflow)?;
                if broadcast(&constant_dims, &d)? != d {
                    return Err(ShapeProblem::Constant { constant: constant.dims.clone(), maps: d });
                }
            }
            Shape::Map(d)
        }
        Op::Pad { pads, .. } => {
            let mut d = map()?;
            for (axis, size) in d.iter_mut().enumerate() {
                *size = size.checked_add(pads[axis] + pads[axis + 4]).ok_or(ShapeProblem::Overflow)?;
            }
            Shape::Map(d)
        }
        Op::Pool { window, .. } => {
            let [n, c, h, w] = map()?;
            let ([top, left, bottom, right], kernel) = (window.pads, window.kernel);
            if top.max(bottom) > kernel[0] / 2 || left.max(right) > kernel[1] / 2 {
                return Err(ShapeProblem::PoolPads { pads: window.pads, kernel });
            }
            let [out_h, out_w] = window_output(window, h, w)?;
            Shape::Map([n, c, out_h, out_w])
        }
        Op::GlobalAveragePool => {
            let [n, c, _, _] = map()?;
            Shape::Map([n, c, 1, 1])
        }
        Op::Flatten => match input {
            Shape::Map(d) => Shape::Features(flat(d)?),
            features => features,
        },
        Op::Gemm { b, .. } => {
            let [n, k] = match input {
                Shape::Features(d) => d,
                Shape::Map(d) => flat(d)?,
            };
            let b = b.dims_as::<2>().ok_or(ShapeProblem::Overflow)?;
            if k != b[0] {
                return Err(ShapeProblem::GemmWidth { features: k, b });
            }
            Shape::Features([n, b[1]])
        }
        Op::Relu | Op::Softmax | Op::Identity => input,
        Op::Elementwise { .. } => return Err(ShapeProblem::MapAndFeatures),
    })
}

/// The shape of an element-wise op; `named` holds the shapes of its value operands in order.
fn elementwise(a: &Operand, b: &Operand, named: &[Shape]) -> Result<Shape, ShapeProblem> {
    // The parser refuses an element-wise op of two constants: one operand at least is a value.
    let Some(&first) = named.first() else { return Err(ShapeProblem::UnsupportedConstant) };
    let like_map = matches!(first, Shape::Map(_));
    let mut named = named.iter();
    let mut shape_of = |operand: &Operand| -> Result<Shape, ShapeProblem> {
        match operand {
            Operand::Value => named.next().copied().ok_or(ShapeProblem::MapAndFeatures),
            Operand::Constant(c) if like_map => Ok(Shape::Map(c.dims_as::<4>().ok_or(ShapeProblem::Overflow)?)),
            Operand::Constant(c) => Ok(Shape::Features(c.dims_as::<2>().ok_or(ShapeProblem::ConstantMeetsFeatures)?)),
        }
    };
    match (shape_of(a)?, shape_of(b)?) {
        (Shape::Map(x), Shape::Map(y)) => Ok(Shape::Map(broadcast(&x, &y)?)),
        (Shape::Features(x), Shape::Features(y)) => Ok(Shape::Features(broadcast(&x, &y)?)),
        _ => Err(ShapeProblem::MapAndFeatures),
    }
}

/// The broadcast of two shapes of one rank: each axis equal, or 1 on one side.
fn broadcast<const R: usize>(a: &[usize; R], b: &[usize; R]) -> Result<[usize; R], ShapeProblem> {
    let mut out = [0; R];
    for (o, (&x, &y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = match (x, y) {
            _ if x == y => x,
            (1, _) => y,
            (_, 1) => x,
            _ => return Err(ShapeProblem::Broadcast { a: a.to_vec(), b: b.to_vec() }),
        };
    }
    Ok(out)
}

/// The output size of `window` over `height` x `width`, when the window fits.
fn window_output(window: &Window, height: usize, width: usize) -> Result<[usize; 2], ShapeProblem> {
    window.output(height, width).ok_or(ShapeProblem::Window {
        kernel: window.kernel,
        dilation: window.dilation,
        pads: window.pads,
        height,
        width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_needs_equal_axes_or_ones() {
        assert_eq!(broadcast(&[1, 8, 1, 1], &[4, 8, 5, 5]), Ok([4, 8, 5, 5]));
        assert!(broadcast(&[1, 7, 1, 1], &[4, 8, 5, 5]).is_err());
    }
}
