//! The published limits of DPS and IoT Hub, as data. Every number cites the reference section
//! (`../shared/reference/azure-iot.md`) it comes from; a scenario can override each of them for
//! services whose limits differ (`[dps.limits]`, `[hub.limits]`).

use crate::time::SimDuration;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// IoT Hub pricing tiers (reference §4a).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tier {
    F1,
    B1,
    B2,
    B3,
    S1,
    S2,
    S3,
}

impl Tier {
    pub const ALL: [Tier; 7] = [
        Tier::F1,
        Tier::B1,
        Tier::B2,
        Tier::B3,
        Tier::S1,
        Tier::S2,
        Tier::S3,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tier::F1 => "F1",
            Tier::B1 => "B1",
            Tier::B2 => "B2",
            Tier::B3 => "B3",
            Tier::S1 => "S1",
            Tier::S2 => "S2",
            Tier::S3 => "S3",
        }
    }

    /// The published per-tier limits.
    pub fn limits(self) -> &'static TierLimits {
        match self {
            Tier::F1 => &F1,
            Tier::B1 | Tier::S1 => &S1,
            Tier::B2 | Tier::S2 => &S2,
            Tier::B3 | Tier::S3 => &S3,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Tier, String> {
        Tier::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("`{s}` is not an IoT Hub tier (expected one of F1, B1, B2, B3, S1, S2, S3)")
            })
    }
}

/// One tier's limits, per unit where the docs say per unit.
#[derive(Debug, PartialEq)]
pub struct TierLimits {
    /// Daily message quota per unit (reference §4a).
    pub messages_per_day_per_unit: u64,
    /// The daily quota's meter: a message of N bytes counts ceil(N / meter) (reference §4a).
    pub meter_bytes: u32,
    /// Most units a hub of this tier can have (reference §4a).
    pub max_units: u32,
    /// New device connections per second: max(floor, per_unit × units) (reference §4b).
    pub connects_floor_per_s: f64,
    pub connects_per_unit_per_s: f64,
    /// Device-to-cloud sends per second, same shape (reference §4b).
    pub d2c_floor_per_s: f64,
    pub d2c_per_unit_per_s: f64,
    /// Devices (plus modules) per hub (reference §4a: 1,000,000). F1: 500, UNCONFIRMED in
    /// current docs (from the 2016-era portal doc only).
    pub devices_per_hub: u64,
}

/// reference §4a (F1: 8,000 msgs/day, 0.5 KB meter, 1 unit), §4b (Free row: higher of 100/s or
/// 12/s/unit).
pub const F1: TierLimits = TierLimits {
    messages_per_day_per_unit: 8_000,
    meter_bytes: 512,
    max_units: 1,
    connects_floor_per_s: 100.0,
    connects_per_unit_per_s: 12.0,
    d2c_floor_per_s: 100.0,
    d2c_per_unit_per_s: 12.0,
    devices_per_hub: 500,
};

/// reference §4a (B1/S1: 400,000 msgs/day/unit, 200 units), §4b (higher of 100/s or 12/s/unit).
pub const S1: TierLimits = TierLimits {
    messages_per_day_per_unit: 400_000,
    meter_bytes: 4096,
    max_units: 200,
    connects_floor_per_s: 100.0,
    connects_per_unit_per_s: 12.0,
    d2c_floor_per_s: 100.0,
    d2c_per_unit_per_s: 12.0,
    devices_per_hub: 1_000_000,
};

/// reference §4a (B2/S2: 6,000,000 msgs/day/unit, 200 units), §4b (120/s/unit).
pub const S2: TierLimits = TierLimits {
    messages_per_day_per_unit: 6_000_000,
    meter_bytes: 4096,
    max_units: 200,
    connects_floor_per_s: 0.0,
    connects_per_unit_per_s: 120.0,
    d2c_floor_per_s: 0.0,
    d2c_per_unit_per_s: 120.0,
    devices_per_hub: 1_000_000,
};

