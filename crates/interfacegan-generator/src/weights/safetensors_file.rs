//! safetensors files, through the `safetensors` crate.

use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::{FileDtype, WeightTensor};
use crate::error::{GeneratorError, format_error};

/// An 8-byte little-endian header length followed by a JSON object.
pub(super) fn looks_like(bytes: &[u8]) -> bool {
    bytes.len() >= 10 && bytes[8] == b'{'
}

pub(super) fn read(bytes: &[u8], source: &str) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| format_error(source, format!("damaged safetensors: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, view) in file.tensors() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            Dtype::F64 => data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::F16 => data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => data.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::I64 => data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::I32 => data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::U8 | Dtype::BOOL => data.iter().map(|&b| b as f32).collect(),
            other => return Err(format_error(source, format!("tensor `{name}` has unsupported type {other:?}"))),
        };
        let dtype = match view.dtype() {
            Dtype::F32 => FileDtype::F32,
            Dtype::F64 => FileDtype::F64,
            Dtype::F16 => FileDtype::F16,
            Dtype::BF16 => FileDtype::BF16,
            _ => FileDtype::Integer,
        };
        out.insert(name, WeightTensor { shape: view.shape().to_vec(), dtype, values });
    }
    if out.is_empty() {
        return Err(format_error(source, "the safetensors file holds no tensors"));
    }
    Ok(out)
}

pub(super) fn write(tensors: &BTreeMap<String, WeightTensor>, source: &str) -> Result<Vec<u8>, GeneratorError> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.clone(), t.values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(k, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (k.clone(), v))
                .map_err(|e| format_error(source, format!("tensor `{k}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, None).map_err(|e| format_error(source, format!("cannot serialise: {e}")))
}
