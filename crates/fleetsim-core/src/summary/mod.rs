//! `summary.json`'s types, declared once: what a run measured, reproducibly. Same scenario,
//! seed and engine → same bytes: no wall-clock facts, no host, no hash-map order,
//! deterministic float formatting. The field list is documented in `results/README.md`
//! (format 1); [`schema`] is its JSON Schema, generated from these types and checked in as
//! `results/summary.schema.json`. The results layer fills them from a recorder; the metric
//! vocabulary ([`crate::metric::path`]) resolves metric paths against the schema.

pub mod live;
pub mod model;
pub mod shard;

pub use live::LiveSummary;
pub use model::{ModelSummary, Waste};
pub use shard::Shard;

use crate::metric::{Op, Verdict};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The results format version written into `summary.json`.
pub const FORMAT: u32 = 1;

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// The quota model's figures (`bottleneck`, `lower_bound_s.{t50,t90,t99,t100}`, …): a
    /// [`ModelSummary`], kept as a JSON value so its keys are written sorted (format 1).
    #[schemars(with = "ModelSummary")]
    pub model: serde_json::Value,
    /// SLO verdicts (`{metric, condition, measured, pass}`): [`Verdict`]s, keys sorted.
    #[schemars(with = "Vec<Verdict>")]
    pub slo: Vec<serde_json::Value>,
    /// The scenario's `[compare]` tolerances (metric path → tolerance as written), which
    /// `fleetsim compare` applies to this run; absent when the scenario has none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub compare: std::collections::BTreeMap<String, String>,
    /// Which slice of the fleet this run drove (`--shard K/N`); absent for the whole fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Live-engine figures; absent for virtual runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub hash: String,
    pub description: String,
}

/// One operation's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpSummary {
    pub attempts: u64,
    pub ok: u64,
    pub throttled: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Answers the service gave after the device had timed out on them: capacity spent on
    /// nobody (docs/service-models.md, "Late answers"). Counted by the virtual engine; absent
    /// from live runs, whose clients do not see an answer after their timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<u64>,
    /// `dps.register` only: registrations a device started while it already had one accepted
    /// or in flight (re-registration amplification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<u64>,
    /// `throttled / attempts` rounded to 6 decimals; 0 when there were no attempts.
    pub throttle_rate: f64,
    pub latency_ms: LatencyMs,
}

/// Latency of Ok answers in milliseconds (3 decimals = microsecond resolution); every field is
/// null when the operation had no Ok answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyMs {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

/// Simulated seconds until the ever-online count first reached 50/90/99/100 % of `devices`;
/// null if it never did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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

impl Summary {
    /// The exact bytes of `summary.json`: pretty-printed, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a Summary always serialises");
        s.push('\n');
        s
    }
}

/// `operations` has one fixed key per [`Op`], each an [`OpSummary`].
impl JsonSchema for Operations {
    fn schema_name() -> Cow<'static, str> {
        "Operations".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let op = serde_json::Value::from(g.subschema_for::<OpSummary>());
        let properties: serde_json::Map<String, serde_json::Value> = Op::ALL
            .iter()
            .map(|o| (o.name().to_string(), op.clone()))
            .collect();
        let required: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
        json_schema!({
            "type": "object",
            "description": "Keyed by operation name, in this order.",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

/// The JSON Schema of `summary.json`, generated from [`Summary`].
pub fn schema() -> Schema {
    schemars::schema_for!(Summary)
}

/// The schema as `results/summary.schema.json` holds it: pretty-printed, trailing newline.
pub fn schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).expect("a schema serialises");
    s.push('\n');
    s
}
