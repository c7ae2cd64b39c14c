//! What every connection shares: the configuration, the service models behind one mutex, the
//! registration-id → device-index map, hub sessions (one per device id), twins, and counters.

use super::stats::Stats;
use crate::protocol::sas::{self, SasError, SasToken};
use crate::quota::Tier;
use crate::scenario::Scenario;
use crate::service::gcra::{Admit, Gcra};
use crate::service::{DpsModel, HubId, HubModel};
use crate::time::{SimDuration, SimTime};
use rumqttc::mqttbytes::QoS;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How devices authenticate.
#[derive(Clone)]
pub enum Auth {
    /// A symmetric-key enrollment group: each device's key is derived from the group key and
    /// its registration id (reference §3). The key is never printed.
    GroupKey(String),
    /// Any password is accepted (pure load work).
    AllowAny,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::GroupKey(_) => f.write_str("GroupKey(<redacted>)"),
            Auth::AllowAny => f.write_str("AllowAny"),
        }
    }
}

/// Everything the mock is configured with.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The `dps` and `hub` sections are used: tier, units, instances, limits, latency.
    pub scenario: Scenario,
    pub id_scope: String,
    pub auth: Auth,
    /// What DPS returns as `assignedHub`, for every hub (the mock tells hubs apart by the
    /// device's registration, not by host name).
    pub hub_hostname: String,
    /// CONNACK return code for a CONNECT refused by the new-connection throttle or a spent
    /// daily quota. reference §2g: UNCONFIRMED which code the hub uses; 3 (server
    /// unavailable) is the one every SDK retries.
    pub throttle_connack: u8,
    /// Clock skew tolerated on a SAS token's expiry, seconds.
    pub skew_s: u64,
    /// How long a new connection may take to send CONNECT (and finish TLS).
    pub connect_timeout: Duration,
    /// How long a packet may take to arrive once its first byte has (a client that sends
    /// half a packet and stalls is closed), and how long a write may wait for a client that
    /// does not read. The keep-alive timeout covers a connection with nothing in flight.
    pub read_timeout: Duration,
    /// Most distinct registration ids the mock will learn (bounds memory against hostile
    /// clients); CONNECTs beyond it are refused with CONNACK 3.
    pub max_devices: usize,
    /// Where accepted telemetry's sequence numbers go (the live engine's in-process mock
    /// checks them for loss and reordering); None: not looked at.
    pub sequences: Option<Arc<crate::protocol::telemetry::SequenceTracker>>,
}

impl MockConfig {
    /// Defaults around a scenario: id scope `0ne00000000`, allow any password, hub host
    /// `localhost`.
    pub fn new(scenario: Scenario) -> MockConfig {
        MockConfig {
            scenario,
            id_scope: "0ne00000000".into(),
            auth: Auth::AllowAny,
            hub_hostname: "localhost".into(),
            throttle_connack: 3,
            skew_s: sas::DEFAULT_SKEW_S,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_devices: 10_000_000,
            sequences: None,
        }
    }
}

/// A device twin as the mock keeps it: reported properties and their version.
#[derive(Default)]
pub struct Twin {
    pub reported: serde_json::Map<String, serde_json::Value>,
    pub version: u64,
}

pub struct Models {
    pub dps: DpsModel,
    pub hub: HubModel,
    /// Registration id (= device id, group enrollment, reference §1g) → DPS device index.
    pub devices: HashMap<String, u32>,
    /// Device id → (connection id, kick). A new connection drops the old (reference §2a).
    pub sessions: HashMap<String, (u64, oneshot::Sender<()>)>,
    /// Device id → the subscriptions (filter, granted QoS) of its persistent session
    /// (CleanSession 0): a reconnect finds them again, as the SDKs expect (MQTT 3.1.1
    /// §3.1.2.4; reference §2a). Only devices that subscribed have an entry.
    pub persisted: HashMap<String, Vec<(String, QoS)>>,
    pub twins: HashMap<String, Twin>,
    pub twin_reads: Vec<Gcra>,
    pub twin_updates: Vec<Gcra>,
    pub op_seq: u64,
}

pub struct Shared {
    pub cfg: MockConfig,
    pub models: Mutex<Models>,
    pub stats: Stats,
    pub next_conn: AtomicU64,
    start: Instant,
}

/// Twin reads and updates per second per hub (reference §4b, standard tiers; basic tiers get
/// the same numbers, the mock does not refuse twins there).
fn twin_limits(tier: Tier, units: u32) -> (f64, f64) {
    let u = units as f64;
    match tier.name() {
        "S2" | "B2" => ((10.0 * u).max(100.0), (5.0 * u).max(50.0)),
        "S3" | "B3" => (500.0 * u, 250.0 * u),
        _ => (100.0, 50.0),
    }
}

