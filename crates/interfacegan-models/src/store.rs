//! Where model files are looked for, and the check every copy passes before it is used.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::{ModelError, ModelFile, model};

/// The environment variable that names a folder of model files.
pub const MODELS_ENV: &str = "INTERFACEGAN_MODELS";

/// The environment variable that, set to anything but empty, keeps [`ModelStore::from_env`] from
/// downloading.
pub const OFFLINE_ENV: &str = "INTERFACEGAN_OFFLINE";

/// The environment variable that names a mirror of the model files (a URL to which a file's name
/// is appended), used by [`ModelStore::from_env`] instead of the pinned sources.
pub const MIRROR_ENV: &str = "INTERFACEGAN_MODELS_MIRROR";

/// How a folder came to be searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Given by the caller ([`ModelStore::with_dir`], the CLI's `--models-dir`).
    Explicit,
    /// Named by [`MODELS_ENV`].
    Environment,
    /// `fixtures/models` of the checkout this crate was built from, when it still exists.
    Checkout,
    /// The user's cache folder (`~/.cache/interfacegan/models` on Linux, the platform's equivalent elsewhere).
    Cache,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Route::Explicit => "given folder",
            Route::Environment => MODELS_ENV,
            Route::Checkout => "checkout",
            Route::Cache => "user cache",
        })
    }
}

/// A verified copy of a model file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The copy.
    pub path: PathBuf,
    /// How its folder came to be searched.
    pub route: Route,
}

/// The folders searched for model files, in order. The first folder that holds a file decides:
/// a copy of the wrong size or checksum is an error, never passed over for the next folder. With
/// the `download` feature, a file no folder holds can be fetched from its pinned sources into a
/// folder of the caller's ([`downloading_into`](Self::downloading_into); [`from_env`](Self::from_env)
/// picks the user cache).
///
/// ```
/// use interfacegan_models::{ModelStore, Route};
/// let store = ModelStore::from_env().with_dir("my-models");
/// assert_eq!(store.folders().next().map(|(route, _)| route), Some(Route::Explicit));
/// ```
#[derive(Clone)]
pub struct ModelStore {
    pub(crate) folders: Vec<(Route, PathBuf)>,
    #[cfg(feature = "download")]
    pub(crate) downloads: crate::store_downloads::Downloads,
}

impl std::fmt::Debug for ModelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("ModelStore");
        debug.field("folders", &self.folders);
        #[cfg(feature = "download")]
        debug.field("downloads_into", &self.downloads.dir);
        debug.finish()
    }
}

impl ModelStore {
    /// The default search: [`MODELS_ENV`] when set, then the checkout's `fixtures/models` when this
    /// crate was built from one, then the user's cache folder, which (with the `download` feature,
    /// unless [`OFFLINE_ENV`] is set) also receives the files none of them holds.
    pub fn from_env() -> Self {
        let mut folders = Vec::new();
        if let Some(dir) = std::env::var_os(MODELS_ENV).filter(|v| !v.is_empty()) {
            folders.push((Route::Environment, PathBuf::from(dir)));
        }
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
        if let Ok(checkout) = checkout.canonicalize()
            && checkout.is_dir()
        {
            folders.push((Route::Checkout, checkout));
        }
        if let Some(cache) = Self::cache_dir() {
            folders.push((Route::Cache, cache));
        }
        Self::searching(folders).with_env_downloads()
    }

    /// Without the `download` feature there is nothing to set.
    #[cfg(not(feature = "download"))]
    fn with_env_downloads(self) -> Self {
        self
    }

