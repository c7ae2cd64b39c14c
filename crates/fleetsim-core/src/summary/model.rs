//! `summary.model`: the quota model's report beside what the run measured — each measured
//! time over its bound, and where the fleet's own behaviour wasted capacity.

use crate::quota::model::{LowerBounds, ModelReport};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `summary.model`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelSummary {
    #[serde(flatten)]
    pub report: ModelReport,
    /// Measured time to each share of the fleet over the model's bound for it.
    pub measured_over_bound: LowerBounds,
    /// Capacity the fleet's behaviour left unused or spent for nothing.
    pub waste: Vec<Waste>,
}

/// One line of `summary.model.waste`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Waste {
    /// `dps.registrations`, `dps.operations`, `hub.connects` or `dps.avoidable_registrations`.
    pub stage: String,
    /// The share of the stage's capacity that went unused while it was refusing devices (for
    /// `dps.avoidable_registrations`: the share of registrations that were avoidable).
    pub share: f64,
    /// The window it is measured over: from the first refusal to the stage's last success.
    pub from_s: Option<f64>,
    pub to_s: Option<f64>,
    pub message: String,
}

/// `measured / bound` for each share of the fleet (null where either is).
pub fn ratios(measured: &LowerBounds, bound: &LowerBounds) -> LowerBounds {
    let r = |m: Option<f64>, b: Option<f64>| match (m, b) {
        (Some(m), Some(b)) if b > 0.0 => Some((m / b * 1000.0).round() / 1000.0),
        _ => None,
    };
    LowerBounds {
        t50: r(measured.t50, bound.t50),
        t90: r(measured.t90, bound.t90),
        t99: r(measured.t99, bound.t99),
        t100: r(measured.t100, bound.t100),
    }
}
