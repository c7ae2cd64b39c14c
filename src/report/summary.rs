//! `summary.json`: what a run measured, reproducibly. Same scenario, seed and engine → same
//! bytes: no wall-clock facts, no host, no hash-map order, deterministic float formatting.
//! The field list is documented in `results/README.md` (format 1).

use crate::metrics::{Op, Recorder};
use crate::scenario::Scenario;
use crate::time::SimTime;
use hdrhistogram::Histogram;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The results format version written into `summary.json`.
pub const FORMAT: u32 = 1;

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: u32,
    pub scenario: ScenarioInfo,
    /// `"virtual"` or `"live"`.
    pub engine: String,
    pub seed: u64,
    /// Devices this run simulated (the denominator of `online.*`).
    pub devices: u64,
    /// False when the run was interrupted (Ctrl-C, a failed endpoint).
    pub complete: bool,
    /// Simulated seconds at which the run stopped.
    pub end_s: f64,
    /// Why it stopped: `all_settled` (every device online with its first telemetry sent, or
    /// never coming back), `max_duration` (run.max_duration passed first), `interrupted`, or
    /// (live) `endpoint_lost`.
    pub stop_reason: String,
    /// Keyed by operation name, in [`Op::ALL`] order.
    pub operations: Operations,
    pub online: OnlineSummary,
    /// The quota model's figures (`bottleneck`, `lower_bound_s.{t50,t90,t99,t100}`, …).
    pub model: serde_json::Value,
    /// SLO verdicts (`{metric, condition, measured, pass}`).
    pub slo: Vec<serde_json::Value>,
    /// The scenario's `[compare]` tolerances (metric path → tolerance as written), which
    /// `fleetsim compare` applies to this run; absent when the scenario has none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub compare: std::collections::BTreeMap<String, String>,
    /// Which slice of the fleet this run drove (`--shard K/N`); absent for the whole fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::engine::shard::Shard>,
    /// Live-engine figures; absent for virtual runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<super::live::LiveSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub hash: String,
    pub description: String,
}

/// One operation's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    pub attempts: u64,
    pub ok: u64,
    pub throttled: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// `throttled / attempts` rounded to 6 decimals; 0 when there were no attempts.
    pub throttle_rate: f64,
    pub latency_ms: LatencyMs,
}

/// Latency of Ok answers in milliseconds (3 decimals = microsecond resolution); every field is
/// null when the operation had no Ok answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

/// Simulated seconds until the ever-online count first reached 50/90/99/100 % of `devices`;
/// null if it never did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OnlineSummary {
    pub t50_s: Option<f64>,
    pub t90_s: Option<f64>,
    pub t99_s: Option<f64>,
    pub t100_s: Option<f64>,
}

/// `operations`: an ordered list serialised as a JSON object, so the key order is the
/// [`Op::ALL`] order (a `BTreeMap` would sort it, a `HashMap` would shuffle it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operations(pub Vec<(String, OpSummary)>);

impl Operations {
    pub fn get(&self, name: &str) -> Option<&OpSummary> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

impl Serialize for Operations {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Operations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Operations, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Operations;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from operation name to its figures")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Operations, A::Error> {
                let mut v = Vec::new();
                while let Some((k, s)) = a.next_entry::<String, OpSummary>()? {
                    v.push((k, s));
                }
                Ok(Operations(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Microseconds as milliseconds: exact to 3 decimals, and printed so by serde_json.
pub(crate) fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1e3
}

fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (x * k).round() / k
}

impl LatencyMs {
    /// Percentiles are HdrHistogram's `value_at_quantile` (the top of the bucket holding the
    /// quantile, within 0.1 % of the exact value); `max` likewise.
    pub fn from_histogram(h: &Histogram<u64>) -> LatencyMs {
        if h.is_empty() {
            return LatencyMs::default();
        }
        let q = |q: f64| Some(us_to_ms(h.value_at_quantile(q)));
        LatencyMs {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: Some(us_to_ms(h.max())),
        }
    }
}

impl Summary {
    /// Build the summary from a finished recorder. `model` is the quota model's JSON
    /// (`{bottleneck, lower_bound_s: {t50,…}, …}`); `slo` starts empty.
    pub fn build(
        scenario: &Scenario,
        engine: &str,
        recorder: &Recorder,
        stop_reason: &str,
        end: SimTime,
        model: serde_json::Value,
    ) -> Summary {
        let operations = Op::ALL
            .iter()
            .map(|&op| {
                let c = recorder.counts(op);
                let latency = recorder.latency(op);
                let summary = OpSummary {
                    attempts: c.attempts,
                    ok: c.ok,
                    throttled: c.throttled,
                    errors: c.errors,
                    timeouts: c.timeouts,
                    throttle_rate: round_to(c.throttle_rate(), 6),
                    latency_ms: LatencyMs::from_histogram(&latency),
                };
                (op.name().to_string(), summary)
            })
            .collect();
        let t = recorder.online_times();
        Summary {
            format: FORMAT,
            scenario: ScenarioInfo {
                name: scenario.name.clone(),
                hash: scenario.hash.clone(),
                description: scenario.description.clone(),
            },
            engine: engine.to_string(),
            seed: scenario.seed,
            devices: recorder.devices(),
            complete: !matches!(stop_reason, "interrupted" | "endpoint_lost"),
            end_s: secs(end),
            stop_reason: stop_reason.to_string(),
            operations: Operations(operations),
            online: OnlineSummary {
                t50_s: t.t50.map(secs),
                t90_s: t.t90.map(secs),
                t99_s: t.t99.map(secs),
                t100_s: t.t100.map(secs),
            },
            model,
            slo: Vec::new(),
            compare: scenario
                .compare
                .iter()
                .map(|t| (t.metric.clone(), t.text.clone()))
                .collect(),
            shard: None,
            live: None,
        }
    }

