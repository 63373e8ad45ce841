//! PyTorch checkpoints: the zip format (`torch.save` since 1.6) and the legacy stream format the
//! official InterFaceGAN weights use.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use super::pickle::{self, StorageType, TensorRef, Value};
use super::{FileDtype, WeightTensor};
use crate::error::{GeneratorError, format_error};

/// Raw bytes of each storage, by key, and their byte order.
struct Storages {
    bytes: HashMap<String, Vec<u8>>,
    little_endian: bool,
}

/// Reads a zip checkpoint: `<folder>/data.pkl` plus one file per storage, `<folder>/data/<key>`.
pub(super) fn read_zip(bytes: &[u8], source: &str) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format_error(source, format!("damaged zip checkpoint: {e}")))?;
    let pickle_name = archive
        .file_names()
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .map(str::to_string)
        .ok_or_else(|| format_error(source, "zip file without a `<folder>/data.pkl`: not a PyTorch checkpoint"))?;
    let folder = pickle_name.trim_end_matches("data.pkl").to_string();
    let mut read_entry = |name: &str| -> Result<Option<Vec<u8>>, GeneratorError> {
        let Ok(mut entry) = archive.by_name(name) else { return Ok(None) };
        let mut out = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut out).map_err(|e| format_error(source, format!("damaged zip entry {name}: {e}")))?;
        Ok(Some(out))
    };
    let pkl = read_entry(&pickle_name)?.expect("listed above");
    let little_endian = match read_entry(&format!("{folder}byteorder"))? {
        None => true,
        Some(b) if b.as_slice() == b"little" => true,
        Some(b) if b.as_slice() == b"big" => false,
        Some(_) => return Err(format_error(source, "unknown byte order in the checkpoint")),
    };
    let (root, _) = pickle::parse(&pkl, source)?;
    let mut storages = Storages { bytes: HashMap::new(), little_endian };
    for tensor in tensor_refs(&root) {
        let key = &tensor.storage.key;
        if !storages.bytes.contains_key(key) {
            let data = read_entry(&format!("{folder}data/{key}"))?
                .ok_or_else(|| format_error(source, format!("storage `data/{key}` is missing from the archive")))?;
            storages.bytes.insert(key.clone(), data);
        }
    }
    collect(&root, &storages, source)
}

/// Reads the legacy stream: magic, protocol, system info, the main pickle, the storage keys, then
/// for each key an int64 element count and the raw elements.
pub(super) fn read_legacy(bytes: &[u8], source: &str) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    const MAGIC: i64 = 0x1950a86a20f9469cfc6cu128 as i64;
    let mut pos = 0;
    let next = |pos: &mut usize| -> Result<Value, GeneratorError> {
        let (value, used) = pickle::parse(&bytes[*pos..], source)?;
        *pos += used;
        Ok(value)
    };
    let magic = next(&mut pos)?;
    if magic != Value::Int(MAGIC) {
        return Err(format_error(
            source,
            "a pickle, but not a PyTorch checkpoint (no legacy magic number); whole pickled Python objects are not read",
        ));
    }
    match next(&mut pos)? {
        Value::Int(1001) => {}
        other => return Err(format_error(source, format!("unsupported legacy protocol version {other:?}"))),
    }
    let little_endian = match next(&mut pos)? {
        Value::Dict(items) => {
            !items.iter().any(|(k, v)| *k == Value::Str("little_endian".into()) && *v == Value::Bool(false))
        }
        _ => true,
    };
    let root = next(&mut pos)?;
    let keys = match next(&mut pos)? {
        Value::List(keys) => keys,
        _ => return Err(format_error(source, "legacy checkpoint without its list of storage keys")),
    };
    let types: HashMap<String, StorageType> =
        tensor_refs(&root).into_iter().map(|t| (t.storage.key.clone(), t.storage.dtype)).collect();
    let mut storages = Storages { bytes: HashMap::new(), little_endian };
    for key in keys {
        let Value::Str(key) = key else { return Err(format_error(source, "storage key is not a string")) };
        let dtype = types.get(&key).copied().unwrap_or(StorageType::F32);
        let count_bytes =
            bytes.get(pos..pos + 8).ok_or_else(|| format_error(source, format!("truncated before storage {key}")))?;
        let raw_count: [u8; 8] = count_bytes.try_into().expect("8 bytes");
        let count = if little_endian { u64::from_le_bytes(raw_count) } else { u64::from_be_bytes(raw_count) } as usize;
        pos += 8;
        let len = count
            .checked_mul(dtype.size())
            .filter(|&len| len <= bytes.len() - pos)
            .ok_or_else(|| format_error(source, format!("truncated: storage {key} needs {count} elements")))?;
        storages.bytes.insert(key, bytes[pos..pos + len].to_vec());
        pos += len;
    }
    collect(&root, &storages, source)
}