/// reference §4a (B3/S3: 300,000,000 msgs/day/unit, 10 units), §4b (6,000/s/unit).
pub const S3: TierLimits = TierLimits {
    messages_per_day_per_unit: 300_000_000,
    meter_bytes: 4096,
    max_units: 10,
    connects_floor_per_s: 0.0,
    connects_per_unit_per_s: 6_000.0,
    d2c_floor_per_s: 0.0,
    d2c_per_unit_per_s: 6_000.0,
    devices_per_hub: 1_000_000,
};

/// Paid hubs per subscription (reference §4a).
pub const MAX_HUBS_PER_SUBSCRIPTION: u32 = 50;
/// DPS instances per subscription (reference §4c).
pub const MAX_DPS_PER_SUBSCRIPTION: u32 = 10;
/// Linked hubs per DPS instance (reference §4c).
pub const MAX_LINKED_HUBS: u32 = 50;

/// Published DPS limits, per instance (reference §4c, current 2024-03-06 values).
pub mod dps {
    /// Device registrations per minute per service.
    pub const REGISTRATIONS_PER_MIN: f64 = 1_000.0;
    /// Operations per minute per service.
    pub const OPERATIONS_PER_MIN: f64 = 1_000.0;
    /// Operation-status polls (GetOperations) per minute per service. NOT PUBLISHED: an
    /// INFERENCE (docs/service-models.md, "DPS: three limits"): DPS throttles the polling GET
    /// apart from the registration PUT, and the 2022 incident was fixed by raising the
    /// GetOperations quota on its own, so it is a quota of its own; we give it the published
    /// operations rate.
    pub const OPERATION_STATUS_PER_MIN: f64 = 1_000.0;
    /// Operation-status polls: 5 per 10 s per device.
    pub const POLLS_PER_DEVICE: u32 = 5;
    pub const POLL_WINDOW_SECS: u64 = 10;
    /// Registrations per instance.
    pub const REGISTRATIONS_PER_INSTANCE: u64 = 1_000_000;
}

/// How deep a limit's token bucket is, as time at the limit rate. reference §4b: "throttles
/// apply over minute ranges", and 200 D2C/s on a 100/s S1 "runs fine for the first minute or
/// two" — so a minute of the rate may be spent at once. INFERENCE for DPS (its limits are per
/// minute too). Overridable: `dps.limits.burst`, `hub.limits.burst`.
pub const DEFAULT_BURST: SimDuration = SimDuration::from_secs(60);

/// Hub traffic shaping (docs/service-models.md, "Hub: shaping"): once the burst is spent,
/// requests queue at the limit rate; when the queue holds this much work they are refused
/// (429002). The docs give no number: 20 s is our INFERENCE. It must sit under the clients'
/// CONNACK timeout (30 s in the C SDK) with room for the TCP and TLS handshakes and the
/// service time before it: a backlog as long as the timeout (our old default) answered
/// thousands of CONNECTs after their devices had given up.
pub const DEFAULT_BACKLOG: SimDuration = SimDuration::from_secs(20);

/// Workers serving each DPS stage (register, poll, lookup) of one instance at once: INFERENCE
/// (docs/service-models.md, "DPS: a queue per stage"). Enough that the published limits never
/// queue (1,000/min at a 50 ms service time keeps one worker busy), few enough that a storm
/// of retries, each costing a worker a little even when it is refused, can.
pub const DEFAULT_DPS_WORKERS: u32 = 32;

/// What a refused (429) request costs a worker, as a share of a served request's service
/// time: INFERENCE (docs/service-models.md): deciding a 429 is a counter check, far cheaper
/// than a registration, but not free.
pub const DEFAULT_DPS_REJECT_COST: f64 = 0.05;

