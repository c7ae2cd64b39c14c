//! A capacity plan in the report: cost against time to 99 % online for each swept
//! configuration, the recommended one marked. [`PlanView`] is what the chart needs, read from
//! `plan.json` (written by `fleetsim plan`) by a lenient reader, so the chart does not depend
//! on every detail of that file.
//!
//! Read from `plan.json`: `goals` (or `goal`); `prices.currency`; and per entry of
//! `configurations`: `settings` (`[[key, value], …]` or an object), `cost_per_month` (or
//! `cost`), time to 99 % online from `measured_s.t99` (or `t99_s`), else the model's
//! `lower_bound_s.t99` (marked as a bound), `status` (`passed` / `failed` / …); the
//! recommendation from a top-level `recommended` (an object with `settings`, or an index) or a
//! `recommended: true` on the entry. Entries without a cost are left off the chart.

use super::charts::{self, Axes, Chart, Legend, Mark, WIDTH, chart, err, font};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    /// The goals as written (`online.t99 < 30m`), joined with `; `.
    pub goal: Option<String>,
    /// The threshold of a goal on time to 99 % online, seconds, when there is one.
    pub goal_t99_s: Option<f64>,
    /// What `cost` is measured in (`USD/month`); `cost` when unknown.
    pub cost_unit: String,
    pub points: Vec<PlanPoint>,
    /// Configurations left off the chart for want of a cost.
    pub unpriced: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanPoint {
    /// The configuration, e.g. `dps.instances=2, hub.units=4`.
    pub label: String,
    pub cost: f64,
    /// Seconds to 99 % online; `None` if never reached.
    pub t99_s: Option<f64>,
    /// `t99_s` is the quota model's lower bound: the configuration was not simulated.
    pub t99_is_bound: bool,
    /// Whether it met every goal, when the plan says.
    pub meets_goals: Option<bool>,
    pub recommended: bool,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Object(o) => ["total", "monthly", "per_month", "usd_per_month"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_f64)),
        _ => None,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `key=value` pairs of a configuration's settings, in their order.
fn pairs(settings: &Value) -> Vec<String> {
    match settings {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar(v)))
            .collect(),
        Value::Array(a) => a
            .iter()
            .map(|kv| match kv.as_array().map(Vec::as_slice) {
                Some([k, v]) => format!("{}={}", scalar(k), scalar(v)),
                _ => scalar(kv),
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![scalar(other)],
    }
}

/// The same settings whatever their order.
fn key(settings: &Value) -> Vec<String> {
    let mut p = pairs(settings);
    p.sort();
    p
}

/// `online.t99 < 30m` (or `online.t99_s <= 1800`) → 1800 seconds.
fn goal_t99(goal: &str) -> Option<f64> {
    let (metric, rest) = goal.trim().split_once(['<', '>', '='])?;
    if !matches!(metric.trim(), "online.t99" | "online.t99_s") {
        return None;
    }
    let value = rest.trim_start_matches(['<', '>', '=']).trim();
    crate::scenario::units::parse_duration(value)
        .ok()
        .map(|d| d.as_secs_f64())
}

