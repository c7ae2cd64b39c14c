//! The model's steps, in the order `analyse` chains them: each device's path and earliest
//! arrival (`demand`), what each DPS limit lets through per instance (`dps_curves`), the hub
//! stage the DPS output feeds (`HubStage`), and each limit's pressure and bound taken alone.

use super::curves::{Grid, bounds, cumulative, pressure, shift, token_bucket};
use super::{Demand, LowerBounds, StagePressure};
use crate::device::setup::setup;
use crate::scenario::{Provisioning, Scenario};
use crate::time::SimDuration;

/// The least service time on each path: what no device can beat.
pub(super) struct Paths {
    /// One DPS answer.
    pub lat: f64,
    pub connect_lat: f64,
    /// From an admitted register to the connect attempt: register reply, wait for the
    /// assignment (polls come every retry-after), poll reply.
    pub after_register: f64,
    /// From an admitted lookup to the connect attempt: the lookup reply.
    pub after_lookup: f64,
}

impl Paths {
    pub fn of(sc: &Scenario) -> Paths {
        let dps = &sc.dps;
        let lat = dps.latency.min().as_secs_f64();
        let poll_wait = dps.retry_after.max(dps.assignment_time.min()).as_secs_f64();
        Paths {
            lat,
            connect_lat: sc.hub.connect_latency.min().as_secs_f64(),
            after_register: 2.0 * lat + poll_wait,
            after_lookup: lat,
        }
    }
}

/// When devices can first reach each stage, from their own boot draws.
pub(super) struct Arrivals {
    /// Per DPS instance: times at which registering devices can first reach DPS.
    pub reg_times: Vec<Vec<f64>>,
    /// Per DPS instance: times at which lookup-only devices can first reach DPS.
    pub look_times: Vec<Vec<f64>>,
    /// Boot times of devices that go straight to a cached hub.
    pub hub_only: Vec<f64>,
    /// Every device's earliest possible online time on its own path (no queueing), sorted.
    pub earliest: Vec<f64>,
}

/// Splits the fleet over the paths to the hub and collects when each device can first arrive.
pub(super) fn demand(sc: &Scenario, p: &Paths) -> (Demand, Arrivals) {
    let n = sc.fleet.devices;
    let mut demand = Demand {
        devices: n,
        ..Demand::default()
    };
    let instances = sc.dps.instances.max(1) as usize;
    let mut a = Arrivals {
        reg_times: vec![Vec::new(); instances],
        look_times: vec![Vec::new(); instances],
        hub_only: Vec::new(),
        earliest: Vec::with_capacity(n as usize),
    };
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
            a.hub_only.push(boot);
            boot
        } else if c.status_lookup && s.registered {
            demand.dps_lookup += 1;
            a.look_times[inst].push(boot);
            boot + p.after_lookup
        } else {
            demand.dps_register += 1;
            if s.registered {
                demand.dps_register_avoidable += 1;
            }
            // A lookup that finds nothing answers after one DPS latency; then it registers.
            let t = if c.status_lookup { boot + p.lat } else { boot };
            a.reg_times[inst].push(t);
            t + p.after_register
        };
        a.earliest.push(e + p.connect_lat);
    }
    a.earliest.sort_by(f64::total_cmp);
    (demand, a)
}

/// `r·burst + 1`: the most a GCRA of rate `r` admits at once.
pub(super) fn burst(r: f64, b: SimDuration) -> f64 {
    r * b.as_secs_f64() + 1.0
}

/// What DPS lets through, summed over instances, as cumulative curves on the grid.
pub(super) struct DpsCurves {
    /// Devices through DPS under every limit.
    pub both: Vec<f64>,
    /// Under the registration limit alone.
    pub reg_only: Vec<f64>,
    /// Under the operations limit alone.
    pub ops_only: Vec<f64>,
    /// Under the operation-status (poll) limit alone.
    pub polls_only: Vec<f64>,
    /// Registering devices' arrivals, and what the registration limit passes of them.
    pub reg_arrivals: Vec<f64>,
    pub reg_through: Vec<f64>,
    /// Operations the fleet asks for (registers and lookups; polls have their own limit).
    pub ops_demand: Vec<f64>,
    /// Per instance: registrations, operations and polls per second, and the last two's
    /// bursts.
    pub rr: f64,
    pub or: f64,
    pub ob: f64,
    pub pr: f64,
    pub pb: f64,
}

