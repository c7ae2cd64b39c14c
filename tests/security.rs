//! Security of what exists (issue #8, part 4): `fleetsim mock` and `fleetsim run`.
//!
//! - No group key, device key, token or signature appears in anything the mock prints or
//!   writes, whether the key comes from FLEETSIM_GROUP_KEY or --group-key-file, after a device
//!   provisions, connects and sends telemetry and a series of bad tokens is refused.
//! - A token signed for device A cannot connect as device B (DPS and hub: CONNACK 5).
//! - An expired token is refused; SAS tokens carry only an expiry (`se`), no start time, so
//!   "not yet valid" is not a state a SAS token can be in: what the reference does support is
//!   tested instead (5 minutes of clock skew tolerated on `se`, no more; an `se` that is not a
//!   number is refused).
//! - With TLS, a client that does not trust the mock's CA fails the handshake.
//! - Keys never come from argv: no command takes a key as a flag value, and run.json's command
//!   line redacts anything secret-looking.
//!
//! Real sockets on 127.0.0.1 only, every wait bounded, every process killed at the end of its
//! test (a guard with Drop).

// Real sockets and SAS expiry need the wall clock.
#![allow(clippy::disallowed_methods)]

mod common;
use common::keys::{self, unix_now};
use common::mock::{MockProcess, mock};
use common::*;
use fleetsim::protocol::dps::{DpsRequest, DpsResponseTopic, DpsUsername, OperationStatus};
use fleetsim::protocol::hub::HubUsername;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Incoming, MqttOptions, QoS,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::time::timeout;

/// A made-up 32-byte group key (base64), used only here.
const GROUP_KEY: &str = "q8Hn3vZ1u0mE4rT7yW2xL9cB6dF5gJ0kP3sA8hN1oQ4=";
const SCOPE: &str = "0ne00SEC001";
const HUB_HOST: &str = "localhost";
const LIMIT: Duration = Duration::from_secs(15);

fn device_key(id: &str) -> String {
    keys::device_key(GROUP_KEY, id)
}

fn dps_token(key: &str, id: &str, se: u64) -> String {
    keys::dps_token(key, SCOPE, id, se)
}

fn hub_token(key: &str, id: &str, se: u64) -> String {
    keys::hub_token(key, HUB_HOST, id, se)
}

// ---- a `fleetsim mock` process ----

/// `fleetsim mock --listen 127.0.0.1:0 ARGS` in `cwd` with `env` (nothing else: no
/// FLEETSIM_GROUP_KEY unless `env` has it), stats every second.
fn start_mock(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> MockProcess {
    let mut m = mock()
        .current_dir(cwd)
        .args(["--listen", "127.0.0.1:0", "--id-scope", SCOPE])
        .args([
            "--hub-hostname",
            HUB_HOST,
            "--stats-every",
            "1",
            "--threads",
            "2",
        ])
        .args(args);
    for (k, v) in env {
        m = m.env(k, v);
    }
    m.start()
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    all
}

/// Asserts that none of `secrets` occurs in `text` (named `what`).
fn assert_no_secret(what: &str, text: &[u8], secrets: &[String]) {
    let text = String::from_utf8_lossy(text);
    for s in secrets {
        assert!(!s.is_empty());
        assert!(
            !text.contains(s.as_str()),
            "{what} contains key material {s:?}:\n{text}"
        );
    }
}

// ---- MQTT clients ----

fn options(addr: SocketAddr, id: &str, user: String, pass: String) -> MqttOptions {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(10));
    o
}

/// Connects and waits for the CONNACK: Ok on 0, Err(code) on a refusal.
async fn connect(o: MqttOptions) -> Result<(AsyncClient, EventLoop), ConnectReturnCode> {
    let (c, mut ev) = AsyncClient::new(o, 16);
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("CONNACK in time") {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => return Ok((c, ev)),
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Err(e) => panic!("connect failed: {e:?}"),
        }
    }
}

async fn next_publish(ev: &mut EventLoop) -> rumqttc::Publish {
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("a packet in time") {
            Ok(Event::Incoming(Incoming::Publish(p))) => return p,
            Ok(_) => {}
            Err(e) => panic!("connection lost: {e:?}"),
        }
    }
}

