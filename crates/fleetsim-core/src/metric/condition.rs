//! Conditions on metrics, SLOs and their verdicts.
//!
//! A **condition** is `OP VALUE` with `OP` one of `<`, `<=`, `>`, `>=`, `==`, `!=` and `VALUE` a
//! plain number (in the metric's own unit), a count with a suffix (`10k`, `1.5M`), a
//! percentage (`25%`, unitless metrics only) or a duration (`30m`, `1h 30m`, `250ms`, metrics
//! with a time unit only), converted to the metric's unit: seconds for `*_s`, milliseconds
//! under `latency_ms`.
//!
//! A metric measured as `null` (a share of the fleet never online, no Ok answer to time) fails
//! every condition: "never reached" is not "fast".
//!
//! Pure: no I/O. Everything here is re-exported by [`super::metric`].

use super::path::{Metric, MetricError, MetricErrorKind, Unit, metric, resolve_in, unknown};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    pub fn holds(self, measured: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Lt => measured < threshold,
            CmpOp::Le => measured <= threshold,
            CmpOp::Gt => measured > threshold,
            CmpOp::Ge => measured >= threshold,
            CmpOp::Eq => measured == threshold,
            CmpOp::Ne => measured != threshold,
        }
    }
}

/// The value side of a condition, as written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amount {
    /// A plain number or a count (`0.25`, `100`, `10k`), in the metric's own unit.
    Number(f64),
    /// `25%`, as a fraction (0.25); for unitless metrics (ratios such as `throttle_rate`).
    Percent(f64),
    /// `30m`, `1h 30m`, `250ms`, in seconds; converted to the metric's time unit.
    Duration(f64),
}

/// `OP VALUE`, e.g. `< 30m`, `<= 0.25`, `> 100`, `== 0`, `< 5%`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The text as written (trimmed), for verdicts and messages.
    pub text: String,
    pub op: CmpOp,
    pub amount: Amount,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Condition {
    type Err = MetricError;
    fn from_str(s: &str) -> Result<Condition, MetricError> {
        Condition::parse(s)
    }
}

const CONDITION_HINT: &str = "write OP VALUE with OP one of <, <=, >, >=, ==, != and VALUE a number (0.25, 100, 10k), a percentage (25%) or a duration (30m, 1h 30m, 250ms), e.g. \"< 30m\"";

fn bad_condition(text: &str, why: &str) -> MetricError {
    MetricError::new(
        MetricErrorKind::BadCondition,
        format!("`{text}` is not a condition: {why}"),
        Some(CONDITION_HINT.to_string()),
    )
}

impl Condition {
    pub fn parse(s: &str) -> Result<Condition, MetricError> {
        let text = s.trim();
        let ops = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
            ("=", CmpOp::Eq),
        ];
        let Some((sym, op)) = ops.iter().find(|(sym, _)| text.starts_with(sym)) else {
            return Err(bad_condition(text, "it does not start with a comparison"));
        };
        let value = text[sym.len()..].trim();
        if value.is_empty() {
            return Err(bad_condition(
                text,
                "there is no value after the comparison",
            ));
        }
        let amount = parse_amount(value).ok_or_else(|| {
            bad_condition(
                text,
                &format!("`{value}` is not a number, a percentage or a duration"),
            )
        })?;
        Ok(Condition {
            text: text.to_string(),
            op: *op,
            amount,
        })
    }

    /// The threshold in the unit of `metric`, or an error when the value cannot be compared
    /// with it (a duration on a unitless metric, a percentage on a time).
    pub fn threshold(&self, metric: &Metric) -> Result<f64, MetricError> {
        amount_in(self.amount, &self.text, metric)
    }
}