impl PlanView {
    /// Reads the parts of `plan.json` the chart needs.
    pub fn from_json(v: &Value) -> Result<PlanView, String> {
        let configs = ["configurations", "configs", "candidates"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_array))
            .or_else(|| v.as_array())
            .ok_or("no `configurations` list")?;
        let pick = v.get("recommended");
        let pick_index = pick.and_then(Value::as_u64);
        let pick_key = pick.and_then(|p| p.get("settings")).map(key);
        let mut points = Vec::new();
        let mut unpriced = 0;
        for (i, c) in configs.iter().enumerate() {
            let Some(cost) = ["cost_per_month", "cost"]
                .iter()
                .find_map(|k| c.get(*k).and_then(number))
            else {
                unpriced += 1;
                continue;
            };
            let measured = c
                .get("t99_s")
                .or_else(|| c.get("t99"))
                .or_else(|| c.get("measured_s").and_then(|m| m.get("t99")))
                .or_else(|| c.get("online").and_then(|o| o.get("t99_s")))
                .and_then(Value::as_f64);
            let bound = c
                .get("lower_bound_s")
                .and_then(|b| b.get("t99"))
                .and_then(Value::as_f64);
            let simulated = c.get("measured_s").is_some_and(|m| !m.is_null());
            let t99_is_bound = measured.is_none() && !simulated && bound.is_some();
            let settings = c.get("settings").unwrap_or(&Value::Null);
            let meets_goals = match c.get("status").and_then(Value::as_str) {
                Some("passed" | "pass" | "ok" | "met") => Some(true),
                Some("failed" | "fail" | "pruned" | "missed") => Some(false),
                _ => c.get("pass").and_then(Value::as_bool),
            };
            let recommended = c.get("recommended").and_then(Value::as_bool).unwrap_or(
                pick_index == Some(i as u64) || pick_key.as_ref() == Some(&key(settings)),
            );
            points.push(PlanPoint {
                label: pairs(settings).join(", "),
                cost,
                t99_s: if t99_is_bound { bound } else { measured },
                t99_is_bound,
                meets_goals,
                recommended,
            });
        }
        let goals: Vec<String> = match (v.get("goals"), v.get("goal")) {
            (Some(Value::Array(a)), _) => a.iter().map(scalar).collect(),
            (_, Some(g)) => vec![scalar(g)],
            _ => Vec::new(),
        };
        let cost_unit = match (
            v.get("cost_unit").and_then(Value::as_str),
            v.get("prices")
                .and_then(|p| p.get("currency"))
                .or_else(|| v.get("currency"))
                .and_then(Value::as_str),
        ) {
            (Some(u), _) => u.to_string(),
            (None, Some(c)) => format!("{c}/month"),
            (None, None) => "cost".to_string(),
        };
        Ok(PlanView {
            goal_t99_s: goals.iter().find_map(|g| goal_t99(g)),
            goal: (!goals.is_empty()).then(|| goals.join("; ")),
            cost_unit,
            points,
            unpriced,
        })
    }
}

const POINT: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);
const MEETS: RGBColor = RGBColor(0x44, 0x44, 0x44);
const MISSES: RGBColor = RGBColor(0xe0, 0x8a, 0x8a);
const PICK: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const NEVER: RGBColor = RGBColor(0xd6, 0x27, 0x28);

fn color(q: &PlanPoint) -> RGBColor {
    match (q.recommended, q.meets_goals) {
        (true, _) => PICK,
        (false, Some(true)) => MEETS,
        (false, Some(false)) => MISSES,
        (false, None) => POINT,
    }
}

/// Cost against time to 99 % online, one dot per configuration (hollow where only the model's
/// bound is known), coloured by whether it met the goals; the recommended one ringed and
/// labelled; a goal on t99 as a dashed line; configurations that never reach 99 % as crosses
/// along the top.
pub fn plan_chart(p: &PlanView) -> Chart {
    let t_max = p
        .points
        .iter()
        .filter_map(|q| q.t99_s)
        .chain(p.goal_t99_s)
        .fold(0.0, f64::max);
    let unit = charts::time_unit(t_max);
    let (y_ticks, y_end) = charts::nice_ticks(t_max / unit.secs * 1.1, 6);
    let c_max = p.points.iter().map(|q| q.cost).fold(0.0, f64::max);
    let (x_ticks, x_end) = charts::nice_ticks(c_max * 1.05, 8);
    let x_desc = format!("cost ({})", p.cost_unit);
    let y_desc = format!("time to 99 % online ({})", unit.name);
    let axes = Axes {
        x_ticks,
        x_end,
        x_desc,
        x_fmt: &charts::plain_tick,
        y_ticks,
        y_start: 0.0,
        y_end,
        y_desc: &y_desc,
        y_fmt: &charts::plain_tick,
    };
    Chart {
        id: "chart-plan".into(),
        title: "Plan: cost against time to 99 % online".into(),
        svg: draw_plan(p, &axes, unit.secs),
        legend: plan_legend(p),
        note: plan_note(p),
    }
}

