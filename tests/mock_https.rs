//! The mock's DPS Device Registration Status Lookup over HTTP/1.1 (reference §1f), on
//! 127.0.0.1 only: answers for unregistered and registered devices (over MQTT and
//! preregistered), SAS refusals, wrong scopes, bodies, methods and paths, throttling with
//! Retry-After, oversized bodies, stalled and idle connections, and TLS with the mock's
//! self-signed CA. Every test is bounded in time and stops by itself.

// Real sockets on the wall clock: SAS expiry needs the Unix time, bounds need Instant.
#![allow(clippy::disallowed_methods)]

mod common;

use bytes::Bytes;
use common::keys::{self, GROUP_KEY, unix_now};
use fleetsim::mock::{Auth, Listen, MockConfig, MockServer};
use fleetsim::protocol::dps::{DpsRequest, DpsResponseTopic, DpsUsername};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const SCOPE: &str = "0ne00111111";
const HUB_HOST: &str = "myhub.example.net";
const LIMIT: Duration = Duration::from_secs(15);
const JSON: &str = "application/json; charset=utf-8";

/// Fast DPS (5 ms latency, 10 ms assignment) with the published limits unless `extra` says;
/// a 1 s connect (request head) timeout.
fn config(extra: &str) -> MockConfig {
    let toml = format!(
        "[scenario]\nname = \"t\"\n[fleet]\ndevices = 1\n[dps]\nlatency = \"5ms\"\n\
         assignment_time = \"10ms\"\nretry_after = \"1s\"\n{extra}"
    );
    let sc = fleetsim::scenario::load_str(&toml, "test", &[]).expect("test scenario");
    let mut c = MockConfig::new(sc);
    c.id_scope = SCOPE.into();
    c.auth = Auth::GroupKey(GROUP_KEY.into());
    c.hub_hostname = HUB_HOST.into();
    c.connect_timeout = Duration::from_secs(1);
    c
}

/// The mock with its MQTT listener and the HTTPS listener, both on 127.0.0.1:0.
async fn start(
    cfg: MockConfig,
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
) -> MockServer {
    let mut s = MockServer::start(cfg, Listen::Shared("127.0.0.1:0".parse().unwrap()), tls)
        .await
        .expect("bind 127.0.0.1:0");
    assert_eq!(s.dps_https_addr, None);
    let a = s.serve_https("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_eq!(s.dps_https_addr, Some(a));
    assert!(a.ip().is_loopback() && a.port() != 0);
    s
}

/// The device's DPS token (reference §1b, §3): for `scope`, expiring at `se`.
fn token_for(scope: &str, id: &str, se: u64) -> String {
    keys::dps_token(&keys::device_key(GROUP_KEY, id), scope, id, se)
}

fn token(id: &str) -> String {
    token_for(SCOPE, id, unix_now() + 3600)
}

fn path(scope: &str, id: &str) -> String {
    format!("/{scope}/registrations/{id}?api-version=2021-10-01")
}

/// A reply, its body parsed as JSON.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    json: serde_json::Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// An error reply as reference §1d shapes it: the body's errorCode, also in the
    /// `x-ms-error-code` header.
    fn error_code(&self) -> u64 {
        let code = self.json["errorCode"].as_u64().expect("errorCode");
        assert!(self.json["trackingId"].is_string(), "{:?}", self.json);
        assert!(self.json["message"].is_string(), "{:?}", self.json);
        assert!(self.json["timestampUtc"].is_string(), "{:?}", self.json);
        assert_eq!(
            self.header("x-ms-error-code"),
            Some(code.to_string().as_str())
        );
        code
    }
}

/// One HTTP/1.1 connection (keep-alive: several requests may go over it).
struct Client(SendRequest<Full<Bytes>>);

