//! Writing the results directory, atomically: everything goes into a sibling temporary
//! directory `DIR.tmp-<pid>`, which is renamed onto `DIR` only when every file is written, so a
//! reader never sees a half-written results directory.
//!
//! The files' formats live beside it: `csv_files` (`timeline.csv`, `latency.csv`) and `hlog`
//! (`histograms.hlog`); `destination` names and checks the directory before a run,
//! `free_space` bounds its size against the disk, `error` says what went wrong.

mod csv_files;
mod destination;
mod error;
mod free_space;
mod hlog;

pub use csv_files::timeline_header;
pub(crate) use csv_files::{write_latency, write_timeline};
pub use destination::{check_writable, check_writable_with_room, default_results_dir};
pub use error::ReportError;
pub use free_space::{MIN_FREE_BYTES, check_free_space, results_size_bound};
pub(crate) use hlog::{HlogLine, write_hlog_lines};

use super::{RunInfo, Summary};
use crate::results::Recorder;
use destination::{check_target, tmp_dir};
use error::io_err;
use hlog::write_hlog;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Op;
    use crate::results::summary::tests::{recorder, scenario};
    use crate::time::SimTime;
    use std::ffi::OsString;
    use std::time::{Duration, UNIX_EPOCH};

    pub(super) fn inputs() -> (Summary, RunInfo, Recorder) {
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

    pub(super) fn write(dir: &Path) -> Result<(), ReportError> {
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
}
