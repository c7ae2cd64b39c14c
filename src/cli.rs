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
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
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
}
