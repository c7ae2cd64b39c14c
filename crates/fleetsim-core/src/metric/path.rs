//! Metric paths into `summary.json` and conditions on them: the shared vocabulary of scenario
//! SLOs (`[slo]`, `--slo`), `fleetsim compare` tolerances and `fleetsim plan --goal`.
//!
//! A **metric path** is a dotted path into `summary.json`: `online.t99_s`,
//! `operations.hub.connect.throttle_rate`, `operations.device.boot_to_online.latency_ms.p99`,
//! `model.lower_bound_s.t99`. Operation names contain dots themselves (`hub.connect`), so a
//! path is resolved key by key, trying the longest key that matches at each level. Any key
//! may drop its unit suffix (`online.t99` names `online.t99_s`, `operations.dps.poll.latency.p99`
//! names `…latency_ms.p99`); the value keeps the unit of the key it names.
//!
//! Paths are checked against [`summary_schema`], a skeleton of `summary.json` walked out of
//! its JSON Schema ([`crate::summary::schema`]), so the metric names are declared once, by the
//! summary's types. Pure: no I/O.

use super::duration::human as human_duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::LazyLock;

/// Why a metric path or a condition cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricError {
    pub kind: MetricErrorKind,
    /// One line naming the problem, e.g. "unknown metric `online.t98`".
    pub message: String,
    /// What to do instead (close matches, the accepted syntax), if anything helps.
    pub hint: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MetricErrorKind {
    /// No such path in `summary.json`; `suggestions` are the closest metric paths.
    UnknownMetric { suggestions: Vec<String> },
    /// The path names a table, a string or a boolean, not a number.
    NotANumber,
    /// The condition does not parse.
    BadCondition,
    /// The condition's value cannot be compared with this metric (a duration on a unitless
    /// metric, a percentage on a time).
    UnitMismatch,
    /// A `[compare]` tolerance on a metric `fleetsim compare` does not check.
    NotCompared,
}

impl fmt::Display for MetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MetricError {}

impl MetricError {
    pub(crate) fn new(
        kind: MetricErrorKind,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        MetricError {
            kind,
            message: message.into(),
            hint,
        }
    }

    /// The message, then `  hint: …` on a second line if there is one (as the binary prints
    /// scenario errors).
    pub fn render(&self) -> String {
        match &self.hint {
            Some(h) => format!("{}\n  hint: {h}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The unit of a metric, from the unit suffix of the nearest key on its path that has one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// `*_s`: `online.t99_s`, `model.lower_bound_s.t99`, `end_s`.
    Seconds,
    /// `*_ms`: `operations.<op>.latency_ms.p99`.
    Milliseconds,
    /// `hours_*`: `model.daily_quota.hours_until_spent`.
    Hours,
    /// Counts, ratios (`throttle_rate`) and rates (`*_per_s`).
    #[default]
    None,
}

impl Unit {
    fn of(keys: &[String]) -> Unit {
        for k in keys.iter().rev() {
            if k.ends_with("_per_s") {
                return Unit::None;
            }
            if k.ends_with("_ms") {
                return Unit::Milliseconds;
            }
            if k.ends_with("_s") {
                return Unit::Seconds;
            }
            if k.starts_with("hours_") {
                return Unit::Hours;
            }
        }
        Unit::None
    }

    /// Seconds in one of this unit (None for a unitless metric).
    pub fn seconds(self) -> Option<f64> {
        match self {
            Unit::Seconds => Some(1.0),
            Unit::Milliseconds => Some(1e-3),
            Unit::Hours => Some(3600.0),
            Unit::None => None,
        }
    }

    /// `s`, `ms`, `h`, or empty.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Hours => "h",
            Unit::None => "",
        }
    }

    /// A value in this unit for people: durations in the one duration format (`250 ms`,
    /// `8.8 s`, `1 h 2 m`, see [`super::duration`]); other numbers with up to 6 decimals.
    pub fn format(self, v: f64) -> String {
        match self.seconds() {
            Some(k) => human_duration(v * k),
            None => number(v),
        }
    }
}

/// A number with at most 6 decimals and no trailing zeros.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A metric path resolved against `summary.json`'s schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The path as written (`online.t99`).
    pub path: String,
    /// The full path with every unit suffix (`online.t99_s`).
    pub canonical: String,
    /// The keys of the canonical path (`["operations", "hub.connect", "throttle_rate"]`).
    pub keys: Vec<String>,
    pub unit: Unit,
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

/// `summary.json`'s shape as a document: every object of its schema with its properties,
/// numbers (and nullable numbers) as `null`, strings as `""`, lists as `[]`. Optional objects
/// (`live`, `shard`) are included, so an SLO may name their figures.
pub fn summary_schema() -> &'static Value {
    static SKELETON: LazyLock<Value> = LazyLock::new(|| {
        let schema = serde_json::Value::from(crate::summary::schema());
        let defs = schema
            .get("$defs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        skeleton(&schema, &defs, 0)
    });
    &SKELETON
}

/// The document a schema describes (see [`summary_schema`]).
fn skeleton(s: &Value, defs: &serde_json::Map<String, Value>, depth: u32) -> Value {
    // The summary's types are not recursive; the bound only stops a mistake from looping.
    assert!(depth < 32, "summary schema nests too deep");
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return match defs.get(name) {
            Some(d) => skeleton(d, defs, depth + 1),
            None => Value::Null,
        };
    }
    for alt in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = s.get(alt).and_then(Value::as_array) {
            // `Option<T>`: the alternative that is not null.
            let pick = list
                .iter()
                .find(|x| x.get("type").and_then(Value::as_str) != Some("null"));
            return pick.map_or(Value::Null, |x| skeleton(x, defs, depth + 1));
        }
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let has = |t: &str| types.contains(&t);
    if has("object") || s.get("properties").is_some() {
        let mut out = serde_json::Map::new();
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                out.insert(k.clone(), skeleton(v, defs, depth + 1));
            }
        }
        Value::Object(out)
    } else if has("number") || has("integer") {
        Value::Null
    } else if has("string") {
        Value::String(String::new())
    } else if has("boolean") {
        Value::Bool(false)
    } else if has("array") {
        Value::Array(Vec::new())
    } else {
        Value::Null
    }
}

