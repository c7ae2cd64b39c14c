//! An unmodified Azure IoT device SDK against `fleetsim mock`: the official Python SDK
//! (azure-iot-device, pinned in tests/sdk/requirements.txt and installed into target/sdk-venv
//! by .ci/sdk-setup.sh, which .ci/run calls) provisions through the mock's DPS over MQTT/TLS,
//! then connects to the hub it was assigned, sends telemetry at QoS 1, reads its twin and
//! patches its reported properties (tests/sdk/azure_python.py). The test checks what the SDK
//! saw (its JSON line) and what the mock counted (its stats line).
//!
//! The v2 SDK always connects to port 8883 (it has no port option), so the mock listens on
//! 127.0.0.1:8883 with `--tls-self-signed` (its certificate covers `localhost`), and the tests
//! here take turns on that port. Loopback only.

// Child processes on the wall clock: the bounds need Instant.
#![allow(clippy::disallowed_methods)]

mod common;

use common::mock::{MockProcess, counter, mock};
use common::process::Spawned;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reference §3 test vector group key.
const GROUP_KEY: &str =
    "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";
/// A valid group key (base64 of 32 bytes) that is not the mock's.
const WRONG_GROUP_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const SCOPE: &str = "0ne00111111";
/// The SDK's only MQTT port (azure/iot/device/common/mqtt_transport.py: `port=8883`).
const PORT: u16 = 8883;
/// Telemetry messages the device sends.
const MESSAGES: u64 = 5;
/// The script's own watchdog (a passing run takes ~3 s: DPS's fixed 2 s wait before the SDK's
/// first poll is most of it), and a little more for the test's kill.
const SCRIPT_WATCHDOG_S: u64 = 30;
const SCRIPT_LIMIT: Duration = Duration::from_secs(SCRIPT_WATCHDOG_S + 5);

/// DPS answers at once, so the SDK polls once after `retry-after` (1 s); the hub keeps the
/// scenario defaults (S1, one unit: far above one device's traffic).
const SCENARIO: &str = "[scenario]\nname = \"sdk\"\n[fleet]\ndevices = 1\n\
    [dps]\nlatency = \"5ms\"\nassignment_time = \"10ms\"\nretry_after = \"1s\"\n";

/// Both tests need port 8883: one at a time.
static PORT_8883: Mutex<()> = Mutex::new(());

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's interpreter, or a failure that says how to make it. The venv must hold exactly
/// the pinned requirements (.ci/sdk-setup.sh leaves a copy of them in it).
fn venv_python() -> PathBuf {
    let venv = repo().join(std::env::var("SDK_VENV").unwrap_or_else(|_| "target/sdk-venv".into()));
    let python = venv.join("bin/python");
    let setup = "run `bash .ci/run` (the CI command; it installs Debian's python3-venv package) \
        or just `bash .ci/sdk-setup.sh` (needs python3-venv)";
    assert!(
        python.exists(),
        "{} is missing: the Azure IoT Python SDK is not installed; {setup}",
        python.display()
    );
    let want = std::fs::read_to_string(repo().join("tests/sdk/requirements.txt")).unwrap();
    let have = std::fs::read_to_string(venv.join(".fleetsim-requirements")).unwrap_or_default();
    assert!(
        want == have,
        "{} does not hold tests/sdk/requirements.txt's packages; {setup}",
        venv.display()
    );
    python
}

/// The pinned SDK version, from tests/sdk/requirements.txt.
fn pinned_sdk() -> String {
    let req = std::fs::read_to_string(repo().join("tests/sdk/requirements.txt")).unwrap();
    let v = req
        .lines()
        .find_map(|l| l.strip_prefix("azure-iot-device=="))
        .expect("azure-iot-device pinned");
    format!("azure-iot-device {}", v.trim())
}

