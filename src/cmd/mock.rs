//! `fleetsim mock`: serve DPS + IoT Hub over MQTT on real sockets, enforcing the scenario's
//! quotas, until Ctrl-C.

use super::{Error, Result};
use crate::mock::command::{Options, run};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// One listener for DPS and Hub (a connection is one or the other by its username).
    #[arg(long, default_value = "127.0.0.1:8883")]
    pub listen: std::net::SocketAddr,
    /// Separate DPS listener (with --hub-listen).
    #[arg(long, requires = "hub_listen")]
    pub dps_listen: Option<std::net::SocketAddr>,
    /// Separate Hub listener (with --dps-listen).
    #[arg(long, requires = "dps_listen")]
    pub hub_listen: Option<std::net::SocketAddr>,
    /// Also serve DPS's Device Registration Status Lookup over HTTPS here (HTTP without TLS).
    #[arg(long, value_name = "ADDR")]
    pub https_listen: Option<std::net::SocketAddr>,
    /// What DPS returns as assignedHub (SDK clients connect there on port 8883).
    #[arg(long, default_value = "localhost")]
    pub hub_hostname: String,
    /// The DPS ID scope devices must use.
    #[arg(long, default_value = "0ne00000000")]
    pub id_scope: String,
    /// File holding the symmetric-key enrollment group key (else FLEETSIM_GROUP_KEY).
    #[arg(long, conflicts_with = "allow_any")]
    pub group_key_file: Option<PathBuf>,
    /// Accept any password (pure load work).
    #[arg(long)]
    pub allow_any: bool,
    /// TLS certificate chain (PEM), with --tls-key.
    #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM), with --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Generate a CA and a localhost/127.0.0.1 server certificate; write the CA to DIR/ca.pem.
    #[arg(long, value_name = "DIR")]
    pub tls_self_signed: Option<PathBuf>,
    /// Take the dps and hub sections (limits, latency) from this scenario.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Override a scenario key, e.g. --set hub.limits.connects_per_s=50.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Hub tier (overrides the scenario's hub.tier).
    #[arg(long)]
    pub tier: Option<String>,
    /// Hub units (overrides hub.units).
    #[arg(long, allow_negative_numbers = true)]
    pub units: Option<u32>,
    /// Number of hubs (overrides hub.count).
    #[arg(long, allow_negative_numbers = true)]
    pub hubs: Option<u32>,
    /// DPS instances (overrides dps.instances).
    #[arg(long, allow_negative_numbers = true)]
    pub dps_instances: Option<u32>,
    /// CONNACK code for a CONNECT refused by the connection throttle or the daily quota.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub throttle_connack: u8,
    /// Seconds between counter lines.
    #[arg(long, default_value_t = 5)]
    pub stats_every: u64,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn mock(a: MockArgs) -> Result {
    let mut sets = a.sets;
    let flags = [
        ("hub.tier", a.tier.map(|t| format!("\"{t}\""))),
        ("hub.units", a.units.map(|u| u.to_string())),
        ("hub.count", a.hubs.map(|u| u.to_string())),
        ("dps.instances", a.dps_instances.map(|u| u.to_string())),
    ];
    sets.extend(
        flags
            .into_iter()
            .filter_map(|(k, v)| Some(format!("{k}={}", v?))),
    );
    let opts = Options {
        listen: a.listen,
        dps_listen: a.dps_listen,
        hub_listen: a.hub_listen,
        hub_hostname: a.hub_hostname,
        id_scope: a.id_scope,
        group_key_file: a.group_key_file,
        allow_any: a.allow_any,
        tls_cert: a.tls_cert,
        tls_key: a.tls_key,
        tls_self_signed: a.tls_self_signed,
        scenario: a.scenario,
        sets,
        throttle_connack: a.throttle_connack,
        stats_every: std::time::Duration::from_secs(a.stats_every.max(1)),
        threads: a.threads,
        https_listen: a.https_listen,
    };
    run(opts).map_err(Error::Mock)
}