/// Every numeric metric path in `summary.json` (canonical form), in document order.
pub fn known_metrics() -> Vec<String> {
    let mut out = Vec::new();
    leaves(summary_schema(), "", &mut out);
    out
}

fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Number(_) | Value::Null => out.push(p),
                Value::Object(_) => leaves(v, &p, out),
                _ => {}
            }
        }
    }
}

/// The key without its unit suffix, if it has one (`t99_s` → `t99`, `latency_ms` → `latency`).
fn without_unit(k: &str) -> Option<&str> {
    if k.ends_with("_per_s") {
        return None;
    }
    k.strip_suffix("_ms")
        .or_else(|| k.strip_suffix("_s"))
        .filter(|s| !s.is_empty())
}

/// Walks `path` through `root`: at each level the longest key (or key without its unit
/// suffix) that the rest of the path equals or continues with a `.`; backtracks if a longer
/// key leads nowhere. Returns the keys and the value.
fn walk<'a>(root: &'a Value, path: &str) -> Option<(Vec<String>, &'a Value)> {
    let Value::Object(m) = root else {
        return None;
    };
    let mut candidates: Vec<(&str, bool, &String, &Value)> = Vec::new();
    for (k, v) in m {
        candidates.push((k.as_str(), true, k, v));
        if let Some(short) = without_unit(k) {
            candidates.push((short, false, k, v));
        }
    }
    // Longest name first; an exact key before a shortened one of the same length.
    candidates.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(b.1.cmp(&a.1)));
    for (name, _, key, v) in candidates {
        if path == name {
            return Some((vec![key.clone()], v));
        }
        if let Some(rest) = path.strip_prefix(name).and_then(|r| r.strip_prefix('.')) {
            if let Some((mut keys, found)) = walk(v, rest) {
                keys.insert(0, key.clone());
                return Some((keys, found));
            }
        }
    }
    None
}

/// The closest metric paths to `path` (at most 3), best first.
fn close_matches(path: &str) -> Vec<String> {
    let p = path.trim().to_ascii_lowercase();
    // No metric path is this long, and the edit distance costs the product of the lengths (an
    // [slo] key of a few hundred KB would take minutes).
    if p.len() > 256 {
        return Vec::new();
    }
    let mut scored: Vec<(f64, String)> = known_metrics()
        .into_iter()
        .map(|m| {
            // Score against the full path and against the path without unit suffixes.
            let short: Vec<&str> = m.split('.').map(|k| without_unit(k).unwrap_or(k)).collect();
            let short = short.join(".");
            let s = strsim::normalized_damerau_levenshtein(&p, &m.to_ascii_lowercase())
                .max(strsim::normalized_damerau_levenshtein(&p, &short));
            (s, m)
        })
        .filter(|(s, _)| *s >= 0.6)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, m)| m).collect()
}