/// `fleetsim mock` on 127.0.0.1:8883 with TLS and a stats line every second.
struct Mock {
    process: MockProcess,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mock {
    fn start() -> Mock {
        if let Err(e) = TcpListener::bind(("127.0.0.1", PORT)) {
            panic!(
                "127.0.0.1:{PORT} is taken ({e}): the Azure IoT Python SDK v2 only connects to \
                 port {PORT}, so this test needs it free; stop whatever listens there \
                 (`ss -ltnp 'sport = :{PORT}'`)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let sc = dir.path().join("sdk.toml");
        std::fs::write(&sc, SCENARIO).unwrap();
        let certs = dir.path().join("certs");
        let process = mock()
            .args(["--listen", &format!("127.0.0.1:{PORT}")])
            .args(["--id-scope", SCOPE, "--hub-hostname", "localhost"])
            .args(["--stats-every", "1", "--threads", "2"])
            .arg("--tls-self-signed")
            .arg(&certs)
            .arg("--scenario")
            .arg(&sc)
            .env("FLEETSIM_GROUP_KEY", GROUP_KEY)
            .start();
        assert!(process.tls(), "{}", process.output());
        assert_eq!(
            process.addr(),
            SocketAddr::from(([127, 0, 0, 1], PORT)),
            "{}",
            process.output()
        );
        Mock {
            process,
            ca: certs.join("ca.pem"),
            _dir: dir,
        }
    }

    /// The first stats line printed from now on that shows no open connection (the SDK has
    /// disconnected and the mock has closed its side); after 5 s, the latest one.
    fn settled_stats(&self) -> String {
        let seen = self.process.stats_lines().len();
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let late = Instant::now() > end;
            match self.process.stats_lines().into_iter().skip(seen).last() {
                Some(l) if late || counter(&l, "open ") == 0 => return l,
                None if late => panic!(
                    "no stats line from the mock in 5 s:\n{}",
                    self.process.output()
                ),
                _ => {}
            }
        }
    }
}

/// What one run of the script gave.
struct Run {
    status: ExitStatus,
    json: Value,
    stderr: String,
    took: Duration,
}

impl Run {
    /// The failure context: the JSON line and the SDK's log (paho's packet log included).
    fn context(&self, mock: &Mock) -> String {
        format!(
            "exit {}; result: {}\n--- SDK log (stderr) ---\n{}\n{}",
            self.status,
            self.json,
            self.stderr,
            mock.process.output()
        )
    }
}

/// Runs tests/sdk/azure_python.py for `registration_id` with `group_key` (and `extra`
/// arguments), within SCRIPT_LIMIT.
fn run_sdk(
    python: &Path,
    mock: &Mock,
    group_key: &str,
    registration_id: &str,
    extra: &[&str],
) -> Run {
    let t0 = Instant::now();
    let mut cmd = Command::new(python);
    cmd.arg(repo().join("tests/sdk/azure_python.py"))
        .args(["--host", "localhost", "--ca"])
        .arg(&mock.ca)
        .args(["--scope", SCOPE, "--registration-id", registration_id])
        .args(["--messages", &MESSAGES.to_string()])
        .args(["--timeout", &SCRIPT_WATCHDOG_S.to_string()])
        .args(extra)
        .env("FLEETSIM_GROUP_KEY", group_key)
        .env("PYTHONNOUSERSITE", "1")
        .env_remove("PYTHONPATH");
    let mut script = Spawned::spawn(cmd);
    let Some(status) = script.wait_within(SCRIPT_LIMIT) else {
        panic!(
            "the SDK script outlived its watchdog ({SCRIPT_LIMIT:?}):\n{}",
            script.output()
        );
    };
    let took = t0.elapsed();
    let (stdout, stderr) = script.finish();
    let json = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!("no JSON line from the SDK script (exit {status}):\n{stdout}\n{stderr}")
        });
    Run {
        status,
        json,
        stderr,
        took,
    }
}

#[test]
fn azure_python_sdk_provisions_sends_and_uses_its_twin() {
    let python = venv_python();
    let _port = PORT_8883.lock().unwrap_or_else(|e| e.into_inner());
    let mock = Mock::start();
    let id = "sdk-py-device-1";
    let r = run_sdk(&python, &mock, GROUP_KEY, id, &[]);
    let j = &r.json;
    let ctx = || r.context(&mock);
    assert!(r.status.success() && j["ok"] == true, "{}", ctx());
    assert_eq!(j["sdk"], pinned_sdk().as_str(), "{}", ctx());

    // DPS (reference §1c): assigned, to the hub the mock names, as the registration id
    // (group enrollment: reference §1g), on the first assignment.
    let reg = &j["register"];
    assert_eq!(reg["status"], "assigned", "{}", ctx());
    assert_eq!(reg["assigned_hub"], "localhost", "{}", ctx());
    assert_eq!(reg["device_id"], id, "{}", ctx());
    assert_eq!(reg["sub_status"], "initialAssignment", "{}", ctx());
    assert!(
        reg["operation_id"].as_str().is_some_and(|o| !o.is_empty()),
        "{}",
        ctx()
    );

    // Hub (reference §2b): every send_message() returned, i.e. each PUBACK came.
    assert_eq!(j["messages_acked"], MESSAGES, "{}", ctx());

    // Twin (reference §2d): GET, reported PATCH (204 with a new $version), GET shows it.
    let twin = &j["twin"];
    assert!(twin["desired_version"].is_u64(), "{}", ctx());
    let before = twin["reported_version_before"].as_u64().expect("$version");
    let after = twin["reported_version_after"].as_u64().expect("$version");
    assert!(
        after > before,
        "reported $version {before} -> {after}; {}",
        ctx()
    );
    assert_eq!(twin["patch_round_trip"], true, "{}", ctx());
    assert_eq!(
        j["twin_after"]["reported"]["sdk_probe"]["messages"],
        MESSAGES,
        "{}",
        ctx()
    );

    // The mock saw the same: one device through DPS, one hub session, N messages, three twin
    // operations, nothing refused, nothing malformed, everything closed.
    let s = mock.settled_stats();
    let expect = [
        ("open ", 0),
        ("dps: sessions ", 1),
        ("assigned ", 1),
        ("hub: sessions ", 1),
        ("telemetry ", MESSAGES),
        ("twin ", 3),
    ];
    for (label, want) in expect {
        assert_eq!(counter(&s, label), want, "mock counter `{label}`: {s}");
    }
    assert!(counter(&s, "register ") >= 1, "{s}");
    for part in [
        &format!("telemetry {MESSAGES} (closed by shaping/quota 0)"),
        "twin 3 (429 0)",
        "refused: auth 0 throttled 0 quota 0",
        "closed: malformed 0 idle 0 replaced 0 tls 0",
    ] {
        assert!(
            s.contains(part),
            "the mock's stats say otherwise than `{part}`: {s}"
        );
    }
    eprintln!(
        "{} against fleetsim mock: assigned to {} as {}, {MESSAGES} messages acked, twin \
         reported $version {before} -> {after}; SDK timings {}; script {:.2} s\n{s}",
        j["sdk"],
        reg["assigned_hub"],
        reg["device_id"],
        j["timings"],
        r.took.as_secs_f64()
    );
}

