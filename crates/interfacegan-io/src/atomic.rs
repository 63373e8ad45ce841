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

fn sibling_path(target: &Path, suffix: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}.{unique}.{suffix}", std::process::id()))
}

/// Whether `name` is one of the temporary or backup names this crate gives files beside their
/// targets (`.<name>.<pid>.<n>.tmp` / `.bak`): what an interrupted process leaves behind.
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(".tmp") || name.ends_with(".bak"))
}

fn create_temp(path: &Path) -> Result<(TempFile, BufWriter<File>), IoError> {
    let temp = TempFile { path: sibling_path(path, "tmp"), keep: false };
    let file = File::create(&temp.path).map_err(|e| IoError::os(path, "cannot create a temporary file beside", e))?;
    Ok((temp, BufWriter::new(file)))
}

/// A file written in full under a temporary name beside its target, synced, and not yet moved
/// into place: [`OutputSet::commit`] moves it. Dropped, it is removed.
pub struct StagedFile {
    temp: TempFile,
    path: PathBuf,
}

impl StagedFile {
    fn from_writer(temp: TempFile, writer: BufWriter<File>, path: PathBuf) -> Result<Self, IoError> {
        let file = writer.into_inner().map_err(|e| IoError::os(&path, "cannot write", e.into_error()))?;
        file.sync_all().map_err(|e| IoError::os(&path, "cannot sync", e))?;
        Ok(Self { temp, path })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The outputs of one command, committed all or none: each is written in full to a temporary
/// file, and only when every one is written does [`OutputSet::commit`] move them into place. A
/// failure at any point (or dropping the set) removes the temporaries and leaves every existing
/// output as it was.
pub struct OutputSet {
    staged: Vec<StagedFile>,
    overwrite: bool,
    /// Folders this set created, outermost first: removed again (when empty) if it is not committed.
    created_dirs: Vec<PathBuf>,
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        self.staged.clear();
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl OutputSet {
    /// An empty set; existing outputs are replaced only when `overwrite`.
    pub fn new(overwrite: bool) -> Self {
        Self { staged: Vec::new(), overwrite, created_dirs: Vec::new() }
    }

    /// Creates `dir` and its missing parents; those it created are removed again if the set is
    /// dropped uncommitted, so a failed command leaves no empty output folder behind.
    pub fn create_dir_all(&mut self, dir: impl AsRef<Path>) -> Result<(), IoError> {
        let dir = dir.as_ref();
        let missing: Vec<PathBuf> =
            dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).map(Path::to_path_buf).collect();
        std::fs::create_dir_all(dir).map_err(|e| IoError::os(dir, "cannot create the folder", e))?;
        self.created_dirs.extend(missing.into_iter().rev());
        Ok(())
    }

    /// Whether existing outputs are replaced.
    pub fn overwrite(&self) -> bool {
        self.overwrite
    }

    /// Adds a file written elsewhere ([`StreamingFile::stage`], [`crate::NpyStreamWriter::stage`]).
    pub fn push(&mut self, file: StagedFile) -> Result<(), IoError> {
        self.refuse_existing(&file.path)?;
        self.staged.push(file);
        Ok(())
    }

    /// Stages `bytes` as the future content of `path`.
    pub fn stage_bytes(&mut self, path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), IoError> {
        self.stage_with(path.as_ref(), |w| w.write_all(bytes))
    }

    /// Stages the content `fill` writes as the future content of `path`.
    pub fn stage_with(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), IoError> {
        self.refuse_existing(path)?;
        let (temp, mut writer) = create_temp(path)?;
        fill(&mut writer).map_err(|e| IoError::os(path, "cannot write", e))?;
        self.staged.push(StagedFile::from_writer(temp, writer, path.to_path_buf())?);
        Ok(())
    }

    fn refuse_existing(&self, path: &Path) -> Result<(), IoError> {
        if self.staged.iter().any(|s| s.path == path) {
            return Err(IoError::format(path, "written twice by one command"));
        }
        if !self.overwrite && path.exists() {
            return Err(IoError::AlreadyExists { path: path.to_path_buf() });
        }
        Ok(())
    }

    /// Moves every staged file into place. Without `overwrite` no existing file is replaced (each
    /// move is a hard link, which fails if the target appeared meanwhile); with it, each replaced
    /// file is kept aside until all moves succeeded. If any move fails, the ones already made are
    /// undone and the old files restored.
    pub fn commit(mut self) -> Result<(), IoError> {
        let staged = std::mem::take(&mut self.staged);
        let placed = self.place_all(staged);
        if placed.is_ok() {
            self.created_dirs.clear();
        }
        placed
    }

    fn place_all(&self, staged: Vec<StagedFile>) -> Result<(), IoError> {
        let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::with_capacity(staged.len());
        for mut file in staged {
            match place(&mut file, self.overwrite) {
                Ok(backup) => done.push((file.path.clone(), backup)),
                Err(e) => {
                    for (path, backup) in done.into_iter().rev() {
                        match backup {
                            Some(backup) => {
                                let _ = std::fs::rename(&backup, &path);
                            }
                            None => {
                                let _ = std::fs::remove_file(&path);
                            }
                        }
                    }
                    return Err(e);
                }
            }
        }
        for backup in done.into_iter().filter_map(|(_, b)| b) {
            let _ = std::fs::remove_file(backup);
        }
        Ok(())
    }
}

/// Moves one staged file into place; returns where the file it replaced was kept.
fn place(file: &mut StagedFile, overwrite: bool) -> Result<Option<PathBuf>, IoError> {
    let path = file.path.clone();
    if !overwrite {
        match std::fs::hard_link(&file.temp.path, &path) {
            Ok(()) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(IoError::AlreadyExists { path });
            }
            // File systems without hard links: the existence checks are the guard.
            Err(_) if !path.exists() => {}
            Err(_) => return Err(IoError::AlreadyExists { path }),
        }
    }
    let backup = if path.exists() {
        let backup = sibling_path(&path, "bak");
        std::fs::rename(&path, &backup).map_err(|e| IoError::os(&path, "cannot set the old file aside", e))?;
        Some(backup)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&file.temp.path, &path) {
        if let Some(backup) = &backup {
            let _ = std::fs::rename(backup, &path);
        }
        return Err(IoError::os(&path, "cannot move into place", e));
    }
    file.temp.keep = true;
    Ok(backup)
}

/// A file written piece by piece under a temporary name and moved into place by
/// [`StreamingFile::commit`] (or staged into an [`OutputSet`]); dropped uncommitted, it leaves
/// nothing behind.
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