pub(super) fn dps_curves(sc: &Scenario, grid: &Grid, a: &Arrivals) -> DpsCurves {
    let l = &sc.dps.limits;
    let (rr, rb) = (l.registrations_per_s, burst(l.registrations_per_s, l.burst));
    let (or, ob) = (l.operations_per_s, burst(l.operations_per_s, l.burst));
    let (pr, pb) = (
        l.operation_status_per_s,
        burst(l.operation_status_per_s, l.burst),
    );
    let lookups_cost = if l.lookups_are_operations { 1.0 } else { 0.0 };
    // Operations one registering device needs: its register, and a lookup before it when
    // every class looks up first. Its polls (at least one) count against the poll limit.
    let uses_lookup = sc.fleet.classes.iter().all(|c| c.status_lookup);
    let k_reg = 1.0 + lookups_cost * if uses_lookup { 1.0 } else { 0.0 };
    let k_look = lookups_cost;
    let zero = vec![0.0; grid.points];
    let mut c = DpsCurves {
        both: zero.clone(),
        reg_only: zero.clone(),
        ops_only: zero.clone(),
        polls_only: zero.clone(),
        reg_arrivals: zero.clone(),
        reg_through: zero.clone(),
        ops_demand: zero,
        rr,
        or,
        ob,
        pr,
        pb,
    };
    // Operations (and polls) admitted since time 0: r·t + b. Every device through DPS by
    // t_k by registering had at least one poll admitted by t_k.
    let ops: Vec<f64> = (0..grid.points).map(|k| or * grid.t(k) + ob).collect();
    let polls: Vec<f64> = (0..grid.points).map(|k| pr * grid.t(k) + pb).collect();
    for (reg_times, look_times) in a.reg_times.iter().zip(&a.look_times) {
        let a_reg = cumulative(grid, reg_times);
        let a_look = cumulative(grid, look_times);
        let x_reg = token_bucket(grid, &a_reg, rr, rb);
        for k in 0..grid.points {
            c.reg_arrivals[k] += a_reg[k];
            c.reg_through[k] += x_reg[k];
            c.ops_demand[k] += k_reg * a_reg[k] + k_look * a_look[k];
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
            let (x, y) = through(x_reg[k].min(polls[k]), ops[k]);
            let (xr, yr) = through(x_reg[k], f64::INFINITY);
            let (xo, yo) = through(a_reg[k], ops[k]);
            let (xp, yp) = through(a_reg[k].min(polls[k]), f64::INFINITY);
            c.both[k] += x + y;
            c.reg_only[k] += xr + yr;
            c.ops_only[k] += xo + yo;
            c.polls_only[k] += xp + yp;
        }
    }
    c
}

/// The hub stage: devices from DPS (shifted to their connect attempts) plus cached devices,
/// through the connect limit, shifted by the connect latency.
pub(super) struct HubStage<'a> {
    grid: &'a Grid,
    a_hub_only: Vec<f64>,
    shift_dps: f64,
    connect_lat: f64,
    pub rate: f64,
    pub burst: f64,
}

