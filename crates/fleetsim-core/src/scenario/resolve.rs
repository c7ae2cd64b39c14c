//! Validation: the typed spec into a [`super::Scenario`] with defaults filled in.
//!
//! Pure: no I/O. An error names the key (`fleet.class[1].share`), says what is wrong and what
//! was expected, and gives a hint where one helps; `load` turns the key into `file:line:col`.
//! Defaults cite the reference sheets (`../shared/reference/azure-iot.md` as "reference §N",
//! `scenarios.md` by section); the ones no source gives are marked ASSUMPTION.

use super::dist::Dist;
use super::spec::{AllocationSpec, DistSpec, DpsSpec, HubSpec, RunSpec, ScenarioSpec};
use super::units::Dur;
use super::{Allocation, Dps, Fleet, Hub, Scenario};
use crate::quota::limits::{MAX_DPS_PER_SUBSCRIPTION, MAX_HUBS_PER_SUBSCRIPTION};
use crate::quota::{DpsLimits, HubLimits, Tier};
use crate::time::SimDuration;
use sha2::{Digest, Sha256};

mod arrival;
mod fleet;
mod gates;

pub use fleet::parse_id_pattern;

/// Why a spec is not a usable scenario: the key, what is wrong, and a hint.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    /// Dotted key path, e.g. `fleet.class[1].share`.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Invalid {
        self.hint = Some(hint.into());
        self
    }
}

type Res<T> = Result<T, Invalid>;

/// The most devices one scenario may drive: the virtual engine's budget is 10M on one machine
/// (DESIGN.md); beyond 100M, shard.
pub const MAX_DEVICES: u64 = 100_000_000;
/// Largest device-to-cloud message (reference §2b: 256 KB).
pub const MAX_TELEMETRY_SIZE: u64 = 262_144;
/// Shares that must add up to 1 may miss by this much.
pub const SHARE_TOLERANCE: f64 = 1e-6;
/// `run.max_duration` default.
pub const DEFAULT_MAX_DURATION: SimDuration = SimDuration::from_secs(24 * 3600);
/// The default timeline bucket is widened until a run has at most this many rows.
pub const TIMELINE_ROWS: u64 = 20_000;
/// A `run.timeline_bucket` given explicitly may not produce more rows than this.
pub const MAX_TIMELINE_ROWS: u64 = 1_000_000;
/// Most steps a curve arrival (weights × days) may have.
const MAX_CURVE_STEPS: usize = 100_000;

/// Consecutive failed hub connects before a device re-provisions (reference §5a: "after 10
/// consecutive failed reconnects ... reprovision through DPS").
pub const DEFAULT_HUB_FAILURES_BEFORE_DPS: u32 = 10;
/// scenarios.md "Device behaviour common to all scenarios", Meters: 1 message per 15 min.
pub const DEFAULT_TELEMETRY_INTERVAL: SimDuration = SimDuration::from_secs(15 * 60);
/// scenarios.md "Payload size": median 300 B [U].
pub const DEFAULT_TELEMETRY_SIZE: u32 = 300;
/// `retry-after` on a DPS 202 (reference §1c example: `retry-after=3`).
pub const DEFAULT_DPS_RETRY_AFTER: SimDuration = SimDuration::from_secs(3);

/// DPS request service time. ASSUMPTION: no source publishes DPS latency; median 50 ms with a
/// p99 of 500 ms is a typical regional HTTPS/MQTT round trip under load.
pub fn default_dps_latency() -> DistSpec {
    lognormal(
        SimDuration::from_millis(50),
        0.99,
        SimDuration::from_millis(500),
    )
}

/// Time from an accepted register to the assignment being done. ASSUMPTION: median 1.5 s, p99
/// 6 s — consistent with the SDKs' 2 s default poll interval and the 3 s retry-after of the
/// reference §1c example, i.e. most devices see one or two "assigning" polls.
pub fn default_assignment_time() -> DistSpec {
    lognormal(
        SimDuration::from_millis(1500),
        0.99,
        SimDuration::from_secs(6),
    )
}

/// Hub CONNECT to CONNACK service time. ASSUMPTION: median 20 ms, p99 200 ms.
pub fn default_connect_latency() -> DistSpec {
    lognormal(
        SimDuration::from_millis(20),
        0.99,
        SimDuration::from_millis(200),
    )
}

