//! The scenario file as written: serde types that mirror the TOML one to one.
//!
//! Everything optional here has a default that `resolve` fills in; the resolved, validated form
//! is [`crate::scenario::Scenario`]. Key names are a public contract (CI jobs and `--set` use
//! them); `README.md` documents each one. Every table denies unknown keys so a typo is an error,
//! not a silently ignored setting.

use super::units::{Count, Dur, Share};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    #[serde(default)]
    pub scenario: MetaSpec,
    #[serde(default)]
    pub run: RunSpec,
    pub fleet: FleetSpec,
    #[serde(default)]
    pub arrival: ArrivalSpec,
    /// `[device]`: what every device does unless its class says otherwise. `name` and `share`
    /// belong to classes only.
    #[serde(default)]
    pub device: BehaviourSpec,
    #[serde(default)]
    pub dps: DpsSpec,
    #[serde(default)]
    pub hub: HubSpec,
    /// `[slo]`: metric path → condition, e.g. `"online.t99" = "< 30m"`. `fleetsim run` checks
    /// each one and exits 1 if any fails. Not part of the scenario hash.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub slo: toml::Table,
    /// `[compare]`: metric path → how much worse `fleetsim compare` lets it get than the
    /// baseline, e.g. `"online.t99" = "25%"`. Not part of the scenario hash.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub compare: toml::Table,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetaSpec {
    /// Defaults to the file stem.
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// `run.seed`: the one seed every random draw derives from. Default 1.
    pub seed: Option<u64>,
    /// `run.max_duration`: simulated time after which the run stops even if devices are still
    /// offline. Default 24h.
    pub max_duration: Option<Dur>,
    /// `run.timeline_bucket`: width of one `timeline.csv` row. Default: 1s, widened so a run
    /// has at most 20,000 rows.
    pub timeline_bucket: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    /// `fleet.devices`: how many devices the scenario drives.
    pub devices: Count,
    /// `fleet.registered_share`: share of devices that already have a DPS registration (and so
    /// a device identity on some hub) when the scenario starts. Default 1.0.
    pub registered_share: Option<Share>,
    /// `fleet.cached_assignment_share`: share of devices that kept their hub assignment across
    /// the event and reconnect to it without DPS. At most `registered_share`. Default 0.
    pub cached_assignment_share: Option<Share>,
    /// `fleet.id_pattern`: device ids; `{index}` or `{index:07}` is replaced by the device
    /// index. Default `device-{index:07}`.
    pub id_pattern: Option<String>,
    /// `[[fleet.class]]`: the device mix, each with a `name` and a `share`; shares add up to 1.
    /// Default: one class, all `[device]` defaults.
    #[serde(default)]
    pub class: Vec<BehaviourSpec>,
}

