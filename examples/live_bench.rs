//! Live scale benchmark: `fleetsim run --engine live` against `fleetsim mock` in another
//! process, on loopback, beside the naive baseline of one rumqttc `AsyncClient` per device.
//!
//!     cargo build --release && cargo run --release --example live_bench -- [DEVICES] [SHARDS]
//!
//! Prints, for the generator: concurrent devices, connects/s (plain and TLS), the wire connect
//! latency p50/p99 (TCP connect to CONNACK), messages/s, CPU per connection and client memory
//! per connected device (both marginal: the difference between a large and a small run, so
//! the process's fixed cost does not flatter or punish either client); then the same for the
//! rumqttc baseline and the ratios; then SHARDS generator processes against SHARDS mocks at
//! once, for the concurrency one box holds. Defaults: 18,000 devices, 3 shards of 17,000.

// A benchmark reads clocks and spawns processes by nature.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A connect ramp the generator paces: `devices` spread uniformly over the window; one QoS 1
/// message each; a late device keeps every connection open until `hold`.
fn scenario(devices: u64, window_s: f64, hold_s: f64) -> String {
    format!(
        r#"[scenario]
name = "live-bench"
description = "{devices} devices connect over {window_s} s, send one message, hold until {hold_s} s"
[run]
seed = 1
max_duration = "10m"
[fleet]
devices = {devices}
registered_share = 1.0
cached_assignment_share = 1.0
[device]
telemetry = "first"
telemetry_size = 200
[[fleet.class]]
name = "device"
share = 0.9999
boot_delay = "0s"
[[fleet.class]]
name = "holder"
share = 0.0001
boot_delay = "{hold_s}s"
[arrival]
kind = "burst"
window = "{window_s}s"
spread = "uniform"
[hub]
count = 1
tier = "S3"
units = 10
connect_latency = "0s"
telemetry_latency = "0s"
"#
    )
}

struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fleetsim_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/live_bench → target/release/fleetsim
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("fleetsim"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} not found: cargo build --release first",
        bin.display()
    );
    bin
}

/// `fleetsim mock` with high limits; returns it and its address.
fn mock(tls_dir: Option<&Path>) -> (Guard, String) {
    let mut cmd = Command::new(fleetsim_bin());
    cmd.args([
        "mock",
        "--listen",
        "127.0.0.1:0",
        "--allow-any",
        "--stats-every",
        "3600",
        "--tier",
        "S3",
        "--units",
        "10",
        "--set",
        "hub.connect_latency=0s",
        "--set",
        "hub.telemetry_latency=0s",
    ]);
    if let Some(d) = tls_dir {
        cmd.arg("--tls-self-signed").arg(d);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mock");
    let out = child.stdout.take().unwrap();
    let g = Guard(child);
    let mut lines = BufReader::new(out).lines();
    let addr = loop {
        let l = lines.next().expect("mock output").unwrap();
        if let Some(a) = l.split("://").nth(1) {
            break a.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (g, addr)
}

struct GenRun {
    devices: u64,
    wall_s: f64,
    cpu_s: f64,
    peak_rss: u64,
    peak_open: u64,
    wire_p50: f64,
    wire_p99: f64,
    connect_p99: f64,
    messages: u64,
    window_s: f64,
    lag_p99: f64,
}

/// Runs the generator as a child process and reads its results and rusage.
fn generate(
    addr: &str,
    devices: u64,
    window_s: f64,
    hold_s: f64,
    ca: Option<&Path>,
    extra: &[String],
) -> GenRun {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("bench.toml");
    std::fs::write(&sc, scenario(devices, window_s, hold_s)).unwrap();
    let mut cmd = Command::new(fleetsim_bin());
    cmd.current_dir(dir.path())
        .arg("run")
        .arg(&sc)
        .args(["--engine", "live", "--dps", addr, "--hub", addr, "--quiet"])
        .args(["--out", "r"])
        .args(extra)
        .env(
            "FLEETSIM_GROUP_KEY",
            "c2VjcmV0LWZvci1iZW5jaC1vbmx5LTMyLWJ5dGVzISE=",
        );
    match ca {
        Some(ca) => {
            cmd.arg("--ca").arg(ca);
        }
        None => {
            cmd.arg("--no-tls");
        }
    }
    let (status, cpu_s, peak_rss) = run_measured(cmd);
    assert!(status == 0, "generator exited {status}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/summary.json")).unwrap())
            .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/run.json")).unwrap())
            .unwrap();
    let live = &s["live"];
    GenRun {
        devices,
        wall_s: info["wall_s"].as_f64().unwrap(),
        cpu_s,
        peak_rss,
        peak_open: live["connections"]["peak_open"].as_u64().unwrap(),
        wire_p50: live["wire_connect_ms"]["p50"].as_f64().unwrap(),
        wire_p99: live["wire_connect_ms"]["p99"].as_f64().unwrap(),
        connect_p99: s["operations"]["hub.connect"]["latency_ms"]["p99"]
            .as_f64()
            .unwrap_or(0.0),
        messages: s["operations"]["hub.telemetry"]["ok"].as_u64().unwrap(),
        window_s,
        lag_p99: live["generator_lag_ms"]["p99"].as_f64().unwrap(),
    }
}

/// Spawns, waits, and returns (exit code, user+sys CPU seconds, peak RSS bytes) via wait4.
fn run_measured(mut cmd: Command) -> (i32, f64, u64) {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; pointers are valid for the call.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    std::mem::forget(child);
    let cpu = ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6;
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, cpu, ru.ru_maxrss as u64 * 1024)
}

