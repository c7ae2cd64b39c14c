//! Helpers shared by the integration tests that drive the `fleetsim` binary. Each test binary
//! uses a different subset, hence the allow.
#![allow(dead_code)]

pub mod device;
pub mod keys;
pub mod mock;
pub mod process;

use assert_cmd::cargo::cargo_bin_cmd;
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A shipped scenario by name: `scenarios/NAME.toml`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"))
}

/// Runs `fleetsim ARGS` in `cwd`.
pub fn fleetsim(cwd: &Path, args: &[&str]) -> Output {
    cargo_bin_cmd!("fleetsim")
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("fleetsim runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, and that nothing panicked; returns stderr.
pub fn assert_exit(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "expected exit {code}\n--- stdout ---\n{}\n--- stderr ---\n{err}",
        stdout(o),
    );
    assert!(!err.contains("panicked"), "fleetsim panicked:\n{err}");
    err
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every interval of a `histograms.hlog`: (tag, start in ms) → histogram.
pub fn hlog(dir: &Path) -> BTreeMap<(String, u128), Histogram<u64>> {
    let bytes = std::fs::read(dir.join("histograms.hlog")).unwrap();
    let mut d = Deserializer::new();
    let mut out = BTreeMap::new();
    for e in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(i) = e.unwrap() {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(i.encoded_histogram())
                .unwrap();
            let h: Histogram<u64> = d.deserialize(&mut &raw[..]).unwrap();
            let key = (
                i.tag().unwrap().as_str().to_string(),
                i.start_timestamp().as_millis(),
            );
            assert!(out.insert(key, h).is_none(), "one line per tag and start");
        }
    }
    out
}

/// The sum of every interval of `tag` over the given logs.
pub fn total(logs: &[&BTreeMap<(String, u128), Histogram<u64>>], tag: &str) -> Histogram<u64> {
    let mut t = Histogram::<u64>::new(3).unwrap();
    for l in logs {
        for ((tg, _), h) in l.iter() {
            if tg == tag {
                t.add(h).unwrap();
            }
        }
    }
    t
}
