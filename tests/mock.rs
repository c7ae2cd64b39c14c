//! `fleetsim mock` over real sockets on 127.0.0.1 (port 0): the DPS and Hub flows with a
//! rumqttc client, authentication refusals, throttling, malformed input and TLS. Every test is
//! bounded in time and stops by itself.

// Real sockets on the wall clock: SAS expiry needs the Unix time, bounds need Instant.
#![allow(clippy::disallowed_methods)]

mod common;

use common::keys::{self, GROUP_KEY, unix_now};
use fleetsim::mock::{Auth, Listen, MockConfig, MockServer};
use fleetsim::protocol::dps::{DpsRequest, DpsResponseTopic, DpsUsername, OperationStatus};
use fleetsim::protocol::hub::HubUsername;
use fleetsim::protocol::sas;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Incoming, MqttOptions, QoS,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const SCOPE: &str = "0ne00111111";
const HUB_HOST: &str = "localhost";
const LIMIT: Duration = Duration::from_secs(15);

/// Fast DPS (10 ms latency and assignment) with the published limits unless `extra` says.
fn config(extra: &str, sets: &[&str]) -> MockConfig {
    let toml = format!(
        "[scenario]\nname = \"t\"\n[fleet]\ndevices = 1\n[dps]\nlatency = \"5ms\"\n\
         assignment_time = \"10ms\"\nretry_after = \"1s\"\n[hub]\nconnect_latency = \"1ms\"\n\
         telemetry_latency = \"1ms\"\n{extra}"
    );
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let sc = fleetsim::scenario::load_str(&toml, "test", &sets).expect("test scenario");
    let mut c = MockConfig::new(sc);
    c.id_scope = SCOPE.into();
    c.auth = Auth::GroupKey(GROUP_KEY.into());
    c.hub_hostname = HUB_HOST.into();
    c.connect_timeout = Duration::from_secs(2);
    c
}

/// The server's counters once `done` holds (a connection's end is counted as its task ends,
/// which may be just after the client sees the close), or after 5 s.
async fn stats_when(
    server: &MockServer,
    done: impl Fn(&fleetsim::mock::stats::Snapshot) -> bool,
) -> fleetsim::mock::stats::Snapshot {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let s = server.stats();
        if done(&s) || Instant::now() > end {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start(cfg: MockConfig) -> MockServer {
    MockServer::start(cfg, Listen::Shared("127.0.0.1:0".parse().unwrap()), None)
        .await
        .expect("bind 127.0.0.1:0")
}

fn device_key(id: &str) -> String {
    keys::device_key(GROUP_KEY, id)
}

fn dps_token(id: &str, se: u64) -> String {
    keys::dps_token(&device_key(id), SCOPE, id, se)
}

fn hub_token(id: &str, se: u64) -> String {
    keys::hub_token(&device_key(id), HUB_HOST, id, se)
}

fn options(addr: SocketAddr, id: &str, user: String, pass: String) -> MqttOptions {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(10));
    o
}

/// Connects and waits for the CONNACK: Ok on 0, Err(code) on a refusal.
async fn connect(o: MqttOptions) -> Result<(AsyncClient, EventLoop), ConnectReturnCode> {
    let (c, mut ev) = AsyncClient::new(o, 64);
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("CONNACK in time") {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => return Ok((c, ev)),
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Err(e) => panic!("connect failed: {e:?}"),
        }
    }
}

