//! The report's tables as rows of cells: time to online against the model, operations,
//! quota limits and demand against what was measured, SLOs, the live run's figures, a plan's
//! configurations, and the run's facts.

use super::{Table, ever_online, is_live};
use crate::report::page::model::{ReportModel, TimelineView};
use crate::report::page::plan::PlanView;
use crate::report::page::text;

/// Time to 50/90/99/100 % online, measured beside the model's lower bound.
pub(crate) fn online_table(m: &ReportModel) -> Table {
    let s = &m.summary;
    let b = &s.model.lower_bound_s;
    let mut t = Table::new(&[
        ("online", true),
        ("devices", true),
        ("measured", true),
        ("best possible", true),
        ("measured / best", true),
    ]);
    let rows = [
        (50u64, s.online.t50_s, b.t50),
        (90, s.online.t90_s, b.t90),
        (99, s.online.t99_s, b.t99),
        (100, s.online.t100_s, b.t100),
    ];
    for (q, measured, bound) in rows {
        let devices = (u128::from(s.devices) * u128::from(q)).div_ceil(100) as u64;
        let ratio = match (measured, bound) {
            (Some(x), Some(y)) if y > 0.0 => format!("{:.2}", x / y),
            _ => "–".into(),
        };
        t.rows.push(vec![
            format!("{q} %"),
            text::count(devices.max(1)),
            measured.map_or("never".into(), text::clock),
            bound.map_or("never".into(), text::clock),
            ratio,
        ]);
    }
    t
}

/// Whether any operation had an error or a timeout (the operations table leaves those two
/// columns out when none did, and says so).
pub(crate) fn any_failures(m: &ReportModel) -> bool {
    m.summary
        .operations
        .0
        .iter()
        .any(|(_, s)| s.errors + s.timeouts > 0)
}

/// Per operation: counts, 429 rate, latency percentiles.
pub(crate) fn operations_table(m: &ReportModel) -> Table {
    let failures = any_failures(m);
    let mut head = vec![
        ("operation", false),
        ("attempts", true),
        ("OK", true),
        ("429", true),
    ];
    if failures {
        head.extend([("errors", true), ("timeouts", true)]);
    }
    head.extend([
        ("429 rate", true),
        ("mean", true),
        ("p50", true),
        ("p90", true),
        ("p99", true),
        ("p99.9", true),
        ("max", true),
    ]);
    let mut t = Table::new(&head);
    for (op, s) in &m.summary.operations.0 {
        if s.attempts == 0 && s.ok == 0 {
            continue;
        }
        let l = &s.latency_ms;
        let mut row = vec![
            op.clone(),
            text::count(s.attempts),
            text::count(s.ok),
            text::count(s.throttled),
        ];
        if failures {
            row.extend([text::count(s.errors), text::count(s.timeouts)]);
        }
        row.extend([
            text::percent(s.throttle_rate),
            text::latency_opt(m.mean_ms(op)),
            text::latency_opt(l.p50),
            text::latency_opt(l.p90),
            text::latency_opt(l.p99),
            text::latency_opt(l.p999),
            text::latency_opt(l.max),
        ]);
        t.rows.push(row);
    }
    t
}

/// Operations with no attempt at all (left out of the operations table).
pub(crate) fn unused_operations(m: &ReportModel) -> Vec<&str> {
    m.summary
        .operations
        .0
        .iter()
        .filter(|(_, s)| s.attempts == 0 && s.ok == 0)
        .map(|(op, _)| op.as_str())
        .collect()
}

/// OK answers per second over `ops` while the limit was binding: over the intervals in which
/// any of them was answered 429. `None` if none ever was.
fn ok_while_throttled(tl: &TimelineView, ops: &[&str]) -> Option<f64> {
    let idx: Vec<usize> = ops.iter().filter_map(|o| tl.op_index(o)).collect();
    let (ok, secs) = tl
        .points
        .iter()
        .filter(|p| idx.iter().any(|&i| p.ops[i].throttled > 0))
        .fold((0u64, 0f64), |(ok, secs), p| {
            (
                ok + idx.iter().map(|&i| p.ops[i].ok).sum::<u64>(),
                secs + p.dt_s,
            )
        });
    (secs > 0.0).then(|| ok as f64 / secs)
}

