//! Nothing lost (issue #8, part 5), virtual engine: SIGINT or SIGTERM during `fleetsim run`
//! writes everything measured so far — the whole results directory, marked incomplete — and
//! exits 3, leaving no temporary directory; an interrupted `fleetsim plan` writes a plan marked
//! incomplete and exits 3; an unwritable results directory is reported before the run starts.
//!
//! Every child process is a tests/common/process.rs `Spawned`: its output collected, and it is
//! killed when its test ends, pass or fail.

// Bounds on real processes need the wall clock.
#![allow(clippy::disallowed_methods)]

mod common;
use common::process::Spawned;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `fleetsim ARGS` in `cwd`, as a [`Spawned`] (output collected, killed when dropped).
fn spawn(cwd: &Path, args: &[&str]) -> Spawned {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetsim"));
    cmd.current_dir(cwd).args(args);
    Spawned::spawn(cmd)
}

/// Waits until the process handles SIGINT and SIGTERM (its Ctrl-C handler is installed:
/// `SigCgt` in /proc/PID/status), then a little longer so the run is under way. Panics if it
/// exits first, or (a bound for a hung test) if the handler is not installed within 30 s.
fn wait_until_running(child: &mut Spawned) {
    let t0 = Instant::now();
    let wanted: u64 = (1 << (libc::SIGINT - 1)) | (1 << (libc::SIGTERM - 1));
    // Without /proc (not Linux), give it a generous second and a half instead.
    let proc_fs = Path::new("/proc/self/status").exists();
    if !proc_fs {
        std::thread::sleep(Duration::from_millis(1500));
    }
    loop {
        if !proc_fs {
            break;
        }
        if let Some(status) = child.try_wait() {
            panic!("fleetsim ended before it could be interrupted: {status}");
        }
        let status = fs::read_to_string(format!("/proc/{}/status", child.pid()));
        let caught = status.ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("SigCgt:"))?.to_string();
            u64::from_str_radix(line["SigCgt:".len()..].trim(), 16).ok()
        });
        if caught.is_some_and(|m| m & wanted == wanted) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "fleetsim never installed its signal handler"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().is_none(),
        "fleetsim finished before the signal: make the scenario longer"
    );
}

/// Waits (at most `limit`: a bound for a hung process) for the exit after a signal; returns
/// the status, stdout and stderr.
fn finish(mut child: Spawned, limit: Duration) -> (ExitStatus, String, String) {
    let Some(status) = child.wait_within(limit) else {
        panic!(
            "fleetsim did not exit within {limit:?} of the signal\n{}",
            child.output()
        );
    };
    let (out, err) = child.finish();
    (status, out, err)
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A blackout long enough to be interrupted: 300k devices run for several seconds in a debug
/// build (and still over a second in a release one).
const LONG: [&str; 2] = ["--set", "fleet.devices=300k"];

fn interrupted_run_writes_everything_and_exits_3(sig: i32) {
    let cwd = TempDir::new().unwrap();
    let out = cwd.path().join("out");
    let blackout = scenario("blackout");
    let mut args = vec![
        "run",
        blackout.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(LONG);
    args.push("--quiet");
    let mut child = spawn(cwd.path(), &args);
    wait_until_running(&mut child);
    child.signal(sig);
    let (status, stdout, stderr) = finish(child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(3), "{status}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stdout.is_empty(), "--quiet printed {stdout}");

    // The whole results directory, and nothing else: no temporary sibling left behind.
    let files: BTreeSet<String> = fleetsim::report::FILES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(listing(&out), files);
    assert_eq!(listing(cwd.path()), BTreeSet::from(["out".to_string()]));
    for f in fleetsim::report::FILES {
        let len = fs::metadata(out.join(f)).unwrap().len();
        assert!(len > 0, "{f} is empty");
    }
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], false);
    // It stopped at the signal: it did not finish the run first (that would be complete,
    // stopped for another reason).
    assert_eq!(s["stop_reason"], "interrupted");
    assert_eq!(s["devices"], 300_000);
    // What was measured before the signal is there.
    let attempts = s["operations"]["hub.connect"]["attempts"].as_u64().unwrap();
    assert!(attempts > 0, "nothing measured before the signal");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!report.is_empty());
    // And the run is usable: `fleetsim report` renders it again.
    let o = fleetsim(cwd.path(), &["report", out.to_str().unwrap()]);
    assert_exit(&o, 0);
}

#[test]
fn sigint_during_a_run_writes_everything_marked_incomplete_and_exits_3() {
    interrupted_run_writes_everything_and_exits_3(libc::SIGINT);
}

#[test]
fn sigterm_during_a_run_writes_everything_marked_incomplete_and_exits_3() {
    interrupted_run_writes_everything_and_exits_3(libc::SIGTERM);
}

#[test]
fn an_interrupted_plan_writes_a_plan_marked_incomplete_and_exits_3() {
    let cwd = TempDir::new().unwrap();
    let out = cwd.path().join("plan");
    let blackout = scenario("blackout");
    let mut child = spawn(
        cwd.path(),
        &[
            "plan",
            blackout.to_str().unwrap(),
            "--set",
            "fleet.devices=200k",
            "--goal",
            "online.t99 < 5h",
            "--sweep",
            "dps.instances=1..4",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    wait_until_running(&mut child);
    child.signal(libc::SIGINT);
    let (status, stdout, stderr) = finish(child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(3), "{status}\n{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    assert_eq!(
        listing(&out),
        BTreeSet::from(["plan.csv".to_string(), "plan.json".to_string()])
    );
    let p = read_json(&out.join("plan.json"));
    assert_eq!(p["complete"], false, "{p}");
    let statuses: Vec<&str> = p["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 4);
    // An interrupted run is not a failed goal: every instance count meets t99 < 5h when
    // its run finishes, so nothing may be reported as failing.
    assert!(
        statuses
            .iter()
            .all(|s| ["passed", "interrupted", "not_run"].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|s| *s != "passed"),
        "the plan finished before the signal: {statuses:?}"
    );
}

/// An --out that cannot be written is found before the run starts, with nothing written
/// anywhere: stdout stays empty (a run that ran first would print its header and its
/// `stopped at` line there).
#[test]
fn an_unwritable_out_is_reported_before_the_run_starts() {
    let cwd = TempDir::new().unwrap();
    let file = cwd.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let blackout = scenario("blackout");
    let mut outs = vec![file.join("out")];
    if Path::new("/proc/self").exists() {
        // Not writable even for root.
        outs.push(Path::new("/proc/fleetsim-nothing-lost").to_path_buf());
    }
    for out in outs {
        let mut args = vec![
            "run",
            blackout.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(LONG);
        let o = fleetsim(cwd.path(), &args);
        let err = assert_exit(&o, 2);
        assert!(err.contains(out.to_str().unwrap()), "{err}");
        assert!(err.contains("cannot write results"), "{err}");
        assert_eq!(stdout(&o), "", "the run ran before the check");
        assert!(!out.exists());
        assert_eq!(listing(cwd.path()), BTreeSet::from(["a-file".to_string()]));
    }
    // The same for plan: before any of its runs (a run would print its table row).
    let out = file.join("plan");
    let o = fleetsim(
        cwd.path(),
        &[
            "plan",
            blackout.to_str().unwrap(),
            "--set",
            "fleet.devices=300k",
            "--goal",
            "online.t99 < 5h",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = assert_exit(&o, 2);
    assert!(err.contains("--out"), "{err}");
    assert_eq!(stdout(&o), "", "a plan run ran before the check");
    assert!(!out.exists());
}
