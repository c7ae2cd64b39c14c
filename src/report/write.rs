//! Writing the results directory, atomically: everything goes into a sibling temporary
//! directory `DIR.tmp-<pid>`, which is renamed onto `DIR` only when every file is written, so a
//! reader never sees a half-written results directory.

use super::{RunInfo, Summary};
use crate::results::{ONLINE_AT_TAG, Op, Recorder, Timeline};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use std::borrow::Cow;
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The files of a results directory (format 1), in the order they are written.
pub const FILES: [&str; 7] = [
    "summary.json",
    "run.json",
    "timeline.csv",
    "latency.csv",
    "histograms.hlog",
    "report.html",
    "report.md",
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "results directory {} already exists and is not empty (choose another --out, or remove it)",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error("results directory {} exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write results under {}: the directory does not exist", .0.display())]
    NoParent(PathBuf),
    #[error("writing {}: {message}", path.display())]
    Encode { path: PathBuf, message: String },
    #[error("cannot write results to {}: {source}", path.display())]
    Unwritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "only {} free on the file system holding {}; this run's results may need up to {} (free some space, or choose another --out)",
        mib(*free),
        path.display(),
        mib(*need)
    )]
    DiskFull { path: PathBuf, free: u64, need: u64 },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `results/<name>-<UTC timestamp>`, e.g. `results/blackout-20261122T171500Z`. Characters of
/// `scenario_name` that do not belong in a file name become `_`.
pub fn default_results_dir(scenario_name: &str, now: SystemTime) -> PathBuf {
    let name: String = scenario_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() || name.starts_with('.') {
        format!("run{name}")
    } else {
        name
    };
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    Path::new("results").join(format!("{name}-{stamp}"))
}

/// The temporary sibling results are written into before the rename.
fn tmp_dir(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(OsString::from)
        .unwrap_or_else(|| OsString::from("results"));
    name.push(format!(".tmp-{}", std::process::id()));
    dir.with_file_name(name)
}

fn parent_of(dir: &Path) -> &Path {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fails unless `dir` is absent or an empty directory.
fn check_target(dir: &Path) -> Result<(), ReportError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ReportError::Unwritable {
            path: dir.to_path_buf(),
            source,
        }),
        Ok(m) if !m.is_dir() => Err(ReportError::NotADirectory(dir.to_path_buf())),
        Ok(_) => {
            let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
            if entries.next().is_some() {
                Err(ReportError::NotEmpty(dir.to_path_buf()))
            } else {
                Ok(())
            }
        }
    }
}

