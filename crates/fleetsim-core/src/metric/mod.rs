//! The metric vocabulary every layer shares: the operations a run reports on ([`Op`]) and how
//! an attempt ends ([`Outcome`]); metric paths into `summary.json` and their units (`path`);
//! conditions, SLOs and verdicts on them (`condition`); `fleetsim compare`'s tolerances
//! (`tolerance`); and the one duration formatter (`duration`).
//!
//! Pure: no I/O. The recorder that counts these lives with the results, outside the core.

pub mod condition;
pub mod duration;
pub mod path;
pub mod tolerance;

pub use condition::{
    Amount, CmpOp, Condition, Slo, Verdict, amount_in, check, evaluate, parse_amount, split_slo,
};
pub use path::{
    Metric, MetricError, MetricErrorKind, Unit, known_metrics, lookup, metric, number,
    summary_schema,
};
pub use tolerance::{Allowance, Better, Tolerance, parse_tolerance};

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
