//! `fleetsim plan`: the cheapest configuration that meets the goals.
//!
//! The sweep's grid is first pruned with the analytic model — a configuration whose lower
//! bound already misses a time goal cannot meet it, since no run beats its bound — then the
//! survivors are confirmed with full virtual runs, cheapest first, in parallel on all cores.

mod closest;
mod confirm;
pub mod output;
mod price;
mod sweep;

pub use price::Prices;
pub use sweep::{Sweep, grid};

use closest::closest_goal;
use confirm::{confirm, judge, parallel};

use crate::input::load_file;
use crate::metric::{CmpOp, Condition, Metric, Verdict, check, split_slo};
use crate::quota::lint::{Finding, lint};
use crate::quota::model::{LowerBounds, ModelReport, analyse};
use crate::report::Summary;
use crate::scenario::{Scenario, ScenarioError};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many sweep points `plan` accepts without `--max-runs`.
pub const DEFAULT_MAX_POINTS: usize = 500;
/// Passing configurations reported after the recommended one.
const RUNNER_UPS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Usage(String),
    #[error("{}", .0.render())]
    Scenario(#[from] ScenarioError),
}

/// One goal: a condition on a summary metric.
#[derive(Clone, Debug)]
pub struct Goal {
    pub text: String,
    pub metric: Metric,
    pub condition: Condition,
}

impl Goal {
    pub fn parse(text: &str) -> Result<Goal, PlanError> {
        let bad = |e: crate::metric::MetricError| {
            PlanError::Usage(format!("--goal '{text}': {}", e.render()))
        };
        let (path, condition) = split_slo(text).map_err(bad)?;
        let metric = check(&path, &condition).map_err(bad)?;
        Ok(Goal {
            text: text.trim().to_string(),
            metric,
            condition,
        })
    }

