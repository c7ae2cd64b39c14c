//! Reading a results directory into a [`ReportModel`]: `summary.json` (required), `run.json`,
//! `timeline.csv`, `latency.csv`, `histograms.hlog` (each optional: the report says what is
//! missing) and `plan.json` (only a planning run has one).

use super::model::{
    BucketPoint, Counts, LatencyRow, ReportModel, RunFacts, Spectrum, SpectrumPoint, SummaryView,
    TimelineView,
};
use super::plan::PlanView;
use crate::summary::FORMAT;
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The most points a time chart draws: the timeline is aggregated (sums of whole rows, so
/// rates stay exact) down to this many.
pub const MAX_POINTS: usize = 400;

/// The deepest percentile a spectrum reaches: 99.9999 % (six nines).
const MAX_NINES: f64 = 6.0;
/// Spectrum points per decade of "nines".
const STEPS_PER_NINE: u32 = 20;

/// Why a directory cannot be rendered. Every variant is bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
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

fn malformed(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads `path`, or `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, LoadError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadError::Io {
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
pub fn load_dir(dir: &Path) -> Result<ReportModel, LoadError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(LoadError::NotFound(dir.to_path_buf()));
        }
        Err(source) => {
            return Err(LoadError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(m) if !m.is_dir() => return Err(LoadError::NotADirectory(dir.to_path_buf())),
        Ok(_) => {}
    }
    let summary_path = dir.join("summary.json");
    let Some(bytes) = read_optional(&summary_path)? else {
        return Err(LoadError::NotResults {
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

fn parse_summary(path: &Path, bytes: &[u8]) -> Result<SummaryView, LoadError> {
    let not_summary = |message: String| LoadError::NotASummary {
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
        return Err(LoadError::NewerFormat {
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

fn csv_error(path: &Path, e: &csv::Error) -> LoadError {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    malformed(path, format!("{at}{e}"))
}

fn parse_timeline(path: &Path, bytes: &[u8], end_s: f64) -> Result<TimelineView, LoadError> {
    let mut rdr = csv::Reader::from_reader(bytes);
    let header = rdr.headers().map_err(|e| csv_error(path, &e))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| malformed(path, format!("no `{name}` column")))
    };
    let (c_t, c_online, c_ever) = (col("t_s")?, col("online")?, col("ever_online")?);
    // `<op>.<field>` columns, operations in header order.
    const FIELDS: [&str; 5] = ["attempts", "ok", "throttled", "errors", "timeouts"];
    let mut ops: Vec<String> = Vec::new();
    let mut op_cols: Vec<(usize, usize, usize)> = Vec::new(); // (column, op, field)
    for (i, h) in header.iter().enumerate() {
        let Some((op, field)) = h.rsplit_once('.') else {
            continue;
        };
        let Some(f) = FIELDS.iter().position(|x| *x == field) else {
            continue;
        };
        let o = match ops.iter().position(|x| x == op) {
            Some(o) => o,
            None => {
                ops.push(op.to_string());
                ops.len() - 1
            }
        };
        op_cols.push((i, o, f));
    }
    let mut rows: Vec<BucketPoint> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, &e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let num = |c: usize| -> Result<&str, LoadError> {
            rec.get(c)
                .ok_or_else(|| malformed(path, format!("line {line}: too few columns")))
        };
        let int = |c: usize| -> Result<u64, LoadError> {
            let s = num(c)?;
            s.parse().map_err(|_| {
                malformed(
                    path,
                    format!("line {line}: `{s}` in column {} is not a count", &header[c]),
                )
            })
        };
        let t_s: f64 = num(c_t)?
            .parse()
            .map_err(|_| malformed(path, format!("line {line}: t_s is not a number")))?;
        let mut counts = vec![Counts::default(); ops.len()];
        for &(c, o, f) in &op_cols {
            let v = int(c)?;
            let k = &mut counts[o];
            match f {
                0 => k.attempts = v,
                1 => k.ok = v,
                2 => k.throttled = v,
                3 => k.errors = v,
                _ => k.timeouts = v,
            }
        }
        rows.push(BucketPoint {
            t_s,
            dt_s: 0.0,
            online: int(c_online)?,
            ever_online: int(c_ever)?,
            ops: counts,
        });
    }
    if rows.is_empty() {
        return Err(malformed(path, "no rows"));
    }
    let bucket_s = if rows.len() > 1 {
        rows[1].t_s - rows[0].t_s
    } else {
        end_s.max(0.0)
    };
    for i in 0..rows.len() {
        let next = rows.get(i + 1).map_or(end_s.max(rows[i].t_s), |r| r.t_s);
        rows[i].dt_s = (next - rows[i].t_s).max(0.0);
    }
    Ok(TimelineView {
        bucket_s,
        ops,
        points: aggregate(rows, MAX_POINTS),
    })
}

/// Merges consecutive rows into at most `max` points: counts add up, levels are those at the
/// end of the merged span.
pub(crate) fn aggregate(rows: Vec<BucketPoint>, max: usize) -> Vec<BucketPoint> {
    let group = rows.len().div_ceil(max.max(1));
    if group <= 1 {
        return rows;
    }
    rows.chunks(group)
        .map(|chunk| {
            let last = &chunk[chunk.len() - 1];
            let mut ops = vec![Counts::default(); last.ops.len()];
            for r in chunk {
                for (acc, c) in ops.iter_mut().zip(&r.ops) {
                    acc.attempts += c.attempts;
                    acc.ok += c.ok;
                    acc.throttled += c.throttled;
                    acc.errors += c.errors;
                    acc.timeouts += c.timeouts;
                }
            }
            BucketPoint {
                t_s: chunk[0].t_s,
                dt_s: chunk.iter().map(|r| r.dt_s).sum(),
                online: last.online,
                ever_online: last.ever_online,
                ops,
            }
        })
        .collect()
}

fn parse_latency(path: &Path, bytes: &[u8]) -> Result<Vec<LatencyRow>, LoadError> {
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

/// Sums every interval histogram per tag (but `online_at`, which holds no latencies), and
/// samples each sum's percentile spectrum.
/// Operations come out in `order` (summary.json's), then any other tag by name.
fn parse_hlog(path: &Path, bytes: &[u8], order: &[&str]) -> Result<Vec<Spectrum>, LoadError> {
    let mut totals: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut deserializer = Deserializer::new();
    for (i, entry) in IntervalLogIterator::new(bytes).enumerate() {
        let entry = entry.map_err(|e| malformed(path, format!("entry {}: {e:?}", i + 1)))?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let tag = h.tag().map_or("", |t| t.as_str()).to_string();
        if tag == crate::results::ONLINE_AT_TAG {
            // First-online times, not a latency: no spectrum.
            continue;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.encoded_histogram())
            .map_err(|e| malformed(path, format!("`{tag}` histogram: {e}")))?;
        let hist: Histogram<u64> = deserializer
            .deserialize(&mut &raw[..])
            .map_err(|e| malformed(path, format!("`{tag}` histogram: {e:?}")))?;
        match totals.get_mut(&tag) {
            Some(t) => t
                .add(&hist)
                .map_err(|e| malformed(path, format!("`{tag}` histogram: {e:?}")))?,
            None => {
                let mut t = Histogram::new(3).expect("3 significant figures is valid");
                t.add(&hist)
                    .map_err(|e| malformed(path, format!("`{tag}` histogram: {e:?}")))?;
                totals.insert(tag, t);
            }
        }
    }
    let rank = |tag: &str| order.iter().position(|o| *o == tag).unwrap_or(order.len());
    let mut tags: Vec<&String> = totals.keys().collect();
    tags.sort_by_key(|t| (rank(t), t.as_str()));
    Ok(tags
        .into_iter()
        .filter_map(|tag| {
            let h = &totals[tag];
            (!h.is_empty()).then(|| spectrum(tag, h))
        })
        .collect())
}

/// Points of the percentile spectrum at even steps of "nines", from the minimum to the
/// deepest percentile the sample count supports (1 − p ≥ 1/count), at most six nines.
pub(crate) fn spectrum(op: &str, h: &Histogram<u64>) -> Spectrum {
    let count = h.len();
    let deepest = (count as f64).log10().clamp(0.0, MAX_NINES);
    let steps = (deepest * f64::from(STEPS_PER_NINE)).floor() as u32;
    let mut points: Vec<SpectrumPoint> = (0..=steps)
        .map(|k| f64::from(k) / f64::from(STEPS_PER_NINE))
        .chain(((deepest * f64::from(STEPS_PER_NINE)).fract() > 1e-9).then_some(deepest))
        .map(|nines| {
            let q = 1.0 - 10f64.powf(-nines);
            SpectrumPoint {
                nines: (nines * 1e4).round() / 1e4,
                ms: h.value_at_quantile(q) as f64 / 1e3,
            }
        })
        .collect();
    points.dedup_by(|b, a| a.nines == b.nines);
    Spectrum {
        op: op.to_string(),
        count,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: f64, ever: u64, ok: u64) -> BucketPoint {
        BucketPoint {
            t_s,
            dt_s: 1.0,
            online: ever,
            ever_online: ever,
            ops: vec![Counts {
                attempts: ok + 1,
                ok,
                throttled: 1,
                errors: 0,
                timeouts: 0,
            }],
        }
    }

    #[test]
    fn aggregation_adds_counts_and_keeps_end_levels() {
        let rows: Vec<BucketPoint> = (0..10).map(|i| point(i as f64, i * 10, i)).collect();
        let agg = aggregate(rows.clone(), 4);
        assert_eq!(agg.len(), 4, "groups of 3: 3 + 3 + 3 + 1");
        assert_eq!(agg[0].t_s, 0.0);
        assert_eq!(agg[0].dt_s, 3.0);
        assert_eq!(agg[0].ever_online, 20);
        assert_eq!(agg[0].ops[0].ok, 1 + 2);
        assert_eq!(agg[0].ops[0].throttled, 3);
        assert_eq!(agg[3].t_s, 9.0);
        assert_eq!(agg[3].dt_s, 1.0);
        let total = |v: &[BucketPoint]| v.iter().map(|p| p.ops[0].ok).sum::<u64>();
        assert_eq!(total(&agg), total(&rows));
        assert_eq!(
            aggregate(rows.clone(), 400),
            rows,
            "short timelines are kept whole"
        );
    }

    #[test]
    fn timeline_rows_get_their_width_and_the_last_ends_at_end_s() {
        let csv = "t_s,booted,online,ever_online,in_flight,a.x.attempts,a.x.ok,a.x.throttled,a.x.errors,a.x.timeouts\n\
                   0,1,0,0,1,1,0,0,0,0\n2,2,1,1,0,1,1,1,0,0\n4,2,2,2,0,0,1,0,0,0\n";
        let tl = parse_timeline(Path::new("timeline.csv"), csv.as_bytes(), 5.5).unwrap();
        assert_eq!(tl.bucket_s, 2.0);
        assert_eq!(tl.ops, ["a.x"]);
        let widths: Vec<f64> = tl.points.iter().map(|p| p.dt_s).collect();
        assert_eq!(widths, [2.0, 2.0, 1.5]);
        assert_eq!(tl.points[1].ops[0].throttled, 1);
        let bad = "t_s,online,ever_online\n0,x,0\n";
        let e = parse_timeline(Path::new("timeline.csv"), bad.as_bytes(), 1.0).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn spectrum_reaches_as_deep_as_the_samples_allow() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in 1..=1_000u64 {
            h.record(v * 1_000).unwrap(); // 1 ms … 1 s
        }
        let s = spectrum("op", &h);
        assert_eq!(s.count, 1_000);
        assert_eq!(s.points.first().unwrap().nines, 0.0);
        assert_eq!(
            s.points.last().unwrap().nines,
            3.0,
            "1,000 samples: three nines"
        );
        assert_eq!(s.points.len(), 61);
        let at = |n: f64| s.points.iter().find(|p| p.nines == n).unwrap().ms;
        assert_eq!(at(0.0), 1.0);
        assert!((at(1.0) - 900.0).abs() < 1.0, "{}", at(1.0));
        assert!((at(2.0) - 990.0).abs() < 1.0, "{}", at(2.0));
        assert!(s.points.windows(2).all(|w| w[0].ms <= w[1].ms));
    }

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
        let m = load_dir(root.path()).unwrap();
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
        assert!(matches!(load_dir(&missing), Err(LoadError::NotFound(_))));

        let file = root.path().join("f.txt");
        fs::write(&file, "x").unwrap();
        assert!(matches!(load_dir(&file), Err(LoadError::NotADirectory(_))));

        let other = root.path().join("other");
        fs::create_dir_all(other.join("sub")).unwrap();
        fs::write(other.join("notes.txt"), "x").unwrap();
        let e = load_dir(&other).unwrap_err().to_string();
        assert!(
            e.contains("no summary.json") && e.contains("notes.txt, sub/"),
            "{e}"
        );
        let empty = root.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(
            load_dir(&empty)
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
        let e = load_dir(&newer).unwrap_err();
        assert!(matches!(e, LoadError::NewerFormat { format: 2, .. }), "{e}");
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
            let e = load_dir(&newer).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
