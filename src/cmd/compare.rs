//! `fleetsim compare`: judge a run by a baseline run of the same scenario; a regression is
//! [`Error::Unmet`](super::Error::Unmet) (exit 1).

use super::{Error, Result};
use crate::report::compare::{CompareRequest, command};
use std::path::PathBuf;

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

pub fn compare(args: CompareArgs) -> Result {
    let done = command(&CompareRequest {
        current: &args.current,
        baseline: &args.baseline,
        max_regression: &args.max_regression,
        force: args.force,
        junit: args.junit.as_deref(),
        markdown: args.markdown.as_deref(),
    })
    .map_err(|e| Error::Input(e.render()))?;
    if !args.quiet {
        out!("{}", done.table);
    }
    if done.regressions.is_empty() {
        return Ok(());
    }
    Err(Error::Unmet(
        done.regressions
            .iter()
            .map(|line| format!("regression: {line}"))
            .collect(),
    ))
}
