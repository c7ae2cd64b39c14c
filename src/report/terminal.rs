//! The short human summary `fleetsim run` prints: measured figures beside the quota model's
//! lower bounds. A pure function of the results, so it is tested like any renderer.

use super::{RunInfo, Summary};
use crate::metric::duration::human;
use crate::quota::model::{ModelReport, QUANTILES};
use crate::scenario::units::{format_clock as clock, format_count as thousands};
use std::fmt::Write;
use std::path::Path;

/// A latency given in milliseconds, in the one duration format ([`human`]).
fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| human(v / 1e3))
}

/// An online time in seconds, or `never`.
fn secs(v: Option<f64>) -> String {
    v.map_or("never".into(), human)
}

pub fn render(
    summary: &Summary,
    model: &ModelReport,
    info: &RunInfo,
    dir: &Path,
    stop: &str,
) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} devices, {} engine, seed {}",
        summary.scenario.name,
        thousands(summary.devices),
        summary.engine,
        summary.seed
    );
    let why = match stop {
        "all_settled" => "every device online (or never coming back)",
        "max_duration" => "run.max_duration reached",
        "interrupted" => "INTERRUPTED: results are partial",
        "endpoint_lost" => "ENDPOINT LOST: results are partial",
        other => other,
    };
    if let Some(live) = &summary.live {
        // On the wall clock: the run's time is the wall time; its unit of work a device step.
        let _ = writeln!(
            o,
            "stopped at {} ({why}); {} device steps",
            clock(summary.end_s),
            thousands(info.events)
        );
        for (label, text) in live.lines() {
            let _ = writeln!(o, "  {label:<16} {text}");
        }
    } else {
        let _ = writeln!(
            o,
            "stopped at {} simulated ({why}); {:.2} s wall, {} events, {:.1}M events/s",
            clock(summary.end_s),
            info.wall_s,
            thousands(info.events),
            info.events_per_s / 1e6
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "  online   measured   lower bound   measured/bound");
    let measured = [
        summary.online.t50_s,
        summary.online.t90_s,
        summary.online.t99_s,
        summary.online.t100_s,
    ];
    for ((name, q), m) in QUANTILES.iter().zip(measured) {
        let bound = model.lower_bound_s.get(name);
        let ratio = match (m, bound) {
            (Some(m), Some(b)) if b > 0.0 => format!("{:.2}", m / b),
            _ => "-".into(),
        };
        let _ = writeln!(
            o,
            "  {:>4.0} %  {:>9}  {:>12}   {:>14}",
            q * 100.0,
            secs(m),
            secs(bound),
            ratio
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  {:<22} {:>10} {:>10} {:>10} {:>8} {:>8} {:>7} {:>9} {:>9}",
        "operation", "attempts", "ok", "throttled", "errors", "timeouts", "429 %", "p50", "p99"
    );
    for (name, op) in &summary.operations.0 {
        if op.attempts == 0 && op.ok == 0 {
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<22} {:>10} {:>10} {:>10} {:>8} {:>8} {:>7.1} {:>9} {:>9}",
            name,
            thousands(op.attempts),
            thousands(op.ok),
            thousands(op.throttled),
            thousands(op.errors),
            thousands(op.timeouts),
            op.throttle_rate * 100.0,
            ms(op.latency_ms.p50),
            ms(op.latency_ms.p99)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "  model: {}", model.verdict);
    if let Some(w) = summary.model.get("waste").and_then(|w| w.as_array()) {
        for m in w
            .iter()
            .filter_map(|x| x.get("message"))
            .filter_map(|m| m.as_str())
        {
            let _ = writeln!(o, "  waste: {m}");
        }
    }
    let q = &model.daily_quota;
    let quota = match q.hours_until_spent {
        Some(h) => format!("spent after {} of steady telemetry", human(h * 3600.0)),
        None => "lasts the day".into(),
    };
    let _ = writeln!(
        o,
        "  daily quota: at steady state the fleet sends {} of {} messages/day: {quota}",
        thousands(q.fleet_messages_per_day),
        thousands(q.messages_per_day)
    );
    let _ = writeln!(o, "  results: {}", dir.display());
    let _ = writeln!(o, "  report:  {}", dir.join("report.html").display());
    o
}
