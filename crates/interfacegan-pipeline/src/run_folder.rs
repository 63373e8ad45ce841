//! A run folder: its manifest (what the run computes), the records that prove each finished chunk
//! unchanged, and the lock that gives the folder to one process at a time. Run folders are copied
//! between machines, so everything read from one is checked against limits before use.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use interfacegan_io::{NpyArray, is_temporary_name, parse_f32, write_atomic, write_npy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PipelineError;

/// The run description every run folder holds; resuming and merging check it.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The folder of finished chunks inside a run folder.
pub const CHUNKS_DIR: &str = "chunks";
/// The lock file: a process writing the folder holds an advisory lock on it (released when the
/// process ends, however it ends).
pub const LOCK_FILE: &str = "run.lock";

/// The most codes a run may have.
pub const MAX_SAMPLES: usize = 1_000_000_000;
/// The most values (codes of every space) one chunk may hold in memory: 2^27, 512 MiB of float32.
pub const MAX_CHUNK_VALUES: usize = 1 << 27;
/// The largest latent dimension a manifest may name.
pub const MAX_LATENT_DIM: usize = 1 << 16;
/// The most attributes a run may score.
pub const MAX_ATTRIBUTES: usize = 64;
/// The longest attribute name; names are `[A-Za-z0-9_-]+`, as they become file names.
pub const MAX_NAME_LENGTH: usize = 64;
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
const MAX_RECORD_BYTES: u64 = 1 << 16;

