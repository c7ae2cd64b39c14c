//! `[arrival]`: the power-on schedule, checked against the keys of its kind.

use super::{Invalid, MAX_CURVE_STEPS, Res, SHARE_TOLERANCE, dur, dur_up, round6, thousands};
use crate::scenario::schedule::{Arrival, Spread, Wave, Zone};
use crate::scenario::spec::{ArrivalKind, ArrivalSpec, SpreadKind};
use crate::time::SimDuration;

fn kind_name(k: ArrivalKind) -> &'static str {
    match k {
        ArrivalKind::Burst => "burst",
        ArrivalKind::Ramp => "ramp",
        ArrivalKind::Wave => "wave",
        ArrivalKind::Poisson => "poisson",
        ArrivalKind::Curve => "curve",
    }
}

/// Which arrival keys apply to which kinds (`start` applies to all).
const ARRIVAL_KEYS: [(&str, &[ArrivalKind]); 12] = [
    (
        "window",
        &[ArrivalKind::Burst, ArrivalKind::Ramp, ArrivalKind::Wave],
    ),
    ("spread", &[ArrivalKind::Burst]),
    ("from", &[ArrivalKind::Ramp]),
    ("to", &[ArrivalKind::Ramp]),
    ("every", &[ArrivalKind::Wave]),
    ("fractions", &[ArrivalKind::Wave]),
    ("waves", &[ArrivalKind::Wave]),
    ("rate", &[ArrivalKind::Poisson]),
    ("step", &[ArrivalKind::Curve]),
    ("weights", &[ArrivalKind::Curve]),
    ("days", &[ArrivalKind::Curve]),
    ("zones", &[ArrivalKind::Curve]),
];

fn arrival_key_set(a: &ArrivalSpec, key: &str) -> bool {
    match key {
        "window" => a.window.is_some(),
        "spread" => a.spread.is_some(),
        "from" => a.from.is_some(),
        "to" => a.to.is_some(),
        "every" => a.every.is_some(),
        "fractions" => a.fractions.is_some(),
        "waves" => a.waves.is_some(),
        "rate" => a.rate.is_some(),
        "step" => a.step.is_some(),
        "weights" => a.weights.is_some(),
        "days" => a.days.is_some(),
        "zones" => a.zones.is_some(),
        _ => false,
    }
}

fn finite_non_negative(x: f64, key: &str) -> Res<f64> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(Invalid::new(
            key,
            format!("{x} is not a non-negative number"),
        ))
    }
}

fn shares_add_to_one(shares: impl Iterator<Item = f64>, key: &str, what: &str) -> Res<()> {
    let sum: f64 = shares.sum();
    if (sum - 1.0).abs() > SHARE_TOLERANCE {
        return Err(
            Invalid::new(key, format!("{what} add up to {}, not 1", round6(sum)))
                .hint(format!("adjust the {what} so they add up to 1")),
        );
    }
    Ok(())
}