fn mib(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// Before a run: can its results be written to `dir`? The parent must exist (a missing
/// `results/` directory is created) and be writable, and `dir` must not exist with content.
/// So a run fails before it starts, not after. Checks for [`MIN_FREE_BYTES`] of room; a run
/// that knows its size uses [`check_writable_with_room`].
pub fn check_writable(dir: &Path) -> Result<(), ReportError> {
    check_writable_with_room(dir, MIN_FREE_BYTES)
}

/// [`check_writable`], and at least `need` bytes free (see [`results_size_bound`]).
pub fn check_writable_with_room(dir: &Path, need: u64) -> Result<(), ReportError> {
    check_target(dir)?;
    let parent = parent_of(dir);
    if !parent.is_dir() {
        let is_results = parent.file_name().is_some_and(|n| n == "results");
        if is_results && parent_of(parent).is_dir() {
            fs::create_dir(parent).map_err(io_err(parent))?;
        } else {
            return Err(ReportError::NoParent(parent.to_path_buf()));
        }
    }
    // Probe with the very directory the writer will use; the error names `dir`, the
    // directory asked for, not the probe.
    let probe = tmp_dir(dir);
    let unwritable = |source| ReportError::Unwritable {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir(&probe).map_err(unwritable)?;
    fs::remove_dir(&probe).map_err(unwritable)?;
    check_free_space(parent, need)
}

/// The least free space any results directory needs: summary, run.json and the two reports
/// (report.html alone is 110-180 KB for the bundled scenarios), with room to spare.
pub const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Most bytes one `timeline.csv` row takes: 35 counters of up to 8 digits and their commas
/// (the bundled scenarios' rows average 97-113 bytes).
const TIMELINE_ROW_BYTES: u64 = 320;

/// Most bytes one interval of `histograms.hlog` takes, all operations together: about a dozen
/// tagged lines of compressed, base64 histogram (the bundled scenarios average 1.2-1.6 KB a
/// line).
const HLOG_INTERVAL_BYTES: u64 = 12 * 4096;

/// An upper bound on the size of a results directory with `timeline_rows` timeline rows and
/// `hlog_intervals` histogram intervals (both known before a run from its longest duration).
/// Measured against the bundled scenarios (tests/inputs.rs checks it against a real run):
/// blackout 1.9 MB, black-friday 3.1 MB, reboot-wave 2.0 MB, each under half its bound.
pub fn results_size_bound(timeline_rows: u64, hlog_intervals: u64) -> u64 {
    MIN_FREE_BYTES
        .saturating_add(timeline_rows.saturating_mul(TIMELINE_ROW_BYTES))
        .saturating_add(hlog_intervals.saturating_mul(HLOG_INTERVAL_BYTES))
}

/// Fails when the file system holding `dir` has less than `need` bytes available to this
/// user, so a full disk is found before a long run, not after it. Where free space cannot be
/// read, passes.
pub fn check_free_space(dir: &Path, need: u64) -> Result<(), ReportError> {
    room_for(dir, free_bytes(dir), need)
}

fn room_for(dir: &Path, free: Option<u64>, need: u64) -> Result<(), ReportError> {
    match free {
        Some(free) if free < need => Err(ReportError::DiskFull {
            path: dir.to_path_buf(),
            free,
            need,
        }),
        _ => Ok(()),
    }
}

/// Bytes available to an unprivileged user on the file system holding `dir` (`statvfs`).
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized, writable struct
    // that statvfs fills in; nothing is retained after the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

/// Write the results directory `dir` (absent or empty): `summary.json`, `run.json`,
/// `timeline.csv`, `latency.csv`, `histograms.hlog`, and `report.html` + `report.md` rendered
/// from them. Call [`Recorder::finish`] first.
pub fn write_results(
    dir: &Path,
    summary: &Summary,
    run: &RunInfo,
    recorder: &Recorder,
) -> Result<(), ReportError> {
    write_dir_atomically(dir, |tmp| write_files(tmp, summary, run, recorder))
}

/// Writes the directory `dir` (absent or empty) atomically: `fill` writes every file into the
/// temporary sibling, which is then renamed onto `dir`; on failure it is removed.
pub(crate) fn write_dir_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    check_target(dir)?;
    let tmp = tmp_dir(dir);
    if tmp.exists() {
        // Left by an earlier crash of a process with our pid.
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let written = fill(&tmp).and_then(|()| publish(&tmp, dir));
    if written.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    written
}

fn publish(tmp: &Path, dir: &Path) -> Result<(), ReportError> {
    match fs::rename(tmp, dir) {
        Ok(()) => Ok(()),
        // Some platforms will not rename onto an existing (empty) directory.
        Err(_) if dir.is_dir() && check_target(dir).is_ok() => {
            fs::remove_dir(dir).map_err(io_err(dir))?;
            fs::rename(tmp, dir).map_err(io_err(dir))
        }
        Err(e) => Err(io_err(dir)(e)),
    }
}

fn write_files(
    tmp: &Path,
    summary: &Summary,
    run: &RunInfo,
    recorder: &Recorder,
) -> Result<(), ReportError> {
    write_file(&tmp.join("summary.json"), |w| {
        w.write_all(summary.to_json().as_bytes())
    })?;
    write_file(&tmp.join("run.json"), |w| {
        w.write_all(run.to_json().as_bytes())
    })?;
    write_file(&tmp.join("timeline.csv"), |w| {
        write_timeline(w, recorder.timeline())
    })?;
    write_file(&tmp.join("latency.csv"), |w| {
        write_latency(w, |op| recorder.latency(op))
    })?;
    let hlog = tmp.join("histograms.hlog");
    write_file(&hlog, |w| write_hlog(w, summary, recorder))?;
    render_reports(tmp)
}

/// report.html and report.md, rendered from the files just written into `tmp`: the same path
/// `fleetsim report DIR` takes, so both give the same bytes.
pub(crate) fn render_reports(tmp: &Path) -> Result<(), ReportError> {
    super::page::write_reports_for_run(tmp).map_err(|e| ReportError::Encode {
        path: tmp.join(super::page::HTML_FILE),
        message: e.to_string(),
    })
}

pub(crate) fn write_file(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), ReportError> {
    let file = fs::File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::new(file);
    body(&mut w).and_then(|()| w.flush()).map_err(io_err(path))
}

/// Microseconds as decimal seconds, exactly, without trailing zeros: `1500000` → `1.5`.
pub(crate) fn fmt_secs(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:06}").trim_end_matches('0').to_string()
    }
}

