//! `fleetsim merge`: combine the results directories of shard runs into one.

use super::{Error, Result};
use crate::report::merge::{MergeRequest, merge as merge_dirs};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shard runs' results directories (`fleetsim run --shard K/N`, every K from 0 to
    /// N − 1 once), in any order.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The merged results directory (it must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn merge(args: MergeArgs) -> Result {
    let req = MergeRequest {
        inputs: args.dirs,
        out: args.out,
        args: std::env::args().collect(),
    };
    let m = merge_dirs(&req).map_err(Error::Merge)?;
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
        crate::scenario::units::format_count(m.summary.devices),
        m.summary.engine,
        m.summary.seed,
        m.dir.display()
    );
    Ok(())
}