fn self_cpu() -> f64 {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6
}

fn rss_now() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// The naive baseline: one rumqttc AsyncClient (and its event loop task) per device, each
/// connecting, publishing one QoS 1 message and staying connected. Returns (memory per
/// connected client, CPU seconds per connection, wall seconds, connect p99 ms).
fn rumqttc_baseline(addr: &str, n: usize) -> (f64, f64, f64, f64) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let _ = rlimit::increase_nofile_limit(rlimit::INFINITY);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let (host, port) = (host.to_string(), port.parse::<u16>().unwrap());
    let rss0 = rss_now();
    let cpu0 = self_cpu();
    let t0 = Instant::now();
    let (lat, held) = rt.block_on(async move {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (host, _) = (host.clone(), ());
            handles.push(tokio::spawn(async move {
                let mut o = MqttOptions::new(format!("base-{i:06}"), host, port);
                o.set_keep_alive(Duration::from_secs(240));
                o.set_credentials(
                    format!("localhost/base-{i:06}/?api-version=2021-04-12"),
                    "x",
                );
                let (client, mut ev) = AsyncClient::new(o, 10);
                let start = Instant::now();
                let mut connected = None;
                let mut acked = false;
                while !acked {
                    match ev.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            connected = Some(start.elapsed());
                            client
                                .publish(
                                    format!("devices/base-{i:06}/messages/events/"),
                                    QoS::AtLeastOnce,
                                    false,
                                    vec![b'x'; 200],
                                )
                                .await
                                .unwrap();
                        }
                        Ok(Event::Incoming(Packet::PubAck(_))) => acked = true,
                        Ok(_) => {}
                        Err(_) => return (None, None),
                    }
                }
                // Hold the connection (and its event loop) until the end of the benchmark.
                let keep = tokio::spawn(async move {
                    let _c = client;
                    loop {
                        if ev.poll().await.is_err() {
                            return;
                        }
                    }
                });
                (connected, Some(keep))
            }));
        }
        let mut lat = Vec::new();
        let mut held = Vec::new();
        for h in handles {
            if let Ok((Some(l), Some(k))) = h.await {
                lat.push(l);
                held.push(k);
            }
        }
        (lat, held)
    });
    let wall = t0.elapsed().as_secs_f64();
    let cpu = self_cpu() - cpu0;
    let rss = rss_now().saturating_sub(rss0);
    let connected = held.len();
    let mut lat = lat;
    lat.sort();
    let p99 = lat
        .get((lat.len() * 99 / 100).min(lat.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);
    for h in held {
        h.abort();
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    assert!(connected > 0, "no baseline client connected");
    (
        rss as f64 / connected as f64,
        cpu / connected as f64,
        wall,
        p99,
    )
}

/// Connects per second the plain runs intend: the ramp the generator must keep.
const RATE: f64 = 5_000.0;
/// The small run's devices (and the fewest the TLS run takes).
const SMALL: u64 = 1_000;

/// What the plain runs measured per connection, marginally, for the baseline's ratios.
struct PerConnection {
    /// Client memory per connected device, bytes.
    memory: f64,
    /// CPU seconds per connection.
    cpu_s: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(18_000);
    let shards: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    println!("live benchmark: fleetsim mock in another process, 127.0.0.1, 2 cores shared");
    let plain = plain(n);
    tls(n);
    baseline(n, &plain);
    if shards > 0 {
        shards_at_once(shards);
    }
}

/// Plain: a small and a large run, so memory and CPU per connection are marginal figures.
fn plain(n: u64) -> PerConnection {
    let (_m, addr) = mock(None);
    let a = generate(
        &addr,
        SMALL,
        SMALL as f64 / RATE,
        SMALL as f64 / RATE + 2.0,
        None,
        &[],
    );
    drop(_m);
    let (_m, addr) = mock(None);
    let b = generate(&addr, n, n as f64 / RATE, n as f64 / RATE + 3.0, None, &[]);
    drop(_m);
    let per_dev = (b.peak_rss as f64 - a.peak_rss as f64) / (b.devices - a.devices) as f64;
    let cpu_per = (b.cpu_s - a.cpu_s) / (b.devices - a.devices) as f64;
    println!(
        "fleetsim (plain): {} concurrent devices; intended {:.0} connects/s over {:.1} s; wire \
         connect p50 {:.2} ms p99 {:.2} ms; hub.connect p99 {:.1} ms (from intended time); \
         generator lag p99 {:.1} ms; {} messages, {:.0}/s; CPU {:.3} ms/connection; client \
         memory {:.2} KiB/connected device (peak RSS {:.1} MiB at {}); wall {:.1} s",
        b.peak_open,
        b.devices as f64 / b.window_s,
        b.window_s,
        b.wire_p50,
        b.wire_p99,
        b.connect_p99,
        b.lag_p99,
        b.messages,
        b.messages as f64 / b.window_s,
        cpu_per * 1e3,
        per_dev / 1024.0,
        b.peak_rss as f64 / 1048576.0,
        b.devices,
        b.wall_s
    );
    PerConnection {
        memory: per_dev,
        cpu_s: cpu_per,
    }
}

/// TLS: handshakes cost CPU on both ends of these 2 cores; paced at 1,000/s.
fn tls(n: u64) {
    let tls_dir = tempfile::tempdir().unwrap();
    let (_m, addr) = mock(Some(tls_dir.path()));
    let ca = tls_dir.path().join("ca.pem");
    let tn = (n / 6).max(SMALL);
    let tls_rate = 1_000.0;
    let t = generate(
        &addr.replace("127.0.0.1", "localhost"),
        tn,
        tn as f64 / tls_rate,
        tn as f64 / tls_rate + 3.0,
        Some(&ca),
        &[],
    );
    drop(_m);
    println!(
        "fleetsim (TLS): {} devices; intended {:.0} connects/s; wire connect (TCP+TLS+MQTT) \
         p50 {:.2} ms p99 {:.2} ms; hub.connect p99 {:.1} ms; peak RSS {:.1} MiB",
        t.peak_open,
        t.devices as f64 / t.window_s,
        t.wire_p50,
        t.wire_p99,
        t.connect_p99,
        t.peak_rss as f64 / 1048576.0
    );
}

/// The naive baseline, against a fresh mock, beside the plain runs' figures.
fn baseline(n: u64, plain: &PerConnection) {
    let (_m, addr) = mock(None);
    let bn = n.min(15_000) as usize;
    let (mem, cpu, wall, p99) = rumqttc_baseline(&addr, bn);
    drop(_m);
    println!(
        "rumqttc AsyncClient per device: {bn} clients, unpaced burst in {wall:.1} s (connect p99 \
         {p99:.0} ms); {:.2} KiB/connected device; CPU {:.3} ms/connection",
        mem / 1024.0,
        cpu * 1e3
    );
    println!(
        "ratios: memory per device rumqttc/fleetsim {:.1}x; CPU per connection {:.1}x",
        mem / plain.memory,
        cpu / plain.cpu_s
    );
}

/// Shards: SHARDS generators and SHARDS mocks at once, each pair holding its slice.
fn shards_at_once(shards: u64) {
    let per = 17_000u64;
    let mocks: Vec<(Guard, String)> = (0..shards).map(|_| mock(None)).collect();
    let t0 = Instant::now();
    let window = per as f64 / 2_000.0;
    let runs: Vec<GenRun> = std::thread::scope(|s| {
        let hs: Vec<_> = mocks
            .iter()
            .enumerate()
            .map(|(i, (_, addr))| {
                let addr = addr.clone();
                let shard = vec!["--shard".to_string(), format!("{i}/{shards}")];
                // One fleet of per × shards devices; shard i drives every shards-th one.
                s.spawn(move || generate(&addr, per * shards, window, window + 8.0, None, &shard))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let held: u64 = runs.iter().map(|r| r.peak_open).sum();
    println!(
        "shards: {shards} generator processes × {per} devices against {shards} mocks: {held} \
         devices connected at once (each holds its slice until the last boots), {:.1} s; \
         wire p99 per shard: {}",
        t0.elapsed().as_secs_f64(),
        runs.iter()
            .map(|r| format!("{:.1} ms", r.wire_p99))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