/// Microseconds as milliseconds with exactly 3 decimals: `1234` → `1.234`.
pub(crate) fn fmt_ms(us: u64) -> String {
    format!("{}.{:03}", us / 1_000, us % 1_000)
}

const OP_COLUMNS: [&str; 5] = ["attempts", "ok", "throttled", "errors", "timeouts"];

/// The header of `timeline.csv`.
pub fn timeline_header() -> Vec<String> {
    let mut h: Vec<String> = ["t_s", "booted", "online", "ever_online", "in_flight"]
        .map(String::from)
        .into();
    for op in Op::ALL {
        h.extend(OP_COLUMNS.iter().map(|c| format!("{}.{c}", op.name())));
    }
    h
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

pub(crate) fn write_timeline(w: &mut impl Write, timeline: &Timeline) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(timeline_header()).map_err(csv_err)?;
    let mut rec: Vec<String> = Vec::with_capacity(5 + 5 * Op::ALL.len());
    for (i, row) in timeline.rows().iter().enumerate() {
        rec.clear();
        let l = &row.levels;
        rec.push(fmt_secs(timeline.row_start(i).as_micros()));
        rec.extend([l.booted, l.online, l.ever_online, l.in_flight].map(|n| n.to_string()));
        for c in &row.ops {
            rec.extend(
                [c.attempts, c.ok, c.throttled, c.errors, c.timeouts].map(|n| n.to_string()),
            );
        }
        out.write_record(&rec).map_err(csv_err)?;
    }
    out.flush()
}

/// `latency.csv` from each operation's whole-run histogram.
pub(crate) fn write_latency<'h>(
    w: &mut impl Write,
    latency: impl Fn(Op) -> Cow<'h, Histogram<u64>>,
) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "op", "count", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms",
    ])
    .map_err(csv_err)?;
    for op in Op::ALL {
        let h = latency(op);
        let mut rec = vec![op.name().to_string(), h.len().to_string()];
        if h.is_empty() {
            rec.extend(std::iter::repeat_n(String::new(), 6));
        } else {
            rec.extend([0.5, 0.9, 0.99, 0.999].map(|q| fmt_ms(h.value_at_quantile(q))));
            rec.push(fmt_ms(h.max()));
            rec.push(fmt_ms(h.mean().round() as u64));
        }
        out.write_record(&rec).map_err(csv_err)?;
    }
    out.flush()
}

/// One line of `histograms.hlog`.
pub(crate) struct HlogLine {
    pub tag: String,
    /// Simulated time since scenario start.
    pub start: Duration,
    pub duration: Duration,
    pub histogram: Histogram<u64>,
}

fn write_hlog(w: &mut impl Write, summary: &Summary, recorder: &Recorder) -> io::Result<()> {
    let end = recorder.end().map_or(0, |e| e.as_micros());
    // The first-online histogram first: one line over the whole run, always written (even
    // empty), so that start times never decrease down the file.
    let online_at = std::iter::once(Ok(HlogLine {
        tag: ONLINE_AT_TAG.to_string(),
        start: Duration::ZERO,
        duration: Duration::from_micros(end),
        histogram: recorder.online_at().clone(),
    }));
    // Then the engine's own whole-run histograms (live: generator lag, wire connect).
    let whole_run = recorder.whole_run().iter().map(move |(tag, h)| {
        Ok(HlogLine {
            tag: tag.clone(),
            start: Duration::ZERO,
            duration: Duration::from_micros(end),
            histogram: h.clone(),
        })
    });
    let online_at = online_at.chain(whole_run);
    let mut deserializer = Deserializer::new();
    let intervals = recorder.hlog_intervals().iter().map(move |e| {
        let h: Histogram<u64> = deserializer.deserialize(&mut &e.bytes[..]).map_err(|err| {
            io::Error::other(format!("re-reading an interval histogram: {err:?}"))
        })?;
        Ok(HlogLine {
            tag: e.op.name().to_string(),
            start: Duration::from_micros(e.start.as_micros()),
            duration: e.duration.into(),
            histogram: h,
        })
    });
    write_hlog_lines(w, summary, &[], online_at.chain(intervals))
}

