//! The run pipeline: scenario → quota model → engine → results directory. `cmd::run` wraps it
//! with argument parsing and progress display, `cmd::Error::exit_code` maps its errors to exit
//! codes; tests call it directly.

use crate::engine::StopReason;
use crate::engine::live::{self, LiveError, LiveOptions, LiveProgress};
use crate::engine::virtual_time::{Progress, VirtualEngine};
use crate::metric::{Slo, Verdict};
use crate::quota::model::{ModelReport, analyse};
use crate::report::{
    ReportError, RunInfo, Summary, check_writable_with_room, default_results_dir, junit, slo,
    write_results,
};
use crate::results::Recorder;
use crate::scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

/// The most a run of `scenario` can write: its timeline has a row per bucket and its histogram
/// log an interval per hlog interval up to `run.max_duration`.
pub fn results_size_bound(scenario: &Scenario) -> u64 {
    let bucket = scenario.timeline_bucket.as_micros().max(1);
    let rows = scenario.max_duration.as_micros() / bucket + 2;
    let interval = Recorder::hlog_interval_for(scenario.timeline_bucket)
        .as_micros()
        .max(1);
    let intervals = scenario.max_duration.as_micros() / interval + 2;
    crate::report::write::results_size_bound(rows, intervals)
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario or an override is unusable (exit 2).
    #[error("{}", .0.render())]
    Scenario(#[from] ScenarioError),
    /// The results directory cannot be written, found before the run started (exit 2).
    #[error("{0}")]
    Output(ReportError),
    /// The `--junit` file cannot be written, found before the run started (exit 2).
    #[error("{0}")]
    Junit(String),
    /// Writing results after the run failed (exit 3).
    #[error("the run finished but its results could not be written: {0}")]
    Write(ReportError),
    /// The live engine could not start (exit 2 for bad input or limits, 3 for a failure).
    #[error("{0}")]
    Live(#[from] LiveError),
}

/// Which engine drives the devices.
#[derive(Clone, Debug)]
pub enum EngineChoice {
    Virtual,
    Live(Box<LiveOptions>),
}

/// A progress snapshot from either engine.
#[derive(Clone, Copy, Debug)]
pub enum Tick<'a> {
    Virtual(&'a Progress),
    Live(&'a LiveProgress),
}

/// What a caller asks for.
pub struct RunRequest<'a> {
    pub scenario: &'a Path,
    pub sets: Vec<String>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    /// The process's command line, for run.json (secrets are redacted there).
    pub args: Vec<String>,
    /// `--slo 'METRIC OP VALUE'`: SLOs added to the scenario's `[slo]`.
    pub slos: Vec<String>,
    /// `--junit FILE`: write the SLO verdicts there as JUnit XML.
    pub junit: Option<PathBuf>,
}

/// What a finished run produced.
pub struct RunOutput {
    pub dir: PathBuf,
    pub scenario: Scenario,
    pub summary: Summary,
    pub info: RunInfo,
    pub model: ModelReport,
    pub stop: StopReason,
    /// SLO verdicts (also in `summary.slo`); any failed one makes `fleetsim run` exit 1.
    pub slo: Vec<Verdict>,
}

pub use crate::input::load;

/// Runs a scenario on the virtual engine and writes its results directory.
/// `wall` is a stopwatch the caller owns (the library reads no clock); `stop` ends the run
/// early, still writing everything measured, marked incomplete.
pub fn run_virtual(
    req: RunRequest<'_>,
    now: SystemTime,
    wall: impl Fn() -> Duration,
    mut progress: impl FnMut(&Scenario, &Progress),
    stop: &AtomicBool,
) -> Result<RunOutput, RunError> {
    run_scenario(
        req,
        &EngineChoice::Virtual,
        now,
        wall,
        |sc, t| {
            if let Tick::Virtual(p) = t {
                progress(sc, p)
            }
        },
        stop,
    )
}

/// Runs a scenario on either engine and writes its results directory (same files, same
/// format; a live run's summary adds `live`, and `shard` for one slice of the fleet).
pub fn run_scenario(
    req: RunRequest<'_>,
    engine: &EngineChoice,
    now: SystemTime,
    wall: impl Fn() -> Duration,
    mut progress: impl FnMut(&Scenario, Tick<'_>),
    stop: &AtomicBool,
) -> Result<RunOutput, RunError> {
    let mut scenario = load(req.scenario, &req.sets, req.seed)?;
    for arg in &req.slos {
        let slo = Slo::parse_arg(arg).map_err(|e| ScenarioError {
            location: format!("--slo '{arg}'"),
            key: String::new(),
            message: e.message,
            hint: e.hint,
        })?;
        scenario.slo.push(slo);
    }
    if let EngineChoice::Live(o) = engine {
        live::check(&scenario, o)?;
    }
    let dir = req
        .out
        .clone()
        .unwrap_or_else(|| default_results_dir(&scenario.name, now));
    check_writable_with_room(&dir, results_size_bound(&scenario)).map_err(RunError::Output)?;
    if let Some(j) = &req.junit {
        junit::check_target(j).map_err(|m| RunError::Junit(format!("--junit: {m}")))?;
    }
    let model = analyse(&scenario);
    let (engine_name, recorder, stop_reason, end, events, shard, live) = match engine {
        EngineChoice::Virtual => {
            let r =
                VirtualEngine::new(&scenario).run(|p| progress(&scenario, Tick::Virtual(p)), stop);
            ("virtual", r.recorder, r.stop, r.end, r.events, None, None)
        }
        EngineChoice::Live(o) => {
            let r = live::run(&scenario, o, |p| progress(&scenario, Tick::Live(p)), stop)?;
            let shard = (!o.shard.is_whole()).then_some(o.shard);
            (
                "live",
                r.recorder,
                r.stop,
                r.end,
                r.steps,
                shard,
                Some(r.live),
            )
        }
    };
    let model_json = model_beside_measured(&scenario, &model, &recorder);
    let mut summary = crate::results::build_summary(
        &scenario,
        engine_name,
        &recorder,
        stop_reason.name(),
        end,
        model_json,
    );
    summary.shard = shard;
    summary.live = live;
    let verdicts = slo::evaluate_all(&scenario.slo, &summary);
    summary.slo = verdicts
        .iter()
        .map(|v| serde_json::to_value(v).expect("a verdict serialises"))
        .collect();
    let info = RunInfo::collect(wall(), events, recorder.devices(), req.args);
    write_results(&dir, &summary, &info, &recorder).map_err(RunError::Write)?;
    if let Some(j) = &req.junit {
        let xml = junit::to_xml(&[junit::slo_suite(&scenario.name, &verdicts, info.wall_s)]);
        junit::write_atomic(j, &xml).map_err(|source| {
            RunError::Write(ReportError::Io {
                path: j.clone(),
                source,
            })
        })?;
    }
    Ok(RunOutput {
        dir,
        scenario,
        summary,
        info,
        model,
        stop: stop_reason,
        slo: verdicts,
    })
}

pub use crate::results::model_beside_measured;