/// `amount` (written as `text`) in the unit of `metric`.
pub fn amount_in(amount: Amount, text: &str, metric: &Metric) -> Result<f64, MetricError> {
    match (amount, metric.unit.seconds()) {
        (Amount::Number(x), _) => Ok(x),
        (Amount::Duration(secs), Some(k)) => Ok(secs / k),
        (Amount::Duration(_), None) => Err(MetricError::new(
            MetricErrorKind::UnitMismatch,
            format!(
                "`{text}` is a duration, but `{}` ({}) is not a time",
                metric.path, metric.canonical
            ),
            Some("compare counts and ratios with plain numbers (`< 100`, `< 0.25`) or a percentage (`< 25%`)".into()),
        )),
        (Amount::Percent(x), None) => Ok(x),
        (Amount::Percent(_), Some(_)) => Err(MetricError::new(
            MetricErrorKind::UnitMismatch,
            format!(
                "`{text}` is a percentage, but `{}` ({}) is a time in {}",
                metric.path,
                metric.canonical,
                metric.unit.symbol()
            ),
            Some("compare a time with a duration such as `< 30m` or `< 500ms`".into()),
        )),
    }
}

/// A number (`0.25`, `1_000`, `-3`), a count with a k/M/G suffix (`10k`, `1.5M`), a percentage
/// (`25%`) or a duration (`30m`, `1h 30m`, `250ms`).
pub fn parse_amount(value: &str) -> Option<Amount> {
    let v = value.trim();
    let plain: String = v.chars().filter(|c| *c != '_').collect();
    let finite = |x: f64| x.is_finite().then_some(x);
    if let Ok(x) = plain.parse::<f64>() {
        return finite(x).map(Amount::Number);
    }
    if let Some(p) = plain.strip_suffix('%') {
        return p
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(finite)
            .map(|x| Amount::Percent(x / 100.0));
    }
    // k/M/G before durations: `1M` is a million, `1m` a minute.
    let mult = match plain.chars().last() {
        Some('k' | 'K') => Some(1e3),
        Some('M') => Some(1e6),
        Some('G') => Some(1e9),
        _ => None,
    };
    if let Some(mult) = mult {
        if let Ok(x) = plain[..plain.len() - 1].trim().parse::<f64>() {
            return finite(x * mult).map(Amount::Number);
        }
    }
    humantime::parse_duration(v)
        .ok()
        .map(|d| Amount::Duration(d.as_secs_f64()))
}

/// One service-level objective: a metric and the condition it must meet (a scenario's
/// `[slo]` entry, or `--slo`).
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// The metric path as written (`online.t99`).
    pub metric: String,
    pub condition: Condition,
}

impl Slo {
    /// Checks the metric path and the condition's unit against the summary schema.
    pub fn new(metric_path: &str, condition: &str) -> Result<Slo, MetricError> {
        let condition = Condition::parse(condition)?;
        let m = check(metric_path, &condition)?;
        Ok(Slo {
            metric: m.path,
            condition,
        })
    }

    /// `--slo 'METRIC OP VALUE'`.
    pub fn parse_arg(arg: &str) -> Result<Slo, MetricError> {
        let (metric_path, condition) = split_slo(arg)?;
        let m = check(&metric_path, &condition)?;
        Ok(Slo {
            metric: m.path,
            condition,
        })
    }

    pub fn evaluate(&self, summary: &Value) -> Result<Verdict, MetricError> {
        evaluate(summary, &self.metric, &self.condition)
    }
}

/// One condition checked against one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// The metric path as written.
    pub metric: String,
    /// The condition as written.
    pub condition: String,
    /// The measured value in the metric's unit; null when it was never reached.
    pub measured: Option<f64>,
    pub pass: bool,
    /// The threshold in the metric's unit (not written to summary.json).
    #[serde(skip)]
    pub threshold: f64,
    /// The metric's unit (not written to summary.json).
    #[serde(skip)]
    pub unit: Unit,
}

impl Verdict {
    /// `online.t99 < 30m: measured 1 h 2 m` (or `never reached`).
    pub fn describe(&self) -> String {
        format!(
            "{} {}: measured {}",
            self.metric,
            self.condition,
            self.measured_text()
        )
    }

    /// The measured value for people (`1h 2m 3s`, `0.41`), or `null (never reached)`.
    pub fn measured_text(&self) -> String {
        match self.measured {
            Some(v) => self.unit.format(v),
            None => "null (never reached)".to_string(),
        }
    }

    /// The comparison of the condition (`<`, `<=`, …).
    pub fn condition_op(&self) -> &str {
        let t = self.condition.trim_start();
        let end = t
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
            .unwrap_or(t.len());
        &t[..end]
    }