#[test]
fn azure_python_sdk_with_a_wrong_group_key_is_refused_at_dps() {
    let python = venv_python();
    let _port = PORT_8883.lock().unwrap_or_else(|e| e.into_inner());
    let mock = Mock::start();
    let r = run_sdk(&python, &mock, WRONG_GROUP_KEY, "sdk-py-wrong-key", &[]);
    let j = &r.json;
    let ctx = || r.context(&mock);
    // The script reports the SDK's failure: exit 1 (not the watchdog's 3), at register().
    assert_eq!(r.status.code(), Some(1), "{}", ctx());
    assert_eq!(j["ok"], false, "{}", ctx());
    assert_eq!(j["stage"], "register", "{}", ctx());
    // DPS over MQTT refuses at CONNECT (reference §1b, §2g): CONNACK 5, which the SDK maps to
    // UnauthorizedError → CredentialError, and does not retry.
    assert_eq!(j["error_type"], "CredentialError", "{}", ctx());
    let error = j["error"].as_str().unwrap_or_default();
    assert!(error.contains("UnauthorizedError"), "{}", ctx());
    assert!(
        r.stderr.contains("Received CONNACK (0, 5)"),
        "paho's log shows no CONNACK 5: {}",
        ctx()
    );
    assert!(j.get("register").is_none(), "{}", ctx());

    let s = mock.settled_stats();
    let expect = [
        ("open ", 0),
        ("dps: sessions ", 0),
        ("register ", 0),
        ("assigned ", 0),
        ("hub: sessions ", 0),
        ("telemetry ", 0),
    ];
    for (label, want) in expect {
        assert_eq!(counter(&s, label), want, "mock counter `{label}`: {s}");
    }
    assert!(counter(&s, "refused: auth ") >= 1, "{s}");
    assert!(
        s.contains("closed: malformed 0 idle 0 replaced 0 tls 0"),
        "{s}"
    );
    eprintln!(
        "wrong group key: {} at {} after {:.2} s\n{s}",
        j["error_type"],
        j["stage"],
        r.took.as_secs_f64()
    );
}

/// The SDK renews its SAS token by reconnecting (DISCONNECT, then CONNECT with a new token and
/// CleanSession=0, as every connect: reference §2a, §3) and does not SUBSCRIBE again: it
/// counts on the hub keeping a persistent session's subscriptions (MQTT 3.1.1 §3.1.2.4; IoT
/// Hub does, reference §2c). So after the renewal its `get_twin()` must still get an answer on
/// `$iothub/twin/res/#`.
#[test]
fn azure_python_sdk_keeps_its_twin_across_a_sas_renewal() {
    let python = venv_python();
    let _port = PORT_8883.lock().unwrap_or_else(|e| e.into_inner());
    let mock = Mock::start();
    // Renewal 3 s after connecting; a hang ends at the script's watchdog, 20 s.
    let extra = ["--renew-sas", "3", "--timeout", "20"];
    let r = run_sdk(&python, &mock, GROUP_KEY, "sdk-py-renew-1", &extra);
    let j = &r.json;
    let ctx = || r.context(&mock);
    assert_eq!(j["sas_renewed"], true, "{}", ctx());
    assert!(r.status.success() && j["ok"] == true, "{}", ctx());
    let after = &j["after_renewal"];
    assert_eq!(after["messages_acked"], 1, "{}", ctx());
    assert_eq!(after["patch_still_there"], true, "{}", ctx());
    assert_eq!(
        after["reported_version"],
        j["twin"]["reported_version_after"],
        "{}",
        ctx()
    );

    let s = mock.settled_stats();
    let expect = [
        ("open ", 0),
        ("hub: sessions ", 2),
        ("telemetry ", MESSAGES + 1),
        ("twin ", 4),
    ];
    for (label, want) in expect {
        assert_eq!(counter(&s, label), want, "mock counter `{label}`: {s}");
    }
    assert!(s.contains("refused: auth 0 throttled 0 quota 0"), "{s}");
    assert!(
        s.contains("closed: malformed 0 idle 0 replaced 0 tls 0"),
        "{s}"
    );
}
