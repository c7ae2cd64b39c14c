//! Validation: the typed spec into a [`super::Scenario`] with defaults filled in.
//!
//! Pure: no I/O. An error names the key (`fleet.class[1].share`), says what is wrong and what
//! was expected, and gives a hint where one helps; `parse` turns the key into `file:line:col`.
//! Defaults cite the reference sheets (`../shared/reference/azure-iot.md` as "reference §N",
//! `scenarios.md` by section); the ones no source gives are marked ASSUMPTION.

use super::dist::Dist;
use super::spec::{
    AllocationSpec, DistSpec, DpsQueueSpec, DpsSpec, HubSpec, RunSpec, ScenarioSpec,
};
use super::units::Dur;
use super::{Allocation, Dps, DpsQueue, Fleet, Hub, Scenario};
use crate::quota::limits::{
    DEFAULT_DPS_REJECT_COST, DEFAULT_DPS_WORKERS, MAX_DPS_PER_SUBSCRIPTION,
    MAX_HUBS_PER_SUBSCRIPTION,
};
use crate::quota::{DpsLimits, HubLimits, Tier};
use crate::time::SimDuration;
use sha2::{Digest, Sha256};

mod arrival;
mod fleet;
mod gates;
mod services;

pub use fleet::parse_id_pattern;
use services::{capacity, dps, hub};
pub use services::{
    default_assignment_time, default_connect_latency, default_dps_latency,
    default_telemetry_latency,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::retry::{RetryPolicy, Timeouts};
    use crate::scenario::schedule::{Arrival, Spread};

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
