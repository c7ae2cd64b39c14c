//! Cumulative curves on a time grid and the network-calculus operations the model chains:
//! arrivals (`cumulative`), what a GCRA lets through (`token_bucket`), a fixed delay (`shift`),
//! the first time a share of the fleet is reached (`bounds`), and where a stage backs up
//! (`pressure`).

use super::{LowerBounds, StagePressure};

/// Backlog between cumulative arrivals `a` and what a limit lets through, `out`.
pub(super) fn pressure(
    grid: &Grid,
    stage: &str,
    capacity: f64,
    a: &[f64],
    out: &[f64],
) -> StagePressure {
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
pub(super) fn downsample(grid: &Grid, curve: &[f64], max: usize) -> Vec<[f64; 2]> {
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
pub(super) struct Grid {
    pub(super) step: f64,
    pub(super) points: usize,
}

impl Grid {
    pub(super) fn t(&self, k: usize) -> f64 {
        k as f64 * self.step
    }
    /// The grid index of the first point at or after `t`.
    pub(super) fn ceil(&self, t: f64) -> usize {
        ((t / self.step).ceil().max(0.0) as usize).min(self.points - 1)
    }
}

/// `out[k] ≤ min(a[k], r·t_k + b, min_{j ≤ k} (a[j] − r·t_j) + r·t_k + b)`: the most a GCRA
/// of rate `r` and depth `b` can have passed by grid point `k` when fed by cumulative arrivals
/// `a`. The `r·t_k + b` term is the window from time 0, before which nothing arrives: without
/// it, a fleet that all arrives at the first grid point (a burst at t = 0) passed at once.
pub(super) fn token_bucket(grid: &Grid, a: &[f64], r: f64, b: f64) -> Vec<f64> {
    let mut m = 0.0_f64;
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
pub(super) fn shift(grid: &Grid, a: &[f64], d: f64) -> Vec<f64> {
    let k = (d / grid.step).floor() as usize;
    (0..a.len())
        .map(|i| if i >= k { a[i - k] } else { 0.0 })
        .collect()
}

pub(super) fn cumulative(grid: &Grid, times: &[f64]) -> Vec<f64> {
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
pub(super) fn bounds(grid: &Grid, curve: &[f64], n: u64, exact: &[f64]) -> LowerBounds {
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
