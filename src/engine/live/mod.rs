//! The live engine: the same device state machine as the virtual engine, on the wall clock,
//! over real MQTT connections — to an in-process mock on loopback (the default), to any
//! DPS-compatible endpoint and its hubs (real Azure included), or with telemetry to a plain
//! MQTT broker.
//!
//! One tokio task per device; the device's requests become MQTT exchanges (`device`), on a
//! lean client over rumqttc's codec (`mqtt`), through a dialer that paces connects, bounds
//! handshakes in flight and spreads source addresses (`net`). Everything is timed from when
//! the device meant to act, so a saturated generator shows up as latency and as generator lag
//! (reported), never as quietly reduced load.

mod device;
pub mod https;
pub mod mqtt;
pub mod net;
mod receiver;

use crate::engine::StopReason;
use crate::mock::{Auth, Listen, MockConfig, MockServer};
use crate::protocol::sas;
use crate::protocol::telemetry::SequenceTracker;
use crate::results::Recorder;
use crate::scenario::Scenario;
use crate::service::HubId;
use crate::summary::live::{
    Connections, GENERATOR_LAG_TAG, LiveSummary, SequenceCheck, WIRE_CONNECT_TAG,
};
use crate::summary::shard::Shard;
use crate::time::SimTime;
use hdrhistogram::Histogram;
use net::{Dialer, Target};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OnceCell};

/// Where hub connections go and how they authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HubMode {
    /// IoT Hub: username and SAS token per device (reference §2a, §3).
    Azure,
    /// Any MQTT 3.1.1 broker, no authentication; a subscriber checks the sequence numbers.
    PlainMqtt,
}

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a live run connects. With no `dps`, an in-process mock serves DPS (and the hub, unless
/// `hub` is given) on 127.0.0.1.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// `HOST[:PORT]` of a DPS-compatible endpoint (default port 8883).
    pub dps: Option<String>,
    /// `HOST[:PORT]` of DPS's HTTPS endpoint, for status lookups (reference §1f); default the
    /// `dps` host on port 443 (with `tls`) or 80 (without).
    pub dps_https: Option<String>,
    /// `HOST[:PORT]` every hub connection goes to, whatever hub DPS assigned (the assigned
    /// name is still used for usernames, tokens and TLS); also the hub of devices with a
    /// cached assignment. Without it, devices connect to `assignedHub:8883`.
    pub hub: Option<String>,
    pub hub_mode: HubMode,
    pub id_scope: String,
    /// The enrollment group key (from FLEETSIM_GROUP_KEY or a file, never argv).
    pub group_key: Option<Secret>,
    /// TLS to the endpoints given (`dps`, and `hub` in Azure mode); the in-process mock is
    /// plain TCP.
    pub tls: bool,
    /// Trust only this CA (PEM) instead of the system roots.
    pub ca: Option<PathBuf>,
    pub shard: Shard,
    /// Connections opened per second at most, across the process.
    pub max_connect_rate: Option<u32>,
    /// Handshakes (TCP + TLS + CONNECT…CONNACK) in flight at most.
    pub max_handshakes: usize,
    /// Source addresses to spread connections over; None: 127.0.0.2–127.0.0.40 for a
    /// loopback destination on Linux, the system's choice otherwise.
    pub source_addrs: Option<Vec<IpAddr>>,
    /// Worker threads (default: one per CPU).
    pub threads: Option<usize>,
    /// Stop (marked `endpoint_lost`) when no connection has succeeded for this long while
    /// connections keep failing.
    pub endpoint_lost_after: Duration,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            dps: None,
            dps_https: None,
            hub: None,
            hub_mode: HubMode::Azure,
            id_scope: "0ne00000000".into(),
            group_key: None,
            tls: true,
            ca: None,
            shard: Shard::WHOLE,
            max_connect_rate: None,
            max_handshakes: 512,
            source_addrs: None,
            threads: None,
            endpoint_lost_after: Duration::from_secs(15),
        }
    }
}

