//! The report's charts, drawn with plotters' SVG backend: pure functions from the
//! [`ReportModel`] to SVG text. Ticks are chosen here (not by plotters) so labels are round
//! numbers in the axis's own unit, and output is deterministic. Titles and legends are HTML
//! around the SVG (see [`super::html`]): text laid out by the browser wraps and prints well,
//! where plotters (without font files) can only guess text widths.

mod latency;
mod online;
mod rates;

use super::model::ReportModel;
use super::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width of every chart, in CSS pixels (the page's content column).
pub const WIDTH: u32 = 940;

/// A chart ready to place: the SVG, plus what the page says around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// A stable HTML id, e.g. `chart-online`, `chart-rate-dps-register`.
    pub id: String,
    pub title: String,
    /// The `<svg>` element, or why it could not be drawn.
    pub svg: Result<String, String>,
    pub legend: Vec<Legend>,
    /// One or two sentences on how to read it (plain text).
    pub note: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Legend {
    pub label: String,
    /// `#rrggbb`.
    pub color: String,
    pub mark: Mark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Line,
    Dashed,
    Area,
    Dot,
    Ring,
    Cross,
}

// Colours: one per operation, the same in every chart.
pub(crate) const THROTTLED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
pub(crate) const FAILED: RGBColor = RGBColor(0x8c, 0x56, 0x4b);
pub(crate) const BOUND: RGBColor = RGBColor(0x55, 0x55, 0x55);
pub(crate) const LIMIT: RGBColor = RGBColor(0x11, 0x11, 0x11);
pub(crate) const EVER: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
pub(crate) const NOW: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const AXIS: RGBColor = RGBColor(0x88, 0x88, 0x88);
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);

pub(crate) fn op_color(op: &str) -> RGBColor {
    match op {
        "dps.status_lookup" => RGBColor(0xe3, 0x77, 0xc2),
        "dps.register" => RGBColor(0x1f, 0x77, 0xb4),
        "dps.poll" => RGBColor(0x94, 0x67, 0xbd),
        "hub.connect" => RGBColor(0xff, 0x7f, 0x0e),
        "hub.telemetry" => RGBColor(0x2c, 0xa0, 0x2c),
        "device.boot_to_online" => RGBColor(0x44, 0x44, 0x44),
        _ => RGBColor(0x7f, 0x7f, 0x7f),
    }
}

pub(crate) fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

pub(crate) fn legend(label: impl Into<String>, c: RGBColor, mark: Mark) -> Legend {
    Legend {
        label: label.into(),
        color: hex(c),
        mark,
    }
}

/// plotters divides font sizes by 1.24 in SVG; this is 12 px on the page.
const FONT_PX: f64 = 12.0 * 1.24;

pub(crate) fn font() -> TextStyle<'static> {
    ("sans-serif", FONT_PX).into_font().color(&INK)
}

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A linear `f64` axis whose ticks are exactly the ones given. (plotters' `with_key_points`
/// does the same for integers, but its `f64` version cannot draw a mesh.)
#[derive(Clone, Debug)]
pub(crate) struct TickAxis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
}

impl TickAxis {
    pub(crate) fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> TickAxis {
        TickAxis { lo, hi, ticks }
    }
}

impl Ranged for TickAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span == 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let share = ((v - self.lo) / span).clamp(-1.0, 2.0);
        let pixels = f64::from(limit.1 - limit.0);
        // As plotters' own numeric axes: round towards the start, so the axis end maps
        // exactly onto the last pixel (and its tick label is drawn).
        if pixels >= 0.0 {
            limit.0 + (pixels * share + 1e-3).floor() as i32
        } else {
            limit.0 + (pixels * share - 1e-3).ceil() as i32
        }
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

pub(crate) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws into a `w × h` SVG.
pub(crate) fn svg(
    w: u32,
    h: u32,
    draw: impl FnOnce(&Area<'_>) -> Result<(), String>,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Round tick values from 0 to at least `max`: about `target` of them, at 1, 2, 2.5 or 5
/// times a power of ten. Returns the ticks and the axis end (the last tick).
pub(crate) fn nice_ticks(max: f64, target: usize) -> (Vec<f64>, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let n = (max / step - 1e-9).ceil() as usize;
    let ticks: Vec<f64> = (0..=n).map(|i| i as f64 * step).collect();
    let end = ticks[ticks.len() - 1];
    (ticks, end)
}

/// The unit simulated time is shown in: seconds up to 5 minutes, minutes up to 3 hours, then
/// hours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TimeUnit {
    pub secs: f64,
    pub name: &'static str,
}

pub(crate) fn time_unit(end_s: f64) -> TimeUnit {
    if end_s <= 300.0 {
        TimeUnit {
            secs: 1.0,
            name: "s",
        }
    } else if end_s <= 3.0 * 3600.0 {
        TimeUnit {
            secs: 60.0,
            name: "min",
        }
    } else {
        TimeUnit {
            secs: 3600.0,
            name: "h",
        }
    }
}

/// The axes of a chart: ticks (exactly these), ends, descriptions, tick labels.
pub(crate) struct Axes<'a> {
    pub x_ticks: Vec<f64>,
    pub x_end: f64,
    pub x_desc: String,
    pub x_fmt: &'a dyn Fn(&f64) -> String,
    pub y_ticks: Vec<f64>,
    pub y_start: f64,
    pub y_end: f64,
    pub y_desc: &'a str,
    pub y_fmt: &'a dyn Fn(&f64) -> String,
}