pub(super) fn arrival(a: &ArrivalSpec, devices: u64, max_duration: SimDuration) -> Res<Arrival> {
    let kind = a.kind.unwrap_or(ArrivalKind::Burst);
    let name = kind_name(kind);
    for (key, kinds) in ARRIVAL_KEYS {
        if arrival_key_set(a, key) && !kinds.contains(&kind) {
            let owners: Vec<String> = kinds
                .iter()
                .map(|k| format!("\"{}\"", kind_name(*k)))
                .collect();
            let owners = match owners.as_slice() {
                [one] => one.clone(),
                [init @ .., last] => format!("{} or {last}", init.join(", ")),
                [] => String::new(),
            };
            return Err(Invalid::new(
                format!("arrival.{key}"),
                format!(
                    "`{key}` only applies to kind = {owners}, but this arrival is kind = \"{name}\""
                ),
            )
            .hint(format!(
                "remove arrival.{key}, or set arrival.kind = \"{}\"",
                kind_name(kinds[0])
            )));
        }
    }
    let start = a.start.map_or(SimDuration::ZERO, |d| d.0);
    if start >= max_duration {
        return Err(Invalid::new(
            "arrival.start",
            format!(
                "the arrival starts at {}, not before run.max_duration = {}: no device would boot during the run",
                dur(start),
                dur(max_duration)
            ),
        )
        .hint("start the arrival earlier, or raise run.max_duration"));
    }
    let window = a.window.map_or(SimDuration::ZERO, |d| d.0);
    let (arrival, end_key) = match kind {
        ArrivalKind::Burst => {
            let spread = match a.spread.unwrap_or(SpreadKind::Uniform) {
                SpreadKind::Uniform => Spread::Uniform,
                SpreadKind::Normal => Spread::Normal,
                SpreadKind::Exponential => Spread::Exponential,
            };
            (
                Arrival::Burst {
                    start,
                    window,
                    spread,
                },
                "arrival.window",
            )
        }
        ArrivalKind::Ramp => {
            let from = finite_non_negative(a.from.unwrap_or(0.0), "arrival.from")?;
            let to = finite_non_negative(a.to.unwrap_or(1.0), "arrival.to")?;
            if from == 0.0 && to == 0.0 {
                return Err(Invalid::new("arrival.to", "`from` and `to` are both 0: no device would ever boot")
                    .hint("a ramp from 0 to 1 (the default) boots few devices at first and most at the end"));
            }
            (
                Arrival::Ramp {
                    start,
                    window,
                    from,
                    to,
                },
                "arrival.window",
            )
        }
        ArrivalKind::Wave => (
            wave(a, start, window)?,
            if a.waves.is_some() {
                "arrival.waves"
            } else {
                "arrival.every"
            },
        ),
        ArrivalKind::Poisson => {
            let rate = a.rate.ok_or_else(|| {
                Invalid::new(
                    "arrival.rate",
                    "a poisson arrival needs `rate` (boots per second)",
                )
                .hint("e.g. rate = 100.0")
            })?;
            if !(rate.is_finite() && rate > 0.0) {
                return Err(Invalid::new(
                    "arrival.rate",
                    format!("{rate} is not a positive number of boots per second"),
                ));
            }
            (Arrival::Poisson { start, rate }, "arrival.rate")
        }
        ArrivalKind::Curve => (curve(a, start)?, "arrival.weights"),
    };
    let end = arrival.end(devices);
    if end >= max_duration {
        return Err(Invalid::new(
            end_key,
            format!(
                "the arrival ends at {}, not before run.max_duration = {}: an arrival window longer than the run",
                dur_up(end),
                dur(max_duration)
            ),
        )
        .hint(format!("raise run.max_duration above {} (leave time for the last devices to come online), or shorten the arrival", dur_up(end))));
    }
    Ok(arrival)
}

fn wave(a: &ArrivalSpec, start: SimDuration, window: SimDuration) -> Res<Arrival> {
    let waves = match (&a.waves, a.every, &a.fractions) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            let key = if a.every.is_some() {
                "arrival.every"
            } else {
                "arrival.fractions"
            };
            return Err(Invalid::new(
                key,
                "a wave arrival takes either `waves` or `every` + `fractions`, not both",
            )
            .hint("remove one of the two forms"));
        }
        (Some(ws), None, None) => {
            if ws.is_empty() {
                return Err(Invalid::new("arrival.waves", "needs at least one wave")
                    .hint("e.g. waves = [{ at = \"0s\", share = 1.0 }]"));
            }
            shares_add_to_one(ws.iter().map(|w| w.share.0), "arrival.waves", "wave shares")?;
            ws.iter()
                .map(|w| Wave {
                    at: start + w.at.0,
                    share: w.share.0,
                    window: w.window.map_or(window, |d| d.0),
                })
                .collect::<Vec<_>>()
        }
        (None, Some(every), Some(fr)) => {
            if every.0.is_zero() {
                return Err(Invalid::new("arrival.every", "must be longer than 0"));
            }
            if fr.is_empty() {
                return Err(Invalid::new(
                    "arrival.fractions",
                    "needs at least one fraction",
                ));
            }
            shares_add_to_one(fr.iter().map(|s| s.0), "arrival.fractions", "fractions")?;
            fr.iter()
                .enumerate()
                .map(|(k, s)| Wave {
                    at: start + every.0.saturating_mul(k as u64),
                    share: s.0,
                    window,
                })
                .collect()
        }
        (None, Some(_), None) => {
            return Err(Invalid::new(
                "arrival.fractions",
                "`every` needs `fractions`: the share of the fleet in each wave",
            )
            .hint("e.g. fractions = [0.1, 0.4, 0.5]"));
        }
        (None, None, Some(_)) => {
            return Err(Invalid::new(
                "arrival.every",
                "`fractions` needs `every`: the time between waves",
            )
            .hint("e.g. every = \"1d\""));
        }
        (None, None, None) => {
            return Err(Invalid::new(
                "arrival.waves",
                "a wave arrival needs `waves` or `every` + `fractions`",
            )
            .hint("e.g. waves = [{ at = \"0s\", share = 0.1 }, { at = \"1d\", share = 0.9 }]"));
        }
    };
    Ok(Arrival::Wave { waves })
}

