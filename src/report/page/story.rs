//! What the report says, independent of markup: the opening paragraph, the banner of an
//! incomplete run, and the tables as rows of cells. [`super::html`] and [`super::markdown`]
//! only format these.

use super::model::{ReportModel, TimelineView};
use super::plan::PlanView;
use super::text;

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
    let rows: [(&str, Option<f64>, &[&str]); 4] = [
        (
            "DPS registrations",
            cap.dps_registrations_per_s,
            &["dps.register"],
        ),
        (
            "DPS operations (register, poll, lookup)",
            cap.dps_operations_per_s,
            &["dps.register", "dps.poll", "dps.status_lookup"],
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

/// The daily message quota, in a sentence.
pub(crate) fn daily_quota(m: &ReportModel) -> Option<String> {
    let q = m.summary.model.daily_quota.as_ref()?;
    let end = match q.hours_until_spent {
        Some(h) => format!("it is spent after {h:.1} h"),
        None => "it lasts the day".into(),
    };
    Some(format!(
        "Daily message quota: at steady state the fleet sends {} of the {} messages a day the hubs allow; {end}.",
        text::count(q.fleet_messages_per_day),
        text::count(q.messages_per_day)
    ))
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
