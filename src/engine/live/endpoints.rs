//! Where a live run's connections go: the in-process mock (started here), or the endpoints
//! given (`--dps`, `--dps-https`, `--hub`), each resolved once before any device starts.

use super::net::{self, Target};
use super::{HubMode, LiveError, LiveOptions, Secret};
use crate::mock::{Auth, Listen, MockConfig, MockServer};
use crate::protocol::telemetry::SequenceTracker;
use crate::scenario::Scenario;
use std::net::SocketAddr;
use std::sync::Arc;

/// A live run's endpoints, resolved.
pub(super) struct Endpoints {
    pub(super) dps: Option<Target>,
    /// DPS's HTTPS endpoint, when a class looks its registration up (reference §1f).
    pub(super) dps_https: Option<Target>,
    /// `--hub` (or the in-process mock): the host and address every hub connection goes to.
    pub(super) hub: Option<(String, SocketAddr)>,
    pub(super) hub_tls: bool,
    /// The endpoints in words, for `live.endpoint`.
    pub(super) endpoint: String,
    /// The given group key, or the in-process mock's.
    pub(super) group_key: Option<Secret>,
    /// The in-process mock, when the run started one.
    pub(super) mock: Option<MockServer>,
}

fn input(m: String) -> LiveError {
    LiveError::Input(m)
}

fn failed(m: String) -> LiveError {
    LiveError::Failed(m)
}

/// The in-process mock (feeding `sequences`), or the endpoints `o` gives.
pub(super) async fn resolve(
    sc: &Scenario,
    o: &LiveOptions,
    sequences: &Arc<SequenceTracker>,
) -> Result<Endpoints, LiveError> {
    // Status lookups go over HTTPS (reference §1f): only when a class makes them.
    let lookups = sc.fleet.classes.iter().any(|c| c.status_lookup);
    match o.dps {
        None => in_process(sc, o, sequences, lookups).await,
        Some(_) => given(o, lookups).await,
    }
}

/// `--hub HOST[:PORT]`, resolved.
async fn hub(h: &str) -> Result<(String, SocketAddr), LiveError> {
    let (host, port) = net::split_host_port(h, 8883).map_err(|e| input(format!("--hub {e}")))?;
    let a = net::resolve(&host, port)
        .await
        .map_err(|e| input(format!("--hub {h}: {e}")))?;
    Ok((host, a))
}

/// Starts the in-process mock on 127.0.0.1: DPS, and the hub unless `--hub` is given.
async fn in_process(
    sc: &Scenario,
    o: &LiveOptions,
    sequences: &Arc<SequenceTracker>,
    lookups: bool,
) -> Result<Endpoints, LiveError> {
    let key = Secret(in_process_key(sc.seed));
    let mut cfg = MockConfig::new(sc.clone());
    cfg.auth = Auth::GroupKey(key.0.clone());
    cfg.id_scope = o.id_scope.clone();
    cfg.sequences = Some(sequences.clone());
    let mut m = MockServer::start(cfg, Listen::Shared("127.0.0.1:0".parse().unwrap()), None)
        .await
        .map_err(|e| failed(format!("in-process mock: {e}")))?;
    let mut dps_https = None;
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
    let dps = Target {
        host: "localhost".into(),
        addr,
        tls: false,
    };
    let (hub, endpoint, hub_tls) = match &o.hub {
        None => (
            ("localhost".to_string(), addr),
            "in-process mock".to_string(),
            false,
        ),
        Some(h) => {
            let (host, a) = hub(h).await?;
            let tls = o.hub_mode == HubMode::Azure && o.tls || o.ca.is_some();
            let what = match o.hub_mode {
                HubMode::Azure => format!("dps: in-process mock; hub {a}"),
                HubMode::PlainMqtt => format!("plain-mqtt {a} (dps: in-process mock)"),
            };
            ((host, a), what, tls)
        }
    };
    Ok(Endpoints {
        dps: Some(dps),
        dps_https,
        hub: Some(hub),
        hub_tls,
        endpoint,
        group_key: Some(key),
        mock: Some(m),
    })
}

/// The endpoints given: `--dps`, `--dps-https` (when classes look up), `--hub`.
async fn given(o: &LiveOptions, lookups: bool) -> Result<Endpoints, LiveError> {
    let d = o.dps.as_deref().unwrap_or_default();
    let (host, port) = net::split_host_port(d, 8883).map_err(|e| input(format!("--dps {e}")))?;
    let a = net::resolve(&host, port)
        .await
        .map_err(|e| input(format!("--dps {d}: {e}")))?;
    let mut dps_https = None;
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
        Some(h) => Some(hub(h).await?),
    };
    let hub_tls = match o.hub_mode {
        HubMode::Azure => o.tls,
        HubMode::PlainMqtt => o.ca.is_some(),
    };
    let endpoint = match (o.hub_mode, &hub) {
        (HubMode::PlainMqtt, Some((_, a))) => format!("plain-mqtt {a} (dps {})", dps.addr),
        (_, Some((_, a))) => format!("dps {}; hub {a}", dps.addr),
        (_, None) => format!("dps {}", dps.addr),
    };
    Ok(Endpoints {
        dps: Some(dps),
        dps_https,
        hub,
        hub_tls,
        endpoint,
        group_key: o.group_key.clone(),
        mock: None,
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