fn curve(a: &ArrivalSpec, start: SimDuration) -> Res<Arrival> {
    let step = a.step.ok_or_else(|| {
        Invalid::new("arrival.step", "a curve arrival needs `step`")
            .hint("e.g. step = \"1h\" for hourly weights")
    })?;
    if step.0.is_zero() {
        return Err(Invalid::new("arrival.step", "must be longer than 0"));
    }
    let weights = a.weights.as_ref().ok_or_else(|| {
        Invalid::new(
            "arrival.weights",
            "a curve arrival needs `weights`: the relative boot rate in each step",
        )
        .hint("e.g. 24 hourly weights of a day")
    })?;
    if weights.is_empty() {
        return Err(Invalid::new("arrival.weights", "needs at least one weight"));
    }
    for (i, w) in weights.iter().enumerate() {
        finite_non_negative(*w, &format!("arrival.weights[{i}]"))?;
    }
    if weights.iter().all(|w| *w == 0.0) {
        return Err(Invalid::new(
            "arrival.weights",
            "all weights are 0: no device would ever boot",
        ));
    }
    let days = a.days.clone().unwrap_or_else(|| vec![1.0]);
    if days.is_empty() {
        return Err(
            Invalid::new("arrival.days", "needs at least one multiplier")
                .hint("leave it out for one repetition of the weights"),
        );
    }
    for (i, d) in days.iter().enumerate() {
        finite_non_negative(*d, &format!("arrival.days[{i}]"))?;
    }
    if days.iter().all(|d| *d == 0.0) {
        return Err(Invalid::new(
            "arrival.days",
            "all multipliers are 0: no device would ever boot",
        ));
    }
    if weights.len().saturating_mul(days.len()) > MAX_CURVE_STEPS {
        return Err(Invalid::new(
            "arrival.days",
            format!(
                "{} weights × {} days is more than {} steps",
                weights.len(),
                days.len(),
                thousands(MAX_CURVE_STEPS as u64)
            ),
        ));
    }
    let expanded: Vec<f64> = days
        .iter()
        .flat_map(|d| weights.iter().map(move |w| w * d))
        .collect();
    let zones = match &a.zones {
        None => vec![Zone {
            share: 1.0,
            offset: SimDuration::ZERO,
        }],
        Some(z) if z.is_empty() => {
            return Err(Invalid::new("arrival.zones", "needs at least one zone")
                .hint("leave it out for a single zone"));
        }
        Some(z) => {
            shares_add_to_one(z.iter().map(|z| z.share.0), "arrival.zones", "zone shares")?;
            z.iter()
                .map(|z| Zone {
                    share: z.share.0,
                    offset: z.offset.0,
                })
                .collect()
        }
    };
    Ok(Arrival::curve(start, step.0, expanded, zones))
}