pub(crate) fn unknown(path: &str) -> MetricError {
    let suggestions = close_matches(path);
    let hint = match suggestions.as_slice() {
        [] => Some(
            "metrics are paths into summary.json (results/README.md), e.g. online.t99, \
             operations.hub.connect.throttle_rate, operations.device.boot_to_online.latency_ms.p99"
                .to_string(),
        ),
        [one] => Some(format!("did you mean `{one}`?")),
        many => Some(format!(
            "did you mean one of: {}?",
            many.iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    MetricError::new(
        MetricErrorKind::UnknownMetric { suggestions },
        format!("unknown metric `{path}`"),
        hint,
    )
}

fn not_a_number(path: &str, canonical: &str, v: &Value) -> MetricError {
    match v {
        Value::Object(m) => {
            let children: Vec<String> = m.keys().map(|k| format!("{canonical}.{k}")).collect();
            MetricError::new(
                MetricErrorKind::NotANumber,
                format!("`{path}` is a table of metrics, not one metric"),
                Some(format!("name one of: {}", children.join(", "))),
            )
        }
        other => {
            let what = match other {
                Value::String(_) => "a string",
                Value::Bool(_) => "true or false",
                Value::Array(_) => "a list",
                _ => "not a number",
            };
            MetricError::new(
                MetricErrorKind::NotANumber,
                format!("`{path}` is {what}, not a number"),
                None,
            )
        }
    }
}

/// Resolves a metric path against `summary.json`'s schema: the canonical path and its unit,
/// or an error naming the closest metrics. Runs nothing; for validating SLOs, goals and
/// tolerances before a run.
pub fn metric(path: &str) -> Result<Metric, MetricError> {
    resolve_in(summary_schema(), path).map(|(m, _)| m)
}

pub(crate) fn resolve_in<'a>(
    root: &'a Value,
    path: &str,
) -> Result<(Metric, &'a Value), MetricError> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(MetricError::new(
            MetricErrorKind::UnknownMetric {
                suggestions: Vec::new(),
            },
            "the metric path is empty",
            Some("e.g. online.t99 or operations.hub.connect.throttle_rate".into()),
        ));
    }
    let (keys, v) = walk(root, trimmed).ok_or_else(|| unknown(trimmed))?;
    let canonical = keys.join(".");
    if !matches!(v, Value::Number(_) | Value::Null) {
        return Err(not_a_number(trimmed, &canonical, v));
    }
    let unit = Unit::of(&keys);
    Ok((
        Metric {
            path: trimmed.to_string(),
            canonical,
            keys,
            unit,
        },
        v,
    ))
}

/// The value of `path` in a `summary.json` document: `Ok(Some(x))` for a number, `Ok(None)` for
/// null (e.g. a share of the fleet that never came online), an error for a path that names no
/// number (with the closest metric paths in the hint).
pub fn lookup(summary: &Value, path: &str) -> Result<Option<f64>, MetricError> {
    let (_, v) = resolve_in(summary, path).map_err(|e| match e.kind {
        // A path the schema knows but this document lacks is still unknown *here*; a path
        // the schema does not know gets the schema's suggestions.
        MetricErrorKind::UnknownMetric { .. } => unknown(path.trim()),
        _ => e,
    })?;
    Ok(v.as_f64())
}