    /// Syncs the data, ready for an [`OutputSet`].
    pub fn stage(self) -> Result<StagedFile, IoError> {
        StagedFile::from_writer(self.temp, self.writer, self.path)
    }

    /// Syncs the data and moves the file into place.
    pub fn commit(self) -> Result<(), IoError> {
        let mut set = OutputSet::new(self.overwrite);
        set.push(self.stage()?)?;
        set.commit()
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
    let mut set = OutputSet::new(overwrite);
    set.stage_with(path, fill)?;
    set.commit()
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

    #[test]
    fn output_sets_commit_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
        std::fs::write(&a, b"old a").unwrap();
        std::fs::write(&c, b"old c").unwrap();
        // c appears after staging: without overwrite, nothing is placed, a stays old.
        let mut set = OutputSet::new(false);
        set.stage_bytes(&b, b"new b").unwrap();
        assert!(set.stage_bytes(&a, b"new a").is_err(), "existing a refused at staging");
        drop(set);
        let mut set = OutputSet::new(false);
        set.stage_bytes(&b, b"new b").unwrap();
        let mut late = StreamingFile::create(dir.path().join("d"), false).unwrap();
        late.write(b"d").unwrap();
        set.push(late.stage().unwrap()).unwrap();
        std::fs::write(dir.path().join("d"), b"appeared").unwrap();
        assert!(matches!(set.commit().unwrap_err(), IoError::AlreadyExists { .. }));
        assert!(!b.exists(), "b was rolled back");
        assert_eq!(std::fs::read(dir.path().join("d")).unwrap(), b"appeared");
        // With overwrite, a failure on the last file restores the first.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let mut set = OutputSet::new(true);
        set.stage_bytes(&a, b"new a").unwrap();
        set.stage_bytes(sub.join("e"), b"new e").unwrap();
        std::fs::remove_dir_all(&sub).unwrap();
        assert!(set.commit().is_err(), "the folder of the last output vanished");
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        let mut names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["a", "c", "d"], "no temporary or backup left behind");
    }

    #[test]
    fn folders_created_for_uncommitted_outputs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x/y");
        let mut set = OutputSet::new(false);
        set.create_dir_all(&out).unwrap();
        set.stage_bytes(out.join("f"), b"f").unwrap();
        drop(set);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut set = OutputSet::new(false);
        set.create_dir_all(&out).unwrap();
        set.stage_bytes(out.join("f"), b"f").unwrap();
        set.commit().unwrap();
        assert_eq!(std::fs::read(out.join("f")).unwrap(), b"f");
    }
}
