//! The report's prose: the banner of an incomplete run, the opening paragraph (what
//! happened, in one go), the daily quota and the files the report could not find, each in a
//! sentence or a few.

use super::{clock_name, ever_online, requests};
use crate::report::page::model::ReportModel;
use crate::report::page::text;

/// The warning shown above everything when the figures do not cover the whole run.
pub(crate) fn banner(m: &ReportModel) -> Option<String> {
    let s = &m.summary;
    if !s.complete {
        return Some(format!(
            "Incomplete run: it was interrupted at {} of {}, so every figure below covers only the time up to then and devices still on their way are missing from the tail.",
            text::clock(s.end_s),
            clock_name(m)
        ));
    }
    None
}

/// The opening paragraph: what happened, in one go.
pub(crate) fn paragraph(m: &ReportModel) -> String {
    let s = &m.summary;
    let mut p = format!(
        "The {} scenario ran {} devices on the {} engine (seed {}).",
        s.scenario.name,
        text::count(s.devices),
        s.engine,
        s.seed
    );
    let b = &s.model.lower_bound_s;
    match s.online.t99_s {
        Some(t) => {
            p.push_str(&format!(
                " 99 % of the fleet was online after {} of {}",
                text::duration(t),
                clock_name(m)
            ));
            match b.t99 {
                Some(lb) if lb > 0.0 => p.push_str(&format!(
                    ", {:.2}× the quota model's best possible ({}).",
                    t / lb,
                    text::duration(lb)
                )),
                _ => p.push('.'),
            }
            match s.online.t100_s {
                Some(t100) => p.push_str(&format!(
                    " The last device was online after {}.",
                    text::duration(t100)
                )),
                None => {
                    if let Some(e) = ever_online(m) {
                        p.push_str(&format!(
                            " {} devices were never online.",
                            text::count(s.devices.saturating_sub(e))
                        ));
                    }
                }
            }
        }
        None => {
            p.push_str(&format!(
                " 99 % of the fleet was never online: the run stopped at {}",
                text::clock(s.end_s)
            ));
            match ever_online(m) {
                Some(e) => p.push_str(&format!(
                    " with {} ({}) online at least once.",
                    text::count(e),
                    text::percent(e as f64 / s.devices.max(1) as f64)
                )),
                None => p.push('.'),
            }
        }
    }
    if let Some(bn) = &s.model.bottleneck {
        p.push_str(&format!(" The bottleneck is {}", text::stage_name(bn)));
        match &s.model.verdict {
            Some(v) => p.push_str(&format!(" (quota model: {v}).")),
            None => p.push('.'),
        }
    }
    let (attempts, throttled) =
        requests(m).fold((0, 0), |(a, t), (_, s)| (a + s.attempts, t + s.throttled));
    if attempts > 0 {
        if throttled == 0 {
            p.push_str(&format!(
                " None of the {} requests was throttled.",
                text::count(attempts)
            ));
        } else {
            let hit: Vec<String> = requests(m)
                .filter(|(_, s)| s.throttled > 0)
                .map(|(op, s)| format!("{} {}", text::op_name(op), text::percent(s.throttle_rate)))
                .collect();
            p.push_str(&format!(
                " {} of {} requests were answered 429 (throttled): {}",
                text::percent(throttled as f64 / attempts as f64),
                text::count(attempts),
                hit.join(", ")
            ));
            let clean: Vec<&str> = requests(m)
                .filter(|(_, s)| s.attempts > 0 && s.throttled == 0)
                .map(|(op, _)| text::op_name(op))
                .collect();
            if clean.is_empty() {
                p.push('.');
            } else {
                p.push_str(&format!("; {} never.", clean.join(" and ")));
            }
        }
    }
    p.push_str(&spent_on_nobody(m));
    if !s.slo.is_empty() {
        let met = s.slo.iter().filter(|v| v.pass).count();
        p.push_str(&format!(" SLOs: {met} of {} met", s.slo.len()));
        let missed: Vec<String> = s
            .slo
            .iter()
            .filter(|v| !v.pass)
            .map(|v| {
                format!(
                    "{} {} (measured {})",
                    v.metric,
                    v.condition,
                    v.measured
                        .map_or("nothing".into(), |x| text::metric_value(&v.metric, x))
                )
            })
            .collect();
        if missed.is_empty() {
            p.push('.');
        } else {
            p.push_str(&format!("; missed: {}.", missed.join("; ")));
        }
    }
    p
}

/// Load that served nobody (docs/service-models.md): registrations repeated while one was
/// accepted or in flight, and answers that came after their device had stopped waiting.
fn spent_on_nobody(m: &ReportModel) -> String {
    let mut p = String::new();
    let ops = &m.summary.operations.0;
    let online = ops
        .iter()
        .find(|(op, _)| op == "device.boot_to_online")
        .map_or(0, |(_, s)| s.ok);
    if let Some((_, r)) = ops.iter().find(|(op, _)| op == "dps.register")
        && let Some(repeats) = r.repeats.filter(|&n| n > 0)
    {
        p.push_str(&format!(
            " Re-registration multiplied DPS's load: devices started {} registrations ({:.1} per device that came online) while they already had one accepted or in flight.",
            text::count(repeats),
            repeats as f64 / online.max(1) as f64
        ));
    }
    let late: Vec<String> = requests(m)
        .filter_map(|(op, s)| s.late.filter(|&n| n > 0).map(|n| (op, n)))
        .map(|(op, n)| format!("{} {}", text::op_name(op), text::count(n)))
        .collect();
    if !late.is_empty() {
        p.push_str(&format!(
            " The services answered after their devices had stopped waiting: {}.",
            late.join(", ")
        ));
    }
    p
}

/// The daily message quota, in a sentence.
pub(crate) fn daily_quota(m: &ReportModel) -> Option<String> {
    let q = m.summary.model.daily_quota.as_ref()?;
    let end = match q.hours_until_spent {
        Some(h) => format!("it is spent after {}", text::duration(h * 3600.0)),
        None => "it lasts the day".into(),
    };
    Some(format!(
        "Daily message quota: at steady state the fleet sends {} of the {} messages a day the hubs allow; {end}.",
        text::count(q.fleet_messages_per_day),
        text::count(q.messages_per_day)
    ))
}

/// A sentence on the files the report could not find.
pub(crate) fn missing<'a>(m: &'a ReportModel) -> Option<String> {
    if m.missing.is_empty() {
        return None;
    }
    let what = |f: &'a str| -> &'a str {
        match f {
            "timeline.csv" => "timeline.csv (no charts over time)",
            "histograms.hlog" => "histograms.hlog (no latency spectrum)",
            "latency.csv" => "latency.csv (no mean latencies)",
            "run.json" => "run.json (no wall-clock facts)",
            other => other,
        }
    };
    let list: Vec<&str> = m.missing.iter().map(|f| what(f)).collect();
    Some(format!(
        "Not in this results directory: {}.",
        list.join(", ")
    ))
}
