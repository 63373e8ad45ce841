//! PyTorch checkpoints: the zip format (`torch.save` since 1.6) and the legacy stream format the
//! official InterFaceGAN weights use.

use std::collections::HashMap;
use std::io::Read;

use super::pickle::{self, MAX_DEPTH, Node, Pickle, StorageType, TensorRef, Value};
use super::storage::{Catalogue, Location, Storage, range_in};
use crate::error::{GeneratorError, format_error};

/// The most a zip entry may inflate: PyTorch stores its entries uncompressed (1:1); zeros deflate
/// about 1000:1, so a bomb needs a far larger ratio than real weights ever have.
pub const MAX_COMPRESSION_RATIO: usize = 100;

type Archive<'b> = zip::ZipArchive<std::io::Cursor<&'b [u8]>>;

/// Catalogues a zip checkpoint: `<folder>/data.pkl` plus one entry per storage, `<folder>/data/<key>`.
pub(super) fn read_zip(bytes: &[u8], source: &str) -> Result<Catalogue, GeneratorError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format_error(source, format!("damaged zip checkpoint: {e}")))?;
    let pickle_name = archive
        .file_names()
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .map(str::to_string)
        .ok_or_else(|| format_error(source, "zip file without a `<folder>/data.pkl`: not a PyTorch checkpoint"))?;
    let folder = pickle_name.trim_end_matches("data.pkl").to_string();
    // The pickle itself is small next to the tensors it describes.
    let pkl = read_small_entry(&mut archive, &pickle_name, bytes.len().saturating_mul(4).max(1 << 20), source)?
        .expect("listed above");
    let little_endian = match read_small_entry(&mut archive, &format!("{folder}byteorder"), 16, source)? {
        None => true,
        Some(b) if b.as_slice() == b"little" => true,
        Some(b) if b.as_slice() == b"big" => false,
        Some(_) => return Err(format_error(source, "unknown byte order in the checkpoint")),
    };
    let (root, _) = pickle::parse(&pkl, source)?;
    let tensors = tensors_under(&root, root.root, source)?;
    let mut catalogue = Catalogue::default();
    let mut storages: HashMap<&str, usize> = HashMap::new();
    for (key, tensor) in tensors {
        let storage = &tensor.storage;
        let index = match storages.get(storage.key.as_str()) {
            Some(&index) => index,
            None => {
                let name = format!("{folder}data/{}", storage.key);
                let expected = storage.numel.saturating_mul(storage.dtype.size());
                let location = locate_entry(&mut archive, &name, expected, source)?;
                let index =
                    catalogue.add_storage(Storage::new(storage.dtype, little_endian, location), bytes.len(), source)?;
                storages.insert(&storage.key, index);
                index
            }
        };
        catalogue.add_view(key, tensor, index, source)?;
    }
    Ok(catalogue)
}

/// Opens zip entry `name` and checks its declared size against `limit` and the compression limit.
fn open_entry<'z, 'b>(
    archive: &'z mut Archive<'b>,
    name: &str,
    limit: usize,
    source: &str,
) -> Result<Option<zip::read::ZipFile<'z, std::io::Cursor<&'b [u8]>>>, GeneratorError> {
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
    Ok(Some(entry))
}

/// Reads a small zip entry (the pickle, the byte order) whole, up to the size its record declares,
/// which must be at most `limit`; `None` when it is absent.
fn read_small_entry(
    archive: &mut Archive,
    name: &str,
    limit: usize,
    source: &str,
) -> Result<Option<Vec<u8>>, GeneratorError> {
    let Some(entry) = open_entry(archive, name, limit, source)? else { return Ok(None) };
    let declared = usize::try_from(entry.size()).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(declared);
    entry
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format_error(source, format!("damaged zip entry {name}: {e}")))?;
    if out.len() > declared {
        return Err(format_error(source, format!("zip entry {name} inflates past its declared size")));
    }
    Ok(Some(out))
}

/// Where the storage entry `name` (at most `limit` bytes) lies in the file, read later on demand.
fn locate_entry(archive: &mut Archive, name: &str, limit: usize, source: &str) -> Result<Location, GeneratorError> {
    let entry = open_entry(archive, name, limit, source)?
        .ok_or_else(|| format_error(source, format!("storage `{name}` is missing from the archive")))?;
    let start = usize::try_from(entry.data_start()).unwrap_or(usize::MAX);
    let size = usize::try_from(entry.size()).unwrap_or(usize::MAX);
    let packed = usize::try_from(entry.compressed_size()).unwrap_or(usize::MAX);
    let range = start..start.saturating_add(packed);
    if entry.encrypted() {
        return Err(format_error(source, format!("zip entry {name} is encrypted")));
    }
    match entry.compression() {
        zip::CompressionMethod::Stored if packed == size => Ok(Location::InPlace { range, crc32: Some(entry.crc32()) }),
        zip::CompressionMethod::Deflated => Ok(Location::Deflated { range, size, crc32: entry.crc32() }),
        method => Err(format_error(
            source,
            format!(
                "zip entry {name} is stored with {method} ({packed} of {size} bytes); PyTorch stores or deflates tensors"
            ),
        )),
    }
}

/// Reads the legacy stream: magic, protocol, system info, the main pickle, the storage keys, then
/// for each key an int64 element count and the raw elements.
pub(super) fn read_legacy(bytes: &[u8], source: &str) -> Result<Catalogue, GeneratorError> {
    let header = pickle::legacy_header(bytes, source)?;
    let tensors = tensors_under(&header.root, header.root.root, source)?;
    let types: HashMap<&str, StorageType> =
        tensors.iter().map(|(_, t)| (t.storage.key.as_str(), t.storage.dtype)).collect();
    let mut catalogue = Catalogue::default();
    let mut storages: HashMap<&str, usize> = HashMap::new();
    let mut pos = header.data_start;
    for &key in &header.keys {
        let dtype = types.get(key).copied().unwrap_or(StorageType::F32);
        let (_, data, next) = header
            .storage_at(bytes, pos, dtype.size())
            .ok_or_else(|| format_error(source, format!("truncated at storage {key}")))?;
        if types.contains_key(key) {
            let location = Location::InPlace { range: range_in(bytes, data), crc32: None };
            let index =
                catalogue.add_storage(Storage::new(dtype, header.little_endian, location), bytes.len(), source)?;
            storages.insert(key, index);
        }
        pos = next;
    }
    for (key, tensor) in tensors {
        let index = *storages.get(tensor.storage.key.as_str()).ok_or_else(|| {
            format_error(source, format!("tensor `{key}`: storage {} is missing", tensor.storage.key))
        })?;
        catalogue.add_view(key, tensor, index, source)?;
    }
    Ok(catalogue)
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
