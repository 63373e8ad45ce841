use std::fmt;
use std::path::Path;

/// A failure reported as one line on stderr. Bad input (files, shapes, values) exits with 2,
/// as clap does for bad arguments.
pub struct CliError {
    message: String,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    pub fn exit_code(&self) -> u8 {
        2
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the source said.
        f.write_str(&self.message.replace('\n', " "))
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::new(e.to_string())
    }
}

/// Refuses to run when one of `outputs` exists, unless `force`: every output is checked before
/// anything is written, and the first existing one is named.
pub fn refuse_existing<P: AsRef<Path>>(outputs: impl IntoIterator<Item = P>, force: bool) -> Result<(), CliError> {
    if force {
        return Ok(());
    }
    match outputs.into_iter().find(|p| p.as_ref().exists()) {
        Some(existing) => {
            Err(CliError::new(format!("{} already exists (pass --force to replace it)", existing.as_ref().display())))
        }
        None => Ok(()),
    }
}