impl<'a> HubStage<'a> {
    pub fn new(sc: &Scenario, grid: &'a Grid, a: &Arrivals, p: &Paths) -> HubStage<'a> {
        HubStage {
            grid,
            a_hub_only: cumulative(grid, &a.hub_only),
            shift_dps: p.after_register.min(p.after_lookup),
            connect_lat: p.connect_lat,
            rate: sc.hub.limits.connects_per_s * sc.hub.count as f64,
            burst: burst(sc.hub.limits.connects_per_s, sc.hub.limits.burst) * sc.hub.count as f64,
        }
    }

    /// Connect attempts at the hub given DPS output `dps_out`.
    pub fn arrivals(&self, dps_out: &[f64]) -> Vec<f64> {
        let shifted = shift(self.grid, dps_out, self.shift_dps);
        self.a_hub_only
            .iter()
            .zip(&shifted)
            .map(|(a, b)| a + b)
            .collect()
    }

    /// Devices online by each grid point given DPS output `dps_out`, through the hub's connect
    /// limit if `limit_hub`.
    pub fn online(&self, dps_out: &[f64], limit_hub: bool) -> Vec<f64> {
        let arrivals = self.arrivals(dps_out);
        let out = if limit_hub {
            token_bucket(self.grid, &arrivals, self.rate, self.burst)
        } else {
            arrivals
        };
        shift(self.grid, &out, self.connect_lat)
    }
}

/// Where demand meets each limit, assuming every stage before it is as fast as it can be.
pub(super) fn pressures(
    sc: &Scenario,
    grid: &Grid,
    dps: &DpsCurves,
    hub: &HubStage,
    best: &[f64],
) -> Vec<StagePressure> {
    let instances = sc.dps.instances.max(1) as f64;
    let hub_arrivals = hub.arrivals(&dps.both);
    let d2c_rate = sc.hub.limits.d2c_per_s * sc.hub.count as f64;
    let d2c_b = burst(sc.hub.limits.d2c_per_s, sc.hub.limits.burst) * sc.hub.count as f64;
    let ops_total_rate = dps.or * instances;
    let ops_total_b = dps.ob * instances;
    let (polls_rate, polls_b) = (dps.pr * instances, dps.pb * instances);
    vec![
        pressure(
            grid,
            "dps.registrations",
            dps.rr * instances,
            &dps.reg_arrivals,
            &dps.reg_through,
        ),
        pressure(
            grid,
            "dps.operations",
            ops_total_rate,
            &dps.ops_demand,
            &token_bucket(grid, &dps.ops_demand, ops_total_rate, ops_total_b),
        ),
        pressure(
            grid,
            "dps.operation_status",
            polls_rate,
            &dps.reg_arrivals,
            &token_bucket(grid, &dps.reg_arrivals, polls_rate, polls_b),
        ),
        pressure(
            grid,
            "hub.connects",
            hub.rate,
            &hub_arrivals,
            &token_bucket(grid, &hub_arrivals, hub.rate, hub.burst),
        ),
        pressure(
            grid,
            "hub.d2c",
            d2c_rate,
            best,
            &token_bucket(grid, best, d2c_rate, d2c_b),
        ),
    ]
}

/// Each limit's bound taken alone (with unlimited stages elsewhere).
pub(super) fn by_stage(
    grid: &Grid,
    a: &Arrivals,
    dps: &DpsCurves,
    hub: &HubStage,
    n: u64,
) -> Vec<(String, LowerBounds)> {
    let unlimited: Vec<f64> = {
        let all: Vec<f64> = a
            .reg_times
            .iter()
            .chain(&a.look_times)
            .flatten()
            .copied()
            .collect();
        cumulative(grid, &all)
    };
    let b = |curve: Vec<f64>| bounds(grid, &curve, n, &a.earliest);
    vec![
        ("arrival".to_string(), b(hub.online(&unlimited, false))),
        (
            "dps.registrations".to_string(),
            b(hub.online(&dps.reg_only, false)),
        ),
        (
            "dps.operations".to_string(),
            b(hub.online(&dps.ops_only, false)),
        ),
        (
            "dps.operation_status".to_string(),
            b(hub.online(&dps.polls_only, false)),
        ),
        ("hub.connects".to_string(), b(hub.online(&unlimited, true))),
    ]
}

/// The stage whose own bound on t99 (t90 when t99 is never reached) is latest; the first
/// named wins a tie.
pub(super) fn bottleneck(by_stage: &[(String, LowerBounds)]) -> String {
    let key = |b: &LowerBounds| b.t99.or(b.t90).unwrap_or(f64::INFINITY);
    by_stage
        .iter()
        .fold(None::<(&str, f64)>, |best, (name, b)| match best {
            Some((_, v)) if v >= key(b) - 1e-9 => best,
            _ => Some((name, key(b))),
        })
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| "arrival".into())
}
