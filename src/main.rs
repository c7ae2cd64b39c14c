//! The `fleetsim` binary: parse the command line, call the library, map errors to exit codes
//! (0 success, 1 an SLO or gate failed, 2 bad input, 3 the run itself failed).

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use fleetsim::run::{EngineChoice, RunRequest, Tick, run_scenario};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Writes to stdout; a closed pipe (`fleetsim validate … | head -1`) ends the program quietly, as
/// for any Unix tool, instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

macro_rules! outln {
    () => { out!("\n") };
    ($($t:tt)*) => {{
        out!($($t)*);
        out!("\n");
    }};
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Run(args) => run(args),
        Command::Validate(args) => validate(args),
        Command::Compare(args) => compare(args),
        Command::Plan(args) => plan(args),
        Command::Mock(args) => mock(args),
        Command::Report(args) => report(args),
        Command::Merge(args) => merge(args),
    }
}

fn validate(args: cli::ValidateArgs) -> ExitCode {
    match fleetsim::run::load(&args.scenario, &args.sets, None) {
        Ok(sc) => {
            let model = fleetsim::quota::model::analyse(&sc);
            outln!(
                "{}: ok ({} devices, {} classes, arrival {}, hash {})",
                sc.name,
                fleetsim::scenario::units::format_count(sc.fleet.devices),
                sc.fleet.classes.len(),
                sc.arrival.kind(),
                sc.hash
            );
            outln!("model: {}", model.verdict);
            for f in fleetsim::quota::lint::lint(&sc) {
                outln!(
                    "lint {} ({}, {:.0} % of the fleet): {}\n  fix: --set {}",
                    f.rule,
                    f.class,
                    f.share * 100.0,
                    f.message,
                    f.fix.join(" --set ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetsim: {}", e.render());
            ExitCode::from(2)
        }
    }
}

fn run(args: cli::RunArgs) -> ExitCode {
    let engine = match engine_choice(&args) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("fleetsim: {msg}");
            return ExitCode::from(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C or SIGTERM: finish the current event, write what was measured, exit 3.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let show_progress = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let bar = show_progress.then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} online · {msg}",
            )
            .expect("static template"),
        );
        b
    });
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
    let mut last = (0u64, 0u64, fleetsim::time::SimTime::ZERO);
    let result = run_scenario(
        req,
        &engine,
        now,
        || started.elapsed(),
        |_, tick| {
            let Some(b) = &bar else { return };
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
                    last = (p.connects, p.throttled, p.now);
                    b.set_length(p.devices);
                    b.set_position(p.online);
                    b.set_message(format!(
                        "{} booted · {connects:.0} connects/s · {throttles:.0} throttled/s",
                        p.booted
                    ));
                }
            }
        },
        &stop,
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(out) => {
            if args.json {
                out!("{}", out.summary.to_json());
            } else if !args.quiet {
                out!(
                    "{}",
                    fleetsim::report::terminal::render(
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
            use fleetsim::engine::StopReason;
            if matches!(out.stop, StopReason::Interrupted | StopReason::EndpointLost) {
                let why = match out.stop {
                    StopReason::Interrupted => "interrupted",
                    _ => "the endpoint was lost",
                };
                eprintln!("fleetsim: {why}; partial results in {}", out.dir.display());
                return ExitCode::from(3);
            }
            if !args.json && !args.quiet {
                out!("{}", fleetsim::report::slo::render(&out.slo));
            }
            if let Some(line) = fleetsim::report::slo::failure_line(&out.slo) {
                eprintln!("fleetsim: {line}");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetsim: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `--engine` and the live flags as the library's options; an error names the flag.
fn engine_choice(args: &cli::RunArgs) -> Result<EngineChoice, String> {
    use fleetsim::engine::live::{HubMode, LiveOptions, Secret, net};
    use fleetsim::summary::shard::Shard;
    let l = &args.live;
    if args.engine == cli::Engine::Virtual {
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
            ("--hub-mode", l.hub_mode != cli::HubModeArg::Azure),
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
        None => std::env::var(fleetsim::mock::command::GROUP_KEY_ENV).ok(),
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
            cli::HubModeArg::Azure => HubMode::Azure,
            cli::HubModeArg::PlainMqtt => HubMode::PlainMqtt,
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

fn plan(args: cli::PlanArgs) -> ExitCode {
    use fleetsim::plan::{Goal, PlanRequest, Prices, Sweep};
    let fail = |msg: String| {
        eprintln!("fleetsim: {msg}");
        ExitCode::from(2)
    };
    let goals: Result<Vec<Goal>, _> = args.goals.iter().map(|g| Goal::parse(g)).collect();
    let sweeps: Result<Vec<Sweep>, _> = args.sweeps.iter().map(|s| Sweep::parse(s)).collect();
    let (goals, sweeps) = match (goals, sweeps) {
        (Ok(g), Ok(s)) => (g, s),
        (Err(e), _) | (_, Err(e)) => return fail(e.to_string()),
    };
    let prices = match &args.prices {
        Some(f) => match Prices::from_file(f) {
            Ok(p) => p,
            Err(e) => return fail(format!("--prices: {e}")),
        },
        None => Prices::default(),
    };
    // Where plan.json goes is checked before any run, like `run`'s results directory.
    let name = match fleetsim::run::load(&args.scenario, &args.sets, None) {
        Ok(sc) => sc.name,
        Err(e) => return fail(e.render()),
    };
    // The wall clock names the output directory, at the binary's edge.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| fleetsim::report::default_results_dir(&format!("{name}-plan"), now));
    if let Err(e) = fleetsim::report::check_writable(&dir) {
        let flag = if args.out.is_some() { "--out: " } else { "" };
        return fail(format!("{flag}{e}"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let req = PlanRequest {
        scenario: &args.scenario,
        sets: args.sets.clone(),
        goals,
        sweeps,
        max_runs: args.max_runs,
        prices,
        lint_costs: args.lint,
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let quiet = args.quiet;
    let result = fleetsim::plan::plan(&req, &stop, |msg| {
        if !quiet && std::io::stderr().is_terminal() {
            eprintln!("  {msg}");
        }
    });
    let p = match result {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    if let Err(e) = fleetsim::plan::output::write(&dir, &p) {
        eprintln!("fleetsim: {e}");
        return ExitCode::from(3);
    }
    if !quiet {
        out!("{}", fleetsim::plan::output::render(&p));
        outln!("plan: {}", dir.display());
    }
    if !p.complete {
        eprintln!(
            "fleetsim: interrupted; the partial plan (\"complete\": false) is in {}",
            dir.display()
        );
        return ExitCode::from(3);
    }
    if p.recommended.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn mock(a: cli::MockArgs) -> ExitCode {
    use fleetsim::mock::command::{CommandError, Options, run};
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
    match run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleetsim mock: {e}");
            ExitCode::from(match e {
                CommandError::Input(_) => 2,
                CommandError::Failed(_) => 3,
            })
        }
    }
}

fn compare(args: cli::CompareArgs) -> ExitCode {
    match fleetsim::report::compare::command(&fleetsim::report::compare::CompareRequest {
        current: &args.current,
        baseline: &args.baseline,
        max_regression: &args.max_regression,
        force: args.force,
        junit: args.junit.as_deref(),
        markdown: args.markdown.as_deref(),
    }) {
        Ok(done) => {
            if !args.quiet {
                out!("{}", done.table);
            }
            for line in &done.regressions {
                eprintln!("fleetsim: regression: {line}");
            }
            ExitCode::from(if done.regressions.is_empty() { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("fleetsim: {}", e.render());
            ExitCode::from(2)
        }
    }
}

fn merge(args: cli::MergeArgs) -> ExitCode {
    use fleetsim::report::merge::{MergeError, MergeRequest, merge};
    let req = MergeRequest {
        inputs: args.dirs,
        out: args.out,
        args: std::env::args().collect(),
    };
    match merge(&req) {
        Ok(m) => {
            for note in &m.notes {
                eprintln!("fleetsim: note: {note}");
            }
            let what = if m.shards == 1 {
                "1 whole run".to_string()
            } else {
                format!("{} shards", m.shards)
            };
            outln!(
                "merged {what} of {} ({} devices, engine {}, seed {}) into {}",
                m.summary.scenario.name,
                fleetsim::scenario::units::format_count(m.summary.devices),
                m.summary.engine,
                m.summary.seed,
                m.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e {
                MergeError::Output(_) => eprintln!("fleetsim: --out: {e}"),
                _ => eprintln!("fleetsim: {e}"),
            }
            ExitCode::from(match e {
                MergeError::Input(_) | MergeError::Output(_) => 2,
                MergeError::Write(_) => 3,
            })
        }
    }
}

fn report(args: cli::ReportArgs) -> ExitCode {
    match fleetsim::report::page::write_reports(&args.results_dir) {
        Ok(paths) => {
            for p in paths {
                outln!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetsim: {e}");
            ExitCode::from(2)
        }
    }
}
