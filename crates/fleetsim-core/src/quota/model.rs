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

use crate::device::setup::setup;
use crate::scenario::units::format_count;
use crate::scenario::{Provisioning, Scenario};
use crate::time::SimDuration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// Backlog between cumulative arrivals `a` and what a limit lets through, `out`.
fn pressure(grid: &Grid, stage: &str, capacity: f64, a: &[f64], out: &[f64]) -> StagePressure {
    let mut onset = None;
    let (mut peak, mut peak_at) = (0.0f64, None);
    for k in 0..a.len() {
        let backlog = a[k] - out[k];
        if backlog > 0.5 && onset.is_none() {
            onset = Some(grid.t(k));
        }
        if backlog > peak + 1e-9 {
            peak = backlog;
            peak_at = Some(grid.t(k));
        }
    }
    StagePressure {
        stage: stage.to_string(),
        capacity_per_s: capacity,
        demand: a.last().copied().unwrap_or(0.0),
        throttle_onset_s: onset,
        peak_backlog: peak.round(),
        peak_backlog_at_s: peak_at,
    }
}

/// At most `max` points of a cumulative curve, always keeping its last change.
fn downsample(grid: &Grid, curve: &[f64], max: usize) -> Vec<[f64; 2]> {
    let last = curve
        .iter()
        .rposition(|&c| c < curve.last().copied().unwrap_or(0.0))
        .map_or(0, |k| k + 1);
    let end = (last + 1).min(curve.len());
    let every = end.div_ceil(max.max(1)).max(1);
    let mut pts: Vec<[f64; 2]> = (0..end)
        .step_by(every)
        .map(|k| [grid.t(k), curve[k].round()])
        .collect();
    if end > 0 && pts.last().map(|p| p[0]) != Some(grid.t(end - 1)) {
        pts.push([grid.t(end - 1), curve[end - 1].round()]);
    }
    pts
}

/// Cumulative counts on a time grid.
struct Grid {
    step: f64,
    points: usize,
}

impl Grid {
    fn t(&self, k: usize) -> f64 {
        k as f64 * self.step
    }
    /// The grid index of the first point at or after `t`.
    fn ceil(&self, t: f64) -> usize {
        ((t / self.step).ceil().max(0.0) as usize).min(self.points - 1)
    }
}

/// `out[k] ≤ min(a[k], min_{j ≤ k} (a[j] − r·t_j) + r·t_k + b)`: the most a GCRA of rate `r`
/// and depth `b` can have passed by grid point `k` when fed by cumulative arrivals `a`.
fn token_bucket(grid: &Grid, a: &[f64], r: f64, b: f64) -> Vec<f64> {
    let mut m = f64::INFINITY;
    a.iter()
        .enumerate()
        .map(|(k, &ak)| {
            let t = grid.t(k);
            m = m.min(ak - r * t);
            ak.min(m + r * t + b)
        })
        .collect()
}

/// Shifts a cumulative curve later by `d` seconds (rounded down to whole grid steps, which
/// keeps it an upper bound).
fn shift(grid: &Grid, a: &[f64], d: f64) -> Vec<f64> {
    let k = (d / grid.step).floor() as usize;
    (0..a.len())
        .map(|i| if i >= k { a[i - k] } else { 0.0 })
        .collect()
}

fn cumulative(grid: &Grid, times: &[f64]) -> Vec<f64> {
    let mut counts = vec![0.0; grid.points];
    for &t in times {
        counts[grid.ceil(t)] += 1.0;
    }
    let mut acc = 0.0;
    counts
        .iter_mut()
        .map(|c| {
            acc += *c;
            acc
        })
        .collect()
}

