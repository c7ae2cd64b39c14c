//! `fleetsim mock` under abuse (issue #8 part 3), on 127.0.0.1 only: connection floods beyond
//! the open-file limit, half packets that stall, slow readers, abrupt disconnects by the
//! thousand (also while traffic shaping holds their replies) and a CONNECT storm with wrong
//! credentials. Throughout, a well-behaved client must complete its flow (DPS register + poll,
//! hub CONNECT + telemetry); afterwards the server holds no connection and its memory is back
//! near its baseline. Every test is bounded in count and time and stops by itself.
//!
//! The descriptor flood runs against a `fleetsim mock` child process started with a soft and
//! hard open-file limit of 256 (the limit is per process: lowering it here would starve the
//! test harness), which also gives a clean RSS to measure. The stalls run in-process, where
//! the read timeout can be set to one second.

// Real sockets on the wall clock: SAS expiry needs the Unix time, bounds need Instant.
#![allow(clippy::disallowed_methods)]

mod common;

use bytes::BytesMut;
use common::keys::{self, GROUP_KEY, unix_now};
use common::mock::MockProcess;
use fleetsim::mock::{Auth, Listen, MockConfig, MockServer};
use fleetsim::protocol::dps::{DpsRequest, DpsResponseTopic, DpsUsername, OperationStatus};
use fleetsim::protocol::hub::{HubRequest, HubUsername};
use fleetsim::protocol::sas;
use rumqttc::mqttbytes::v4::{Connect, Packet, Publish, Subscribe};
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, Incoming, MqttOptions, QoS};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

const SCOPE: &str = "0ne00111111";
const HUB_HOST: &str = "localhost";
/// The longest a good client's whole flow may take, abuse or not.
const FLOW_LIMIT: Duration = Duration::from_secs(20);

/// Fast DPS, a hub that admits every CONNECT and message at once (the abuse, not the quota
/// models, is under test: the resets' telemetry would otherwise queue the good client's behind
/// a shaping backlog).
const SCENARIO: &str = "[scenario]\nname = \"abuse\"\n[fleet]\ndevices = 1\n\
    [dps]\nlatency = \"5ms\"\nassignment_time = \"10ms\"\nretry_after = \"1s\"\n\
    limits = { registrations_per_min = 600000, operations_per_min = 1200000 }\n\
    [hub]\nconnect_latency = \"1ms\"\ntelemetry_latency = \"1ms\"\n\
    limits = { connects_per_s = 100000, d2c_per_s = 1000000 }\n";

/// A DPS token for `id`, valid for an hour.
fn dps_token(id: &str) -> String {
    keys::dps_token(
        &keys::device_key(GROUP_KEY, id),
        SCOPE,
        id,
        unix_now() + 3600,
    )
}

/// A hub token for `id`, valid for an hour.
fn hub_token(id: &str) -> String {
    keys::hub_token(
        &keys::device_key(GROUP_KEY, id),
        HUB_HOST,
        id,
        unix_now() + 3600,
    )
}

async fn poll(ev: &mut EventLoop) -> Result<Incoming, String> {
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(i)) => return Ok(i),
            Ok(Event::Outgoing(_)) => {}
            Err(ConnectionError::ConnectionRefused(c)) => return Err(format!("refused {c:?}")),
            Err(e) => return Err(format!("{e:?}")),
        }
    }
}

async fn mqtt(
    addr: SocketAddr,
    id: &str,
    user: String,
    pass: String,
) -> Result<(AsyncClient, EventLoop), String> {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(30));
    let (c, mut ev) = AsyncClient::new(o, 64);
    match poll(&mut ev).await? {
        Incoming::ConnAck(_) => Ok((c, ev)),
        other => Err(format!("expected CONNACK, got {other:?}")),
    }
}

