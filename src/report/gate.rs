//! `fleetsim compare` as a command: read two results directories, compare them
//! ([`super::compare`]), and write what CI reads — the printed table, one line per regression
//! on stderr, JUnit XML and a Markdown summary for `$GITHUB_STEP_SUMMARY`.

use super::compare::{
    CompareError, CompareOptions, Comparison, Row, Status, compare, describe_regression, input,
    parse_max_regression, render,
};
use super::junit;
use crate::metric::metric;
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

/// What `fleetsim compare` was asked to do.
#[derive(Clone, Debug)]
pub struct CompareRequest<'a> {
    pub current: &'a Path,
    pub baseline: &'a Path,
    /// `--max-regression`, as written (`10%`).
    pub max_regression: &'a str,
    pub force: bool,
    pub junit: Option<&'a Path>,
    pub markdown: Option<&'a Path>,
}

/// What it found: the table to print and one line per regression (none: exit 0).
#[derive(Clone, Debug)]
pub struct CompareDone {
    pub comparison: Comparison,
    pub table: String,
    pub regressions: Vec<String>,
}

/// Runs `fleetsim compare`: checks every input and output first, compares, writes the JUnit
/// and Markdown files (atomically) if asked. Every error is bad input (exit 2).
pub fn command(req: &CompareRequest<'_>) -> Result<CompareDone, CompareError> {
    let max_regression =
        parse_max_regression(req.max_regression).map_err(|e| CompareError::Input {
            path: "--max-regression".into(),
            message: e.message,
            hint: e.hint,
        })?;
    for (flag, target) in [("--junit", req.junit), ("--markdown", req.markdown)] {
        if let Some(t) = target {
            junit::check_target(t).map_err(|m| CompareError::Input {
                path: flag.into(),
                message: m,
                hint: None,
            })?;
        }
    }
    let opts = CompareOptions {
        max_regression,
        force: req.force,
    };
    let same = match (req.current.canonicalize(), req.baseline.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(CompareError::SameDirectory(
            req.current.display().to_string(),
        ));
    }
    let current = load_summary(req.current)?;
    let baseline = load_summary(req.baseline)?;
    let c = compare(req.current, &current, req.baseline, &baseline, &opts)?;
    let write = |path: &Path, text: &str| {
        junit::write_atomic(path, text).map_err(|e| input(path, format!("cannot write: {e}"), None))
    };
    if let Some(path) = req.junit {
        write(path, &junit::to_xml(&[junit::compare_suite(&c)]))?;
    }
    if let Some(path) = req.markdown {
        write(path, &markdown(&c, &current))?;
    }
    Ok(CompareDone {
        table: render(&c),
        regressions: c.regressions().map(describe_regression).collect(),
        comparison: c,
    })
}

/// Reads `DIR/summary.json` and checks it is a fleetsim summary of a format this version
/// reads.
pub fn load_summary(dir: &Path) -> Result<Value, CompareError> {
    let results_hint =
        Some("give a results directory written by `fleetsim run` (it holds summary.json)");
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(input(dir, "no such directory", results_hint));
        }
        Err(e) => return Err(input(dir, format!("cannot read: {e}"), None)),
        Ok(m) if !m.is_dir() => {
            return Err(input(dir, "is not a directory", results_hint));
        }
        Ok(_) => {}
    }
    let path = dir.join("summary.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(input(dir, "has no summary.json", results_hint));
        }
        Err(e) => return Err(input(&path, format!("cannot read: {e}"), None)),
    };
    let v: Value =
        serde_json::from_str(&text).map_err(|e| input(&path, format!("is not JSON: {e}"), None))?;
    let format = v.get("format").and_then(Value::as_u64);
    match format {
        Some(f) if f == u64::from(crate::summary::FORMAT) => {}
        Some(f) => {
            return Err(input(
                &path,
                format!(
                    "is results format {f}; this fleetsim reads format {}",
                    crate::summary::FORMAT
                ),
                Some(
                    "compare runs written by the same fleetsim version, or refresh the baseline with this one",
                ),
            ));
        }
        None => {
            return Err(input(
                &path,
                "is not a fleetsim summary (no \"format\" field)",
                results_hint,
            ));
        }
    }
    for key in ["scenario", "operations", "online"] {
        if !v.get(key).is_some_and(Value::is_object) {
            return Err(input(
                &path,
                format!("is not a fleetsim summary (no \"{key}\" table)"),
                None,
            ));
        }
    }
    Ok(v)
}

/// Reads both results directories and compares them.
pub fn compare_dirs(
    current: &Path,
    baseline: &Path,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let same = match (current.canonicalize(), baseline.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(CompareError::SameDirectory(current.display().to_string()));
    }
    let cur = load_summary(current)?;
    let base = load_summary(baseline)?;
    compare(current, &cur, baseline, &base, opts)
}

