//! From the decoded protobuf to the [`Graph`]: one function per operator, each checking what it
//! reads (constants present and of the right length, windows within [`MAX_WINDOW`]), so that
//! a graph from a stranger is refused at load, naming the node, rather than failing at run time.
//!
//! The operator set is what convolutional classifiers use: Conv, BatchNormalization, Relu, Mul,
//! Add, Sub, Div, Pad (constant), MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm,
//! Softmax, Identity, Dropout.

use std::collections::HashMap;

use crate::error::OnnxError;
use crate::graph::{Constant, Elementwise, Graph, Node, Op, Operand, Pool, Window, as_affine};
use crate::proto::{Attribute, NodeProto, TensorProto, TensorValues, parse_model};

/// Kernel sizes, strides, dilations, pads and groups above this are no classifier's: refused, so
/// that a graph from a stranger cannot size buffers with them (a pad of 2^62).
const MAX_WINDOW: i64 = 4096;

/// Reads the graph of an `.onnx` file; `model` names it in errors.
pub(crate) fn parse_graph(bytes: &[u8], model: &str) -> Result<Graph, OnnxError> {
    let mut proto = parse_model(bytes, model)?;
    flush_subnormals(&mut proto.initializers);
    let constants: HashMap<&str, &TensorProto> = proto.initializers.iter().map(|t| (t.name.as_str(), t)).collect();
    let input = proto.inputs.iter().find(|name| !constants.contains_key(name.as_str())).cloned();
    let input = input.ok_or(OnnxError::Graph { model: model.into(), missing: "input" })?;
    let output = proto.outputs.first().cloned().ok_or(OnnxError::Graph { model: model.into(), missing: "output" })?;
    let nodes = proto
        .nodes
        .iter()
        .map(|node| NodeReader { model, node, constants: &constants }.read())
        .collect::<Result<_, _>>()?;
    Ok(Graph { nodes, input, output })
}

/// Sets subnormal weights to zero. The age net has 6,667 of them (down to 3e-42) in two
/// convolutions; on x86 every multiply by one takes a microcode assist (docs/attributes.md has
/// the cost). Their products are below 1e-38, far under the outputs' precision: scores do not change.
fn flush_subnormals(initializers: &mut [TensorProto]) {
    for tensor in initializers {
        if let TensorValues::Float(values) = &mut tensor.values {
            values.iter_mut().filter(|v| v.is_subnormal()).for_each(|v| *v = 0.0);
        }
    }
}

/// One node of the file with what it may refer to.
struct NodeReader<'a> {
    model: &'a str,
    node: &'a NodeProto,
    constants: &'a HashMap<&'a str, &'a TensorProto>,
}