/// A tick label as a plain number.
pub(crate) fn plain_tick(v: &f64) -> String {
    text::tick(*v)
}

pub(crate) type Ctx<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<TickAxis, TickAxis>>;

/// A chart on `area` with `ax` drawn: a light grid at the ticks, labels in 12 px sans-serif.
pub(crate) fn chart<'a, 'b>(area: &'a Area<'b>, ax: &Axes<'_>) -> Result<Ctx<'a, 'b>, String> {
    let mut c = ChartBuilder::on(area)
        .margin_top(12)
        .margin_right(40)
        .margin_left(6)
        .x_label_area_size(44)
        .y_label_area_size(78)
        .build_cartesian_2d(
            TickAxis::new(0.0, ax.x_end, ax.x_ticks.clone()),
            TickAxis::new(ax.y_start, ax.y_end, ax.y_ticks.clone()),
        )
        .map_err(err)?;
    c.configure_mesh()
        .x_labels(ax.x_ticks.len() + 1)
        .y_labels(ax.y_ticks.len() + 1)
        .x_label_formatter(ax.x_fmt)
        .y_label_formatter(ax.y_fmt)
        .x_desc(ax.x_desc.as_str())
        .y_desc(ax.y_desc)
        .label_style(font())
        .axis_desc_style(font())
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()
        .map_err(err)?;
    Ok(c)
}

pub(crate) fn time_axes<'a>(
    m: &ReportModel,
    end_s: f64,
    y_ticks: (Vec<f64>, f64),
    y_desc: &'a str,
    y_fmt: &'a dyn Fn(&f64) -> String,
) -> (TimeUnit, Axes<'a>) {
    let unit = time_unit(end_s);
    let (x_ticks, x_end) = nice_ticks(end_s / unit.secs, 10);
    let (y_ticks, y_end) = y_ticks;
    let axes = Axes {
        x_ticks,
        x_end,
        x_desc: format!("{} ({})", super::content::clock_name(m), unit.name),
        x_fmt: &plain_tick,
        y_start: 0.0,
        y_ticks,
        y_end,
        y_desc,
        y_fmt,
    };
    (unit, axes)
}

/// Every chart the model supports, in page order.
pub fn all(m: &ReportModel) -> Vec<Chart> {
    let mut charts = Vec::new();
    if let Some(tl) = &m.timeline {
        charts.push(online::online(m, tl, false));
        charts.push(online::online(m, tl, true));
        for (op, _) in &m.summary.operations.0 {
            if let Some(c) = rates::rate(m, tl, op) {
                charts.push(c);
            }
        }
        if let Some(c) = rates::throttle_rate(m, tl) {
            charts.push(c);
        }
    }
    if let Some(c) = latency::spectrum(m) {
        charts.push(c);
    }
    charts
}

/// The end of the time axis: the run's end, or the last bound if the model expects later.
pub(crate) fn time_end(m: &ReportModel) -> f64 {
    let b = &m.summary.model.lower_bound_s;
    let curve_end = m
        .summary
        .model
        .best_curve
        .as_ref()
        .and_then(|c| c.last().map(|p| p.0))
        .unwrap_or(0.0);
    [m.summary.end_s, b.t100.unwrap_or(0.0), curve_end]
        .into_iter()
        .fold(0.0, f64::max)
        .max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(29.7, 10),
            ((0..=6).map(|i| i as f64 * 5.0).collect(), 30.0)
        );
        assert_eq!(nice_ticks(1.0, 5).1, 1.0);
        assert_eq!(nice_ticks(0.0, 5).1, 1.0);
        let (t, end) = nice_ticks(583.0, 5);
        assert_eq!(t[1], 200.0);
        assert_eq!(end, 600.0);
        assert_eq!(nice_ticks(23.0, 10).0[1], 2.5);
    }

    #[test]
    fn time_units() {
        assert_eq!(time_unit(89.0).name, "s");
        assert_eq!(time_unit(1_784.0).name, "min");
        assert_eq!(time_unit(17_372.0).name, "h");
    }

    #[test]
    fn the_axis_end_maps_onto_the_last_pixel() {
        let a = TickAxis::new(0.0, 100.0, vec![0.0, 50.0, 100.0]);
        assert_eq!(a.map(&0.0, (10, 110)), 10);
        assert_eq!(a.map(&100.0, (10, 110)), 110);
        assert_eq!(a.map(&100.0, (300, 20)), 20, "y axes run upwards");
        assert_eq!(a.map(&50.0, (300, 20)), 160);
    }
}
