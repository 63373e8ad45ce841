//! Shape checking of a loaded graph for one input shape, before anything runs.
//!
//! A graph from a stranger can pair any operators: a convolution whose weight expects other
//! channels, a Gemm after a Flatten of the wrong width, a window larger than its input. burn and
//! the CPU engine assume consistent shapes (burn asserts, which panics), so every node's output
//! shape is derived from the input's with checked arithmetic and each mismatch is an error naming
//! the node. Values are bounded too ([`MAX_VALUE_PER_IMAGE`]): chained pads or a huge Gemm could
//! otherwise ask for any amount of memory.

use std::collections::HashMap;

use super::graph::{Node, Op, Operand};
use super::host_kernels::Window;

/// The most elements one value of the graph may hold per image of the batch: 64 MiB of f32,
/// about 80 times the largest activation of a ResNet-50 at 224 px.
pub const MAX_VALUE_PER_IMAGE: usize = 1 << 24;

/// The shape of a value: a feature map `[N, C, H, W]` or features `[N, K]` after Flatten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Map([usize; 4]),
    Features([usize; 2]),
}

/// Checks that `nodes` can run on a batch of shape `input` (the value `input_name`) and that
/// `output` is computed; the error names the first node that cannot.
pub(super) fn check(nodes: &[Node], input_name: &str, output: &str, input: [usize; 4]) -> Result<(), String> {
    let mut shapes: HashMap<&str, Shape> = HashMap::from([(input_name, Shape::Map(input))]);
    let find = |shapes: &HashMap<&str, Shape>, name: &str| {
        shapes.get(name).copied().ok_or_else(|| format!("value `{name}` is used before it is computed"))
    };
    for node in nodes {
        let shape = match &node.op {
            Op::Elementwise { a, b, .. } => {
                let named: Vec<Shape> = node.inputs().iter().map(|n| find(&shapes, n)).collect::<Result<_, _>>()?;
                elementwise(a, b, &named)
            }
            op => output_shape(op, find(&shapes, node.input())?),
        }
        .and_then(bounded)
        .map_err(|reason| format!("node `{}`: {reason}", node.output))?;
        shapes.insert(&node.output, shape);
    }
    find(&shapes, output).map(|_| ())
}

/// `shape`, when each image's part of it is within [`MAX_VALUE_PER_IMAGE`] elements.
fn bounded(shape: Shape) -> Result<Shape, String> {
    let dims = match &shape {
        Shape::Map(d) => &d[1..],
        Shape::Features(d) => &d[1..],
    };
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) if n <= MAX_VALUE_PER_IMAGE => Ok(shape),
        _ => Err(format!("an output of {dims:?} per image, over the limit of {MAX_VALUE_PER_IMAGE} values")),
    }
}

/// The output shape of a one-input op on `input`.
fn output_shape(op: &Op, input: Shape) -> Result<Shape, String> {
    let map = || match input {
        Shape::Map(d) => Ok(d),
        Shape::Features(_) => Err("a spatial op after Flatten".to_string()),
    };
    let flat = |[n, c, h, w]: [usize; 4]| -> Result<[usize; 2], String> {
        Ok([n, c.checked_mul(h).and_then(|x| x.checked_mul(w)).ok_or("the flattened features overflow")?])
    };
    Ok(match op {
        Op::Conv { weight, stride, pads, groups, dilation, .. } => {
            let [n, c, h, w] = map()?;
            let [o, i, kh, kw] = weight.dims();
            if c != i * groups || o % groups != 0 {
                return Err(format!("{c} input channels for a weight [{o}, {i}, {kh}, {kw}] in {groups} groups"));
            }
            let [out_h, out_w] = window_output(
                Window { kernel: [kh, kw], stride: *stride, dilation: *dilation, pads: *pads, ceil: false },
                h,
                w,
            )?;
            Shape::Map([n, o, out_h, out_w])
        }
        Op::Affine { scale, shift } => {
            let d = map()?;
            for constant in [scale, shift] {
                if broadcast(&constant.dims(), &d)? != d {
                    return Err(format!("a constant of shape {:?} for maps of {d:?}", constant.dims()));
                }
            }
            Shape::Map(d)
        }
        Op::Pad { pads, .. } => {
            let mut d = map()?;
            for (axis, size) in d.iter_mut().enumerate() {
                *size = size.checked_add(pads[axis] + pads[axis + 4]).ok_or("padded size overflows")?;
            }
            Shape::Map(d)
        }
        Op::MaxPool { kernel, stride, pads, ceil } | Op::AveragePool { kernel, stride, pads, ceil, .. } => {
            let [n, c, h, w] = map()?;
            let [top, left, bottom, right] = *pads;
            if top.max(bottom) > kernel[0] / 2 || left.max(right) > kernel[1] / 2 {
                return Err(format!("pads {pads:?} over half the window {kernel:?}"));
            }
            let [out_h, out_w] = window_output(
                Window { kernel: *kernel, stride: *stride, dilation: [1, 1], pads: *pads, ceil: *ceil },
                h,
                w,
            )?;
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
            let [rows, m] = b.dims();
            if k != rows {
                return Err(format!("{k} features in, but B is [{rows}, {m}]"));
            }
            Shape::Features([n, m])
        }
        Op::Relu | Op::Softmax | Op::Identity => input,
        Op::Elementwise { .. } => unreachable!("two inputs: checked by `elementwise`"),
    })
}

/// The shape of an element-wise op; `named` holds the shapes of its non-constant operands in order.
fn elementwise(a: &Operand, b: &Operand, named: &[Shape]) -> Result<Shape, String> {
    let Some(&first) = named.first() else { return Err("both inputs are constants".into()) };
    let like_map = matches!(first, Shape::Map(_));
    let mut named = named.iter();
    let mut shape_of = |operand: &Operand| -> Result<Shape, String> {
        match operand {
            Operand::Named(_) => Ok(*named.next().expect("one shape per named operand")),
            Operand::Constant { map, .. } if like_map => Ok(Shape::Map(map.dims())),
            Operand::Constant { features: Some(f), .. } => Ok(Shape::Features(f.dims())),
            Operand::Constant { features: None, .. } => Err("a constant of rank > 2 meets features".into()),
        }
    };
    match (shape_of(a)?, shape_of(b)?) {
        (Shape::Map(x), Shape::Map(y)) => Ok(Shape::Map(broadcast(&x, &y)?.try_into().expect("rank 4"))),
        (Shape::Features(x), Shape::Features(y)) => Ok(Shape::Features(broadcast(&x, &y)?.try_into().expect("rank 2"))),
        _ => Err("an element-wise op on a feature map and features".into()),
    }
}

/// The broadcast of two shapes of one rank: each axis equal, or 1 on one side.
fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Ok(x),
            (1, _) => Ok(y),
            (_, 1) => Ok(x),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// The output size of `window` over `h` x `w`, when the window fits.
fn window_output(window: Window, h: usize, w: usize) -> Result<[usize; 2], String> {
    window.output(h, w).ok_or_else(|| {
        let Window { kernel, dilation, pads, .. } = window;
        format!("a {kernel:?} window (dilation {dilation:?}) does not fit {h}x{w} padded by {pads:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_needs_equal_axes_or_ones() {
        assert_eq!(broadcast(&[1, 8, 1, 1], &[4, 8, 5, 5]), Ok(vec![4, 8, 5, 5]));
        assert!(broadcast(&[1, 7, 1, 1], &[4, 8, 5, 5]).is_err());
    }
}