/// Telemetry PUBLISH to PUBACK service time. ASSUMPTION: median 10 ms, p99 100 ms.
pub fn default_telemetry_latency() -> DistSpec {
    lognormal(
        SimDuration::from_millis(10),
        0.99,
        SimDuration::from_millis(100),
    )
}

fn lognormal(median: SimDuration, q: f64, at: SimDuration) -> DistSpec {
    DistSpec::LogNormal {
        median: Dur(median),
        upper: Some((q, Dur(at))),
        sigma: None,
    }
}

/// Validates `spec` and fills every default. `origin_stem` (the file stem) names the scenario
/// when `scenario.name` is not given.
pub fn resolve(spec: ScenarioSpec, origin_stem: &str) -> Res<Scenario> {
    let name = match &spec.scenario.name {
        Some(n) => {
            check_name(n, "scenario.name")?;
            n.clone()
        }
        None if origin_stem.trim().is_empty() => "scenario".to_string(),
        None => origin_stem.to_string(),
    };
    let description = spec.scenario.description.clone().unwrap_or_default();
    let (seed, max_duration, timeline_bucket) = run(&spec.run)?;
    let fleet = fleet::fleet(&spec.fleet, &spec.device)?;
    let arrival = arrival::arrival(&spec.arrival, fleet.devices, max_duration)?;
    let dps = dps(&spec.dps)?;
    let hub = hub(&spec.hub)?;
    capacity(&fleet, &dps, &hub)?;
    let slo = gates::slo(&spec.slo)?;
    let compare = gates::compare(&spec.compare)?;
    Ok(Scenario {
        name,
        description,
        hash: spec_hash(&spec),
        seed,
        max_duration,
        timeline_bucket,
        fleet,
        arrival,
        dps,
        hub,
        slo,
        compare,
        spec,
    })
}