    /// The threshold for people: a duration in the one duration format (`30 m`), other
    /// numbers as they are.
    pub fn threshold_text(&self) -> String {
        self.unit.format(self.threshold)
    }
}

/// Checks `condition` on `metric` in a `summary.json` document. A null measured value fails:
/// "never reached" is neither fast nor slow.
pub fn evaluate(
    summary: &Value,
    metric: &str,
    condition: &Condition,
) -> Result<Verdict, MetricError> {
    let (m, v) = match resolve_in(summary, metric) {
        Ok(found) => found,
        Err(e) => {
            return Err(match e.kind {
                MetricErrorKind::UnknownMetric { .. } => unknown(metric.trim()),
                _ => e,
            });
        }
    };
    let threshold = condition.threshold(&m)?;
    let measured = v.as_f64();
    Ok(Verdict {
        metric: m.path.clone(),
        condition: condition.text.clone(),
        measured,
        pass: measured.is_some_and(|x| condition.op.holds(x, threshold)),
        threshold,
        unit: m.unit,
    })
}

/// Checks that `condition` can be compared with `metric` without a run: the path exists in
/// the summary schema and the value's unit fits. Returns the resolved metric.
pub fn check(metric_path: &str, condition: &Condition) -> Result<Metric, MetricError> {
    let m = metric(metric_path)?;
    condition.threshold(&m)?;
    Ok(m)
}

