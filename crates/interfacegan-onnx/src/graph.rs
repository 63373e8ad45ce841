//! The graph both engines run: nodes in execution order, their constants on the host, read once
//! from the file ([`crate::parse`]) and simplified once ([`Graph::fold_affine_maps`]).

use std::collections::HashMap;

/// A constant (an initializer), row-major, with its ONNX shape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Constant {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

impl Constant {
    /// The shape left-padded with ones to rank `R` (numpy broadcasting), when the rank is at most `R`.
    pub fn dims_as<const R: usize>(&self) -> Option<[usize; R]> {
        let rank = self.dims.len();
        let mut dims = [1usize; R];
        dims.get_mut(R.checked_sub(rank)?..)?.copy_from_slice(&self.dims);
        Some(dims)
    }

    /// The values when the constant holds one value per channel of `[N, C, H, W]` maps
    /// (shape `[1, C, 1, 1]` up to leading ones, a scalar included).
    pub fn per_channel(&self) -> Option<&[f32]> {
        matches!(self.dims_as::<4>()?, [1, _, 1, 1]).then_some(&self.values)
    }

    /// The values when the constant is one row for `[N, K]` features (shape `[1, K]` up to leading ones).
    pub fn per_feature(&self) -> Option<&[f32]> {
        matches!(self.dims_as::<2>()?, [1, _]).then_some(&self.values)
    }

    fn map(&self, f: impl Fn(f32) -> f32) -> Self {
        Self { dims: self.dims.clone(), values: self.values.iter().map(|&v| f(v)).collect() }
    }
}

/// The element-wise arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Elementwise {
    Add,
    Sub,
    Mul,
    Div,
}

impl Elementwise {
    /// `values[i] op other[i]` in place (`other[i] op values[i]` when `other_first`), the operator
    /// chosen once per call rather than per value, so that the loop vectorises.
    #[inline(always)]
    pub fn apply_all(self, values: &mut [f32], other: &[f32], other_first: bool) {
        #[inline(always)]
        fn each(values: &mut [f32], other: &[f32], f: impl Fn(f32, f32) -> f32) {
            values.iter_mut().zip(other).for_each(|(v, &o)| *v = f(*v, o));
        }
        match (self, other_first) {
            (Elementwise::Add, _) => each(values, other, |v, o| v + o),
            (Elementwise::Mul, _) => each(values, other, |v, o| v * o),
            (Elementwise::Sub, false) => each(values, other, |v, o| v - o),
            (Elementwise::Sub, true) => each(values, other, |v, o| o - v),
            (Elementwise::Div, false) => each(values, other, |v, o| v / o),
            (Elementwise::Div, true) => each(values, other, |v, o| o / v),
        }
    }
}

/// An operand of an element-wise op: the node's next input value, or a constant.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Value,
    Constant(Constant),
}

/// A sliding window: kernel, stride, dilation and ONNX pads `[top, left, bottom, right]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pads: [usize; 4],
    pub ceil: bool,
}

impl Window {
    /// Output height and width for an input of `h` x `w`, as ONNX (and PyTorch) define them: in ceil
    /// mode a last window that would start in the end padding is dropped. `None` when the window
    /// does not fit.
    pub fn output(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        let size = |input: usize, axis: usize| -> Option<usize> {
            let padded = input + self.pads[axis] + self.pads[axis + 2];
            let extent = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
            let span = padded.checked_sub(extent)?;
            let stride = self.stride[axis];
            let mut out = if self.ceil { span.div_ceil(stride) + 1 } else { span / stride + 1 };
            if self.ceil && (out - 1) * stride >= input + self.pads[axis] {
                out -= 1;
            }
            Some(out)
        };
        Some([size(h, 0)?, size(w, 1)?])
    }

    /// The input row (or column) of tap `k` for output index `o` on `axis`, if inside the input.
    #[inline(always)]
    pub fn source(&self, o: usize, k: usize, axis: usize, input: usize) -> Option<usize> {
        let i = (o * self.stride[axis] + k * self.dilation[axis]).checked_sub(self.pads[axis])?;
        (i < input).then_some(i)
    }
}