/// DPS limits for one instance, after scenario overrides.
#[derive(Clone, Debug, Serialize)]
pub struct DpsLimits {
    pub registrations_per_s: f64,
    /// Registers and (with `lookups_are_operations`) status lookups.
    pub operations_per_s: f64,
    /// Polls (GetOperations), service-wide per instance; apart from the per-device limit.
    pub operation_status_per_s: f64,
    pub polls_per_device: u32,
    pub poll_window: SimDuration,
    pub registrations_per_instance: u64,
    /// Whether status lookups count against the operations limit (billing counts every DPS
    /// call as an operation): INFERENCE, default true. Polls have their own limit,
    /// `operation_status_per_s`.
    pub lookups_are_operations: bool,
    pub burst: SimDuration,
}

impl Default for DpsLimits {
    fn default() -> Self {
        DpsLimits {
            registrations_per_s: dps::REGISTRATIONS_PER_MIN / 60.0,
            operations_per_s: dps::OPERATIONS_PER_MIN / 60.0,
            operation_status_per_s: dps::OPERATION_STATUS_PER_MIN / 60.0,
            polls_per_device: dps::POLLS_PER_DEVICE,
            poll_window: SimDuration::from_secs(dps::POLL_WINDOW_SECS),
            registrations_per_instance: dps::REGISTRATIONS_PER_INSTANCE,
            lookups_are_operations: true,
            burst: DEFAULT_BURST,
        }
    }
}

/// One hub's limits, after tier × units and scenario overrides.
#[derive(Clone, Debug, Serialize)]
pub struct HubLimits {
    pub tier: Tier,
    pub units: u32,
    pub connects_per_s: f64,
    pub d2c_per_s: f64,
    pub messages_per_day: u64,
    pub meter_bytes: u32,
    pub devices: u64,
    pub burst: SimDuration,
    pub backlog: SimDuration,
    /// The longest a request waits in the shaping queue before the hub ends the wait itself
    /// (429003 ThrottlingBacklogTimeout); at most `backlog`.
    pub backlog_timeout: SimDuration,
}

impl HubLimits {
    /// The published limits of one hub of `tier` with `units` units.
    pub fn published(tier: Tier, units: u32) -> HubLimits {
        let t = tier.limits();
        let u = units as f64;
        HubLimits {
            tier,
            units,
            connects_per_s: t.connects_floor_per_s.max(t.connects_per_unit_per_s * u),
            d2c_per_s: t.d2c_floor_per_s.max(t.d2c_per_unit_per_s * u),
            messages_per_day: t.messages_per_day_per_unit * units as u64,
            meter_bytes: t.meter_bytes,
            devices: t.devices_per_hub,
            burst: DEFAULT_BURST,
            backlog: DEFAULT_BACKLOG,
            backlog_timeout: DEFAULT_BACKLOG,
        }
    }

    /// How many messages of `size` bytes one message counts as against the daily quota.
    pub fn metered(&self, size: u32) -> u64 {
        (size.max(1) as u64).div_ceil(self.meter_bytes as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s1_connects_are_the_higher_of_floor_and_per_unit() {
        // reference §4b: one S1 unit allows 100 new connections/s.
        assert_eq!(HubLimits::published(Tier::S1, 1).connects_per_s, 100.0);
        assert_eq!(HubLimits::published(Tier::S1, 20).connects_per_s, 240.0);
        assert_eq!(HubLimits::published(Tier::S2, 10).connects_per_s, 1_200.0);
        assert_eq!(HubLimits::published(Tier::S3, 2).d2c_per_s, 12_000.0);
    }

    #[test]
    fn daily_quota_uses_the_4k_meter() {
        let s1 = HubLimits::published(Tier::S1, 2);
        assert_eq!(s1.messages_per_day, 800_000);
        // reference §4a: a 6 KB message counts as 2, a 100 KB one as 25.
        assert_eq!(s1.metered(6 * 1024), 2);
        assert_eq!(s1.metered(100 * 1024), 25);
        assert_eq!(HubLimits::published(Tier::F1, 1).metered(600), 2);
    }

    #[test]
    fn tiers_parse_case_insensitively() {
        assert_eq!("s2".parse::<Tier>(), Ok(Tier::S2));
        assert!("S4".parse::<Tier>().unwrap_err().contains("F1, B1"));
    }
}