impl NodeReader<'_> {
    fn read(&self) -> Result<Node, OnnxError> {
        let output = self.node.outputs.first().cloned().ok_or_else(|| self.error("no output"))?;
        let first_input = || vec![self.node.inputs.first().cloned().unwrap_or_default()];
        let (op, inputs) = match self.node.op_type.as_str() {
            "Conv" => (self.conv()?, first_input()),
            "BatchNormalization" => (self.batch_normalization()?, first_input()),
            "Relu" => (Op::Relu, first_input()),
            "Add" | "Sub" | "Mul" | "Div" => self.elementwise()?,
            "Pad" => (self.pad()?, first_input()),
            "MaxPool" => (Op::Pool { kind: Pool::Max, window: self.pool_window()? }, first_input()),
            "AveragePool" => {
                let kind = Pool::Average { include_pad: self.int("count_include_pad", 0) != 0 };
                (Op::Pool { kind, window: self.pool_window()? }, first_input())
            }
            "GlobalAveragePool" => (Op::GlobalAveragePool, first_input()),
            "Flatten" => (self.flatten()?, first_input()),
            "Gemm" => (self.gemm()?, first_input()),
            "Softmax" => (self.softmax()?, first_input()),
            "Identity" | "Dropout" => (Op::Identity, first_input()),
            other => return Err(OnnxError::UnsupportedOperator { model: self.model.into(), op: other.into() }),
        };
        Ok(Node { op, inputs, output })
    }

    fn error(&self, problem: impl Into<String>) -> OnnxError {
        OnnxError::Node {
            model: self.model.into(),
            op: self.node.op_type.clone(),
            node: self.node.outputs.join(","),
            problem: problem.into(),
        }
    }

    fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.node.attributes.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.attribute(name) {
            Some(Attribute::Ints(v)) => Some(v.clone()),
            _ => None,
        }
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        match self.attribute(name) {
            Some(Attribute::Int(v)) => *v,
            _ => default,
        }
    }

    fn float(&self, name: &str, default: f32) -> f32 {
        match self.attribute(name) {
            Some(Attribute::Float(v)) => *v,
            _ => default,
        }
    }

    /// The float initializer called `name`, if there is one.
    fn float_constant(&self, name: &str) -> Option<Constant> {
        self.constants.get(name).and_then(|t| match &t.values {
            TensorValues::Float(v) => Some(Constant { dims: t.dims.clone(), values: v.clone() }),
            TensorValues::Int(_) => None,
        })
    }

    /// The float initializer that input `index` names; an error when there is none.
    fn input_constant(&self, index: usize, what: &str) -> Result<Constant, OnnxError> {
        let name = self.node.inputs.get(index).ok_or_else(|| self.error(format!("no {what} input")))?;
        self.float_constant(name).ok_or_else(|| self.error(format!("input `{name}` must be a float initializer")))
    }

    /// The float initializer of an optional input `index` (absent or named "").
    fn optional_constant(&self, index: usize, what: &str) -> Result<Option<Constant>, OnnxError> {
        match self.node.inputs.get(index).filter(|s| !s.is_empty()) {
            Some(_) => self.input_constant(index, what).map(Some),
            None => Ok(None),
        }
    }

    /// The `N` values of the ints attribute `name` (`default` each when absent), each within `min..=MAX_WINDOW`.
    fn window_attribute<const N: usize>(&self, name: &str, default: usize, min: i64) -> Result<[usize; N], OnnxError> {
        let Some(values) = self.ints(name) else { return Ok([default; N]) };
        let values: Vec<usize> = values
            .iter()
            .map(|&v| {
                (min..=MAX_WINDOW)
                    .contains(&v)
                    .then_some(v as usize)
                    .ok_or_else(|| self.error(format!("`{name}` {v} is outside {min}..={MAX_WINDOW}")))
            })
            .collect::<Result<_, _>>()?;
        let found = values.len();
        values.try_into().map_err(|_| self.error(format!("`{name}` needs {N} values, not {found}")))
    }

    fn conv(&self) -> Result<Op, OnnxError> {
        let weight = self.input_constant(1, "weight")?;
        let [o, _, kh, kw] = weight.dims[..] else {
            return Err(self.error(format!("weight of shape {:?}", weight.dims)));
        };
        let bias = self.optional_constant(2, "bias")?.map(|b| b.values);
        if let Some(b) = &bias
            && b.len() != o
        {
            return Err(self.error(format!("bias of {} values for {o} output channels", b.len())));
        }
        if matches!(self.attribute("auto_pad"), Some(Attribute::String(s)) if s != "NOTSET") {
            return Err(self.error("auto_pad is not supported (give explicit pads)"));
        }
        let window = Window {
            kernel: [kh, kw],
            stride: self.window_attribute("strides", 1, 1)?,
            dilation: self.window_attribute("dilations", 1, 1)?,
            pads: self.window_attribute("pads", 0, 0)?,
            ceil: false,
        };
        let groups = match self.int("group", 1) {
            g @ 1..=MAX_WINDOW => g as usize,
            g => return Err(self.error(format!("group {g} is outside 1..={MAX_WINDOW}"))),
        };
        Ok(Op::Conv { weight, bias, window, groups })
    }

    /// Inference: the running statistics, folded into one per-channel affine map.
    fn batch_normalization(&self) -> Result<Op, OnnxError> {
        let eps = self.float("epsilon", 1e-5);
        if self.node.inputs.len() < 5 {
            return Err(self.error("needs scale, bias, mean and variance"));
        }
        let [g, b, m, v] = [1, 2, 3, 4].map(|k| self.input_constant(k, "statistics"));
        let (g, b, m, v) = (g?.values, b?.values, m?.values, v?.values);
        if [b.len(), m.len(), v.len()].iter().any(|&n| n != g.len()) {
            let lengths = [g.len(), b.len(), m.len(), v.len()];
            return Err(self.error(format!("scale, bias, mean and variance of {lengths:?} values")));
        }
        let scale: Vec<f32> = g.iter().zip(&v).map(|(g, v)| g / (v + eps).sqrt()).collect();
        let shift: Vec<f32> = b.iter().zip(&m).zip(&scale).map(|((b, m), s)| b - m * s).collect();
        let dims = vec![1, scale.len(), 1, 1];
        Ok(Op::Affine {
            scale: Constant { dims: dims.clone(), values: scale },
            shift: Constant { dims, values: shift },
        })
    }

    /// Add, Sub, Mul or Div; by a constant of rank 3 or 4 (which only ever meets feature maps) as a
    /// per-channel affine map, so that it can be folded into the convolution before it.
    fn elementwise(&self) -> Result<(Op, Vec<String>), OnnxError> {
        let kind = match self.node.op_type.as_str() {
            "Add" => Elementwise::Add,
            "Sub" => Elementwise::Sub,
            "Mul" => Elementwise::Mul,
            _ => Elementwise::Div,
        };
        let (Some(a), Some(b)) = (self.node.inputs.first(), self.node.inputs.get(1)) else {
            return Err(self.error("needs two inputs"));
        };
        let operand = |name: &String| match self.float_constant(name) {
            Some(c) if c.dims.len() > 4 => Err(self.error(format!("constant of rank {}", c.dims.len()))),
            Some(c) => Ok(Operand::Constant(c)),
            None => Ok(Operand::Value),
        };
        let (a_operand, b_operand) = (operand(a)?, operand(b)?);
        let inputs: Vec<String> = [(a, &a_operand), (b, &b_operand)]
            .into_iter()
            .filter(|(_, o)| matches!(o, Operand::Value))
            .map(|(name, _)| name.clone())
            .collect();
        let folded = match (&a_operand, &b_operand) {
            (Operand::Constant(_), Operand::Constant(_)) => return Err(self.error("both inputs are constants")),
            (Operand::Value, Operand::Constant(c)) => Some((c, false)),
            (Operand::Constant(c), Operand::Value) => Some((c, true)),
            (Operand::Value, Operand::Value) => None,
        }
        .filter(|(c, _)| c.dims.len() >= 3)
        .and_then(|(c, constant_first)| as_affine(kind, c, constant_first));
        Ok(match folded {
            Some((scale, shift)) => (Op::Affine { scale, shift }, inputs),
            None => (Op::Elementwise { kind, a: a_operand, b: b_operand }, inputs),
        })
    }

    fn pad(&self) -> Result<Op, OnnxError> {
        if matches!(self.attribute("mode"), Some(Attribute::String(s)) if s != "constant") {
            return Err(self.error("only constant padding is supported"));
        }
        let given = self.node.inputs.get(1).and_then(|n| self.constants.get(n.as_str())).map(|t| &t.values);
        let pads = match given {
            Some(TensorValues::Int(p)) => p.clone(),
            _ => self.ints("pads").ok_or_else(|| self.error("pads must be a constant"))?,
        };
        let pads: [usize; 8] = pads
            .iter()
            .map(|&p| match p {
                0..=MAX_WINDOW => Ok(p as usize),
                ..0 => Err(self.error("negative pads (cropping) are not supported")),
                _ => Err(self.error(format!("pad {p} is over {MAX_WINDOW}"))),
            })
            .collect::<Result<Vec<_>, _>>()?
            .try_into()
            .map_err(|_| self.error("pads for a rank-4 tensor must have 8 entries"))?;
        let value =
            self.node.inputs.get(2).and_then(|n| self.float_constant(n)).and_then(|c| c.values.first().copied());
        Ok(Op::Pad { pads, value: value.unwrap_or(0.0) })
    }

    fn pool_window(&self) -> Result<Window, OnnxError> {
        Ok(Window {
            kernel: self.window_attribute("kernel_shape", 1, 1)?,
            stride: self.window_attribute("strides", 1, 1)?,
            dilation: [1, 1],
            pads: self.window_attribute("pads", 0, 0)?,
            ceil: self.int("ceil_mode", 0) != 0,
        })
    }

    fn flatten(&self) -> Result<Op, OnnxError> {
        if self.int("axis", 1) != 1 {
            return Err(self.error("only axis 1 is supported"));
        }
        Ok(Op::Flatten)
    }

    fn gemm(&self) -> Result<Op, OnnxError> {
        if self.int("transA", 0) != 0 {
            return Err(self.error("transA is not supported"));
        }
        let b = self.input_constant(1, "B")?;
        let [r, c] = b.dims[..] else { return Err(self.error(format!("B of shape {:?}", b.dims))) };
        let b = if self.int("transB", 0) != 0 {
            let mut t = vec![0f32; r * c];
            for i in 0..r {
                for j in 0..c {
                    t[j * r + i] = b.values[i * c + j];
                }
            }
            Constant { dims: vec![c, r], values: t }
        } else {
            b
        };
        let out_dim = b.dims[1];
        let c = self.optional_constant(2, "C")?.map(|c| c.values);
        if let Some(c) = &c
            && c.len() != out_dim
        {
            return Err(self.error(format!("C has {} values for {out_dim} outputs", c.len())));
        }
        Ok(Op::Gemm { b, c, alpha: self.float("alpha", 1.0), beta: self.float("beta", 1.0) })
    }

    fn softmax(&self) -> Result<Op, OnnxError> {
        if !matches!(self.int("axis", -1), 1 | -1) {
            return Err(self.error("only the class axis is supported"));
        }
        Ok(Op::Softmax)
    }
}
