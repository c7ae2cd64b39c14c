//! The subcommands, one module each (`fleetsim --help` lists them): each holds its clap
//! arguments and the glue between them and the library. Every failure is an [`Error`], and
//! [`Error::exit_code`] is the one place that maps failures to the exit codes in README.md:
//! 0 success, 1 an SLO or gate failed, 2 bad input, 3 the run itself failed.

use crate::engine::live::LiveError;
use crate::mock::command::CommandError;
use crate::report::merge::MergeError;
use crate::run::RunError;
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

pub mod compare;
pub mod merge;
pub mod mock;
pub mod plan;
pub mod report;
pub mod run;
pub mod validate;

/// Why a subcommand did not succeed. Its messages are what stderr shows; [`Error::exit_code`]
/// is the process's exit code.
#[derive(Debug)]
pub enum Error {
    /// The command line itself (or `--help`, `--version`, which clap reports the same way).
    Usage(clap::Error),
    /// An SLO failed, a metric regressed, or no configuration meets the goals (exit 1). Each
    /// line is shown as `fleetsim: LINE`; there may be none.
    Unmet(Vec<String>),
    /// Bad input, found before anything ran (exit 2).
    Input(String),
    /// The run or its writing failed, or it was interrupted (exit 3).
    Failed(String),
    /// `run`'s pipeline failed.
    Run(RunError),
    /// `mock` failed.
    Mock(CommandError),
    /// `merge` failed.
    Merge(MergeError),
}

impl Error {
    /// The process exit code for this failure (README.md's table); the only such mapping.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(e) => {
                if e.use_stderr() {
                    2
                } else {
                    0
                }
            }
            Error::Unmet(_) => 1,
            Error::Input(_)
            | Error::Run(
                RunError::Scenario(_)
                | RunError::Output(_)
                | RunError::Junit(_)
                | RunError::Live(LiveError::Input(_) | LiveError::Descriptors { .. }),
            )
            | Error::Mock(CommandError::Input(_))
            | Error::Merge(MergeError::Input(_) | MergeError::Output(_)) => 2,
            Error::Failed(_)
            | Error::Run(RunError::Live(LiveError::Failed(_)) | RunError::Write(_))
            | Error::Mock(CommandError::Failed(_))
            | Error::Merge(MergeError::Write(_)) => 3,
        }
    }

    /// Shows the failure on stderr.
    pub fn print(&self) {
        match self {
            Error::Usage(e) => {
                let _ = e.print();
            }
            Error::Unmet(lines) => {
                for line in lines {
                    eprintln!("fleetsim: {line}");
                }
            }
            Error::Input(msg) | Error::Failed(msg) => eprintln!("fleetsim: {msg}"),
            Error::Run(e) => eprintln!("fleetsim: {e}"),
            Error::Mock(e) => eprintln!("fleetsim mock: {e}"),
            Error::Merge(e @ MergeError::Output(_)) => eprintln!("fleetsim: --out: {e}"),
            Error::Merge(e) => eprintln!("fleetsim: {e}"),
        }
    }
}

/// What a subcommand returns.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// A flag set by Ctrl-C or SIGTERM: the command finishes the current step, writes what it
/// has, and exits 3.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}
