//! The report model: everything `report.html` and `report.md` show, read from a results
//! directory ([`super::load`]) and rendered by pure functions ([`super::html`],
//! [`super::markdown`]). Serialisable, so a renderer can be pinned against a fixed model.
//!
//! The views here are deliberately lenient readers of the results files (missing optional
//! fields default), so an older or hand-merged results directory still renders.

use super::plan::PlanView;
use crate::summary::{OnlineSummary, Operations, ScenarioInfo};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Everything a report shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportModel {
    /// `summary.json`.
    pub summary: SummaryView,
    /// `run.json`; `None` when the file is absent.
    pub run: Option<RunFacts>,
    /// `timeline.csv`, aggregated to at most [`super::read::MAX_POINTS`] points.
    pub timeline: Option<TimelineView>,
    /// `latency.csv`: Ok counts and means (the percentiles are in `summary`).
    pub latency: Vec<LatencyRow>,
    /// `histograms.hlog`: the percentile spectrum of each operation with Ok answers.
    pub spectra: Vec<Spectrum>,
    /// `plan.json`, when the directory holds one.
    pub plan: Option<PlanView>,
    /// Files of the results format that were absent (the report says what it cannot show).
    pub missing: Vec<String>,
}

/// The parts of `summary.json` a report shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryView {
    pub format: u32,
    pub scenario: ScenarioInfo,
    pub engine: String,
    pub seed: u64,
    pub devices: u64,
    pub complete: bool,
    pub end_s: f64,
    #[serde(default)]
    pub stop_reason: Option<String>,
    pub operations: Operations,
    pub online: OnlineSummary,
    #[serde(default, deserialize_with = "lenient_model")]
    pub model: ModelView,
    #[serde(default, deserialize_with = "lenient_slo")]
    pub slo: Vec<SloView>,
    /// The live engine's own figures; absent for virtual runs (and left out if unreadable).
    #[serde(default, deserialize_with = "lenient_live")]
    pub live: Option<crate::summary::LiveSummary>,
}

fn lenient_live<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::summary::LiveSummary>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// `model` field by field: a field of another shape than expected (the model grows) is left
/// out rather than failing the whole report.
fn lenient_model<'de, D: Deserializer<'de>>(d: D) -> Result<ModelView, D::Error> {
    let v = Value::deserialize(d)?;
    let get = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    Ok(ModelView {
        bottleneck: serde_json::from_value(get("bottleneck")).unwrap_or_default(),
        lower_bound_s: serde_json::from_value(get("lower_bound_s")).unwrap_or_default(),
        capacity: serde_json::from_value(get("capacity")).unwrap_or_default(),
        demand: serde_json::from_value(get("demand")).unwrap_or_default(),
        daily_quota: serde_json::from_value(get("daily_quota")).unwrap_or_default(),
        verdict: serde_json::from_value(get("verdict")).unwrap_or_default(),
        best_curve: serde_json::from_value(get("best_curve")).unwrap_or_default(),
        waste: get("waste")
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.get("message").unwrap_or(w).as_str())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// `slo[]`, skipping an entry of an unexpected shape.
fn lenient_slo<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SloView>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| serde_json::from_value(x.clone()).ok())
                .collect()
        })
        .unwrap_or_default())
}

/// `summary.json`'s `model`: the quota model's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelView {
    pub bottleneck: Option<String>,
    pub lower_bound_s: Bounds,
    pub capacity: Option<CapacityView>,
    pub demand: Option<DemandView>,
    pub daily_quota: Option<DailyQuotaView>,
    pub verdict: Option<String>,
    /// `[t_s, devices]`: the most devices that can be online by `t_s`, when the model exports
    /// its whole curve; otherwise the report draws the four `lower_bound_s` points.
    pub best_curve: Option<Vec<(f64, f64)>>,
    /// `waste[].message`: load the fleet could have spared the services.
    pub waste: Vec<String>,
}

/// Lower bounds (seconds) on reaching 50/90/99/100 % online.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bounds {
    pub t50: Option<f64>,
    pub t90: Option<f64>,
    pub t99: Option<f64>,
    pub t100: Option<f64>,
}

/// The limits in force, per second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapacityView {
    pub dps_registrations_per_s: Option<f64>,
    pub dps_operations_per_s: Option<f64>,
    pub dps_operation_status_per_s: Option<f64>,
    pub hub_connects_per_s: Option<f64>,
    pub hub_d2c_per_s: Option<f64>,
}

/// How the model divides the fleet over the paths to the hub.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DemandView {
    pub devices: u64,
    pub hub_only: u64,
    pub dps_lookup: u64,
    pub dps_register: u64,
    pub dead: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DailyQuotaView {
    pub messages_per_day: u64,
    pub fleet_messages_per_day: u64,
    pub hours_until_spent: Option<f64>,
}

/// One SLO verdict (`summary.json` `slo[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SloView {
    pub metric: String,
    pub condition: String,
    pub measured: Option<f64>,
    pub pass: bool,
}

/// `run.json`, every field optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunFacts {
    pub wall_s: Option<f64>,
    pub events: Option<u64>,
    pub events_per_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub host: Option<String>,
    pub version: Option<String>,
    pub command_line: Vec<String>,
    pub started_utc: Option<String>,
}

/// The timeline, aggregated: each point covers `[t_s, t_s + dt_s)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineView {
    /// The width of one `timeline.csv` row.
    pub bucket_s: f64,
    /// Operation names, in column order; `BucketPoint::ops` is indexed alike.
    pub ops: Vec<String>,
    pub points: Vec<BucketPoint>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketPoint {
    pub t_s: f64,
    pub dt_s: f64,
    /// Levels at the end of the span.
    pub online: u64,
    pub ever_online: u64,
    /// Counts within the span, per operation.
    pub ops: Vec<Counts>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub attempts: u64,
    pub ok: u64,
    pub throttled: u64,
    pub errors: u64,
    pub timeouts: u64,
}

impl Counts {
    pub fn answered(&self) -> u64 {
        self.ok + self.throttled + self.errors + self.timeouts
    }
}

impl TimelineView {
    /// Index of `op` in [`TimelineView::ops`].
    pub fn op_index(&self, op: &str) -> Option<usize> {
        self.ops.iter().position(|o| o == op)
    }
}

/// One row of `latency.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    pub op: String,
    pub count: u64,
    pub mean_ms: Option<f64>,
}

/// An operation's latency percentile spectrum (HdrHistogram's percentile distribution).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    pub op: String,
    /// Ok answers in the histogram.
    pub count: u64,
    pub points: Vec<SpectrumPoint>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    /// "Nines": `log10(1 / (1 − p))`: 0 is the minimum, 1 the 90th percentile, 2 the 99th…
    pub nines: f64,
    pub ms: f64,
}

impl ReportModel {
    /// The mean latency of `op` from `latency.csv`, if known.
    pub fn mean_ms(&self, op: &str) -> Option<f64> {
        self.latency
            .iter()
            .find(|r| r.op == op)
            .and_then(|r| r.mean_ms)
    }
}
