//! `fleetsim mock` as a library call: build the configuration from options, start the
//! server, print the bound addresses and a counter line every few seconds and on exit.

use super::server::{Listen, MockServer};
use super::state::{Auth, MockConfig};
use super::tls;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A scenario with every default, used when no `--scenario` is given.
const DEFAULT_SCENARIO: &str = "[scenario]\nname = \"mock\"\n[fleet]\ndevices = 1\n";

/// The environment variable holding the enrollment group key (never printed).
pub const GROUP_KEY_ENV: &str = "FLEETSIM_GROUP_KEY";

pub struct Options {
    pub listen: SocketAddr,
    pub dps_listen: Option<SocketAddr>,
    pub hub_listen: Option<SocketAddr>,
    pub hub_hostname: String,
    pub id_scope: String,
    pub group_key_file: Option<PathBuf>,
    pub allow_any: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_self_signed: Option<PathBuf>,
    pub scenario: Option<PathBuf>,
    /// `--set` overrides, flags already turned into `hub.tier=...` etc.
    pub sets: Vec<String>,
    pub throttle_connack: u8,
    pub stats_every: Duration,
    pub threads: Option<usize>,
    /// Where to serve DPS's Device Registration Status Lookup over HTTPS (reference §1f;
    /// plain HTTP without TLS); None: not served.
    pub https_listen: Option<SocketAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad input: exit 2.
    #[error("{0}")]
    Input(String),
    /// The server failed: exit 3.
    #[error("{0}")]
    Failed(String),
}

fn build(o: &Options) -> Result<(MockConfig, Listen), CommandError> {
    let input = CommandError::Input;
    let sc = match &o.scenario {
        Some(p) => crate::input::load(p, &o.sets, None),
        None => crate::scenario::load_str(DEFAULT_SCENARIO, "(defaults)", &o.sets),
    }
    .map_err(|e| input(e.render()))?;
    let auth = if o.allow_any {
        Auth::AllowAny
    } else {
        let (key, source) = match &o.group_key_file {
            Some(f) => (
                std::fs::read_to_string(f).map_err(|e| {
                    input(format!(
                        "--group-key-file {}: cannot read it: {e}",
                        f.display()
                    ))
                })?,
                format!("--group-key-file {}", f.display()),
            ),
            None => (
                std::env::var(GROUP_KEY_ENV).map_err(|_| {
                    input(format!(
                        "no group key: set {GROUP_KEY_ENV}, give --group-key-file FILE, or \
                         --allow-any to accept any password"
                    ))
                })?,
                GROUP_KEY_ENV.to_string(),
            ),
        };
        let key = key.trim().to_string();
        check_group_key(&key).map_err(|why| input(format!("{source}: {why}")))?;
        Auth::GroupKey(key)
    };
    let mut cfg = MockConfig::new(sc);
    cfg.auth = auth;
    cfg.id_scope = o.id_scope.clone();
    cfg.hub_hostname = o.hub_hostname.clone();
    cfg.throttle_connack = o.throttle_connack;
    for (flag, v) in [
        ("--id-scope", &o.id_scope),
        ("--hub-hostname", &o.hub_hostname),
    ] {
        if v.trim().is_empty() {
            return Err(input(format!("{flag}: must not be empty")));
        }
    }
    if let Some(n) = o.threads
        && !(1..=MAX_THREADS).contains(&n)
    {
        return Err(input(format!(
            "--threads {n}: give 1 to {MAX_THREADS} worker threads (default: one per CPU)"
        )));
    }
    let listen = match (o.dps_listen, o.hub_listen) {
        (Some(dps), Some(hub)) => Listen::Split { dps, hub },
        (None, None) => Listen::Shared(o.listen),
        _ => return Err(input("--dps-listen and --hub-listen go together".into())),
    };
    Ok((cfg, listen))
}

/// More worker threads than this is a typo, not a configuration (each has its own stack).
const MAX_THREADS: usize = 1024;

/// An enrollment group key as DPS takes it: base64 of 16 to 64 bytes (reference §3). The
/// message never contains the key itself.
fn check_group_key(key: &str) -> Result<(), String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| "the group key is not valid base64".to_string())?;
    if !(16..=64).contains(&bytes.len()) {
        return Err(format!(
            "the group key is {} bytes; a symmetric key is 16 to 64 bytes, base64-encoded (reference §3)",
            bytes.len()
        ));
    }
    Ok(())
}

