//! Reading a results directory into a [`ReportModel`], for the page: `summary.json`
//! (required), `run.json`, `timeline.csv`, `latency.csv`, `histograms.hlog` (each optional:
//! the report says what is missing) and `plan.json` (only a planning run has one). The
//! timeline's aggregation lives in `timeline`, the latency spectra's sampling in `hlog`.

mod hlog;
mod timeline;

pub use timeline::MAX_POINTS;

use super::model::{LatencyRow, ReportModel, RunFacts, SummaryView};
use super::plan::PlanView;
use crate::summary::FORMAT;
use hlog::parse_hlog;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use timeline::parse_timeline;

/// Why a directory cannot be rendered. Every variant is bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: no such directory", .0.display())]
    NotFound(PathBuf),
    #[error("{} is not a directory (give the results directory itself)", .0.display())]
    NotADirectory(PathBuf),
    #[error("{} is not a fleetsim results directory: it has no summary.json ({found})", dir.display())]
    NotResults { dir: PathBuf, found: String },
    #[error("{} is not a fleetsim summary: {message}", path.display())]
    NotASummary { path: PathBuf, message: String },
    #[error(
        "{} is results format {format}, newer than this fleetsim ({version}) reads (format {FORMAT}): render it with a newer fleetsim",
        path.display(), version = env!("CARGO_PKG_VERSION")
    )]
    NewerFormat { path: PathBuf, format: u64 },
    #[error("{}: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub(super) fn malformed(path: &Path, message: impl Into<String>) -> ReadError {
    ReadError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads `path`, or `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ReadError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReadError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// What a directory holds, for an error message: "it holds a.txt, b/ and 3 more" or "it is
/// empty".
fn describe_contents(dir: &Path) -> String {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| {
                let mut n = e.file_name().to_string_lossy().into_owned();
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    n.push('/');
                }
                n
            })
            .collect(),
        Err(e) => return format!("cannot list it: {e}"),
    };
    if names.is_empty() {
        return "it is empty".into();
    }
    names.sort();
    const SHOW: usize = 6;
    let more = names.len().saturating_sub(SHOW);
    names.truncate(SHOW);
    let mut s = format!("it holds {}", names.join(", "));
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// Reads the results directory `dir` into a report model.
pub fn read_results(dir: &Path) -> Result<ReportModel, ReadError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ReadError::NotFound(dir.to_path_buf()));
        }
        Err(source) => {
            return Err(ReadError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(m) if !m.is_dir() => return Err(ReadError::NotADirectory(dir.to_path_buf())),
        Ok(_) => {}
    }
    let summary_path = dir.join("summary.json");
    let Some(bytes) = read_optional(&summary_path)? else {
        return Err(ReadError::NotResults {
            dir: dir.to_path_buf(),
            found: describe_contents(dir),
        });
    };
    let summary = parse_summary(&summary_path, &bytes)?;
    let mut missing = Vec::new();

    let run = match read_optional(&dir.join("run.json"))? {
        Some(b) => Some(
            serde_json::from_slice::<RunFacts>(&b)
                .map_err(|e| malformed(&dir.join("run.json"), e.to_string()))?,
        ),
        None => {
            missing.push("run.json".to_string());
            None
        }
    };
    let timeline_path = dir.join("timeline.csv");
    let timeline = match read_optional(&timeline_path)? {
        Some(b) => Some(parse_timeline(&timeline_path, &b, summary.end_s)?),
        None => {
            missing.push("timeline.csv".to_string());
            None
        }
    };
    let latency_path = dir.join("latency.csv");
    let latency = match read_optional(&latency_path)? {
        Some(b) => parse_latency(&latency_path, &b)?,
        None => {
            missing.push("latency.csv".to_string());
            Vec::new()
        }
    };
    let hlog_path = dir.join("histograms.hlog");
    let spectra = match read_optional(&hlog_path)? {
        Some(b) => {
            let order: Vec<&str> = summary
                .operations
                .0
                .iter()
                .map(|(n, _)| n.as_str())
                .collect();
            parse_hlog(&hlog_path, &b, &order)?
        }
        None => {
            missing.push("histograms.hlog".to_string());
            Vec::new()
        }
    };
    let plan_path = dir.join("plan.json");
    let plan = match read_optional(&plan_path)? {
        Some(b) => {
            let v: serde_json::Value =
                serde_json::from_slice(&b).map_err(|e| malformed(&plan_path, e.to_string()))?;
            Some(PlanView::from_json(&v).map_err(|m| malformed(&plan_path, m))?)
        }
        None => None,
    };
    Ok(ReportModel {
        summary,
        run,
        timeline,
        latency,
        spectra,
        plan,
        missing,
    })
}

fn parse_summary(path: &Path, bytes: &[u8]) -> Result<SummaryView, ReadError> {
    let not_summary = |message: String| ReadError::NotASummary {
        path: path.to_path_buf(),
        message,
    };
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not_summary(format!("not JSON ({e})")))?;
    let Some(obj) = v.as_object() else {
        return Err(not_summary("not a JSON object".into()));
    };
    let format = match obj.get("format") {
        None => return Err(not_summary("it has no `format` field".into())),
        Some(f) => f
            .as_u64()
            .ok_or_else(|| not_summary(format!("`format` is {f}, not a version number")))?,
    };
    if format > u64::from(FORMAT) {
        return Err(ReadError::NewerFormat {
            path: path.to_path_buf(),
            format,
        });
    }
    if format != u64::from(FORMAT) {
        return Err(not_summary(format!(
            "`format` is {format}; this fleetsim reads format {FORMAT}"
        )));
    }
    // From the bytes, not the `Value`: a `Value` map is sorted, and `operations` keeps the
    // file's order.
    serde_json::from_slice(bytes).map_err(|e| not_summary(e.to_string()))
}

pub(super) fn csv_error(path: &Path, e: &csv::Error) -> ReadError {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    malformed(path, format!("{at}{e}"))
}

fn parse_latency(path: &Path, bytes: &[u8]) -> Result<Vec<LatencyRow>, ReadError> {
    #[derive(serde::Deserialize)]
    struct Row {
        op: String,
        count: u64,
        mean_ms: Option<f64>,
    }
    csv::Reader::from_reader(bytes)
        .deserialize::<Row>()
        .map(|r| {
            let r = r.map_err(|e| csv_error(path, &e))?;
            Ok(LatencyRow {
                op: r.op,
                count: r.count,
                mean_ms: r.mean_ms,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_or_slo_of_an_unexpected_shape_is_left_out_not_fatal() {
        let root = tempfile::tempdir().unwrap();
        let summary = r#"{"format": 1, "scenario": {"name": "n", "hash": "h", "description": ""},
            "engine": "virtual", "seed": 1, "devices": 10, "complete": true, "end_s": 5.0,
            "operations": {"hub.connect": {"attempts": 1, "ok": 1, "throttled": 0, "errors": 0,
              "timeouts": 0, "throttle_rate": 0.0, "latency_ms": {"p50": 1.0, "p90": 1.0,
              "p99": 1.0, "p999": 1.0, "max": 1.0}}},
            "online": {"t50_s": 1.0},
            "model": {"bottleneck": "arrival", "capacity": "lots", "best_curve": {"x": 1},
                      "waste": [{"message": "spare me"}, 7], "verdict": 3,
                      "lower_bound_s": {"t50": 0.5}},
            "slo": [{"metric": "online.t50", "condition": "< 2s", "measured": 1.0,
                     "pass": true}, "garbage"]}"#;
        fs::write(root.path().join("summary.json"), summary).unwrap();
        let m = read_results(root.path()).unwrap();
        let model = &m.summary.model;
        assert_eq!(model.bottleneck.as_deref(), Some("arrival"));
        assert_eq!(model.lower_bound_s.t50, Some(0.5));
        assert_eq!(
            (model.capacity.is_none(), model.best_curve.is_none()),
            (true, true)
        );
        assert!(model.verdict.is_none());
        assert_eq!(model.waste, ["spare me"]);
        assert_eq!(m.summary.slo.len(), 1);
        assert_eq!(m.summary.stop_reason, None, "older summaries have none");
        assert_eq!(
            m.missing,
            ["run.json", "timeline.csv", "latency.csv", "histograms.hlog"]
        );
        // And it renders.
        assert!(super::super::render_html(&m).contains("spare me"));
    }

    #[test]
    fn bad_directories_say_what_they_found() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nope");
        assert!(matches!(
            read_results(&missing),
            Err(ReadError::NotFound(_))
        ));

        let file = root.path().join("f.txt");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            read_results(&file),
            Err(ReadError::NotADirectory(_))
        ));

        let other = root.path().join("other");
        fs::create_dir_all(other.join("sub")).unwrap();
        fs::write(other.join("notes.txt"), "x").unwrap();
        let e = read_results(&other).unwrap_err().to_string();
        assert!(
            e.contains("no summary.json") && e.contains("notes.txt, sub/"),
            "{e}"
        );
        let empty = root.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(
            read_results(&empty)
                .unwrap_err()
                .to_string()
                .contains("it is empty")
        );

        let newer = root.path().join("newer");
        fs::create_dir(&newer).unwrap();
        fs::write(
            newer.join("summary.json"),
            r#"{"format": 2, "future": true}"#,
        )
        .unwrap();
        let e = read_results(&newer).unwrap_err();
        assert!(matches!(e, ReadError::NewerFormat { format: 2, .. }), "{e}");
        assert!(e.to_string().contains("format 2") && e.to_string().contains("newer"));

        for (text, says) in [
            ("not json", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"devices": 3}"#, "no `format`"),
            (r#"{"format": "one"}"#, "not a version number"),
            (r#"{"format": 0}"#, "`format` is 0"),
            (r#"{"format": 1}"#, "missing field"),
        ] {
            fs::write(newer.join("summary.json"), text).unwrap();
            let e = read_results(&newer).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
