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
//!
//! The modules, in the order a run goes through them: `endpoints` (the in-process mock, or the
//! endpoints given, resolved), `ctx` (what the device tasks share), `device` (the fleet's
//! tasks), `books` (each worker thread's measurements, replayed into the one recorder),
//! `watch` (the engine's ticks and stop conditions), `finish` (shutdown and the results).

mod books;
mod ctx;
mod device;
mod endpoints;
mod finish;
pub mod https;
pub mod mqtt;
pub mod net;
mod receiver;
mod watch;

use crate::engine::StopReason;
use crate::protocol::sas;
use crate::protocol::telemetry::SequenceTracker;
use crate::results::Recorder;
use crate::scenario::Scenario;
use crate::summary::live::LiveSummary;
use crate::summary::shard::Shard;
use crate::time::SimTime;
use books::Replay;
use ctx::Ctx;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

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
    // As many as the runtime has (tokio's default: one per CPU); more threads share books.
    let workers = o.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n.max(1),
    );
    let result = rt.block_on(drive(
        sc,
        o,
        devices,
        workers,
        warnings,
        &mut progress,
        stop,
    ));
    rt.shutdown_timeout(Duration::from_millis(500));
    result
}

/// One run on the runtime: endpoints, the shared context, the fleet, the ticks until the
/// stop, then shutdown and the results.
async fn drive(
    sc: Arc<Scenario>,
    o: &LiveOptions,
    devices: u64,
    workers: usize,
    mut warnings: Vec<String>,
    progress: &mut impl FnMut(&LiveProgress),
    stop: &AtomicBool,
) -> Result<LiveResult, LiveError> {
    let sequences = Arc::new(SequenceTracker::default());
    let mut ep = endpoints::resolve(&sc, o, &sequences).await?;
    let ctx = Arc::new(Ctx::new(sc.clone(), o, devices, workers, &ep)?);
    let mut replay = Replay::new(Recorder::new(devices, sc.timeline_bucket));
    // A plain broker: a subscriber sees every message and checks the sequence numbers.
    let receiver = if o.hub_mode == HubMode::PlainMqtt {
        let (_, addr) = ep.hub.clone().expect("checked: plain-mqtt has --hub");
        Some(
            receiver::start(addr, sequences.clone())
                .await
                .map_err(|e| LiveError::Failed(format!("plain-mqtt receiver at {addr}: {e}")))?,
        )
    } else {
        None
    };
    let tasks = device::spawn_fleet(&ctx, o, ep.mock.as_ref(), ep.hub.is_some());
    let reason = watch::until_stop(&ctx, o, &mut replay, &mut warnings, progress, stop).await;
    let end = match reason {
        StopReason::MaxDuration => SimTime::ZERO + sc.max_duration,
        _ => ctx.now(),
    };
    let acked = finish::shut_down(&ctx, tasks, receiver, &sequences, ep.mock.take()).await;
    progress(&ctx.progress());
    let ending = finish::Ending {
        end,
        stop: reason,
        acked,
        endpoint: ep.endpoint,
        warnings,
    };
    finish::assemble(ctx, replay, o, &sequences, ending)
}
