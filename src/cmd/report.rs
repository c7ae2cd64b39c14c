//! `fleetsim report`: render report.html and report.md again from a results directory.

use super::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The results directory (it holds summary.json).
    pub results_dir: PathBuf,
}

pub fn report(args: ReportArgs) -> Result {
    let paths = crate::report::page::write_reports(&args.results_dir)
        .map_err(|e| Error::Input(e.to_string()))?;
    for p in paths {
        outln!("wrote {}", p.display());
    }
    Ok(())
}
