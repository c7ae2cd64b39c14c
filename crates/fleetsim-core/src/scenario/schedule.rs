//! Arrival processes: when each device powers on.
//!
//! Every kind is a distribution of power-on times over the fleet, and device `i`'s time is that
//! distribution's inverse CDF at a uniform draw from device `i`'s own random stream. So any
//! device's time can be computed alone — a shard computes exactly its slice — and all kinds
//! share one code path. (A Poisson process conditioned on N arrivals in [0, N/rate) has exactly
//! this form: N independent uniform times.)

use crate::time::SimDuration;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Arrival {
    /// All at `start`, spread over `window` by `spread`.
    Burst {
        start: SimDuration,
        window: SimDuration,
        spread: Spread,
    },
    /// Boot rate changes linearly from `from` to `to` (relative) across the window.
    Ramp {
        start: SimDuration,
        window: SimDuration,
        from: f64,
        to: f64,
    },
    /// Waves at given times, each taking a share of the fleet spread uniformly over its window.
    /// Shares add up to 1.
    Wave { waves: Vec<Wave> },
    /// `rate` boots per second from `start` until the whole fleet is up.
    Poisson { start: SimDuration, rate: f64 },
    /// Piecewise-constant relative rate: `weights[k]` over `[start + k·step, start + (k+1)·step)`,
    /// shifted by each device's zone offset. Build with [`Arrival::curve`].
    Curve {
        start: SimDuration,
        step: SimDuration,
        weights: Vec<f64>,
        zones: Vec<Zone>,
        /// Prefix sums of the (non-negative) weights, for a binary-search inverse CDF.
        cumulative: Vec<f64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Spread {
    Uniform,
    /// Mean at mid-window, standard deviation a sixth of the window, clipped to it.
    Normal,
    /// Mean a fifth of the window, clipped to it: most devices early.
    Exponential,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Wave {
    pub at: SimDuration,
    pub share: f64,
    pub window: SimDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Zone {
    pub share: f64,
    pub offset: SimDuration,
}

impl Arrival {
    /// A curve arrival, with its prefix sums.
    pub fn curve(
        start: SimDuration,
        step: SimDuration,
        weights: Vec<f64>,
        zones: Vec<Zone>,
    ) -> Arrival {
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w.max(0.0);
                acc
            })
            .collect();
        Arrival::Curve {
            start,
            step,
            weights,
            zones,
            cumulative,
        }
    }

    /// Power-on time for uniform draws `u`, `v` in [0, 1) (`v` picks the time zone).
    pub fn time_at(&self, u: f64, v: f64, devices: u64) -> SimDuration {
        let u = u.clamp(0.0, 1.0 - f64::EPSILON);
        let us = |d: SimDuration| d.as_micros() as f64;
        let t = match self {
            Arrival::Burst {
                start,
                window,
                spread,
            } => us(*start) + us(*window) * spread_inverse(*spread, u),
            Arrival::Ramp {
                start,
                window,
                from,
                to,
            } => us(*start) + us(*window) * ramp_inverse(*from, *to, u),
            Arrival::Wave { waves } => {
                let mut acc = 0.0;
                let mut chosen = waves.last().map(|w| (w, 0.5));
                for w in waves {
                    if u < acc + w.share {
                        chosen = Some((w, (u - acc) / w.share.max(f64::MIN_POSITIVE)));
                        break;
                    }
                    acc += w.share;
                }
                chosen.map_or(0.0, |(w, x)| us(w.at) + us(w.window) * x.clamp(0.0, 1.0))
            }
            Arrival::Poisson { start, rate } => {
                us(*start) + u * devices as f64 / rate.max(1e-9) * 1e6
            }
            Arrival::Curve {
                start,
                step,
                zones,
                cumulative,
                ..
            } => {
                let offset = pick_zone(zones, v);
                us(*start) + us(offset) + us(*step) * curve_inverse(cumulative, u)
            }
        };
        SimDuration(t.max(0.0) as u64)
    }

    /// The time by which every device has powered on.
    pub fn end(&self, devices: u64) -> SimDuration {
        self.time_at(1.0, 1.0, devices).max(match self {
            Arrival::Curve {
                start,
                step,
                weights,
                zones,
                ..
            } => {
                let max_off = zones.iter().map(|z| z.offset).max().unwrap_or_default();
                *start + max_off + step.saturating_mul(weights.len() as u64)
            }
            Arrival::Wave { waves } => waves
                .iter()
                .map(|w| w.at + w.window)
                .max()
                .unwrap_or_default(),
            _ => SimDuration::ZERO,
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Arrival::Burst { .. } => "burst",
            Arrival::Ramp { .. } => "ramp",
            Arrival::Wave { .. } => "wave",
            Arrival::Poisson { .. } => "poisson",
            Arrival::Curve { .. } => "curve",
        }
    }
}

fn spread_inverse(spread: Spread, u: f64) -> f64 {
    match spread {
        Spread::Uniform => u,
        Spread::Normal => (0.5 + normal_quantile(u) / 6.0).clamp(0.0, 1.0),
        // Truncated exponential on [0, 1] with rate 5: inverse of (1 - e^{-5x}) / (1 - e^{-5}).
        Spread::Exponential => -(1.0 - u * (1.0 - (-5.0f64).exp())).ln() / 5.0,
    }
}

/// Density proportional to `from + (to - from)·x` on [0, 1]; inverse CDF at `u`.
fn ramp_inverse(from: f64, to: f64, u: f64) -> f64 {
    let (a, b) = (from.max(0.0), to.max(0.0));
    let total = (a + b) / 2.0;
    if total <= 0.0 {
        return u;
    }
    let k = b - a;
    let target = u * total;
    if k.abs() < 1e-12 {
        return target / a;
    }
    // a·x + k·x²/2 = target
    ((-a + (a * a + 2.0 * k * target).max(0.0).sqrt()) / k).clamp(0.0, 1.0)
}

/// Inverse CDF of the piecewise-constant density whose prefix sums are `cumulative`, in units
/// of steps. Binary search: a 12-day hourly curve has 288 steps and every device asks.
fn curve_inverse(cumulative: &[f64], u: f64) -> f64 {
    let n = cumulative.len();
    let total = cumulative.last().copied().unwrap_or(0.0);
    if total <= 0.0 {
        return u * n as f64;
    }
    let target = u * total;
    // The first step whose cumulative weight exceeds the target.
    let k = cumulative.partition_point(|&c| c <= target);
    if k >= n {
        return n as f64;
    }
    let before = if k == 0 { 0.0 } else { cumulative[k - 1] };
    k as f64 + (target - before) / (cumulative[k] - before)
}

fn pick_zone(zones: &[Zone], v: f64) -> SimDuration {
    let mut acc = 0.0;
    for z in zones {
        acc += z.share;
        if v < acc {
            return z.offset;
        }
    }
    zones.last().map(|z| z.offset).unwrap_or_default()
}

/// Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). rand_distr
/// samples normals but has no quantile function, and the statrs crate is heavy for one formula.
#[allow(clippy::excessive_precision)] // Acklam's published coefficients, kept verbatim.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383577518672690e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> SimDuration = SimDuration::from_secs;

    #[test]
    fn burst_uniform_maps_linearly() {
        let a = Arrival::Burst {
            start: S(10),
            window: S(100),
            spread: Spread::Uniform,
        };
        assert_eq!(a.time_at(0.0, 0.0, 1), S(10));
        assert_eq!(a.time_at(0.5, 0.0, 1), S(60));
        assert!(a.end(1) <= S(110));
    }

    #[test]
    fn normal_spread_is_centred_and_inside_the_window() {
        let a = Arrival::Burst {
            start: S(0),
            window: S(600),
            spread: Spread::Normal,
        };
        assert!((a.time_at(0.5, 0.0, 1).as_secs_f64() - 300.0).abs() < 0.01);
        assert!(a.time_at(1e-9, 0.0, 1) >= S(0) && a.time_at(0.999_999, 0.0, 1) <= S(600));
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
    }

    #[test]
    fn ramp_puts_more_devices_late() {
        let a = Arrival::Ramp {
            start: S(0),
            window: S(100),
            from: 0.0,
            to: 1.0,
        };
        // Triangular density: half the devices by 100·sqrt(1/2) ≈ 70.7 s.
        assert!((a.time_at(0.5, 0.0, 1).as_secs_f64() - 70.71).abs() < 0.01);
    }

    #[test]
    fn waves_take_their_shares_in_order() {
        let a = Arrival::Wave {
            waves: vec![
                Wave {
                    at: S(0),
                    share: 0.25,
                    window: S(10),
                },
                Wave {
                    at: S(100),
                    share: 0.75,
                    window: S(0),
                },
            ],
        };
        assert_eq!(a.time_at(0.125, 0.0, 1), S(5));
        assert_eq!(a.time_at(0.3, 0.0, 1), S(100));
    }

    #[test]
    fn poisson_spans_devices_over_rate() {
        let a = Arrival::Poisson {
            start: S(0),
            rate: 100.0,
        };
        assert!((a.time_at(0.999_999, 0.0, 10_000).as_secs_f64() - 100.0).abs() < 0.01);
    }

    #[test]
    fn curve_follows_weights_and_zones() {
        let zones = vec![
            Zone {
                share: 0.5,
                offset: S(0),
            },
            Zone {
                share: 0.5,
                offset: S(7200),
            },
        ];
        let a = Arrival::curve(S(0), S(3600), vec![1.0, 3.0], zones);
        // A quarter of the mass is in the first hour.
        assert_eq!(a.time_at(0.25, 0.1, 1), S(3600));
        assert_eq!(a.time_at(0.25, 0.9, 1), S(3600 + 7200));
        assert_eq!(a.end(1), S(7200 + 7200));
        // Zero-weight steps are skipped: nobody boots in the second hour.
        let gap = Arrival::curve(
            S(0),
            S(3600),
            vec![1.0, 0.0, 1.0],
            vec![Zone {
                share: 1.0,
                offset: S(0),
            }],
        );
        assert_eq!(gap.time_at(0.5, 0.0, 1), S(7200));
        assert_eq!(gap.time_at(0.25, 0.0, 1), S(1800));
    }
}