/// What a run computes. Two folders hold parts of the same run exactly when their manifests are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunManifest {
    /// Version of this layout.
    pub format: u32,
    /// Number of codes N.
    pub samples: usize,
    /// Seed; chunk `k` draws its codes from stream `k` of it.
    pub seed: u64,
    /// Codes per chunk (the last chunk may be shorter).
    pub chunk_size: usize,
    /// The generator, in words (architecture, resolution, latent size).
    pub generator: String,
    /// Dimension of the z codes.
    pub latent_dim: usize,
    /// Whether z codes are rescaled to norm sqrt(D) (PGGAN/StyleGAN preprocessing).
    pub normalize_z: bool,
    /// The scored attributes, in order.
    pub attributes: Vec<String>,
    /// Dimension of the w codes kept beside z (`w.npy`) for generators with a mapping network; 0: none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub w_dim: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Whether `name` may become part of a file name: 1 to [`MAX_NAME_LENGTH`] of `[A-Za-z0-9_-]`.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl RunManifest {
    /// Checks every field against the limits above; the reason names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.format != 1 {
            return Err(format!("format {} is not one this version reads (1)", self.format));
        }
        if !(1..=MAX_SAMPLES).contains(&self.samples) {
            return Err(format!("samples {} is outside 1..={MAX_SAMPLES}", self.samples));
        }
        for (field, dim) in [("latent_dim", self.latent_dim), ("w_dim", self.w_dim.max(1))] {
            if !(1..=MAX_LATENT_DIM).contains(&dim) {
                return Err(format!("{field} {dim} is outside 1..={MAX_LATENT_DIM}"));
            }
        }
        let per_code = self.latent_dim + self.w_dim + self.attributes.len();
        if self.chunk_size == 0 || self.chunk_size.saturating_mul(per_code) > MAX_CHUNK_VALUES {
            return Err(format!(
                "chunk_size {} is outside 1..={} (a chunk holds at most {MAX_CHUNK_VALUES} values)",
                self.chunk_size,
                MAX_CHUNK_VALUES / per_code
            ));
        }
        if self.attributes.is_empty() || self.attributes.len() > MAX_ATTRIBUTES {
            return Err(format!("{} attributes, expected 1 to {MAX_ATTRIBUTES}", self.attributes.len()));
        }
        if let Some(bad) = self.attributes.iter().find(|a| !is_safe_name(a)) {
            return Err(format!("attribute name {bad:?} is not 1 to {MAX_NAME_LENGTH} characters of A-Z a-z 0-9 _ -"));
        }
        if let Some(a) =
            self.attributes.iter().enumerate().find_map(|(i, a)| self.attributes[..i].contains(a).then_some(a))
        {
            return Err(format!("attribute `{a}` is named twice"));
        }
        if self.generator.len() > 256 {
            return Err("generator description over 256 characters".into());
        }
        Ok(())
    }

    /// Number of chunks.
    pub fn chunks(&self) -> usize {
        self.samples.div_ceil(self.chunk_size)
    }

    /// The sample indices of chunk `chunk`.
    pub fn chunk_rows(&self, chunk: usize) -> Range<usize> {
        let start = chunk * self.chunk_size;
        start..(start + self.chunk_size).min(self.samples)
    }

    /// Reads and checks `dir/manifest.json`; `None` when the folder has none.
    pub fn read(dir: &Path) -> Result<Option<Self>, PipelineError> {
        let path = dir.join(MANIFEST_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = read_limited(&path, MAX_MANIFEST_BYTES)?;
        Self::parse(&text).map(Some).map_err(|reason| PipelineError::file(&path, reason))
    }

    /// Parses and checks the bytes of a `manifest.json`.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| format!("not a run manifest: {e}"))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Writes `dir/manifest.json`, never replacing one (a second run cannot take the folder over).
    pub(crate) fn create(&self, dir: &Path) -> Result<(), PipelineError> {
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        write_atomic(dir.join(MANIFEST_FILE), text.as_bytes(), false)?;
        Ok(())
    }

    /// The fields in which `other` differs from `self`, as `name: ours vs theirs`.
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let ours = serde_json::to_value(self).expect("manifest serialises");
        let theirs = serde_json::to_value(other).expect("manifest serialises");
        let (ours, theirs) = (ours.as_object().expect("object"), theirs.as_object().expect("object"));
        ours.iter()
            .filter(|(k, v)| theirs.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: {v} vs {}", theirs.get(k).unwrap_or(&serde_json::Value::Null)))
            .collect()
    }

    /// The file names of the merged outputs: `z.npy`, `w.npy` (generators with a mapping network) and
    /// `<attribute>_scores.npy`.
    pub fn output_files(&self) -> Vec<String> {
        self.chunk_files().into_iter().map(|(stem, _)| format!("{stem}.npy")).collect()
    }

    /// The arrays of every chunk, in output order: file stem and values per code.
    fn chunk_files(&self) -> Vec<(String, usize)> {
        let mut files = vec![("z".to_string(), self.latent_dim)];
        if self.w_dim > 0 {
            files.push(("w".to_string(), self.w_dim));
        }
        files.extend(self.attributes.iter().map(|a| (format!("{a}_scores"), 1)));
        files
    }

    /// Values per code of each output, in [`RunManifest::output_files`] order.
    pub(crate) fn widths(&self) -> Vec<usize> {
        self.chunk_files().into_iter().map(|(_, width)| width).collect()
    }

    /// Whether `dir` holds a record of chunk `chunk` (checked when the chunk is read).
    pub(crate) fn has_record(&self, dir: &Path, chunk: usize) -> bool {
        Self::record_path(dir, chunk).exists()
    }

    fn chunk_file(dir: &Path, stem: &str, chunk: usize) -> PathBuf {
        dir.join(CHUNKS_DIR).join(format!("{stem}_{chunk:06}.npy"))
    }

    fn record_path(dir: &Path, chunk: usize) -> PathBuf {
        dir.join(CHUNKS_DIR).join(format!("chunk_{chunk:06}.json"))
    }

    /// Writes chunk `chunk`'s arrays (in [`RunManifest::output_files`] order), then its record:
    /// the size and SHA-256 of each file. The record is the mark of a finished chunk.
    pub(crate) fn write_chunk(&self, dir: &Path, chunk: usize, arrays: Vec<Vec<f32>>) -> Result<(), PipelineError> {
        let rows = self.chunk_rows(chunk).len();
        let mut record = ChunkRecord { files: Vec::new() };
        for ((stem, width), values) in self.chunk_files().into_iter().zip(arrays) {
            let path = Self::chunk_file(dir, &stem, chunk);
            write_npy(&path, &NpyArray::new(vec![rows, width], values)?, true)?;
            let bytes = read_limited(&path, u64::MAX)?;
            record.files.push(RecordedFile {
                name: file_name(&path),
                bytes: bytes.len() as u64,
                sha256: sha256(&bytes),
            });
        }
        let text = serde_json::to_string_pretty(&record).expect("record serialises");
        write_atomic(Self::record_path(dir, chunk), text.as_bytes(), true)?;
        Ok(())
    }

    /// Chunk `chunk`'s arrays as recorded, or `None` when it has no record (unfinished). A file
    /// that differs from its record (edited, truncated, another run's) is an error naming it.
    pub(crate) fn read_chunk(&self, dir: &Path, chunk: usize) -> Result<Option<Vec<NpyArray<f32>>>, PipelineError> {
        let record_path = Self::record_path(dir, chunk);
        if !record_path.exists() {
            return Ok(None);
        }
        let text = read_limited(&record_path, MAX_RECORD_BYTES)?;
        let record: ChunkRecord = serde_json::from_slice(&text)
            .map_err(|e| PipelineError::file(&record_path, format!("not a chunk record: {e}")))?;
        let files = self.chunk_files();
        let names: Vec<String> = files.iter().map(|(stem, _)| file_name(&Self::chunk_file(dir, stem, chunk))).collect();
        if record.files.iter().map(|f| &f.name).ne(names.iter()) {
            return Err(PipelineError::file(&record_path, format!("does not list this run's files {names:?}")));
        }
        let rows = self.chunk_rows(chunk).len();
        let mut arrays = Vec::with_capacity(files.len());
        for ((stem, width), recorded) in files.iter().zip(&record.files) {
            let path = Self::chunk_file(dir, stem, chunk);
            let differs = || {
                PipelineError::file(
                    &path,
                    format!(
                        "differs from its record in {} (changed since it was written); remove both to recompute \
                         the chunk",
                        record_path.display()
                    ),
                )
            };
            let len =
                std::fs::metadata(&path).map_err(|e| PipelineError::file(&path, format!("cannot stat: {e}")))?.len();
            if len != recorded.bytes {
                return Err(differs());
            }
            let bytes = read_limited(&path, recorded.bytes)?;
            if sha256(&bytes) != recorded.sha256 {
                return Err(differs());
            }
            let array = parse_f32(&bytes, &path)?;
            if array.shape() != [rows, *width] {
                return Err(PipelineError::file(
                    &path,
                    format!("shape {:?}, expected [{rows}, {width}]", array.shape()),
                ));
            }
            arrays.push(array);
        }
        Ok(Some(arrays))
    }
}

