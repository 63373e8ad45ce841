//! The part of ONNX's protobuf schema a convolutional classifier needs, decoded by hand: a model's
//! graph, its nodes with their attributes, and its initializers (the weights).
//!
//! Field numbers are those of `onnx.proto` (ModelProto.graph = 7; GraphProto.node = 1,
//! initializer = 5, input = 11, output = 12; NodeProto.input = 1, output = 2, op_type = 4,
//! attribute = 5; AttributeProto.name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8;
//! TensorProto.dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8, raw_data = 9).

use crate::error::OnnxError;

fn format_error(model: &str, defect: impl Into<String>) -> OnnxError {
    OnnxError::Protobuf { model: model.to_string(), defect: defect.into() }
}

/// A decoded tensor (floats or integers, as ONNX stores them).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorProto {
    pub name: String,
    pub dims: Vec<usize>,
    pub values: TensorValues,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TensorValues {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Attribute {
    Float(f32),
    Int(i64),
    String(String),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Tensor(TensorProto),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NodeProto {
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<(String, Attribute)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct GraphProto {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    source: &'a str,
}

enum Field<'a> {
    Varint(u64),
    Fixed32([u8; 4]),
    Fixed64,
    Bytes(&'a [u8]),
}

impl<'a> Cursor<'a> {
    fn err(&self, what: &str) -> OnnxError {
        format_error(self.source, format!("damaged ONNX protobuf at byte {}: {what}", self.pos))
    }

    fn varint(&mut self) -> Result<u64, OnnxError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or_else(|| self.err("truncated varint"))?;
            self.pos += 1;
            value |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], OnnxError> {
        if self.bytes.len() - self.pos < n {
            return Err(self.err("truncated field"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next (field number, value), or `None` at the end.
    fn field(&mut self) -> Result<Option<(u64, Field<'a>)>, OnnxError> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Fixed64
            }
            2 => {
                let n = self.varint()? as usize;
                Field::Bytes(self.take(n)?)
            }
            5 => Field::Fixed32(self.take(4)?.try_into().expect("4 bytes")),
            other => return Err(self.err(&format!("unsupported wire type {other}"))),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn cursor<'a>(bytes: &'a [u8], source: &'a str) -> Cursor<'a> {
    Cursor { bytes, pos: 0, source }
}

fn string(bytes: &[u8], source: &str) -> Result<String, OnnxError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format_error(source, "ONNX string is not UTF-8"))
}

/// Repeated varints, packed or not.
fn push_varints(field: Field, out: &mut Vec<i64>, source: &str) -> Result<(), OnnxError> {
    match field {
        Field::Varint(v) => out.push(v as i64),
        Field::Bytes(b) => {
            let mut c = cursor(b, source);
            while c.pos < b.len() {
                out.push(c.varint()? as i64);
            }
        }
        _ => return Err(format_error(source, "ONNX integer list of the wrong wire type")),
    }
    Ok(())
}

/// Repeated floats, packed or not.
fn push_floats(field: Field, out: &mut Vec<f32>, source: &str) -> Result<(), OnnxError> {
    match field {
        Field::Fixed32(b) => out.push(f32::from_le_bytes(b)),
        Field::Bytes(b) if b.len() % 4 == 0 => {
            out.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())))
        }
        _ => return Err(format_error(source, "ONNX float list of the wrong wire type")),
    }
    Ok(())
}

/// Reads a model file's graph.
pub(crate) fn parse_model(bytes: &[u8], source: &str) -> Result<GraphProto, OnnxError> {
    let mut c = cursor(bytes, source);
    let mut graph = None;
    while let Some((number, field)) = c.field()? {
        if let (7, Field::Bytes(b)) = (number, field) {
            graph = Some(parse_graph(b, source)?);
        }
    }
    graph.ok_or_else(|| format_error(source, "not an ONNX model (no graph)"))
}

fn parse_graph(bytes: &[u8], source: &str) -> Result<GraphProto, OnnxError> {
    let mut c = cursor(bytes, source);
    let mut g = GraphProto::default();
    while let Some((number, field)) = c.field()? {
        match (number, field) {
            (1, Field::Bytes(b)) => g.nodes.push(parse_node(b, source)?),
            (5, Field::Bytes(b)) => g.initializers.push(parse_tensor(b, source)?),
            (11, Field::Bytes(b)) => g.inputs.push(value_info_name(b, source)?),
            (12, Field::Bytes(b)) => g.outputs.push(value_info_name(b, source)?),
            _ => {}
        }
    }
    Ok(g)
}

fn value_info_name(bytes: &[u8], source: &str) -> Result<String, OnnxError> {
    let mut c = cursor(bytes, source);
    while let Some((number, field)) = c.field()? {
        if let (1, Field::Bytes(b)) = (number, field) {
            return string(b, source);
        }
    }
    Err(format_error(source, "graph input or output without a name"))
}

fn parse_node(bytes: &[u8], source: &str) -> Result<NodeProto, OnnxError> {
    let mut c = cursor(bytes, source);
    let mut node = NodeProto { op_type: String::new(), inputs: vec![], outputs: vec![], attributes: vec![] };
    while let Some((number, field)) = c.field()? {
        match (number, field) {
            (1, Field::Bytes(b)) => node.inputs.push(string(b, source)?),
            (2, Field::Bytes(b)) => node.outputs.push(string(b, source)?),
            (4, Field::Bytes(b)) => node.op_type = string(b, source)?,
            (5, Field::Bytes(b)) => node.attributes.push(parse_attribute(b, source)?),
            _ => {}
        }
    }
    Ok(node)
}

fn parse_attribute(bytes: &[u8], source: &str) -> Result<(String, Attribute), OnnxError> {
    let mut c = cursor(bytes, source);
    let (mut name, mut value) = (String::new(), None);
    let (mut floats, mut ints) = (Vec::new(), Vec::new());
    let mut kind = 0;
    while let Some((number, field)) = c.field()? {
        match (number, field) {
            (1, Field::Bytes(b)) => name = string(b, source)?,
            (2, Field::Fixed32(b)) => value = Some(Attribute::Float(f32::from_le_bytes(b))),
            (3, Field::Varint(v)) => value = Some(Attribute::Int(v as i64)),
            (4, Field::Bytes(b)) => value = Some(Attribute::String(String::from_utf8_lossy(b).into_owned())),
            (5, Field::Bytes(b)) => value = Some(Attribute::Tensor(parse_tensor(b, source)?)),
            (7, f) => push_floats(f, &mut floats, source)?,
            (8, f) => push_varints(f, &mut ints, source)?,
            (20, Field::Varint(v)) => kind = v,
            _ => {}
        }
    }
    // AttributeType: FLOATS = 6, INTS = 7 (an empty list has no elements to tell).
    let value = match (value, kind) {
        (Some(v), _) => v,
        (None, 6) => Attribute::Floats(floats),
        (None, _) if !floats.is_empty() => Attribute::Floats(floats),
        (None, _) => Attribute::Ints(ints),
    };
    Ok((name, value))
}

fn parse_tensor(bytes: &[u8], source: &str) -> Result<TensorProto, OnnxError> {
    let mut c = cursor(bytes, source);
    let (mut name, mut dims, mut data_type) = (String::new(), Vec::new(), 0);
    let (mut floats, mut ints, mut raw) = (Vec::new(), Vec::new(), None);
    while let Some((number, field)) = c.field()? {
        match (number, field) {
            (1, f) => push_varints(f, &mut dims, source)?,
            (2, Field::Varint(v)) => data_type = v,
            (4, f) => push_floats(f, &mut floats, source)?,
            (7, f) => push_varints(f, &mut ints, source)?,
            (8, Field::Bytes(b)) => name = string(b, source)?,
            (9, Field::Bytes(b)) => raw = Some(b),
            _ => {}
        }
    }
    let dims: Vec<usize> = dims.into_iter().map(|d| d.max(0) as usize).collect();
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    // TensorProto.DataType: FLOAT = 1, INT64 = 7.
    let values = match (data_type, raw) {
        (1, Some(b)) => {
            TensorValues::Float(b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
        }
        (1, None) => TensorValues::Float(floats),
        (7, Some(b)) => {
            TensorValues::Int(b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect())
        }
        (7, None) => TensorValues::Int(ints),
        (other, _) => {
            return Err(format_error(
                source,
                format!("tensor `{name}` has ONNX data type {other}: only float and int64 are read"),
            ));
        }
    };
    let len = match &values {
        TensorValues::Float(v) => v.len(),
        TensorValues::Int(v) => v.len(),
    };
    if Some(len) != count {
        return Err(format_error(source, format!("tensor `{name}` of shape {dims:?} holds {len} values")));
    }
    Ok(TensorProto { name, dims, values })
}
