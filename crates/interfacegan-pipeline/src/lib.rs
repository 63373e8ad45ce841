//! InterFaceGAN end to end, at any scale: sample latent codes and score their images in chunks
//! (resumable, shardable over machines, [`merge_chunks`] to join), fit one boundary per attribute,
//! derive the conditional directions, render edits, re-score moved codes to measure
//! disentanglement, and write everything to a run folder with a self-contained `report.html`.
//!
//! [`Pipeline`] runs all stages; each stage is also a function of its own.
#![warn(missing_docs)]

mod batch;
mod directions;
mod edit;
mod error;
mod matching;
mod options;
mod pipeline;
mod plots;
mod progress;
mod report;
mod rescore;
mod run_folder;
mod sample;

pub use directions::{Direction, conditional_directions};
pub use edit::{Edits, MAX_EDIT_IMAGE_BYTES, MAX_EDIT_STEPS, check_edit_size, edit_codes};
pub use error::PipelineError;
pub use matching::{
    AttributeMatch, DirectionEffects, MatchOptions, MatchTable, match_directions, match_sheets, stage_match_files,
};
pub use options::PipelineOptions;
pub use pipeline::{
    AttributeOutcome, EditSheet, OFFICIAL_CHOSEN_RATIO, Pipeline, PipelineOutcome, chosen_ratio, edited_in_report,
};
pub use progress::{Progress, Silent};
pub use report::{REPORT_SECTIONS, findings, match_html, match_page, write_report};
pub use rescore::{RescoreOptions, RescoreRow, RescoreTable, rescore};
pub use run_folder::{
    CHUNKS_DIR, LOCK_FILE, MANIFEST_FILE, MAX_ATTRIBUTES, MAX_CHUNK_VALUES, MAX_LATENT_DIM, MAX_NAME_LENGTH,
    MAX_SAMPLES, RunManifest, is_safe_name,
};
pub use sample::{MergeReport, SampleOptions, SampleReport, Shard, merge_chunks, sample_and_score};
