//! Command-line definitions (clap derive only; no logic).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "fleetsim",
    version,
    about = "Rehearse the worst days of an IoT fleet against Azure IoT Hub DPS and IoT Hub"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write a results directory.
    Run(RunArgs),
    /// Check a scenario (with any --set overrides) and print what it resolves to.
    Validate(ValidateArgs),
    /// Compare a run with a baseline run of the same scenario; exit 1 on a regression.
    Compare(CompareArgs),
    /// Find the cheapest DPS/Hub configuration that meets the goals.
    Plan(PlanArgs),
    /// Serve DPS + IoT Hub over MQTT on real sockets, enforcing the scenario's quotas.
    Mock(MockArgs),
    /// Render report.html and report.md again from a results directory's files.
    Report(ReportArgs),
    /// Combine the results directories of shard runs into one.
    Merge(MergeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The results directory (it holds summary.json).
    pub results_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shard runs' results directories (`fleetsim run --shard K/N`, every K from 0 to
    /// N − 1 once), in any order.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The merged results directory (it must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Which engine drives the devices.
    #[arg(long, value_enum, default_value_t = Engine::Virtual)]
    pub engine: Engine,
    /// Override a scenario key, e.g. --set fleet.devices=100k --set hub.units=4.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Override run.seed (0 to 2^63 − 1: a TOML integer is 64-bit signed, so a seed can be
    /// written in a scenario file too).
    #[arg(long, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub seed: Option<u64>,
    /// Results directory (default results/<scenario>-<UTC timestamp>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, conflicts_with = "json")]
    pub quiet: bool,
    /// Print summary.json on stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// An SLO in addition to the scenario's [slo], e.g. --slo 'online.t99 < 30m'; repeatable.
    /// A failed SLO makes the run exit 1 (after writing every result).
    #[arg(long = "slo", value_name = "METRIC OP VALUE")]
    pub slos: Vec<String>,
    /// Write the SLO verdicts as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    #[command(flatten)]
    pub live: LiveArgs,
}

/// `fleetsim run --engine live` options (rejected with the virtual engine).
#[derive(clap::Args, Debug, Default)]
#[command(next_help_heading = "Live engine (--engine live)")]
pub struct LiveArgs {
    /// A DPS-compatible endpoint, HOST[:PORT] (port 8883, TLS). Without it an in-process mock
    /// on 127.0.0.1 serves DPS and the hub.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub dps: Option<String>,
    /// DPS's HTTPS endpoint for status lookups (reference §1f), HOST[:PORT]: by default the
    /// --dps host on port 443 (80 with --no-tls). Used only by classes with status_lookup.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub dps_https: Option<String>,
    /// Where every hub connection goes, HOST[:PORT] (the assigned hub's name is still used in
    /// usernames, tokens and TLS); also the hub of devices with a cached assignment. In
    /// plain-mqtt mode: the broker.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub hub: Option<String>,
    /// `azure`: SAS-authenticated IoT Hub; `plain-mqtt`: any MQTT 3.1.1 broker, no
    /// authentication, with a subscriber checking sequence numbers.
    #[arg(long, value_enum, default_value_t = HubModeArg::Azure)]
    pub hub_mode: HubModeArg,
    /// The DPS ID scope.
    #[arg(long, default_value = "0ne00000000")]
    pub id_scope: String,
    /// File holding the enrollment group key (else FLEETSIM_GROUP_KEY; never on the command
    /// line).
    #[arg(long, value_name = "FILE")]
    pub group_key_file: Option<PathBuf>,
    /// Plain TCP to --dps/--hub (a `fleetsim mock` without TLS). Real Azure needs TLS.
    #[arg(long)]
    pub no_tls: bool,
    /// Trust only this CA certificate (PEM) instead of the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Drive devices K, K+N, K+2N, … only; combine the N results with `fleetsim merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Open at most this many connections per second, across the process.
    #[arg(long, value_name = "PER_S")]
    pub max_connect_rate: Option<u32>,
    /// Handshakes (TCP, TLS, CONNECT until CONNACK) in flight at most.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_handshakes: usize,
    /// Source addresses to spread connections over: A-B (IPv4 range) or A,B,…; default
    /// 127.0.0.2-127.0.0.40 for a loopback endpoint on Linux.
    #[arg(long, value_name = "ADDRS")]
    pub source_addrs: Option<String>,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop the run (results marked incomplete) when no connection has succeeded for this long
    /// while connections keep failing.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub endpoint_lost_after: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum HubModeArg {
    #[default]
    Azure,
    PlainMqtt,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The results directory of the run to judge.
    pub current: PathBuf,
    /// The results directory (or a directory holding just its summary.json) to judge it by.
    pub baseline: PathBuf,
    /// How much worse than the baseline any compared metric may get, as a percentage of the
    /// baseline value; the scenario's [compare] table overrides it per metric.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value = "10%",
        allow_hyphen_values = true
    )]
    pub max_regression: String,
    /// Compare even when the runs are not comparable (another scenario hash, engine or seed).
    #[arg(long)]
    pub force: bool,
    /// Write one JUnit test case per compared metric to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary (SLO verdicts and changed metrics) to FILE, e.g. for
    /// $GITHUB_STEP_SUMMARY.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Print nothing but errors and regressions.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// A condition on a summary metric, e.g. --goal "online.t99 < 30m"; repeatable.
    #[arg(long = "goal", value_name = "METRIC OP VALUE", required = true)]
    pub goals: Vec<String>,
    /// A scenario key and its values, e.g. --sweep hub.units=1..20 --sweep hub.tier=S1,S2.
    #[arg(long = "sweep", value_name = "KEY=RANGE")]
    pub sweeps: Vec<String>,
    /// Override a scenario key for every configuration.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Accept a sweep of more than 500 points.
    #[arg(long)]
    pub max_runs: Option<usize>,
    /// Prices per hub unit-month (TOML; see src/plan/price.rs for the keys).
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Also run the scenario with each lint finding fixed and report the difference.
    #[arg(long)]
    pub lint: bool,
    /// Where to write plan.json and plan.csv (default results/<scenario>-plan-<UTC timestamp>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    pub scenario: PathBuf,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Simulated clock and in-process service models; as fast as the CPU allows.
    Virtual,
    /// Real MQTT connections on the wall clock: to an in-process mock by default, or to
    /// --dps/--hub.
    Live,
}

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