#[derive(Serialize, Deserialize)]
struct ChunkRecord {
    files: Vec<RecordedFile>,
}

#[derive(Serialize, Deserialize)]
struct RecordedFile {
    name: String,
    bytes: u64,
    sha256: String,
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `path` whole, refusing a file over `limit` bytes before reading it.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, PipelineError> {
    let file = File::open(path).map_err(|e| PipelineError::file(path, format!("cannot open: {e}")))?;
    let len = file.metadata().map_err(|e| PipelineError::file(path, format!("cannot stat: {e}")))?.len();
    if len > limit {
        return Err(PipelineError::file(path, format!("{len} bytes, over the limit of {limit}")));
    }
    let mut bytes = Vec::new();
    file.take(len).read_to_end(&mut bytes).map_err(|e| PipelineError::file(path, format!("cannot read: {e}")))?;
    Ok(bytes)
}

/// An advisory lock on a run folder's [`LOCK_FILE`], held until dropped. The operating system
/// releases it when the process ends, so a killed run never blocks its folder.
pub(crate) struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the folder for writing (creating it): a second process gets an error at once.
    pub(crate) fn exclusive(dir: &Path) -> Result<Self, PipelineError> {
        std::fs::create_dir_all(dir).map_err(|e| PipelineError::file(dir, format!("cannot create: {e}")))?;
        let file = Self::open(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(PipelineError::file(
                dir,
                format!(
                    "is in use by another process (it holds {LOCK_FILE}); wait for it to end or use another folder"
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(PipelineError::file(dir.join(LOCK_FILE), format!("cannot lock: {e}")))
            }
        }
    }

    /// Reads the folder alongside other readers, never while a process writes it. A folder whose
    /// lock file cannot be created (read-only media) is read unlocked: nobody writes it either.
    pub(crate) fn shared(dir: &Path) -> Result<Option<Self>, PipelineError> {
        let Ok(file) = Self::open(dir) else { return Ok(None) };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Err(PipelineError::file(
                dir,
                format!("is being written by another process (it holds {LOCK_FILE}); merge when it has ended"),
            )),
            Err(std::fs::TryLockError::Error(_)) => Ok(None),
        }
    }

    fn open(dir: &Path) -> Result<File, PipelineError> {
        let path = dir.join(LOCK_FILE);
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| PipelineError::file(&path, format!("cannot open: {e}")))
    }

    /// Removes what interrupted writers left in `dir` and its chunks folder: temporary files are
    /// never part of a run, and while this lock is held nobody else is writing them.
    pub(crate) fn remove_temporaries(&self, dir: &Path) {
        for folder in [dir.to_path_buf(), dir.join(CHUNKS_DIR)] {
            let Ok(entries) = std::fs::read_dir(&folder) else { continue };
            for entry in entries.flatten() {
                if entry.file_name().to_str().is_some_and(is_temporary_name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}