/// Registers `id` through DPS with `token` and polls until assigned.
async fn provision(addr: SocketAddr, id: &str, token: String) -> OperationStatus {
    let o = options(addr, id, DpsUsername::format(SCOPE, id), token);
    let (c, mut ev) = connect(o).await.expect("DPS CONNACK 0");
    common::device::send_register(&c, id).await.unwrap();
    let p = next_publish(&mut ev).await;
    let t = DpsResponseTopic::parse(&p.topic).expect("a DPS response topic");
    assert_eq!(t.status, 202, "{}", p.topic);
    let s: OperationStatus = serde_json::from_slice(&p.payload).unwrap();
    // The mock's DPS latency and assignment time are the defaults (tens of ms to seconds).
    for n in 2..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let topic = DpsRequest::poll_topic(&n.to_string(), &s.operation_id);
        c.publish(topic, QoS::AtLeastOnce, false, " ")
            .await
            .unwrap();
        let p = next_publish(&mut ev).await;
        let t = DpsResponseTopic::parse(&p.topic).unwrap();
        if t.status == 200 {
            let _ = c.disconnect().await;
            return serde_json::from_slice(&p.payload).unwrap();
        }
        assert!(
            t.status == 202 || t.status == 429,
            "{}: {}",
            p.topic,
            String::from_utf8_lossy(&p.payload)
        );
    }
    panic!("{id} never assigned");
}

