//! Where a weight file's tensors are, and their decoding on demand.
//!
//! Readers catalogue a file without decoding it: for each storage its location in the file's bytes
//! (in place, or a deflated zip entry) and for each tensor a checked strided view into a storage.
//! A tensor is decoded only when a model takes it, so a checkpoint that also holds a discriminator
//! and optimiser states costs the generator's tensors, not the file's, and a storage no taken tensor
//! uses is never read, checked or inflated.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::{Deref, Range};
use std::sync::OnceLock;

use super::pickle::{StorageType, TensorRef};
use super::{FileDtype, WeightTensor};
use crate::error::{GeneratorError, format_error};

/// A weight file's bytes: memory-mapped from disk, owned, or compiled into the program.
pub(super) enum FileBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
    Static(&'static [u8]),
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::Owned(bytes) => bytes,
            Self::Static(bytes) => bytes,
        }
    }
}

/// Where a storage's bytes lie in the file.
#[derive(Clone, Debug)]
pub(super) enum Location {
    /// As they are, at `range`; `crc32` is the zip entry's checksum, checked on first use.
    InPlace { range: Range<usize>, crc32: Option<u32> },
    /// A deflated zip entry at `range` that inflates to `size` bytes with checksum `crc32`.
    Deflated { range: Range<usize>, size: usize, crc32: u32 },
}

/// One storage: its element type, byte order and location.
pub(super) struct Storage {
    dtype: StorageType,
    little_endian: bool,
    location: Location,
    /// The outcome of the first use: checked in place (`None`) or inflated (`Some`).
    ready: OnceLock<Result<Option<Vec<u8>>, String>>,
}

impl Storage {
    /// A storage; `location` must lie inside the file it is read from (checked by [`Catalogue::add_storage`]).
    pub fn new(dtype: StorageType, little_endian: bool, location: Location) -> Self {
        Self { dtype, little_endian, location, ready: OnceLock::new() }
    }

    /// Its size in bytes.
    fn byte_len(&self) -> usize {
        match &self.location {
            Location::InPlace { range, .. } => range.len(),
            Location::Deflated { size, .. } => *size,
        }
    }

    /// Its bytes, checked against the zip checksum (and inflated) on first use.
    fn bytes<'s>(&'s self, file: &'s [u8]) -> Result<&'s [u8], String> {
        let ready = self.ready.get_or_init(|| match &self.location {
            Location::InPlace { range, crc32 } => match crc32 {
                Some(crc) if crc32fast::hash(&file[range.clone()]) != *crc => {
                    Err("its zip checksum does not match".into())
                }
                _ => Ok(None),
            },
            Location::Deflated { range, size, crc32 } => inflate(&file[range.clone()], *size, *crc32).map(Some),
        });
        match ready {
            Ok(Some(inflated)) => Ok(inflated),
            Ok(None) => match &self.location {
                Location::InPlace { range, .. } => Ok(&file[range.clone()]),
                Location::Deflated { .. } => unreachable!("a deflated storage is inflated on first use"),
            },
            Err(reason) => Err(reason.clone()),
        }
    }
}

/// Inflates a deflate stream to exactly `size` bytes with checksum `crc32`, reading no further.
fn inflate(packed: &[u8], size: usize, crc32: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(size);
    flate2::read::DeflateDecoder::new(packed)
        .take(size as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("its deflated zip entry is damaged: {e}"))?;
    if out.len() != size {
        return Err(format!("its zip entry inflates to {} bytes, not the {size} it declares", out.len()));
    }
    if crc32fast::hash(&out) != crc32 {
        return Err("its zip checksum does not match".into());
    }
    Ok(out)
}

/// A tensor's values: decoded already, or a strided view into a storage.
#[derive(Clone, Debug)]
enum Values {
    Decoded(Vec<f32>),
    View { storage: usize, offset: usize, stride: Vec<usize> },
}

/// One catalogued tensor.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub shape: Vec<usize>,
    pub dtype: FileDtype,
    values: Values,
}

impl Entry {
    /// A tensor whose values are in memory already; `values` must hold `shape`'s element count.
    pub fn decoded(tensor: WeightTensor) -> Self {
        Self { shape: tensor.shape, dtype: tensor.dtype, values: Values::Decoded(tensor.values) }
    }
}

/// A file's storages and tensors, ready to decode on demand.
#[derive(Default)]
pub(super) struct Catalogue {
    pub entries: BTreeMap<String, Entry>,
    storages: Vec<Storage>,
}

impl Catalogue {
    /// Adds a storage after checking that its location lies inside `file_len` bytes; returns its index.
    pub fn add_storage(&mut self, storage: Storage, file_len: usize, source: &str) -> Result<usize, GeneratorError> {
        let range = match &storage.location {
            Location::InPlace { range, .. } | Location::Deflated { range, .. } => range,
        };
        if range.start > range.end || range.end > file_len {
            return Err(format_error(source, format!("a storage at bytes {range:?} lies outside the file")));
        }
        self.storages.push(storage);
        Ok(self.storages.len() - 1)
    }

