//! The analytic quota model: from the scenario alone (its boot schedule and the limits),
//! lower bounds on when 50/90/99/100 % of the fleet can be online, and the bottleneck stage.
//!
//! # Why the bounds are sound
//!
//! Every limit is a GCRA ([`crate::service::gcra`]): in any window `(s, t]` it admits at most
//! `r·(t − s) + b` requests, `b = r·burst + 1`. A stage fed by arrivals `A` can therefore have
//! completed at most `min(A(t), min_{s ≤ t} [A(s) + r·(t − s)] + b)` requests by `t` (a network-
//! calculus service bound). Stages chain: DPS completions, shifted by the least time from an
//! admitted register to a connect attempt, are arrivals at the hub stage. Arrivals are each
//! device's boot time plus the least service latency on its path, computed from the same
//! per-device draws the engine uses. Throttles, retries, timeouts and fall-backs only delay
//! devices further, so a measured time below its bound is a bug (tested).
//!
//! The bound is evaluated on a grid and rounded *down* to the last grid point where it still
//! held, then raised to the exact arrival quantile, so discretisation never makes it unsound.
//!
//! The grid operations are in `curves`, the steps in `stages`, the words in `verdict`.

mod curves;
mod stages;
mod verdict;

use crate::scenario::Scenario;
use curves::{Grid, bounds, downsample};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stages::{HubStage, Paths};
use verdict::{daily_quota, verdict};

/// Devices one subscription can hold: 10 DPS instances × 1M registrations (reference §4c); its
/// 50 hubs × 1M devices (§4a) hold more.
pub const MAX_DEVICES_PER_STAMP: u64 = 10 * crate::quota::limits::dps::REGISTRATIONS_PER_INSTANCE;

/// Fractions of the fleet the summary reports.
pub const QUANTILES: [(&str, f64); 4] =
    [("t50", 0.50), ("t90", 0.90), ("t99", 0.99), ("t100", 1.0)];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct LowerBounds {
    pub t50: Option<f64>,
    pub t90: Option<f64>,
    pub t99: Option<f64>,
    pub t100: Option<f64>,
}

impl LowerBounds {
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "t50" => self.t50,
            "t90" => self.t90,
            "t99" => self.t99,
            "t100" => self.t100,
            _ => None,
        }
    }
}

/// How the fleet divides over the paths to the hub.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Demand {
    pub devices: u64,
    /// Reconnect straight to a cached hub.
    pub hub_only: u64,
    /// Status lookup finds the registration; no register needed.
    pub dps_lookup: u64,
    /// Must register (and poll) through DPS.
    pub dps_register: u64,
    /// Of those, devices that were already registered and register again anyway (provisioning
    /// on every boot, or no cached assignment and no status lookup): load a lookup or a cache
    /// would have saved.
    pub dps_register_avoidable: u64,
    /// Never come back.
    pub dead: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Capacity {
    pub dps_registrations_per_s: f64,
    pub dps_operations_per_s: f64,
    /// Operation-status polls per second, all instances (absent from summaries before the
    /// poll limit was modelled apart).
    #[serde(default)]
    pub dps_operation_status_per_s: f64,
    pub hub_connects_per_s: f64,
    pub hub_d2c_per_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct DailyQuota {
    /// Messages per day the hubs allow, in meter units.
    pub messages_per_day: u64,
    /// Meter units the whole fleet sends per day at its steady telemetry rate.
    pub fleet_messages_per_day: u64,
    /// Hours until a day's quota is spent at that rate (null if it never is).
    pub hours_until_spent: Option<f64>,
}

/// The model's verdict on a scenario.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ModelReport {
    /// The stage that sets the t99 bound: `arrival` (devices cannot be faster than they boot),
    /// `dps.registrations`, `dps.operations` or `hub.connects`.
    pub bottleneck: String,
    pub lower_bound_s: LowerBounds,
    /// Each stage's bound taken alone, to see how far apart they are.
    pub by_stage: Vec<(String, LowerBounds)>,
    pub demand: Demand,
    pub capacity: Capacity,
    pub daily_quota: DailyQuota,
    /// Where demand meets each limit: when a backlog first forms and how deep it gets.
    pub stages: Vec<StagePressure>,
    /// The most devices that can be online at each time: `[t_s, devices]`, at most ~200 points.
    pub best_curve: Vec<[f64; 2]>,
    /// Independent DPS + hub deployments this fleet needs: one subscription holds at most 10
    /// DPS instances of 1M registrations each (reference §4c) and 50 hubs of 1M devices
    /// (§4a), so past 10M devices the fleet must be split into stamps.
    pub stamps_needed: u64,
    /// One sentence a planner can act on.
    pub verdict: String,
}

/// How one limited stage copes with its demand, assuming every stage before it is as fast as
/// its own limits allow.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct StagePressure {
    /// `dps.registrations`, `dps.operations`, `hub.connects` or `hub.d2c` (first messages).
    pub stage: String,
    pub capacity_per_s: f64,
    /// Requests the stage must serve at least (first attempts, no retries).
    pub demand: f64,
    /// When arrivals first outrun the limit (a backlog forms and devices start to see 429s);
    /// null if they never do.
    pub throttle_onset_s: Option<f64>,
    /// The deepest backlog: requests waiting for the limit at once.
    pub peak_backlog: f64,
    pub peak_backlog_at_s: Option<f64>,
}

/// The model's answer for a scenario: the steps of [`stages`] chained.
pub fn analyse(sc: &Scenario) -> ModelReport {
    let n = sc.fleet.devices;
    let paths = Paths::of(sc);
    let (demand, arrivals) = stages::demand(sc, &paths);
    let horizon = sc.max_duration.as_secs_f64().max(1.0);
    let step = (horizon / 200_000.0).max(1.0);
    let grid = Grid {
        step,
        points: (horizon / step).ceil() as usize + 2,
    };
    let dps = stages::dps_curves(sc, &grid, &arrivals);
    let hub = HubStage::new(sc, &grid, &arrivals, &paths);
    let best = hub.online(&dps.both, true);
    let combined = bounds(&grid, &best, n, &arrivals.earliest);
    let stages = stages::pressures(sc, &grid, &dps, &hub, &best);
    let by_stage = stages::by_stage(&grid, &arrivals, &dps, &hub, n);
    let bottleneck = stages::bottleneck(&by_stage);
    let instances = sc.dps.instances.max(1) as f64;
    let capacity = Capacity {
        dps_registrations_per_s: dps.rr * instances,
        dps_operations_per_s: dps.or * instances,
        dps_operation_status_per_s: dps.pr * instances,
        hub_connects_per_s: hub.rate,
        hub_d2c_per_s: sc.hub.limits.d2c_per_s * sc.hub.count as f64,
    };
    let daily_quota = daily_quota(sc, &demand);
    let verdict = verdict(sc, &bottleneck, &combined, &demand, &capacity);
    ModelReport {
        bottleneck,
        lower_bound_s: combined,
        by_stage,
        demand,
        capacity,
        daily_quota,
        stages,
        best_curve: downsample(&grid, &best, 200),
        stamps_needed: n.div_ceil(MAX_DEVICES_PER_STAMP),
        verdict,
    }
}