/// Connects to the hub as `id` and sends one message; waits for its PUBACK.
async fn telemetry(addr: SocketAddr, id: &str, token: String) {
    let o = options(addr, id, HubUsername::format(HUB_HOST, id), token);
    let (c, mut ev) = connect(o).await.expect("hub CONNACK 0");
    c.publish(
        format!("devices/{id}/messages/events/"),
        QoS::AtLeastOnce,
        false,
        "{\"t\":1}",
    )
    .await
    .unwrap();
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("PUBACK in time") {
            Ok(Event::Incoming(Incoming::PubAck(_))) => break,
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    let _ = c.disconnect().await;
}

/// The base64 signature inside a token, raw and as sent (URL-encoded).
fn signature_of(token: &str) -> Vec<String> {
    let sig = token
        .split(['&', ' '])
        .find_map(|kv| kv.strip_prefix("sig="))
        .expect("a sig field")
        .to_string();
    let raw = sig
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    vec![sig, raw]
}

/// Drives one device through the mock at `addr` and a series of bad tokens; returns every
/// secret it used (keys, tokens, signatures), to search the mock's outputs for.
async fn drive(addr: SocketAddr) -> Vec<String> {
    let (a, b) = ("sec-device-a", "sec-device-b");
    let (key_a, key_b) = (device_key(a), device_key(b));
    let later = unix_now() + 3600;
    let mut tokens = Vec::new();

    // The good path: provision A, connect A, send telemetry.
    let t = dps_token(&key_a, a, later);
    tokens.push(t.clone());
    let s = provision(addr, a, t).await;
    assert_eq!(s.status, "assigned");
    let t = hub_token(&key_a, a, later);
    tokens.push(t.clone());
    telemetry(addr, a, t).await;

    // Refused, each with CONNACK 5 (not authorized).
    let hub_user_a = HubUsername::format(HUB_HOST, a);
    let hub_user_b = HubUsername::format(HUB_HOST, b);
    let dps_user_a = DpsUsername::format(SCOPE, a);
    let dps_user_b = DpsUsername::format(SCOPE, b);
    let other_key = device_key("someone-else");
    let now = unix_now();
    let bad: Vec<(&str, String, String)> = vec![
        // A's valid token presented as B.
        (
            "hub: A's token as B",
            hub_user_b.clone(),
            hub_token(&key_a, a, later),
        ),
        (
            "dps: A's token as B",
            dps_user_b.clone(),
            dps_token(&key_a, a, later),
        ),
        // Signed with A's key over B's resource: the resource matches, the key does not.
        (
            "hub: B's resource, A's key",
            hub_user_b,
            hub_token(&key_a, b, later),
        ),
        (
            "dps: B's resource, A's key",
            dps_user_b,
            dps_token(&key_a, b, later),
        ),
        (
            "hub: another device's key",
            hub_user_a.clone(),
            hub_token(&other_key, a, later),
        ),
        (
            "hub: the group key itself",
            hub_user_a.clone(),
            hub_token(GROUP_KEY, a, later),
        ),
        (
            "dps: the group key itself",
            dps_user_a.clone(),
            dps_token(GROUP_KEY, a, later),
        ),
        (
            "hub: expired an hour ago",
            hub_user_a.clone(),
            hub_token(&key_a, a, now - 3600),
        ),
        (
            "dps: expired an hour ago",
            dps_user_a.clone(),
            dps_token(&key_a, a, now - 3600),
        ),
        // Past the 5 minutes of skew the reference tolerates.
        (
            "hub: expired 10 min ago",
            hub_user_a.clone(),
            hub_token(&key_a, a, now - 600),
        ),
        (
            "hub: se not a number",
            hub_user_a.clone(),
            hub_token(&key_a, a, later)
                .replace(&format!("se={later}"), "se=99999999999999999999999"),
        ),
        (
            "hub: se removed",
            hub_user_a.clone(),
            hub_token(&key_a, a, later).replace(&format!("&se={later}"), ""),
        ),
        ("hub: no token", hub_user_a.clone(), String::new()),
    ];
    for (what, user, pass) in &bad {
        if !pass.is_empty() {
            tokens.push(pass.clone());
        }
        let id = if user.contains(b) { b } else { a };
        let r = connect(options(addr, id, user.clone(), pass.clone())).await;
        assert_eq!(
            r.err(),
            Some(ConnectReturnCode::NotAuthorized),
            "{what} must be refused"
        );
    }
    // Within the skew the reference allows: accepted (a device whose clock runs behind).
    let t = hub_token(&key_a, a, now - 60);
    tokens.push(t.clone());
    telemetry(addr, a, t).await;

    let mut secrets = vec![GROUP_KEY.to_string(), key_a, key_b, other_key];
    for t in &tokens {
        secrets.extend(signature_of(t).into_iter().filter(|s| s.len() > 8));
        secrets.push(t.clone());
    }
    secrets
}

async fn drive_and_check(mock: MockProcess, cwd: &Path) {
    let secrets = drive(mock.addr()).await;
    // Let one counter line report the refusals, then stop.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (out, err) = tokio::task::spawn_blocking(move || mock.stop())
        .await
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_no_secret("the mock's stdout", out.as_bytes(), &secrets);
    assert_no_secret("the mock's stderr", err.as_bytes(), &secrets);
    for (path, bytes) in files_under(cwd) {
        assert_no_secret(&path.display().to_string(), &bytes, &secrets);
    }
    // The refusals were counted (13 bad tokens).
    let exit = out
        .lines()
        .find(|l| l.ends_with("(exit)"))
        .unwrap_or_else(|| panic!("no exit line:\n{out}"));
    assert!(exit.contains("refused: auth 13 "), "{exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_token_appears_in_the_mock_output_with_the_key_from_the_environment() {
    let cwd = TempDir::new().unwrap();
    let mock = start_mock(cwd.path(), &[], &[("FLEETSIM_GROUP_KEY", GROUP_KEY)]);
    drive_and_check(mock, cwd.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_token_appears_in_the_mock_output_with_the_key_from_a_file() {
    let cwd = TempDir::new().unwrap();
    // The key file lives outside the mock's working directory (whose files are searched).
    let keys = TempDir::new().unwrap();
    let file = keys.path().join("group.key");
    std::fs::write(&file, format!("{GROUP_KEY}\n")).unwrap();
    let mock = start_mock(
        cwd.path(),
        &["--group-key-file", file.to_str().unwrap()],
        &[],
    );
    drive_and_check(mock, cwd.path()).await;
}

/// A wrong key file is refused without echoing what it holds.
#[test]
fn a_bad_group_key_is_refused_without_echoing_it() {
    let cwd = TempDir::new().unwrap();
    let file = cwd.path().join("bad.key");
    // Base64 of 10 bytes: too short for DPS (16 to 64 bytes).
    let short = "c2hvcnRrZXkxMg==";
    std::fs::write(&file, short).unwrap();
    let o = fleetsim(
        cwd.path(),
        &[
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--group-key-file",
            file.to_str().unwrap(),
        ],
    );
    let err = assert_exit(&o, 2);
    assert!(err.contains("16 to 64"), "{err}");
    assert!(!err.contains(short), "{err}");
    let not_b64 = "this is !! not base64 but a secret";
    std::fs::write(&file, not_b64).unwrap();
    let o = fleetsim(
        cwd.path(),
        &[
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--group-key-file",
            file.to_str().unwrap(),
        ],
    );
    let err = assert_exit(&o, 2);
    assert!(err.contains("not valid base64"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

// ---- TLS ----

/// A rustls client trusting `roots`, handshaking with the mock as `localhost`.
async fn handshake(
    addr: SocketAddr,
    roots: tokio_rustls::rustls::RootCertStore,
) -> std::io::Result<()> {
    use tokio_rustls::TlsConnector;
    use tokio_rustls::rustls::ClientConfig;
    use tokio_rustls::rustls::pki_types::ServerName;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    timeout(LIMIT, TlsConnector::from(Arc::new(cfg)).connect(name, tcp))
        .await
        .expect("the handshake ends in time")
        .map(|_| ())
}

fn roots_from_pem(pem: &[u8]) -> tokio_rustls::rustls::RootCertStore {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pem) {
        roots.add(c.unwrap()).unwrap();
    }
    roots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_refuses_a_client_that_does_not_trust_the_mock_ca() {
    let cwd = TempDir::new().unwrap();
    let mock = start_mock(
        cwd.path(),
        &["--tls-self-signed", "tls"],
        &[("FLEETSIM_GROUP_KEY", GROUP_KEY)],
    );
    let ca = std::fs::read(cwd.path().join("tls/ca.pem")).unwrap();

    // No roots at all.
    let r = handshake(mock.addr(), tokio_rustls::rustls::RootCertStore::empty()).await;
    let e = r.expect_err("a client with no roots must not complete the handshake");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // Another CA.
    let other = {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let k = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&k).unwrap().pem()
    };
    let r = handshake(mock.addr(), roots_from_pem(other.as_bytes())).await;
    assert!(
        r.is_err(),
        "a client trusting another CA must not complete the handshake"
    );
    // The mock's own CA: accepted, and a device connects over it.
    handshake(mock.addr(), roots_from_pem(&ca))
        .await
        .expect("a client trusting the mock's CA completes the handshake");

    // The files it wrote hold certificates only: no private key, no key material.
    let written = files_under(&cwd.path().join("tls"));
    let names: Vec<String> = written
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"ca.pem".to_string()), "{names:?}");
    for (path, bytes) in &written {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("PRIVATE KEY"),
            "{} holds a private key",
            path.display()
        );
        assert!(!text.contains(GROUP_KEY), "{}", path.display());
    }
    let (out, err) = tokio::task::spawn_blocking(move || mock.stop())
        .await
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.contains(GROUP_KEY) && !err.contains(GROUP_KEY));
    // Both failed handshakes were counted as such, nothing else.
    let exit = out
        .lines()
        .find(|l| l.ends_with("(exit)"))
        .unwrap_or_default();
    assert!(exit.contains("tls 2 |"), "{exit}");
}

// ---- keys never from argv ----

/// No option of any command takes a key, token, password or secret as its value: only a file
/// holding one (`--group-key-file`, `--tls-key` is the path of a PEM private key).
#[test]
fn no_command_takes_a_secret_on_the_command_line() {
    let cwd = TempDir::new().unwrap();
    let o = fleetsim(cwd.path(), &["--help"]);
    assert_exit(&o, 0);
    let commands: Vec<String> = stdout(&o)
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.contains(&"mock".to_string()), "{commands:?}");
    assert!(commands.contains(&"run".to_string()), "{commands:?}");
    let secret_words = ["key", "token", "password", "secret", "signature", "sas"];
    // Options that name a file, whatever their name says.
    let paths = ["--tls-key"];
    for cmd in &commands {
        let o = fleetsim(cwd.path(), &[cmd, "--help"]);
        assert_exit(&o, 0);
        for line in stdout(&o).lines() {
            let Some(flag) = line.split_whitespace().find(|w| w.starts_with("--")) else {
                continue;
            };
            let flag = flag.trim_end_matches(',');
            let takes_value = line.contains('<');
            let secretish = flag
                .trim_start_matches('-')
                .split(['-', '_'])
                .any(|w| secret_words.contains(&w));
            if takes_value && secretish {
                assert!(
                    flag.ends_with("-file") || paths.contains(&flag),
                    "fleetsim {cmd}: {flag} takes a secret on the command line: {line}"
                );
            }
        }
    }
    // A key flag that does not exist is refused without echoing the value.
    let o = fleetsim(cwd.path(), &["mock", "--group-key", GROUP_KEY]);
    let err = assert_exit(&o, 2);
    assert!(!err.contains(GROUP_KEY), "{err}");
    let o = fleetsim(cwd.path(), &["mock", &format!("--group-key={GROUP_KEY}")]);
    let err = assert_exit(&o, 2);
    assert!(!err.contains(GROUP_KEY), "{err}");
}

/// run.json records the command line with anything secret-looking replaced by `***`, and no
/// other result file repeats it.
#[test]
fn run_json_redacts_secret_looking_arguments() {
    let cwd = TempDir::new().unwrap();
    let dir = cwd.path().join("sig=SECRETSIG0123");
    std::fs::create_dir(&dir).unwrap();
    let out = dir.join("out");
    let junit = cwd.path().join("password=HUNTER2HUNTER2.xml");
    let o = fleetsim(
        cwd.path(),
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--set",
            "fleet.devices=100",
            "--out",
            out.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_exit(&o, 0);
    let run = read_json(&out.join("run.json"));
    let line: Vec<&str> = run["command_line"]
        .as_array()
        .expect("command_line is a list")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(line.contains(&"run"), "{line:?}");
    assert!(line.contains(&"fleet.devices=100"), "{line:?}");
    assert!(line.iter().any(|a| a.ends_with("sig=***")), "{line:?}");
    assert!(line.iter().any(|a| a.ends_with("password=***")), "{line:?}");
    let secrets = ["SECRETSIG0123".to_string(), "HUNTER2HUNTER2".to_string()];
    for (path, bytes) in files_under(&out) {
        assert_no_secret(&path.display().to_string(), &bytes, &secrets);
    }
    assert_no_secret("stdout", &o.stdout, &secrets);
    assert_no_secret("stderr", &o.stderr, &secrets);
}

/// The redaction rules themselves, on the forms a secret takes on a command line.
#[test]
fn redaction_covers_the_forms_a_secret_takes() {
    use fleetsim::report::redact_args;
    let r = |args: &[&str]| redact_args(args.iter().map(|s| s.to_string()));
    let secret = "c2VjcmV0LWtleS1tYXRlcmlhbA==";
    let cases: Vec<Vec<String>> = vec![
        vec!["--group-key".into(), secret.into()],
        vec![format!("--group-key={secret}")],
        vec![format!("--GROUP-KEY={secret}")],
        vec!["--sas-token".into(), secret.into()],
        vec!["--password".into(), secret.into()],
        vec!["--client-secret".into(), secret.into()],
        vec!["--set".into(), format!("dps.group_key={secret}")],
        vec!["--set".into(), format!("dps.group_key = {secret}")],
        vec![format!(
            "HostName=h.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey={secret}"
        )],
        vec![format!(
            "SharedAccessSignature sr=h%2Fdevices%2Fd&sig={secret}&se=1"
        )],
        vec![format!("mqtts://user:{secret}@dps.local:8883")],
        vec![format!("https://h.example/x?se=1&sig%3D{secret}")],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let red = r(&args);
        assert_eq!(red.len(), args.len());
        assert!(
            red.iter().all(|a| !a.contains(secret)),
            "{args:?} redacted to {red:?}"
        );
        assert!(red.iter().any(|a| a.contains("***")), "{red:?}");
    }
    // Ordinary arguments are kept as they are.
    let plain = [
        "fleetsim",
        "run",
        "scenarios/blackout.toml",
        "--set",
        "fleet.devices=10k",
        "--seed",
        "7",
        "--slo",
        "online.t99 < 30m",
        "--out",
        "results/x",
    ];
    assert_eq!(r(&plain), plain);
}
