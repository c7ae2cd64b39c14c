//! Devices online over time, against the quota model's best possible.

use super::{
    BOUND, Chart, EVER, Legend, Mark, NOW, WIDTH, chart, err, legend, svg, time_axes, time_end,
};
use crate::report::page::model::{ReportModel, TimelineView};
use crate::report::page::text;
use plotters::prelude::*;

/// Devices online over time against the quota model's best possible. `tail` zooms on the
/// last 10 % of the fleet.
pub(super) fn online(m: &ReportModel, tl: &TimelineView, tail: bool) -> Chart {
    let s = &m.summary;
    let n = s.devices.max(1) as f64;
    let pct = |d: f64| d / n * 100.0;
    let end_s = time_end(m);
    let (y_lo, y_ticks, h) = if tail {
        (90.0, vec![90.0, 92.0, 94.0, 96.0, 98.0, 100.0], 240)
    } else {
        (0.0, vec![0.0, 25.0, 50.0, 75.0, 90.0, 100.0], 320)
    };
    let y_fmt = |v: &f64| format!("{} %", text::tick(*v));
    let (unit, mut axes) = time_axes(m, end_s, (y_ticks, 100.0), "devices online", &y_fmt);
    axes.y_start = y_lo;
    let x = |t: f64| t / unit.secs;
    let clamp = |y: f64| y.max(y_lo);

    let mut ever = vec![(0.0, clamp(0.0))];
    let mut now = vec![(0.0, clamp(0.0))];
    for p in &tl.points {
        let t = x(p.t_s + p.dt_s);
        ever.push((t, clamp(pct(p.ever_online as f64))));
        now.push((t, clamp(pct(p.online as f64))));
    }
    let show_now = tl.points.iter().any(|p| p.online != p.ever_online);

    let b = &s.model.lower_bound_s;
    let measured = [
        (50.0, s.online.t50_s),
        (90.0, s.online.t90_s),
        (99.0, s.online.t99_s),
        (100.0, s.online.t100_s),
    ];
    let bounds = [(50.0, b.t50), (90.0, b.t90), (99.0, b.t99), (100.0, b.t100)];
    let (best, best_label) = match &s.model.best_curve {
        Some(curve) if !curve.is_empty() => {
            let mut pts: Vec<(f64, f64)> =
                curve.iter().map(|&(t, d)| (x(t), clamp(pct(d)))).collect();
            if let Some(&(_, last)) = pts.last() {
                pts.push((axes.x_end, last));
            }
            (pts, "quota model: most devices that could be online")
        }
        _ => {
            let pts: Vec<(f64, f64)> = bounds
                .iter()
                .filter_map(|&(q, t)| t.map(|t| (x(t), q)))
                .filter(|&(_, q)| q >= y_lo)
                .collect();
            (pts, "quota model: best possible at 50/90/99/100 %")
        }
    };

    let svg = svg(WIDTH, h, |area| {
        let mut c = chart(area, &axes)?;
        c.draw_series(
            AreaSeries::new(ever.iter().copied(), y_lo, EVER.mix(0.12))
                .border_style(EVER.stroke_width(2)),
        )
        .map_err(err)?;
        if show_now {
            c.draw_series(LineSeries::new(now.iter().copied(), NOW.stroke_width(1)))
                .map_err(err)?;
        }
        c.draw_series(DashedLineSeries::new(
            best.iter().copied(),
            7,
            4,
            BOUND.stroke_width(2),
        ))
        .map_err(err)?;
        for &(q, t) in &bounds {
            if let Some(t) = t.filter(|_| q >= y_lo) {
                c.draw_series(std::iter::once(Circle::new(
                    (x(t), q),
                    5,
                    BOUND.stroke_width(2),
                )))
                .map_err(err)?;
            }
        }
        for &(q, t) in &measured {
            if let Some(t) = t.filter(|_| q >= y_lo) {
                c.draw_series(std::iter::once(Circle::new((x(t), q), 4, EVER.filled())))
                    .map_err(err)?;
            }
        }
        Ok(())
    });
    Chart {
        id: if tail {
            "chart-online-tail".into()
        } else {
            "chart-online".into()
        },
        title: if tail {
            "Devices online: the last 10 %".into()
        } else {
            "Devices online over time".into()
        },
        svg,
        legend: online_legend(show_now, best_label),
        note: online_note(m, tail),
    }
}

/// What the chart draws: the measured curves, the model's bound and the four quantiles.
fn online_legend(show_now: bool, best_label: &str) -> Vec<Legend> {
    let mut items = vec![legend("ever online (measured)", EVER, Mark::Area)];
    if show_now {
        items.push(legend("connected now", NOW, Mark::Line));
    }
    items.push(legend(best_label, BOUND, Mark::Dashed));
    items.push(legend("measured 50/90/99/100 %", EVER, Mark::Dot));
    items.push(legend("lower bound 50/90/99/100 %", BOUND, Mark::Ring));
    items
}

/// How to read the chart: what 100 % is, and what the dashed line promises.
fn online_note(m: &ReportModel, tail: bool) -> String {
    let s = &m.summary;
    if tail {
        "The same curves from 90 % up: the last tenth of the fleet is where quotas bite.".into()
    } else if s.model.best_curve.is_some() {
        format!(
            "{} devices = 100 %. The dashed curve is the quota model's upper bound on devices online at each moment: the measured curve can touch it, never cross it.",
            text::count(s.devices)
        )
    } else {
        format!(
            "{} devices = 100 %. The model exports only its four lower bounds (rings, joined by the dashed line); a measured time is never earlier than its bound.",
            text::count(s.devices)
        )
    }
}
