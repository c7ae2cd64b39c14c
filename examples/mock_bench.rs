//! Benchmark of `fleetsim mock`: starts the release binary as its own process (limits lifted,
//! any password), opens N connections with a lean raw MQTT client, and prints connections/s,
//! messages/s, DPS flows/s, the server's memory per idle connection and TLS handshakes/s.
//!
//! ```sh
//! cargo build --release && cargo run --release --example mock_bench -- 18000
//! ```
//! (args: connections [default 18000], messages per connection [5], DPS flows [2000],
//! TLS handshakes [2000]). The open-file limit applies per process: the server and this
//! client each hold N sockets.

// A benchmark measures wall-clock time: the clock is its whole point.
#![allow(clippy::disallowed_methods)]

use bytes::BytesMut;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, Packet, Publish, Subscribe};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const MAX: usize = 1 << 20;

struct Client<S> {
    io: S,
    buf: BytesMut,
    out: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, p: Packet) -> std::io::Result<()> {
        self.out.clear();
        p.write(&mut self.out, MAX).map_err(std::io::Error::other)?;
        self.io.write_all(&self.out).await
    }
    async fn recv(&mut self) -> std::io::Result<Packet> {
        loop {
            match Packet::read(&mut self.buf, MAX) {
                Ok(p) => return Ok(p),
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(e) => return Err(std::io::Error::other(e)),
            }
            self.buf.reserve(256);
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
    async fn connect(io: S, id: &str, user: String) -> std::io::Result<Client<S>> {
        let mut c = Client {
            io,
            buf: BytesMut::new(),
            out: BytesMut::new(),
        };
        let mut p = Connect::new(id);
        p.keep_alive = 600;
        p.set_login(user, "x");
        c.send(Packet::Connect(p)).await?;
        match c.recv().await? {
            Packet::ConnAck(a) if a.code as u8 == 0 => Ok(c),
            p => Err(std::io::Error::other(format!("refused: {p:?}"))),
        }
    }
}

/// Connects from 127.0.0.2–127.0.0.17 in turn (loopback only): each source address has its
/// own ephemeral ports, so 18k connections never make the client search for a free one.
async fn connect_spread(i: usize, addr: SocketAddr) -> std::io::Result<TcpStream> {
    if !addr.ip().is_loopback() || !addr.is_ipv4() {
        return TcpStream::connect(addr).await;
    }
    let src = std::net::Ipv4Addr::new(127, 0, 0, 2 + (i % 16) as u8);
    let s = tokio::net::TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((src, 0)))?;
    s.connect(addr).await
}

/// Sockets the server process holds open (what the open-file limit counts).
fn server_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|l| l.to_string_lossy().starts_with("socket:"))
                .count()
        })
        .unwrap_or(0)
}

