//! `fleetsim validate`: load a scenario with its overrides and print what it resolves to, the
//! quota model's verdict and the lint findings.

use super::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    pub scenario: PathBuf,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

pub fn validate(args: ValidateArgs) -> Result {
    let sc =
        crate::run::load(&args.scenario, &args.sets, None).map_err(|e| Error::Input(e.render()))?;
    let model = crate::quota::model::analyse(&sc);
    outln!(
        "{}: ok ({} devices, {} classes, arrival {}, hash {})",
        sc.name,
        crate::scenario::units::format_count(sc.fleet.devices),
        sc.fleet.classes.len(),
        sc.arrival.kind(),
        sc.hash
    );
    outln!("model: {}", model.verdict);
    for f in crate::quota::lint::lint(&sc) {
        outln!(
            "lint {} ({}, {:.0} % of the fleet): {}\n  fix: --set {}",
            f.rule,
            f.class,
            f.share * 100.0,
            f.message,
            f.fix.join(" --set ")
        );
    }
    Ok(())
}