/// The first time each quantile of `n` devices can be reached under `curve`, never earlier than
/// the exact arrival quantile `exact`.
fn bounds(grid: &Grid, curve: &[f64], n: u64, exact: &[f64]) -> LowerBounds {
    let at = |q: f64| -> Option<f64> {
        let need = (q * n as f64).ceil().max(1.0);
        let k = curve.iter().position(|&c| c >= need - 1e-9)?;
        // The curve was below `need` at k − 1, so the true time is after t(k − 1).
        let grid_bound = if k == 0 { 0.0 } else { grid.t(k - 1) };
        let idx = need as usize - 1;
        let exact_bound = exact.get(idx).copied()?;
        Some(grid_bound.max(exact_bound))
    };
    LowerBounds {
        t50: at(0.5),
        t90: at(0.9),
        t99: at(0.99),
        t100: at(1.0),
    }
}

pub fn analyse(sc: &Scenario) -> ModelReport {
    let n = sc.fleet.devices;
    let dps = &sc.dps;
    let lat = dps.latency.min().as_secs_f64();
    let poll_wait = dps.retry_after.max(dps.assignment_time.min()).as_secs_f64();
    let connect_lat = sc.hub.connect_latency.min().as_secs_f64();
    // Least time from an admitted register to the connect attempt: register reply, wait for the
    // assignment (polls come every retry-after), poll reply.
    let after_register = 2.0 * lat + poll_wait;
    // From an admitted lookup to the connect attempt: the lookup reply.
    let after_lookup = lat;

    let mut demand = Demand {
        devices: n,
        ..Demand::default()
    };
    let instances = dps.instances.max(1) as usize;
    // Per instance: times at which register / lookup-only devices can first reach DPS.
    let mut reg_times: Vec<Vec<f64>> = vec![Vec::new(); instances];
    let mut look_times: Vec<Vec<f64>> = vec![Vec::new(); instances];
    let mut hub_only: Vec<f64> = Vec::new();
    // Every device's earliest possible online time on its own path (no queueing).
    let mut earliest: Vec<f64> = Vec::with_capacity(n as usize);
    for i in 0..n {
        let s = setup(sc, i);
        let c = &sc.fleet.classes[s.class];
        let boot = s.boot.as_secs_f64();
        let inst = i as usize % instances;
        if s.dead {
            demand.dead += 1;
            continue;
        }
        let via_cache = s.cached && c.provisioning == Provisioning::Cached;
        let e = if via_cache {
            demand.hub_only += 1;
            hub_only.push(boot);
            boot
        } else if c.status_lookup && s.registered {
            demand.dps_lookup += 1;
            look_times[inst].push(boot);
            boot + after_lookup
        } else {
            demand.dps_register += 1;
            if s.registered {
                demand.dps_register_avoidable += 1;
            }
            // A lookup that finds nothing answers after one DPS latency; then it registers.
            let t = if c.status_lookup { boot + lat } else { boot };
            reg_times[inst].push(t);
            t + after_register
        };
        earliest.push(e + connect_lat);
    }
    earliest.sort_by(f64::total_cmp);

    let horizon = sc.max_duration.as_secs_f64().max(1.0);
    let step = (horizon / 200_000.0).max(1.0);
    let grid = Grid {
        step,
        points: (horizon / step).ceil() as usize + 2,
    };

    let l = &dps.limits;
    let burst = |r: f64, b: SimDuration| r * b.as_secs_f64() + 1.0;
    let (rr, rb) = (l.registrations_per_s, burst(l.registrations_per_s, l.burst));
    let (or, ob) = (l.operations_per_s, burst(l.operations_per_s, l.burst));
    let lookups_cost = if l.lookups_are_operations { 1.0 } else { 0.0 };
    // Operations one registering device needs: register, at least one poll, maybe a lookup.
    let uses_lookup = sc.fleet.classes.iter().all(|c| c.status_lookup);
    let k_reg = 1.0 + lookups_cost * (1.0 + if uses_lookup { 1.0 } else { 0.0 });
    let k_look = lookups_cost;

    // DPS completions per instance (shifted to connect attempts), under each limit.
    let zero = vec![0.0; grid.points];
    let mut dps_both = zero.clone();
    let mut dps_reg_only = zero.clone();
    let mut dps_ops_only = zero.clone();
    let mut reg_arrivals = zero.clone();
    let mut reg_through = zero.clone();
    let mut ops_demand = zero.clone();
    // Operations admitted since time 0: r·t + b.
    let ops: Vec<f64> = (0..grid.points).map(|k| or * grid.t(k) + ob).collect();
    for inst in 0..instances {
        let a_reg = cumulative(&grid, &reg_times[inst]);
        let a_look = cumulative(&grid, &look_times[inst]);
        let x_reg = token_bucket(&grid, &a_reg, rr, rb);
        for k in 0..grid.points {
            reg_arrivals[k] += a_reg[k];
            reg_through[k] += x_reg[k];
            ops_demand[k] += k_reg * a_reg[k] + k_look * a_look[k];
        }
        for k in 0..grid.points {
            // Most devices through DPS by t_k given an operations budget: lookups are cheaper,
            // so spend the budget on them first.
            let through = |x_max: f64, o: f64| -> (f64, f64) {
                let y = if k_look > 0.0 {
                    a_look[k].min(o / k_look)
                } else {
                    a_look[k]
                };
                let x = x_max.min(((o - k_look * y) / k_reg).max(0.0));
                (x, y)
            };
            let (x, y) = through(x_reg[k], ops[k]);
            let (xr, yr) = through(x_reg[k], f64::INFINITY);
            let (xo, yo) = through(a_reg[k], ops[k]);
            dps_both[k] += x + y;
            dps_reg_only[k] += xr + yr;
            dps_ops_only[k] += xo + yo;
        }
    }
    let shift_dps = after_register.min(after_lookup);
    let a_hub_only = cumulative(&grid, &hub_only);
    let hub_rate: f64 = sc.hub.limits.connects_per_s * sc.hub.count as f64;
    let hub_b = burst(sc.hub.limits.connects_per_s, sc.hub.limits.burst) * sc.hub.count as f64;
    let online_curve = |dps_out: &[f64], limit_hub: bool| -> Vec<f64> {
        let shifted = shift(&grid, dps_out, shift_dps);
        let arrivals: Vec<f64> = a_hub_only
            .iter()
            .zip(&shifted)
            .map(|(a, b)| a + b)
            .collect();
        let out = if limit_hub {
            token_bucket(&grid, &arrivals, hub_rate, hub_b)
        } else {
            arrivals
        };
        shift(&grid, &out, connect_lat)
    };
    let unlimited: Vec<f64> = {
        let all: Vec<f64> = reg_times
            .iter()
            .chain(&look_times)
            .flatten()
            .copied()
            .collect();
        cumulative(&grid, &all)
    };
    let best = online_curve(&dps_both, true);
    let combined = bounds(&grid, &best, n, &earliest);
    let hub_arrivals: Vec<f64> = {
        let shifted = shift(&grid, &dps_both, shift_dps);
        a_hub_only
            .iter()
            .zip(&shifted)
            .map(|(a, b)| a + b)
            .collect()
    };
    let d2c_rate = sc.hub.limits.d2c_per_s * sc.hub.count as f64;
    let d2c_b = burst(sc.hub.limits.d2c_per_s, sc.hub.limits.burst) * sc.hub.count as f64;
    let ops_total_rate = or * instances as f64;
    let ops_total_b = ob * instances as f64;
    let stages = vec![
        pressure(
            &grid,
            "dps.registrations",
            rr * instances as f64,
            &reg_arrivals,
            &reg_through,
        ),
        pressure(
            &grid,
            "dps.operations",
            ops_total_rate,
            &ops_demand,
            &token_bucket(&grid, &ops_demand, ops_total_rate, ops_total_b),
        ),
        pressure(
            &grid,
            "hub.connects",
            hub_rate,
            &hub_arrivals,
            &token_bucket(&grid, &hub_arrivals, hub_rate, hub_b),
        ),
        pressure(
            &grid,
            "hub.d2c",
            d2c_rate,
            &best,
            &token_bucket(&grid, &best, d2c_rate, d2c_b),
        ),
    ];
    let best_curve = downsample(&grid, &best, 200);
    let by_stage = vec![
        (
            "arrival".to_string(),
            bounds(&grid, &online_curve(&unlimited, false), n, &earliest),
        ),
        (
            "dps.registrations".to_string(),
            bounds(&grid, &online_curve(&dps_reg_only, false), n, &earliest),
        ),
        (
            "dps.operations".to_string(),
            bounds(&grid, &online_curve(&dps_ops_only, false), n, &earliest),
        ),
        (
            "hub.connects".to_string(),
            bounds(&grid, &online_curve(&unlimited, true), n, &earliest),
        ),
    ];
    let key = |b: &LowerBounds| b.t99.or(b.t90).unwrap_or(f64::INFINITY);
    let bottleneck = by_stage
        .iter()
        .fold(None::<(&str, f64)>, |best, (name, b)| match best {
            Some((_, v)) if v >= key(b) - 1e-9 => best,
            _ => Some((name, key(b))),
        })
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| "arrival".into());

    let capacity = Capacity {
        dps_registrations_per_s: rr * instances as f64,
        dps_operations_per_s: or * instances as f64,
        hub_connects_per_s: hub_rate,
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
        best_curve,
        stamps_needed: n.div_ceil(MAX_DEVICES_PER_STAMP),
        verdict,
    }
}