/// The goal line, a dot (or a cross) per configuration, and the recommendation ringed and
/// labelled on top; times in units of `unit_secs` seconds.
fn draw_plan(p: &PlanView, axes: &Axes<'_>, unit_secs: f64) -> Result<String, String> {
    let (x_end, y_end) = (axes.x_end, axes.y_end);
    charts::svg(WIDTH, 340, |area| {
        let mut c = chart(area, axes)?;
        if let Some(g) = p.goal_t99_s {
            let y = g / unit_secs;
            c.draw_series(DashedLineSeries::new(
                [(0.0, y), (x_end, y)],
                8,
                5,
                charts::LIMIT.stroke_width(2),
            ))
            .map_err(err)?;
        }
        for q in &p.points {
            let pt = (q.cost, q.t99_s.map_or(y_end, |t| t / unit_secs));
            if q.t99_s.is_none() {
                c.draw_series(std::iter::once(Cross::new(pt, 5, NEVER.stroke_width(2))))
                    .map_err(err)?;
                continue;
            }
            let style = if q.t99_is_bound {
                color(q).stroke_width(2)
            } else {
                color(q).filled()
            };
            c.draw_series(std::iter::once(Circle::new(pt, 5, style)))
                .map_err(err)?;
        }
        // The recommendation last, on top, labelled on the side with room.
        for q in p.points.iter().filter(|q| q.recommended) {
            let pt = (q.cost, q.t99_s.map_or(y_end, |t| t / unit_secs));
            c.draw_series(std::iter::once(Circle::new(pt, 10, PICK.stroke_width(2))))
                .map_err(err)?;
            let left = q.cost > x_end * 0.6;
            let anchor = if left { HPos::Right } else { HPos::Left };
            let dx = x_end * if left { -0.02 } else { 0.02 };
            c.draw_series(std::iter::once(Text::new(
                q.label.clone(),
                (pt.0 + dx, pt.1 + y_end * 0.04),
                font().pos(Pos::new(anchor, VPos::Bottom)),
            )))
            .map_err(err)?;
        }
        Ok(())
    })
}

/// One legend entry per kind of point the chart shows.
fn plan_legend(p: &PlanView) -> Vec<Legend> {
    let legend = |label: &str, c: RGBColor, mark| Legend {
        label: label.into(),
        color: charts::hex(c),
        mark,
    };
    let has = |f: &dyn Fn(&PlanPoint) -> bool| p.points.iter().any(f);
    let mut items = Vec::new();
    if has(&|q| !q.recommended && q.meets_goals == Some(true)) {
        items.push(legend("meets the goals", MEETS, Mark::Dot));
    }
    if has(&|q| !q.recommended && q.meets_goals == Some(false)) {
        items.push(legend("misses a goal", MISSES, Mark::Dot));
    }
    if has(&|q| !q.recommended && q.meets_goals.is_none()) {
        items.push(legend("configuration", POINT, Mark::Dot));
    }
    if has(&|q| q.t99_is_bound) {
        items.push(legend(
            "hollow: the model's bound, not simulated",
            POINT,
            Mark::Ring,
        ));
    }
    items.push(legend("recommended", PICK, Mark::Ring));
    if p.points.iter().any(|q| q.t99_s.is_none()) {
        items.push(legend(
            "never reaches 99 % (drawn at the top)",
            NEVER,
            Mark::Cross,
        ));
    }
    if let (Some(g), Some(_)) = (&p.goal, p.goal_t99_s) {
        items.push(legend(&format!("goal: {g}"), charts::LIMIT, Mark::Dashed));
    }
    items
}

