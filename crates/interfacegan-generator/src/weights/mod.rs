//! Weight files: PyTorch `.pth` (zip and the legacy pre-1.6 format), NVIDIA network pickles
//! (`.pkl`) and safetensors, catalogued as one flat map of named tensors decoded to float32 on
//! demand (plus, for network pickles, each module's class and plain attributes).
//!
//! One reader serves every model: a model asks for tensors by state-dict key and shape through a
//! [`TensorTaker`], and every missing, mis-shaped or left-over tensor is an error that names the
//! key. burn-store's readers were the first candidate; why we read the files ourselves is in
//! docs/generator.md (0-d entries, problems reported as lists, the legacy format unverified).

mod network_pickle;
mod pickle;
mod pth;
mod safetensors_file;
mod storage;

pub use pth::MAX_COMPRESSION_RATIO;
use storage::{Catalogue, Entry, FileBytes};

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{GeneratorError, format_error};

/// The element type a tensor had in its file (values are held as `f32` whatever it was).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileDtype {
    /// 32-bit float.
    F32,
    /// 64-bit float (rounded to f32).
    F64,
    /// IEEE half (widened exactly).
    F16,
    /// bfloat16 (widened exactly).
    BF16,
    /// Any integer or boolean type (BatchNorm's `num_batches_tracked`, say).
    Integer,
}

/// One tensor of a weight file.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightTensor {
    /// Its shape (empty for a 0-d tensor).
    pub shape: Vec<usize>,
    /// Its type in the file.
    pub dtype: FileDtype,
    /// Its values in row-major order.
    pub values: Vec<f32>,
}

/// One module of an NVIDIA network pickle: its class name and its plain attributes (numbers,
/// strings, booleans, `None` as null, lists; `_init_args` and `_init_kwargs` included), never its code.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleRecord {
    /// The class name (`SynthesisBlock`, `MappingNetwork`, ...).
    pub class_name: String,
    /// The module's `__dict__` entries that are plain values.
    pub attrs: serde_json::Map<String, serde_json::Value>,
}

/// All tensors of a weight file, by their (dotted) state-dict key.
///
/// The file is catalogued, not decoded: shapes and types are known at once, values are decoded
/// when taken ([`TensorTaker::take`], [`Weights::tensor`]), so memory follows the tensors a model
/// uses, not the file's size. Files are memory-mapped; like any map, one truncated by another
/// process while it is read faults.
pub struct Weights {
    catalogue: Catalogue,
    file: FileBytes,
    modules: BTreeMap<String, ModuleRecord>,
    source: String,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weights").field("source", &self.source).field("tensors", &self.len()).finish_non_exhaustive()
    }
}

impl Weights {
    /// Reads a `.pth`/`.pt`/`.tar` PyTorch checkpoint (zip or legacy), an NVIDIA network pickle
    /// (`.pkl`: its `G_ema`) or a `.safetensors` file; the format is recognised from the content,
    /// not the name.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, GeneratorError> {
        let path = path.as_ref();
        let io = |source| GeneratorError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(format_error(&path.display().to_string(), "not a regular file"));
        }
        // SAFETY: the map is read-only and never written through; a file truncated underneath us
        // by another process would fault, the documented hazard of any memory map.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::read(FileBytes::Mapped(map), &path.display().to_string())
    }

    /// Reads weights from bytes in any of the supported formats (copied); `source` names them in errors.
    pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Self, GeneratorError> {
        Self::read(FileBytes::Owned(bytes.to_vec()), source)
    }

    /// Reads weights from bytes the caller owns, without copying them; `source` names them in errors.
    pub fn from_vec(bytes: Vec<u8>, source: &str) -> Result<Self, GeneratorError> {
        Self::read(FileBytes::Owned(bytes), source)
    }

    /// Reads weights compiled into the program, without copying them.
    pub fn from_static(bytes: &'static [u8], source: &str) -> Result<Self, GeneratorError> {
        Self::read(FileBytes::Static(bytes), source)
    }

    fn read(file: FileBytes, source: &str) -> Result<Self, GeneratorError> {
        let bytes: &[u8] = &file;
        let mut modules = BTreeMap::new();
        let catalogue = if bytes.starts_with(b"PK\x03\x04") {
            pth::read_zip(bytes, source)?
        } else if safetensors_file::looks_like(bytes) {
            safetensors_file::read(bytes, source)?
        } else if bytes.starts_with(pickle::LEGACY_PREFIX) {
            pth::read_legacy(bytes, source)?
        } else if bytes.first() == Some(&0x80) {
            let network = network_pickle::read(bytes, source)?;
            modules = network.modules;
            network.catalogue
        } else {
            return Err(format_error(
                source,
                "not a weight file: expected a PyTorch checkpoint (zip or legacy .pth), an NVIDIA network pickle or a safetensors file",
            ));
        };
        if catalogue.entries.is_empty() {
            return Err(format_error(source, "the file holds no tensors"));
        }
        Ok(Self { catalogue, file, modules, source: source.to_string() })
    }

    /// Builds weights from tensors in memory (tests, converted models).
    pub fn from_tensors(tensors: impl IntoIterator<Item = (String, WeightTensor)>, source: &str) -> Self {
        let mut catalogue = Catalogue::default();
        catalogue.entries = tensors.into_iter().map(|(key, tensor)| (key, Entry::decoded(tensor))).collect();
        Self { catalogue, file: FileBytes::Static(&[]), modules: BTreeMap::new(), source: source.to_string() }
    }

    /// The module records of an NVIDIA network pickle by module path (`""` for the generator,
    /// `mapping`, `synthesis.b4.conv1`, ...); empty for state-dict files.
    pub fn modules(&self) -> &BTreeMap<String, ModuleRecord> {
        &self.modules
    }

    /// Where the weights came from (a path), for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.catalogue.entries.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.catalogue.entries.is_empty()
    }

    /// Whether the tensor `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.catalogue.entries.contains_key(key)
    }

    /// The shape of tensor `key` (empty for a 0-d tensor), without decoding it.
    pub fn shape(&self, key: &str) -> Option<&[usize]> {
        self.catalogue.entries.get(key).map(|e| e.shape.as_slice())
    }

    /// The type tensor `key` has in the file.
    pub fn dtype(&self, key: &str) -> Option<FileDtype> {
        self.catalogue.entries.get(key).map(|e| e.dtype)
    }

    /// Decodes tensor `key`: its values as f32 (integers converted), checked against its zip
    /// checksum on first use.
    pub fn tensor(&self, key: &str) -> Result<WeightTensor, GeneratorError> {
        let entry = self.catalogue.entries.get(key).ok_or_else(|| GeneratorError::MissingTensor {
            source_name: self.source.clone(),
            key: key.to_string(),
            expected: Vec::new(),
        })?;
        let values = self.catalogue.decode(entry, &self.file, &self.source, key)?;
        Ok(WeightTensor { shape: entry.shape.clone(), dtype: entry.dtype, values })
    }

    /// All keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.catalogue.entries.keys().map(String::as_str)
    }

    /// The prefix under which `anchor` occurs as a key suffix (`""` when it is a key itself):
    /// checkpoints often nest the state dict (`{"netG_state_dict": {...}}`), which flattens to
    /// `netG_state_dict.main.0.weight`.
    pub fn prefix_of(&self, anchor: &str) -> Option<String> {
        if self.contains(anchor) {
            return Some(String::new());
        }
        let tail = format!(".{anchor}");
        self.keys().find_map(|k| k.strip_suffix(&tail).map(|p| format!("{p}.")))
    }

    /// Writes the tensors as a safetensors file (float32), e.g. to convert a checkpoint once.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, GeneratorError> {
        let tensors =
            self.keys().map(|k| Ok((k.to_string(), self.tensor(k)?))).collect::<Result<_, GeneratorError>>()?;
        safetensors_file::write(&tensors, &self.source)
    }

    /// Starts taking the tensors under `prefix` for a model called `model`.
    pub fn taker<'a>(&'a self, prefix: &str, model: &str) -> TensorTaker<'a> {
        TensorTaker { weights: self, prefix: prefix.to_string(), model: model.to_string(), taken: Default::default() }
    }
}

