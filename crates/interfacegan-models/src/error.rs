use std::path::PathBuf;

/// Why a model file cannot be used. Every variant names the file; a file found but wrong is never
/// passed over for another copy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A name that is not in the registry.
    #[error("unknown model `{name}` (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The registry's names.
        known: String,
    },
    /// No folder searched holds the file.
    #[error(
        "model file {file_name} (sha256 {sha256}) not found; searched {}. Put the file in one of them, or set \
         INTERFACEGAN_MODELS to a folder that holds it",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Missing {
        /// The file's name.
        file_name: &'static str,
        /// Its expected sha256.
        sha256: &'static str,
        /// The folders searched, in order.
        searched: Vec<PathBuf>,
    },
    /// A copy of another size than the registry's.
    #[error("{path}: {actual} bytes, but the model file has {expected}; remove or replace it")]
    WrongSize {
        /// The copy.
        path: PathBuf,
        /// The registry's size.
        expected: u64,
        /// The copy's.
        actual: u64,
    },
    /// A copy whose sha256 is not the registry's.
    #[error("{path}: sha256 {actual}, but the model file's is {expected}; remove or replace it")]
    Checksum {
        /// The copy.
        path: PathBuf,
        /// The registry's sha256.
        expected: &'static str,
        /// The copy's.
        actual: String,
    },
    /// A download failed at every source: unreachable, refused by the server, cut, too slow or of
    /// the wrong bytes. Nothing is kept but a partial file that a later download resumes.
    #[error(
        "cannot download {file_name}: {}; put the file (sha256 {sha256}) into one of the folders searched for \
         model files, or set INTERFACEGAN_MODELS to a folder that holds it",
        attempts.iter().map(|(url, reason)| format!("{url}: {reason}")).collect::<Vec<_>>().join("; ")
    )]
    Download {
        /// The file.
        file_name: &'static str,
        /// Its sha256.
        sha256: &'static str,
        /// Each URL tried, with what went wrong there.
        attempts: Vec<(String, String)>,
    },
    /// The operating system refused to read a copy.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The copy.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}