impl Client {
    async fn over<IO>(io: IO) -> Client
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = timeout(LIMIT, http1::handshake(TokioIo::new(io)))
            .await
            .expect("handshake in time")
            .expect("HTTP/1.1 handshake");
        tokio::spawn(conn);
        Client(send)
    }

    async fn plain(addr: SocketAddr) -> Client {
        Client::over(TcpStream::connect(addr).await.expect("connect")).await
    }

    async fn send(&mut self, method: Method, path: &str, token: Option<&str>, body: &str) -> Reply {
        let mut r = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            r = r.header(header::AUTHORIZATION, t);
        }
        let req = r.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let resp = timeout(LIMIT, async {
            self.0.ready().await.expect("the connection is still open");
            let resp = self.0.send_request(req).await.expect("a response");
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await.expect("the body").to_bytes();
            (parts, bytes)
        })
        .await
        .expect("a reply in time");
        let (parts, bytes) = resp;
        let reply = Reply {
            status: parts.status.as_u16(),
            json: serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("JSON body ({e}): {:?}", String::from_utf8_lossy(&bytes))
            }),
            headers: parts.headers,
        };
        // Every reply is JSON (reference §1f).
        assert_eq!(reply.header("content-type"), Some(JSON), "{reply:?}");
        reply
    }

    /// A status lookup for `id` with its own token and the body the SDKs send (reference §1f).
    async fn lookup(&mut self, id: &str) -> Reply {
        let body = format!(r#"{{"registrationId":"{id}"}}"#);
        self.send(Method::POST, &path(SCOPE, id), Some(&token(id)), &body)
            .await
    }
}

/// Registers `id` over MQTT (reference §1c) until DPS says assigned.
async fn provision(addr: SocketAddr, id: &str) {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    o.set_credentials(DpsUsername::format(SCOPE, id), token(id));
    let (c, mut ev) = AsyncClient::new(o, 16);
    common::device::send_register(&c, id).await.unwrap();
    let p = next_publish(&mut ev).await;
    assert_eq!(DpsResponseTopic::parse(&p.topic).unwrap().status, 202);
    let op: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
    let op = op["operationId"].as_str().unwrap().to_string();
    for n in 2..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.publish(
            DpsRequest::poll_topic(&n.to_string(), &op),
            QoS::AtLeastOnce,
            false,
            " ",
        )
        .await
        .unwrap();
        let p = next_publish(&mut ev).await;
        if DpsResponseTopic::parse(&p.topic).unwrap().status == 200 {
            let _ = c.disconnect().await;
            return;
        }
    }
    panic!("never assigned");
}

/// The next PUBLISH from DPS.
async fn next_publish(ev: &mut rumqttc::EventLoop) -> rumqttc::Publish {
    loop {
        match timeout(LIMIT, ev.poll()).await.expect("a packet in time") {
            Ok(Event::Incoming(Incoming::Publish(p))) => return p,
            Ok(_) => {}
            Err(e) => panic!("DPS connection: {e:?}"),
        }
    }
}

/// Reads until the peer closes (or resets) the connection, and returns what it sent; fails if
/// it is still open after `limit` (a bound that stops a hung test, not a measurement).
async fn read_to_close(s: &mut TcpStream, limit: Duration) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let r = timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "the server did not close the connection within {limit:?}"
    );
    String::from_utf8_lossy(&got).into_owned()
}

