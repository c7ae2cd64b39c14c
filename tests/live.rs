//! The live engine end to end, on loopback only (127.0.0.0/8), bounded in devices and time:
//! against the in-process mock, against `fleetsim mock` in another process (shards + merge,
//! and the mock killed mid-run), and against Debian's mosquitto in plain-mqtt mode.

// Real processes on the wall clock: deadlines need Instant.
#![allow(clippy::disallowed_methods)]

mod common;

use common::mock::{MockProcess, mock};
use common::process::{KillOnDrop as Guard, Spawned};
use common::{assert_exit, fleetsim, read_json, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live.toml")
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fleetsim"))
}

/// `fleetsim mock` on 127.0.0.1 (port chosen by the OS) with the live fixture's limits, with
/// `extra` arguments, run in `cwd` (for files it writes).
fn start_mock_args(key: &str, sets: &[&str], extra: &[&str], cwd: Option<&Path>) -> MockProcess {
    let mut m = mock()
        .args(["--listen", "127.0.0.1:0", "--stats-every", "3600"])
        .args(extra)
        .arg("--scenario")
        .arg(fixture())
        .args(sets.iter().flat_map(|s| ["--set", s]))
        .env("FLEETSIM_GROUP_KEY", key);
    if let Some(d) = cwd {
        m = m.current_dir(d);
    }
    m.start()
}

/// As [`start_mock_args`], with no extra arguments, in the test's directory.
fn start_mock(key: &str, sets: &[&str]) -> MockProcess {
    start_mock_args(key, sets, &[], None)
}

const KEY: &str =
    "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";

fn op<'a>(s: &'a Value, name: &str) -> &'a Value {
    &s["operations"][name]
}

fn count(s: &Value, name: &str, field: &str) -> u64 {
    op(s, name)[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}.{field}"))
}

