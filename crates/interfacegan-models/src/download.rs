//! Downloads of model files: streamed to a partial file beside the destination, resumed from
//! where a cut connection left it (HTTP range requests), verified (size, sha256) before the atomic
//! rename into place. A good copy in place is never replaced; a bad download is never kept.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{ModelError, ModelFile, verify_file};

/// How long a connection or a read may stall before the download gives up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads `model` from `url` into `dir` (created if missing) and returns the verified file.
/// `progress(done, total)` hears of every block. A verified copy already in `dir` is returned as it
/// is; a damaged one there is an error (remove it first), never overwritten.
pub fn download(
    url: &str,
    model: &ModelFile,
    dir: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PathBuf, ModelError> {
    let path = dir.join(model.file_name);
    if path.is_file() {
        verify_file(&path, model)?;
        return Ok(path);
    }
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io { path: dir.to_path_buf(), source })?;
    let partial = dir.join(format!(".{}.partial", model.file_name));
    let failed = |reason: String| ModelError::Download {
        file_name: model.file_name,
        sha256: model.sha256,
        url: url.to_string(),
        reason,
    };
    fetch_into(url, model, &partial, timeout, progress).map_err(failed)?;
    if let Err(e) = verify_file(&partial, model) {
        // A complete file with the wrong bytes cannot be resumed into the right one.
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Appends to `partial` what the server has beyond its current length, until it holds
/// `model.bytes` bytes; the reason in words when it cannot.
fn fetch_into(
    url: &str,
    model: &ModelFile,
    partial: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), String> {
    let mut have = std::fs::metadata(partial).map_or(0, |m| m.len());
    if have > model.bytes {
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
        Err(ureq::Error::Status(416, _)) if have == model.bytes => return Ok(()),
        Err(ureq::Error::Status(code, response)) => return Err(format!("HTTP {code} {}", response.status_text())),
        Err(e) => return Err(e.to_string()),
    };
    // 206 continues the partial file; 200 (a server without ranges) starts it again.
    let resumed = have > 0 && response.status() == 206;
    let mut file = open_partial(partial, resumed).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut done = if resumed { have } else { 0 };
    let mut body = response.into_reader().take(model.bytes - done + 1);
    let mut block = vec![0u8; 1 << 16];
    loop {
        let n = body.read(&mut block).map_err(|e| format!("after {done} of {} bytes: {e}", model.bytes))?;
        if n == 0 {
            break;
        }
        done += n as u64;
        if done > model.bytes {
            drop(file);
            let _ = std::fs::remove_file(partial);
            return Err(format!("the server sent more than the file's {} bytes", model.bytes));
        }
        file.write_all(&block[..n]).map_err(|e| format!("{}: {e}", partial.display()))?;
        progress(done, model.bytes);
    }
    file.sync_all().map_err(|e| format!("{}: {e}", partial.display()))?;
    if done < model.bytes {
        return Err(format!("the connection ended after {done} of {} bytes", model.bytes));
    }
    Ok(())
}

fn open_partial(partial: &Path, append: bool) -> std::io::Result<File> {
    OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(partial)
}
