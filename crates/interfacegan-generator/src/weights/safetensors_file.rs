//! safetensors files, through the `safetensors` crate.

use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::WeightTensor;
use super::pickle::{StorageRef, StorageType, TensorRef};
use super::storage::{Catalogue, Location, Storage, range_in};
use crate::error::{GeneratorError, format_error};

/// An 8-byte little-endian header length followed by a JSON object.
pub(super) fn looks_like(bytes: &[u8]) -> bool {
    bytes.len() >= 10 && bytes[8] == b'{'
}

pub(super) fn read(bytes: &[u8], source: &str) -> Result<Catalogue, GeneratorError> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| format_error(source, format!("damaged safetensors: {e}")))?;
    let mut catalogue = Catalogue::default();
    for (name, view) in file.tensors() {
        let dtype = match view.dtype() {
            Dtype::F32 => StorageType::F32,
            Dtype::F64 => StorageType::F64,
            Dtype::F16 => StorageType::F16,
            Dtype::BF16 => StorageType::BF16,
            Dtype::I64 => StorageType::I64,
            Dtype::I32 => StorageType::I32,
            Dtype::I16 => StorageType::I16,
            Dtype::I8 => StorageType::I8,
            Dtype::U8 => StorageType::U8,
            Dtype::BOOL => StorageType::Bool,
            other => return Err(format_error(source, format!("tensor `{name}` has unsupported type {other:?}"))),
        };
        let location = Location::InPlace { range: range_in(bytes, view.data()), crc32: None };
        let index = catalogue.add_storage(Storage::new(dtype, true, location), bytes.len(), source)?;
        let shape = view.shape().to_vec();
        let mut stride = vec![1usize; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1].saturating_mul(shape[d + 1]);
        }
        let storage = StorageRef { dtype, key: name.clone(), numel: 0, inline: None };
        catalogue.add_view(name, &TensorRef { storage, offset: 0, shape, stride }, index, source)?;
    }
    Ok(catalogue)
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
