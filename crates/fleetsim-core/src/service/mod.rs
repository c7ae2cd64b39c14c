//! Models of DPS and IoT Hub: quotas as GCRA token buckets, latency distributions, the daily
//! message quota, device-count limits and registration state.
//!
//! A model takes a request and `now` and answers at once with what the device will see and
//! after how long ([`Response`]). The virtual engine calls the models in-process; the mock
//! server (live) maps MQTT packets onto the same calls. No I/O, no clocks.

pub mod dps;
pub mod gcra;
pub mod hub;
pub mod queue;

#[cfg(test)]
mod overload_tests;

pub use dps::DpsModel;
pub use hub::HubModel;

use crate::metric::Op;
use crate::time::SimDuration;

/// Index of a hub among the scenario's hubs.
pub type HubId = u16;

/// What a device asks a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Device Registration Status Lookup (reference §1f).
    StatusLookup,
    /// `PUT/iotdps-register` (reference §1c).
    Register,
    /// `GET/iotdps-get-operationstatus` (reference §1c).
    Poll,
    /// MQTT CONNECT to a hub (reference §2a).
    Connect { hub: HubId },
    /// Device-to-cloud PUBLISH of `size` bytes (reference §2b).
    Telemetry { hub: HubId, size: u32 },
}

impl Request {
    /// The operation a request is an attempt of.
    pub fn op(self) -> Op {
        match self {
            Request::StatusLookup => Op::DpsStatusLookup,
            Request::Register => Op::DpsRegister,
            Request::Poll => Op::DpsPoll,
            Request::Connect { .. } => Op::HubConnect,
            Request::Telemetry { .. } => Op::HubTelemetry,
        }
    }
}

/// What the device gets back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Status lookup: registered and assigned to this hub.
    Registered {
        hub: HubId,
    },
    /// Status lookup: no registration (404).
    NotRegistered,
    /// Register accepted: `202` with an operation id; poll after `retry_after` (reference §1c).
    Accepted {
        retry_after_s: u16,
    },
    /// Poll: still assigning, `202` with `retry-after` (reference §1c).
    Assigning {
        retry_after_s: u16,
    },
    /// Poll: `200`, assigned (reference §1c step 5).
    Assigned {
        hub: HubId,
    },
    /// Hub: CONNACK 0.
    Connected,
    /// Hub: PUBACK.
    Acked,
    /// DPS `429` with `retry-after` (reference §1e); on hub MQTT paths no retry-after exists
    /// (CONNACK refusal / connection closed, reference §2g): `retry_after_s` = 0.
    Throttled {
        retry_after_s: u16,
    },
    Refused(Refusal),
}

/// Refusals other than throttling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// DPS: no operation to poll, or a failed assignment (e.g. every hub full).
    Failed,
    /// DPS: the instance holds its maximum of registrations (reference §4c).
    RegistrationLimit,
    /// Hub: `403002 IotHubQuotaExceeded`, the daily message quota is spent (reference §4a).
    QuotaExceeded,
    /// Live engine: the transport failed (connection refused or reset, closed before the
    /// answer, TLS failure). The models never answer this.
    Network,
    /// Live engine: credentials refused (CONNACK 4 or 5, DPS 401). The models never answer
    /// this.
    Unauthorized,
}

impl Answer {
    /// The `retry-after` the service sent, if any.
    pub fn retry_after(self) -> Option<SimDuration> {
        match self {
            Answer::Throttled { retry_after_s } if retry_after_s > 0 => {
                Some(SimDuration::from_secs(retry_after_s as u64))
            }
            _ => None,
        }
    }

    /// Packs the answer into 32 bits so an event-queue entry stays 16 bytes.
    pub fn pack(self) -> u32 {
        let (tag, v): (u32, u32) = match self {
            Answer::Registered { hub } => (0, hub as u32),
            Answer::NotRegistered => (1, 0),
            Answer::Accepted { retry_after_s } => (2, retry_after_s as u32),
            Answer::Assigning { retry_after_s } => (3, retry_after_s as u32),
            Answer::Assigned { hub } => (4, hub as u32),
            Answer::Connected => (5, 0),
            Answer::Acked => (6, 0),
            Answer::Throttled { retry_after_s } => (7, retry_after_s as u32),
            Answer::Refused(Refusal::Failed) => (8, 0),
            Answer::Refused(Refusal::RegistrationLimit) => (9, 0),
            Answer::Refused(Refusal::QuotaExceeded) => (10, 0),
            Answer::Refused(Refusal::Network) => (11, 0),
            Answer::Refused(Refusal::Unauthorized) => (12, 0),
        };
        (tag << 16) | v
    }

    pub fn unpack(x: u32) -> Answer {
        let v = (x & 0xffff) as u16;
        match x >> 16 {
            0 => Answer::Registered { hub: v },
            1 => Answer::NotRegistered,
            2 => Answer::Accepted { retry_after_s: v },
            3 => Answer::Assigning { retry_after_s: v },
            4 => Answer::Assigned { hub: v },
            5 => Answer::Connected,
            6 => Answer::Acked,
            7 => Answer::Throttled { retry_after_s: v },
            8 => Answer::Refused(Refusal::Failed),
            9 => Answer::Refused(Refusal::RegistrationLimit),
            10 => Answer::Refused(Refusal::QuotaExceeded),
            11 => Answer::Refused(Refusal::Network),
            _ => Answer::Refused(Refusal::Unauthorized),
        }
    }
}

/// A service's answer and how long after the request the device sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub after: SimDuration,
    pub answer: Answer,
}

/// Whole seconds for a `retry-after` header: rounded up, at least 1 (reference §1e: an integer
/// number of seconds), at most u16::MAX.
pub fn retry_after_secs(wait: SimDuration) -> u16 {
    wait.as_micros()
        .div_ceil(1_000_000)
        .clamp(1, u16::MAX as u64) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_packing() {
        let all = [
            Answer::Registered { hub: 49 },
            Answer::NotRegistered,
            Answer::Accepted { retry_after_s: 3 },
            Answer::Assigning { retry_after_s: 2 },
            Answer::Assigned { hub: 7 },
            Answer::Connected,
            Answer::Acked,
            Answer::Throttled {
                retry_after_s: 65_535,
            },
            Answer::Refused(Refusal::Failed),
            Answer::Refused(Refusal::RegistrationLimit),
            Answer::Refused(Refusal::QuotaExceeded),
            Answer::Refused(Refusal::Network),
            Answer::Refused(Refusal::Unauthorized),
        ];
        for a in all {
            assert_eq!(Answer::unpack(a.pack()), a);
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(SimDuration::from_millis(60)), 1);
        assert_eq!(retry_after_secs(SimDuration::from_millis(2_001)), 3);
        assert_eq!(retry_after_secs(SimDuration::ZERO), 1);
    }
}