    /// A search of `dir` alone, downloading nothing.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self::searching(vec![(Route::Explicit, dir.into())])
    }

    fn searching(folders: Vec<(Route, PathBuf)>) -> Self {
        Self {
            folders,
            #[cfg(feature = "download")]
            downloads: Default::default(),
        }
    }

    /// The same search with `dir` first.
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.folders.insert(0, (Route::Explicit, dir.into()));
        self
    }

    /// Whether a missing file would be downloaded (never without the `download` feature).
    #[cfg(not(feature = "download"))]
    pub fn download_dir(&self) -> Option<&Path> {
        None
    }

    /// The folders searched, in order.
    pub fn folders(&self) -> impl Iterator<Item = (Route, &Path)> {
        self.folders.iter().map(|(route, dir)| (*route, dir.as_path()))
    }

    /// The user's cache folder for model files, where the platform has one.
    pub fn cache_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("interfacegan").join("models"))
    }

    /// The first copy of model `name` in the folders searched, verified (size, then sha256; once per
    /// process for an unchanged file).
    pub fn locate(&self, name: &str) -> Result<Located, ModelError> {
        let (model, located) = self.first_copy(name)?;
        verify_file(&located.path, model)?;
        Ok(located)
    }

    /// The bytes of model `name`, from the first copy found, and where that copy is; checked
    /// against the registry's size before they are read and its sha256 after (one pass over the file).
    pub fn read(&self, name: &str) -> Result<(Located, Vec<u8>), ModelError> {
        let (model, located) = self.first_copy(name)?;
        let bytes = read_verified(&located.path, model)?;
        Ok((located, bytes))
    }

    /// Model `name` and the first folder's copy of its file, unverified; downloaded (and verified)
    /// when no folder holds one and downloads are on.
    fn first_copy(&self, name: &str) -> Result<(&'static ModelFile, Located), ModelError> {
        let model = model(name)?;
        for (route, dir) in self.folders() {
            let path = dir.join(model.file_name);
            if path.is_file() {
                return Ok((model, Located { path, route }));
            }
        }
        #[cfg(feature = "download")]
        if self.download_dir().is_some() {
            return Ok((model, self.fetch(name)?));
        }
        Err(self.missing(model))
    }

    /// The error for `model`, found in no folder.
    pub(crate) fn missing(&self, model: &'static ModelFile) -> ModelError {
        ModelError::Missing {
            file_name: model.file_name,
            sha256: model.sha256,
            searched: self.folders.iter().map(|(_, dir)| dir.clone()).collect(),
        }
    }
}

/// The bytes of the file at `path`, a copy of `model`: its size checked before it is read, its
/// sha256 after (one pass over the file).
pub fn read_verified(path: &Path, model: &ModelFile) -> Result<Vec<u8>, ModelError> {
    let io = |source| ModelError::Io { path: path.into(), source };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size != model.bytes {
        return Err(ModelError::WrongSize { path: path.into(), expected: model.bytes, actual: size });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(model.bytes as usize);
    // One byte past the size shows a file that grew since its size was read.
    file.take(model.bytes + 1).read_to_end(&mut bytes).map_err(io)?;
    check_bytes(path, model, &bytes)?;
    Ok(bytes)
}

/// Checks that `bytes` are model `model`'s: size, then sha256.
pub fn check_bytes(path: &Path, model: &ModelFile, bytes: &[u8]) -> Result<(), ModelError> {
    if bytes.len() as u64 != model.bytes {
        return Err(ModelError::WrongSize { path: path.into(), expected: model.bytes, actual: bytes.len() as u64 });
    }
    let actual = hex(&Sha256::digest(bytes));
    if actual != model.sha256 {
        return Err(ModelError::Checksum { path: path.into(), expected: model.sha256, actual });
    }
    Ok(())
}

/// Checks the file at `path` against `model`: its size from the file system first, then its sha256
/// read in blocks. A file verified before in this process, unchanged since, is not hashed again.
pub fn verify_file(path: &Path, model: &ModelFile) -> Result<(), ModelError> {
    verify_digest(path, model.bytes, model.sha256)
}

/// [`verify_file`] against a size and sha256 of the caller's.
pub(crate) fn verify_digest(path: &Path, bytes: u64, sha256: &'static str) -> Result<(), ModelError> {
    let io = |source| ModelError::Io { path: path.into(), source };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if metadata.len() != bytes {
        return Err(ModelError::WrongSize { path: path.into(), expected: bytes, actual: metadata.len() });
    }
    let key = FileState {
        path: path.canonicalize().map_err(io)?,
        len: metadata.len(),
        modified: metadata.modified().ok(),
        sha256,
    };
    static VERIFIED: OnceLock<Mutex<HashSet<FileState>>> = OnceLock::new();
    let verified = VERIFIED.get_or_init(Default::default);
    if verified.lock().expect("not poisoned").contains(&key) {
        return Ok(());
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut block).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    let actual = hex(&hasher.finalize());
    if actual != sha256 {
        return Err(ModelError::Checksum { path: path.into(), expected: sha256, actual });
    }
    verified.lock().expect("not poisoned").insert(key);
    Ok(())
}

/// A file as verified, and against which checksum: a change of size or modification time means
/// it must be hashed again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FileState {
    path: PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
    sha256: &'static str,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
