//! Two summaries compared metric by metric: whether the runs are comparable at all, the
//! tolerances the current run records, and a [`Row`] per compared metric.

use super::error::{CompareError, input};
use super::verdict::{Row, Status, judge};
use crate::metric::tolerance::{
    Allowance, DEFAULT_MAX_REGRESSION, Tolerance, compared_metrics, parse_tolerance,
};
use crate::metric::{metric, number};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One run's identity, from its summary.json.
#[derive(Clone, Debug, PartialEq)]
pub struct RunId {
    pub dir: PathBuf,
    pub name: String,
    pub hash: String,
    pub engine: String,
    pub seed: Option<u64>,
    pub devices: Option<u64>,
    pub complete: bool,
}

impl RunId {
    fn of(dir: &Path, s: &Value) -> RunId {
        let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
        RunId {
            dir: dir.to_path_buf(),
            name: text(&s["scenario"]["name"]),
            hash: text(&s["scenario"]["hash"]),
            engine: text(&s["engine"]),
            seed: s["seed"].as_u64(),
            devices: s["devices"].as_u64(),
            complete: s["complete"].as_bool().unwrap_or(false),
        }
    }
}

/// The result of comparing two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub current: RunId,
    pub baseline: RunId,
    /// Every compared metric, in [`compared_metrics`] order.
    pub rows: Vec<Row>,
    /// Why the runs are not comparable, when `--force` compared them anyway.
    pub forced: Vec<String>,
    /// The global tolerance (`--max-regression`), as a fraction.
    pub max_regression: f64,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.status == Status::Regressed)
    }

    pub fn passed(&self) -> bool {
        self.regressions().next().is_none()
    }

    fn count(&self, s: Status) -> usize {
        self.rows.iter().filter(|r| r.status == s).count()
    }

    /// `58 metrics compared: 2 regressed, 1 worse within tolerance, 3 better, 52 unchanged`.
    pub fn tally(&self) -> String {
        let mut parts = vec![format!("{} regressed", self.count(Status::Regressed))];
        for (s, w) in [
            (Status::Worse, "worse within tolerance"),
            (Status::Ignored, "changed but ignored"),
            (Status::Better, "better"),
            (Status::Unchanged, "unchanged"),
        ] {
            let n = self.count(s);
            if n > 0 {
                parts.push(format!("{n} {w}"));
            }
        }
        format!("{} metrics compared: {}", self.rows.len(), parts.join(", "))
    }
}

/// Options of `fleetsim compare`.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// How much worse than its baseline any metric may get, as a fraction (`0.1` = 10 %),
    /// unless the scenario's `[compare]` table says otherwise.
    pub max_regression: f64,
    /// Compare runs that are not comparable (different scenario, engine or seed).
    pub force: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            max_regression: DEFAULT_MAX_REGRESSION,
            force: false,
        }
    }
}