/// Hex SHA-256 (first 16 digits) of the effective spec as JSON, with `run.seed` cleared so
/// runs of one scenario under different seeds share a hash, and `[slo]` and `[compare]`
/// cleared because they judge a run without changing it.
pub fn spec_hash(spec: &ScenarioSpec) -> String {
    let mut s = spec.clone();
    s.run.seed = None;
    s.slo.clear();
    s.compare.clear();
    let json = serde_json::to_string(&s).unwrap_or_default();
    Sha256::digest(json.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `1234567` → `1,234,567`, for messages.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn check_name(n: &str, key: &str) -> Res<()> {
    if n.trim().is_empty() {
        return Err(Invalid::new(key, "must not be empty"));
    }
    if n.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Err(Invalid::new(
            key,
            format!("`{n}` contains a path separator or control character"),
        )
        .hint(
            "names become part of the results directory name; use letters, digits, `-` and `_`",
        ));
    }
    Ok(())
}

fn dur(d: SimDuration) -> String {
    if d.is_zero() {
        "0s".to_string()
    } else {
        d.to_string()
    }
}

/// Like [`dur`], rounded up to a whole second (a whole millisecond under one second): an
/// arrival's end is computed in floating point and lands a microsecond short.
fn dur_up(d: SimDuration) -> String {
    let unit = if d.as_micros() >= 1_000_000 {
        1_000_000
    } else {
        1_000
    };
    dur(SimDuration(
        d.as_micros().div_ceil(unit).saturating_mul(unit),
    ))
}

// ---------------------------------------------------------------------------------------------
// [run]

fn run(r: &RunSpec) -> Res<(u64, SimDuration, SimDuration)> {
    let seed = r.seed.unwrap_or(1);
    let max = r.max_duration.map_or(DEFAULT_MAX_DURATION, |d| d.0);
    if max.is_zero() {
        return Err(Invalid::new("run.max_duration", "must be longer than 0")
            .hint("e.g. max_duration = \"12h\""));
    }
    let secs = max.as_secs_f64();
    let bucket = match r.timeline_bucket {
        None => SimDuration::from_secs((secs / TIMELINE_ROWS as f64).ceil().max(1.0) as u64),
        Some(Dur(b)) => {
            if b.is_zero() {
                return Err(Invalid::new("run.timeline_bucket", "must be longer than 0")
                    .hint("leave it out for 1s, widened to at most 20,000 rows"));
            }
            let rows = (secs / b.as_secs_f64()).ceil();
            if rows > MAX_TIMELINE_ROWS as f64 {
                let min = SimDuration::from_secs((secs / MAX_TIMELINE_ROWS as f64).ceil() as u64);
                return Err(Invalid::new(
                    "run.timeline_bucket",
                    format!("{} gives {} timeline rows over run.max_duration = {}; at most {} are allowed", dur(b), thousands(rows as u64), dur(max), thousands(MAX_TIMELINE_ROWS)),
                )
                .hint(format!("use timeline_bucket = \"{}\" or wider, or leave it out", dur(min))));
            }
            b
        }
    };
    Ok((seed, max, bucket))
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn check_dist(d: &DistSpec, key: &str) -> Res<()> {
    if let DistSpec::Sum(parts) = d {
        if parts.is_empty() {
            return Err(Invalid::new(key, "an empty array is not a distribution")
                .hint("write \"0s\" for no delay"));
        }
        for p in parts {
            check_dist(p, key)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// [dps], [hub]

fn positive(x: f64, key: &str) -> Res<f64> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(Invalid::new(key, format!("{x} is not a positive number")))
    }
}

fn nonzero(d: Option<Dur>, key: &str) -> Res<Option<SimDuration>> {
    match d {
        Some(Dur(d)) if d.is_zero() => Err(Invalid::new(key, "must be longer than 0")),
        other => Ok(other.map(|d| d.0)),
    }
}

fn dist_or(d: &Option<DistSpec>, key: &str, default: fn() -> DistSpec) -> Res<Dist> {
    match d {
        Some(d) => {
            check_dist(d, key)?;
            Ok(Dist::compile(d))
        }
        None => Ok(Dist::compile(&default())),
    }
}

fn dps(d: &DpsSpec) -> Res<Dps> {
    let instances = d.instances.unwrap_or(1);
    if !(1..=MAX_DPS_PER_SUBSCRIPTION).contains(&instances) {
        return Err(Invalid::new(
            "dps.instances",
            format!("{instances} is outside 1..={MAX_DPS_PER_SUBSCRIPTION}"),
        )
        .hint("reference §4c: at most 10 DPS instances per subscription"));
    }
    let allocation = match d.allocation.unwrap_or(AllocationSpec::Evenly) {
        AllocationSpec::Evenly => Allocation::Evenly,
        AllocationSpec::Hashed => Allocation::Hashed,
        AllocationSpec::Static => Allocation::Static,
    };
    let latency = dist_or(&d.latency, "dps.latency", default_dps_latency)?;
    let assignment_time = dist_or(
        &d.assignment_time,
        "dps.assignment_time",
        default_assignment_time,
    )?;
    let retry_after = nonzero(d.retry_after, "dps.retry_after")?.unwrap_or(DEFAULT_DPS_RETRY_AFTER);
    let throttle_retry_after = nonzero(d.throttle_retry_after, "dps.throttle_retry_after")?;
    let l = &d.limits;
    let mut limits = DpsLimits::default();
    if let Some(v) = l.registrations_per_min {
        limits.registrations_per_s = positive(v, "dps.limits.registrations_per_min")? / 60.0;
    }
    if let Some(v) = l.operations_per_min {
        limits.operations_per_s = positive(v, "dps.limits.operations_per_min")? / 60.0;
    }
    if let Some(v) = l.polls_per_device {
        if v == 0 {
            return Err(
                Invalid::new("dps.limits.polls_per_device", "must be at least 1")
                    .hint("reference §4c: 5 polls per 10 s per device"),
            );
        }
        limits.polls_per_device = v;
    }
    if let Some(v) = nonzero(l.poll_window, "dps.limits.poll_window")? {
        limits.poll_window = v;
    }
    if let Some(v) = l.registrations_per_instance {
        if v.0 == 0 {
            return Err(Invalid::new(
                "dps.limits.registrations_per_instance",
                "must be at least 1",
            ));
        }
        limits.registrations_per_instance = v.0;
    }
    if let Some(v) = l.lookups_are_operations {
        limits.lookups_are_operations = v;
    }
    if let Some(v) = nonzero(l.burst, "dps.limits.burst")? {
        limits.burst = v;
    }
    Ok(Dps {
        instances,
        allocation,
        latency,
        assignment_time,
        retry_after,
        throttle_retry_after,
        limits,
    })
}

fn hub(h: &HubSpec) -> Res<Hub> {
    let count = h.count.unwrap_or(1);
    if !(1..=MAX_HUBS_PER_SUBSCRIPTION).contains(&count) {
        return Err(Invalid::new(
            "hub.count",
            format!("{count} is outside 1..={MAX_HUBS_PER_SUBSCRIPTION}"),
        )
        .hint("reference §4a: at most 50 paid hubs per subscription"));
    }
    let tier_name = h.tier.as_deref().unwrap_or("S1");
    let tier: Tier = tier_name.parse().map_err(|m: String| {
        Invalid::new("hub.tier", m).hint("F1 is free; B1-B3 are basic and S1-S3 standard, growing in capacity from 1 to 3 (reference §4a)")
    })?;
    if tier == Tier::F1 && count > 1 {
        return Err(Invalid::new(
            "hub.count",
            format!("{count} free (F1) hubs: a subscription has one"),
        )
        .hint("reference §4a: one free hub per subscription; use tier S1 or above"));
    }
    let units = h.units.unwrap_or(1);
    let max_units = tier.limits().max_units;
    if units == 0 {
        return Err(Invalid::new("hub.units", "must be at least 1"));
    }
    if units > max_units {
        let hint = match tier {
            Tier::S3 | Tier::B3 => "use more hubs (hub.count): one S3 unit already allows 6,000 connects/s (reference §4a, §4b)".to_string(),
            Tier::F1 => "use tier S1 or above for more units (reference §4a)".to_string(),
            Tier::S1 | Tier::B1 => format!(
                "use more hubs (hub.count), or tier {0}2: one {0}2 unit allows 10× the connects/s of one {0}1 unit (reference §4a, §4b)",
                &tier.name()[..1]
            ),
            Tier::S2 | Tier::B2 => format!(
                "use more hubs (hub.count), or tier {0}3: one {0}3 unit allows 50× the connects/s of one {0}2 unit (reference §4a, §4b)",
                &tier.name()[..1]
            ),
        };
        return Err(Invalid::new(
            "hub.units",
            format!("{tier} allows at most {max_units} units, not {units}"),
        )
        .hint(hint));
    }
    let connect_latency = dist_or(
        &h.connect_latency,
        "hub.connect_latency",
        default_connect_latency,
    )?;
    let telemetry_latency = dist_or(
        &h.telemetry_latency,
        "hub.telemetry_latency",
        default_telemetry_latency,
    )?;
    let l = &h.limits;
    let mut limits = HubLimits::published(tier, units);
    if let Some(v) = l.connects_per_s {
        limits.connects_per_s = positive(v, "hub.limits.connects_per_s")?;
    }
    if let Some(v) = l.d2c_per_s {
        limits.d2c_per_s = positive(v, "hub.limits.d2c_per_s")?;
    }
    if let Some(v) = l.messages_per_day {
        if v.0 == 0 {
            return Err(Invalid::new(
                "hub.limits.messages_per_day",
                "must be at least 1",
            ));
        }
        limits.messages_per_day = v.0;
    }
    if let Some(v) = l.devices {
        if v.0 == 0 {
            return Err(Invalid::new("hub.limits.devices", "must be at least 1"));
        }
        limits.devices = v.0;
    }
    if let Some(v) = nonzero(l.burst, "hub.limits.burst")? {
        limits.burst = v;
    }
    if let Some(v) = l.backlog {
        limits.backlog = v.0;
    }
    Ok(Hub {
        count,
        tier,
        units,
        connect_latency,
        telemetry_latency,
        limits,
    })
}

/// The fleet must fit the hubs (reference §4a: 1,000,000 devices per hub) and the devices
/// registered at the start must fit the DPS instances (reference §4c: 1,000,000 each).
fn capacity(fleet: &Fleet, dps: &Dps, hub: &Hub) -> Res<()> {
    let hub_cap = (hub.count as u64).saturating_mul(hub.limits.devices);
    if fleet.devices > hub_cap {
        let need = fleet.devices.div_ceil(hub.limits.devices.max(1));
        let hint = if need <= MAX_HUBS_PER_SUBSCRIPTION as u64 {
            format!("raise hub.count to at least {need}")
        } else {
            "that needs more than 50 hubs (reference §4a); split the fleet across scenarios"
                .to_string()
        };
        return Err(Invalid::new(
            "fleet.devices",
            format!(
                "{} devices do not fit on {} hub{} of {} devices each (reference §4a)",
                thousands(fleet.devices),
                hub.count,
                if hub.count == 1 { "" } else { "s" },
                thousands(hub.limits.devices)
            ),
        )
        .hint(hint));
    }
    let registered = (fleet.devices as f64 * fleet.registered_share).ceil() as u64;
    let dps_cap = (dps.instances as u64).saturating_mul(dps.limits.registrations_per_instance);
    if registered > dps_cap {
        let need = registered.div_ceil(dps.limits.registrations_per_instance.max(1));
        let hint = if need <= MAX_DPS_PER_SUBSCRIPTION as u64 {
            format!("raise dps.instances to at least {need}")
        } else {
            "that needs more than 10 DPS instances (reference §4c); lower fleet.registered_share or split the fleet".to_string()
        };
        return Err(Invalid::new(
            "fleet.devices",
            format!(
                "{} registered devices do not fit in {} DPS instance{} of {} registrations each (reference §4c)",
                thousands(registered),
                dps.instances,
                if dps.instances == 1 { "" } else { "s" },
                thousands(dps.limits.registrations_per_instance)
            ),
        )
        .hint(hint));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::retry::{RetryPolicy, Timeouts};
    use crate::scenario::arrival::{Arrival, Spread};

    fn spec(devices: u64) -> ScenarioSpec {
        let mut s = ScenarioSpec::default();
        s.fleet.devices = super::super::units::Count(devices);
        s
    }

    #[test]
    fn defaults_are_filled() {
        let s = resolve(spec(1000), "demo").unwrap();
        assert_eq!(s.name, "demo");
        assert_eq!(s.seed, 1);
        assert_eq!(s.max_duration, SimDuration::from_secs(86_400));
        // 86,400 s / 20,000 rows = 4.32 → 5 s buckets.
        assert_eq!(s.timeline_bucket, SimDuration::from_secs(5));
        assert_eq!(s.fleet.classes.len(), 1);
        let c = &s.fleet.classes[0];
        assert_eq!((c.name.as_str(), c.share), ("device", 1.0));
        assert_eq!(c.retry, RetryPolicy::default());
        assert_eq!(c.timeouts, Timeouts::default());
        assert_eq!(c.hub_failures_before_dps, 10);
        assert_eq!(c.telemetry_interval, SimDuration::from_secs(900));
        assert_eq!(c.telemetry_size, 300);
        assert_eq!(s.fleet.id_pattern.id(42), "device-0000042");
        assert_eq!(s.dps.instances, 1);
        assert_eq!(s.dps.retry_after, SimDuration::from_secs(3));
        assert!((s.dps.limits.registrations_per_s - 1000.0 / 60.0).abs() < 1e-9);
        assert_eq!((s.hub.count, s.hub.tier, s.hub.units), (1, Tier::S1, 1));
        assert_eq!(s.hub.limits.connects_per_s, 100.0);
        assert_eq!(
            s.arrival,
            Arrival::Burst {
                start: SimDuration::ZERO,
                window: SimDuration::ZERO,
                spread: Spread::Uniform
            }
        );
        assert_eq!(s.hash.len(), 16);
    }

    #[test]
    fn hash_ignores_the_seed_only() {
        let a = spec(1000);
        let mut b = a.clone();
        b.run.seed = Some(99);
        assert_eq!(spec_hash(&a), spec_hash(&b));
        b.fleet.devices = super::super::units::Count(1001);
        assert_ne!(spec_hash(&a), spec_hash(&b));
    }

    #[test]
    fn id_patterns() {
        let p = parse_id_pattern("m-{index}", 10).unwrap();
        assert_eq!(p.id(7), "m-7");
        let p = parse_id_pattern("{index:03}.x", 10).unwrap();
        assert_eq!(p.id(7), "007.x");
        for bad in [
            "plain",
            "a-{idx}",
            "a-{index}-{index}",
            "a-{index:7}",
            "a {index}",
            "a-{index}.",
            "a-{index:099}",
            "{index",
        ] {
            assert!(parse_id_pattern(bad, 10).is_err(), "{bad}");
        }
        assert!(parse_id_pattern(&format!("{}{{index}}", "a".repeat(125)), 10_000).is_err());
    }

    #[test]
    fn timeline_bucket_widens_for_long_runs() {
        let mut s = spec(10);
        s.run.max_duration = Some(Dur(SimDuration::from_secs(13 * 86_400)));
        let r = resolve(s, "x").unwrap();
        assert_eq!(r.timeline_bucket, SimDuration::from_secs(57)); // 1,123,200 / 20,000 = 56.16
        let mut s = spec(10);
        s.run.max_duration = Some(Dur(SimDuration::from_secs(3600)));
        assert_eq!(
            resolve(s, "x").unwrap().timeline_bucket,
            SimDuration::from_secs(1)
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