/// Runs the mock until Ctrl-C / SIGTERM.
pub fn run(o: Options) -> Result<(), CommandError> {
    let (cfg, listen) = build(&o)?;
    let tls = match (&o.tls_self_signed, &o.tls_cert, &o.tls_key) {
        (Some(dir), None, None) => {
            let s = tls::self_signed(dir).map_err(|e| match e {
                // The directory cannot be written: bad input, like an unwritable --out.
                tls::TlsError::Io(..) => {
                    CommandError::Input(format!("--tls-self-signed {}: {e}", dir.display()))
                }
                e => CommandError::Failed(e.to_string()),
            })?;
            println!("tls: self-signed; CA for clients: {}", s.ca_path.display());
            Some(s.config)
        }
        (None, Some(c), Some(k)) => {
            Some(tls::from_files(c, k).map_err(|e| CommandError::Input(e.to_string()))?)
        }
        (None, None, None) => None,
        _ => {
            return Err(CommandError::Input(
                "TLS takes --tls-cert with --tls-key, or --tls-self-signed DIR".into(),
            ));
        }
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = o.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .build()
        .map_err(|e| CommandError::Failed(format!("tokio runtime: {e}")))?;
    rt.block_on(async move {
        let hub = cfg.scenario.hub.clone();
        let dps = cfg.scenario.dps.clone();
        let scheme = if tls.is_some() { "mqtts" } else { "mqtt" };
        let auth = match cfg.auth {
            Auth::AllowAny => "any password (--allow-any)",
            Auth::GroupKey(_) => "SAS tokens from the group key",
        };
        let flags = match listen {
            Listen::Shared(a) => format!("--listen {a}"),
            Listen::Split { dps, hub } => format!("--dps-listen {dps} / --hub-listen {hub}"),
        };
        // The address cannot be used (not this host's, in use, a privileged port): bad input.
        let https_scheme = if tls.is_some() { "https" } else { "http" };
        let mut server = MockServer::start(cfg, listen, tls)
            .await
            .map_err(|e| CommandError::Input(format!("{flags}: cannot listen there: {e}")))?;
        if let Some(a) = o.https_listen {
            server.serve_https(a).await.map_err(|e| {
                CommandError::Input(format!("--https-listen {a}: cannot listen there: {e}"))
            })?;
        }
        if server.dps_addr == server.hub_addr {
            println!("dps+hub: {scheme}://{}", server.dps_addr);
        } else {
            println!("dps: {scheme}://{}", server.dps_addr);
            println!("hub: {scheme}://{}", server.hub_addr);
        }
        if let Some(a) = server.dps_https_addr {
            println!("dps https: {https_scheme}://{a}");
        }
        println!(
            "limits: dps {} instance(s), {:.0} registrations/min, {:.0} operations/min, \
             {:.0} operation-status polls/min, {} workers per stage; \
             hub {}×{} {} unit(s), {:.0} connects/s, {:.0} d2c/s, {} messages/day; auth: {auth}",
            dps.instances,
            dps.limits.registrations_per_s * 60.0,
            dps.limits.operations_per_s * 60.0,
            dps.limits.operation_status_per_s * 60.0,
            dps.queue.workers,
            hub.count,
            hub.tier.name(),
            hub.units,
            hub.limits.connects_per_s,
            hub.limits.d2c_per_s,
            hub.limits.messages_per_day
        );
        let mut tick = tokio::time::interval(o.stats_every);
        tick.tick().await;
        let term = async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                match signal(SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending().await,
                }
            }
            #[cfg(not(unix))]
            std::future::pending::<()>().await
        };
        tokio::pin!(term);
        loop {
            tokio::select! {
                _ = tick.tick() => println!("mock: {}", server.stats()),
                _ = tokio::signal::ctrl_c() => break,
                _ = &mut term => break,
            }
        }
        println!("mock: {} (exit)", server.stats());
        server.shutdown().await;
        Ok::<(), CommandError>(())
    })?;
    // Open connections end with the runtime; don't wait for them.
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}