pub use super::condition::{
    Amount, CmpOp, Condition, Slo, Verdict, amount_in, check, evaluate, parse_amount, split_slo,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary() -> Value {
        let mut s = summary_schema().clone();
        s["online"] = json!({"t50_s": 12.5, "t90_s": 600.0, "t99_s": 1900.0, "t100_s": null});
        s["operations"]["hub.connect"]["throttle_rate"] = json!(0.3);
        s["operations"]["hub.connect"]["throttled"] = json!(42);
        s["operations"]["device.boot_to_online"]["latency_ms"]["p99"] = json!(480000.0);
        s["operations"]["dps.status_lookup"]["latency_ms"]["p99"] = Value::Null;
        s["model"]["lower_bound_s"]["t99"] = json!(1500.0);
        s["devices"] = json!(1);
        s
    }

    #[test]
    fn paths_resolve_through_dotted_operation_names_and_dropped_units() {
        let s = summary();
        assert_eq!(lookup(&s, "online.t99_s").unwrap(), Some(1900.0));
        assert_eq!(lookup(&s, "online.t99").unwrap(), Some(1900.0));
        assert_eq!(lookup(&s, "online.t100").unwrap(), None);
        assert_eq!(
            lookup(&s, "operations.hub.connect.throttle_rate").unwrap(),
            Some(0.3)
        );
        assert_eq!(
            lookup(&s, "operations.device.boot_to_online.latency_ms.p99").unwrap(),
            Some(480000.0)
        );
        assert_eq!(
            lookup(&s, "operations.device.boot_to_online.latency.p99").unwrap(),
            Some(480000.0)
        );
        assert_eq!(lookup(&s, "model.lower_bound_s.t99").unwrap(), Some(1500.0));
        assert_eq!(lookup(&s, "model.lower_bound.t99").unwrap(), Some(1500.0));
        assert_eq!(
            lookup(&s, "operations.dps.status_lookup.latency_ms.p99").unwrap(),
            None
        );
        assert_eq!(lookup(&s, " devices ").unwrap(), Some(1.0));

        let m = metric("online.t99").unwrap();
        assert_eq!(m.canonical, "online.t99_s");
        assert_eq!(m.unit, Unit::Seconds);
        let m = metric("operations.hub.connect.latency_ms.p99").unwrap();
        assert_eq!(m.keys, ["operations", "hub.connect", "latency_ms", "p99"]);
        assert_eq!(m.unit, Unit::Milliseconds);
        assert_eq!(
            metric("operations.hub.connect.errors").unwrap().unit,
            Unit::None
        );
        assert_eq!(
            metric("model.capacity.hub_connects_per_s").unwrap().unit,
            Unit::None
        );
        assert_eq!(
            metric("model.daily_quota.hours_until_spent").unwrap().unit,
            Unit::Hours
        );
        assert_eq!(metric("end").unwrap().canonical, "end_s");
    }

    #[test]
    fn unknown_paths_list_close_matches() {
        let e = metric("online.t98").unwrap_err();
        assert_eq!(e.message, "unknown metric `online.t98`");
        let MetricErrorKind::UnknownMetric { suggestions } = &e.kind else {
            panic!("{e:?}")
        };
        assert!(
            suggestions.contains(&"online.t99_s".to_string()),
            "{suggestions:?}"
        );
        let e = metric("operations.hub.conect.throttle_rate").unwrap_err();
        assert!(
            e.render()
                .contains("`operations.hub.connect.throttle_rate`"),
            "{}",
            e.render()
        );
        let e = lookup(&summary(), "operations.hub.connect.nope").unwrap_err();
        assert!(matches!(e.kind, MetricErrorKind::UnknownMetric { .. }));
        let e = metric("zzzz").unwrap_err();
        assert!(e.render().contains("summary.json"), "{}", e.render());
        assert!(metric("").is_err());
        assert!(metric("online.").is_err());
        assert!(metric(".online.t99").is_err());
    }

    #[test]
    fn tables_and_strings_are_not_metrics() {
        let e = metric("online").unwrap_err();
        assert_eq!(e.kind, MetricErrorKind::NotANumber);
        assert!(e.render().contains("online.t99_s"), "{}", e.render());
        let e = metric("model.bottleneck").unwrap_err();
        assert_eq!(e.kind, MetricErrorKind::NotANumber);
        assert!(e.message.contains("a string"), "{e}");
        assert_eq!(
            metric("complete").unwrap_err().kind,
            MetricErrorKind::NotANumber
        );
    }

    #[test]
    fn every_known_metric_resolves_to_itself() {
        let all = known_metrics();
        assert!(all.len() > 60, "{all:?}");
        for m in &all {
            assert_eq!(&metric(m).unwrap().canonical, m);
        }
        assert!(all.contains(&"operations.dps.status_lookup.latency_ms.p999".to_string()));
        assert!(all.contains(&"model.lower_bound_s.t100".to_string()));
    }
}