/// A live run that cannot start (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{0}")]
    Input(String),
    #[error(
        "this run needs about {needed} open files ({devices} devices{mock}) but the process may \
         open {limit} (hard limit {hard}); run it in shards, e.g. --shard 0/{shards} … \
         --shard {last}/{shards} in {shards} processes, then fleetsim merge"
    )]
    Descriptors {
        needed: u64,
        devices: u64,
        mock: &'static str,
        limit: u64,
        hard: u64,
        shards: u64,
        last: u64,
    },
    #[error("{0}")]
    Failed(String),
}

/// A snapshot for progress display.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveProgress {
    pub now: SimTime,
    pub devices: u64,
    pub booted: u64,
    pub online: u64,
    pub settled: u64,
    /// Connections established so far (for a connects/s rate).
    pub connects: u64,
    /// Throttled answers so far (for a throttles/s rate).
    pub throttled: u64,
}

/// What a finished live run hands to the results writer.
pub struct LiveResult {
    pub end: SimTime,
    pub steps: u64,
    pub stop: StopReason,
    pub recorder: Recorder,
    pub live: LiveSummary,
}

/// The measurements every device task writes into, behind one lock (held for one state
/// machine step, a microsecond).
pub(crate) struct Books {
    recorder: Recorder,
    lag: Histogram<u64>,
    late_actions: u64,
    wire_connect: Histogram<u64>,
}

#[derive(Default)]
struct Counters {
    booted: AtomicU64,
    online: AtomicU64,
    settled: AtomicU64,
    throttled: AtomicU64,
    steps: AtomicU64,
    acked: AtomicU64,
    opened: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    open_now: AtomicU64,
    peak_open: AtomicU64,
    /// Transport failures since the last success, and when that was (µs of run time).
    failures_since_ok: AtomicU64,
    last_ok_us: AtomicU64,
}

/// Assigned hub host names, interned to the `HubId`s the device state machine carries, each
/// resolved once.
struct Hubs {
    names: Mutex<Vec<Arc<HubEntry>>>,
    /// `--hub` (or the in-process mock): where every hub connection goes.
    connect_to: Option<std::net::SocketAddr>,
}

struct HubEntry {
    host: String,
    addr: OnceCell<Option<std::net::SocketAddr>>,
}

impl Hubs {
    fn intern(&self, host: &str) -> HubId {
        let mut v = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = v.iter().position(|e| e.host == host) {
            return i as HubId;
        }
        v.push(Arc::new(HubEntry {
            host: host.to_string(),
            addr: OnceCell::new(),
        }));
        (v.len() - 1) as HubId
    }

    async fn target(&self, hub: HubId, ctx: &Ctx) -> Option<Target> {
        let e = self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hub as usize)
            .cloned()?;
        let addr = *e
            .addr
            .get_or_init(|| async {
                match self.connect_to {
                    Some(a) => Some(a),
                    None => net::resolve(&e.host, 8883).await.ok(),
                }
            })
            .await;
        Some(Target {
            host: e.host.clone(),
            addr: addr?,
            tls: ctx.hub_tls,
        })
    }
}

pub(crate) struct Ctx {
    sc: Arc<Scenario>,
    devices: u64,
    start: tokio::time::Instant,
    unix_start_us: u64,
    dialer: Dialer,
    dps: Option<Target>,
    /// DPS's HTTPS endpoint, when a class looks its registration up (reference §1f).
    dps_https: Option<Target>,
    hubs: Hubs,
    hub_tls: bool,
    id_scope: String,
    group_key: Option<Secret>,
    mode: HubMode,
    books: Mutex<Books>,
    counters: Counters,
    all_settled: Notify,
}

impl Ctx {
    fn now(&self) -> SimTime {
        SimTime(self.start.elapsed().as_micros() as u64)
    }

    fn instant(&self, t: SimTime) -> tokio::time::Instant {
        self.start + Duration::from_micros(t.as_micros())
    }

    fn unix_micros(&self) -> u64 {
        self.unix_start_us + self.start.elapsed().as_micros() as u64
    }

    /// A SAS token for `resource`, signed with the device's key derived from the group key
    /// (reference §3); a placeholder without a key (plain brokers, `--allow-any` mocks).
    fn token(&self, device: &str, resource: &str, skn: Option<&str>) -> String {
        let se = self.unix_micros() / 1_000_000 + device::TOKEN_TTL_S;
        self.group_key
            .as_ref()
            .and_then(|k| sas::derive_device_key(&k.0, device).ok())
            .and_then(|key| sas::sign(&key, resource, se, skn).ok())
            .unwrap_or_else(|| "SharedAccessSignature sr=&sig=&se=0".into())
    }

