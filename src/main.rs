//! The `fleetsim` binary: parse the command line, run the subcommand, map its error to an exit
//! code (`fleetsim::cmd::Error::exit_code`: 0 success, 1 an SLO or gate failed, 2 bad input,
//! 3 the run itself failed).

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use fleetsim::cmd;
use std::process::ExitCode;

fn main() -> ExitCode {
    let done = Cli::try_parse()
        .map_err(cmd::Error::Usage)
        .and_then(|cli| match cli.command {
            Command::Run(args) => cmd::run::run(args),
            Command::Validate(args) => cmd::validate::validate(args),
            Command::Compare(args) => cmd::compare::compare(args),
            Command::Plan(args) => cmd::plan::plan(args),
            Command::Mock(args) => cmd::mock::mock(args),
            Command::Report(args) => cmd::report::report(args),
            Command::Merge(args) => cmd::merge::merge(args),
        });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            e.print();
            ExitCode::from(e.exit_code())
        }
    }
}