/// Device behaviour keys, shared by `[device]` and `[[fleet.class]]` (serde's `flatten` cannot
/// be combined with `deny_unknown_fields`, so the class-only keys live here too).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BehaviourSpec {
    /// Class only: its name in results.
    pub name: Option<String>,
    /// Class only: its share of the fleet.
    pub share: Option<Share>,
    /// Delay from power-on (the arrival time) to the first connect attempt. Default 0.
    pub boot_delay: Option<DistSpec>,
    /// `"cached"`: reconnect to a cached hub if the device has one, else go to DPS.
    /// `"always"`: go through DPS on every boot, ignoring any cache. Default `"cached"`.
    pub provisioning: Option<ProvisioningSpec>,
    /// Look up the registration status at DPS before registering. Default false.
    pub status_lookup: Option<bool>,
    /// What a device does when its operation-status polls are throttled or time out:
    /// `"keep_polling"` or `"reregister"` (start a new registration, the 2022 amplification).
    /// Default `"keep_polling"`.
    pub on_poll_failure: Option<PollFailureSpec>,
    /// Consecutive failed hub connects before the device goes back to DPS (reference §5a: 10).
    pub hub_failures_before_dps: Option<u32>,
    /// `"first"`: one telemetry message after connecting; `"continuous"`: one every interval
    /// until the run ends. Default `"continuous"`.
    pub telemetry: Option<TelemetrySpec>,
    pub telemetry_interval: Option<Dur>,
    /// Payload bytes per message. Default 300 (reference scenarios.md, payload size).
    pub telemetry_size: Option<Count>,
    pub retry: Option<RetrySpec>,
    pub timeouts: Option<TimeoutSpec>,
    /// Share of these devices that never come back without a manual reset.
    pub dead_share: Option<Share>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningSpec {
    Cached,
    Always,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PollFailureSpec {
    KeepPolling,
    Reregister,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TelemetrySpec {
    First,
    Continuous,
}

/// Retry policy; defaults are the Azure embedded C SDK's recommended constants (reference §1e,
/// §5g): 1 s initial, 100 s max, up to 5 s of random jitter.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    pub initial: Option<Dur>,
    pub max: Option<Dur>,
    pub multiplier: Option<f64>,
    /// A duration (`"5s"`: add U(0, 5 s)) or a percentage (`"5%"`: multiply by 1 + U(0, 5 %)).
    pub jitter: Option<JitterSpec>,
    pub honour_retry_after: Option<bool>,
    /// Retry the first failure at once, with no wait (C and Node SDKs, reference §5b, §5e).
    pub immediate_first_retry: Option<bool>,
    /// Give up after this many consecutive failed attempts of one step; 0 = never.
    pub max_attempts: Option<u32>,
    /// Give up after trying one step for this long; 0 = never.
    pub max_time: Option<Dur>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub enum JitterSpec {
    Absolute(Dur),
    Ratio(f64),
}

/// Per-operation timeouts: how long a device waits for an answer before giving up on it.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSpec {
    pub dps_status_lookup: Option<Dur>,
    pub dps_register: Option<Dur>,
    pub dps_poll: Option<Dur>,
    pub hub_connect: Option<Dur>,
    pub hub_telemetry: Option<Dur>,
}

/// A distribution of durations. A bare duration (`"30s"`) is a constant; a table names the
/// distribution; an array adds its members (router boot + Wi-Fi join + device boot).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum DistSpec {
    Constant(Dur),
    Uniform {
        min: Dur,
        max: Dur,
    },
    Normal {
        mean: Dur,
        sd: Dur,
    },
    /// By median and one upper quantile (p90, p95 or p99), or by median and sigma.
    LogNormal {
        median: Dur,
        upper: Option<(f64, Dur)>,
        sigma: Option<f64>,
    },
    Exponential {
        mean: Dur,
    },
    Sum(Vec<DistSpec>),
}