/// Splits `--slo 'METRIC OP VALUE'` into the metric path and the condition.
pub fn split_slo(arg: &str) -> Result<(String, Condition), MetricError> {
    let t = arg.trim();
    let Some(at) = t.find(['<', '>', '=', '!']) else {
        return Err(MetricError::new(
            MetricErrorKind::BadCondition,
            format!("`{t}` is not METRIC OP VALUE"),
            Some("e.g. --slo 'online.t99 < 30m' or --slo 'operations.hub.connect.throttle_rate < 0.25'".into()),
        ));
    };
    let metric = t[..at].trim();
    if metric.is_empty() {
        return Err(MetricError::new(
            MetricErrorKind::BadCondition,
            format!("`{t}` names no metric before the comparison"),
            Some("e.g. --slo 'online.t99 < 30m'".into()),
        ));
    }
    Ok((metric.to_string(), Condition::parse(&t[at..])?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::summary_schema;
    use serde_json::json;

    fn summary() -> Value {
        let mut s = summary_schema().clone();
        s["online"] = json!({"t50_s": 12.5, "t90_s": 600.0, "t99_s": 1900.0, "t100_s": null});
        s["operations"]["hub.connect"]["throttle_rate"] = json!(0.3);
        s["operations"]["hub.connect"]["throttled"] = json!(42);
        s["operations"]["device.boot_to_online"]["latency_ms"]["p99"] = json!(480000.0);
        s
    }

    #[test]
    fn conditions_parse_numbers_counts_percentages_and_durations() {
        let c = |s: &str| Condition::parse(s).unwrap();
        assert_eq!(c("< 30m").op, CmpOp::Lt);
        assert_eq!(c("< 30m").amount, Amount::Duration(1800.0));
        assert_eq!(c("<= 0.25").amount, Amount::Number(0.25));
        assert_eq!(c("<=0.25").op, CmpOp::Le);
        assert_eq!(c("> 100").amount, Amount::Number(100.0));
        assert_eq!(c(">= 1_000").amount, Amount::Number(1000.0));
        assert_eq!(c("== 0").op, CmpOp::Eq);
        assert_eq!(c("= 0").op, CmpOp::Eq);
        assert_eq!(c("!= 0").op, CmpOp::Ne);
        assert_eq!(c("< 10k").amount, Amount::Number(10_000.0));
        assert_eq!(c("< 1.5M").amount, Amount::Number(1_500_000.0));
        assert_eq!(c("< 1m").amount, Amount::Duration(60.0));
        assert_eq!(c("< 25%").amount, Amount::Percent(0.25));
        assert_eq!(c("< 1h 30m").amount, Amount::Duration(5400.0));
        assert_eq!(c("< 250ms").amount, Amount::Duration(0.25));
        assert_eq!(c("  < 30m ").text, "< 30m");
        for bad in [
            "30m",
            "",
            "<",
            "< fast",
            "~ 3",
            "< 3 parsecs",
            "< NaN",
            "< inf",
            "<< 3",
        ] {
            let e = Condition::parse(bad).unwrap_err();
            assert_eq!(e.kind, MetricErrorKind::BadCondition, "{bad}");
            assert!(e.hint.is_some());
        }
    }

    #[test]
    fn durations_convert_to_the_metrics_unit_and_need_a_time_metric() {
        let t = |m: &str, c: &str| Condition::parse(c).unwrap().threshold(&metric(m).unwrap());
        assert_eq!(t("online.t99", "< 30m").unwrap(), 1800.0);
        assert_eq!(
            t("operations.device.boot_to_online.latency_ms.p99", "< 10m").unwrap(),
            600_000.0
        );
        assert_eq!(
            t("model.daily_quota.hours_until_spent", "> 1d").unwrap(),
            24.0
        );
        assert_eq!(
            t("online.t99", "< 90").unwrap(),
            90.0,
            "a plain number is in the metric's unit"
        );
        assert_eq!(
            t("operations.hub.connect.throttle_rate", "< 25%").unwrap(),
            0.25
        );
        let e = t("operations.hub.connect.throttle_rate", "< 10m").unwrap_err();
        assert_eq!(e.kind, MetricErrorKind::UnitMismatch);
        assert!(e.message.contains("not a time"), "{e}");
        let e = t("online.t99", "< 5%").unwrap_err();
        assert_eq!(e.kind, MetricErrorKind::UnitMismatch);
    }

    #[test]
    fn evaluate_gives_verdicts_and_null_fails() {
        let s = summary();
        let v = evaluate(&s, "online.t99", &"< 30m".parse().unwrap()).unwrap();
        assert_eq!(
            (v.metric.as_str(), v.condition.as_str(), v.measured, v.pass),
            ("online.t99", "< 30m", Some(1900.0), false)
        );
        assert_eq!(v.threshold, 1800.0);
        assert_eq!(v.describe(), "online.t99 < 30m: measured 31 m 40 s");
        assert_eq!(v.threshold_text(), "30 m");
        let v = evaluate(&s, "online.t99", &"< 1h".parse().unwrap()).unwrap();
        assert!(v.pass);
        let v = evaluate(
            &s,
            "operations.hub.connect.throttle_rate",
            &"< 0.25".parse().unwrap(),
        )
        .unwrap();
        assert!(!v.pass);
        let v = evaluate(
            &s,
            "operations.device.boot_to_online.latency_ms.p99",
            &"< 10m".parse().unwrap(),
        )
        .unwrap();
        assert!(v.pass, "480 s < 600 s");
        assert_eq!(v.measured_text(), "8 m");
        // Never reached: fails whatever the direction.
        for c in ["< 30m", "> 30m", "!= 0"] {
            let v = evaluate(&s, "online.t100", &c.parse().unwrap()).unwrap();
            assert_eq!((v.measured, v.pass), (None, false), "{c}");
            assert!(v.describe().contains("never reached"));
        }
        assert!(
            evaluate(
                &s,
                "operations.hub.connect.throttled",
                &"== 42".parse().unwrap()
            )
            .unwrap()
            .pass
        );
        assert!(evaluate(&s, "online.t98", &"< 1m".parse().unwrap()).is_err());
        // Serialised as the four documented fields.
        let v = evaluate(&s, "online.t99", &"< 1h".parse().unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"metric": "online.t99", "condition": "< 1h", "measured": 1900.0, "pass": true})
        );
    }

    #[test]
    fn slo_arguments_split_at_the_comparison() {
        let (m, c) = split_slo("online.t99 < 30m").unwrap();
        assert_eq!((m.as_str(), c.text.as_str()), ("online.t99", "< 30m"));
        let (m, c) = split_slo("operations.hub.connect.throttle_rate<=0.25").unwrap();
        assert_eq!(
            (m.as_str(), c.op),
            ("operations.hub.connect.throttle_rate", CmpOp::Le)
        );
        assert!(split_slo("online.t99").is_err());
        assert!(split_slo("< 3").is_err());
        assert!(split_slo("online.t99 < soon").is_err());
    }
}
