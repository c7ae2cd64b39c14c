//! `[compare]` tolerances and `fleetsim compare`'s table of what it checks: which metrics,
//! which way is worse, and how much worse each may get ([`Tolerance`], [`Allowance`]).
//!
//! A metric that got better never fails the gate; one that got worse fails it when it got
//! worse by more than its tolerance: the global `--max-regression` (a percentage of the
//! baseline value), or the scenario's `[compare]` table. The comparison itself (reading two
//! results directories) is the report's `compare` module.

use super::Op;
use super::condition::{Amount, amount_in, parse_amount};
use super::path::{Metric, MetricError, MetricErrorKind, metric};
/// Which way a metric gets better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// One row of [`COMPARED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compared {
    /// A metric path; `*` stands for each operation name.
    pub pattern: &'static str,
    pub better: Better,
    /// Compared unless the scenario's `[compare]` table names it. The latency tails (`p999`,
    /// `max`) are not: in a small run they rest on a handful of samples and move with any
    /// change to the random draws, which is noise, not capacity. Give one a tolerance in
    /// `[compare]` to gate it.
    pub by_default: bool,
}

const fn row(pattern: &'static str, better: Better, by_default: bool) -> Compared {
    Compared {
        pattern,
        better,
        by_default,
    }
}

/// The one table of what `fleetsim compare` checks and which way is worse. `*` stands for
/// each operation name (`dps.status_lookup`, `dps.register`, `dps.poll`, `hub.connect`,
/// `hub.telemetry`, `device.boot_to_online`). Attempts and Ok answers of the service
/// operations are not compared: they grow when devices get online sooner (more telemetry) and
/// shrink when they give up, so neither direction means worse.
pub const COMPARED: &[Compared] = &[
    row("online.t50_s", Better::Lower, true),
    row("online.t90_s", Better::Lower, true),
    row("online.t99_s", Better::Lower, true),
    row("online.t100_s", Better::Lower, true),
    row("operations.device.boot_to_online.ok", Better::Higher, true),
    row("operations.dps.register.repeats", Better::Lower, true),
    row("operations.*.throttled", Better::Lower, true),
    row("operations.*.errors", Better::Lower, true),
    row("operations.*.timeouts", Better::Lower, true),
    row("operations.*.late", Better::Lower, true),
    row("operations.*.throttle_rate", Better::Lower, true),
    row("operations.*.latency_ms.p50", Better::Lower, true),
    row("operations.*.latency_ms.p90", Better::Lower, true),
    row("operations.*.latency_ms.p99", Better::Lower, true),
    row("operations.*.latency_ms.p999", Better::Lower, false),
    row("operations.*.latency_ms.max", Better::Lower, false),
];

/// The default `--max-regression`: 10 % of the baseline value.
pub const DEFAULT_MAX_REGRESSION: f64 = 0.10;

/// Every metric of [`COMPARED`] with `*` expanded, as (canonical path, which way is better,
/// compared by default): the fixed paths first, then operation by operation.
pub fn compared_metrics() -> Vec<(String, Better, bool)> {
    let mut out: Vec<(String, Better, bool)> = COMPARED
        .iter()
        .filter(|c| !c.pattern.contains('*'))
        .map(|c| (c.pattern.to_string(), c.better, c.by_default))
        .collect();
    for op in Op::ALL {
        for c in COMPARED.iter().filter(|c| c.pattern.contains('*')) {
            out.push((c.pattern.replace('*', op.name()), c.better, c.by_default));
        }
    }
    out
}

/// How much worse a metric may get before it is a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Allowance {
    /// A fraction of the baseline value (`"10%"` is 0.1).
    Relative(f64),
    /// An amount in the metric's unit (`"30s"` on a time in seconds is 30, `"5"` is 5).
    Absolute(f64),
    /// Not gated: changes are shown, never failed.
    Ignore,
}

/// One `[compare]` entry: a metric and its allowance.
#[derive(Clone, Debug, PartialEq)]
pub struct Tolerance {
    /// The metric path as written.
    pub metric: String,
    /// Its canonical path (`online.t99_s`).
    pub canonical: String,
    pub allowance: Allowance,
    /// The allowance as written (`"25%"`).
    pub text: String,
}

const TOLERANCE_HINT: &str = "a tolerance is a percentage of the baseline (\"10%\"), an amount in the metric's unit (\"5\", or a duration such as \"30s\" for a time), or \"ignore\"";

/// Parses `[compare]` entry `metric = text`. The metric must be one `fleetsim compare` checks.
pub fn parse_tolerance(metric_path: &str, text: &str) -> Result<Tolerance, MetricError> {
    let m = metric(metric_path)?;
    if !compared_metrics().iter().any(|(c, _, _)| *c == m.canonical) {
        return Err(MetricError {
            kind: MetricErrorKind::NotCompared,
            message: format!(
                "`{}` ({}) is not one of the metrics `fleetsim compare` checks",
                m.path, m.canonical
            ),
            hint: Some(format!(
                "compare checks: {}",
                COMPARED
                    .iter()
                    .map(|c| c.pattern)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        });
    }
    let allowance = parse_allowance(text, &m)?;
    Ok(Tolerance {
        metric: m.path.clone(),
        canonical: m.canonical,
        allowance,
        text: text.trim().to_string(),
    })
}

fn bad_tolerance(text: &str, why: &str) -> MetricError {
    MetricError {
        kind: MetricErrorKind::BadCondition,
        message: format!("`{text}` is not a tolerance: {why}"),
        hint: Some(TOLERANCE_HINT.to_string()),
    }
}

fn parse_allowance(text: &str, m: &Metric) -> Result<Allowance, MetricError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("ignore") {
        return Ok(Allowance::Ignore);
    }
    let amount = parse_amount(t).ok_or_else(|| bad_tolerance(t, "it does not parse"))?;
    let allowance = match amount {
        Amount::Percent(p) => Allowance::Relative(p),
        other => Allowance::Absolute(amount_in(other, t, m)?),
    };
    match allowance {
        Allowance::Relative(x) | Allowance::Absolute(x) if x < 0.0 => {
            Err(bad_tolerance(t, "it is negative"))
        }
        a => Ok(a),
    }
}

/// Parses `--max-regression`: a percentage (`10%`), or `0`.
pub fn parse_max_regression(text: &str) -> Result<f64, MetricError> {
    let t = text.trim();
    match parse_amount(t) {
        Some(Amount::Percent(p)) if p >= 0.0 => Ok(p),
        Some(Amount::Number(0.0)) => Ok(0.0),
        _ => Err(MetricError {
            kind: MetricErrorKind::BadCondition,
            message: format!("--max-regression `{t}` is not a percentage"),
            hint: Some(
                "e.g. --max-regression 10% (a metric may get 10 % worse than its baseline); per-metric tolerances go in the scenario's [compare] table".into(),
            ),
        }),
    }
}
