//! Downloads of model files: streamed to a partial file beside the destination, resumed from
//! where a cut connection left it (HTTP range requests), verified (size, sha256) before the atomic
//! rename into place. A good copy in place is never replaced; a bad download is never kept.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::registry::{Archive, MODELS, Source};
use crate::store::verify_digest;
use crate::{ModelError, ModelFile, verify_file};

/// How long a connection or a read may stall before the download gives up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads `model` from its pinned [`sources`](ModelFile::sources), in order, into `dir`
/// (created if missing) and returns the verified file. `progress(done, total)` hears of every block
/// of what is fetched (for a source inside an archive, the archive). A verified copy already in
/// `dir` is returned as it is; a damaged one there is an error (remove it first), never overwritten.
/// Files of the registry that the same archive holds and `dir` lacks are extracted with it.
pub fn fetch(
    model: &ModelFile,
    dir: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PathBuf, ModelError> {
    if let Some(path) = existing_or_prepare(model, dir)? {
        return Ok(path);
    }
    let mut attempts = Vec::new();
    for source in model.sources {
        let fetched = match source {
            Source::File { url } => fetch_file(url, model, dir, timeout, progress),
            Source::ZipMember { archive, member } => fetch_member(archive, member, model, dir, timeout, progress),
        };
        match fetched {
            Ok(path) => return Ok(path),
            Err(ModelError::Download { attempts: failed, .. }) => attempts.extend(failed),
            Err(e) => attempts.push((source.url().to_string(), e.to_string())),
        }
    }
    if attempts.is_empty() {
        attempts.push(("(nowhere)".to_string(), "no download source is known for this file".to_string()));
    }
    Err(ModelError::Download { file_name: model.file_name, sha256: model.sha256, attempts })
}

/// Downloads `model` from `url` (the file itself) into `dir` (created if missing) and returns the
/// verified file, as [`fetch`] does for one source.
pub fn download(
    url: &str,
    model: &ModelFile,
    dir: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PathBuf, ModelError> {
    if let Some(path) = existing_or_prepare(model, dir)? {
        return Ok(path);
    }
    fetch_file(url, model, dir, timeout, progress)
}

/// The verified copy of `model` in `dir`, if there is one (a damaged one is an error); otherwise
/// `dir` is created, ready for the download.
fn existing_or_prepare(model: &ModelFile, dir: &Path) -> Result<Option<PathBuf>, ModelError> {
    let path = dir.join(model.file_name);
    if path.is_file() {
        verify_file(&path, model)?;
        return Ok(Some(path));
    }
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io { path: dir.to_path_buf(), source })?;
    Ok(None)
}

fn fetch_file(
    url: &str,
    model: &ModelFile,
    dir: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PathBuf, ModelError> {
    let partial = partial_path(dir, model.file_name);
    fetch_into(url, model.bytes, &partial, timeout, progress).map_err(failed_at(model, url))?;
    install(&partial, model, dir)
}

/// Fetches `archive`, verifies it, extracts `member` as `model` (and the registry's other files
/// it holds that `dir` lacks), then removes it: a verified archive is never needed again, and one of
/// the wrong bytes cannot be resumed into the right one.
fn fetch_member(
    archive: &Archive,
    member: &str,
    model: &ModelFile,
    dir: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PathBuf, ModelError> {
    let archive_name = archive.url.rsplit('/').next().unwrap_or("archive");
    let partial = partial_path(dir, archive_name);
    fetch_into(archive.url, archive.bytes, &partial, timeout, progress).map_err(failed_at(model, archive.url))?;
    let extracted = verify_digest(&partial, archive.bytes, archive.sha256).and_then(|()| {
        let io = |source| ModelError::Io { path: partial.clone(), source };
        let mut zip = zip::ZipArchive::new(File::open(&partial).map_err(io)?).map_err(|e| bad_archive(&partial, e))?;
        let path = extract(&mut zip, &partial, member, model, dir)?;
        for (other, other_member) in members_of(archive) {
            if other.file_name != model.file_name && !dir.join(other.file_name).exists() {
                // A sibling that fails is only not extracted now; its own fetch says why.
                let _ = extract(&mut zip, &partial, other_member, other, dir);
            }
        }
        Ok(path)
    });
    let _ = std::fs::remove_file(&partial);
    extracted
}

/// The registry's files that `archive` holds, with their paths inside it.
fn members_of(archive: &Archive) -> impl Iterator<Item = (&'static ModelFile, &'static str)> + '_ {
    MODELS.iter().flat_map(move |m| {
        m.sources.iter().filter_map(move |s| match s {
            Source::ZipMember { archive: a, member } if a.url == archive.url => Some((m, *member)),
            _ => None,
        })
    })
}

/// Writes `member` of `zip` to a partial file, at most `model.bytes + 1` bytes of it, and installs it.
fn extract(
    zip: &mut zip::ZipArchive<File>,
    archive: &Path,
    member: &str,
    model: &ModelFile,
    dir: &Path,
) -> Result<PathBuf, ModelError> {
    let mut entry = zip.by_name(member).map_err(|e| bad_archive(archive, format!("{member}: {e}")))?;
    if entry.size() != model.bytes {
        let actual = entry.size();
        return Err(ModelError::WrongSize { path: archive.join(member), expected: model.bytes, actual });
    }
    let partial = partial_path(dir, model.file_name);
    let io = |source| ModelError::Io { path: partial.clone(), source };
    let mut out = File::create(&partial).map_err(io)?;
    std::io::copy(&mut (&mut entry).take(model.bytes + 1), &mut out).map_err(io)?;
    out.sync_all().map_err(io)?;
    install(&partial, model, dir)
}

/// The error of a download of `model` from `url` that failed for a reason in words.
fn failed_at<'a>(model: &'a ModelFile, url: &'a str) -> impl FnOnce(String) -> ModelError + 'a {
    move |reason| ModelError::Download {
        file_name: model.file_name,
        sha256: model.sha256,
        attempts: vec![(url.to_string(), reason)],
    }
}

fn bad_archive(archive: &Path, reason: impl ToString) -> ModelError {
    ModelError::Io { path: archive.to_path_buf(), source: std::io::Error::other(reason.to_string()) }
}

/// Verifies `partial` as `model` and renames it into place; a partial file of the wrong bytes is removed.
fn install(partial: &Path, model: &ModelFile, dir: &Path) -> Result<PathBuf, ModelError> {
    if let Err(e) = verify_file(partial, model) {
        let _ = std::fs::remove_file(partial);
        return Err(e);
    }
    let path = dir.join(model.file_name);
    std::fs::rename(partial, &path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
    Ok(path)
}

fn partial_path(dir: &Path, file_name: &str) -> PathBuf {
    dir.join(format!(".{file_name}.partial"))
}

/// Appends to `partial` what the server has beyond its current length, until it holds `bytes`
/// bytes; the reason in words when it cannot.
fn fetch_into(
    url: &str,
    bytes: u64,
    partial: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), String> {
    let mut have = std::fs::metadata(partial).map_or(0, |m| m.len());
    if have > bytes {
        have = 0;
    }
    let agent = ureq::AgentBuilder::new().timeout_connect(timeout).timeout_read(timeout).build();
    let mut request = agent.get(url);
    if have > 0 {
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(response) => response,
        // The partial file is whole already: the server has nothing beyond it.
        Err(ureq::Error::Status(416, _)) if have == bytes => return Ok(()),
        Err(ureq::Error::Status(code, response)) => return Err(format!("HTTP {code} {}", response.status_text())),
        // The URL is named beside the reason already.
        Err(ureq::Error::Transport(t)) => {
            return Err(t.message().map_or_else(|| t.kind().to_string(), |m| format!("{}: {m}", t.kind())));
        }
    };
    // 206 continues the partial file; 200 (a server without ranges) starts it again.
    let resumed = have > 0 && response.status() == 206;
    let mut file = open_partial(partial, resumed).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut done = if resumed { have } else { 0 };
    let mut body = response.into_reader().take(bytes - done + 1);
    let mut block = vec![0u8; 1 << 16];
    loop {
        let n = body.read(&mut block).map_err(|e| format!("after {done} of {bytes} bytes: {e}"))?;
        if n == 0 {
            break;
        }
        done += n as u64;
        if done > bytes {
            drop(file);
            let _ = std::fs::remove_file(partial);
            return Err(format!("the server sent more than the file's {bytes} bytes"));
        }
        file.write_all(&block[..n]).map_err(|e| format!("{}: {e}", partial.display()))?;
        progress(done, bytes);
    }
    file.sync_all().map_err(|e| format!("{}: {e}", partial.display()))?;
    if done < bytes {
        return Err(format!("the connection ended after {done} of {bytes} bytes"));
    }
    Ok(())
}

fn open_partial(partial: &Path, append: bool) -> std::io::Result<File> {
    OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(partial)
}
