//! The fuzz harnesses, one function per target, shared by the libFuzzer targets
//! (`fuzz_targets/*.rs`) and by the main crate's regression tests (`tests/fuzz_regressions.rs`
//! includes this file), so that a crashing input replays under `cargo test` exactly as it ran
//! under the fuzzer.
//!
//! Each harness panics on a finding: a panic anywhere below it, an arithmetic overflow (the
//! fuzz and test builds check overflow), a hang (bounded here by event counts or a paused
//! clock), or a broken invariant asserted here.

use bytes::BytesMut;
use fleetsim::mock::conn::{self, Role};
use fleetsim::mock::state::Shared;
use fleetsim::mock::stats::Snapshot;
use fleetsim::mock::{Auth, MockConfig};
use fleetsim::scenario::Scenario;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, Packet, Publish, Subscribe, Unsubscribe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The quota model walks every device (a 1M fleet takes a second even optimised): fleets up to
/// this size go through it, which reaches all of its code at a bounded cost per execution.
pub const MAX_MODEL_DEVICES: u64 = 20_000;
/// Fleets up to this size go through the virtual engine too.
pub const MAX_ENGINE_DEVICES: u64 = 200;
/// An engine run is stopped after this many events (the engine checks every 2^18): it bounds
/// one execution's time, and is not a finding by itself.
pub const MAX_ENGINE_EVENTS: u64 = 1 << 20;
/// Scenarios whose estimated telemetry alone is above this skip the engine (too slow per exec).
pub const ENGINE_BUDGET: u64 = 200_000;

/// Target `scenario`: the bytes are a scenario file, optionally followed by NUL-separated
/// `--set` arguments (at most 3). Loading must never panic; a loaded scenario also goes through
/// the lint, the quota model, and — if it is small — the virtual engine and the summary.
pub fn scenario(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let sets: Vec<String> = parts
        .take(3)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    match fleetsim::scenario::load_str(&text, "fuzz", &sets) {
        Err(e) => {
            let _ = e.render();
        }
        Ok(sc) => exercise(&sc),
    }
}

fn exercise(sc: &Scenario) {
    let _ = fleetsim::quota::lint::lint(sc);
    let _ = fleetsim::scenario::resolve::spec_hash(&sc.spec);
    if sc.fleet.devices > MAX_MODEL_DEVICES {
        return;
    }
    let model = fleetsim::quota::model::analyse(sc);
    if estimated_events(sc) > ENGINE_BUDGET {
        return;
    }
    let stop = AtomicBool::new(false);
    let engine = fleetsim::engine::virtual_time::VirtualEngine::new(sc);
    let mut last = None;
    let result = engine.run(
        |p| {
            // Each device has at most one pending event: 2^18 events at one instant from at
            // most 200 devices is an event loop that does not advance time (a hang).
            assert!(
                last != Some(p.now),
                "{} events without simulated time advancing past {:?}",
                p.events,
                p.now
            );
            last = Some(p.now);
            if p.events >= MAX_ENGINE_EVENTS {
                stop.store(true, Ordering::Relaxed);
            }
        },
        &stop,
    );
    let model_json = fleetsim::results::model_beside_measured(sc, &model, &result.recorder);
    let summary = fleetsim::results::build_summary(
        sc,
        "virtual",
        &result.recorder,
        result.stop.name(),
        result.end,
        model_json,
    );
    let _ = fleetsim::report::slo::evaluate_all(&sc.slo, &summary);
    let _ = serde_json::to_string(&summary);
}

/// A rough estimate of the engine's events, to skip heavy scenarios: each device boots,
/// provisions and connects a few times, then sends telemetry every interval. (Retries and
/// polls are not counted: the event cap bounds them.)
pub fn estimated_events(sc: &Scenario) -> u64 {
    let n = sc.fleet.devices;
    if n > MAX_ENGINE_DEVICES {
        return u64::MAX;
    }
    let run = sc.max_duration.as_micros();
    let mut per_device = 32u64;
    for c in &sc.fleet.classes {
        if c.telemetry == fleetsim::scenario::TelemetryMode::Continuous {
            let t = run / c.telemetry_interval.as_micros().max(1);
            per_device = per_device.max(32u64.saturating_add(t.saturating_mul(2)));
        }
    }
    n.saturating_mul(per_device)
}