/// Waits until the server holds no connection.
async fn wait_open_zero(server: &MockServer) -> u64 {
    let end = Instant::now() + LIMIT;
    loop {
        let open = server.stats().open;
        if open == 0 || Instant::now() > end {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_is_404_until_the_device_registers_then_200_assigned() {
    let server = start(config(""), None).await;
    let https = server.dps_https_addr.unwrap();
    let id = "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6";
    let mut c = Client::plain(https).await;

    // Never registered: 404 with an error body (reference §1d, §1f).
    let r = c.lookup(id).await;
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.error_code(), 404201);

    // Registered and assigned over MQTT: the bare registrationState (reference §1f).
    provision(server.dps_addr, id).await;
    let r = c.lookup(id).await; // the same keep-alive connection
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["registrationId"], id);
    assert_eq!(r.json["status"], "assigned");
    assert_eq!(r.json["assignedHub"], HUB_HOST);
    assert_eq!(r.json["deviceId"], id);
    assert_eq!(r.json["substatus"], "initialAssignment");
    assert!(r.json["createdDateTimeUtc"].is_string() && r.json["etag"].is_string());
    assert!(
        r.json.get("registrationState").is_none(),
        "no wrapper: {:?}",
        r.json
    );
    assert_eq!(r.header("x-ms-error-code"), None);

    // Preregistered in the in-process mock (as the live engine does): 200 as well; no body
    // at all is fine.
    let pre = "pre-registered-1";
    assert!(server.models().preregister(pre).is_some());
    let r = c
        .send(Method::POST, &path(SCOPE, pre), Some(&token(pre)), "")
        .await;
    assert_eq!(
        (r.status, r.json["deviceId"].as_str()),
        (200, Some(pre)),
        "{r:?}"
    );

    let st = server.stats();
    assert_eq!(
        (st.lookups, st.lookups_throttled, st.auth_refused),
        (3, 0, 0)
    );
    assert!(format!("{st}").contains("lookup 3 (429 0)"), "{st}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_401_and_counted() {
    let server = start(config(""), None).await;
    let mut c = Client::plain(server.dps_https_addr.unwrap()).await;
    let (a, b) = ("device-a", "device-b");
    server.models().preregister(b);
    let cases = [
        ("A's token for B", Some(token(a))),
        ("expired", Some(token_for(SCOPE, b, unix_now() - 3600))),
        ("none", None),
        ("garbage", Some("SharedAccessSignature sr=x".to_string())),
    ];
    for (what, t) in &cases {
        let r = c
            .send(Method::POST, &path(SCOPE, b), t.as_deref(), "")
            .await;
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert_eq!(r.error_code(), 401002, "{what}");
    }
    let st = server.stats();
    assert_eq!(st.auth_refused, cases.len() as u64);
    assert_eq!(st.lookups, 0, "a refused request is not a lookup");
    // B's own token works on the same connection.
    let r = c.lookup(b).await;
    assert_eq!(r.status, 200, "{r:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_bodies_methods_and_paths() {
    let server = start(config(""), None).await;
    let mut c = Client::plain(server.dps_https_addr.unwrap()).await;
    let id = "dev-1";

    // Another ID scope, with a token valid for it: 404 (reference §1d: instance missing).
    let other = "0ne00999999";
    let t = token_for(other, id, unix_now() + 600);
    let r = c.send(Method::POST, &path(other, id), Some(&t), "").await;
    assert_eq!(r.status, 404, "{r:?}");
    r.error_code();

    // A body naming another device: 400004.
    let r = c
        .send(
            Method::POST,
            &path(SCOPE, id),
            Some(&token(id)),
            r#"{"registrationId":"dev-2"}"#,
        )
        .await;
    assert_eq!((r.status, r.error_code()), (400, 400004), "{r:?}");
    // A csr on a lookup: 400 (reference §1f).
    let body = format!(r#"{{"registrationId":"{id}","csr":"MIIB"}}"#);
    let r = c
        .send(Method::POST, &path(SCOPE, id), Some(&token(id)), &body)
        .await;
    assert_eq!(r.status, 400, "{r:?}");

    // The percent-encoded path and a trailing slash name the same device.
    let r = c
        .send(
            Method::POST,
            &format!("/{SCOPE}/registrations/dev%2D1/?api-version=2019-03-31"),
            Some(&token(id)),
            "",
        )
        .await;
    assert_eq!((r.status, r.error_code()), (404, 404201), "{r:?}");

    // An id DPS does not allow (reference §1g: an encoded `/`): 400.
    let r = c
        .send(Method::POST, &path(SCOPE, "a%2Fb"), Some(&token(id)), "")
        .await;
    assert_eq!((r.status, r.error_code()), (400, 400004), "{r:?}");

    // GET on the lookup path: 405 with Allow.
    let r = c
        .send(Method::GET, &path(SCOPE, id), Some(&token(id)), "")
        .await;
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("POST"));
    r.error_code();

    // Other paths: 404.
    for p in [
        format!("/{SCOPE}/registrations/{id}/register?api-version=2021-10-01"),
        "/".to_string(),
        "/favicon.ico".to_string(),
    ] {
        let r = c.send(Method::PUT, &p, Some(&token(id)), "{}").await;
        assert_eq!(r.status, 404, "{p}: {r:?}");
        r.error_code();
    }
    // Lookups count once authenticated: the two bad bodies and the encoded path; the other
    // scope is a refusal, as over MQTT.
    let st = server.stats();
    assert_eq!((st.lookups, st.auth_refused), (3, 1));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_lookups_get_429_with_retry_after() {
    // One operation per second, no burst: the second lookup at once is throttled (reference
    // §1e, §4c; lookups count as operations by default).
    let server = start(
        config("limits = { operations_per_min = 60, burst = \"1s\" }\n"),
        None,
    )
    .await;
    let mut c = Client::plain(server.dps_https_addr.unwrap()).await;
    let id = "dev-throttled";
    let first = c.lookup(id).await;
    assert_eq!(first.status, 404, "{first:?}");
    let r = c.lookup(id).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.error_code(), 429001);
    let retry: u64 = r
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!(retry >= 1, "{retry}");
    let st = server.stats();
    assert_eq!((st.lookups, st.lookups_throttled), (2, 1));
    assert!(format!("{st}").contains("lookup 2 (429 1)"), "{st}");
    // After Retry-After, the lookup goes through again (on a new connection: the server
    // closes one idle for longer than its 1 s request-head timeout).
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let mut c = Client::plain(server.dps_https_addr.unwrap()).await;
    assert_eq!(c.lookup(id).await.status, 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1mb_body_is_413_and_the_server_keeps_serving() {
    let server = start(config(""), None).await;
    let https = server.dps_https_addr.unwrap();
    let id = "dev-big";
    let big = vec![b' '; 1 << 20];
    let head = |framing: &str| {
        format!(
            "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\n{framing}\r\n\r\n",
            path(SCOPE, id),
            token(id)
        )
    };
    // Declared with Content-Length, and chunked (only counted as it arrives).
    let mut chunked = Vec::new();
    for c in big.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    for (framing, body) in [
        (format!("Content-Length: {}", big.len()), big.clone()),
        ("Transfer-Encoding: chunked".to_string(), chunked),
    ] {
        let s = TcpStream::connect(https).await.unwrap();
        let (mut rd, mut wr) = s.into_split();
        let mut req = head(&framing).into_bytes();
        req.extend_from_slice(&body);
        // The server may answer and close before the body is all sent.
        let writer = tokio::spawn(async move {
            let _ = wr.write_all(&req).await;
            wr
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let _ = timeout(LIMIT, async {
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("HTTP/1.1 413"), "{framing}: {got:?}");
        assert!(
            got.to_ascii_lowercase().contains("x-ms-error-code: 413000"),
            "{got}"
        );
        drop(rd);
        let _ = timeout(LIMIT, writer).await;
    }
    // Still serving, on a new connection.
    let mut c = Client::plain(https).await;
    assert_eq!(c.lookup(id).await.status, 404);
    drop(c);
    assert_eq!(wait_open_zero(&server).await, 0);
    server.shutdown().await;
}

/// Which timer closed a connection is told by the counters and by the other timer's length,
/// never by how long the close took: a loaded machine only makes it later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_head_is_closed_by_the_header_timeout() {
    // The header (connect) timeout 1 s; the read timeout an hour, so only the header timeout
    // can close the connection within LIMIT.
    let mut cfg = config("");
    cfg.read_timeout = Duration::from_secs(3600);
    let server = start(cfg, None).await;
    let https = server.dps_https_addr.unwrap();
    let mut s = TcpStream::connect(https).await.unwrap();
    s.write_all(format!("POST {} HTTP/1.1\r\nHost: loc", path(SCOPE, "dev-x")).as_bytes())
        .await
        .unwrap();
    let got = read_to_close(&mut s, LIMIT).await;
    assert!(
        !got.starts_with("HTTP/1.1 2"),
        "half a head answered: {got:?}"
    );
    // The timeout is counted as the connection's task ends: once none is open. Counted as a
    // timeout, not as a malformed request.
    assert_eq!(wait_open_zero(&server).await, 0);
    let st = server.stats();
    assert_eq!((st.idle_timeouts, st.malformed), (1, 0), "{st:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_and_idle_keep_alive_connections_are_closed() {
    let mut cfg = config("");
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.read_timeout = Duration::from_secs(1);
    let server = start(cfg, None).await;
    let https = server.dps_https_addr.unwrap();
    let id = "dev-stall";

    // A body that promises 100 bytes and sends 10: the read timeout ends the body's read (the
    // head was read and authenticated: a lookup counted), the server answers 400 "Bad body"
    // and closes. With no read timeout it would wait for the body forever and fail
    // `read_to_close`.
    let mut s = TcpStream::connect(https).await.unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nContent-Length: 100\r\n\r\n{{\"registr",
        path(SCOPE, id),
        token(id)
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let got = read_to_close(&mut s, LIMIT).await;
    assert!(
        got.starts_with("HTTP/1.1 400") && got.contains("Bad body"),
        "a stalled body: {got:?}"
    );
    assert_eq!(wait_open_zero(&server).await, 0);
    let st = server.stats();
    assert_eq!((st.lookups, st.malformed), (1, 0), "{st:?}");

    // A whole request, answered; then nothing: the idle keep-alive connection is closed
    // (a connection the server kept open would fail `read_to_close`).
    let mut s = TcpStream::connect(https).await.unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nContent-Length: 0\r\n\r\n",
        path(SCOPE, id),
        token(id)
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let got = read_to_close(&mut s, LIMIT).await;
    assert!(got.starts_with("HTTP/1.1 404"), "{got:?}");
    assert_eq!(got.matches("HTTP/1.1 ").count(), 1, "one answer: {got:?}");
    assert_eq!(wait_open_zero(&server).await, 0);
    let st = server.stats();
    assert_eq!((st.lookups, st.malformed), (2, 0), "{st:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_slower_than_the_read_timeout_is_still_answered() {
    // The model's latency (1.5 s) beyond the read timeout (1 s): the connection waits for
    // the answer, it is not idle.
    let toml = "[scenario]\nname = \"t\"\n[fleet]\ndevices = 1\n[dps]\nlatency = \"1500ms\"\n";
    let mut cfg = config("");
    cfg.scenario = fleetsim::scenario::load_str(toml, "test", &[]).unwrap();
    cfg.read_timeout = Duration::from_secs(1);
    let server = start(cfg, None).await;
    let mut c = Client::plain(server.dps_https_addr.unwrap()).await;
    let t0 = Instant::now();
    let r = c.lookup("dev-slow").await;
    assert_eq!(r.status, 404, "{r:?}");
    // That the answer really waited out the read timeout: a lower bound, counted from before
    // the request, which load can only lengthen (no upper bound: that would be a race).
    assert!(
        t0.elapsed() >= Duration::from_millis(1400),
        "the model's latency was not applied: answered after {:?}",
        t0.elapsed()
    );
    // The connection was not timed out meanwhile: it serves a second lookup, and the server
    // counted no timeout.
    assert_eq!(c.lookup("dev-slow").await.status, 404);
    let st = server.stats();
    assert_eq!((st.lookups, st.idle_timeouts), (2, 0), "{st:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_over_tls_with_the_self_signed_ca() {
    use tokio_rustls::TlsConnector;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let dir = tempfile::tempdir().unwrap();
    let s = fleetsim::mock::tls::self_signed(dir.path()).expect("generate certificates");
    let server = start(config(""), Some(s.config)).await;
    let id = "dev-tls";
    server.models().preregister(id);
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(s.ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(server.dps_https_addr.unwrap())
        .await
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = timeout(
        LIMIT,
        TlsConnector::from(std::sync::Arc::new(cfg)).connect(name, tcp),
    )
    .await
    .expect("the handshake ends in time")
    .expect("TLS handshake with the mock's CA");
    let mut c = Client::over(tls).await;
    let r = c.lookup(id).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (r.json["status"].as_str(), r.json["assignedHub"].as_str()),
        (Some("assigned"), Some(HUB_HOST))
    );

    // Plain HTTP to the TLS listener is not served (the handshake fails and is counted).
    let mut p = TcpStream::connect(server.dps_https_addr.unwrap())
        .await
        .unwrap();
    p.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut p, LIMIT).await;
    assert!(!got.starts_with("HTTP/1.1 "), "{got:?}");
    // The server counts the failed handshake as its task ends, which may be just after the
    // client sees the connection close.
    let end = Instant::now() + Duration::from_secs(5);
    while server.stats().tls_failed == 0 && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.stats().tls_failed >= 1, "{:?}", server.stats());
    server.shutdown().await;
}