#[test]
fn smoke_live_against_the_in_process_mock() {
    let tmp = tempfile::tempdir().unwrap();
    let o = fleetsim(
        tmp.path(),
        &[
            "run",
            fixture().to_str().unwrap(),
            "--engine",
            "live",
            // A 20-deep bucket at 20 registrations/s: the ~195 registering devices, booting
            // within 2 s, draw 429s unless their registrations spread over more than 8.75 s
            // (the fixture's 5 s bucket drew none once on a loaded machine).
            "--set",
            "dps.limits.burst=1s",
            "--out",
            "r",
        ],
    );
    assert_exit(&o, 0);
    let s = read_json(&tmp.path().join("r/summary.json"));
    assert_eq!(s["engine"], "live");
    assert_eq!(s["complete"], true);
    assert_eq!(s["stop_reason"], "all_settled");
    assert_eq!(s["devices"], 300);
    // Every device booted, connected and sent at least its first message.
    assert_eq!(count(&s, "device.boot_to_online", "ok"), 300);
    assert!(count(&s, "hub.connect", "ok") >= 300);
    assert!(
        count(&s, "hub.telemetry", "ok") > 300,
        "meters keep sending"
    );
    // The mock throttled some registrations; they retried.
    assert!(count(&s, "dps.register", "throttled") > 0);
    assert_eq!(count(&s, "dps.register", "ok"), count(&s, "dps.poll", "ok"));
    let live = &s["live"];
    assert_eq!(live["endpoint"], "in-process mock");
    let check = &live["telemetry_check"];
    assert_eq!(check["acked"], op(&s, "hub.telemetry")["ok"]);
    // Received also counts a message in flight when the run stopped (at most one a device).
    let (acked, received) = (
        check["acked"].as_u64().unwrap(),
        check["received"].as_u64().unwrap(),
    );
    assert!(received >= acked && received <= acked + 300, "{check}");
    assert_eq!(check["lost"], 0, "no gaps: {check}");
    assert_eq!(check["duplicates"], 0);
    assert_eq!(check["reordered"], 0);
    assert_eq!(live["connections"]["peak_open"], 300);
    assert!(live["generator_lag_ms"]["actions"].as_u64().unwrap() >= 300);
    // The same results directory as a virtual run.
    for f in fleetsim::report::FILES {
        assert!(tmp.path().join("r").join(f).is_file(), "{f}");
    }
    // The terminal and the report say what only a live run knows, in wall time.
    let printed = stdout(&o);
    assert!(!printed.contains("simulated"), "{printed}");
    assert!(!printed.contains("events/s"), "{printed}");
    let sent = check["acked"].as_u64().unwrap().to_string();
    for text in [
        printed.as_str(),
        &std::fs::read_to_string(tmp.path().join("r/report.md")).unwrap(),
    ] {
        for label in ["wire connect", "generator lag", "at most 300 open at once"] {
            assert!(text.contains(label), "{label}: {text}");
        }
        let line = text
            .lines()
            .find(|l| l.contains("telemetry check"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            line.contains("0 lost, 0 duplicated, 0 out of order"),
            "{line}"
        );
        assert!(
            line.replace(',', "")
                .contains(&format!("{sent} acknowledged")),
            "{line}"
        );
    }
    let md = std::fs::read_to_string(tmp.path().join("r/report.md")).unwrap();
    assert!(md.contains("## Live run"), "{md}");
    assert!(md.contains("of wall time"), "{md}");
}

/// Status lookups over HTTPS (reference §1f): the cameras look their registration up before
/// registering; the registered ones skip DPS registration. With the DPS limits opened up (no
/// 429s, so no count depends on timing) the live run makes exactly the lookups and the
/// registrations the virtual engine makes for the same scenario and seed.
#[test]
fn status_lookups_over_https_spare_registrations_as_in_the_virtual_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let sets = [
        "--set",
        "fleet.class[1].status_lookup=true",
        "--set",
        "dps.limits.burst=60s",
    ];
    let scenario = fixture();
    let run = |engine: &str, out: &str| {
        let mut args = vec!["run", scenario.to_str().unwrap(), "--engine", engine];
        args.extend_from_slice(&sets);
        args.extend_from_slice(&["--out", out]);
        fleetsim(tmp.path(), &args)
    };
    let live = run("live", "live");
    assert_exit(&live, 0);
    let virt = run("virtual", "virtual");
    assert_exit(&virt, 0);
    let l = read_json(&tmp.path().join("live/summary.json"));
    let v = read_json(&tmp.path().join("virtual/summary.json"));
    assert_eq!(count(&l, "device.boot_to_online", "ok"), 300);
    let lookups = count(&l, "dps.status_lookup", "ok");
    // Every camera (30 % of 300) looks up once per boot.
    assert!((80..=100).contains(&lookups), "{lookups}");
    assert_eq!(count(&l, "dps.status_lookup", "errors"), 0);
    for (op, field) in [
        ("dps.status_lookup", "attempts"),
        ("dps.status_lookup", "ok"),
        ("dps.register", "ok"),
        ("dps.poll", "ok"),
        ("hub.connect", "ok"),
    ] {
        assert_eq!(count(&l, op, field), count(&v, op, field), "{op}.{field}");
    }
    // The registered cameras (80 %) were spared registration: fewer registrations than the
    // same run without lookups.
    let without = fleetsim(
        tmp.path(),
        &[
            "run",
            fixture().to_str().unwrap(),
            "--set",
            "dps.limits.burst=60s",
            "--out",
            "without",
        ],
    );
    assert_exit(&without, 0);
    let w = read_json(&tmp.path().join("without/summary.json"));
    let spared = count(&w, "dps.register", "ok") - count(&l, "dps.register", "ok");
    assert!(
        spared * 10 >= lookups * 6,
        "{spared} spared by {lookups} lookups"
    );
    // Each lookup was a connection of its own, closed by the device.
    let c = &l["live"]["connections"];
    assert_eq!(c["failed"], 0, "{c}");
    assert_eq!(c["dropped"], 0, "{c}");
}

/// Against `fleetsim mock --https-listen` in another process: lookups go to `--dps-https`,
/// with SAS tokens derived from the group key. That mock knows only the registrations made to
/// it: on the first run every lookup finds nothing and every camera registers; on a second run
/// against the same mock every camera finds its registration and goes straight to its hub.
#[test]
fn status_lookups_go_to_the_dps_https_endpoint_given() {
    let tmp = tempfile::tempdir().unwrap();
    let mock = start_mock_args(
        KEY,
        &["dps.limits.burst=60s"],
        &["--https-listen", "127.0.0.1:0"],
        None,
    );
    let (mqtt, https) = (mock.addr().to_string(), mock.https_addr().to_string());
    let run = |out: &str| {
        let o = Command::new(bin())
            .current_dir(tmp.path())
            .args(["run", fixture().to_str().unwrap(), "--engine", "live"])
            .args(["--set", "fleet.class[1].status_lookup=true"])
            .args(["--dps", &mqtt, "--hub", &mqtt, "--dps-https", &https])
            .args(["--no-tls", "--out", out])
            .env("FLEETSIM_GROUP_KEY", KEY)
            .output()
            .unwrap();
        assert_exit(&o, 0);
        let s = read_json(&tmp.path().join(out).join("summary.json"));
        assert_eq!(count(&s, "device.boot_to_online", "ok"), 300);
        assert_eq!(count(&s, "dps.status_lookup", "errors"), 0);
        s
    };
    let first = run("first");
    let lookups = count(&first, "dps.status_lookup", "ok");
    // Every camera (30 % of 300) looks up once.
    assert!((80..=100).contains(&lookups), "{lookups}");
    let second = run("second");
    assert_eq!(count(&second, "dps.status_lookup", "ok"), lookups);
    assert_eq!(
        count(&second, "dps.register", "ok"),
        count(&first, "dps.register", "ok") - lookups,
        "the second run's cameras found their registrations"
    );
}