    /// The exact bytes of `summary.json`: pretty-printed, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a Summary always serialises");
        s.push('\n');
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::Outcome;
    use crate::time::SimDuration;

    /// A scenario for tests, built by hand so these tests do not depend on the loader.
    pub(crate) fn scenario() -> Scenario {
        use crate::quota::{DpsLimits, HubLimits, Tier};
        use crate::scenario::{Allocation, Arrival, Dist, Dps, Fleet, Hub, IdPattern};
        Scenario {
            name: "unit".into(),
            description: "a tiny fleet".into(),
            hash: "0123abcd".into(),
            seed: 7,
            max_duration: SimDuration::from_secs(3600),
            timeline_bucket: SimDuration::from_secs(1),
            fleet: Fleet {
                devices: 4,
                registered_share: 1.0,
                cached_assignment_share: 0.0,
                id_pattern: IdPattern {
                    prefix: "dev-".into(),
                    width: 6,
                    suffix: String::new(),
                },
                classes: Vec::new(),
            },
            arrival: Arrival::Poisson {
                start: SimDuration::ZERO,
                rate: 2.0,
            },
            dps: Dps {
                instances: 1,
                allocation: Allocation::Evenly,
                latency: Dist::ZERO,
                assignment_time: Dist::ZERO,
                retry_after: SimDuration::from_secs(3),
                throttle_retry_after: None,
                limits: DpsLimits::default(),
            },
            hub: Hub {
                count: 1,
                tier: Tier::S1,
                units: 1,
                connect_latency: Dist::ZERO,
                telemetry_latency: Dist::ZERO,
                limits: HubLimits::published(Tier::S1, 1),
            },
            slo: Vec::new(),
            compare: Vec::new(),
            spec: Default::default(),
        }
    }

    pub(crate) fn recorder() -> Recorder {
        let mut r = Recorder::new(4, SimDuration::from_secs(1));
        for d in 0..4u64 {
            let t0 = SimTime::from_secs_f64(d as f64 * 0.5);
            r.booted(t0);
            r.attempt(Op::BootToOnline, t0);
            r.attempt(Op::DpsRegister, t0);
            if d == 3 {
                r.complete(
                    Op::DpsRegister,
                    Outcome::Throttled,
                    t0 + SimDuration::from_millis(20),
                    SimDuration::from_millis(20),
                );
                continue;
            }
            let l = SimDuration::from_micros(1_234 + d * 1_000);
            r.complete(Op::DpsRegister, Outcome::Ok, t0 + l, l);
            r.attempt(Op::HubConnect, t0 + l);
            r.complete(Op::HubConnect, Outcome::Ok, t0 + l + l, l);
            r.complete(Op::BootToOnline, Outcome::Ok, t0 + l + l, l + l);
            r.online(t0 + l + l, true);
        }
        r.finish(SimTime::from_secs_f64(3.0));
        r
    }

    fn summary() -> Summary {
        let model =
            serde_json::json!({"bottleneck": "dps.register", "lower_bound_s": {"t50": 0.5}});
        Summary::build(
            &scenario(),
            "virtual",
            &recorder(),
            "all_settled",
            SimTime::from_secs_f64(3.0),
            model,
        )
    }

    #[test]
    fn serialises_with_the_documented_keys_in_order() {
        let v: serde_json::Value = serde_json::from_str(&summary().to_json()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut sorted = vec![
            "format",
            "scenario",
            "engine",
            "seed",
            "devices",
            "complete",
            "end_s",
            "stop_reason",
            "operations",
            "online",
            "model",
            "slo",
        ];
        sorted.sort();
        assert_eq!(
            keys, sorted,
            "serde_json::Value sorts keys; compare as sets"
        );
        assert_eq!(v["format"], 1);
        assert_eq!(v["scenario"]["name"], "unit");
        assert_eq!(v["devices"], 4);
        let reg = &v["operations"]["dps.register"];
        assert_eq!(reg["attempts"], 4);
        assert_eq!(reg["ok"], 3);
        assert_eq!(reg["throttled"], 1);
        assert_eq!(reg["throttle_rate"], 0.25);
        assert_eq!(
            reg["latency_ms"]["p50"], 2.235,
            "2234 µs, top of its 3-digit bucket"
        );
        assert_eq!(reg["latency_ms"]["max"], 3.235);
        assert!(v["operations"]["hub.telemetry"]["latency_ms"]["p99"].is_null());
        assert_eq!(
            v["online"]["t50_s"], 0.504468,
            "device 1 online at 0.5 s + 2 × 2.234 ms"
        );
        assert!(v["online"]["t100_s"].is_null());
        assert_eq!(v["model"]["bottleneck"], "dps.register");
        assert_eq!(v["slo"], serde_json::json!([]));

        // The text keeps Op::ALL order.
        let text = summary().to_json();
        let pos: Vec<usize> = Op::ALL
            .iter()
            .map(|op| text.find(&format!("\"{}\"", op.name())).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn identical_inputs_give_identical_bytes_and_round_trip() {
        let a = summary().to_json();
        assert_eq!(a, summary().to_json());
        let back: Summary = serde_json::from_str(&a).unwrap();
        assert_eq!(back, summary());
        assert_eq!(back.operations.get("hub.connect").unwrap().ok, 3);
    }
}