/// How a pool reduces its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pool {
    Max,
    /// The mean; with `include_pad` the padding counts in the divisor (ONNX `count_include_pad`).
    Average {
        include_pad: bool,
    },
}

/// An operator with its attributes and constants.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    /// `weight` is `[out, in / groups, kh, kw]`; `bias` has one value per output channel.
    Conv {
        weight: Constant,
        bias: Option<Vec<f32>>,
        window: Window,
        groups: usize,
    },
    /// `x * scale + shift`, both rank-4 constants that broadcast over the maps.
    Affine {
        scale: Constant,
        shift: Constant,
    },
    Relu,
    Elementwise {
        kind: Elementwise,
        a: Operand,
        b: Operand,
    },
    /// Constant padding; `pads` is ONNX's `[begins..., ends...]` over `[N, C, H, W]`.
    Pad {
        pads: [usize; 8],
        value: f32,
    },
    Pool {
        kind: Pool,
        window: Window,
    },
    GlobalAveragePool,
    Flatten,
    /// `alpha * x B + beta * c`; `b` is `[K, M]` (transposed at load when the file says so).
    Gemm {
        b: Constant,
        c: Option<Vec<f32>>,
        alpha: f32,
        beta: f32,
    },
    Softmax,
    Identity,
}

/// A node: its operator, the values it reads (in operand order) and the value it writes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub op: Op,
    pub inputs: Vec<String>,
    pub output: String,
}

/// A graph: nodes in execution order, from the batch `input` to the `output`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub input: String,
    pub output: String,
}

impl Graph {
    /// How many nodes read each value.
    pub fn readers(&self) -> HashMap<String, usize> {
        let mut readers: HashMap<String, usize> = HashMap::new();
        for name in self.nodes.iter().flat_map(|node| &node.inputs) {
            *readers.entry(name.clone()).or_default() += 1;
        }
        readers
    }

    /// Folds every per-channel affine map (inference BatchNormalization, or a Mul/Add/Sub/Div by a
    /// constant feature map) into the convolution or affine map that produces its input, when
    /// nothing else reads that value: one convolution instead of a convolution and two passes.
    pub fn fold_affine_maps(self) -> Self {
        let readers = self.readers();
        let mut kept: Vec<Node> = Vec::with_capacity(self.nodes.len());
        let mut producer: HashMap<String, usize> = HashMap::new();
        for node in self.nodes {
            let input = node.inputs.first();
            if let (Op::Affine { scale, shift }, Some(input)) = (&node.op, input)
                && readers.get(input) == Some(&1)
                && *input != self.output
                && let Some(&j) = producer.get(input)
                && fold_into(&mut kept[j].op, scale, shift)
            {
                producer.remove(input);
                kept[j].output = node.output.clone();
                producer.insert(node.output, j);
                continue;
            }
            producer.insert(node.output.clone(), kept.len());
            kept.push(node);
        }
        Self { nodes: kept, ..self }
    }
}

/// `x op constant` (or `constant op x`) as `x * scale + shift`, when it is one.
pub(crate) fn as_affine(kind: Elementwise, constant: &Constant, constant_first: bool) -> Option<(Constant, Constant)> {
    let dims = constant.dims_as::<4>()?.to_vec();
    let c = Constant { dims, values: constant.values.clone() };
    let (ones, zeros) = (c.map(|_| 1.0), c.map(|_| 0.0));
    Some(match (kind, constant_first) {
        (Elementwise::Mul, _) => (c, zeros),
        (Elementwise::Add, _) => (ones, c),
        (Elementwise::Sub, false) => (ones, c.map(|v| -v)),
        (Elementwise::Sub, true) => (ones.map(|v| -v), c),
        (Elementwise::Div, false) => (c.map(|v| 1.0 / v), zeros),
        (Elementwise::Div, true) => return None,
    })
}

