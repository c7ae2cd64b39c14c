//! The latency percentile spectrum per operation (HdrHistogram's percentile distribution),
//! with a log-scaled tail.

use super::{Axes, Chart, Mark, WIDTH, chart, err, legend, op_color, svg};
use crate::report::page::model::ReportModel;
use crate::report::page::text;
use plotters::prelude::*;

/// Label of a "nines" tick: 0 → `0 %`, 1 → `90 %`, 3 → `99.9 %`.
fn nines_label(n: f64) -> String {
    let p = (1.0 - 10f64.powf(-n)) * 100.0;
    let decimals = (n.round() as i32 - 2).max(0) as usize;
    format!("{:.*} %", decimals, p)
}

/// A latency tick, `10^k` milliseconds: `0.1 ms`, `10 ms`, `1 s`, `100 s`, `10,000 s`.
fn latency_tick(log_ms: f64) -> String {
    let ms = 10f64.powf(log_ms);
    if ms < 1_000.0 {
        format!("{} ms", text::tick((ms * 1e3).round() / 1e3))
    } else {
        format!("{} s", text::tick((ms / 1e3).round()))
    }
}

/// The latency percentile spectrum of every operation with Ok answers: log-scaled tail on x
/// (each step right is ten times rarer), log-scaled latency on y.
pub(super) fn spectrum(m: &ReportModel) -> Option<Chart> {
    let spectra: Vec<_> = m.spectra.iter().filter(|s| !s.points.is_empty()).collect();
    if spectra.is_empty() {
        return None;
    }
    let all = spectra.iter().flat_map(|s| s.points.iter());
    let (lo, hi, deepest) = all.fold((f64::INFINITY, 0f64, 0f64), |(lo, hi, d), p| {
        (lo.min(p.ms.max(1e-3)), hi.max(p.ms), d.max(p.nines))
    });
    let y_start = lo.log10().floor();
    let y_end = hi.max(lo * 10.0).log10().ceil().max(y_start + 1.0);
    let y_ticks: Vec<f64> = (y_start as i32..=y_end as i32).map(f64::from).collect();
    let x_end = deepest.ceil().max(1.0);
    let mut x_ticks = vec![0.0, 2f64.log10()];
    x_ticks.extend((1..=x_end as i32).map(f64::from));
    let y_fmt = |v: &f64| latency_tick(*v);
    let axes = Axes {
        x_ticks,
        x_end,
        x_desc: "percentile (log-scaled tail: each step right is 10× rarer)".into(),
        x_fmt: &|v| nines_label(*v),
        y_ticks,
        y_start,
        y_end,
        y_desc: "latency (log scale)",
        y_fmt: &y_fmt,
    };
    let svg = svg(WIDTH, 340, |area| {
        let mut c = chart(area, &axes)?;
        for s in &spectra {
            let pts = s.points.iter().map(|p| (p.nines, p.ms.max(1e-3).log10()));
            c.draw_series(LineSeries::new(pts, op_color(&s.op).stroke_width(2)))
                .map_err(err)?;
        }
        Ok(())
    });
    Some(Chart {
        id: "chart-latency".into(),
        title: "Latency percentile spectrum (OK answers)".into(),
        svg,
        legend: spectra
            .iter()
            .map(|s| {
                legend(
                    format!("{} ({} OK)", s.op, text::count(s.count)),
                    op_color(&s.op),
                    Mark::Line,
                )
            })
            .collect(),
        note: "HdrHistogram percentile distribution from histograms.hlog: the median at 50 %, and each step right ten times rarer (90 %, 99 %, 99.9 %…). A line ends at the deepest percentile its sample count supports.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        assert_eq!(nines_label(0.0), "0 %");
        assert_eq!(nines_label(2f64.log10()), "50 %");
        assert_eq!(nines_label(2.0), "99 %");
        assert_eq!(nines_label(4.0), "99.99 %");
        assert_eq!(latency_tick(-1.0), "0.1 ms");
        assert_eq!(latency_tick(2.0), "100 ms");
        assert_eq!(latency_tick(3.0), "1 s");
        assert_eq!(latency_tick(7.0), "10,000 s");
    }
}
