//! `summary.json` from a finished recorder: the counts and percentiles of each operation, the
//! online times, and the quota model beside what was measured. The types are the core's
//! ([`crate::summary`]); this is where they are filled.

use super::Recorder;
use super::waste::{ratios, waste};
use crate::metric::Op;
use crate::quota::model::{LowerBounds, ModelReport};
use crate::scenario::Scenario;
use crate::summary::{
    FORMAT, LatencyMs, ModelSummary, OnlineSummary, OpSummary, Operations, ScenarioInfo, Summary,
};
use crate::time::SimTime;
use hdrhistogram::Histogram;

/// Microseconds as milliseconds: exact to 3 decimals, and printed so by serde_json.
pub fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1e3
}

fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (x * k).round() / k
}

/// An operation's latency figures from its histogram of microseconds. Percentiles are
/// HdrHistogram's `value_at_quantile` (the top of the bucket holding the quantile, within 0.1 %
/// of the exact value); `max` likewise.
pub fn latency_ms(h: &Histogram<u64>) -> LatencyMs {
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

/// (`{bottleneck, lower_bound_s: {t50,…}, …}`); `slo` starts empty.
pub fn build_summary(
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
                // The live engine's clients drop an answer that comes after their timeout
                // unseen: only the virtual engine knows how many there were.
                late: (engine == "virtual").then(|| recorder.late_answers(op)),
                repeats: (op == Op::DpsRegister).then(|| recorder.repeats(op)),
                throttle_rate: round_to(c.throttle_rate(), 6),
                latency_ms: latency_ms(&latency),
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

/// The model's report as `summary.json` carries it: its figures, each measured time over its
/// bound, and where the fleet's own behaviour wasted capacity in this run. A JSON value, so
/// its keys are written sorted (results format 1).
pub fn model_beside_measured(
    scenario: &Scenario,
    model: &ModelReport,
    recorder: &Recorder,
) -> serde_json::Value {
    let t = recorder.online_times();
    let secs = |x: Option<SimTime>| x.map(|t| t.as_secs_f64());
    let measured = LowerBounds {
        t50: secs(t.t50),
        t90: secs(t.t90),
        t99: secs(t.t99),
        t100: secs(t.t100),
    };
    let m = ModelSummary {
        report: model.clone(),
        measured_over_bound: ratios(&measured, &model.lower_bound_s),
        waste: waste(scenario, model, recorder),
    };
    serde_json::to_value(m).expect("the model serialises")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metric::Outcome;
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
                queue: Default::default(),
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

    /// A complete virtual run's `summary.json` as a document, for the report's tests to edit.
    pub(crate) fn summary_value() -> serde_json::Value {
        serde_json::to_value(summary()).unwrap()
    }

    fn summary() -> Summary {
        let model =
            serde_json::json!({"bottleneck": "dps.register", "lower_bound_s": {"t50": 0.5}});
        build_summary(
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
