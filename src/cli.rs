//! The command line's top level (clap derive only; no logic): one subcommand per module of
//! `fleetsim::cmd`, which holds its arguments.

use clap::{Parser, Subcommand};
use fleetsim::cmd::{compare, merge, mock, plan, report, run, validate};

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
    Run(run::RunArgs),
    /// Check a scenario (with any --set overrides) and print what it resolves to.
    Validate(validate::ValidateArgs),
    /// Compare a run with a baseline run of the same scenario; exit 1 on a regression.
    Compare(compare::CompareArgs),
    /// Find the cheapest DPS/Hub configuration that meets the goals.
    Plan(plan::PlanArgs),
    /// Serve DPS + IoT Hub over MQTT on real sockets, enforcing the scenario's quotas.
    Mock(mock::MockArgs),
    /// Render report.html and report.md again from a results directory's files.
    Report(report::ReportArgs),
    /// Combine the results directories of shard runs into one.
    Merge(merge::MergeArgs),
}
