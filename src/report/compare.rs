//! `fleetsim compare CURRENT BASELINE`: the same scenario's two runs, metric by metric, with
//! tolerances; the nightly capacity gate. [`command`] reads the two results directories,
//! compares them, and writes what CI reads — the printed table, one line per regression on
//! stderr, JUnit XML and a Markdown summary for `$GITHUB_STEP_SUMMARY`.
//!
//! [`COMPARED`](crate::metric::tolerance::COMPARED) is the one table of what is compared and
//! which way is worse. Every metric there is a time, a count of trouble or a ratio of it, so
//! higher is worse — except the number of devices that came online, where lower is. A metric
//! that got better never fails the gate; one that got worse fails it when it got worse by more
//! than its tolerance: the global `--max-regression` (a percentage of the baseline value), or
//! the scenario's `[compare]` table, which `fleetsim run` records in `summary.json` as
//! `compare`.
//!
//! Two runs are comparable when they ran the same scenario (name and hash), on the same
//! engine, with the same seed, to completion; otherwise the differences are not a
//! regression verdict, and `compare` refuses (exit 2) unless forced.
//!
//! Its parts: `comparison` (two summaries → [`Comparison`]), `verdict` (one metric's [`Row`]
//! and [`Status`]), `table` (what it prints), `markdown` (the step summary), `error`.

mod comparison;
mod error;
mod markdown;
mod table;
mod verdict;

pub use crate::metric::tolerance::{DEFAULT_MAX_REGRESSION, parse_max_regression};
pub use comparison::{CompareOptions, Comparison, RunId, compare};
pub use error::CompareError;
pub use markdown::markdown;
pub use table::{describe_regression, render};
pub use verdict::{Row, Status};

use super::junit;
use error::input;
use serde_json::Value;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A summary of the unit scenario with `t99`; the comparison's parts test on it too.
    pub(super) fn run(t99: f64) -> Value {
        let mut s = crate::results::summary::tests::summary_value();
        s["scenario"]["name"] = json!("unit");
        s["online"]["t99_s"] = json!(t99);
        s
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