/// How many configurations the chart shows, and how many it could not.
fn plan_note(p: &PlanView) -> String {
    let mut n = format!(
        "One point per configuration swept ({}). Lower is faster, left is cheaper.",
        p.points.len()
    );
    if p.unpriced > 0 {
        n.push_str(&format!(
            " {} configuration(s) without a cost are not drawn.",
            p.unpriced
        ));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_plan_shapes_it_documents() {
        let v = serde_json::json!({
            "goal": "online.t99 < 30m",
            "cost_unit": "USD/month",
            "configurations": [
                {"settings": {"dps.instances": 1}, "cost": 10.0, "t99_s": 4000.0},
                {"settings": {"dps.instances": 2}, "cost": {"total": 20.0}, "t99": 1500.0,
                 "recommended": true},
                {"settings": {"dps.instances": 0}, "cost": 0, "online": {"t99_s": null}},
                {"settings": {"dps.instances": 9}}
            ]
        });
        let p = PlanView::from_json(&v).unwrap();
        assert_eq!(p.goal_t99_s, Some(1800.0));
        assert_eq!(p.goal.as_deref(), Some("online.t99 < 30m"));
        assert_eq!(p.cost_unit, "USD/month");
        assert_eq!((p.points.len(), p.unpriced), (3, 1));
        assert_eq!(p.points[1].label, "dps.instances=2");
        assert_eq!(p.points[1].cost, 20.0);
        assert!(p.points[1].recommended && !p.points[0].recommended);
        assert_eq!(p.points[2].t99_s, None);
        let top = serde_json::json!({"recommended": 0, "configurations": [{"cost": 1}]});
        assert!(PlanView::from_json(&top).unwrap().points[0].recommended);
        assert!(PlanView::from_json(&serde_json::json!({})).is_err());
        assert_eq!(goal_t99("online.t99_s <= 1800"), Some(1800.0));

        // What `fleetsim plan` writes.
        let plan = serde_json::json!({
            "format": 1,
            "goals": ["online.t99 < 70s", "operations.hub.connect.throttle_rate < 1%"],
            "prices": {"currency": "USD"},
            "configurations": [
                {"settings": [["dps.instances", "1"], ["hub.units", "2"]], "cost_per_month": 50.0,
                 "status": "failed", "measured_s": {"t99": 80.1}, "lower_bound_s": {"t99": 67.9}},
                {"settings": [["dps.instances", "2"], ["hub.units", "2"]], "cost_per_month": 50.0,
                 "status": "passed", "measured_s": {"t99": 68.0}, "lower_bound_s": {"t99": 67.9}},
                {"settings": [["dps.instances", "1"], ["hub.units", "1"]], "cost_per_month": 25.0,
                 "status": "pruned", "measured_s": null, "lower_bound_s": {"t99": 95.0}},
                {"settings": [["dps.instances", "3"]], "cost_per_month": null, "status": "failed"}
            ],
            "recommended": {"settings": {"hub.units": "2", "dps.instances": "2"}}
        });
        let p = PlanView::from_json(&plan).unwrap();
        assert_eq!(p.cost_unit, "USD/month");
        assert_eq!(p.goal_t99_s, Some(70.0));
        assert_eq!((p.points.len(), p.unpriced), (3, 1));
        let picked: Vec<&str> = p
            .points
            .iter()
            .filter(|q| q.recommended)
            .map(|q| q.label.as_str())
            .collect();
        assert_eq!(picked, ["dps.instances=2, hub.units=2"]);
        assert_eq!(p.points[0].meets_goals, Some(false));
        assert_eq!(
            (p.points[0].t99_s, p.points[0].t99_is_bound),
            (Some(80.1), false)
        );
        assert_eq!(
            (p.points[2].t99_s, p.points[2].t99_is_bound),
            (Some(95.0), true)
        );
        assert_eq!(goal_t99("online.t90 < 30m"), None);
    }
}