    /// Whether the model's lower bounds already rule the goal out: only for an upper limit on an
    /// `online.*` time, which a run can only make later.
    fn ruled_out(&self, bounds: &LowerBounds) -> Option<String> {
        let q = self
            .metric
            .canonical
            .strip_prefix("online.")?
            .strip_suffix("_s")?;
        if !matches!(self.condition.op, CmpOp::Lt | CmpOp::Le) {
            return None;
        }
        let threshold = self.condition.threshold(&self.metric).ok()?;
        match bounds.get(q) {
            None => Some(format!(
                "{}: the model says never (devices that never return)",
                self.text
            )),
            Some(b) if !self.condition.op.holds(b, threshold) => Some(format!(
                "{}: the lower bound is already {}",
                self.text,
                self.metric.unit.format(b)
            )),
            Some(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The scenario does not validate with these settings.
    Invalid,
    /// The model rules it out without a run.
    Pruned,
    Passed,
    Failed,
    /// Not run: a cheaper configuration already passed (or the plan was interrupted first).
    NotRun,
    /// Its confirming run was interrupted (Ctrl-C / SIGTERM) before it finished: no verdict.
    Interrupted,
}

/// One point of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Configuration {
    /// `key = value` pairs to pass back as `--set`.
    pub settings: Vec<(String, String)>,
    pub status: Status,
    /// Why it was invalid or pruned, or which goals failed.
    pub reason: Option<String>,
    /// Hub units × price per unit-month (see [`Prices`]).
    pub cost_per_month: Option<f64>,
    pub bottleneck: Option<String>,
    pub lower_bound_s: Option<LowerBounds>,
    /// Measured `online.t*_s` of a confirming run.
    pub measured_s: Option<LowerBounds>,
    pub verdicts: Vec<Verdict>,
    /// The confirming run stopped at this simulated time because a goal on a time to online
    /// was lost by then; its measured times are those reached before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at_s: Option<f64>,
    #[serde(skip)]
    pub summary: Option<Summary>,
    /// DPS instances, hubs, units: the tie-break between configurations of equal price
    /// (instances cost nothing a month, but fewer is simpler).
    #[serde(skip)]
    size: (u32, u32, u32),
    /// The loaded scenario and its model, kept from pruning for the confirming run.
    #[serde(skip)]
    prepared: Option<Box<(Scenario, ModelReport)>>,
}

impl Configuration {
    /// The settings as `key=value` pairs, space-separated: `dps.instances=6 hub.units=8`.
    pub fn settings_text(&self) -> String {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a lint finding cost in this scenario: the run with its fix beside the run without.
#[derive(Clone, Debug, Serialize)]
pub struct LintCost {
    pub rule: &'static str,
    pub classes: Vec<String>,
    pub message: String,
    pub fix: Vec<String>,
    pub t99_s: Option<f64>,
    pub t99_s_fixed: Option<f64>,
    pub registrations: u64,
    pub registrations_fixed: u64,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub scenario: String,
    pub goals: Vec<String>,
    pub sweeps: Vec<Sweep>,
    pub prices: Prices,
    pub configurations: Vec<Configuration>,
    /// Index into `configurations`.
    pub recommended: Option<usize>,
    pub runner_ups: Vec<usize>,
    /// With no recommendation: the goal that failed closest, and where.
    pub closest: Option<String>,
    pub lint: Vec<LintCost>,
    pub runs: usize,
    /// False when the plan was interrupted (Ctrl-C / SIGTERM): some configurations were not
    /// confirmed, so the recommendation may not be the cheapest that meets the goals.
    pub complete: bool,
}

pub struct PlanRequest<'a> {
    pub scenario: &'a Path,
    pub sets: Vec<String>,
    pub goals: Vec<Goal>,
    pub sweeps: Vec<Sweep>,
    pub max_runs: Option<usize>,
    pub prices: Prices,
    /// Also measure what each lint finding costs (one run per rule).
    pub lint_costs: bool,
    pub workers: usize,
}

/// Loads the base scenario with `extra` settings on top of the request's `--set`s.
fn load_with(req: &PlanRequest<'_>, extra: &[(String, String)]) -> Result<Scenario, ScenarioError> {
    let mut sets = req.sets.clone();
    sets.extend(extra.iter().map(|(k, v)| format!("{k}={v}")));
    load_file(req.scenario, &sets)
}

/// Sweeps the scenario: every configuration of the grid is checked against the quota model,
/// the survivors are confirmed by full runs, cheapest first, until the recommendation and its
/// runner-ups are found.
pub fn plan(
    req: &PlanRequest<'_>,
    stop: &AtomicBool,
    mut progress: impl FnMut(&str),
) -> Result<Plan, PlanError> {
    let base = load_with(req, &[])?;
    let points = grid(&req.sweeps);
    let limit = req.max_runs.unwrap_or(DEFAULT_MAX_POINTS);
    if points.len() > limit {
        return Err(PlanError::Usage(format!(
            "the sweep has {} points, more than {limit}; narrow the ranges or pass --max-runs {}",
            points.len(),
            points.len()
        )));
    }
    check_sweep_keys(req)?;
    progress(&format!(
        "{} configurations: checking each against the model",
        points.len()
    ));
    let mut configs: Vec<Configuration> = points.into_iter().map(|p| prepare(req, p)).collect();
    refuse_all_invalid(&configs)?;
    let workers = req.workers.max(1);
    let (mut passed, runs) = confirm_cheapest(req, &mut configs, workers, stop, &mut progress);
    passed.sort_by(|&a, &b| cheaper(&configs[a], &configs[b]));
    let recommended = passed.first().copied();
    let runner_ups = passed.iter().skip(1).take(RUNNER_UPS).copied().collect();
    let closest = if recommended.is_none() {
        closest_goal(&req.goals, &configs)
    } else {
        None
    };

    let lint = if req.lint_costs {
        progress("measuring what each lint finding costs");
        lint_costs(req, &base, workers, stop)?
    } else {
        Vec::new()
    };
    Ok(Plan {
        scenario: base.name.clone(),
        goals: req.goals.iter().map(|g| g.text.clone()).collect(),
        sweeps: req.sweeps.clone(),
        prices: req.prices.clone(),
        configurations: configs,
        recommended,
        runner_ups,
        closest,
        lint,
        runs,
        complete: !stop.load(Ordering::Relaxed),
    })
}

/// One point of the grid, checked against the model: invalid (its settings do not make a
/// scenario), pruned (a goal's lower bound already misses), or prepared for a full run.
fn prepare(req: &PlanRequest<'_>, settings: Vec<(String, String)>) -> Configuration {
    let mut c = Configuration {
        settings,
        status: Status::NotRun,
        reason: None,
        cost_per_month: None,
        bottleneck: None,
        lower_bound_s: None,
        measured_s: None,
        verdicts: Vec::new(),
        stopped_at_s: None,
        summary: None,
        size: (0, 0, 0),
        prepared: None,
    };
    match load_with(req, &c.settings) {
        Err(e) => {
            c.status = Status::Invalid;
            c.reason = Some(format!("{}: {}", e.key, e.message));
        }
        Ok(sc) => {
            let m = analyse(&sc);
            c.cost_per_month = Some(req.prices.monthly(&sc));
            c.size = (sc.dps.instances, sc.hub.count, sc.hub.units);
            c.bottleneck = Some(m.bottleneck.clone());
            let why: Vec<String> = req
                .goals
                .iter()
                .filter_map(|g| g.ruled_out(&m.lower_bound_s))
                .collect();
            c.lower_bound_s = Some(m.lower_bound_s.clone());
            if why.is_empty() {
                c.prepared = Some(Box::new((sc, m)));
            } else {
                c.status = Status::Pruned;
                c.reason = Some(why.join("; "));
            }
        }
    }
    c
}

/// A sweep none of whose points is a valid scenario is a usage error, named by its first.
fn refuse_all_invalid(configs: &[Configuration]) -> Result<(), PlanError> {
    let Some(first) = configs.first() else {
        return Ok(());
    };
    if configs.iter().any(|c| c.status != Status::Invalid) {
        return Ok(());
    }
    Err(PlanError::Usage(format!(
        "--sweep: no configuration of the sweep is a valid scenario; the first, {}, fails with {}",
        first.settings_text(),
        first.reason.as_deref().unwrap_or("an error")
    )))
}

/// Cheapest first; among equals, the smallest.
fn cheaper(a: &Configuration, b: &Configuration) -> std::cmp::Ordering {
    a.cost_per_month
        .partial_cmp(&b.cost_per_month)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then(a.size.cmp(&b.size))
}

/// Runs the prepared configurations, cheapest first and `workers` at a time, until more than
/// [`RUNNER_UPS`] have passed or the plan is stopped. Returns the passed indices and the
/// number of runs.
fn confirm_cheapest(
    req: &PlanRequest<'_>,
    configs: &mut [Configuration],
    workers: usize,
    stop: &AtomicBool,
    progress: &mut impl FnMut(&str),
) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..configs.len())
        .filter(|&i| configs[i].status == Status::NotRun)
        .collect();
    order.sort_by(|&a, &b| cheaper(&configs[a], &configs[b]));
    let mut passed: Vec<usize> = Vec::new();
    let mut runs = 0;
    for batch in order.chunks(workers) {
        if passed.len() > RUNNER_UPS || stop.load(Ordering::Relaxed) {
            break;
        }
        progress(&format!(
            "confirming {} configuration(s) with full runs ({} run so far)",
            batch.len(),
            runs
        ));
        let prepared: Vec<_> = batch
            .iter()
            .map(|&i| {
                configs[i]
                    .prepared
                    .take()
                    .expect("every candidate was prepared")
            })
            .collect();
        let summaries = parallel(prepared, workers, |p| confirm(&p.0, &p.1, &req.goals, stop));
        runs += batch.len();
        for (&i, (s, lost_at)) in batch.iter().zip(summaries) {
            if judge(&mut configs[i], s, lost_at, &req.goals) {
                passed.push(i);
            }
        }
    }
    (passed, runs)
}

/// Each `--sweep` key must name a scenario key: one the schema does not know (or a malformed
/// path) is refused before anything runs, naming the `--sweep` rather than the `--set` it
/// becomes. A value that fails validation only makes its configurations invalid.
fn check_sweep_keys(req: &PlanRequest<'_>) -> Result<(), PlanError> {
    for (i, s) in req.sweeps.iter().enumerate() {
        if req.sweeps[..i].iter().any(|t| t.key == s.key) {
            return Err(PlanError::Usage(format!(
                "--sweep '{}': the key is swept twice; give each key one --sweep with all its values",
                s.key
            )));
        }
        let Some(v) = s.values.first() else { continue };
        let Err(e) = load_with(req, &[(s.key.clone(), v.clone())]) else {
            continue;
        };
        const KEY_ERRORS: [&str; 6] = [
            "unknown key",
            "empty key segment",
            "is not an array index",
            "out of range",
            "so it has no key",
            "without a closing",
        ];
        let ours = e.location == format!("--set '{}={v}'", s.key);
        if ours && KEY_ERRORS.iter().any(|k| e.message.contains(k)) {
            return Err(ScenarioError {
                location: format!("--sweep '{}'", s.key),
                ..e
            }
            .into());
        }
    }
    Ok(())
}

/// Runs the base scenario once as it is and once per lint rule with that rule's fixes.
fn lint_costs(
    req: &PlanRequest<'_>,
    base: &Scenario,
    workers: usize,
    stop: &AtomicBool,
) -> Result<Vec<LintCost>, PlanError> {
    let findings = lint(base);
    let mut rules: Vec<(&'static str, Vec<Finding>)> = Vec::new();
    for f in findings {
        match rules.iter_mut().find(|(r, _)| *r == f.rule) {
            Some((_, v)) => v.push(f),
            None => rules.push((f.rule, vec![f])),
        }
    }
    let mut scenarios = vec![base.clone()];
    for (_, fs) in &rules {
        let mut sets = req.sets.clone();
        sets.extend(fs.iter().flat_map(|f| f.fix.iter().cloned()));
        scenarios.push(load_file(req.scenario, &sets)?);
    }
    let summaries = parallel(scenarios, workers, |sc| {
        confirm(&sc, &analyse(&sc), &[], stop).0
    });
    let registrations = |s: &Summary| s.operations.get("dps.register").map_or(0, |o| o.ok);
    let (before, fixed) = summaries.split_first().expect("the base run is first");
    Ok(rules
        .into_iter()
        .zip(fixed)
        .map(|((rule, fs), s)| LintCost {
            rule,
            classes: fs.iter().map(|f| f.class.clone()).collect(),
            message: fs[0].message.clone(),
            fix: fs.iter().flat_map(|f| f.fix.iter().cloned()).collect(),
            t99_s: before.online.t99_s,
            t99_s_fixed: s.online.t99_s,
            registrations: registrations(before),
            registrations_fixed: registrations(s),
        })
        .collect())
}