/// The well-behaved device: DPS register, poll until assigned, then hub CONNECT and three
/// telemetry messages acknowledged. Returns how long it took.
async fn good_client(dps: SocketAddr, hub: SocketAddr, id: &str) -> Result<Duration, String> {
    let t0 = Instant::now();
    let flow = async {
        let (c, mut ev) = mqtt(dps, id, DpsUsername::format(SCOPE, id), dps_token(id)).await?;
        common::device::send_register(&c, id)
            .await
            .map_err(|e| e.to_string())?;
        let mut n = 1;
        let mut op = None;
        loop {
            let Incoming::Publish(p) = poll(&mut ev).await? else {
                continue;
            };
            let t = DpsResponseTopic::parse(&p.topic).ok_or("a DPS response topic")?;
            let s: OperationStatus =
                serde_json::from_slice(&p.payload).map_err(|e| e.to_string())?;
            match t.status {
                200 if s.status == "assigned" => break,
                202 | 429 => {
                    op = Some(s.operation_id).filter(|o| !o.is_empty()).or(op);
                    sleep(Duration::from_millis(20)).await;
                    n += 1;
                    let topic = match &op {
                        Some(op) => DpsRequest::poll_topic(&n.to_string(), op),
                        None => DpsRequest::register_topic(&n.to_string()),
                    };
                    c.publish(topic, QoS::AtLeastOnce, false, " ")
                        .await
                        .map_err(|e| e.to_string())?;
                }
                s => return Err(format!("DPS answered {s}: {}", p.topic)),
            }
        }
        let _ = c.disconnect().await;
        let (c, mut ev) = mqtt(hub, id, HubUsername::format(HUB_HOST, id), hub_token(id)).await?;
        for i in 0..3 {
            c.publish(
                HubRequest::telemetry_topic(id),
                QoS::AtLeastOnce,
                false,
                format!("{{\"n\":{i}}}"),
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        let mut acks = 0;
        while acks < 3 {
            if let Incoming::PubAck(_) = poll(&mut ev).await? {
                acks += 1;
            }
        }
        let _ = c.disconnect().await;
        // Let the DISCONNECT go out before the event loop is dropped.
        let _ = timeout(Duration::from_millis(200), poll(&mut ev)).await;
        Ok::<(), String>(())
    };
    match timeout(FLOW_LIMIT, flow).await {
        Ok(Ok(())) => Ok(t0.elapsed()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("not done in {FLOW_LIMIT:?}")),
    }
}

fn encode(p: &Packet) -> Vec<u8> {
    let mut b = BytesMut::new();
    p.write(&mut b, 1 << 20).unwrap();
    b.to_vec()
}

fn connect_packet(user: String, pass: Option<String>, keep_alive: u16) -> Vec<u8> {
    let mut c = Connect::new("abuse");
    c.keep_alive = keep_alive;
    if let Some(pass) = pass {
        c.set_login(user, pass);
    } else {
        c.set_login(user, "");
    }
    encode(&Packet::Connect(c))
}

fn hub_connect(id: &str, keep_alive: u16) -> Vec<u8> {
    connect_packet(
        HubUsername::format(HUB_HOST, id),
        Some(hub_token(id)),
        keep_alive,
    )
}

fn publish(topic: &str, pkid: u16, body: &[u8]) -> Vec<u8> {
    let mut p = Publish::new(topic, QoS::AtLeastOnce, body.to_vec());
    p.pkid = pkid;
    encode(&Packet::Publish(p))
}

/// Reads until the server closes (EOF or reset) or `limit` passes; true if it closed.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// A hub connection for `id` (CONNECT with keep-alive 0, CONNACK 0) and a 1,000-byte telemetry
/// PUBLISH for it, not yet sent.
async fn hub_session_and_publish(a: SocketAddr, id: &str) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(&hub_connect(id, 0)).await.unwrap();
    assert_eq!(read_connack(&mut s).await, Some(0), "{id}");
    (
        s,
        publish(&HubRequest::telemetry_topic(id), 1, &[b'x'; 1000]),
    )
}

/// Reads a CONNACK (4 bytes) and returns its return code.
async fn read_connack(s: &mut TcpStream) -> Option<u8> {
    let mut b = [0u8; 4];
    match timeout(Duration::from_secs(10), s.read_exact(&mut b)).await {
        Ok(Ok(_)) if b[0] == 0x20 && b[1] == 2 => Some(b[3]),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// In-process: stalls.

async fn start_in_process(auth: Auth) -> MockServer {
    start_with(SCENARIO, auth).await
}

async fn start_with(scenario: &str, auth: Auth) -> MockServer {
    let sc = fleetsim::scenario::load_str(scenario, "abuse", &[]).unwrap();
    let mut c = MockConfig::new(sc);
    c.id_scope = SCOPE.into();
    c.hub_hostname = HUB_HOST.into();
    c.auth = auth;
    c.connect_timeout = Duration::from_secs(1);
    c.read_timeout = Duration::from_secs(1);
    MockServer::start(c, Listen::Shared("127.0.0.1:0".parse().unwrap()), None)
        .await
        .expect("bind 127.0.0.1:0")
}

/// Waits until the server holds no connection; returns the last count seen.
async fn wait_open_zero(server: &MockServer, limit: Duration) -> u64 {
    let end = Instant::now() + limit;
    loop {
        let open = server.stats().open;
        if open == 0 || Instant::now() > end {
            return open;
        }
        sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_packets_and_slow_readers_are_timed_out_while_good_clients_are_served() {
    let server = start_in_process(Auth::GroupKey(GROUP_KEY.into())).await;
    let a = server.hub_addr;
    let mut stalls = tokio::task::JoinSet::new();
    // 1. A CONNECT header claiming 1000 bytes, then 10 of them, then nothing.
    for _ in 0..100 {
        stalls.spawn(async move {
            let mut s = TcpStream::connect(a).await.unwrap();
            s.write_all(&[
                0x10, 0xe8, 0x07, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xc2, 0, 0,
            ])
            .await
            .unwrap();
            (
                "half connect",
                closed_within(&mut s, Duration::from_secs(8)).await,
            )
        });
    }
    // 2. A whole CONNECT with keep-alive 0 (no keep-alive timeout: the hub allows 29 min),
    //    then half a PUBLISH.
    for i in 0..100 {
        stalls.spawn(async move {
            let (mut s, p) = hub_session_and_publish(a, &format!("half-publish-{i}")).await;
            s.write_all(&p[..12]).await.unwrap();
            (
                "half publish",
                closed_within(&mut s, Duration::from_secs(8)).await,
            )
        });
    }
    // 3. The same, trickled: one byte every 200 ms (progress must not extend the deadline).
    for i in 0..50 {
        stalls.spawn(async move {
            let (mut s, p) = hub_session_and_publish(a, &format!("trickle-{i}")).await;
            for b in p.iter().take(40) {
                if s.write_all(&[*b]).await.is_err() {
                    return ("trickle", true);
                }
                let mut one = [0u8; 1];
                match timeout(Duration::from_millis(200), s.read(&mut one)).await {
                    Err(_) => {}
                    Ok(Ok(0)) | Ok(Err(_)) => return ("trickle", true),
                    Ok(Ok(_)) => return ("trickle: unexpected reply", false),
                }
            }
            ("trickle", false)
        });
    }
    // 4. Slow readers: a small receive window, and twin GETs of a 200 KB twin without reading
    //    a single reply (the mock's writes block once the socket buffers are full).
    for i in 0..5 {
        stalls.spawn(async move {
            let id = format!("slow-reader-{i}");
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.set_recv_buffer_size(4096).unwrap();
            let mut s = sock.connect(a).await.unwrap();
            let mut hello = hub_connect(&id, 0);
            hello.extend(encode(&Packet::Subscribe(Subscribe::new(
                "$iothub/twin/res/#",
                QoS::AtMostOnce,
            ))));
            let doc = format!(r#"{{"blob":"{}"}}"#, "x".repeat(200_000));
            hello.extend(publish(
                "$iothub/twin/PATCH/properties/reported/?$rid=1",
                1,
                doc.as_bytes(),
            ));
            s.write_all(&hello).await.unwrap();
            let get = encode(&Packet::Publish(Publish::new(
                "$iothub/twin/GET/?$rid=2",
                QoS::AtMostOnce,
                Vec::new(),
            )));
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(8) {
                match timeout(Duration::from_secs(8), s.write_all(&get)).await {
                    Ok(Ok(())) => sleep(Duration::from_millis(20)).await,
                    // The server closed the connection (a reset on our unread data, or EPIPE).
                    Ok(Err(_)) => return ("slow reader", true),
                    Err(_) => return ("slow reader", false),
                }
            }
            ("slow reader", false)
        });
    }
    // The good client, while all of the above stall.
    sleep(Duration::from_millis(200)).await;
    let took = good_client(server.dps_addr, a, "good-during-stalls").await;
    assert!(took.is_ok(), "good client during the stalls: {took:?}");
    // Each stall gives up by itself after 8 s (reporting "not closed"): no bound needed here.
    let mut not_closed = Vec::new();
    while let Some(r) = stalls.join_next().await {
        let (what, closed) = r.unwrap();
        if !closed {
            not_closed.push(what);
        }
    }
    assert!(
        not_closed.is_empty(),
        "{} stalled connections were not closed by the server: {:?}",
        not_closed.len(),
        &not_closed[..not_closed.len().min(5)]
    );
    assert_eq!(wait_open_zero(&server, Duration::from_secs(5)).await, 0);
    let snap = server.stats();
    assert!(snap.idle_timeouts >= 250, "{snap:?}");
    assert_eq!(server.hub_sessions(), 0, "{snap:?}");
    // And after: still serving.
    let took = good_client(server.dps_addr, a, "good-after-stalls").await;
    assert!(took.is_ok(), "good client after the stalls: {took:?}");
    server.shutdown().await;
}

/// A client that resets its connection while the hub's traffic shaping holds its CONNACK or its
/// PUBACKs is let go at once, not held (a task and a descriptor) until the queued replies fall
/// due: the mock watches the socket while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_reset_while_shaping_holds_their_replies_are_let_go() {
    // 2 connects/s and 20 messages/s per hub, each with 10 s of backlog.
    let sc = format!(
        "{SCENARIO}[hub.limits]\nconnects_per_s = 2\nd2c_per_s = 20\nburst = \"1ms\"\n\
         backlog = \"10s\"\n"
    );
    let sc = sc.replace(
        "limits = { connects_per_s = 100000, d2c_per_s = 1000000 }\n",
        "",
    );
    let server = start_with(&sc, Auth::AllowAny).await;
    let a = server.hub_addr;
    let mut conns = Vec::new();
    let telemetry = |id: &str, n: u16| {
        let mut v = Vec::new();
        for k in 0..n {
            v.extend(publish(&HubRequest::telemetry_topic(id), k + 1, b"{}"));
        }
        v
    };
    // Telemetry: 190 messages fill 9.5 s of the backlog; then a second device's 40 overrun it:
    // that connection is closed once its few queued PUBACKs have gone out, ~9.5 s from now.
    let mut first = TcpStream::connect(a).await.unwrap();
    first.write_all(&hub_connect("shaped-a", 0)).await.unwrap();
    assert_eq!(read_connack(&mut first).await, Some(0));
    let mut second = TcpStream::connect(a).await.unwrap();
    second.write_all(&hub_connect("shaped-b", 0)).await.unwrap();
    first.write_all(&telemetry("shaped-a", 190)).await.unwrap();
    assert_eq!(read_connack(&mut second).await, Some(0));
    second.write_all(&telemetry("shaped-b", 40)).await.unwrap();
    conns.push(first);
    conns.push(second);
    // Connects: ten CONNECTs at once, queued up to 5 s for their CONNACK.
    for i in 0..10 {
        let mut s = TcpStream::connect(a).await.unwrap();
        s.write_all(&hub_connect(&format!("shaped-connect-{i}"), 0))
            .await
            .unwrap();
        conns.push(s);
    }
    sleep(Duration::from_millis(500)).await;
    // The backlog overflowed (the connection is draining its PUBACKs); CONNECTs are queued.
    let snap = server.stats();
    assert!(snap.telemetry > 190 && snap.telemetry < 230, "{snap:?}");
    assert!(snap.open >= 5, "{snap:?}");
    for s in conns {
        s.set_zero_linger().unwrap();
        drop(s);
    }
    assert_eq!(
        wait_open_zero(&server, Duration::from_secs(2)).await,
        0,
        "connections held after their clients reset: {:?}",
        server.stats()
    );
    assert_eq!(server.stats().telemetry_closed, 1);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// A `fleetsim mock` child process with 256 descriptors.

/// The child mock (tests/common/mock.rs: killed when dropped), with its scenario file.
struct AbuseMock {
    process: MockProcess,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl AbuseMock {
    fn start(nofile: u32) -> AbuseMock {
        let dir = tempfile::tempdir().unwrap();
        let sc = dir.path().join("abuse.toml");
        std::fs::write(&sc, SCENARIO).unwrap();
        let process = common::mock::mock()
            .nofile(nofile)
            .args(["--listen", "127.0.0.1:0", "--id-scope", SCOPE])
            .args(["--hub-hostname", HUB_HOST, "--stats-every", "1"])
            .args(["--threads", "2", "--scenario"])
            .arg(&sc)
            .env("FLEETSIM_GROUP_KEY", GROUP_KEY)
            .start();
        AbuseMock {
            addr: process.addr(),
            process,
            _dir: dir,
        }
    }

    /// The mock's resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// A counter from the latest stats line, e.g. `counter("open ")`, `counter("auth ")`.
    fn counter(&self, label: &str) -> u64 {
        let last = self.process.stats_lines().pop().expect("a stats line");
        common::mock::counter(&last, label)
    }

    /// The latest stats line, for failure messages.
    fn last_stats(&self) -> String {
        self.process.stats_lines().pop().unwrap_or_default()
    }

    /// Waits for a fresh stats line (one per second).
    async fn next_stats(&self) {
        let n = self.process.stats_lines().len();
        let end = Instant::now() + Duration::from_secs(5);
        while self.process.stats_lines().len() == n && Instant::now() < end {
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the stats line says no connection is open.
    async fn wait_open_zero(&self) -> u64 {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            self.next_stats().await;
            let open = self.counter("open ");
            if open == 0 || Instant::now() > end {
                return open;
            }
        }
    }
}

/// Opens `n` connections at once, each sending a hub CONNECT; returns them with whether a
/// CONNACK 0 came back within `wait` (the rest are queued in the listen backlog).
async fn flood(addr: SocketAddr, n: usize, wait: Duration) -> Vec<(TcpStream, bool)> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        set.spawn(async move {
            let mut s = TcpStream::connect(addr).await.expect("loopback connect");
            s.write_all(&hub_connect(&format!("flood-{i}"), 0))
                .await
                .unwrap();
            let mut b = [0u8; 4];
            let ok = matches!(
                timeout(wait, s.read_exact(&mut b)).await,
                Ok(Ok(_)) if b == [0x20, 2, 0, 0]
            );
            (s, ok)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// One abrupt client: what it sends before it resets the connection (SO_LINGER 0).
async fn abrupt(addr: SocketAddr, i: usize) {
    let Ok(s) = TcpStream::connect(addr).await else {
        return;
    };
    let mut s = s;
    let id = format!("abrupt-{}", i % 500);
    let bytes = match i % 6 {
        0 => Vec::new(),
        1 => vec![0x10, 0xe8, 0x07, 0, 4, b'M', b'Q'],
        2 => hub_connect(&id, 30),
        3 => {
            let mut v = connect_packet(DpsUsername::format(SCOPE, &id), Some(dps_token(&id)), 30);
            v.extend(encode(&Packet::Subscribe(Subscribe::new(
                "$dps/registrations/res/#",
                QoS::AtLeastOnce,
            ))));
            let body = format!(r#"{{"registrationId": "{id}"}}"#);
            v.extend(publish(
                &DpsRequest::register_topic("1"),
                1,
                body.as_bytes(),
            ));
            v
        }
        4 => {
            let mut v = hub_connect(&id, 30);
            for k in 0..50 {
                v.extend(publish(&HubRequest::telemetry_topic(&id), k + 1, b"{}"));
            }
            v
        }
        _ => {
            let mut v = hub_connect(&id, 30);
            v.extend_from_slice(&[0x32, 0xff, 0x01, 0, 3]);
            v
        }
    };
    let _ = s.write_all(&bytes).await;
    if i % 2 == 0 {
        // Sometimes let the server answer first.
        tokio::task::yield_now().await;
        let mut b = [0u8; 64];
        let _ = timeout(Duration::from_millis(5), s.read(&mut b)).await;
    }
    let _ = s.set_zero_linger();
    drop(s);
}

/// 3,000 abrupt clients ([`abrupt`]), 100 at a time.
async fn reset_storm(addr: SocketAddr) {
    for batch in 0..30 {
        let mut set = tokio::task::JoinSet::new();
        for k in 0..100 {
            set.spawn(abrupt(addr, batch * 100 + k));
        }
        while set.join_next().await.is_some() {}
    }
}

/// A CONNECT with wrong credentials, kind `i % 8`; returns the CONNACK code (None: no CONNACK).
async fn bad_credentials(addr: SocketAddr, i: usize) -> Option<u8> {
    let id = format!("storm-{i}");
    let other = format!("storm-other-{i}");
    let wrong_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let hub_user = HubUsername::format(HUB_HOST, &id);
    let dps_user = DpsUsername::format(SCOPE, &id);
    let hub_res = sas::hub_resource(HUB_HOST, &id, None);
    let se = unix_now() + 3600;
    let bytes = match i % 8 {
        // Signed with the wrong key.
        0 => connect_packet(
            hub_user,
            Some(sas::sign(wrong_key, &hub_res, se, None).unwrap()),
            30,
        ),
        1 => connect_packet(
            dps_user,
            Some(
                sas::sign(
                    wrong_key,
                    &sas::dps_resource(SCOPE, &id),
                    se,
                    Some("registration"),
                )
                .unwrap(),
            ),
            30,
        ),
        // Another device's token.
        2 => connect_packet(hub_user, Some(hub_token(&other)), 30),
        3 => connect_packet(dps_user, Some(dps_token(&other)), 30),
        // Expired an hour ago.
        4 => {
            let key = sas::derive_device_key(GROUP_KEY, &id).unwrap();
            let t = sas::sign(&key, &hub_res, unix_now() - 3600, None).unwrap();
            connect_packet(hub_user, Some(t), 30)
        }
        // Not a token, no password, a wrong ID scope.
        5 => connect_packet(hub_user, Some("password".into()), 30),
        6 => connect_packet(hub_user, None, 30),
        _ => connect_packet(
            DpsUsername::format("0ne99999999", &id),
            Some(dps_token(&id)),
            30,
        ),
    };
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(&bytes).await.ok()?;
    let code = read_connack(&mut s).await;
    // The refusal closes the connection.
    if !closed_within(&mut s, Duration::from_secs(5)).await {
        return Some(255);
    }
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_process_at_its_descriptor_limit_survives_floods_resets_and_bad_credentials() {
    // The limit under test is the child's: this process (flood clients here, and the other
    // tests' in-process servers) must not meet its own.
    let _ = rlimit::increase_nofile_limit(rlimit::INFINITY);
    let mock = AbuseMock::start(256);
    let a = mock.addr;
    let took = good_client(a, a, "good-baseline").await;
    assert!(took.is_ok(), "baseline flow: {took:?}");
    assert_eq!(mock.wait_open_zero().await, 0);
    let rss_base = mock.rss_kib();

    // 1. Descriptor flood: 400 connections, each sending a valid CONNECT, against 256
    //    descriptors. The mock takes what it can, backs off on EMFILE and keeps the rest
    //    waiting in the listen backlog.
    let mut conns = flood(a, 400, Duration::from_secs(3)).await;
    let held = conns.iter().filter(|(_, ok)| *ok).count();
    mock.next_stats().await;
    let accept_errors = mock.counter("accept errors ");
    eprintln!(
        "flood: {held} of 400 connections served at the limit, {accept_errors} accept errors, RSS {} KiB",
        mock.rss_kib()
    );
    assert!((200..256).contains(&held), "{held} connections held");
    assert!(accept_errors > 0, "the accept loop never hit the limit");
    // Free a few descriptors (the queued connections and ten of the held ones): the good
    // client is served while the flood still holds the rest.
    conns.retain(|(_, ok)| *ok);
    conns.truncate(held - 10);
    let took = good_client(a, a, "good-during-flood").await;
    if took.is_err() {
        mock.next_stats().await;
    }
    assert!(
        took.is_ok(),
        "good client during the flood: {took:?}; mock: {}",
        mock.last_stats()
    );
    // The held connections are still served.
    for (s, _) in conns.iter_mut().take(20) {
        s.write_all(&[0xc0, 0]).await.unwrap();
        let mut b = [0u8; 2];
        timeout(Duration::from_secs(5), s.read_exact(&mut b))
            .await
            .expect("PINGRESP in time")
            .unwrap();
        assert_eq!(b, [0xd0, 0]);
    }
    drop(conns);
    assert_eq!(mock.wait_open_zero().await, 0, "after the flood");
    let took = good_client(a, a, "good-after-flood").await;
    assert!(took.is_ok(), "good client after the flood: {took:?}");
    let rss_flood = mock.rss_kib();

    // 2. Abrupt disconnects: 3000 connections reset mid-packet, after CONNECT, with replies
    //    pending, 100 at a time, while a good client runs its flow.
    let (took, ()) = tokio::join!(good_client(a, a, "good-during-resets"), reset_storm(a));
    assert!(took.is_ok(), "good client during the resets: {took:?}");
    assert_eq!(mock.wait_open_zero().await, 0, "after the resets");
    let rss_resets = mock.rss_kib();

    // 3. A CONNECT storm with wrong credentials: 800 CONNECTs, 100 at a time, every one
    //    refused with CONNACK 4 or 5 and closed, while a good client runs its flow.
    mock.next_stats().await;
    let auth_before = mock.counter("auth ");
    let storm = async {
        let mut codes = Vec::new();
        for batch in 0..8 {
            let mut set = tokio::task::JoinSet::new();
            for k in 0..100 {
                set.spawn(bad_credentials(a, batch * 100 + k));
            }
            while let Some(r) = set.join_next().await {
                codes.push(r.unwrap());
            }
        }
        codes
    };
    let (took, codes) = tokio::join!(good_client(a, a, "good-during-storm"), storm);
    assert!(took.is_ok(), "good client during the storm: {took:?}");
    let refused = codes
        .iter()
        .filter(|c| matches!(c, Some(4) | Some(5)))
        .count();
    assert_eq!(refused, 800, "codes: {:?}", &codes[..20]);
    assert_eq!(mock.wait_open_zero().await, 0, "after the storm");
    assert_eq!(mock.counter("auth ") - auth_before, 800);

    // 4. Memory: back near the baseline, and a second round of resets adds nothing.
    let rss_storm = mock.rss_kib();
    reset_storm(a).await;
    assert_eq!(mock.wait_open_zero().await, 0, "after the second resets");
    let rss_end = mock.rss_kib();
    eprintln!(
        "RSS KiB: baseline {rss_base}, after flood {rss_flood}, resets {rss_resets}, \
         storm {rss_storm}, second resets {rss_end}"
    );
    assert!(
        rss_end <= rss_base + 8 * 1024,
        "RSS {rss_end} KiB vs baseline {rss_base} KiB"
    );
    assert!(
        rss_end <= rss_resets + 2 * 1024,
        "a second round of resets grew RSS from {rss_resets} to {rss_end} KiB"
    );
}