fn tensor_refs(value: &Value) -> Vec<&TensorRef> {
    let mut out = Vec::new();
    fn walk<'v>(value: &'v Value, out: &mut Vec<&'v TensorRef>) {
        match value {
            Value::Tensor(t) => out.push(t),
            Value::Dict(items) => items.iter().for_each(|(_, v)| walk(v, out)),
            Value::List(items) | Value::Tuple(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(value, &mut out);
    out
}

/// Flattens nested dicts of tensors to dotted keys and materialises each tensor.
fn collect(root: &Value, storages: &Storages, source: &str) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    let mut out = BTreeMap::new();
    fn walk(
        value: &Value,
        prefix: &str,
        storages: &Storages,
        source: &str,
        out: &mut BTreeMap<String, WeightTensor>,
    ) -> Result<(), GeneratorError> {
        match value {
            Value::Tensor(t) => {
                out.insert(prefix.to_string(), materialise(t, storages, source, prefix)?);
            }
            Value::Dict(items) => {
                for (k, v) in items {
                    let name = match k {
                        Value::Str(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        _ => continue,
                    };
                    let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
                    walk(v, &key, storages, source, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(root, "", storages, source, &mut out)?;
    if out.is_empty() {
        return Err(format_error(source, "the checkpoint holds no tensors"));
    }
    Ok(out)
}

fn materialise(t: &TensorRef, storages: &Storages, source: &str, key: &str) -> Result<WeightTensor, GeneratorError> {
    let raw = storages
        .bytes
        .get(&t.storage.key)
        .ok_or_else(|| format_error(source, format!("tensor `{key}`: storage {} is missing", t.storage.key)))?;
    let size = t.storage.dtype.size();
    let available = raw.len() / size;
    // Shapes and strides come from the file: checked arithmetic, and the view must lie inside the storage.
    let too_big = || format_error(source, format!("tensor `{key}`: shape {:?} does not fit its storage", t.shape));
    let numel = t.shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n)).ok_or_else(too_big)?;
    if numel > 0 {
        let last = t
            .shape
            .iter()
            .zip(&t.stride)
            .try_fold(t.offset, |acc, (&n, &s)| (n - 1).checked_mul(s).and_then(|step| acc.checked_add(step)));
        if last.is_none_or(|last| last >= available) {
            return Err(too_big());
        }
    }
    let element = |i: usize| -> f32 {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(&raw[i * size..(i + 1) * size]);
        if !storages.little_endian {
            b[..size].reverse();
        }
        match t.storage.dtype {
            StorageType::F32 => f32::from_le_bytes(b[..4].try_into().unwrap()),
            StorageType::F64 => f64::from_le_bytes(b) as f32,
            StorageType::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
            StorageType::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
            StorageType::I64 => i64::from_le_bytes(b) as f32,
            StorageType::I32 => i32::from_le_bytes(b[..4].try_into().unwrap()) as f32,
            StorageType::I16 => i16::from_le_bytes([b[0], b[1]]) as f32,
            StorageType::I8 => b[0] as i8 as f32,
            StorageType::U8 | StorageType::Bool => b[0] as f32,
        }
    };
    let mut values = Vec::with_capacity(numel);
    let mut index = vec![0usize; t.shape.len()];
    for _ in 0..numel {
        let at = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        values.push(element(at));
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < t.shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    let dtype = match t.storage.dtype {
        StorageType::F32 => FileDtype::F32,
        StorageType::F64 => FileDtype::F64,
        StorageType::F16 => FileDtype::F16,
        StorageType::BF16 => FileDtype::BF16,
        _ => FileDtype::Integer,
    };
    Ok(WeightTensor { shape: t.shape.clone(), dtype, values })
}
