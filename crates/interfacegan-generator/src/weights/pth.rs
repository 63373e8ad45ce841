//! PyTorch checkpoints: the zip format (`torch.save` since 1.6) and the legacy stream format the
//! official InterFaceGAN weights use.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use super::pickle::{self, MAX_DEPTH, Node, Pickle, StorageType, TensorRef, Value};
use super::{FileDtype, WeightTensor};
use crate::error::{GeneratorError, format_error};

/// Reads a zip checkpoint: `<folder>/data.pkl` plus one file per storage, `<folder>/data/<key>`.
/// The most a zip entry may inflate: PyTorch stores its entries uncompressed (1:1); zeros deflate
/// about 1000:1, so a bomb needs a far larger ratio than real weights ever have.
pub const MAX_COMPRESSION_RATIO: usize = 100;

pub(super) fn read_zip(bytes: &[u8], source: &str) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format_error(source, format!("damaged zip checkpoint: {e}")))?;
    let pickle_name = archive
        .file_names()
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .map(str::to_string)
        .ok_or_else(|| format_error(source, "zip file without a `<folder>/data.pkl`: not a PyTorch checkpoint"))?;
    let folder = pickle_name.trim_end_matches("data.pkl").to_string();
    // Entries are read only up to the size their record declares, and only when that size is at most
    // `limit`: a header that claims more, or a stream that inflates further, is an error.
    let mut read_entry = |name: &str, limit: usize| -> Result<Option<Vec<u8>>, GeneratorError> {
        let entry = match archive.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(format_error(source, format!("damaged zip entry {name}: {e}"))),
        };
        let declared = usize::try_from(entry.size()).unwrap_or(usize::MAX);
        if declared > limit {
            return Err(format_error(source, format!("zip entry {name} declares {declared} bytes, expected {limit}")));
        }
        let packed = usize::try_from(entry.compressed_size()).unwrap_or(usize::MAX);
        if declared > packed.saturating_mul(MAX_COMPRESSION_RATIO).saturating_add(1 << 16) {
            return Err(format_error(
                source,
                format!(
                    "zip entry {name} inflates {packed} bytes to {declared}, over the limit of {MAX_COMPRESSION_RATIO}:1 \
                     (PyTorch stores tensors uncompressed)"
                ),
            ));
        }
        let mut out = Vec::with_capacity(declared);
        entry
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format_error(source, format!("damaged zip entry {name}: {e}")))?;
        if out.len() > declared {
            return Err(format_error(source, format!("zip entry {name} inflates past its declared size")));
        }
        Ok(Some(out))
    };
    // The pickle itself is small next to the tensors it describes.
    let pkl = read_entry(&pickle_name, bytes.len().saturating_mul(4).max(1 << 20))?.expect("listed above");
    let little_endian = match read_entry(&format!("{folder}byteorder"), 16)? {
        None => true,
        Some(b) if b.as_slice() == b"little" => true,
        Some(b) if b.as_slice() == b"big" => false,
        Some(_) => return Err(format_error(source, "unknown byte order in the checkpoint")),
    };
    let (root, _) = pickle::parse(&pkl, source)?;
    let tensors = tensors_under(&root, root.root, source)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    for (_, tensor) in &tensors {
        let storage = &tensor.storage;
        if !storages.contains_key(&storage.key) {
            let expected = storage.numel.saturating_mul(storage.dtype.size());
            let data = read_entry(&format!("{folder}data/{}", storage.key), expected)?.ok_or_else(|| {
                format_error(source, format!("storage `data/{}` is missing from the archive", storage.key))
            })?;
            storages.insert(storage.key.clone(), data);
        }
    }
    materialise_all(tensors, source, |t| Some((storages.get(&t.storage.key)?.as_slice(), little_endian)))
}

/// Reads the legacy stream: magic, protocol, system info, the main pickle, the storage keys, then
/// for each key an int64 element count and the raw elements.
pub(super) fn read_legacy(bytes: &[u8], source: &str) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    let header = pickle::legacy_header(bytes, source)?;
    let tensors = tensors_under(&header.root, header.root.root, source)?;
    let types: HashMap<&str, StorageType> =
        tensors.iter().map(|(_, t)| (t.storage.key.as_str(), t.storage.dtype)).collect();
    let mut storages: HashMap<&str, &[u8]> = HashMap::new();
    let mut pos = header.data_start;
    for &key in &header.keys {
        let dtype = types.get(key).copied().unwrap_or(StorageType::F32);
        let (_, data, next) = header
            .storage_at(bytes, pos, dtype.size())
            .ok_or_else(|| format_error(source, format!("truncated at storage {key}")))?;
        storages.insert(key, data);
        pos = next;
    }
    let little_endian = header.little_endian;
    materialise_all(tensors, source, |t| Some((*storages.get(t.storage.key.as_str())?, little_endian)))
}

/// The tensors in nested dicts under `value`, with dotted keys (`netG.main.0.weight`).
pub(super) fn tensors_under<'p, 'a>(
    pickle: &'p Pickle<'a>,
    value: Value<'a>,
    source: &str,
) -> Result<Vec<(String, &'p TensorRef<'a>)>, GeneratorError> {
    let mut out = Vec::new();
    let mut budget = pickle.walk_budget();
    let mut pending = vec![(String::new(), value, 0usize)];
    while let Some((prefix, value, depth)) = pending.pop() {
        budget.spend(source)?;
        if depth > MAX_DEPTH {
            return Err(format_error(source, format!("containers nested deeper than {MAX_DEPTH} levels")));
        }
        match pickle.node(value) {
            Some(Node::Tensor(t)) => out.push((prefix, t)),
            Some(Node::Dict(items)) => {
                for (k, v) in items.iter().rev() {
                    let name = match k {
                        Value::Str(s) => s.to_string(),
                        Value::Int(i) => i.to_string(),
                        _ => continue,
                    };
                    let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
                    pending.push((key, *v, depth + 1));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Materialises each tensor from the bytes `storage` finds for it (and their byte order).
pub(super) fn materialise_all<'s, 'a>(
    tensors: Vec<(String, &TensorRef<'a>)>,
    source: &str,
    storage: impl Fn(&TensorRef<'a>) -> Option<(&'s [u8], bool)>,
) -> Result<BTreeMap<String, WeightTensor>, GeneratorError> {
    let mut out = BTreeMap::new();
    for (key, t) in tensors {
        let (raw, little_endian) = storage(t)
            .ok_or_else(|| format_error(source, format!("tensor `{key}`: storage {} is missing", t.storage.key)))?;
        let tensor = materialise(t, raw, little_endian, source, &key)?;
        out.insert(key, tensor);
    }
    if out.is_empty() {
        return Err(format_error(source, "the checkpoint holds no tensors"));
    }
    Ok(out)
}

/// One tensor's values as f32, row-major, from its storage's bytes. A view of more elements than
/// its storage holds (stride 0, overlapping strides) is refused: it could claim far more memory than
/// the file holds, and no weight file needs one.
fn materialise(
    t: &TensorRef,
    raw: &[u8],
    little_endian: bool,
    source: &str,
    key: &str,
) -> Result<WeightTensor, GeneratorError> {
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
        if numel > available {
            return Err(format_error(
                source,
                format!(
                    "tensor `{key}`: {numel} elements in a storage of {available}: repeated (strided) views are refused"
                ),
            ));
        }
    }
    let element = |i: usize| -> f32 {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(&raw[i * size..(i + 1) * size]);
        if !little_endian {
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