/// fleetsim's own TLS client verifies the server: against `fleetsim mock --tls-self-signed`
/// with `--ca` (the mock's CA) every device comes online over TLS, lookups (HTTPS) included;
/// without it (the system roots do not hold that CA) no connection completes, and the run
/// ends as `endpoint_lost`, every attempt counted as an error.
#[test]
fn live_tls_verifies_the_server_against_the_ca_given() {
    let tmp = tempfile::tempdir().unwrap();
    let mock = start_mock_args(
        KEY,
        &["dps.limits.burst=60s"],
        &["--tls-self-signed", "tls", "--https-listen", "127.0.0.1:0"],
        Some(tmp.path()),
    );
    assert!(mock.tls(), "the mock listens with TLS");
    let (addr, https) = (mock.addr().to_string(), mock.https_addr().to_string());
    let run = |extra: &[&str], out: &str| {
        Command::new(bin())
            .current_dir(tmp.path())
            .args(["run", fixture().to_str().unwrap(), "--engine", "live"])
            .args(["--set", "fleet.devices=60"])
            .args(["--set", "fleet.class[1].status_lookup=true"])
            .args(["--dps", &addr, "--hub", &addr, "--dps-https", &https])
            .args(extra)
            .args(["--out", out])
            .env("FLEETSIM_GROUP_KEY", KEY)
            .output()
            .unwrap()
    };
    let ok = run(&["--ca", "tls/ca.pem"], "trusted");
    assert_exit(&ok, 0);
    let s = read_json(&tmp.path().join("trusted/summary.json"));
    assert_eq!(count(&s, "device.boot_to_online", "ok"), 60);
    assert!(count(&s, "dps.status_lookup", "ok") > 0);
    assert_eq!(s["live"]["connections"]["failed"], 0);
    let refused = run(&["--endpoint-lost-after", "2s"], "untrusted");
    assert_exit(&refused, 3);
    let s = read_json(&tmp.path().join("untrusted/summary.json"));
    assert_eq!(s["stop_reason"], "endpoint_lost");
    assert_eq!(count(&s, "device.boot_to_online", "ok"), 0);
    assert_eq!(count(&s, "hub.connect", "ok"), 0);
    assert!(s["live"]["connections"]["failed"].as_u64().unwrap() >= 10);
}

