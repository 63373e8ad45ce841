//! A store's downloads (feature `download`): where a file that no folder holds is fetched to, from
//! where, and who hears of the progress.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::store::{MIRROR_ENV, OFFLINE_ENV};
use crate::{Located, ModelError, ModelFile, ModelStore, Route, model};

/// Hears `(file, bytes done, bytes in all)` during a download.
pub type Progress = dyn Fn(&ModelFile, u64, u64) + Send + Sync;

/// A store's download settings; no folder means downloads are off.
#[derive(Clone)]
pub(crate) struct Downloads {
    pub(crate) dir: Option<PathBuf>,
    timeout: Duration,
    mirror: Option<String>,
    progress: Option<Arc<Progress>>,
}

impl Default for Downloads {
    fn default() -> Self {
        Self { dir: None, timeout: crate::DEFAULT_TIMEOUT, mirror: None, progress: None }
    }
}

impl ModelStore {
    /// [`from_env`](Self::from_env)'s downloads: into the user cache unless [`OFFLINE_ENV`] is
    /// set, from [`MIRROR_ENV`] where it is set.
    pub(crate) fn with_env_downloads(mut self) -> Self {
        if let Some(mirror) = std::env::var(MIRROR_ENV).ok().filter(|m| !m.is_empty()) {
            self = self.with_mirror(mirror);
        }
        match Self::cache_dir() {
            Some(cache) if std::env::var_os(OFFLINE_ENV).is_none_or(|v| v.is_empty()) => self.downloading_into(cache),
            _ => self,
        }
    }

    /// The same search, fetching a file that no folder holds into `dir` (searched last, if it is
    /// not searched already), from the mirror if one is set, else from the file's pinned sources.
    pub fn downloading_into(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        if !self.folders.iter().any(|(_, d)| *d == dir) {
            self.folders.push((Route::Cache, dir.clone()));
        }
        self.downloads.dir = Some(dir);
        self
    }

    /// The same search, downloading nothing.
    pub fn offline(mut self) -> Self {
        self.downloads.dir = None;
        self
    }

    /// The same search, downloading from `mirror` (a URL to which a file's name is appended)
    /// instead of the pinned sources; what it serves is verified all the same.
    pub fn with_mirror(mut self, mirror: impl Into<String>) -> Self {
        self.downloads.mirror = Some(mirror.into().trim_end_matches('/').to_string());
        self
    }

    /// The same search, with `progress` told of every block downloaded.
    pub fn on_progress(mut self, progress: impl Fn(&ModelFile, u64, u64) + Send + Sync + 'static) -> Self {
        self.downloads.progress = Some(Arc::new(progress));
        self
    }

    /// The same search with downloads giving up after `timeout` without progress.
    pub fn download_timeout(mut self, timeout: Duration) -> Self {
        self.downloads.timeout = timeout;
        self
    }

    /// The folder a missing file would be downloaded into; none when downloads are off.
    pub fn download_dir(&self) -> Option<&Path> {
        self.downloads.dir.as_deref()
    }

    /// Downloads model `name` into the download folder, whether or not another folder holds it,
    /// and returns the verified copy; one there already is verified, not downloaded again.
    pub fn fetch(&self, name: &str) -> Result<Located, ModelError> {
        let model = model(name)?;
        let dir = self.download_dir().ok_or_else(|| self.missing(model))?;
        let mut progress = |done, total| {
            if let Some(progress) = &self.downloads.progress {
                progress(model, done, total);
            }
        };
        let timeout = self.downloads.timeout;
        let path = match &self.downloads.mirror {
            Some(mirror) => {
                crate::download(&format!("{mirror}/{}", model.file_name), model, dir, timeout, &mut progress)?
            }
            None => crate::fetch(model, dir, timeout, &mut progress)?,
        };
        let route = self.folders.iter().find(|(_, d)| d == dir).map_or(Route::Cache, |(route, _)| *route);
        Ok(Located { path, route })
    }
}
