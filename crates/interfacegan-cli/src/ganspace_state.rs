//! The state of an interrupted `ganspace` run, kept in its output folder after every chunk so that
//! the same command resumes it: one JSON line naming the run and the chunks done, then the PCA
//! accumulator's bytes. A resumed run adds the same chunks in the same order, so its outputs are
//! the bytes an uninterrupted run writes. One run writes a folder at a time (`ganspace.lock`).

use std::io::Read;
use std::path::{Path, PathBuf};

use interfacegan::io::{is_temporary_name, write_atomic};
use interfacegan::subspace::PcaAccumulator;
use serde::{Deserialize, Serialize};

use crate::CliError;

/// The file's name in the output folder.
pub const PARTIAL_FILE: &str = "ganspace.partial";
/// Held (an OS file lock, released when the process ends) by the one run writing the folder.
pub const LOCK_FILE: &str = "ganspace.lock";
/// What starts the temporary names of the files a run writes (`.<name>.<pid>.<n>.tmp`).
const OWN_TEMPORARIES: [&str; 4] = [".ganspace.", ".component", ".lat_mean.npy.", ".lat_stdev.npy."];
/// The most bytes of the JSON line; the rest of the file is the accumulator's, of a size the
/// dimension fixes.
const MAX_HEADER: u64 = 4096;

/// What makes two runs the same run: the same chunks of the same codes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    pub generator: String,
    pub seed: u64,
    pub samples: usize,
    pub batch: usize,
    pub dim: usize,
}

#[derive(Serialize, Deserialize)]
struct Header {
    run: RunKey,
    chunks_done: usize,
}

/// The partial state of a run in `dir`, whose folder this process holds.
pub struct PartialRun {
    path: PathBuf,
    key: RunKey,
    _lock: std::fs::File,
}

impl PartialRun {
    /// Creates `dir`, takes its lock (refused while another run holds it) and removes the
    /// temporaries an interrupted run left there.
    pub fn open(dir: &Path, key: RunKey) -> Result<Self, CliError> {
        let failed = |what: &str, e: std::io::Error| CliError::new(format!("{}: {what}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(|e| failed("cannot create", e))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| failed("cannot open its lock", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CliError::new(format!(
                    "{}: another ganspace is writing there (it holds {LOCK_FILE}); wait for it or use another folder",
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(failed("cannot lock", e)),
        }
        for entry in std::fs::read_dir(dir).map_err(|e| failed("cannot list", e))? {
            let name = entry.map_err(|e| failed("cannot list", e))?.file_name().to_string_lossy().into_owned();
            if is_temporary_name(&name) && OWN_TEMPORARIES.iter().any(|prefix| name.starts_with(prefix)) {
                std::fs::remove_file(dir.join(&name)).map_err(|e| failed(&format!("cannot remove {name}"), e))?;
            }
        }
        Ok(Self { path: dir.join(PARTIAL_FILE), key, _lock: lock })
    }

    /// The dimension of the codes of the run.
    pub fn dim(&self) -> usize {
        self.key.dim
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// The accumulator and the chunks done of this run, if the folder holds its state; a state of
    /// another run is an error unless `start_over`.
    pub fn load(&self, start_over: bool) -> Result<Option<(PcaAccumulator, usize)>, CliError> {
        if !self.path.exists() {
            return Ok(None);
        }
        let bad = |reason: String| CliError::new(format!("{}: {reason}", self.path.display()));
        let state_len = PcaAccumulator::state_len(self.key.dim)
            .ok_or_else(|| bad(format!("no state of {}-dimensional codes fits in memory", self.key.dim)))?
            as u64;
        let file = std::fs::File::open(&self.path).map_err(|e| bad(format!("cannot open: {e}")))?;
        let len = file.metadata().map_err(|e| bad(format!("cannot read: {e}")))?.len();
        if len > MAX_HEADER + state_len {
            return Err(bad(format!("{len} bytes: not the state of a run of {}-dimensional codes", self.key.dim)));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(len).read_to_end(&mut bytes).map_err(|e| bad(format!("cannot read: {e}")))?;
        let line_end = bytes.iter().position(|&b| b == b'\n').ok_or_else(|| bad("no header line".into()))?;
        let header: Header =
            serde_json::from_slice(&bytes[..line_end]).map_err(|e| bad(format!("not a ganspace state: {e}")))?;
        if header.run != self.key {
            if start_over {
                return Ok(None);
            }
            return Err(bad(format!("holds another run ({:?}); pass --force to start this one over", header.run)));
        }
        let accumulator =
            PcaAccumulator::from_bytes(&bytes[line_end + 1..], self.key.dim).map_err(|e| bad(e.to_string()))?;
        let chunks = self.key.samples.div_ceil(self.key.batch);
        let expected = (header.chunks_done * self.key.batch).min(self.key.samples) as u64;
        if header.chunks_done > chunks || accumulator.count() != expected {
            return Err(bad(format!(
                "{} chunks done, {} codes summed: inconsistent",
                header.chunks_done,
                accumulator.count()
            )));
        }
        Ok(Some((accumulator, header.chunks_done)))
    }

    /// Replaces the state with `accumulator` after `chunks_done` chunks (atomically).
    pub fn save(&self, accumulator: &PcaAccumulator, chunks_done: usize) -> Result<(), CliError> {
        let header = Header { run: self.key.clone(), chunks_done };
        let mut bytes = serde_json::to_vec(&header).expect("the header serialises");
        bytes.push(b'\n');
        bytes.extend_from_slice(&accumulator.to_bytes());
        write_atomic(&self.path, &bytes, true)?;
        Ok(())
    }

    /// Removes the state of a finished run.
    pub fn remove(&self) -> Result<(), CliError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::new(format!("{}: cannot remove: {e}", self.path.display()))),
        }
    }
}
