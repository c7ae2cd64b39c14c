//! Requests per second per operation (answers stacked by outcome, the quota limit drawn),
//! and the 429 rate over time.

use super::{
    Chart, FAILED, LIMIT, Mark, THROTTLED, TimeUnit, WIDTH, chart, err, legend, nice_ticks,
    op_color, svg, time_axes, time_end, time_unit,
};
use crate::report::page::model::{BucketPoint, ReportModel, TimelineView};
use crate::report::page::text;
use plotters::prelude::*;

/// The quota limits that apply to `op`: `(label, requests per second)`.
fn limits(m: &ReportModel, op: &str) -> Vec<(String, f64)> {
    let Some(cap) = &m.summary.model.capacity else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match op {
        "dps.register" => match (cap.dps_registrations_per_s, cap.dps_operations_per_s) {
            (Some(r), Some(o)) if (r - o).abs() < 1e-9 => {
                out.push(("DPS registrations and operations limit".to_string(), r));
            }
            (r, o) => {
                if let Some(r) = r {
                    out.push(("DPS registrations limit".to_string(), r));
                }
                if let Some(o) = o {
                    out.push(("DPS operations limit".to_string(), o));
                }
            }
        },
        "dps.poll" => {
            if let Some(p) = cap.dps_operation_status_per_s {
                out.push(("DPS operation-status limit".to_string(), p));
            }
        }
        "dps.status_lookup" => {
            if let Some(o) = cap.dps_operations_per_s {
                out.push(("DPS operations limit".to_string(), o));
            }
        }
        "hub.connect" => {
            if let Some(c) = cap.hub_connects_per_s {
                out.push(("IoT Hub connect limit".to_string(), c));
            }
        }
        "hub.telemetry" => {
            if let Some(c) = cap.hub_d2c_per_s {
                out.push(("IoT Hub device-to-cloud limit".to_string(), c));
            }
        }
        _ => {}
    }
    out.retain(|(_, v)| v.is_finite() && *v > 0.0);
    out
}

/// Step-shaped series: each point holds its value over `[t, t + dt)`.
fn steps(
    points: &[BucketPoint],
    unit: TimeUnit,
    value: impl Fn(&BucketPoint) -> f64,
) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for p in points.iter().filter(|p| p.dt_s > 0.0) {
        let v = value(p) / p.dt_s;
        out.push((p.t_s / unit.secs, v));
        out.push(((p.t_s + p.dt_s) / unit.secs, v));
    }
    out
}

/// Requests per second of one operation, answers stacked by outcome, with its quota limit.
pub(super) fn rate(m: &ReportModel, tl: &TimelineView, op: &str) -> Option<Chart> {
    if op == "device.boot_to_online" {
        return None;
    }
    let i = tl.op_index(op)?;
    if tl.points.iter().all(|p| p.ops[i].attempts == 0) {
        return None;
    }
    let end_s = time_end(m);
    let unit = time_unit(end_s);
    let ok = steps(&tl.points, unit, |p| p.ops[i].ok as f64);
    let ok_thr = steps(&tl.points, unit, |p| {
        (p.ops[i].ok + p.ops[i].throttled) as f64
    });
    let all = steps(&tl.points, unit, |p| p.ops[i].answered() as f64);
    let peak = all.iter().map(|p| p.1).fold(0.0, f64::max);
    let limits = limits(m, op);
    // A limit far above the traffic would flatten it: leave it off the chart and say so.
    let shown: Vec<&(String, f64)> = limits
        .iter()
        .filter(|(_, v)| peak == 0.0 || *v <= peak * 4.0)
        .collect();
    let top = shown.iter().map(|l| l.1 * 1.08).fold(peak, f64::max);
    let y_fmt = |v: &f64| text::tick(*v);
    let (_, axes) = time_axes(m, end_s, nice_ticks(top, 5), "answers per second", &y_fmt);
    let color = op_color(op);
    let any_failed = tl
        .points
        .iter()
        .any(|p| p.ops[i].errors + p.ops[i].timeouts > 0);
    let any_throttled = tl.points.iter().any(|p| p.ops[i].throttled > 0);
    let svg = svg(WIDTH, 220, |area| {
        let mut c = chart(area, &axes)?;
        if any_failed {
            c.draw_series(AreaSeries::new(all.iter().copied(), 0.0, FAILED.filled()))
                .map_err(err)?;
        }
        if any_throttled {
            c.draw_series(AreaSeries::new(
                ok_thr.iter().copied(),
                0.0,
                THROTTLED.filled(),
            ))
            .map_err(err)?;
        }
        c.draw_series(AreaSeries::new(ok.iter().copied(), 0.0, color.filled()))
            .map_err(err)?;
        for (_, v) in &shown {
            c.draw_series(DashedLineSeries::new(
                [(0.0, *v), (axes.x_end, *v)],
                8,
                5,
                LIMIT.stroke_width(2),
            ))
            .map_err(err)?;
        }
        Ok(())
    });
    let mut legend_items = vec![legend("answered OK", color, Mark::Area)];
    if any_throttled {
        legend_items.push(legend("answered 429 (throttled)", THROTTLED, Mark::Area));
    }
    if any_failed {
        legend_items.push(legend("errors and timeouts", FAILED, Mark::Area));
    }
    for (label, v) in &shown {
        legend_items.push(legend(
            format!("{label}: {}", text::rate(*v)),
            LIMIT,
            Mark::Dashed,
        ));
    }
    let mut note = String::from("Answers per second by outcome, stacked.");
    if op.starts_with("dps.") && limits.iter().any(|(l, _)| l.contains("operations")) {
        note.push_str(
            " The DPS operations limit is shared by registrations, polls and status lookups.",
        );
    }
    for (label, v) in limits.iter().filter(|l| !shown.contains(l)) {
        note.push_str(&format!(
            " {label}: {}, far above this traffic (peak {}).",
            text::rate(*v),
            text::rate(peak)
        ));
    }
    Some(Chart {
        id: format!("chart-rate-{}", op.replace(['.', '_'], "-")),
        title: format!("{op}: requests per second"),
        svg,
        legend: legend_items,
        note,
    })
}

