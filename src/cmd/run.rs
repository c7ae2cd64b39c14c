//! `fleetsim run`: the command line, progress bar and printed summary around the run pipeline
//! in [`crate::run`] (which tests call directly). A failed SLO is
//! [`Error::Unmet`](super::Error::Unmet) (exit 1), after every result is written.

use super::{Error, Result, stop_on_signal};
use crate::engine::StopReason;
use crate::run::{EngineChoice, RunOutput, RunRequest, Tick, run_scenario};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Simulated clock and in-process service models; as fast as the CPU allows.
    Virtual,
    /// Real MQTT connections on the wall clock: to an in-process mock by default, or to
    /// --dps/--hub.
    Live,
}

pub fn run(args: RunArgs) -> Result {
    let engine = engine_choice(&args).map_err(Error::Input)?;
    // Ctrl-C or SIGTERM: finish the current event, write what was measured, exit 3.
    let stop = stop_on_signal();
    let show_progress = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let bar = show_progress.then(progress_bar);
    // The wall clock is read here, at the binary's edge, never in the library.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    let req = RunRequest {
        scenario: &args.scenario,
        sets: args.sets.clone(),
        seed: args.seed,
        out: args.out.clone(),
        args: std::env::args().collect(),
        slos: args.slos.clone(),
        junit: args.junit.clone(),
    };
    // Live rates: connects/s and throttles/s over the last progress interval.
    let mut last = (0u64, 0u64, crate::time::SimTime::ZERO);
    let result = run_scenario(
        req,
        &engine,
        now,
        || started.elapsed(),
        |_, tick| {
            if let Some(b) = &bar {
                show_tick(b, tick, &mut last);
            }
        },
        &stop,
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    finish(&args, result.map_err(Error::Run)?)
}

fn progress_bar() -> ProgressBar {
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} online · {msg}",
        )
        .expect("static template"),
    );
    b
}

/// One progress snapshot on the bar; `last` holds the previous live counters for the rates.
fn show_tick(b: &ProgressBar, tick: Tick<'_>, last: &mut (u64, u64, crate::time::SimTime)) {
    match tick {
        Tick::Virtual(p) => {
            b.set_length(p.devices);
            b.set_position(p.online);
            b.set_message(format!("simulated {} · {} events", p.now, p.events));
        }
        Tick::Live(p) => {
            let dt = p.now.since(last.2).as_secs_f64().max(1e-3);
            let connects = (p.connects - last.0) as f64 / dt;
            let throttles = (p.throttled - last.1) as f64 / dt;
            *last = (p.connects, p.throttled, p.now);
            b.set_length(p.devices);
            b.set_position(p.online);
            b.set_message(format!(
                "{} booted · {connects:.0} connects/s · {throttles:.0} throttled/s",
                p.booted
            ));
        }
    }
}

/// Prints the finished run and judges it: interrupted or endpoint lost (3), an SLO failed (1).
fn finish(args: &RunArgs, out: RunOutput) -> Result {
    if args.json {
        out!("{}", out.summary.to_json());
    } else if !args.quiet {
        out!(
            "{}",
            crate::report::terminal::render(
                &out.summary,
                &out.model,
                &out.info,
                &out.dir,
                out.stop.name()
            )
        );
    }
    if let Some(live) = &out.summary.live {
        for w in &live.warnings {
            eprintln!("fleetsim: warning: {w}");
        }
    }
    let why = match out.stop {
        StopReason::Interrupted => Some("interrupted"),
        StopReason::EndpointLost => Some("the endpoint was lost"),
        _ => None,
    };
    if let Some(why) = why {
        return Err(Error::Failed(format!(
            "{why}; partial results in {}",
            out.dir.display()
        )));
    }
    if !args.json && !args.quiet {
        out!("{}", crate::report::slo::render(&out.slo));
    }
    match crate::report::slo::failure_line(&out.slo) {
        Some(line) => Err(Error::Unmet(vec![line])),
        None => Ok(()),
    }
}

/// `--engine` and the live flags as the library's options; an error names the flag.
fn engine_choice(args: &RunArgs) -> std::result::Result<EngineChoice, String> {
    use crate::engine::live::{HubMode, LiveOptions, Secret, net};
    use crate::summary::shard::Shard;
    let l = &args.live;
    if args.engine == Engine::Virtual {
        let given = [
            ("--dps", l.dps.is_some()),
            ("--dps-https", l.dps_https.is_some()),
            ("--hub", l.hub.is_some()),
            ("--shard", l.shard.is_some()),
            ("--group-key-file", l.group_key_file.is_some()),
            ("--ca", l.ca.is_some()),
            ("--source-addrs", l.source_addrs.is_some()),
            ("--max-connect-rate", l.max_connect_rate.is_some()),
            ("--no-tls", l.no_tls),
            ("--hub-mode", l.hub_mode != HubModeArg::Azure),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, on)| *on) {
            return Err(format!("{flag} is a live-engine option: add --engine live"));
        }
        return Ok(EngineChoice::Virtual);
    }
    let group_key = match &l.group_key_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("--group-key-file {}: {e}", f.display()))?,
        ),
        None => std::env::var(crate::mock::command::GROUP_KEY_ENV).ok(),
    }
    .map(|k| Secret(k.trim().to_string()));
    let endpoint_lost_after = humantime::parse_duration(&l.endpoint_lost_after).map_err(|_| {
        format!(
            "--endpoint-lost-after '{}': expected a duration such as 15s",
            l.endpoint_lost_after
        )
    })?;
    Ok(EngineChoice::Live(Box::new(LiveOptions {
        dps: l.dps.clone(),
        dps_https: l.dps_https.clone(),
        hub: l.hub.clone(),
        hub_mode: match l.hub_mode {
            HubModeArg::Azure => HubMode::Azure,
            HubModeArg::PlainMqtt => HubMode::PlainMqtt,
        },
        id_scope: l.id_scope.clone(),
        group_key,
        tls: !l.no_tls,
        ca: l.ca.clone(),
        shard: match &l.shard {
            Some(s) => Shard::parse(s)?,
            None => Shard::WHOLE,
        },
        max_connect_rate: l.max_connect_rate,
        max_handshakes: l.max_handshakes,
        source_addrs: l
            .source_addrs
            .as_deref()
            .map(net::parse_source_addrs)
            .transpose()?,
        threads: l.threads,
        endpoint_lost_after,
    })))
}