fn hub_user(id: &str) -> String {
    format!("localhost/{id}/?api-version=2021-04-12")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn start_server(extra: &[&str]) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("fleetsim");
    let mut cmd = Command::new(&bin);
    cmd.args([
        "mock",
        "--listen",
        "127.0.0.1:0",
        "--allow-any",
        "--stats-every",
        "3600",
    ]);
    for s in [
        "hub.limits.connects_per_s=1000000000",
        "hub.limits.d2c_per_s=1000000000",
        "hub.limits.messages_per_day=1000000000000",
        "dps.limits.registrations_per_min=1000000000",
        "dps.limits.operations_per_min=1000000000",
        "dps.limits.polls_per_device=1000",
        "dps.latency=\"1ms\"",
        "dps.assignment_time=\"1ms\"",
        "hub.connect_latency=\"1ms\"",
        "hub.telemetry_latency=\"1ms\"",
    ] {
        cmd.args(["--set", s]);
    }
    cmd.args(extra).stdout(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release first)", bin.display()));
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let addr = loop {
        let l = lines.next().expect("server output").unwrap();
        if let Some(a) = l.split("://").nth(1) {
            break a.trim().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn arg(i: usize, d: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(d)
}

/// The command line: every argument positional, each with its default.
struct Args {
    /// Hub connections opened and kept for the storm, the idle memory and the telemetry.
    connections: usize,
    /// QoS 1 messages each of those connections publishes.
    messages: usize,
    /// DPS register + poll flows.
    flows: usize,
    /// TLS handshakes (each followed by CONNECT).
    tls: usize,
}

fn parse_args() -> Args {
    Args {
        connections: arg(1, 18_000),
        messages: arg(2, 5),
        flows: arg(3, 2_000),
        tls: arg(4, 2_000),
    }
}

/// Step 1, the connect storm: N hub connections, CONNECT → CONNACK, kept open.
/// In batches, each from 16 loopback source addresses (one address alone makes the
/// client's connect() search for a free ephemeral port past ~14k connections).
async fn connect_storm(
    addr: SocketAddr,
    n: usize,
    gate: &Arc<Semaphore>,
) -> Vec<Client<TcpStream>> {
    let batch = 6_000;
    let t = Instant::now();
    let mut clients = Vec::with_capacity(n);
    let mut failed = 0;
    let mut start = 0;
    while start < n {
        let tb = Instant::now();
        let end = (start + batch).min(n);
        let mut tasks = Vec::with_capacity(batch);
        for i in start..end {
            let gate = gate.clone();
            tasks.push(tokio::spawn(async move {
                let _p = gate.acquire().await.unwrap();
                let id = format!("b{i}");
                let io = connect_spread(i, addr).await?;
                Client::connect(io, &id, hub_user(&id)).await
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                Ok(c) => clients.push(c),
                Err(_) => failed += 1,
            }
        }
        let dt = tb.elapsed().as_secs_f64();
        println!(
            "connect batch {start}..{end}: {:.0} connections/s ({} open)",
            (end - start) as f64 / dt,
            clients.len()
        );
        start = end;
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "connect: {} connections in {dt:.2} s = {:.0} connections/s ({failed} failed)",
        clients.len(),
        clients.len() as f64 / dt
    );
    clients
}

/// The server's sockets and memory with `idle` connections open, against its RSS before
/// (`base` KiB).
async fn print_idle_memory(pid: u32, base: u64, idle: usize) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "server holds {} sockets (listener included)",
        server_sockets(pid)
    );
    let rss = rss_kib(pid);
    println!(
        "memory: server RSS {base} KiB -> {rss} KiB with {idle} idle connections = {:.2} KiB per connection",
        (rss.saturating_sub(base)) as f64 / idle.max(1) as f64
    );
}

/// Step 2, telemetry: every connection publishes `msgs` QoS 1 messages and awaits each PUBACK.
async fn telemetry(clients: Vec<Client<TcpStream>>, msgs: usize) -> Vec<Client<TcpStream>> {
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (i, mut c) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let topic = format!("devices/b{i}/messages/events/");
            let mut ok = 0u64;
            for k in 0..msgs {
                let mut p = Publish::new(topic.clone(), QoS::AtLeastOnce, vec![b'x'; 300]);
                p.pkid = k as u16 + 1;
                if c.send(Packet::Publish(p)).await.is_err() {
                    break;
                }
                if let Ok(Packet::PubAck(_)) = c.recv().await {
                    ok += 1;
                }
            }
            (ok, c)
        }));
    }
    let mut sent = 0;
    let mut clients = Vec::new();
    for t in tasks {
        let (ok, c) = t.await.unwrap();
        sent += ok;
        clients.push(c);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "telemetry: {sent} QoS 1 messages in {dt:.2} s = {:.0} messages/s",
        sent as f64 / dt
    );
    clients
}