/// The busiest interval's OK answers per second over `ops`, and the interval's length.
fn peak_ok(tl: &TimelineView, ops: &[&str]) -> Option<(f64, f64)> {
    let idx: Vec<usize> = ops.iter().filter_map(|o| tl.op_index(o)).collect();
    if idx.is_empty() {
        return None;
    }
    tl.points
        .iter()
        .filter(|p| p.dt_s > 0.0)
        .map(|p| {
            let ok: u64 = idx.iter().map(|&i| p.ops[i].ok).sum();
            (ok as f64 / p.dt_s, p.dt_s)
        })
        .fold(None, |best: Option<(f64, f64)>, x| match best {
            Some(b) if b.0 >= x.0 => Some(b),
            _ => Some(x),
        })
}

/// Each quota limit beside the busiest rate measured under it, and the 429s it caused.
pub(crate) fn limits_table(m: &ReportModel) -> Option<Table> {
    let cap = m.summary.model.capacity.as_ref()?;
    let mut t = Table::new(&[
        ("limit", false),
        ("model: capacity", true),
        ("measured: OK while throttled", true),
        ("measured: busiest OK", true),
        ("measured: 429s", true),
    ]);
    let rows: [(&str, Option<f64>, &[&str]); 5] = [
        (
            "DPS registrations",
            cap.dps_registrations_per_s,
            &["dps.register"],
        ),
        (
            "DPS operations (register, lookup)",
            cap.dps_operations_per_s,
            &["dps.register", "dps.status_lookup"],
        ),
        (
            "DPS operation-status polls",
            cap.dps_operation_status_per_s,
            &["dps.poll"],
        ),
        ("IoT Hub connects", cap.hub_connects_per_s, &["hub.connect"]),
        (
            "IoT Hub device-to-cloud messages",
            cap.hub_d2c_per_s,
            &["hub.telemetry"],
        ),
    ];
    for (name, limit, ops) in rows {
        let Some(limit) = limit else { continue };
        let peak = m.timeline.as_ref().and_then(|tl| peak_ok(tl, ops));
        let throttled: u64 = ops
            .iter()
            .filter_map(|o| m.summary.operations.get(o))
            .map(|s| s.throttled)
            .sum();
        let binding = m
            .timeline
            .as_ref()
            .and_then(|tl| ok_while_throttled(tl, ops));
        t.rows.push(vec![
            name.to_string(),
            text::rate(limit),
            binding.map_or("never throttled".into(), text::rate),
            peak.map_or("–".into(), |(r, dt)| {
                format!("{} (over {})", text::rate(r), text::duration(dt))
            }),
            text::count(throttled),
        ]);
    }
    Some(t)
}

/// How the model divides the fleet over the paths to the hub, beside what happened.
pub(crate) fn demand_table(m: &ReportModel) -> Option<Table> {
    let d = m.summary.model.demand.as_ref()?;
    let ok = |op: &str| {
        m.summary
            .operations
            .get(op)
            .map_or("–".into(), |s| text::count(s.ok))
    };
    let never = ever_online(m).map_or("–".into(), |e| {
        text::count(m.summary.devices.saturating_sub(e))
    });
    let mut t = Table::new(&[
        ("devices that…", false),
        ("model", true),
        ("measured", true),
    ]);
    t.rows = vec![
        vec![
            "reconnect straight to a cached hub".into(),
            text::count(d.hub_only),
            "–".into(),
        ],
        vec![
            "look their registration up in DPS (OK lookups)".into(),
            text::count(d.dps_lookup),
            ok("dps.status_lookup"),
        ],
        vec![
            "register through DPS (OK registrations)".into(),
            text::count(d.dps_register),
            ok("dps.register"),
        ],
        vec![
            "never come back (never online)".into(),
            text::count(d.dead),
            never,
        ],
    ];
    Some(t)
}