/// A Markdown summary for `$GITHUB_STEP_SUMMARY`: the current run's SLO verdicts and the
/// comparison's changed metrics.
pub fn markdown(c: &Comparison, current: &Value) -> String {
    let mut o = String::new();
    let verdict = if c.passed() {
        "passed"
    } else {
        "**regressed**"
    };
    let _ = writeln!(o, "### {}: {verdict}", md(&c.current.name));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Current `{}` against baseline `{}`. {}.",
        md(&c.current.dir.display().to_string()),
        md(&c.baseline.dir.display().to_string()),
        c.tally()
    );
    for w in &c.forced {
        let _ = writeln!(o, "\n> forced: {}", md(w));
    }
    if let Some(slos) = current
        .get("slo")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let _ = writeln!(o);
        let _ = writeln!(o, "| SLO | condition | measured | verdict |");
        let _ = writeln!(o, "|---|---|---:|---|");
        for v in slos {
            let m = v["metric"].as_str().unwrap_or("?");
            let unit = metric(m).map(|m| m.unit).unwrap_or_default();
            let measured = v["measured"]
                .as_f64()
                .map_or("never reached".into(), |x| unit.format(x));
            let pass = if v["pass"].as_bool() == Some(true) {
                "pass"
            } else {
                "**FAIL**"
            };
            let _ = writeln!(
                o,
                "| `{}` | `{}` | {} | {pass} |",
                md(m),
                md(v["condition"].as_str().unwrap_or("?")),
                md(&measured)
            );
        }
    }
    let changed: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.status != Status::Unchanged)
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "| metric | baseline | current | change | tolerance | verdict |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---|");
        for r in changed {
            let word = match r.status {
                Status::Regressed => "**REGRESSED**",
                s => s.word(),
            };
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} | {word} |",
                md(&r.metric),
                md(&r.show(r.baseline)),
                md(&r.show(r.current)),
                md(&r.change()),
                md(&r.tolerance)
            );
        }
    }
    o
}

/// Escapes the characters that would break a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(t99: f64) -> Value {
        let mut s = crate::results::summary::tests::summary_value();
        s["scenario"]["name"] = json!("unit");
        s["online"]["t99_s"] = json!(t99);
        s
    }

    fn cmp(cur: &Value, base: &Value) -> Comparison {
        compare(
            Path::new("cur"),
            cur,
            Path::new("base"),
            base,
            &CompareOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn markdown_lists_slos_and_changes() {
        let mut cur = run(150.0);
        cur["slo"] = json!([{"metric": "online.t99", "condition": "< 2m", "measured": 150.0, "pass": false}]);
        let c = cmp(&cur, &run(100.0));
        let md = markdown(&c, &cur);
        assert!(md.starts_with("### unit: **regressed**"), "{md}");
        assert!(
            md.contains("| `online.t99` | `< 2m` | 2m 30s | **FAIL** |"),
            "{md}"
        );
        assert!(
            md.contains("| `online.t99_s` | 1m 40s | 2m 30s | +50.0 % | 10% | **REGRESSED** |"),
            "{md}"
        );
        let row = c.rows.iter().find(|r| r.metric == "online.t99_s").unwrap();
        assert!(describe_regression(row).contains("allowed up to 1m 50s"));
    }

    #[test]
    fn directories_are_checked_before_anything_is_compared() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |name: &str, v: &Value| {
            std::fs::create_dir_all(d.join(name)).unwrap();
            std::fs::write(d.join(name).join("summary.json"), v.to_string()).unwrap();
        };
        write("a", &run(100.0));
        write("b", &run(100.0));
        let req = |cur: &'static str, base: &'static str| (d.join(cur), d.join(base));
        let go = |(cur, base): (std::path::PathBuf, std::path::PathBuf)| {
            command(&CompareRequest {
                current: &cur,
                baseline: &base,
                max_regression: "10%",
                force: false,
                junit: None,
                markdown: None,
            })
            .map(|_| ())
            .map_err(|e| e.render())
        };
        assert!(go(req("a", "b")).is_ok());
        let e = go(req("a", "a")).unwrap_err();
        assert!(e.contains("compared with itself"), "{e}");
        let e = go(req("a", "nope")).unwrap_err();
        assert!(e.contains("nope: no such directory"), "{e}");
        std::fs::create_dir(d.join("empty")).unwrap();
        let e = go(req("a", "empty")).unwrap_err();
        assert!(e.contains("empty: has no summary.json"), "{e}");
        let mut two = run(100.0);
        two["format"] = json!(2);
        write("future", &two);
        let e = go(req("a", "future")).unwrap_err();
        assert!(
            e.contains("is results format 2; this fleetsim reads format 1"),
            "{e}"
        );
        write("junk", &json!({"hello": 1}));
        let e = go(req("a", "junk")).unwrap_err();
        assert!(e.contains("not a fleetsim summary"), "{e}");
        std::fs::create_dir(d.join("text")).unwrap();
        std::fs::write(d.join("text").join("summary.json"), "{").unwrap();
        let e = go(req("a", "text")).unwrap_err();
        assert!(e.contains("is not JSON"), "{e}");
    }
}
