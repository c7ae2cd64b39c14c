//! What a run measures: per-operation counts and latency histograms, and a timeline.
//!
//! Both engines feed one [`Recorder`]. Latency is always measured from when the device *meant*
//! to act (its scheduled time), never from when a busy engine got round to it.

mod hlog;
mod recorder;
mod timeline;

pub use hlog::{EncodedInterval, SIGFIG};
pub use recorder::{MIN_HLOG_INTERVAL, ONLINE_AT_TAG, ONLINE_SHARES, OnlineTimes, Recorder};
pub use timeline::{Levels, OpCounts, Timeline, TimelineRow};

use serde::Serialize;

/// The operations a run reports on, in `summary.json` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Op {
    DpsStatusLookup,
    DpsRegister,
    DpsPoll,
    HubConnect,
    HubTelemetry,
    /// End to end: from the device's first connect attempt after power-on until it is connected
    /// to its hub.
    BootToOnline,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::DpsStatusLookup,
        Op::DpsRegister,
        Op::DpsPoll,
        Op::HubConnect,
        Op::HubTelemetry,
        Op::BootToOnline,
    ];

    /// The name used in `summary.json` (`operations.<name>`), CSV headers and SLO paths.
    pub fn name(self) -> &'static str {
        match self {
            Op::DpsStatusLookup => "dps.status_lookup",
            Op::DpsRegister => "dps.register",
            Op::DpsPoll => "dps.poll",
            Op::HubConnect => "hub.connect",
            Op::HubTelemetry => "hub.telemetry",
            Op::BootToOnline => "device.boot_to_online",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// How one attempt of an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Ok,
    /// The service said 429 (or, on MQTT hub paths, closed the connection for throttling).
    Throttled,
    /// Any other refusal (quota exceeded, device limit, not found, auth).
    Error,
    /// No answer within the device's timeout.
    Timeout,
}
