//! What a run measured, as the engines record it and the results directory holds it: the
//! [`Recorder`] (per-operation counts, latency histograms, the timeline), the `histograms.hlog`
//! codec, the summary built from a finished recorder (`summary`), the live engine's figures
//! from its histograms (`live`), and waste accounting over the timeline (`waste`).
//!
//! Both engines feed one [`Recorder`]. Latency is always measured from when the device *meant*
//! to act (its scheduled time), never from when a busy engine got round to it.

mod hlog;
pub mod live;
mod recorder;
pub mod summary;
mod timeline;
pub mod waste;

pub use crate::metric::{Op, Outcome};
pub use hlog::{EncodedInterval, SIGFIG};
pub use recorder::{MIN_HLOG_INTERVAL, ONLINE_AT_TAG, ONLINE_SHARES, OnlineTimes, Recorder};
pub use summary::{build_summary, latency_ms, model_beside_measured};
pub use timeline::{Levels, OpCounts, Timeline, TimelineRow};