pub(crate) fn slo_table(m: &ReportModel) -> Option<Table> {
    if m.summary.slo.is_empty() {
        return None;
    }
    let mut t = Table::new(&[
        ("metric", false),
        ("condition", false),
        ("measured", true),
        ("verdict", false),
    ]);
    for v in &m.summary.slo {
        t.rows.push(vec![
            v.metric.clone(),
            v.condition.clone(),
            v.measured
                .map_or("never".into(), |x| text::metric_value(&v.metric, x)),
            if v.pass { "pass" } else { "FAIL" }.into(),
        ]);
    }
    Some(t)
}

/// The live engine's own figures (endpoint, connections, wire latency, generator lag, telemetry
/// check); none for a virtual run.
pub(crate) fn live_table(m: &ReportModel) -> Option<Table> {
    let live = m.summary.live.as_ref()?;
    let mut t = Table::new(&[("figure", false), ("measured", false)]);
    for (label, text) in live.lines() {
        t.rows.push(vec![label.to_string(), text]);
    }
    Some(t)
}

pub(crate) fn plan_table(p: &PlanView) -> Table {
    let mut t = Table::new(&[
        ("configuration", false),
        ("cost", true),
        ("time to 99 % online", true),
        ("goals", false),
        ("", false),
    ]);
    for q in &p.points {
        let t99 = match (q.t99_s, q.t99_is_bound) {
            (Some(s), true) => format!("≥ {} (model)", text::clock(s)),
            (Some(s), false) => text::clock(s),
            (None, _) => "never".into(),
        };
        t.rows.push(vec![
            q.label.clone(),
            text::tick((q.cost * 100.0).round() / 100.0),
            t99,
            match q.meets_goals {
                Some(true) => "met",
                Some(false) => "missed",
                None => "",
            }
            .into(),
            if q.recommended {
                "recommended".into()
            } else {
                String::new()
            },
        ]);
    }
    t
}

/// The run's facts: `run.json` and the identifying parts of `summary.json`.
pub(crate) fn facts(m: &ReportModel) -> Vec<(&'static str, String)> {
    let s = &m.summary;
    let mut f = vec![
        ("scenario hash", s.scenario.hash.clone()),
        (
            "stopped",
            format!(
                "at {}{} ({})",
                text::clock(s.end_s),
                if is_live(m) {
                    " wall time"
                } else {
                    " simulated"
                },
                s.stop_reason.as_deref().unwrap_or("reason not recorded")
            ),
        ),
    ];
    if let Some(tl) = &m.timeline {
        f.push(("timeline bucket", text::duration(tl.bucket_s)));
    }
    if let Some(r) = &m.run {
        if let Some(v) = &r.started_utc {
            f.push(("started (UTC)", v.clone()));
        }
        if let Some(w) = r.wall_s {
            f.push(("wall time", format!("{w:.2} s")));
        }
        if let Some(e) = r.events {
            let rate = r
                .events_per_s
                .map(|x| format!(" ({:.1}M/s)", x / 1e6))
                .unwrap_or_default();
            if is_live(m) {
                f.push(("device steps", text::count(e)));
            } else {
                f.push(("events", format!("{}{rate}", text::count(e))));
            }
        }
        if let Some(b) = r.peak_rss_bytes {
            f.push(("peak memory", text::bytes(b)));
        }
        if let Some(h) = &r.host {
            f.push(("host", h.clone()));
        }
        if let Some(v) = &r.version {
            f.push(("fleetsim", v.clone()));
        }
        if !r.command_line.is_empty() {
            f.push(("command line", r.command_line.join(" ")));
        }
    }
    f
}
