//! What to say when no configuration met every goal: the one that came closest, from the
//! runs the plan made (or, when it made none, from the bounds, labelled as such).

use super::{Configuration, Goal};

/// With nothing passing: the goal that came closest, as measured ÷ threshold, among the
/// configurations the plan ran. Only when it ran none (every one pruned) does it fall back to
/// the model's bounds, and then it says so: a bound is the best a configuration could do, not
/// what it did, and it can be far from a run (2–5× on the blackout).
pub(super) fn closest_goal(goals: &[Goal], configs: &[Configuration]) -> Option<String> {
    closest_by(goals, configs, true).or_else(|| closest_by(goals, configs, false))
}

/// [`closest_goal`] over the measured figures (`measured`) or over the bounds of the
/// configurations that were not run.
fn closest_by(goals: &[Goal], configs: &[Configuration], measured: bool) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    for (gi, g) in goals.iter().enumerate() {
        let threshold = g.condition.threshold(&g.metric).ok()?;
        for c in configs {
            let ran = c.measured_s.is_some();
            let (value, how) = match (measured, c.verdicts.get(gi), &c.lower_bound_s) {
                (true, Some(v), _) if v.measured.is_none() && c.stopped_at_s.is_some() => {
                    // Stopped once lost: how much of the fleet it had online by then.
                    if let Some(t) = stopped_shortfall(g, c) {
                        if best.as_ref().is_none_or(|(b, _)| t.0 < *b) {
                            best = Some(t);
                        }
                    }
                    continue;
                }
                (true, Some(v), _) => (v.measured, "measured"),
                (false, None, Some(b)) if !ran => {
                    let q = g
                        .metric
                        .canonical
                        .strip_prefix("online.")
                        .and_then(|q| q.strip_suffix("_s"));
                    (q.and_then(|q| b.get(q)), "not run; its lower bound is")
                }
                _ => continue,
            };
            let Some(v) = value else { continue };
            let gap = if threshold.abs() > 0.0 {
                (v / threshold - 1.0).abs()
            } else {
                v.abs()
            };
            let text = format!(
                "{} came closest with {}: {how} {}",
                g.text,
                c.settings_text(),
                g.metric.unit.format(v)
            );
            if best.as_ref().is_none_or(|(b, _)| gap < *b) {
                best = Some((gap, text));
            }
        }
    }
    best.map(|(_, t)| t)
}

/// For a run stopped once `g` (a time to online) was lost: the share it fell short by, and the
/// sentence: how much of the fleet was online when it stopped.
fn stopped_shortfall(g: &Goal, c: &Configuration) -> Option<(f64, String)> {
    let at = c.stopped_at_s?;
    let s = c.summary.as_ref()?;
    let share = super::confirm::online_share(&g.metric.canonical)? as f64 / 100.0;
    let online = s
        .operations
        .get("device.boot_to_online")
        .map_or(0, |o| o.ok) as f64
        / s.devices.max(1) as f64;
    Some((
        (1.0 - online / share).max(0.0),
        format!(
            "{} came closest with {}: {:.1} % online when its run stopped at {}, the goal lost",
            g.text,
            c.settings_text(),
            online * 100.0,
            crate::scenario::units::format_clock(at)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Verdict;
    use crate::plan::Status;
    use crate::quota::model::LowerBounds;

    fn config(settings: &str, bound_t99: f64, measured_t99: Option<f64>) -> Configuration {
        let goal = Goal::parse("online.t99 < 30m").unwrap();
        let verdicts = measured_t99
            .map(|m| {
                vec![Verdict {
                    metric: "online.t99".into(),
                    condition: "< 30m".into(),
                    measured: Some(m),
                    pass: false,
                    threshold: 1800.0,
                    unit: goal.metric.unit,
                }]
            })
            .unwrap_or_default();
        let (k, v) = settings.split_once('=').unwrap();
        Configuration {
            settings: vec![(k.into(), v.into())],
            status: if measured_t99.is_some() {
                Status::Failed
            } else {
                Status::Pruned
            },
            reason: None,
            cost_per_month: None,
            bottleneck: None,
            lower_bound_s: Some(LowerBounds {
                t50: None,
                t90: None,
                t99: Some(bound_t99),
                t100: None,
            }),
            measured_s: None,
            verdicts,
            stopped_at_s: None,
            summary: None,
            size: (1, 1, 1),
            prepared: None,
        }
    }

    #[test]
    fn closest_comes_from_a_run_whenever_there_was_one() {
        let goals = vec![Goal::parse("online.t99 < 30m").unwrap()];
        // A pruned configuration whose bound is nearer the goal than the run that was made.
        let configs = vec![
            config("hub.units=1", 1900.0, None),
            config("hub.units=2", 1000.0, Some(4000.0)),
        ];
        let c = closest_goal(&goals, &configs).unwrap();
        assert!(c.contains("hub.units=2: measured 1 h 7 m"), "{c}");
        // Nothing run: the bound, labelled as one.
        let c = closest_goal(&goals, &configs[..1]).unwrap();
        assert!(
            c.contains("hub.units=1: not run; its lower bound is 31 m 40 s"),
            "{c}"
        );
    }
}