/// `[arrival]`: when each device powers on. Every kind becomes one boot-time schedule.
/// Flat on purpose: `--set arrival.window=30m` works whatever the kind, and validation names
/// keys that do not apply to the chosen kind.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ArrivalSpec {
    /// `arrival.kind`: burst, ramp, wave, poisson or curve. Default burst.
    pub kind: Option<ArrivalKind>,
    /// When the first device can power on. Default 0.
    pub start: Option<Dur>,
    /// `arrival.window`: burst and ramp spread devices over this window; wave spreads each
    /// wave over it. Default 0 (burst: all at once).
    pub window: Option<Dur>,
    /// burst: uniform (default), normal (mean at mid-window, 99.7 % inside) or exponential
    /// (most devices early, mean at a fifth of the window).
    pub spread: Option<SpreadKind>,
    /// ramp: relative boot rate at the start and at the end of the window (default 0 → 1).
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// wave: a wave starts every `every`, taking `fractions[i]` of the fleet.
    pub every: Option<Dur>,
    pub fractions: Option<Vec<Share>>,
    /// wave: or explicit waves, each `{ at, share, window }`.
    pub waves: Option<Vec<WaveSpec>>,
    /// poisson: boots per second.
    pub rate: Option<f64>,
    /// curve: relative rate in each `step` (e.g. hourly weights of a day).
    pub step: Option<Dur>,
    pub weights: Option<Vec<f64>>,
    /// curve: multiplier per repetition of `weights` (e.g. per day, Dec 20..31). Default [1].
    pub days: Option<Vec<f64>>,
    /// curve: time zones, each `{ share, offset }`; a device follows the curve in local time.
    pub zones: Option<Vec<ZoneSpec>>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalKind {
    Burst,
    Ramp,
    Wave,
    Poisson,
    Curve,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SpreadKind {
    Uniform,
    Normal,
    Exponential,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WaveSpec {
    pub at: Dur,
    pub share: Share,
    pub window: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub share: Share,
    pub offset: Dur,
}

/// `[dps]`: the Device Provisioning Service.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DpsSpec {
    /// `dps.instances`: devices are enrolled across instances by index (reference §4c: ≤ 10
    /// per subscription). Default 1.
    pub instances: Option<u32>,
    /// How DPS assigns a registering device to a hub: `evenly` (fewest devices, default),
    /// `hashed` (by device index) or `static` (always the first hub).
    pub allocation: Option<AllocationSpec>,
    /// Service time of one DPS request.
    pub latency: Option<DistSpec>,
    /// Time from an accepted register to the assignment being done (polls see 202 until then).
    pub assignment_time: Option<DistSpec>,
    /// `retry-after` on a 202 "assigning" answer (reference §1c example: 3 s).
    pub retry_after: Option<Dur>,
    /// `retry-after` on a 429; default: the time until the throttle frees up, rounded up to
    /// whole seconds, at least 1 s.
    pub throttle_retry_after: Option<Dur>,
    #[serde(default)]
    pub limits: DpsLimitsSpec,
    #[serde(default)]
    pub queue: DpsQueueSpec,
}

/// `[dps.queue]`: how many requests each stage of an instance serves at once, and what a
/// refusal costs (docs/service-models.md, "DPS: a queue per stage"; both inferences).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DpsQueueSpec {
    /// Requests served at once per stage (register, poll, lookup) per instance.
    pub workers: Option<u32>,
    /// A refused request's worker time, as a share of a served request's service time (0–1).
    pub reject_cost: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AllocationSpec {
    Evenly,
    Hashed,
    Static,
}

/// Overrides of the published DPS limits (reference §4c), per instance.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DpsLimitsSpec {
    pub registrations_per_min: Option<f64>,
    pub operations_per_min: Option<f64>,
    /// Polls (GetOperations) per minute per instance, apart from registrations.
    pub operation_status_per_min: Option<f64>,
    pub polls_per_device: Option<u32>,
    pub poll_window: Option<Dur>,
    pub registrations_per_instance: Option<Count>,
    /// Whether status lookups count against `operations_per_min`.
    pub lookups_are_operations: Option<bool>,
    /// How much of a limit may be used at once (token-bucket depth), as time at the limit rate.
    pub burst: Option<Dur>,
}

/// `[hub]`: the IoT hubs, all of one tier and unit count.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HubSpec {
    /// `hub.count`. Default 1.
    pub count: Option<u32>,
    /// `hub.tier`: F1, B1, B2, B3, S1, S2, S3. Default S1.
    pub tier: Option<String>,
    /// `hub.units`. Default 1.
    pub units: Option<u32>,
    pub connect_latency: Option<DistSpec>,
    pub telemetry_latency: Option<DistSpec>,
    #[serde(default)]
    pub limits: HubLimitsSpec,
}

/// Overrides of the published IoT Hub limits (reference §4a, §4b), per hub, in totals.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HubLimitsSpec {
    pub connects_per_s: Option<f64>,
    pub d2c_per_s: Option<f64>,
    pub messages_per_day: Option<Count>,
    pub devices: Option<Count>,
    /// Traffic shaping (reference §4b): a burst above the limit passes for this long at the
    /// limit rate's worth of tokens...
    pub burst: Option<Dur>,
    /// ...then requests queue, and are refused (429002) once the queue holds this much time
    /// of work.
    pub backlog: Option<Dur>,
    /// The longest wait in that queue before the hub ends it (429003); default the backlog.
    pub backlog_timeout: Option<Dur>,
}