    fn conn_opened(&self) {
        let c = &self.counters;
        c.opened.fetch_add(1, Relaxed);
        let open = c.open_now.fetch_add(1, Relaxed) + 1;
        c.peak_open.fetch_max(open, Relaxed);
    }

    /// A connection ended; `dropped`: not by the device's choice.
    fn conn_closed(&self, dropped: bool) {
        let c = &self.counters;
        c.open_now.fetch_sub(1, Relaxed);
        if dropped {
            c.dropped.fetch_add(1, Relaxed);
        }
    }

    fn transport_failed(&self) {
        self.counters.failed.fetch_add(1, Relaxed);
        self.counters.failures_since_ok.fetch_add(1, Relaxed);
    }

    /// A server answered: an MQTT CONNECT `wire` after the TCP connect started (None: an
    /// HTTPS exchange, not part of `wire_connect_ms`).
    fn transport_ok(&self, wire: Option<Duration>) {
        self.counters.failures_since_ok.store(0, Relaxed);
        self.counters
            .last_ok_us
            .fetch_max(self.now().as_micros(), Relaxed);
        if let Some(wire) = wire {
            let mut b = self.books.lock().unwrap_or_else(|e| e.into_inner());
            record(&mut b.wire_connect, wire.as_micros() as u64);
        }
    }

