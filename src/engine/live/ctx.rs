//! What a live run's device tasks share: the [`Ctx`] (endpoints, the dialer, the group key,
//! the books and the counters), the interned hubs, and the small operations on them —
//! the run's clock, SAS tokens, connection counts.

use super::books::Books;
use super::endpoints::Endpoints;
use super::net::{self, Dialer, Target};
use super::{HubMode, LiveError, LiveOptions, LiveProgress, Secret, device};
use crate::protocol::sas;
use crate::scenario::Scenario;
use crate::service::HubId;
use crate::time::SimTime;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, OnceCell};

/// The run's counts every thread adds to: progress, the stop conditions and `connections`.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) booted: AtomicU64,
    pub(super) online: AtomicU64,
    pub(super) settled: AtomicU64,
    pub(super) throttled: AtomicU64,
    pub(super) steps: AtomicU64,
    pub(super) acked: AtomicU64,
    pub(super) opened: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) open_now: AtomicU64,
    pub(super) peak_open: AtomicU64,
    /// Transport failures since the last success, and when that was (µs of run time).
    pub(super) failures_since_ok: AtomicU64,
    pub(super) last_ok_us: AtomicU64,
}

/// Assigned hub host names, interned to the `HubId`s the device state machine carries, each
/// resolved once.
pub(super) struct Hubs {
    names: Mutex<Vec<Arc<HubEntry>>>,
    /// `--hub` (or the in-process mock): where every hub connection goes.
    connect_to: Option<std::net::SocketAddr>,
}

struct HubEntry {
    host: String,
    addr: OnceCell<Option<std::net::SocketAddr>>,
}

impl Hubs {
    pub(super) fn intern(&self, host: &str) -> HubId {
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

    pub(super) async fn target(&self, hub: HubId, ctx: &Ctx) -> Option<Target> {
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

/// What every device task of a run shares.
pub(crate) struct Ctx {
    pub(super) sc: Arc<Scenario>,
    pub(super) devices: u64,
    start: tokio::time::Instant,
    unix_start_us: u64,
    pub(super) dialer: Dialer,
    pub(super) dps: Option<Target>,
    /// DPS's HTTPS endpoint, when a class looks its registration up (reference §1f).
    pub(super) dps_https: Option<Target>,
    pub(super) hubs: Hubs,
    hub_tls: bool,
    pub(super) id_scope: String,
    pub(super) group_key: Option<Secret>,
    pub(super) mode: HubMode,
    /// Per worker thread ([`Books`]).
    pub(super) books: Books,
    pub(super) counters: Counters,
    pub(super) all_settled: Notify,
}

impl Ctx {
    /// The run's shared state, its clock started now: TLS set up if an endpoint needs it, the
    /// dialer's source addresses chosen, the books kept for `workers` threads.
    #[allow(clippy::disallowed_methods)]
    pub(super) fn new(
        sc: Arc<Scenario>,
        o: &LiveOptions,
        devices: u64,
        workers: usize,
        ep: &Endpoints,
    ) -> Result<Ctx, LiveError> {
        let needs_tls = ep.dps.as_ref().is_some_and(|t| t.tls) || ep.hub_tls;
        let tls = if needs_tls {
            Some(net::tls_config(o.ca.as_deref()).map_err(LiveError::Input)?)
        } else {
            None
        };
        let dest = ep
            .hub
            .as_ref()
            .map(|(_, a)| *a)
            .or(ep.dps.as_ref().map(|t| t.addr));
        let sources = match (&o.source_addrs, dest) {
            (Some(s), _) => s.clone(),
            (None, Some(d)) => net::default_loopback_sources(&d),
            (None, None) => Vec::new(),
        };
        let hubs = Hubs {
            names: Mutex::new(Vec::new()),
            connect_to: ep.hub.as_ref().map(|(_, a)| *a),
        };
        if let Some((host, _)) = &ep.hub {
            // HubId 0: the hub devices with a cached assignment go back to.
            hubs.intern(host);
        }
        let unix_start_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        Ok(Ctx {
            devices,
            start: tokio::time::Instant::now(),
            unix_start_us,
            dialer: Dialer::new(sources, o.max_connect_rate, o.max_handshakes, tls),
            dps: ep.dps.clone(),
            dps_https: ep.dps_https.clone(),
            hubs,
            hub_tls: ep.hub_tls,
            id_scope: o.id_scope.clone(),
            group_key: ep.group_key.clone(),
            mode: o.hub_mode,
            books: Books::new(workers),
            counters: Counters::default(),
            all_settled: Notify::new(),
            sc,
        })
    }

    pub(super) fn now(&self) -> SimTime {
        SimTime(self.start.elapsed().as_micros() as u64)
    }

    pub(super) fn instant(&self, t: SimTime) -> tokio::time::Instant {
        self.start + Duration::from_micros(t.as_micros())
    }

    pub(super) fn unix_micros(&self) -> u64 {
        self.unix_start_us + self.start.elapsed().as_micros() as u64
    }

    /// A SAS token for `resource`, signed with the device's key derived from the group key
    /// (reference §3); a placeholder without a key (plain brokers, `--allow-any` mocks).
    pub(super) fn token(&self, device: &str, resource: &str, skn: Option<&str>) -> String {
        let se = self.unix_micros() / 1_000_000 + device::TOKEN_TTL_S;
        self.group_key
            .as_ref()
            .and_then(|k| sas::derive_device_key(&k.0, device).ok())
            .and_then(|key| sas::sign(&key, resource, se, skn).ok())
            .unwrap_or_else(|| "SharedAccessSignature sr=&sig=&se=0".into())
    }

    pub(super) fn conn_opened(&self) {
        let c = &self.counters;
        c.opened.fetch_add(1, Relaxed);
        let open = c.open_now.fetch_add(1, Relaxed) + 1;
        c.peak_open.fetch_max(open, Relaxed);
    }

    /// A connection ended; `dropped`: not by the device's choice.
    pub(super) fn conn_closed(&self, dropped: bool) {
        let c = &self.counters;
        c.open_now.fetch_sub(1, Relaxed);
        if dropped {
            c.dropped.fetch_add(1, Relaxed);
        }
    }

    pub(super) fn transport_failed(&self) {
        self.counters.failed.fetch_add(1, Relaxed);
        self.counters.failures_since_ok.fetch_add(1, Relaxed);
    }

    /// A server answered: an MQTT CONNECT `wire` after the TCP connect started (None: an
    /// HTTPS exchange, not part of `wire_connect_ms`).
    pub(super) fn transport_ok(&self, wire: Option<Duration>) {
        self.counters.failures_since_ok.store(0, Relaxed);
        self.counters
            .last_ok_us
            .fetch_max(self.now().as_micros(), Relaxed);
        if let Some(wire) = wire {
            self.books.record_wire_connect(wire.as_micros() as u64);
        }
    }

    pub(super) fn progress(&self) -> LiveProgress {
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