/// Every compared metric a summary holds must be null or a non-negative number: a string, a
/// table or a negative time is a damaged file (bad input), not a regression to report.
fn check_values(dir: &Path, doc: &Value) -> Result<(), CompareError> {
    use crate::metric::{MetricErrorKind, lookup};
    let path = dir.join("summary.json");
    for (canonical, _, _) in compared_metrics() {
        match lookup(doc, &canonical) {
            // A metric this summary lacks is compared as null (not reached).
            Err(e) if matches!(e.kind, MetricErrorKind::UnknownMetric { .. }) => {}
            Err(e) => return Err(input(&path, e.message, None)),
            Ok(Some(x)) if x < 0.0 => {
                return Err(input(
                    &path,
                    format!("{canonical} is {x}: a metric fleetsim writes is never negative"),
                    None,
                ));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Compares two summary.json documents (`*_dir` only name them in the result).
pub fn compare(
    current_dir: &Path,
    current: &Value,
    baseline_dir: &Path,
    baseline: &Value,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let cur = RunId::of(current_dir, current);
    let base = RunId::of(baseline_dir, baseline);
    let why = why_not_comparable(&cur, &base);
    if !why.is_empty() && !opts.force {
        return Err(CompareError::NotComparable(why));
    }
    for (dir, doc) in [(current_dir, current), (baseline_dir, baseline)] {
        check_values(dir, doc)?;
    }
    let tolerances = recorded_tolerances(current_dir, current)?;
    let rows = rows(current, baseline, &tolerances, opts.max_regression);
    Ok(Comparison {
        current: cur,
        baseline: base,
        rows,
        forced: why,
        max_regression: opts.max_regression,
    })
}

/// Why the two runs are not comparable: different scenario, engine or seed, or an incomplete
/// run. Empty when they are.
fn why_not_comparable(cur: &RunId, base: &RunId) -> Vec<String> {
    let mut why = Vec::new();
    if cur.name != base.name {
        why.push(format!(
            "different scenarios: {} vs {}",
            cur.name, base.name
        ));
    } else if cur.hash != base.hash {
        why.push(format!(
            "scenario {} changed: hash {} vs {} (a different file or --set overrides)",
            cur.name, cur.hash, base.hash
        ));
    }
    if cur.engine != base.engine {
        why.push(format!(
            "different engines: {} vs {}",
            cur.engine, base.engine
        ));
    }
    if cur.seed != base.seed {
        let s = |x: Option<u64>| x.map_or("?".into(), |x| x.to_string());
        why.push(format!(
            "different seeds: {} vs {}",
            s(cur.seed),
            s(base.seed)
        ));
    }
    for (id, which) in [(cur, "current"), (base, "baseline")] {
        if !id.complete {
            why.push(format!(
                "the {which} run is incomplete (interrupted): its figures stop early"
            ));
        }
    }
    why
}

/// Per-metric tolerances: the current run's `[compare]` table, as recorded in summary.json.
fn recorded_tolerances(
    current_dir: &Path,
    current: &Value,
) -> Result<Vec<Tolerance>, CompareError> {
    let mut tolerances = Vec::new();
    if let Some(table) = current.get("compare").and_then(Value::as_object) {
        for (k, v) in table {
            let text = v.as_str().unwrap_or_default();
            let t = parse_tolerance(k, text).map_err(|e| {
                input(
                    &current_dir.join("summary.json"),
                    format!("compare.\"{k}\": {}", e.message),
                    e.hint.as_deref(),
                )
            })?;
            tolerances.push(t);
        }
    }
    Ok(tolerances)
}

/// A row per compared metric, judged against its tolerance: the last one `[compare]` gives
/// it, else `max_regression` for the metrics compared by default; the others are left out.
fn rows(
    current: &Value,
    baseline: &Value,
    tolerances: &[Tolerance],
    max_regression: f64,
) -> Vec<Row> {
    let global = format!("{}%", number(max_regression * 100.0));
    compared_metrics()
        .into_iter()
        .filter_map(|(canonical, better, by_default)| {
            let unit = metric(&canonical).map(|m| m.unit).unwrap_or_default();
            let (allowance, tolerance) =
                match tolerances.iter().rev().find(|t| t.canonical == canonical) {
                    Some(t) => (t.allowance, t.text.clone()),
                    None if by_default => (Allowance::Relative(max_regression), global.clone()),
                    None => return None,
                };
            let get = |s: &Value| crate::metric::lookup(s, &canonical).ok().flatten();
            let (b, c) = (get(baseline), get(current));
            Some(Row {
                status: judge(better, b, c, allowance),
                metric: canonical,
                better,
                unit,
                baseline: b,
                current: c,
                allowance,
                tolerance,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::table::render;
    use super::*;
    use crate::metric::MetricErrorKind;
    use crate::metric::tolerance::parse_max_regression;
    use serde_json::json;

    fn run(t99: f64, throttled: u64) -> Value {
        let mut s = crate::results::summary::tests::summary_value();
        s["scenario"]["name"] = json!("unit");
        s["scenario"]["hash"] = json!("abc");
        s["seed"] = json!(1);
        s["online"]["t99_s"] = json!(t99);
        s["operations"]["hub.connect"]["throttled"] = json!(throttled);
        s["operations"]["device.boot_to_online"]["ok"] = json!(100);
        s
    }

    fn cmp(cur: &Value, base: &Value, opts: &CompareOptions) -> Result<Comparison, CompareError> {
        compare(Path::new("cur"), cur, Path::new("base"), base, opts)
    }

    fn row<'a>(c: &'a Comparison, m: &str) -> &'a Row {
        c.rows.iter().find(|r| r.metric == m).unwrap()
    }

    #[test]
    fn the_compared_table_names_real_metrics() {
        let all = compared_metrics();
        assert_eq!(all.len(), 6 + 10 * 6);
        for (m, _, _) in &all {
            assert_eq!(&metric(m).unwrap().canonical, m, "{m}");
        }
        assert_eq!(all.iter().filter(|(_, _, d)| *d).count(), 6 + 8 * 6);
        // Operation by operation.
        assert_eq!(all[5].0, "operations.dps.register.repeats");
        assert_eq!(all[6].0, "operations.dps.status_lookup.throttled");
        assert_eq!(all[16].0, "operations.dps.register.throttled");
    }

    #[test]
    fn identical_runs_pass_with_every_metric_unchanged() {
        let c = cmp(&run(100.0, 0), &run(100.0, 0), &CompareOptions::default()).unwrap();
        assert!(c.passed());
        assert!(c.rows.iter().all(|r| r.status == Status::Unchanged));
        assert!(render(&c).contains("every compared metric is unchanged"));
    }

    #[test]
    fn worse_beyond_tolerance_regresses_and_better_never_does() {
        let opts = CompareOptions::default();
        let c = cmp(&run(115.0, 0), &run(100.0, 0), &opts).unwrap();
        assert_eq!(row(&c, "online.t99_s").status, Status::Regressed);
        assert_eq!(row(&c, "online.t99_s").limit(), Some(110.0));
        assert!(!c.passed());
        let c = cmp(&run(109.0, 0), &run(100.0, 0), &opts).unwrap();
        assert_eq!(row(&c, "online.t99_s").status, Status::Worse);
        assert!(c.passed());
        let c = cmp(&run(50.0, 0), &run(100.0, 0), &opts).unwrap();
        assert_eq!(row(&c, "online.t99_s").status, Status::Better);
        // From zero, any increase is a regression under a relative tolerance.
        let c = cmp(&run(100.0, 1), &run(100.0, 0), &opts).unwrap();
        let r = row(&c, "operations.hub.connect.throttled");
        assert_eq!(r.status, Status::Regressed);
        assert_eq!(r.change(), "+1 (from 0)");
        // Fewer devices online is worse.
        let mut fewer = run(100.0, 0);
        fewer["operations"]["device.boot_to_online"]["ok"] = json!(80);
        let c = cmp(&fewer, &run(100.0, 0), &opts).unwrap();
        assert_eq!(
            row(&c, "operations.device.boot_to_online.ok").status,
            Status::Regressed
        );
        // Never reached now: a regression; reached now: better.
        let mut never = run(100.0, 0);
        never["online"]["t99_s"] = Value::Null;
        let c = cmp(&never, &run(100.0, 0), &opts).unwrap();
        assert_eq!(row(&c, "online.t99_s").status, Status::Regressed);
        assert_eq!(row(&c, "online.t99_s").change(), "never reached now");
        let c = cmp(&run(100.0, 0), &never, &opts).unwrap();
        assert_eq!(row(&c, "online.t99_s").status, Status::Better);
        // A zero tolerance fails any worsening.
        let strict = CompareOptions {
            max_regression: 0.0,
            ..opts
        };
        let c = cmp(&run(100.5, 0), &run(100.0, 0), &strict).unwrap();
        assert!(!c.passed());
        let text = render(&c);
        assert!(text.contains("online.t99_s"), "{text}");
        assert!(text.contains("REGRESSED"), "{text}");
        assert!(text.contains("+0.5 %"), "{text}");
    }

    #[test]
    fn per_metric_tolerances_come_from_the_current_summary() {
        let mut cur = run(150.0, 7);
        cur["compare"] = json!({
            "online.t99": "60s",
            "operations.hub.connect.throttled": "ignore",
        });
        let c = cmp(&cur, &run(100.0, 0), &CompareOptions::default()).unwrap();
        let r = row(&c, "online.t99_s");
        assert_eq!((r.status, r.tolerance.as_str()), (Status::Worse, "60s"));
        assert_eq!(r.limit(), Some(160.0));
        assert_eq!(
            row(&c, "operations.hub.connect.throttled").status,
            Status::Ignored
        );
        assert!(c.passed());
        // The latency tails are compared only when [compare] names them.
        let mut tail = run(100.0, 0);
        tail["operations"]["hub.connect"]["latency_ms"]["max"] = json!(900.0);
        let mut base = run(100.0, 0);
        base["operations"]["hub.connect"]["latency_ms"]["max"] = json!(100.0);
        let c = cmp(&tail, &base, &CompareOptions::default()).unwrap();
        assert!(c.passed());
        assert!(c.rows.iter().all(|r| !r.metric.ends_with(".max")));
        tail["compare"] = json!({"operations.hub.connect.latency_ms.max": "50%"});
        let c = cmp(&tail, &base, &CompareOptions::default()).unwrap();
        assert_eq!(
            row(&c, "operations.hub.connect.latency_ms.max").status,
            Status::Regressed
        );
        cur["compare"] = json!({"online.t99": "soon"});
        let e = cmp(&cur, &run(100.0, 0), &CompareOptions::default()).unwrap_err();
        assert!(
            e.render().contains("compare.\"online.t99\""),
            "{}",
            e.render()
        );
    }

    #[test]
    fn tolerances_parse_and_check_their_metric() {
        let t = parse_tolerance("online.t99", "25%").unwrap();
        assert_eq!(
            (t.canonical.as_str(), t.allowance),
            ("online.t99_s", Allowance::Relative(0.25))
        );
        let t = parse_tolerance("operations.hub.connect.latency_ms.p99", "2s").unwrap();
        assert_eq!(t.allowance, Allowance::Absolute(2000.0));
        assert_eq!(
            parse_tolerance("operations.dps.register.throttled", "100")
                .unwrap()
                .allowance,
            Allowance::Absolute(100.0)
        );
        assert_eq!(
            parse_tolerance("operations.dps.register.throttle_rate", "IGNORE")
                .unwrap()
                .allowance,
            Allowance::Ignore
        );
        let e = parse_tolerance("operations.dps.register.throttled", "5m").unwrap_err();
        assert_eq!(e.kind, MetricErrorKind::UnitMismatch);
        let e = parse_tolerance("model.lower_bound_s.t99", "5%").unwrap_err();
        assert_eq!(e.kind, MetricErrorKind::NotCompared);
        assert!(parse_tolerance("online.t98", "5%").is_err());
        assert!(parse_tolerance("online.t99", "-5%").is_err());
        assert!(parse_tolerance("online.t99", "lots").is_err());
        assert_eq!(parse_max_regression("10%").unwrap(), 0.1);
        assert_eq!(parse_max_regression("0").unwrap(), 0.0);
        assert!(parse_max_regression("10").is_err());
        assert!(parse_max_regression("-1%").is_err());
    }

    #[test]
    fn runs_of_different_scenarios_seeds_or_engines_are_not_comparable() {
        let base = run(100.0, 0);
        let opts = CompareOptions::default();
        for (key, value, expect) in [
            ("hash", json!("def"), "hash def vs abc"),
            ("name", json!("other"), "different scenarios"),
        ] {
            let mut cur = base.clone();
            cur["scenario"][key] = value;
            let e = cmp(&cur, &base, &opts).unwrap_err();
            assert!(e.render().contains(expect), "{}", e.render());
            assert!(e.render().contains("--force"), "{}", e.render());
        }
        let mut cur = base.clone();
        cur["seed"] = json!(2);
        cur["engine"] = json!("live");
        cur["complete"] = json!(false);
        let e = cmp(&cur, &base, &opts).unwrap_err();
        let CompareError::NotComparable(why) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(why.len(), 3, "{why:?}");
        // Forced: compared, and the reasons are kept.
        let forced = CompareOptions {
            force: true,
            ..opts
        };
        let c = cmp(&cur, &base, &forced).unwrap();
        assert_eq!(c.forced.len(), 3);
        assert!(render(&c).contains("forced: different seeds"));
    }
}
