//! Engines move time and bytes; behaviour lives in the sans-IO core.
//!
//! `virtual_time`: a deterministic discrete-event loop over the device state machines and the
//! in-process service models (`virtual` is a Rust keyword, hence the name). `live`: the same
//! state machines on the wall clock over real sockets. Both end with a [`StopReason`].

pub mod live;
pub mod queue;

pub mod virtual_time;

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Every device is online with its first telemetry sent, or will never be.
    AllSettled,
    /// `run.max_duration` of simulated time passed first.
    MaxDuration,
    /// Stopped from outside (Ctrl-C, SIGTERM).
    Interrupted,
    /// Live engine: the endpoint stopped accepting connections for longer than allowed.
    EndpointLost,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::AllSettled => "all_settled",
            StopReason::MaxDuration => "max_duration",
            StopReason::Interrupted => "interrupted",
            StopReason::EndpointLost => "endpoint_lost",
        }
    }
}