/// The next incoming PUBLISH (or None if the connection ends).
async fn next_publish(ev: &mut EventLoop) -> Option<rumqttc::Publish> {
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("a packet in time") {
            Ok(Event::Incoming(Incoming::Publish(p))) => return Some(p),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Runs the DPS flow for `id`; returns the final operation status.
async fn provision(addr: SocketAddr, id: &str) -> OperationStatus {
    let o = options(
        addr,
        id,
        DpsUsername::format(SCOPE, id),
        dps_token(id, unix_now() + 3600),
    );
    let (c, mut ev) = connect(o).await.expect("DPS CONNACK 0");
    common::device::send_register(&c, id).await.unwrap();
    let p = next_publish(&mut ev).await.expect("register answer");
    let t = DpsResponseTopic::parse(&p.topic).expect("a DPS response topic");
    assert_eq!((t.status, t.rid.as_str()), (202, "1"), "{}", p.topic);
    assert!(t.retry_after_s.is_some(), "{}", p.topic);
    let s: OperationStatus = serde_json::from_slice(&p.payload).unwrap();
    assert_eq!(s.status, "assigning");
    for n in 2..20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let topic = DpsRequest::poll_topic(&n.to_string(), &s.operation_id);
        c.publish(topic, QoS::AtLeastOnce, false, " ")
            .await
            .unwrap();
        let p = next_publish(&mut ev).await.expect("poll answer");
        let t = DpsResponseTopic::parse(&p.topic).unwrap();
        assert_eq!(t.rid, n.to_string());
        if t.status == 200 {
            let _ = c.disconnect().await;
            return serde_json::from_slice(&p.payload).unwrap();
        }
        assert_eq!(t.status, 202, "{}", p.topic);
    }
    panic!("never assigned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dps_flow_then_hub_connect_and_telemetry() {
    let server = start(config("", &[])).await;
    let id = "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6";
    let s = provision(server.dps_addr, id).await;
    assert_eq!(s.status, "assigned");
    let st = s.registration_state.expect("registrationState");
    assert_eq!(st.assigned_hub.as_deref(), Some(HUB_HOST));
    assert_eq!(st.device_id.as_deref(), Some(id));
    assert_eq!(st.status, "assigned");
    assert_eq!(st.substatus.as_deref(), Some("initialAssignment"));
    assert!(st.created_date_time_utc.is_some() && st.last_updated_date_time_utc.is_some());

    // Re-registering after a reconnect works again (the device keeps its hub).
    let again = provision(server.dps_addr, id).await;
    assert_eq!(again.status, "assigned");

    // Hub: the SDKs' username with extra pairs and a persistent session.
    let user = format!("{HUB_HOST}/{id}/?api-version=2020-09-30&DeviceClientType=test%2F1");
    let mut o = options(server.hub_addr, id, user, hub_token(id, unix_now() + 3600));
    o.set_clean_session(false);
    let (c, mut ev) = connect(o).await.expect("hub CONNACK 0");
    for i in 0..3 {
        c.publish(
            format!("devices/{id}/messages/events/$.ct=application%2Fjson"),
            QoS::AtLeastOnce,
            false,
            format!("{{\"n\":{i}}}"),
        )
        .await
        .unwrap();
    }
    let mut acks = 0;
    while acks < 3 {
        match timeout(LIMIT, ev.poll()).await.expect("PUBACK in time") {
            Ok(Event::Incoming(Incoming::PubAck(_))) => acks += 1,
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    let snap = server.stats();
    assert_eq!(snap.telemetry, 3);
    assert_eq!(snap.registers, 2);
    assert!(snap.assigned >= 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_wrong_resource_and_expired_tokens_are_refused() {
    let server = start(config("", &[])).await;
    let (a, id) = (server.hub_addr, "dev-1");
    let future = unix_now() + 3600;
    let hub_user = HubUsername::format(HUB_HOST, id);
    let dps_user = DpsUsername::format(SCOPE, id);
    let wrong_key = sas::sign(
        &device_key("someone-else"),
        &sas::hub_resource(HUB_HOST, id, None),
        future,
        None,
    )
    .unwrap();
    let wrong_resource = hub_token("dev-2", future);
    let expired = hub_token(id, unix_now() - 3600);
    let group_key_itself = sas::sign(
        GROUP_KEY,
        &sas::hub_resource(HUB_HOST, id, None),
        future,
        None,
    )
    .unwrap();
    for (what, user, pass) in [
        ("wrong signature", &hub_user, wrong_key),
        ("wrong resource", &hub_user, wrong_resource),
        ("expired", &hub_user, expired),
        ("group key used directly", &hub_user, group_key_itself),
        ("garbage password", &hub_user, "not a token".to_string()),
        ("DPS wrong resource", &dps_user, dps_token("dev-2", future)),
        ("DPS expired", &dps_user, dps_token(id, unix_now() - 3600)),
    ] {
        // Refused every time, not just once.
        for _ in 0..2 {
            let r = connect(options(a, id, user.clone(), pass.clone())).await;
            assert_eq!(
                r.err(),
                Some(ConnectReturnCode::NotAuthorized),
                "{what} must be refused"
            );
        }
    }
    // Neither a DPS nor a hub username: CONNACK 4.
    let r = connect(options(a, id, "nobody".into(), "x".into())).await;
    assert_eq!(r.err(), Some(ConnectReturnCode::BadUserNamePassword));
    // And the right token still works.
    let ok = connect(options(a, id, hub_user.clone(), hub_token(id, future))).await;
    assert!(ok.is_ok());
    assert_eq!(server.stats().auth_refused, 15);
    server.shutdown().await;
}

/// Raw bytes: CONNECT for a hub device (allow-any), as a client would send it.
fn raw_connect(id: &str) -> Vec<u8> {
    use bytes::BytesMut;
    use rumqttc::mqttbytes::v4::{Connect, Packet};
    let mut c = Connect::new(id);
    c.set_login(HubUsername::format(HUB_HOST, id), "x");
    let mut b = BytesMut::new();
    Packet::Connect(c).write(&mut b, 1 << 20).unwrap();
    b.to_vec()
}

/// Sends bytes and waits until the server closes the connection; returns what it sent back.
async fn send_until_closed(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut got = Vec::new();
    let r = timeout(LIMIT, s.read_to_end(&mut got)).await;
    assert!(r.is_ok(), "the server must close the connection");
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_closes_one_connection_and_the_server_keeps_serving() {
    let mut cfg = config("", &[]);
    cfg.auth = Auth::AllowAny;
    let server = start(cfg).await;
    let a = server.hub_addr;
    // An idle client holding a connection open throughout.
    let bystander = connect(options(
        a,
        "bystander",
        HubUsername::format(HUB_HOST, "bystander"),
        "x".into(),
    ))
    .await
    .expect("connects");
    let connect = raw_connect("dev-m");
    let mut qos2 = connect.clone();
    // PUBLISH QoS 2 (flags 0b0100), topic "devices/dev-m/messages/events/", pkid 1, body "x".
    let topic = b"devices/dev-m/messages/events/";
    qos2.extend_from_slice(&[0x34, (2 + topic.len() + 2 + 1) as u8, 0, topic.len() as u8]);
    qos2.extend_from_slice(topic);
    qos2.extend_from_slice(&[0, 1, b'x']);
    let mut bad_after_connect = connect.clone();
    bad_after_connect.extend_from_slice(&[0xf0, 0x00]); // reserved packet type 15
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"GET / HTTP/1.1\r\n\r\n".to_vec()),
        ("oversized length", vec![0x10, 0xff, 0xff, 0xff, 0x7f]),
        (
            "malformed remaining length",
            vec![0x10, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
        ("publish before connect", vec![0x30, 0x03, 0x00, 0x01, b'a']),
        ("pingreq before connect", vec![0xc0, 0x00]),
        (
            "truncated connect",
            vec![0x10, 0x05, 0x00, 0x04, b'M', b'Q', b'T'],
        ),
        (
            "bad protocol name",
            vec![0x10, 0x0a, 0, 4, b'A', b'B', b'C', b'D', 4, 2, 0, 10],
        ),
        ("qos 2 publish", qos2),
        ("reserved packet type", bad_after_connect),
        ("publish to a foreign topic", {
            let mut v = connect.clone();
            let t = b"devices/other/messages/events/";
            v.extend_from_slice(&[0x30, (2 + t.len() + 1) as u8, 0, t.len() as u8]);
            v.extend_from_slice(t);
            v.push(b'x');
            v
        }),
    ];
    for (what, bytes) in &cases {
        let got = send_until_closed(a, bytes).await;
        assert!(got.len() <= 4, "{what}: unexpected reply {got:?}");
    }
    // A client that connects and never sends CONNECT is dropped by the connect timeout (2 s;
    // `send_until_closed` fails if the connection is still open after LIMIT), and counted as
    // an idle timeout below, not as malformed.
    send_until_closed(a, b"").await;

    let snap = stats_when(&server, |s| {
        s.malformed as usize >= cases.len() && s.idle_timeouts >= 1
    })
    .await;
    assert_eq!(snap.malformed as usize, cases.len(), "{snap:?}");
    assert_eq!(snap.idle_timeouts, 1);
    // Still serving: a new client connects and the bystander still gets a ping answer.
    let (c, _ev) = connect_ok(a, "after").await;
    drop(c);
    let (bc, mut bev) = bystander;
    bc.publish(
        "devices/bystander/messages/events/",
        QoS::AtLeastOnce,
        false,
        "x",
    )
    .await
    .unwrap();
    loop {
        match timeout(LIMIT, bev.poll()).await.unwrap() {
            Ok(Event::Incoming(Incoming::PubAck(_))) => break,
            Ok(_) => {}
            Err(e) => panic!("bystander lost: {e:?}"),
        }
    }
    server.shutdown().await;
}

async fn connect_ok(a: SocketAddr, id: &str) -> (AsyncClient, EventLoop) {
    connect(options(
        a,
        id,
        HubUsername::format(HUB_HOST, id),
        "x".into(),
    ))
    .await
    .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connections_are_throttled_at_the_configured_rate() {
    // 10 connects/s, no burst, no queue: beyond the rate, CONNACK 3 at once.
    let mut cfg = config(
        "[hub.limits]\nconnects_per_s = 10\nburst = \"1ms\"\nbacklog = \"0s\"\n",
        &[],
    );
    cfg.auth = Auth::AllowAny;
    let server = start(cfg).await;
    let t0 = Instant::now();
    let (mut ok, mut refused) = (0u32, 0u32);
    let mut keep = Vec::new();
    for i in 0..40 {
        match connect(options(
            server.hub_addr,
            &format!("d{i}"),
            HubUsername::format(HUB_HOST, &format!("d{i}")),
            "x".into(),
        ))
        .await
        {
            Ok(c) => {
                ok += 1;
                keep.push(c);
            }
            Err(code) => {
                assert_eq!(code, ConnectReturnCode::ServiceUnavailable);
                refused += 1;
            }
        }
    }
    let window = t0.elapsed().as_secs_f64();
    // GCRA: at most rate × window + 1 in any window. The window is measured around every
    // attempt, so a loaded machine only widens it and loosens the bound: this cannot fail
    // because the test ran slowly, only if the mock admits faster than its rate.
    assert!(ok as f64 <= 10.0 * window + 1.0, "{ok} in {window:.3} s");
    assert!(ok >= 1 && refused >= 1, "ok {ok} refused {refused}");
    assert_eq!(server.stats().connect_throttled, refused as u64);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_is_shaped_then_the_connection_closed() {
    // 20 msg/s, no burst, 0.5 s of backlog: PUBACKs come at the limit rate, ~11 are queued,
    // then the connection is closed.
    let mut cfg = config(
        "[hub.limits]\nd2c_per_s = 20\nburst = \"1ms\"\nbacklog = \"500ms\"\n",
        &[],
    );
    cfg.auth = Auth::AllowAny;
    let server = start(cfg).await;
    let (c, mut ev) = connect_ok(server.hub_addr, "shaped").await;
    for _ in 0..40 {
        c.publish(
            "devices/shaped/messages/events/",
            QoS::AtLeastOnce,
            false,
            "x",
        )
        .await
        .unwrap();
    }
    let mut acks = 0;
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("in time") {
            Ok(Event::Incoming(Incoming::PubAck(_))) => acks += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // Counts, not times: at most rate × (backlog) + 1 queued before the refusal.
    assert!((2..=12).contains(&acks), "{acks} PUBACKs before the close");
    let snap = stats_when(&server, |s| s.telemetry_closed >= 1).await;
    assert_eq!(snap.telemetry_closed, 1, "{snap:?}");
    server.shutdown().await;
}

/// A persistent session (CleanSession 0, every SDK's default, reference §2a) keeps its
/// subscriptions across connections, as the SDKs count on when they reconnect to renew a SAS
/// token (found by tests/sdk.rs: the Python SDK's get_twin() hung after a renewal); a clean
/// session ends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_session_keeps_its_subscriptions_across_connections() {
    let mut cfg = config("", &[]);
    cfg.auth = Auth::AllowAny;
    let server = start(cfg).await;
    let a = server.hub_addr;
    let open = |clean: bool| async move {
        let mut o = options(a, "ps", HubUsername::format(HUB_HOST, "ps"), "x".into());
        o.set_clean_session(clean);
        let (c, mut ev) = AsyncClient::new(o, 16);
        let present = loop {
            match timeout(LIMIT, ev.poll()).await.unwrap().unwrap() {
                Event::Incoming(Incoming::ConnAck(ack)) => break ack.session_present,
                _ => continue,
            }
        };
        (c, ev, present)
    };
    // Answers a twin GET within a second, or not at all.
    async fn twin_get(c: &AsyncClient, ev: &mut EventLoop, rid: &str) -> Option<String> {
        let topic = format!("$iothub/twin/GET/?$rid={rid}");
        c.publish(topic, QoS::AtMostOnce, false, "").await.unwrap();
        timeout(Duration::from_secs(1), next_publish(ev))
            .await
            .ok()
            .flatten()
            .map(|p| p.topic)
    }
    let (c, mut ev, present) = open(false).await;
    assert!(!present, "a first connection has no session");
    c.subscribe("$iothub/twin/res/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let got = twin_get(&c, &mut ev, "1").await;
    assert_eq!(got.as_deref(), Some("$iothub/twin/res/200/?$rid=1"));
    c.disconnect().await.unwrap();
    let _ = timeout(Duration::from_millis(200), ev.poll()).await;
    // Reconnect, persistent: session present, and the twin answers without a new SUBSCRIBE.
    let (c, mut ev, present) = open(false).await;
    assert!(present, "the persistent session is kept");
    let got = twin_get(&c, &mut ev, "2").await;
    assert_eq!(got.as_deref(), Some("$iothub/twin/res/200/?$rid=2"));
    c.disconnect().await.unwrap();
    let _ = timeout(Duration::from_millis(200), ev.poll()).await;
    // A clean session ends it: no subscription, no answer; and the next persistent connect
    // finds none either.
    let (c, mut ev, present) = open(true).await;
    assert!(!present);
    assert_eq!(twin_get(&c, &mut ev, "3").await, None);
    c.disconnect().await.unwrap();
    let _ = timeout(Duration::from_millis(200), ev.poll()).await;
    let (_c, _ev, present) = open(false).await;
    assert!(!present);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twin_subscriptions_and_one_connection_per_device() {
    let mut cfg = config("", &[]);
    cfg.auth = Auth::AllowAny;
    let server = start(cfg).await;
    let a = server.hub_addr;
    let (c, mut ev) = connect_ok(a, "tw").await;
    c.subscribe("$iothub/twin/res/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    c.publish(
        "$iothub/twin/PATCH/properties/reported/?$rid=1",
        QoS::AtMostOnce,
        false,
        r#"{"fw":"1.2","x":{"y":1}}"#,
    )
    .await
    .unwrap();
    let p = next_publish(&mut ev).await.unwrap();
    assert_eq!(p.topic, "$iothub/twin/res/204/?$rid=1&$version=2");
    c.publish("$iothub/twin/GET/?$rid=2", QoS::AtMostOnce, false, "")
        .await
        .unwrap();
    let p = next_publish(&mut ev).await.unwrap();
    assert_eq!(p.topic, "$iothub/twin/res/200/?$rid=2");
    let doc: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
    assert_eq!(doc["reported"]["fw"], "1.2");
    assert_eq!(doc["reported"]["$version"], 2);
    c.publish(
        "$iothub/twin/PATCH/properties/reported/?$rid=3",
        QoS::AtMostOnce,
        false,
        "[1]",
    )
    .await
    .unwrap();
    let p = next_publish(&mut ev).await.unwrap();
    assert_eq!(p.topic, "$iothub/twin/res/400/?$rid=3");

    // Five subscriptions at most; unknown filters are refused.
    let filters = [
        "devices/tw/messages/devicebound/#",
        "$iothub/twin/PATCH/properties/desired/#",
        "$iothub/methods/POST/#",
        "devices/+/messages/devicebound/#", // the fifth, with twin/res above
        "$iothub/streams/POST/#",           // a sixth: over the limit
        "#",                                // never accepted
    ];
    for f in filters {
        c.subscribe(f, QoS::AtLeastOnce).await.unwrap();
    }
    let mut codes = Vec::new();
    while codes.len() < filters.len() {
        match timeout(LIMIT, ev.poll()).await.unwrap() {
            Ok(Event::Incoming(Incoming::SubAck(s))) => codes.push(s.return_codes[0]),
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    use rumqttc::SubscribeReasonCode::{Failure, Success};
    let ok = Success(QoS::AtLeastOnce);
    assert_eq!(codes, [ok, ok, ok, ok, Failure, Failure]);

    // A second connection for the same device drops the first (reference §2a).
    let (c2, mut ev2) = connect_ok(a, "tw").await;
    let mut closed = false;
    for _ in 0..20 {
        if timeout(LIMIT, ev.poll()).await.unwrap().is_err() {
            closed = true;
            break;
        }
    }
    assert!(closed, "the first connection must be dropped");
    drop(c);
    // The new one keeps working, and sees the twin the first one wrote.
    c2.subscribe("$iothub/twin/res/#", QoS::AtMostOnce)
        .await
        .unwrap();
    c2.publish("$iothub/twin/GET/?$rid=9", QoS::AtMostOnce, false, "")
        .await
        .unwrap();
    let p = next_publish(&mut ev2).await.unwrap();
    assert_eq!(p.topic, "$iothub/twin/res/200/?$rid=9");
    assert_eq!(stats_when(&server, |s| s.kicked >= 1).await.kicked, 1);
    server.shutdown().await;
}

async fn start_tls(dir: &std::path::Path) -> (MockServer, String) {
    let s = fleetsim::mock::tls::self_signed(dir).expect("generate certificates");
    let server = MockServer::start(
        config("", &[]),
        Listen::Shared("127.0.0.1:0".parse().unwrap()),
        Some(s.config),
    )
    .await
    .unwrap();
    (server, s.ca_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_self_signed_ca() {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let dir = tempfile::tempdir().unwrap();
    let (server, ca_pem) = start_tls(dir.path()).await;
    assert!(dir.path().join("ca.pem").exists());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = std::sync::Arc::new(tls);
    let id = "tls-dev";
    // Both names the SDKs might use for a local endpoint are in the certificate.
    for host in ["localhost", "127.0.0.1"] {
        let mut o = MqttOptions::new(id, host, server.hub_addr.port());
        o.set_credentials(
            HubUsername::format(HUB_HOST, id),
            hub_token(id, unix_now() + 600),
        );
        o.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(tls.clone()),
        ));
        let (c, mut ev) = connect(o).await.expect("TLS CONNACK 0");
        c.publish(
            format!("devices/{id}/messages/events/"),
            QoS::AtLeastOnce,
            false,
            "x",
        )
        .await
        .unwrap();
        loop {
            match timeout(LIMIT, ev.poll()).await.unwrap() {
                Ok(Event::Incoming(Incoming::PubAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("{host}: {e:?}"),
            }
        }
    }
    // A plain-TCP client on the TLS port is closed and counted, and nothing breaks.
    send_until_closed(server.hub_addr, &raw_connect("plain")).await;
    assert_eq!(
        stats_when(&server, |s| s.tls_failed >= 1).await.tls_failed,
        1
    );
    assert_eq!(server.stats().telemetry, 2);
    server.shutdown().await;
}

/// mosquitto_pub / mosquitto_sub (Debian's mosquitto-clients, installed by .ci/run): an MQTT
/// client that is not ours, proving the wire format is standard MQTT 3.1.1, over TLS too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_clients_speak_to_the_mock() {
    use std::process::Command;
    // Missing clients fail the test (they do not skip it): run `.ci/run`, which installs them.
    for tool in ["mosquitto_pub", "mosquitto_sub"] {
        if let Err(e) = Command::new(tool).arg("--help").output() {
            panic!(
                "{tool} cannot run ({e}): install Debian's mosquitto-clients package \
                 (`apt-get install mosquitto-clients`, as .ci/run does)"
            );
        }
    }
    let server = start(config("", &[])).await;
    let port = server.hub_addr.port().to_string();
    let run = move |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let o = Command::new(args[0].clone())
                .args(&args[1..])
                .output()
                .expect("runs");
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
    };
    let id = "mosq-dev";
    let base = |bin: &str, user: String, pass: String| -> Vec<String> {
        [
            bin,
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "mqttv311",
            "-i",
            id,
            "-u",
            &user,
            "-P",
            &pass,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // Telemetry at QoS 1: mosquitto_pub exits 0 only after the PUBACK.
    let mut a = base(
        "mosquitto_pub",
        HubUsername::format(HUB_HOST, id),
        hub_token(id, unix_now() + 600),
    );
    a.extend(
        [
            "-t",
            &format!("devices/{id}/messages/events/"),
            "-m",
            "{\"t\":21.5}",
            "-q",
            "1",
        ]
        .map(String::from),
    );
    let (code, err) = run(a).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    // A bad token: refused, and mosquitto_pub says so.
    let mut a = base(
        "mosquitto_pub",
        HubUsername::format(HUB_HOST, id),
        hub_token("other", unix_now() + 600),
    );
    a.extend(
        [
            "-t",
            &format!("devices/{id}/messages/events/"),
            "-m",
            "x",
            "-q",
            "1",
        ]
        .map(String::from),
    );
    let (code, _) = run(a).await.unwrap();
    assert_ne!(code, Some(0));
    // DPS: subscribe to the response topic with mosquitto_sub (SUBACK, then times out), and a
    // register PUBLISH at QoS 1 with mosquitto_pub.
    let mut a = base(
        "mosquitto_sub",
        DpsUsername::format(SCOPE, id),
        dps_token(id, unix_now() + 600),
    );
    a.extend(
        [
            "-t",
            "$dps/registrations/res/#",
            "-q",
            "1",
            "-W",
            "1",
            "-C",
            "1",
        ]
        .map(String::from),
    );
    let sub = run(a);
    let mut a = base(
        "mosquitto_pub",
        DpsUsername::format(SCOPE, id),
        dps_token(id, unix_now() + 600),
    );
    let body = format!("{{\"registrationId\":\"{id}\"}}");
    a.extend(
        [
            "-t",
            "$dps/registrations/PUT/iotdps-register/?$rid=1",
            "-m",
            &body,
            "-q",
            "1",
        ]
        .map(|s: &str| s.to_string()),
    );
    let (code, err) = run(a).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = sub.await.unwrap();
    // 27 = timed out waiting for a message (the answer went to the publishing connection).
    assert_eq!(code, Some(27), "{err}");
    let snap = server.stats();
    assert_eq!(
        (snap.telemetry, snap.registers, snap.auth_refused),
        (1, 1, 1),
        "{snap:?}"
    );
    server.shutdown().await;

    // Over TLS, trusting only the generated CA and checking the host name.
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start_tls(dir.path()).await;
    let ca = dir.path().join("ca.pem").display().to_string();
    let port = server.hub_addr.port().to_string();
    let a: Vec<String> = [
        "mosquitto_pub",
        "-h",
        "localhost",
        "-p",
        &port,
        "-V",
        "mqttv311",
        "-i",
        id,
        "--cafile",
        &ca,
        "-u",
        &HubUsername::format(HUB_HOST, id),
        "-P",
        &hub_token(id, unix_now() + 600),
        "-t",
        &format!("devices/{id}/messages/events/"),
        "-m",
        "x",
        "-q",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, err) = run(a).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(server.stats().telemetry, 1);
    server.shutdown().await;
}

/// reference §1e: a throttled DPS request is answered on `res/429/?$rid=…&retry-after=N` with
/// an error body, and the same limits as the virtual engine decide when (one registration a
/// second, a bucket one deep: the second register at once is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_register_gets_429_with_retry_after_and_an_error_body() {
    let server = start(config(
        "[dps.limits]\nregistrations_per_min = 60\nburst = \"1s\"\n",
        &[],
    ))
    .await;
    let id = "throttled-1";
    let o = options(
        server.dps_addr,
        id,
        DpsUsername::format(SCOPE, id),
        dps_token(id, unix_now() + 3600),
    );
    let (c, mut ev) = connect(o).await.expect("DPS CONNACK 0");
    c.subscribe("$dps/registrations/res/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let body = format!(r#"{{"registrationId": "{id}"}}"#);
    let mut answers = Vec::new();
    for rid in ["1", "2"] {
        c.publish(
            DpsRequest::register_topic(rid),
            QoS::AtLeastOnce,
            false,
            body.clone(),
        )
        .await
        .unwrap();
        let p = next_publish(&mut ev).await.expect("register answer");
        let t = DpsResponseTopic::parse(&p.topic).expect("a DPS response topic");
        answers.push((t, p.payload));
    }
    assert_eq!(answers[0].0.status, 202);
    let (t, payload) = &answers[1];
    assert_eq!((t.status, t.rid.as_str()), (429, "2"));
    assert!(t.retry_after_s.is_some_and(|s| s >= 1), "{t:?}");
    let e: serde_json::Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(e["errorCode"], 429001, "{e}");
    assert!(
        e["trackingId"].is_string() && e["message"].is_string(),
        "{e}"
    );
}
