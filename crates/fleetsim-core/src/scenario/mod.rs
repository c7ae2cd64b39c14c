//! Scenarios: the TOML file (`spec`, and `keys`, every key it can hold), the values in it
//! (`units`, `dist`), parsing with `--set` overrides (`parse`, `overrides`) into file:line:column
//! errors (`error`) with hints (`hints`), validation into the resolved [`Scenario`]
//! (`resolve`), and the power-on schedule every engine boots devices by (`schedule`).
//!
//! Nothing here does I/O: the binary crate's `input` module reads files and hands the text in.

pub mod dist;
pub mod error;
mod hints;
pub mod keys;
pub mod overrides;
pub mod parse;
pub mod resolve;
pub mod schedule;
pub mod spec;
pub mod units;

pub use dist::Dist;
pub use error::{ScenarioError, position};
pub use parse::load_str;
pub use schedule::Arrival;

use crate::device::retry::{RetryPolicy, Timeouts};
use crate::quota::{DpsLimits, HubLimits, Tier};
use crate::time::SimDuration;
use spec::ScenarioSpec;

/// A validated scenario with every default filled in: what the engines run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Hex digest of the effective scenario (file + `--set`, seed excluded), so two runs can
    /// tell whether they ran the same thing.
    pub hash: String,
    pub seed: u64,
    pub max_duration: SimDuration,
    pub timeline_bucket: SimDuration,
    pub fleet: Fleet,
    pub arrival: Arrival,
    pub dps: Dps,
    pub hub: Hub,
    /// `[slo]`: conditions `fleetsim run` checks on the results, in key order.
    pub slo: Vec<crate::metric::Slo>,
    /// `[compare]`: per-metric tolerances for `fleetsim compare`, recorded in summary.json.
    pub compare: Vec<crate::metric::Tolerance>,
    /// The effective spec (after `--set`), kept for hashing and echoing into results.
    pub spec: ScenarioSpec,
}

#[derive(Clone, Debug)]
pub struct Fleet {
    pub devices: u64,
    pub registered_share: f64,
    pub cached_assignment_share: f64,
    pub id_pattern: IdPattern,
    /// Never empty; shares add up to 1.
    pub classes: Vec<DeviceClass>,
}

/// A device class with every behaviour resolved (class → `[device]` → built-in default).
#[derive(Clone, Debug)]
pub struct DeviceClass {
    pub name: String,
    pub share: f64,
    pub boot_delay: Dist,
    pub provisioning: Provisioning,
    pub status_lookup: bool,
    pub on_poll_failure: PollFailure,
    pub hub_failures_before_dps: u32,
    pub telemetry: TelemetryMode,
    pub telemetry_interval: SimDuration,
    pub telemetry_size: u32,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    pub dead_share: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provisioning {
    /// Reconnect to the cached hub if there is one; DPS otherwise.
    Cached,
    /// Go through DPS on every boot.
    Always,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollFailure {
    KeepPolling,
    Reregister,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TelemetryMode {
    First,
    Continuous,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocation {
    Evenly,
    Hashed,
    Static,
}

#[derive(Clone, Debug)]
pub struct Dps {
    pub instances: u32,
    pub allocation: Allocation,
    pub latency: Dist,
    pub assignment_time: Dist,
    pub retry_after: SimDuration,
    /// None: computed from the throttle (time until it frees up, whole seconds, ≥ 1 s).
    pub throttle_retry_after: Option<SimDuration>,
    pub limits: DpsLimits,
    pub queue: DpsQueue,
}

/// Each DPS stage's bounded concurrency (docs/service-models.md, "DPS: a queue per stage").
#[derive(Clone, Copy, Debug)]
pub struct DpsQueue {
    /// Requests served at once per stage per instance.
    pub workers: u32,
    /// A refused request's worker time, as a share of a served one's.
    pub reject_cost: f64,
}

impl Default for DpsQueue {
    fn default() -> DpsQueue {
        DpsQueue {
            workers: crate::quota::limits::DEFAULT_DPS_WORKERS,
            reject_cost: crate::quota::limits::DEFAULT_DPS_REJECT_COST,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Hub {
    pub count: u32,
    pub tier: Tier,
    pub units: u32,
    pub connect_latency: Dist,
    pub telemetry_latency: Dist,
    /// Per hub.
    pub limits: HubLimits,
}

/// `fleet.id_pattern`, split around its one `{index}` / `{index:0N}` placeholder.
#[derive(Clone, Debug, PartialEq)]
pub struct IdPattern {
    pub prefix: String,
    pub width: usize,
    pub suffix: String,
}

impl IdPattern {
    pub fn id(&self, index: u64) -> String {
        format!(
            "{}{:0w$}{}",
            self.prefix,
            index,
            self.suffix,
            w = self.width
        )
    }
}

impl Scenario {
    /// Which class device `index` belongs to: classes take contiguous, proportional slices of
    /// the index space, so a class's devices are the same whatever the seed or shard.
    pub fn class_of(&self, index: u64) -> usize {
        let frac = (index as f64 + 0.5) / self.fleet.devices.max(1) as f64;
        let mut acc = 0.0;
        for (i, c) in self.fleet.classes.iter().enumerate() {
            acc += c.share;
            if frac < acc {
                return i;
            }
        }
        self.fleet.classes.len() - 1
    }
}
