use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::IoError;

/// A temporary file beside the target, removed on drop unless it was moved into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn temp_path(target: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}.{unique}.tmp", std::process::id()))
}

fn create_temp(path: &Path) -> Result<(TempFile, BufWriter<File>), IoError> {
    let temp = TempFile { path: temp_path(path), keep: false };
    let file = File::create(&temp.path).map_err(|e| IoError::os(path, "cannot create a temporary file beside", e))?;
    Ok((temp, BufWriter::new(file)))
}

/// A file written piece by piece under a temporary name and moved into place by
/// [`StreamingFile::commit`]; dropped uncommitted, it leaves nothing behind.
pub struct StreamingFile {
    temp: TempFile,
    writer: BufWriter<File>,
    path: PathBuf,
    overwrite: bool,
}

impl StreamingFile {
    /// Starts writing `path` (checked for existence now and again at the end unless `overwrite`).
    pub fn create(path: impl AsRef<Path>, overwrite: bool) -> Result<Self, IoError> {
        let path = path.as_ref().to_path_buf();
        if !overwrite && path.exists() {
            return Err(IoError::AlreadyExists { path });
        }
        let (temp, writer) = create_temp(&path)?;
        Ok(Self { temp, writer, path, overwrite })
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), IoError> {
        self.writer.write_all(bytes).map_err(|e| IoError::os(&self.path, "cannot write", e))
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs the data and moves the file into place.
    pub fn commit(self) -> Result<(), IoError> {
        finish(self.temp, self.writer, &self.path, self.overwrite)
    }
}

/// Writes a file atomically: `fill` writes into a temporary file beside `path`, which is flushed,
/// synced and then moved into place. Nothing is left behind on failure.
///
/// With `overwrite = false` an existing `path` is never replaced (the move is a hard link, which
/// fails if the target exists, so a concurrent writer cannot be clobbered either).
pub fn write_atomic_with(
    path: &Path,
    overwrite: bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), IoError> {
    if !overwrite && path.exists() {
        return Err(IoError::AlreadyExists { path: path.to_path_buf() });
    }
    let (temp, mut writer) = create_temp(path)?;
    fill(&mut writer).map_err(|e| IoError::os(path, "cannot write", e))?;
    finish(temp, writer, path, overwrite)
}

/// Flushes and syncs `writer`'s file, then moves it from `temp` to `path` (never replacing an
/// existing `path` unless `overwrite`).
fn finish(mut temp: TempFile, writer: BufWriter<File>, path: &Path, overwrite: bool) -> Result<(), IoError> {
    let file = writer.into_inner().map_err(|e| IoError::os(path, "cannot write", e.into_error()))?;
    file.sync_all().map_err(|e| IoError::os(path, "cannot sync", e))?;
    drop(file);
    if overwrite {
        std::fs::rename(&temp.path, path).map_err(|e| IoError::os(path, "cannot move into place", e))?;
        temp.keep = true;
    } else {
        match std::fs::hard_link(&temp.path, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(IoError::AlreadyExists { path: path.to_path_buf() });
            }
            // File systems without hard links: the existence check above is the guard.
            Err(_) => {
                std::fs::rename(&temp.path, path).map_err(|e| IoError::os(path, "cannot move into place", e))?;
                temp.keep = true;
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically; see [`write_atomic_with`].
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8], overwrite: bool) -> Result<(), IoError> {
    write_atomic_with(path.as_ref(), overwrite, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_existing_files_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, b"first", false).unwrap();
        let err = write_atomic(&p, b"second", false).unwrap_err();
        assert!(matches!(err, IoError::AlreadyExists { .. }));
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        write_atomic(&p, b"third", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"third");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        let err = write_atomic_with(&p, false, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk on fire"));
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
