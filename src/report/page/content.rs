//! What the report says, independent of markup: the opening paragraph, the banner of an
//! incomplete run, and the tables as rows of cells. [`super::html`] and [`super::markdown`]
//! only format these. `sentences` holds the prose, `tables` the tables; what both ask of a run
//! (its requests, its devices ever online, its clock) is here.

mod sentences;
mod tables;

pub(crate) use sentences::{banner, daily_quota, missing, paragraph};
pub(crate) use tables::{
    any_failures, demand_table, facts, limits_table, live_table, online_table, operations_table,
    plan_table, slo_table, unused_operations,
};

use super::model::ReportModel;

/// A table: a header, rows of cells, and which columns are numeric (right-aligned).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Table {
    pub head: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[(&str, bool)]) -> Table {
        Table {
            head: head.iter().map(|(h, _)| h.to_string()).collect(),
            numeric: head.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
        }
    }
}

/// The operations that are requests to a service (not the end-to-end `device.boot_to_online`).
fn requests(m: &ReportModel) -> impl Iterator<Item = (&str, &crate::report::OpSummary)> {
    m.summary
        .operations
        .0
        .iter()
        .filter(|(op, _)| op != "device.boot_to_online")
        .map(|(op, s)| (op.as_str(), s))
}

/// Devices that were ever online by the end of the run.
fn ever_online(m: &ReportModel) -> Option<u64> {
    m.timeline
        .as_ref()
        .and_then(|t| t.points.last().map(|p| p.ever_online))
        .or_else(|| {
            m.summary
                .operations
                .get("device.boot_to_online")
                .map(|s| s.ok)
        })
}

/// Whether the run was on the wall clock (its times are wall time, not simulated).
fn is_live(m: &ReportModel) -> bool {
    m.summary.engine == "live"
}

/// What the run's times are measured in: "simulated time" (virtual engine) or "wall time".
pub(crate) fn clock_name(m: &ReportModel) -> &'static str {
    if is_live(m) {
        "wall time"
    } else {
        "simulated time"
    }
}
