//! `fleetsim plan`: sweep a scenario's configurations through the virtual engine and
//! recommend the cheapest that meets the goals; none meeting them is
//! [`Error::Unmet`](super::Error::Unmet) (exit 1).

use super::{Error, Result, stop_on_signal};
use crate::plan::{Goal, PlanRequest, Prices, Sweep};
use std::io::IsTerminal;
use std::path::PathBuf;

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

pub fn plan(args: PlanArgs) -> Result {
    let goals = args
        .goals
        .iter()
        .map(|g| Goal::parse(g))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Input(e.to_string()));
    let sweeps = args
        .sweeps
        .iter()
        .map(|s| Sweep::parse(s))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Input(e.to_string()));
    let (goals, sweeps) = (goals?, sweeps?);
    let prices = match &args.prices {
        Some(f) => Prices::from_file(f).map_err(|e| Error::Input(format!("--prices: {e}")))?,
        None => Prices::default(),
    };
    let dir = output_dir(&args)?;
    let stop = stop_on_signal();
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
    let p = crate::plan::plan(&req, &stop, |msg| {
        if !quiet && std::io::stderr().is_terminal() {
            eprintln!("  {msg}");
        }
    })
    .map_err(|e| Error::Input(e.to_string()))?;
    crate::plan::output::write(&dir, &p).map_err(|e| Error::Failed(e.to_string()))?;
    if !quiet {
        out!("{}", crate::plan::output::render(&p));
        outln!("plan: {}", dir.display());
    }
    if !p.complete {
        return Err(Error::Failed(format!(
            "interrupted; the partial plan (\"complete\": false) is in {}",
            dir.display()
        )));
    }
    match p.recommended {
        Some(_) => Ok(()),
        None => Err(Error::Unmet(Vec::new())),
    }
}

/// Where plan.json goes, checked before any run, like `run`'s results directory.
fn output_dir(args: &PlanArgs) -> Result<PathBuf> {
    let name = crate::run::load(&args.scenario, &args.sets, None)
        .map_err(|e| Error::Input(e.render()))?
        .name;
    // The wall clock names the output directory, at the binary's edge.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| crate::report::default_results_dir(&format!("{name}-plan"), now));
    crate::report::check_writable(&dir).map_err(|e| {
        let flag = if args.out.is_some() { "--out: " } else { "" };
        Error::Input(format!("{flag}{e}"))
    })?;
    Ok(dir)
}
