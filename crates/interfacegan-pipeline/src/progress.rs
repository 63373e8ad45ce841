/// Where a long stage reports how far it is. The library draws nothing itself; the command line
/// implements this with progress bars.
pub trait Progress: Sync {
    /// A stage of `total` units (images, chunks) begins.
    fn begin(&self, stage: &str, total: u64) {
        let _ = (stage, total);
    }

    /// `done` units of the current stage are finished (a running total).
    fn set(&self, done: u64) {
        let _ = done;
    }

    /// The current stage is over.
    fn end(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