fn daily_quota(sc: &Scenario, demand: &Demand) -> DailyQuota {
    let alive = (demand.devices - demand.dead) as f64 / demand.devices.max(1) as f64;
    let per_day: f64 = sc
        .fleet
        .classes
        .iter()
        .map(|c| {
            let devices = c.share * sc.fleet.devices as f64 * alive;
            let per_device = 86_400.0 / c.telemetry_interval.as_secs_f64().max(1e-3);
            devices * per_device * sc.hub.limits.metered(c.telemetry_size) as f64
        })
        .sum();
    let quota = sc.hub.limits.messages_per_day * sc.hub.count as u64;
    DailyQuota {
        messages_per_day: quota,
        fleet_messages_per_day: per_day.round() as u64,
        hours_until_spent: (per_day > quota as f64).then(|| 24.0 * quota as f64 / per_day),
    }
}

fn human(secs: f64) -> String {
    if secs >= 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else if secs >= 60.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{secs:.0} s")
    }
}

fn verdict(sc: &Scenario, bottleneck: &str, b: &LowerBounds, d: &Demand, cap: &Capacity) -> String {
    let t99 = b
        .t99
        .map_or("never (too many devices never return)".to_string(), human);
    let per_min =
        |per_s: f64| format_count((per_s * 60.0 / sc.dps.instances as f64).round() as u64);
    match bottleneck {
        "dps.registrations" => format!(
            "DPS registration is the wall: {}/min per instance × {}; {} devices must register, so 99 % online takes ≥ {t99}",
            per_min(cap.dps_registrations_per_s),
            sc.dps.instances,
            format_count(d.dps_register)
        ),
        "dps.operations" => format!(
            "DPS operations are the wall: {}/min per instance × {}, shared by registers, polls and lookups; {} devices register and {} look up, so 99 % online takes ≥ {t99}",
            per_min(cap.dps_operations_per_s),
            sc.dps.instances,
            format_count(d.dps_register),
            format_count(d.dps_lookup)
        ),
        "hub.connects" => format!(
            "IoT Hub new connections are the wall: {}/s per hub × {} ({} {} units each); 99 % online takes ≥ {t99}",
            format_count(sc.hub.limits.connects_per_s.round() as u64),
            sc.hub.count,
            sc.hub.units,
            sc.hub.tier
        ),
        _ => format!(
            "the fleet's own boot schedule is the limit, not the services: 99 % online takes ≥ {t99}"
        ),
    }
}