/// `histograms.hlog`: the header (with `comments` added), then `lines` in order.
pub(crate) fn write_hlog_lines(
    w: &mut impl Write,
    summary: &Summary,
    comments: &[String],
    lines: impl IntoIterator<Item = io::Result<HlogLine>>,
) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(&format!(
            "fleetsim {} latency histograms, results format {}",
            env!("CARGO_PKG_VERSION"),
            crate::summary::FORMAT
        ))
        .add_comment(&format!(
            "scenario {} ({}), engine {}, seed {}",
            summary.scenario.name, summary.scenario.hash, summary.engine, summary.seed
        ));
    for c in comments {
        builder.add_comment(c);
    }
    let mut log = builder
        .add_comment("Tag = operation; values = latency of Ok answers in microseconds")
        .add_comment(&format!(
            "Tag = {ONLINE_AT_TAG}: when each device first came online, microseconds since scenario start"
        ))
        .add_comment(
            "timestamps = simulated seconds since scenario start (BaseTime 0, not wall-clock)",
        )
        .with_start_time(UNIX_EPOCH)
        .with_base_time(UNIX_EPOCH)
        .with_max_value_divisor(1_000.0)
        .begin_log_with(w, &mut serializer)?;
    for line in lines {
        let line = line?;
        log.write_histogram(
            &line.histogram,
            line.start,
            line.duration,
            Tag::new(&line.tag),
        )
        .map_err(|err| io::Error::other(err.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::summary::tests::{recorder, scenario};
    use crate::time::SimTime;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use std::collections::BTreeMap;

    fn inputs() -> (Summary, RunInfo, Recorder) {
        let rec = recorder();
        let model = serde_json::json!({"bottleneck": "hub.connect"});
        let summary = crate::results::build_summary(
            &scenario(),
            "virtual",
            &rec,
            "all_settled",
            SimTime::from_secs_f64(3.0),
            model,
        );
        let run = RunInfo::from_parts(
            UNIX_EPOCH,
            Duration::from_secs(1),
            100,
            4,
            [
                "fleetsim".to_string(),
                "run".into(),
                "--key".into(),
                "s3cret".into(),
            ],
            Some(1 << 20),
            Some("test-host".into()),
        );
        (summary, run, rec)
    }

    fn write(dir: &Path) -> Result<(), ReportError> {
        let (s, r, rec) = inputs();
        write_results(dir, &s, &r, &rec)
    }

    #[test]
    fn writes_every_file_and_leaves_no_tmp_dir() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run-1");
        write(&dir).unwrap();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut expected = FILES.map(String::from).to_vec();
        expected.sort();
        assert_eq!(names, expected);
        let siblings: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(siblings, [OsString::from("run-1")]);

        let run = fs::read_to_string(dir.join("run.json")).unwrap();
        assert!(!run.contains("s3cret") && run.ends_with("}\n"));
        let summary = fs::read_to_string(dir.join("summary.json")).unwrap();
        assert_eq!(summary, inputs().0.to_json());

        let timeline = fs::read_to_string(dir.join("timeline.csv")).unwrap();
        let mut lines = timeline.lines();
        let header = lines.next().unwrap();
        assert!(
            header
                .starts_with("t_s,booted,online,ever_online,in_flight,dps.status_lookup.attempts,")
        );
        assert!(header.contains("dps.register.throttled"));
        assert_eq!(header.split(',').count(), 5 + 5 * Op::ALL.len());
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 3, "3 s in 1 s buckets");
        assert!(rows[1].starts_with("1,4,"), "{}", rows[1]);

        let latency = fs::read_to_string(dir.join("latency.csv")).unwrap();
        let lines: Vec<&str> = latency.lines().collect();
        assert_eq!(
            lines[0],
            "op,count,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,mean_ms"
        );
        assert_eq!(lines.len(), 1 + Op::ALL.len());
        assert!(
            lines[2].starts_with("dps.register,3,2.235,3.235,"),
            "{}",
            lines[2]
        );
        assert_eq!(lines[1], "dps.status_lookup,0,,,,,,");
    }

    #[test]
    fn same_inputs_same_bytes_except_run_json() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        write(&a).unwrap();
        write(&b).unwrap();
        for f in FILES {
            assert_eq!(
                fs::read(a.join(f)).unwrap(),
                fs::read(b.join(f)).unwrap(),
                "{f}"
            );
        }
    }

    #[test]
    fn refuses_a_non_empty_directory_but_takes_an_empty_one() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs::create_dir(&dir).unwrap();
        write(&dir).unwrap();
        assert!(matches!(write(&dir), Err(ReportError::NotEmpty(_))));
        assert!(matches!(
            check_writable(&dir),
            Err(ReportError::NotEmpty(_))
        ));
        let file = root.path().join("f");
        fs::write(&file, "x").unwrap();
        assert!(matches!(write(&file), Err(ReportError::NotADirectory(_))));
        assert_eq!(
            fs::read_dir(root.path()).unwrap().count(),
            2,
            "no tmp dir left behind"
        );
    }

    #[test]
    fn room_is_refused_below_the_need_and_unknown_room_passes() {
        let d = Path::new("/data");
        let need = results_size_bound(20_000, 200);
        // The default-bucket bound: the timeline's 20,000 rows and ~200 hlog intervals.
        assert!((10 << 20..20 << 20).contains(&need), "{need}");
        match room_for(d, Some(need - 1), need) {
            Err(e @ ReportError::DiskFull { .. }) => {
                let m = e.to_string();
                assert!(m.contains("/data") && m.contains("MiB"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        room_for(d, Some(need), need).unwrap();
        room_for(d, None, need).unwrap();
        assert_eq!(results_size_bound(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn check_writable_creates_results_but_no_deeper_parent() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("results").join("x-20260101T000000Z");
        check_writable(&dir).unwrap();
        assert!(root.path().join("results").is_dir());
        assert!(!dir.exists());
        let deep = root.path().join("nope").join("x");
        assert!(matches!(
            check_writable(&deep),
            Err(ReportError::NoParent(_))
        ));
        assert!(!root.path().join("nope").exists());
    }

    #[test]
    fn hlog_parses_back_and_merges_to_the_totals() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("r");
        write(&dir).unwrap();
        let (_, _, rec) = inputs();
        let bytes = fs::read(dir.join("histograms.hlog")).unwrap();
        let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
        let mut d = Deserializer::new();
        let mut base = None;
        for entry in IntervalLogIterator::new(&bytes) {
            match entry.unwrap() {
                LogEntry::BaseTime(t) => base = Some(t),
                LogEntry::StartTime(_) => {}
                LogEntry::Interval(i) => {
                    assert_eq!(
                        i.start_timestamp(),
                        Duration::ZERO,
                        "simulated time, not wall-clock"
                    );
                    let raw = decode_base64(i.encoded_histogram());
                    let h: Histogram<u64> = d.deserialize(&mut &raw[..]).unwrap();
                    let tag = i.tag().unwrap().as_str().to_string();
                    merged
                        .entry(tag)
                        .or_insert_with(|| Histogram::new(3).unwrap())
                        .add(&h)
                        .unwrap();
                }
            }
        }
        assert_eq!(base, Some(Duration::ZERO));
        for op in Op::ALL {
            let total = rec.latency(op);
            match merged.get(op.name()) {
                Some(h) => assert_eq!(h, total.as_ref(), "{}", op.name()),
                None => assert!(total.is_empty(), "{}", op.name()),
            }
        }
        // Three operations with Ok answers, and the first-online times.
        assert_eq!(merged.len(), 4);
        assert_eq!(&merged[ONLINE_AT_TAG], rec.online_at());
        assert_eq!(rec.online_at().len(), 3);
    }

    /// Standard base64, enough for the test (the crate's own base64 is not a dependency here).
    fn decode_base64(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(val).collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let mut n = 0u32;
            for (i, &v) in chunk.iter().enumerate() {
                n |= u32::from(v) << (18 - 6 * i);
            }
            out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
        }
        out
    }

    #[test]
    fn default_dir_is_name_and_utc_stamp() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_367_700);
        assert_eq!(
            default_results_dir("blackout", now),
            Path::new("results/blackout-20261122T171500Z")
        );
        assert_eq!(
            default_results_dir("a b/c", now),
            Path::new("results/a_b_c-20261122T171500Z")
        );
    }

    #[test]
    fn formats_times_exactly() {
        assert_eq!(fmt_secs(0), "0");
        assert_eq!(fmt_secs(1_500_000), "1.5");
        assert_eq!(fmt_secs(3_000_001), "3.000001");
        assert_eq!(fmt_ms(1_234), "1.234");
        assert_eq!(fmt_ms(7), "0.007");
    }
}
