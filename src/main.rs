//! The `fleetsim` binary: parse the command line, call the library, map errors to exit codes
//! (0 success, 1 an SLO or gate failed, 2 bad input, 3 the run itself failed).

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use fleetsim::run::{RunError, RunRequest, run_virtual};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    }
}

fn validate(args: cli::ValidateArgs) -> ExitCode {
    match fleetsim::run::load(&args.scenario, &args.sets, None) {
        Ok(sc) => {
            let model = fleetsim::quota::model::analyse(&sc);
            println!(
                "{}: ok ({} devices, {} classes, arrival {}, hash {})",
                sc.name,
                fleetsim::scenario::units::format_count(sc.fleet.devices),
                sc.fleet.classes.len(),
                sc.arrival.kind(),
                sc.hash
            );
            println!("model: {}", model.verdict);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetsim: {}", e.render());
            ExitCode::from(2)
        }
    }
}

fn run(args: cli::RunArgs) -> ExitCode {
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
    };
    let result = run_virtual(
        req,
        now,
        || started.elapsed(),
        |_, p| {
            if let Some(b) = &bar {
                b.set_length(p.devices);
                b.set_position(p.online);
                b.set_message(format!("simulated {} · {} events", p.now, p.events));
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
                print!("{}", out.summary.to_json());
            } else if !args.quiet {
                print!(
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
            if out.stop == fleetsim::engine::virtual_time::StopReason::Interrupted {
                eprintln!(
                    "fleetsim: interrupted; partial results in {}",
                    out.dir.display()
                );
                return ExitCode::from(3);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleetsim: {e}");
            ExitCode::from(match e {
                RunError::Scenario(_) | RunError::Output(_) => 2,
                RunError::Write(_) => 3,
            })
        }
    }
}