/// Unbroken runs of points of one line.
type Runs = Vec<Vec<(f64, f64)>>;

/// The share of each operation's answers that were 429, over time.
pub(super) fn throttle_rate(m: &ReportModel, tl: &TimelineView) -> Option<Chart> {
    let ops: Vec<(usize, &str)> = m
        .summary
        .operations
        .0
        .iter()
        .filter_map(|(op, _)| tl.op_index(op).map(|i| (i, op.as_str())))
        .filter(|(i, _)| tl.points.iter().any(|p| p.ops[*i].throttled > 0))
        .collect();
    if ops.is_empty() {
        return None;
    }
    let end_s = time_end(m);
    let y_fmt = |v: &f64| format!("{} %", text::tick(*v));
    let y_ticks = vec![0.0, 25.0, 50.0, 75.0, 100.0];
    let (unit, axes) = time_axes(m, end_s, (y_ticks, 100.0), "429 share of answers", &y_fmt);
    // Runs of buckets with answers, split where there were none.
    let series: Vec<(&str, Runs)> = ops
        .iter()
        .map(|&(i, op)| {
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for p in &tl.points {
                let c = &p.ops[i];
                let answered = c.answered();
                if answered == 0 {
                    if !runs[runs.len() - 1].is_empty() {
                        runs.push(Vec::new());
                    }
                    continue;
                }
                let t = (p.t_s + p.dt_s / 2.0) / unit.secs;
                let len = runs.len();
                runs[len - 1].push((t, c.throttled as f64 / answered as f64 * 100.0));
            }
            runs.retain(|r| !r.is_empty());
            (op, runs)
        })
        .collect();
    let svg = svg(WIDTH, 260, |area| {
        let mut c = chart(area, &axes)?;
        for (op, runs) in &series {
            let color = op_color(op);
            for run in runs {
                if run.len() == 1 {
                    c.draw_series(std::iter::once(Circle::new(run[0], 2, color.filled())))
                        .map_err(err)?;
                } else {
                    c.draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))
                        .map_err(err)?;
                }
            }
        }
        Ok(())
    });
    let never: Vec<&str> = m
        .summary
        .operations
        .0
        .iter()
        .filter(|(op, s)| {
            s.attempts > 0 && op != "device.boot_to_online" && !ops.iter().any(|(_, o)| o == op)
        })
        .map(|(op, _)| op.as_str())
        .collect();
    let mut note = String::from(
        "Of the answers in each interval, the share that were 429 (throttled); gaps are intervals without answers.",
    );
    if !never.is_empty() {
        note.push_str(&format!(" Never throttled: {}.", never.join(", ")));
    }
    Some(Chart {
        id: "chart-throttle".into(),
        title: "429 rate over time".into(),
        svg,
        legend: ops
            .iter()
            .map(|(_, op)| legend(*op, op_color(op), Mark::Line))
            .collect(),
        note,
    })
}
