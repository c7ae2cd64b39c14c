//! SLO verdicts of a run: evaluated on the finished summary, printed under the human summary,
//! recorded in `summary.json` and written as JUnit by `fleetsim run --junit`.

use super::Summary;
use crate::metric::{Slo, Verdict};
use std::fmt::Write;

/// Checks every SLO on `summary`. The SLOs were checked against the summary schema when the
/// scenario loaded, so an evaluation error here is a bug; it is reported as a failed verdict
/// rather than a panic.
pub fn evaluate_all(slos: &[Slo], summary: &Summary) -> Vec<Verdict> {
    let json = serde_json::to_value(summary).expect("a Summary serialises");
    slos.iter()
        .map(|s| {
            s.evaluate(&json).unwrap_or_else(|_| Verdict {
                metric: s.metric.clone(),
                condition: s.condition.text.clone(),
                measured: None,
                pass: false,
                threshold: f64::NAN,
                unit: Default::default(),
            })
        })
        .collect()
}

/// The verdict table for the terminal (empty when there are no SLOs).
pub fn render(verdicts: &[Verdict]) -> String {
    if verdicts.is_empty() {
        return String::new();
    }
    let width = verdicts
        .iter()
        .map(|v| v.metric.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let cond = verdicts
        .iter()
        .map(|v| v.condition.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut o = String::new();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  {:<width$}  {:<cond$}  {:>22}  verdict",
        "slo", "condition", "measured"
    );
    for v in verdicts {
        let _ = writeln!(
            o,
            "  {:<width$}  {:<cond$}  {:>22}  {}",
            v.metric,
            v.condition,
            v.measured_text(),
            if v.pass { "pass" } else { "FAIL" }
        );
    }
    let failed = verdicts.iter().filter(|v| !v.pass).count();
    let _ = writeln!(
        o,
        "  {} SLO{}: {}",
        verdicts.len(),
        if verdicts.len() == 1 { "" } else { "s" },
        if failed == 0 {
            "all met".to_string()
        } else {
            format!("{failed} failed")
        }
    );
    o
}

/// `2 of 3 SLOs failed: online.t99 < 30m (measured 1h 2m); …`, or None when all passed.
pub fn failure_line(verdicts: &[Verdict]) -> Option<String> {
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.pass)
        .map(|v| {
            format!(
                "{} {} (measured {})",
                v.metric,
                v.condition,
                v.measured_text()
            )
        })
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "{} of {} SLO{} failed: {}",
            failed.len(),
            verdicts.len(),
            if verdicts.len() == 1 { "" } else { "s" },
            failed.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::summary::tests::{recorder, scenario};
    use crate::time::SimTime;

    #[test]
    fn verdicts_of_a_summary_render_and_summarise() {
        let summary = crate::results::build_summary(
            &scenario(),
            "virtual",
            &recorder(),
            "all_settled",
            SimTime::from_secs_f64(3.0),
            serde_json::json!({}),
        );
        let slos = vec![
            Slo::new("online.t50", "< 1s").unwrap(),
            Slo::new("operations.dps.register.throttle_rate", "< 0.2").unwrap(),
            Slo::new("online.t100", "< 1h").unwrap(),
        ];
        let v = evaluate_all(&slos, &summary);
        assert_eq!(
            v.iter().map(|v| v.pass).collect::<Vec<_>>(),
            [true, false, false]
        );
        let text = render(&v);
        assert!(text.contains("online.t50"), "{text}");
        assert!(text.contains("504 ms"), "{text}");
        assert!(text.contains("null (never reached)"), "{text}");
        assert!(text.contains("3 SLOs: 2 failed"), "{text}");
        let line = failure_line(&v).unwrap();
        assert!(
            line.starts_with(
                "2 of 3 SLOs failed: operations.dps.register.throttle_rate < 0.2 (measured 0.25)"
            ),
            "{line}"
        );
        assert_eq!(failure_line(&v[..1]), None);
        assert_eq!(render(&[]), "");
    }
}