/// Makes `op` followed by `x * scale + shift` one op; false when it cannot.
fn fold_into(op: &mut Op, scale: &Constant, shift: &Constant) -> bool {
    match op {
        Op::Affine { scale: s, shift: t } => {
            // Only maps of one shape fold; a graph from a stranger may pair any two.
            if [&s.dims, &t.dims, &shift.dims].iter().any(|d| **d != scale.dims) {
                return false;
            }
            for (((t, s), &a), &b) in t.values.iter_mut().zip(&mut s.values).zip(&scale.values).zip(&shift.values) {
                *t = *t * a + b;
                *s *= a;
            }
            true
        }
        Op::Conv { weight, bias, .. } => {
            let out_channels = weight.dims[0];
            if scale.dims != [1, out_channels, 1, 1] || shift.dims != [1, out_channels, 1, 1] {
                return false;
            }
            let per_output = weight.values.len() / out_channels.max(1);
            for (filter, &a) in weight.values.chunks_exact_mut(per_output.max(1)).zip(&scale.values) {
                filter.iter_mut().for_each(|w| *w *= a);
            }
            *bias = Some(match bias.take() {
                Some(b) => b.iter().zip(&scale.values).zip(&shift.values).map(|((b, a), t)| b * a + t).collect(),
                None => shift.values.clone(),
            });
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(dims: &[usize], values: &[f32]) -> Constant {
        Constant { dims: dims.to_vec(), values: values.to_vec() }
    }

    #[test]
    fn constants_broadcast_like_numpy() {
        let row = constant(&[3], &[1.0, 2.0, 3.0]);
        assert_eq!(row.dims_as::<4>(), Some([1, 1, 1, 3]));
        assert_eq!(row.per_feature(), Some(&[1.0, 2.0, 3.0][..]));
        assert_eq!(row.per_channel(), None);
        let channels = constant(&[2, 1, 1], &[4.0, 5.0]);
        assert_eq!(channels.per_channel(), Some(&[4.0, 5.0][..]));
        assert_eq!(channels.dims_as::<2>(), None);
        assert_eq!(constant(&[], &[7.0]).per_channel(), Some(&[7.0][..]));
    }

    #[test]
    fn folding_an_affine_map_into_a_convolution_scales_its_filters() {
        let window = Window { kernel: [1, 1], stride: [1, 1], dilation: [1, 1], pads: [0; 4], ceil: false };
        let conv = Op::Conv { weight: constant(&[2, 1, 1, 1], &[1.0, 2.0]), bias: None, window, groups: 1 };
        let (scale, shift) = as_affine(Elementwise::Mul, &constant(&[1, 2, 1, 1], &[3.0, 4.0]), false).unwrap();
        let affine = Op::Affine { scale, shift };
        let node = |op, input: &str, output: &str| Node { op, inputs: vec![input.into()], output: output.into() };
        let graph =
            Graph { nodes: vec![node(conv, "x", "y"), node(affine, "y", "z")], input: "x".into(), output: "z".into() };
        let folded = graph.fold_affine_maps();
        assert_eq!(folded.nodes.len(), 1);
        let Op::Conv { weight, bias, .. } = &folded.nodes[0].op else { panic!("not a convolution") };
        assert_eq!((weight.values.as_slice(), bias.as_deref()), (&[3.0, 8.0][..], Some(&[0.0, 0.0][..])));
        assert_eq!(folded.nodes[0].output, "z");
    }

    #[test]
    fn elementwise_ops_keep_their_operand_order() {
        let (x, y) = ([6.0f32, -2.0, 9.0], [3.0f32, 4.0, -0.5]);
        let cases = [
            (Elementwise::Add, [9.0, 2.0, 8.5], [9.0, 2.0, 8.5]),
            (Elementwise::Mul, [18.0, -8.0, -4.5], [18.0, -8.0, -4.5]),
            (Elementwise::Sub, [3.0, -6.0, 9.5], [-3.0, 6.0, -9.5]),
            (Elementwise::Div, [2.0, -0.5, -18.0], [0.5, -2.0, -1.0 / 18.0]),
        ];
        for (kind, values_first, other_first) in cases {
            for (flag, want) in [(false, values_first), (true, other_first)] {
                let mut values = x;
                kind.apply_all(&mut values, &y, flag);
                assert_eq!(values, want, "{kind:?}, other first: {flag}");
            }
        }
    }
}