    /// Catalogues the view `t` of storage `storage` as tensor `key`. A view must lie inside its
    /// storage and may not repeat elements (stride 0, overlapping strides): it could claim far more
    /// memory than the file holds, and no weight file needs one.
    pub fn add_view(&mut self, key: String, t: &TensorRef, storage: usize, source: &str) -> Result<(), GeneratorError> {
        let store = &self.storages[storage];
        let available = store.byte_len() / store.dtype.size();
        let too_big = || format_error(source, format!("tensor `{key}`: shape {:?} does not fit its storage", t.shape));
        if t.shape.len() != t.stride.len() {
            return Err(too_big());
        }
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
        let dtype = store.dtype.file_dtype();
        let values = Values::View { storage, offset: t.offset, stride: t.stride.clone() };
        self.entries.insert(key, Entry { shape: t.shape.clone(), dtype, values });
        Ok(())
    }

    /// Decodes `entry` (a tensor of this catalogue) to f32 in row-major order.
    pub fn decode(&self, entry: &Entry, file: &[u8], source: &str, key: &str) -> Result<Vec<f32>, GeneratorError> {
        let (storage, offset, stride) = match &entry.values {
            Values::Decoded(values) => return Ok(values.clone()),
            Values::View { storage, offset, stride } => (&self.storages[*storage], *offset, stride),
        };
        let raw = storage.bytes(file).map_err(|reason| format_error(source, format!("tensor `{key}`: {reason}")))?;
        let size = storage.dtype.size();
        let element = |i: usize| decode_element(storage.dtype, &raw[i * size..(i + 1) * size], storage.little_endian);
        let numel = entry.shape.iter().product();
        let mut values = Vec::with_capacity(numel);
        let mut index = vec![0usize; entry.shape.len()];
        for _ in 0..numel {
            values.push(element(offset + index.iter().zip(stride).map(|(i, s)| i * s).sum::<usize>()));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < entry.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(values)
    }
}

/// One element of type `dtype` from its bytes, as f32.
fn decode_element(dtype: StorageType, bytes: &[u8], little_endian: bool) -> f32 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    if !little_endian {
        b[..bytes.len()].reverse();
    }
    match dtype {
        StorageType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        StorageType::F64 => f64::from_le_bytes(b) as f32,
        StorageType::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
        StorageType::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        StorageType::I64 => i64::from_le_bytes(b) as f32,
        StorageType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
        StorageType::I16 => i16::from_le_bytes([b[0], b[1]]) as f32,
        StorageType::I8 => b[0] as i8 as f32,
        StorageType::U8 | StorageType::Bool => b[0] as f32,
    }
}

/// Where `part` (a slice of `file`) lies in `file`.
pub(super) fn range_in(file: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(file.as_ptr() as usize);
    debug_assert!(start <= file.len() && part.len() <= file.len() - start, "a slice outside its file");
    start..start + part.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::pickle::StorageRef;

    fn view(shape: &[usize], stride: &[usize], offset: usize) -> TensorRef<'static> {
        let storage = StorageRef { dtype: StorageType::F32, key: "0".into(), numel: 0, inline: None };
        TensorRef { storage, offset, shape: shape.to_vec(), stride: stride.to_vec() }
    }

    fn catalogue(file: &[u8], location: Location) -> Catalogue {
        let mut c = Catalogue::default();
        c.add_storage(Storage::new(StorageType::F32, true, location), file.len(), "t").unwrap();
        c
    }

    #[test]
    fn decodes_transposed_views_and_refuses_repeats() {
        let file: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let mut c = catalogue(&file, Location::InPlace { range: 0..24, crc32: None });
        c.add_view("t".into(), &view(&[3, 2], &[1, 3], 0), 0, "f").unwrap();
        let entry = c.entries["t"].clone();
        assert_eq!(c.decode(&entry, &file, "f", "t").unwrap(), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let err = c.add_view("r".into(), &view(&[1000, 1000], &[0, 0], 0), 0, "f").unwrap_err().to_string();
        assert!(err.contains("repeated"), "{err}");
        assert!(c.add_view("o".into(), &view(&[2, 3], &[3, 1], 1), 0, "f").is_err());
        assert!(c.add_view("w".into(), &view(&[usize::MAX, 2], &[1, 1], 0), 0, "f").is_err());
    }

    #[test]
    fn checks_checksums_and_inflation_on_first_use() {
        let plain: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let crc = crc32fast::hash(&plain);
        let mut packed = Vec::new();
        let mut encoder = flate2::write::DeflateEncoder::new(&mut packed, flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &plain).unwrap();
        encoder.finish().unwrap();
        let cases = [
            (plain.clone(), Location::InPlace { range: 0..8, crc32: Some(crc) }, None),
            (plain.clone(), Location::InPlace { range: 0..8, crc32: Some(crc ^ 1) }, Some("checksum")),
            (packed.clone(), Location::Deflated { range: 0..packed.len(), size: 8, crc32: crc }, None),
            (packed.clone(), Location::Deflated { range: 0..packed.len(), size: 8, crc32: !crc }, Some("checksum")),
            (packed.clone(), Location::Deflated { range: 0..packed.len(), size: 4, crc32: crc }, Some("inflates")),
        ];
        for (file, location, problem) in cases {
            let mut c = catalogue(&file, location.clone());
            c.add_view("t".into(), &view(&[1], &[1], 0), 0, "f").unwrap();
            let entry = c.entries["t"].clone();
            match (c.decode(&entry, &file, "f", "t"), problem) {
                (Ok(values), None) => assert_eq!(values, [1.5], "{location:?}"),
                (Err(e), Some(word)) => assert!(e.to_string().contains(word), "{location:?}: {e}"),
                (other, _) => panic!("{location:?}: {other:?}"),
            }
        }
    }
}
