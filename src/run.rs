//! `fleetsim run`: scenario → quota model → engine → results directory. The binary wraps this
//! with argument parsing, progress display and exit codes; tests call it directly.

use crate::engine::virtual_time::{Progress, StopReason, VirtualEngine};
use crate::quota::model::{ModelReport, analyse};
use crate::report::{
    ReportError, RunInfo, Summary, check_writable, default_results_dir, write_results,
};
use crate::scenario::{Scenario, ScenarioError, load_file};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario or an override is unusable (exit 2).
    #[error("{}", .0.render())]
    Scenario(#[from] ScenarioError),
    /// The results directory cannot be written, found before the run started (exit 2).
    #[error("{0}")]
    Output(ReportError),
    /// Writing results after the run failed (exit 3).
    #[error("the run finished but its results could not be written: {0}")]
    Write(ReportError),
}

/// What a caller asks for.
pub struct RunRequest<'a> {
    pub scenario: &'a Path,
    pub sets: Vec<String>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    /// The process's command line, for run.json (secrets are redacted there).
    pub args: Vec<String>,
}

/// What a finished run produced.
pub struct RunOutput {
    pub dir: PathBuf,
    pub scenario: Scenario,
    pub summary: Summary,
    pub info: RunInfo,
    pub model: ModelReport,
    pub stop: StopReason,
}

/// Loads a scenario with `--set` and `--seed` applied.
pub fn load(path: &Path, sets: &[String], seed: Option<u64>) -> Result<Scenario, ScenarioError> {
    let mut sets = sets.to_vec();
    if let Some(s) = seed {
        sets.push(format!("run.seed={s}"));
    }
    load_file(path, &sets)
}

/// Runs a scenario on the virtual engine and writes its results directory.
/// `wall` is a stopwatch the caller owns (the library reads no clock); `stop` ends the run
/// early, still writing everything measured, marked incomplete.
pub fn run_virtual(
    req: RunRequest<'_>,
    now: SystemTime,
    wall: impl Fn() -> Duration,
    progress: impl FnMut(&Scenario, &Progress),
    stop: &AtomicBool,
) -> Result<RunOutput, RunError> {
    let scenario = load(req.scenario, &req.sets, req.seed)?;
    let dir = req
        .out
        .clone()
        .unwrap_or_else(|| default_results_dir(&scenario.name, now));
    check_writable(&dir).map_err(RunError::Output)?;
    let model = analyse(&scenario);
    let mut progress = progress;
    let result = VirtualEngine::new(&scenario).run(|p| progress(&scenario, p), stop);
    let model_json = serde_json::to_value(&model).expect("the model serialises");
    let summary = Summary::build(
        &scenario,
        "virtual",
        &result.recorder,
        result.stop.name(),
        result.end,
        model_json,
    );
    let info = RunInfo::collect(wall(), result.events, scenario.fleet.devices, req.args);
    write_results(&dir, &summary, &info, &result.recorder).map_err(RunError::Write)?;
    Ok(RunOutput {
        dir,
        scenario,
        summary,
        info,
        model,
        stop: result.stop,
    })
}