/// Target `mock_conn`: bytes a client sends, through the mock's per-connection handling
/// (`fleetsim::mock::conn::serve`) on an in-memory pipe, with tokio's clock paused so that
/// timeouts and delayed replies pass at once.
///
/// Layout: `[flags, chunk, split (2 bytes, big-endian), stream...]`.
/// - `flags` bit 0: authenticate with a group key ([`GROUP_KEY`]) instead of any password;
///   bits 1–2: the listener's role (0, 3 both, 1 DPS, 2 Hub); bit 3: two connections sharing
///   the mock, the stream split at byte `split` (one device id connecting twice replaces the
///   first session); bits 4–5: the pause between pieces (none, 10 ms, 1 s, 30 s
///   of paused time: delayed replies fall due, timeouts fire mid-packet); bit 6: the bytes go
///   to the DPS HTTPS listener instead (`fleetsim::mock::https::serve`, the status lookup,
///   reference §1f).
/// - `chunk`: 0 writes the stream at once, else in pieces of `chunk` bytes.
///
/// After the client half closes, `serve` must return (within a day of paused time), the mock
/// must hold no hub session, and every byte the mock wrote must decode as MQTT packets (HTTPS:
/// begin with an HTTP status line).
/// Returns the mock's counters (for tests of the seeds).
pub fn mock_conn(data: &[u8]) -> Snapshot {
    let [flags, chunk, s0, s1, stream @ ..] = data else {
        return Snapshot::default();
    };
    let split = u16::from_be_bytes([*s0, *s1]) as usize;
    let role = match (flags >> 1) & 3 {
        _ if flags & 0x40 != 0 => Listener::Https,
        1 => Listener::Mqtt(Role::Dps),
        2 => Listener::Mqtt(Role::Hub),
        _ => Listener::Mqtt(Role::Both),
    };
    let gap = match (flags >> 4) & 3 {
        0 => None,
        1 => Some(Duration::from_millis(10)),
        2 => Some(Duration::from_secs(1)),
        _ => Some(Duration::from_secs(30)),
    };
    let streams: Vec<Vec<u8>> = if flags & 8 != 0 {
        let at = split.min(stream.len());
        vec![stream[..at].to_vec(), stream[at..].to_vec()]
    } else {
        vec![stream.to_vec()]
    };
    let shared = Shared::new(mock_config(flags & 1 != 0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    let chunk = *chunk as usize;
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for s in streams {
            set.spawn(one_connection(s, chunk, gap, shared.clone(), role));
        }
        let all = async {
            while let Some(r) = set.join_next().await {
                if let Err(e) = r {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(86_400), all)
            .await
            .expect("serve returned after the client closed");
    });
    assert!(
        shared.lock().sessions.is_empty(),
        "a hub session outlived its connection"
    );
    shared.stats.snapshot()
}

/// Which of the mock's listeners a harness connection reaches.
#[derive(Clone, Copy, Debug)]
enum Listener {
    Mqtt(Role),
    Https,
}

/// One client: writes `stream` (in pieces), closes its half, reads everything the mock sends
/// until the mock closes, and checks that it is well-formed MQTT (or HTTP).
async fn one_connection(
    stream: Vec<u8>,
    chunk: usize,
    gap: Option<Duration>,
    shared: Arc<Shared>,
    listener: Listener,
) {
    let (client, server) = tokio::io::duplex(4096);
    let (mut rd, mut wr) = tokio::io::split(client);
    let serve = match listener {
        Listener::Mqtt(role) => tokio::spawn(conn::serve(server, shared, role)),
        Listener::Https => tokio::spawn(fleetsim::mock::https::serve(server, shared)),
    };
    let writer = async move {
        let step = if chunk == 0 {
            stream.len().max(1)
        } else {
            chunk
        };
        for piece in stream.chunks(step) {
            if wr.write_all(piece).await.is_err() {
                return;
            }
            match gap {
                Some(d) => tokio::time::sleep(d).await,
                None => tokio::task::yield_now().await,
            }
        }
        let _ = wr.shutdown().await;
    };
    let reader = async move {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let ((), out) = tokio::join!(writer, reader);
    if let Err(e) = serve.await {
        std::panic::resume_unwind(e.into_panic());
    }
    match listener {
        Listener::Mqtt(_) => {
            decode_all(&out);
        }
        // hyper answers an HTTP/1.0 request in HTTP/1.0 (found by the fuzzer: the harness
        // first wanted 1.1 only).
        Listener::Https => assert!(
            out.is_empty() || out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 "),
            "not an HTTP reply: {:?}",
            String::from_utf8_lossy(&out[..out.len().min(64)])
        ),
    }
}

/// Reference §3 test vector group key: devices' keys derive from it in group-key mode.
pub const GROUP_KEY: &str =
    "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";
/// The mock's ID scope and hub host name in the harness.
pub const SCOPE: &str = "0ne00111111";
pub const HUB_HOST: &str = "localhost";
/// SAS expiry of the seed tokens: 2100-01-01, so that seeds stay valid.
pub const SEED_EXPIRY: u64 = 4_102_444_800;

fn base_scenario() -> &'static Scenario {
    static SC: OnceLock<Scenario> = OnceLock::new();
    SC.get_or_init(|| {
        // A small hub (connection throttle, shaping and a tiny daily quota are all reachable
        // within a few packets) and a fast DPS.
        let toml = "[scenario]\nname = \"fuzz\"\n[fleet]\ndevices = 1\n[dps]\nlatency = \"5ms\"\n\
                    assignment_time = \"10ms\"\nretry_after = \"1s\"\n\
                    limits = { registrations_per_min = 60, operations_per_min = 120 }\n\
                    [hub]\ncount = 2\nconnect_latency = \"1ms\"\ntelemetry_latency = \"1ms\"\n\
                    limits = { connects_per_s = 5, d2c_per_s = 10, messages_per_day = 50 }\n";
        fleetsim::scenario::load_str(toml, "fuzz", &[]).expect("the harness scenario loads")
    })
}

pub fn mock_config(group_key: bool) -> MockConfig {
    let mut c = MockConfig::new(base_scenario().clone());
    c.id_scope = SCOPE.into();
    c.hub_hostname = HUB_HOST.into();
    c.auth = if group_key {
        Auth::GroupKey(GROUP_KEY.into())
    } else {
        Auth::AllowAny
    };
    c.connect_timeout = Duration::from_secs(10);
    c
}

/// Encodes packets back to back.
pub fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut b = BytesMut::new();
    for p in packets {
        p.write(&mut b, 1 << 20).expect("a seed packet encodes");
    }
    b.to_vec()
}

/// Decodes a byte stream the mock wrote; panics if it is not whole, well-formed packets.
pub fn decode_all(bytes: &[u8]) -> Vec<Packet> {
    let mut b = BytesMut::from(bytes);
    let mut out = Vec::new();
    while !b.is_empty() {
        match Packet::read(&mut b, 1 << 20) {
            Ok(p) => out.push(p),
            Err(e) => panic!("the mock wrote a malformed packet: {e:?} in {bytes:02x?}"),
        }
    }
    out
}

fn connect_packet(user: String, pass: String, keep_alive: u16) -> Packet {
    let mut c = Connect::new("fuzz");
    c.keep_alive = keep_alive;
    c.set_login(user, pass);
    Packet::Connect(c)
}

fn publish(topic: &str, qos: QoS, pkid: u16, body: &[u8]) -> Packet {
    let mut p = Publish::new(topic, qos, body.to_vec());
    p.pkid = pkid;
    Packet::Publish(p)
}

/// A DPS CONNECT for `id`: a valid SAS token in group-key mode.
pub fn dps_connect(id: &str) -> Packet {
    connect_packet(
        fleetsim::protocol::dps::DpsUsername::format(SCOPE, id),
        dps_token(id),
        60,
    )
}

/// A valid DPS SAS token for `id` in group-key mode (MQTT password, HTTPS Authorization).
pub fn dps_token(id: &str) -> String {
    use fleetsim::protocol::sas;
    let key = sas::derive_device_key(GROUP_KEY, id).expect("key");
    sas::sign(
        &key,
        &sas::dps_resource(SCOPE, id),
        SEED_EXPIRY,
        Some("registration"),
    )
    .expect("token")
}

/// A hub CONNECT for `id`: a valid SAS token in group-key mode.
pub fn hub_connect(id: &str) -> Packet {
    use fleetsim::protocol::sas;
    let key = sas::derive_device_key(GROUP_KEY, id).expect("key");
    let token = sas::sign(
        &key,
        &sas::hub_resource(HUB_HOST, id, None),
        SEED_EXPIRY,
        None,
    )
    .expect("token");
    connect_packet(
        fleetsim::protocol::hub::HubUsername::format(HUB_HOST, id),
        token,
        60,
    )
}

/// A DPS session: CONNECT, SUBSCRIBE to the responses, register, poll twice, DISCONNECT.
pub fn dps_session(id: &str) -> Vec<Packet> {
    use fleetsim::protocol::dps::{DpsRequest, RESPONSE_FILTER};
    let body = format!(r#"{{"payload": null, "registrationId": "{id}"}}"#);
    // The mock's operation ids are `4.{device:x}.{seq:016x}`; the first device is 0.
    let op = "4.0.0000000000000001";
    vec![
        dps_connect(id),
        Packet::Subscribe(Subscribe::new(RESPONSE_FILTER, QoS::AtLeastOnce)),
        publish(
            &DpsRequest::register_topic("1"),
            QoS::AtLeastOnce,
            1,
            body.as_bytes(),
        ),
        publish(&DpsRequest::poll_topic("2", op), QoS::AtLeastOnce, 2, b" "),
        Packet::PingReq,
        publish(&DpsRequest::poll_topic("3", op), QoS::AtMostOnce, 0, b""),
        Packet::Disconnect,
    ]
}

/// A hub session: CONNECT, twin subscription, telemetry at QoS 0 and 1, twin GET and PATCH,
/// UNSUBSCRIBE, DISCONNECT.
pub fn hub_session(id: &str) -> Vec<Packet> {
    use fleetsim::protocol::hub::HubRequest;
    let mut sub = Subscribe::new("$iothub/twin/res/#", QoS::AtLeastOnce);
    sub.pkid = 1;
    let mut unsub = Unsubscribe::new("$iothub/twin/res/#");
    unsub.pkid = 7;
    vec![
        hub_connect(id),
        Packet::Subscribe(sub),
        publish(
            &HubRequest::telemetry_topic(id),
            QoS::AtLeastOnce,
            2,
            br#"{"t":21.5}"#,
        ),
        publish(
            &format!("devices/{id}/messages/events/$.ct=application%2Fjson&$.ce=utf-8"),
            QoS::AtMostOnce,
            0,
            b"{}",
        ),
        publish("$iothub/twin/GET/?$rid=4", QoS::AtMostOnce, 0, b""),
        publish(
            "$iothub/twin/PATCH/properties/reported/?$rid=5",
            QoS::AtLeastOnce,
            5,
            br#"{"fw":"1.2","nested":{"a":1,"b":null}}"#,
        ),
        Packet::PingReq,
        Packet::Unsubscribe(unsub),
        Packet::Disconnect,
    ]
}

/// The committed seeds of the `mock_conn` target: (file name, input).
pub fn mock_seeds() -> Vec<(String, Vec<u8>)> {
    let id = "fuzz-dev-1";
    let dps = encode(&dps_session(id));
    let hub = encode(&hub_session(id));
    let mut dps_no_disc = dps_session(id);
    dps_no_disc.pop();
    let dps_no_disc = encode(&dps_no_disc);
    let mut hub_no_disc = hub_session(id);
    hub_no_disc.pop();
    let hub_no_disc = encode(&hub_no_disc);
    // Telemetry beyond the daily quota of the harness hub (50): the connection is closed.
    let mut flood = vec![hub_connect(id)];
    for i in 0..60u16 {
        flood.push(publish(
            &fleetsim::protocol::hub::HubRequest::telemetry_topic(id),
            QoS::AtLeastOnce,
            i + 1,
            b"x",
        ));
    }
    let flood = encode(&flood);
    let two = |a: &[u8], b: &[u8]| {
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        (v, a.len() as u16)
    };
    let (dps_then_hub, at1) = two(&dps_no_disc, &hub);
    let (hub_twice, at2) = two(&hub_no_disc, &hub);
    let with = |flags: u8, chunk: u8, split: u16, s: &[u8]| {
        let mut v = vec![flags, chunk];
        v.extend_from_slice(&split.to_be_bytes());
        v.extend_from_slice(s);
        v
    };
    let mut out = vec![
        ("dps-any".into(), with(0, 0, 0, &dps)),
        ("dps-groupkey".into(), with(1, 0, 0, &dps)),
        ("dps-role-dps-chunked".into(), with(2, 7, 0, &dps)),
        ("dps-open".into(), with(1, 0, 0, &dps_no_disc)),
        ("hub-any".into(), with(0, 0, 0, &hub)),
        ("hub-groupkey".into(), with(1, 0, 0, &hub)),
        ("hub-role-hub-chunked".into(), with(4, 3, 0, &hub)),
        ("hub-open".into(), with(1, 0, 0, &hub_no_disc)),
        ("hub-quota".into(), with(0, 0, 0, &flood)),
        ("two-dps-then-hub".into(), with(9, 0, at1, &dps_then_hub)),
        (
            "two-hub-same-id".into(),
            with(8 | 0x10, 200, at2, &hub_twice),
        ),
        ("role-dps-hub-user".into(), with(2, 0, 0, &hub)),
        (
            "bad-first-byte".into(),
            with(0, 0, 0, b"GET / HTTP/1.1\r\n\r\n"),
        ),
        (
            "partial-connect".into(),
            with(0, 0, 0, &[0x10, 0xe8, 0x07, 0, 4, b'M', b'Q', b'T', b'T']),
        ),
        (
            "huge-length".into(),
            with(0, 0, 0, &[0x10, 0xff, 0xff, 0xff, 0x7f]),
        ),
    ];
    // Each seed once more with the CONNECT refused (wrong scope / no password in key mode).
    let mut bad = encode(&[connect_packet(
        fleetsim::protocol::dps::DpsUsername::format("0ne99999999", id),
        "SharedAccessSignature sr=x&sig=eA%3D%3D&se=1".into(),
        0,
    )]);
    bad.extend_from_slice(&encode(&[Packet::PingReq]));
    out.push(("dps-bad-scope".into(), with(1, 0, 0, &bad)));
    // DPS over HTTPS (flag 0x40): status lookups, keep-alive, a chunked body, a bad method.
    let lookup = |dev: &str, token: &str, body: &str| {
        format!(
            "POST /{SCOPE}/registrations/{dev}?api-version=2021-06-01 HTTP/1.1\r\n\
             Host: localhost\r\nAuthorization: {token}\r\n\
             Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let body = format!(r#"{{"registrationId":"{id}"}}"#);
    let token = dps_token(id);
    let two_lookups = lookup(id, &token, &body) + &lookup(id, &token, &body);
    let chunked = format!(
        "POST /{SCOPE}/registrations/{id} HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: {token}\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    out.extend([
        (
            "https-lookup-any".into(),
            with(0x40, 0, 0, lookup(id, "x", &body).as_bytes()),
        ),
        (
            "https-lookup-groupkey".into(),
            with(0x41, 0, 0, two_lookups.as_bytes()),
        ),
        (
            "https-lookup-chunked".into(),
            with(0x41, 9, 0, chunked.as_bytes()),
        ),
        (
            "https-get".into(),
            with(
                0x40,
                0,
                0,
                format!("GET /{SCOPE}/registrations/{id} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            ),
        ),
    ]);
    out
}

/// The committed seeds of the `scenario` target: the shipped scenarios, and small ones that
/// reach the virtual engine.
pub fn scenario_seeds(repo: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in ["smoke", "blackout", "black-friday", "reboot-wave"] {
        let p = repo.join("scenarios").join(format!("{name}.toml"));
        if let Ok(t) = std::fs::read(&p) {
            out.push((format!("shipped-{name}"), t));
        }
    }
    let small = "[scenario]\nname = \"s\"\n[run]\nmax_duration = \"30m\"\n[fleet]\ndevices = 50\n\
                 registered_share = 0.5\n[device]\ntelemetry = \"continuous\"\n\
                 telemetry_interval = \"5m\"\nretry = { initial = \"1s\", max = \"60s\", jitter = \"2s\" }\n\
                 [arrival]\nkind = \"burst\"\nwindow = \"60s\"\n\
                 [dps]\nlimits = { registrations_per_min = 10, operations_per_min = 20 }\n\
                 [hub]\nlimits = { connects_per_s = 2 }\n";
    out.push(("small-engine".into(), small.as_bytes().to_vec()));
    let classes = "[scenario]\nname = \"c\"\n[run]\nmax_duration = \"1h\"\nseed = 7\n\
                   [fleet]\ndevices = 120\ncached_assignment_share = 0.5\n\
                   [[fleet.class]]\nname = \"a\"\nshare = 0.5\nprovisioning = \"always\"\n\
                   [[fleet.class]]\nname = \"b\"\nshare = 0.5\ntelemetry = \"continuous\"\n\
                   telemetry_interval = \"10m\"\n[arrival]\nkind = \"ramp\"\nwindow = \"5m\"\n\
                   [slo]\n\"online.t99_s\" = \"< 30m\"\n\"operations.dps.register.throttle_rate\" = \"< 50%\"\n";
    out.push(("small-classes".into(), classes.as_bytes().to_vec()));
    let mut with_sets = small.as_bytes().to_vec();
    for s in ["fleet.devices=20", "hub.count=3", "dps.instances=2"] {
        with_sets.push(0);
        with_sets.extend_from_slice(s.as_bytes());
    }
    out.push(("small-with-sets".into(), with_sets));
    out.push(("empty".into(), Vec::new()));
    // Refusals: an unknown key (a near miss), a bad duration, a bad --set, huge numbers.
    let bad = [
        (
            "bad-unknown-key",
            "[scenario]\nname = \"b\"\n[fleet]\ndevics = 10\n",
        ),
        (
            "bad-duration",
            "[scenario]\nname = \"b\"\n[run]\nmax_duration = \"-5m\"\n[fleet]\ndevices = 1\n",
        ),
        (
            "bad-huge",
            "[scenario]\nname = \"b\"\n[fleet]\ndevices = 1_000_000_000_000\n[hub]\nunits = 4294967295\n",
        ),
        (
            "bad-set",
            "[scenario]\nname = \"b\"\n[fleet]\ndevices = 1\n\0fleet..devices=x\0hub.tier=\"S9\"",
        ),
        (
            "bad-type",
            "[scenario]\nname = 5\n[fleet]\ndevices = \"many\"\n",
        ),
    ];
    for (name, t) in bad {
        out.push((name.into(), t.as_bytes().to_vec()));
    }
    out.push((
        "minimal".into(),
        b"[scenario]\nname = \"m\"\n[fleet]\ndevices = 1\n".to_vec(),
    ));
    out
}