#[test]
fn plain_mqtt_telemetry_to_mosquitto_is_counted_by_sequence() {
    let broker = ["/usr/sbin/mosquitto", "mosquitto"]
        .into_iter()
        .find(|b| Command::new(b).arg("-h").output().is_ok())
        .expect("mosquitto cannot run: install Debian's mosquitto package (`apt-get install mosquitto`, as .ci/run does)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n"),
    )
    .unwrap();
    let _broker = Guard(
        Command::new(broker)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait (at most 10 s: a bound for a hung broker) until the broker accepts connections.
    let addr = format!("127.0.0.1:{port}");
    let listening = (0..200).any(|_| {
        std::net::TcpStream::connect(&addr).is_ok() || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    assert!(listening, "mosquitto did not listen on {addr}");
    let o = fleetsim(
        tmp.path(),
        &[
            "run",
            fixture().to_str().unwrap(),
            "--engine",
            "live",
            "--hub-mode",
            "plain-mqtt",
            "--hub",
            &addr,
            "--out",
            "r",
        ],
    );
    assert_exit(&o, 0);
    let s = read_json(&tmp.path().join("r/summary.json"));
    assert_eq!(count(&s, "device.boot_to_online", "ok"), 300);
    let live = &s["live"];
    assert!(live["endpoint"].as_str().unwrap().starts_with("plain-mqtt"));
    let check = &live["telemetry_check"];
    let acked = check["acked"].as_u64().unwrap();
    assert!(acked > 300, "{check}");
    let received = check["received"].as_u64().unwrap();
    assert!(received >= acked && received <= acked + 300, "{check}");
    assert_eq!(check["lost"], 0, "{check}");
    assert_eq!(check["duplicates"], 0);
}

#[test]
fn two_shards_merged_count_what_one_process_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = fixture();
    let run = |mock: &str, extra: &[&str], out: &str| {
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--engine",
            "live",
            "--dps",
            mock,
            "--hub",
            mock,
            "--no-tls",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        Command::new(bin())
            .current_dir(tmp.path())
            .args(&args)
            .env("FLEETSIM_GROUP_KEY", KEY)
            .output()
            .unwrap()
    };
    // No 429s (the mocks enforce their own scenario's limits): with no retries, every count
    // is fixed by the fleet, not by timing.
    let m1 = start_mock(KEY, &["dps.limits.burst=60s"]);
    let m2 = start_mock(KEY, &["dps.limits.burst=60s"]);
    let (shards_mock, whole_mock) = (m1.addr().to_string(), m2.addr().to_string());
    // The two shards run at once, as two processes against one mock.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&shards_mock, &["--shard", "0/2"], "s0"));
        let b = s.spawn(|| run(&shards_mock, &["--shard", "1/2"], "s1"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_exit(&a, 0);
    assert_exit(&b, 0);
    let whole = run(&whole_mock, &[], "whole");
    assert_exit(&whole, 0);
    let s0 = read_json(&tmp.path().join("s0/summary.json"));
    assert_eq!(s0["shard"]["index"], 0);
    assert_eq!(s0["devices"], 150);
    let m = fleetsim(tmp.path(), &["merge", "s0", "s1", "--out", "merged"]);
    assert_exit(&m, 0);
    let merged = read_json(&tmp.path().join("merged/summary.json"));
    let one = read_json(&tmp.path().join("whole/summary.json"));
    assert_eq!(merged["devices"], one["devices"]);
    for name in [
        "dps.register",
        "dps.poll",
        "hub.connect",
        "device.boot_to_online",
    ] {
        for field in ["attempts", "ok", "throttled", "errors", "timeouts"] {
            assert_eq!(
                count(&merged, name, field),
                count(&one, name, field),
                "{name}.{field}"
            );
        }
    }
    assert_eq!(count(&one, "dps.register", "throttled"), 0);
    // Wire connect and generator lag percentiles are the whole fleet's: those of the shards'
    // histograms added together (not the larger of the two shards' figures).
    let logs = [
        common::hlog(&tmp.path().join("s0")),
        common::hlog(&tmp.path().join("s1")),
    ];
    let logs: Vec<_> = logs.iter().collect();
    for (tag, key) in [
        ("live.wire_connect", "wire_connect_ms"),
        ("live.generator_lag", "generator_lag_ms"),
    ] {
        let h = common::total(&logs, tag);
        assert!(h.len() >= 150, "{tag}: {}", h.len());
        let figures = &merged["live"][key];
        for (field, v) in [
            ("p50", h.value_at_quantile(0.5)),
            ("p99", h.value_at_quantile(0.99)),
            ("max", h.max()),
        ] {
            assert_eq!(
                figures[field].as_f64().unwrap(),
                v as f64 / 1000.0,
                "{key}.{field}"
            );
        }
        let in_merged = common::total(&[&common::hlog(&tmp.path().join("merged"))], tag);
        assert_eq!(in_merged, h, "{tag} in the merged histograms.hlog");
    }
}

#[test]
fn a_mock_killed_mid_run_leaves_complete_results_marked_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let mut mock = start_mock(KEY, &[]);
    let addr = mock.addr().to_string();
    let mut cmd = Command::new(bin());
    cmd.current_dir(tmp.path())
        .args([
            "run",
            fixture().to_str().unwrap(),
            "--engine",
            "live",
            "--dps",
            &addr,
            "--hub",
            &addr,
            "--no-tls",
            "--endpoint-lost-after",
            "2s",
            "--out",
            "r",
            // The late devices boot at 30 s: the run is still going when the mock dies.
            "--set",
            "fleet.class[2].boot_delay=30s",
        ])
        .env("FLEETSIM_GROUP_KEY", KEY);
    let mut run = Spawned::spawn(cmd);
    std::thread::sleep(Duration::from_secs(4));
    mock.kill();
    let status = run
        .wait_within(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the run did not stop\n{}", run.output()));
    assert_eq!(status.code(), Some(3));
    let dir = tmp.path().join("r");
    for f in fleetsim::report::FILES {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(s["complete"], false);
    assert_eq!(s["stop_reason"], "endpoint_lost");
    let errors: u64 = ["hub.connect", "hub.telemetry", "dps.register"]
        .iter()
        .map(|n| count(&s, n, "errors"))
        .sum();
    assert!(errors > 0, "the dead mock's refusals are counted as errors");
    assert!(s["live"]["connections"]["failed"].as_u64().unwrap() > 0);
    assert!(!s["live"]["warnings"].as_array().unwrap().is_empty());
    // No key material in anything the run wrote or printed.
    let device_key = fleetsim::protocol::sas::derive_device_key(KEY, "dev-0000001").unwrap();
    let mut out = String::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        out += &String::from_utf8_lossy(&std::fs::read(e.unwrap().path()).unwrap());
    }
    let (stdout, stderr) = run.finish();
    let printed = stdout + &stderr;
    for secret in [KEY, &KEY[..20], &device_key, &device_key[..20]] {
        assert!(!out.contains(secret), "results contain key material");
        assert!(!printed.contains(secret), "output contains key material");
    }
    assert!(!out.contains("SharedAccessSignature"));
}

#[test]
fn ctrl_c_stops_a_live_run_and_keeps_what_it_measured() {
    a_signal_stops_a_live_run_and_keeps_what_it_measured(libc::SIGINT);
}

#[test]
fn sigterm_stops_a_live_run_and_keeps_what_it_measured() {
    a_signal_stops_a_live_run_and_keeps_what_it_measured(libc::SIGTERM);
}

fn a_signal_stops_a_live_run_and_keeps_what_it_measured(signal: libc::c_int) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.current_dir(tmp.path())
        .args([
            "run",
            fixture().to_str().unwrap(),
            "--engine",
            "live",
            "--out",
            "r",
        ])
        // The late devices boot at 60 s: the run is still going when it is interrupted.
        .args(["--set", "fleet.class[2].boot_delay=60s"]);
    let mut run = Spawned::spawn(cmd);
    std::thread::sleep(Duration::from_secs(8));
    run.signal(signal);
    // 30 s: a bound for a run that ignores the signal, not a measurement.
    let status = run
        .wait_within(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the run did not stop\n{}", run.output()));
    assert_eq!(status.code(), Some(3));
    let s = read_json(&tmp.path().join("r/summary.json"));
    assert_eq!(s["complete"], false);
    assert_eq!(s["stop_reason"], "interrupted");
    // What happened before the signal is all there: the early devices (booted within 2 s)
    // came online; the 3 late ones had not booted.
    let online = count(&s, "device.boot_to_online", "ok");
    assert!((250..=297).contains(&online), "{online}");
    assert!(s["end_s"].as_f64().unwrap() < 30.0);
}

#[test]
fn too_few_descriptors_stops_before_the_run_and_suggests_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new("sh")
        .current_dir(tmp.path())
        .arg("-c")
        .arg(format!(
            "ulimit -n 1024 && exec '{}' run '{}' --engine live --set fleet.devices=2000 --out r",
            bin().display(),
            fixture().display()
        ))
        .output()
        .unwrap();
    let err = assert_exit(&o, 2);
    assert!(err.contains("open files"), "{err}");
    assert!(err.contains("--shard 0/"), "{err}");
    assert!(!tmp.path().join("r").exists(), "nothing ran");
    let _ = stderr(&o);
}

#[test]
fn live_options_need_the_live_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let o = fleetsim(
        tmp.path(),
        &["run", fixture().to_str().unwrap(), "--shard", "0/2"],
    );
    let err = assert_exit(&o, 2);
    assert!(
        err.contains("--shard") && err.contains("--engine live"),
        "{err}"
    );
    let o = fleetsim(
        tmp.path(),
        &[
            "run",
            fixture().to_str().unwrap(),
            "--dps-https",
            "127.0.0.1:1",
        ],
    );
    let err = assert_exit(&o, 2);
    assert!(err.contains("--dps-https"), "{err}");
    // The HTTPS endpoint belongs to a DPS given with --dps.
    let o = fleetsim(
        tmp.path(),
        &[
            "run",
            fixture().to_str().unwrap(),
            "--engine",
            "live",
            "--dps-https",
            "127.0.0.1:1",
        ],
    );
    let err = assert_exit(&o, 2);
    assert!(
        err.contains("--dps-https") && err.contains("--dps"),
        "{err}"
    );
}