/// One DPS flow: connect, subscribe, register, poll until assigned (`None` if it fails).
async fn dps_flow(i: usize, addr: SocketAddr) -> Option<()> {
    let id = format!("r{i}");
    let io = TcpStream::connect(addr).await.ok()?;
    let user = format!("0ne00000000/registrations/{id}/api-version=2019-03-31");
    let mut c = Client::connect(io, &id, user).await.ok()?;
    let s = Subscribe::new("$dps/registrations/res/#", QoS::AtLeastOnce);
    c.send(Packet::Subscribe(s)).await.ok()?;
    let body = format!("{{\"registrationId\":\"{id}\"}}");
    let p = Publish::new(
        "$dps/registrations/PUT/iotdps-register/?$rid=1",
        QoS::AtMostOnce,
        body,
    );
    c.send(Packet::Publish(p)).await.ok()?;
    let mut op = None;
    loop {
        match c.recv().await.ok()? {
            Packet::Publish(p) if p.topic.contains("/res/202/") && op.is_none() => {
                let v: serde_json::Value = serde_json::from_slice(&p.payload).ok()?;
                let id = v["operationId"].as_str()?.to_string();
                tokio::time::sleep(Duration::from_millis(5)).await;
                let t = format!(
                    "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId={id}"
                );
                c.send(Packet::Publish(Publish::new(t, QoS::AtMostOnce, " ")))
                    .await
                    .ok()?;
                op = Some(id);
            }
            Packet::Publish(p) if p.topic.contains("/res/202/") => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let t = format!(
                    "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId={}",
                    op.as_deref()?
                );
                c.send(Packet::Publish(Publish::new(t, QoS::AtMostOnce, " ")))
                    .await
                    .ok()?;
            }
            Packet::Publish(p) if p.topic.contains("/res/200/") => return Some(()),
            Packet::Publish(_) => return None,
            _ => {}
        }
    }
}

/// Step 3, DPS: `flows` register + poll flows.
async fn dps_flows(addr: SocketAddr, flows: usize, gate: &Arc<Semaphore>) {
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..flows {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _p = gate.acquire().await.unwrap();
            dps_flow(i, addr).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap().is_some() as u32;
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "dps: {ok} of {flows} register+poll flows in {dt:.2} s = {:.0} flows/s",
        ok as f64 / dt
    );
}

/// A TLS client that trusts only the CA in `ca` (PEM).
fn tls_connector(ca: &[u8]) -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

/// Step 4, TLS handshakes, each followed by CONNECT; the connections stay open until all are done.
async fn tls_handshakes(
    addr: SocketAddr,
    conn: tokio_rustls::TlsConnector,
    tls_n: usize,
    gate: &Arc<Semaphore>,
) {
    use tokio_rustls::rustls::pki_types::ServerName;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..tls_n {
        let (gate, conn) = (gate.clone(), conn.clone());
        tasks.push(tokio::spawn(async move {
            let _p = gate.acquire().await.unwrap();
            let io = TcpStream::connect(addr).await.ok()?;
            let name = ServerName::try_from("localhost").ok()?;
            let s = conn.connect(name, io).await.ok()?;
            let id = format!("t{i}");
            Client::connect(s, &id, hub_user(&id)).await.ok()
        }));
    }
    let mut ok = 0;
    let mut keep = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            ok += 1;
            keep.push(c);
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "tls: {ok} of {tls_n} TLS handshakes + CONNECT in {dt:.2} s = {:.0} handshakes/s",
        ok as f64 / dt
    );
    drop(keep);
}

fn stop_server(mut server: Child) {
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    // The client holds as many sockets as the server: lift its soft open-file limit too (the
    // server process lifts its own when it starts).
    fleetsim::sys::raise_fd_limit();
    let (server, addr) = start_server(&[]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = rss_kib(server.id());
    let gate = Arc::new(Semaphore::new(2_000));

    let clients = connect_storm(addr, args.connections, &gate).await;
    print_idle_memory(server.id(), base, clients.len()).await;
    let clients = telemetry(clients, args.messages).await;
    drop(clients);
    tokio::time::sleep(Duration::from_millis(500)).await;
    dps_flows(addr, args.flows, &gate).await;
    stop_server(server);

    // A separate server with a generated CA for the TLS handshakes.
    let dir = std::env::temp_dir().join(format!("fleetsim-bench-{}", std::process::id()));
    let dirs = dir.display().to_string();
    let (server, addr) = start_server(&["--tls-self-signed", &dirs]);
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    tls_handshakes(addr, tls_connector(&ca), args.tls, &gate).await;
    stop_server(server);
    let _ = std::fs::remove_dir_all(&dir);
}