    fn progress(&self) -> LiveProgress {
        let c = &self.counters;
        LiveProgress {
            now: self.now(),
            devices: self.devices,
            booted: c.booted.load(Relaxed),
            online: c.online.load(Relaxed),
            settled: c.settled.load(Relaxed),
            connects: c.opened.load(Relaxed),
            throttled: c.throttled.load(Relaxed),
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures")
}

/// Records into an auto-resizing histogram (`saturating_record` alone would clamp to its
/// current, tiny, range instead of growing it).
pub(crate) fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Checks that `sc` can run live with `o` (exit 2 otherwise), before anything starts.
pub fn check(sc: &Scenario, o: &LiveOptions) -> Result<(), LiveError> {
    if o.dps_https.is_some() && o.dps.is_none() {
        return Err(LiveError::Input(
            "--dps-https goes with --dps (the in-process mock serves its own)".into(),
        ));
    }
    let cached = sc
        .fleet
        .cached_assignment_share
        .min(sc.fleet.registered_share)
        > 0.0;
    if cached && o.dps.is_some() && o.hub.is_none() {
        return Err(LiveError::Input(
            "devices with a cached hub assignment need to know their hub: give --hub \
             HOST[:PORT], or --set fleet.cached_assignment_share=0"
                .into(),
        ));
    }
    if o.dps.is_some() && o.group_key.is_none() && o.hub_mode == HubMode::Azure {
        return Err(LiveError::Input(format!(
            "no group key for --dps: set {} or give --group-key-file FILE (for a mock started \
             with --allow-any, any base64 key will do)",
            crate::mock::command::GROUP_KEY_ENV
        )));
    }
    if o.hub_mode == HubMode::PlainMqtt && o.hub.is_none() {
        return Err(LiveError::Input(
            "--hub-mode plain-mqtt needs --hub HOST:PORT (the broker)".into(),
        ));
    }
    if let Some(k) = &o.group_key {
        sas::derive_device_key(&k.0, "x")
            .map_err(|_| LiveError::Input("the group key is not valid base64".into()))?;
    }
    Ok(())
}

/// Runs `sc` live. `progress` is called about four times a second; `stop` ends the run early
/// (marked interrupted). The wall clock is read here: the live engine is an edge.
#[allow(clippy::disallowed_methods)]
pub fn run(
    sc: &Scenario,
    o: &LiveOptions,
    mut progress: impl FnMut(&LiveProgress),
    stop: &AtomicBool,
) -> Result<LiveResult, LiveError> {
    check(sc, o)?;
    let devices = o.shard.devices(sc.fleet.devices);
    let in_process = o.dps.is_none();
    let (soft, hard) = net::raise_fd_limit();
    let per_device = if in_process && o.hub.is_none() { 2 } else { 1 };
    let needed = devices * per_device + 64;
    if needed > soft {
        let room = soft.saturating_sub(64) / per_device;
        let shards = devices.div_ceil(room.max(1)).max(2);
        return Err(LiveError::Descriptors {
            needed,
            devices,
            mock: if per_device == 2 {
                " × 2: each connection's other end is the in-process mock's"
            } else {
                ""
            },
            limit: soft,
            hard,
            shards,
            last: shards - 1,
        });
    }
    let mut warnings = Vec::new();
    if let Some(n) = net::time_wait_sockets()
        && n > 1000
    {
        warnings.push(format!(
            "{n} TCP sockets in TIME_WAIT when the run started (a previous run's?): new \
             connections may stall for a second while ports are reused"
        ));
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = o.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .build()
        .map_err(|e| LiveError::Failed(format!("tokio runtime: {e}")))?;
    let sc = Arc::new(sc.clone());
    let result = rt.block_on(drive(sc, o, devices, warnings, &mut progress, stop));
    rt.shutdown_timeout(Duration::from_millis(500));
    result
}

#[allow(clippy::disallowed_methods)]
async fn drive(
    sc: Arc<Scenario>,
    o: &LiveOptions,
    devices: u64,
    mut warnings: Vec<String>,
    progress: &mut impl FnMut(&LiveProgress),
    stop: &AtomicBool,
) -> Result<LiveResult, LiveError> {
    let input = |m: String| LiveError::Input(m);
    let failed = |m: String| LiveError::Failed(m);
    // Endpoints: the in-process mock, or the ones given, resolved once.
    let sequences = Arc::new(SequenceTracker::default());
    let mut mock = None;
    // Status lookups go over HTTPS (reference §1f): only when a class makes them.
    let lookups = sc.fleet.classes.iter().any(|c| c.status_lookup);
    let mut dps_https = None;
    let mut group_key = o.group_key.clone();
    let (dps, hub_default, endpoint, hub_tls) = if o.dps.is_none() {
        let key = Secret(in_process_key(sc.seed));
        let mut cfg = MockConfig::new((*sc).clone());
        cfg.auth = Auth::GroupKey(key.0.clone());
        cfg.id_scope = o.id_scope.clone();
        cfg.sequences = Some(sequences.clone());
        let mut m = MockServer::start(cfg, Listen::Shared("127.0.0.1:0".parse().unwrap()), None)
            .await
            .map_err(|e| failed(format!("in-process mock: {e}")))?;
        if lookups {
            let a = m
                .serve_https("127.0.0.1:0".parse().unwrap())
                .await
                .map_err(|e| failed(format!("in-process mock (https): {e}")))?;
            dps_https = Some(Target {
                host: "localhost".into(),
                addr: a,
                tls: false,
            });
        }
        let addr = m.dps_addr;
        mock = Some(m);
        group_key = Some(key);
        let dps = Target {
            host: "localhost".into(),
            addr,
            tls: false,
        };
        match &o.hub {
            None => (
                Some(dps),
                Some(("localhost".to_string(), addr)),
                "in-process mock".to_string(),
                false,
            ),
            Some(h) => {
                let (host, port) =
                    net::split_host_port(h, 8883).map_err(|e| input(format!("--hub {e}")))?;
                let a = net::resolve(&host, port)
                    .await
                    .map_err(|e| input(format!("--hub {h}: {e}")))?;
                let tls = o.hub_mode == HubMode::Azure && o.tls || o.ca.is_some();
                let what = match o.hub_mode {
                    HubMode::Azure => format!("dps: in-process mock; hub {a}"),
                    HubMode::PlainMqtt => format!("plain-mqtt {a} (dps: in-process mock)"),
                };
                (Some(dps), Some((host, a)), what, tls)
            }
        }
    } else {
        let d = o.dps.as_deref().unwrap_or_default();
        let (host, port) =
            net::split_host_port(d, 8883).map_err(|e| input(format!("--dps {e}")))?;
        let a = net::resolve(&host, port)
            .await
            .map_err(|e| input(format!("--dps {d}: {e}")))?;
        if lookups {
            let port = if o.tls { 443 } else { 80 };
            let (h, p) = match &o.dps_https {
                Some(x) => {
                    net::split_host_port(x, port).map_err(|e| input(format!("--dps-https {e}")))?
                }
                None => (host.clone(), port),
            };
            let addr = net::resolve(&h, p)
                .await
                .map_err(|e| input(format!("--dps-https {h}:{p}: {e}")))?;
            dps_https = Some(Target {
                host: h,
                addr,
                tls: o.tls,
            });
        }
        let dps = Target {
            host,
            addr: a,
            tls: o.tls,
        };
        let hub = match &o.hub {
            None => None,
            Some(h) => {
                let (host, port) =
                    net::split_host_port(h, 8883).map_err(|e| input(format!("--hub {e}")))?;
                let a = net::resolve(&host, port)
                    .await
                    .map_err(|e| input(format!("--hub {h}: {e}")))?;
                Some((host, a))
            }
        };
        let hub_tls = match o.hub_mode {
            HubMode::Azure => o.tls,
            HubMode::PlainMqtt => o.ca.is_some(),
        };
        let what = match (o.hub_mode, &hub) {
            (HubMode::PlainMqtt, Some((_, a))) => format!("plain-mqtt {a} (dps {})", dps.addr),
            (_, Some((_, a))) => format!("dps {}; hub {a}", dps.addr),
            (_, None) => format!("dps {}", dps.addr),
        };
        (Some(dps), hub, what, hub_tls)
    };
    let needs_tls = dps.as_ref().is_some_and(|t| t.tls) || hub_tls;
    let tls = if needs_tls {
        Some(net::tls_config(o.ca.as_deref()).map_err(input)?)
    } else {
        None
    };
    let dest = hub_default
        .as_ref()
        .map(|(_, a)| *a)
        .or(dps.as_ref().map(|t| t.addr));
    let sources = match (&o.source_addrs, dest) {
        (Some(s), _) => s.clone(),
        (None, Some(d)) => net::default_loopback_sources(&d),
        (None, None) => Vec::new(),
    };
    let hubs = Hubs {
        names: Mutex::new(Vec::new()),
        connect_to: hub_default.as_ref().map(|(_, a)| *a),
    };
    if let Some((host, _)) = &hub_default {
        // HubId 0: the hub devices with a cached assignment go back to.
        hubs.intern(host);
    }
    let unix_start_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let ctx = Arc::new(Ctx {
        devices,
        start: tokio::time::Instant::now(),
        unix_start_us,
        dialer: Dialer::new(sources, o.max_connect_rate, o.max_handshakes, tls),
        dps,
        dps_https,
        hubs,
        hub_tls,
        id_scope: o.id_scope.clone(),
        group_key,
        mode: o.hub_mode,
        books: Mutex::new(Books {
            recorder: Recorder::new(devices, sc.timeline_bucket),
            lag: histogram(),
            late_actions: 0,
            wire_connect: histogram(),
        }),
        counters: Counters::default(),
        all_settled: Notify::new(),
        sc: sc.clone(),
    });
    // A plain broker: a subscriber sees every message and checks the sequence numbers.
    let receiver = if o.hub_mode == HubMode::PlainMqtt {
        let (_, addr) = hub_default.clone().expect("checked: plain-mqtt has --hub");
        Some(
            receiver::start(addr, sequences.clone())
                .await
                .map_err(|e| failed(format!("plain-mqtt receiver at {addr}: {e}")))?,
        )
    } else {
        None
    };
    // The fleet: one task per device, each asleep until its boot.
    let mut tasks = tokio::task::JoinSet::new();
    {
        let mut mock_models = mock.as_ref().map(|m| m.models());
        for i in o.shard.iter(sc.fleet.devices) {
            let s = crate::device::setup::setup(&sc, i);
            let cached = if s.cached && hub_default.is_some() {
                Some(0)
            } else {
                None
            };
            if s.registered
                && let Some(m) = mock_models.as_mut()
            {
                m.preregister(&sc.fleet.id_pattern.id(i));
            }
            tasks.spawn(device::run(ctx.clone(), i, s, cached));
        }
    }
    // Wait for the end: every device settled, max_duration, Ctrl-C, or a lost endpoint.
    let max = SimTime::ZERO + sc.max_duration;
    let reason = loop {
        let tick = tokio::time::sleep(Duration::from_millis(250));
        tokio::select! {
            _ = tick => {}
            _ = ctx.all_settled.notified() => {}
        }
        let p = ctx.progress();
        progress(&p);
        if p.settled >= devices {
            break StopReason::AllSettled;
        }
        if p.now >= max {
            break StopReason::MaxDuration;
        }
        if stop.load(Relaxed) {
            break StopReason::Interrupted;
        }
        let c = &ctx.counters;
        let since_ok = p.now.as_micros().saturating_sub(c.last_ok_us.load(Relaxed));
        if c.failures_since_ok.load(Relaxed) >= 10
            && since_ok >= o.endpoint_lost_after.as_micros() as u64
        {
            warnings.push(format!(
                "the endpoint stopped accepting connections: {} failed in a row and none \
                 succeeded for {:.0} s; the run stopped there",
                c.failures_since_ok.load(Relaxed),
                since_ok as f64 / 1e6
            ));
            break StopReason::EndpointLost;
        }
    };
    let end = match reason {
        StopReason::MaxDuration => max,
        _ => ctx.now(),
    };
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Give in-flight messages a moment to reach the receiver before counting them.
    let acked = ctx.counters.acked.load(Relaxed);
    if receiver.is_some() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while sequences.totals().received < acked && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if let Some(r) = receiver {
        r.abort();
    }
    if let Some(m) = mock {
        m.shutdown().await;
    }
    progress(&ctx.progress());
    let ctx = Arc::try_unwrap(ctx).map_err(|_| failed("device tasks outlived the run".into()))?;
    let c = &ctx.counters;
    let mut books = ctx.books.into_inner().unwrap_or_else(|e| e.into_inner());
    books.recorder.finish(end);
    let lag = crate::results::live::lag(&books.lag, books.late_actions);
    if lag.p99 > 100.0 {
        warnings.push(format!(
            "the generator fell behind its schedule: lag p99 {:.0} ms, max {:.0} ms \
             ({} of {} actions more than 100 ms late); latencies include that lag — use \
             --shard, fewer devices, or a faster machine",
            lag.p99, lag.max, lag.late_actions, lag.actions
        ));
    }
    // In histograms.hlog too, so that a merge of shards gets the fleet's percentiles.
    let wire_connect_ms = crate::results::live::wire(&books.wire_connect);
    books.recorder.add_whole_run(GENERATOR_LAG_TAG, books.lag);
    books
        .recorder
        .add_whole_run(WIRE_CONNECT_TAG, books.wire_connect);
    let totals = sequences.totals();
    let in_process_hub = o.dps.is_none() && o.hub.is_none();
    let telemetry_check =
        (in_process_hub || o.hub_mode == HubMode::PlainMqtt).then(|| SequenceCheck {
            acked,
            received: totals.received,
            // Received also counts messages accepted but not yet acknowledged when the run
            // stopped, so a shortfall is loss, and so is a gap in a device's numbers.
            lost: acked.saturating_sub(totals.received).max(totals.gaps),
            duplicates: totals.duplicates,
            reordered: totals.reordered,
        });
    if let Some(t) = &telemetry_check
        && t.lost > 0
    {
        warnings.push(format!(
            "{} acknowledged telemetry messages never reached the receiver",
            t.lost
        ));
    }
    let live = LiveSummary {
        endpoint,
        generator_lag_ms: lag,
        wire_connect_ms,
        connections: Connections {
            opened: c.opened.load(Relaxed),
            failed: c.failed.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            peak_open: c.peak_open.load(Relaxed),
        },
        telemetry_check,
        warnings,
    };
    Ok(LiveResult {
        end,
        steps: c.steps.load(Relaxed),
        stop: reason,
        recorder: books.recorder,
        live,
    })
}

/// The in-process mock's enrollment group key: 32 bytes from the seed (it never leaves the
/// process; the devices derive their keys from it as real ones do, reference §3).
fn in_process_key(seed: u64) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in bytes.iter_mut() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *b = (x >> 33) as u8;
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