/// Hands a model its tensors by key and shape, and checks at the end that none was left over.
pub struct TensorTaker<'a> {
    weights: &'a Weights,
    prefix: String,
    model: String,
    taken: std::collections::BTreeSet<String>,
}

impl TensorTaker<'_> {
    /// The file the tensors come from, for messages.
    pub fn source(&self) -> &str {
        self.weights.source()
    }

    /// The shape of `key` (under the prefix), if present: for inferring a configuration.
    pub fn shape(&self, key: &str) -> Option<&[usize]> {
        self.weights.shape(&format!("{}{key}", self.prefix))
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.shape(key).is_some()
    }

    /// The values of `key`, which must have shape `expected` (a 0-d tensor matches `[]` or `[1]`)
    /// and hold finite floating-point values: integer, boolean, NaN or infinite weights are no model.
    pub fn take(&mut self, key: &str, expected: &[usize]) -> Result<Vec<f32>, GeneratorError> {
        let full = format!("{}{key}", self.prefix);
        let weights = self.weights;
        let source = weights.source();
        let Some(entry) = weights.catalogue.entries.get(&full) else {
            return Err(GeneratorError::MissingTensor {
                source_name: source.to_string(),
                key: full,
                expected: expected.to_vec(),
            });
        };
        let scalar_match = entry.shape.is_empty() && expected == [1];
        if entry.shape != expected && !scalar_match {
            return Err(GeneratorError::ShapeMismatch {
                source_name: source.to_string(),
                key: full,
                expected: expected.to_vec(),
                found: entry.shape.clone(),
            });
        }
        if entry.dtype == FileDtype::Integer {
            return Err(format_error(
                source,
                format!("`{full}` holds integers or booleans where the model needs floating-point weights"),
            ));
        }
        let values = weights.catalogue.decode(entry, &weights.file, source, &full)?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format_error(
                source,
                format!("`{full}` holds {} at index {i}: the weights are damaged", values[i]),
            ));
        }
        self.taken.insert(full);
        Ok(values)
    }

    /// Takes `key` if present (buffers some exports leave out).
    pub fn take_optional(&mut self, key: &str, expected: &[usize]) -> Result<Option<Vec<f32>>, GeneratorError> {
        if self.contains(key) { self.take(key, expected).map(Some) } else { Ok(None) }
    }

    /// Marks `key` as known but unused (BatchNorm's `num_batches_tracked`).
    pub fn ignore(&mut self, key: &str) {
        self.taken.insert(format!("{}{key}", self.prefix));
    }

    /// Fails if a tensor under the prefix was not taken: the file is probably another architecture.
    pub fn finish(self) -> Result<(), GeneratorError> {
        let left: Vec<&str> =
            self.weights.keys().filter(|k| k.starts_with(&self.prefix) && !self.taken.contains(*k)).collect();
        if left.is_empty() {
            return Ok(());
        }
        let mut keys = left.iter().take(10).copied().collect::<Vec<_>>().join(", ");
        if left.len() > 10 {
            keys.push_str(&format!(" and {} more", left.len() - 10));
        }
        Err(GeneratorError::UnexpectedTensors { source_name: self.weights.source.clone(), model: self.model, keys })
    }
}