impl Shared {
    pub fn new(cfg: MockConfig) -> Arc<Shared> {
        let sc = &cfg.scenario;
        let dps = DpsModel::new(
            &sc.dps,
            0,
            sc.hub.count as u16,
            sc.hub.limits.devices,
            sc.seed,
        );
        let hub = HubModel::new(&sc.hub, sc.seed);
        let (reads, updates) = twin_limits(sc.hub.tier, sc.hub.units);
        let burst = sc.hub.limits.burst;
        let twin = |r: f64| -> Vec<Gcra> {
            (0..sc.hub.count)
                .map(|_| Gcra::new(r, burst, SimDuration::ZERO))
                .collect()
        };
        let models = Models {
            dps,
            hub,
            devices: HashMap::new(),
            sessions: HashMap::new(),
            persisted: HashMap::new(),
            twins: HashMap::new(),
            twin_reads: twin(reads),
            twin_updates: twin(updates),
            op_seq: 0,
        };
        // The mock's clock starts here: SimTime 0 is the server's start (clippy.toml allows the
        // wall clock at the engines' and the mock's edges only).
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Arc::new(Shared {
            cfg,
            models: Mutex::new(models),
            stats: Stats::default(),
            next_conn: AtomicU64::new(1),
            start,
        })
    }

    /// The models, even if a connection task panicked while holding them (the models keep no
    /// invariant across a half-finished call that a panic could break worse than a refusal).
    pub fn lock(&self) -> MutexGuard<'_, Models> {
        self.models.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wall clock → SimTime since the server started (the mock's edge).
    pub fn now(&self) -> SimTime {
        #[allow(clippy::disallowed_methods)]
        let e = Instant::now().saturating_duration_since(self.start);
        SimTime(e.as_micros() as u64)
    }

    /// Unix seconds, for SAS expiry.
    pub fn unix_now(&self) -> u64 {
        #[allow(clippy::disallowed_methods)]
        let t = std::time::SystemTime::now();
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Unix microseconds, for DPS timestamps.
    pub fn unix_micros(&self) -> u64 {
        #[allow(clippy::disallowed_methods)]
        let t = std::time::SystemTime::now();
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    }

    /// Checks a CONNECT password against the device's key for `resource`.
    pub fn authenticate(
        &self,
        password: Option<&str>,
        resource: &str,
        registration_id: &str,
    ) -> Result<(), SasError> {
        let key = match &self.cfg.auth {
            Auth::AllowAny => return Ok(()),
            Auth::GroupKey(g) => sas::derive_device_key(g, registration_id)?,
        };
        let token = SasToken::parse(password.ok_or(SasError::Malformed)?)?;
        token.verify(resource, &key, self.unix_now(), self.cfg.skew_s)
    }
}

impl Models {
    /// The DPS index of a registration id, learning it if new; None past `max`.
    pub fn device_index(&mut self, id: &str, max: usize) -> Option<u32> {
        if let Some(&i) = self.devices.get(id) {
            return Some(i);
        }
        if self.devices.len() >= max {
            return None;
        }
        let i = self.dps.add_device();
        self.devices.insert(id.to_string(), i);
        Some(i)
    }

    /// Registers `id` before the run (a device that held a registration when the scenario
    /// starts); its hub, or None if DPS is full.
    pub fn preregister(&mut self, id: &str) -> Option<HubId> {
        let i = self.device_index(id, usize::MAX)?;
        self.dps.preregister(i)
    }

    /// The hub a device connects to: its DPS registration's, else one picked by a hash of its
    /// id (a device that never went through the mock's DPS counts as registered before).
    pub fn hub_of(&self, device_id: &str, hubs: u32) -> HubId {
        if let Some(h) = self
            .devices
            .get(device_id)
            .and_then(|&i| self.dps.registration(i))
        {
            return h;
        }
        // FNV-1a: stable across runs and platforms.
        let mut h: u32 = 0x811c9dc5;
        for b in device_id.bytes() {
            h = (h ^ b as u32).wrapping_mul(0x01000193);
        }
        (h % hubs.max(1)) as HubId
    }

    /// A twin read or update against the hub's limit (reference §4b): true if admitted.
    pub fn admit_twin(&mut self, hub: HubId, update: bool, now: SimTime) -> bool {
        let g = if update {
            &mut self.twin_updates
        } else {
            &mut self.twin_reads
        };
        match g.get_mut(hub as usize) {
            Some(g) => matches!(g.admit(now), Admit::After(_)),
            None => false,
        }
    }
}
