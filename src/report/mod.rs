//! Results: the results directory every run writes (`results/README.md` documents the format).
//!
//! - [`Summary`] is `summary.json`: what the run measured, byte-for-byte reproducible (same
//!   scenario, seed and engine → same bytes).
//! - [`RunInfo`] is `run.json`: the wall-clock side (time taken, memory, host, command line
//!   with secrets redacted).
//! - [`write_results`] writes those two plus `timeline.csv`, `latency.csv` and
//!   `histograms.hlog` from the [`crate::results::Recorder`], atomically (a temporary sibling
//!   directory renamed into place). [`check_writable`] runs the same checks before a run starts.

pub mod compare;
pub mod junit;
pub mod merge;
pub mod page;
pub mod run_info;
pub mod slo;
pub mod terminal;
pub mod write;

pub use crate::summary::{LatencyMs, OnlineSummary, OpSummary, Operations, ScenarioInfo, Summary};
pub use run_info::{RunInfo, redact_args};
pub use write::{
    FILES, ReportError, check_writable, check_writable_with_room, default_results_dir,
    write_results,
};
