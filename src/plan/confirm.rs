//! Confirming runs: a configuration run on the virtual engine (stopped as soon as a goal on a
//! time to online is lost), judged against the goals, several at once on all cores.

use super::{Configuration, Goal, Status};
use crate::engine::virtual_time::VirtualEngine;
use crate::metric::{Verdict, evaluate};
use crate::quota::model::{LowerBounds, ModelReport};
use crate::report::Summary;
use crate::scenario::Scenario;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Runs a scenario on the virtual engine; its summary carries the model as `fleetsim run`'s
/// does (with measured/bound ratios and waste).
///
/// The run stops early once a goal on a time to online (`online.t99 < 30m`) is lost: past its
/// threshold with that share not yet online, the configuration fails whatever happens next.
/// Returns the summary, and the simulated time it stopped at if it stopped so.
pub(super) fn confirm(
    sc: &Scenario,
    model: &ModelReport,
    goals: &[Goal],
    stop: &AtomicBool,
) -> (Summary, Option<f64>) {
    let deadlines = online_deadlines(goals, sc.fleet.devices);
    let halt = AtomicBool::new(false);
    let mut lost_at = None;
    let r = VirtualEngine::new(sc).run(
        |p| {
            let now = p.now.as_secs_f64();
            if lost_at.is_none()
                && deadlines
                    .iter()
                    .any(|&(need, by)| now > by && p.ever_online < need)
            {
                lost_at = Some(now);
                halt.store(true, Ordering::Relaxed);
            }
            if stop.load(Ordering::Relaxed) {
                halt.store(true, Ordering::Relaxed);
            }
        },
        &halt,
    );
    let m = crate::results::model_beside_measured(sc, model, &r.recorder);
    let s = crate::results::build_summary(sc, "virtual", &r.recorder, r.stop.name(), r.end, m);
    // Interrupted by the user as well: then the run does not count as decided.
    let lost_at = lost_at.filter(|_| !stop.load(Ordering::Relaxed));
    (s, lost_at)
}

/// The goals on a time to online that were lost by `at`: past their threshold, share unreached.
fn online_deadlines_lost<'g>(goals: &'g [Goal], s: &Summary, at: f64) -> Vec<&'g str> {
    goals
        .iter()
        .filter(|g| {
            deadline(g, s.devices).is_some_and(|(_, by)| {
                at > by
                    && online_share(&g.metric.canonical).is_some_and(|p| reached(s, p).is_none())
            })
        })
        .map(|g| g.text.as_str())
        .collect()
}

/// For each goal `online.tNN < T` (or `<=`): the devices that share is and the deadline T in
/// seconds. Other goals cannot be decided before a run ends.
fn online_deadlines(goals: &[Goal], devices: u64) -> Vec<(u64, f64)> {
    goals.iter().filter_map(|g| deadline(g, devices)).collect()
}

/// One goal's deadline, if it is an upper limit on a time to online.
fn deadline(g: &Goal, devices: u64) -> Option<(u64, f64)> {
    use crate::metric::CmpOp;
    if !matches!(g.condition.op, CmpOp::Lt | CmpOp::Le) {
        return None;
    }
    let share = online_share(&g.metric.canonical)?;
    let by = g.condition.threshold(&g.metric).ok()?;
    // As the recorder counts a share: ceil, at least one device.
    let need = (u128::from(devices) * u128::from(share))
        .div_ceil(100)
        .max(1) as u64;
    Some((need, by))
}

/// The share of the fleet (in %) a time-to-online metric is about: `online.t99_s` → 99.
pub(super) fn online_share(canonical: &str) -> Option<u64> {
    match canonical {
        "online.t50_s" => Some(50),
        "online.t90_s" => Some(90),
        "online.t99_s" => Some(99),
        "online.t100_s" => Some(100),
        _ => None,
    }
}

/// When the run reached `share` % online, if it did.
fn reached(s: &Summary, share: u64) -> Option<f64> {
    match share {
        50 => s.online.t50_s,
        90 => s.online.t90_s,
        99 => s.online.t99_s,
        _ => s.online.t100_s,
    }
}

fn measured(s: &Summary) -> LowerBounds {
    LowerBounds {
        t50: s.online.t50_s,
        t90: s.online.t90_s,
        t99: s.online.t99_s,
        t100: s.online.t100_s,
    }
}

/// Runs `jobs` on up to `workers` threads; results come back in input order.
pub(super) fn parallel<T: Send, R: Send>(
    jobs: Vec<T>,
    workers: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = jobs.len();
    let jobs: Vec<Mutex<Option<T>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, n.max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let job = jobs[i]
                        .lock()
                        .expect("not poisoned")
                        .take()
                        .expect("taken once");
                    let r = f(job);
                    *results[i].lock().expect("not poisoned") = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("not poisoned")
                .expect("every job ran")
        })
        .collect()
}

/// Records a configuration's run and its goals' verdicts; true when every goal passed.
/// `lost_at`: the run stopped there because a time-to-online goal was lost.
pub(super) fn judge(
    c: &mut Configuration,
    s: Summary,
    lost_at: Option<f64>,
    goals: &[Goal],
) -> bool {
    if !s.complete && lost_at.is_none() {
        c.status = Status::Interrupted;
        c.reason = Some("interrupted before its run finished".into());
        return false;
    }
    let json = serde_json::to_value(&s).expect("a summary serialises");
    let verdicts: Vec<Verdict> = goals
        .iter()
        .map(|g| {
            evaluate(&json, &g.metric.path, &g.condition).expect("goal checked against the schema")
        })
        .collect();
    c.measured_s = Some(measured(&s));
    let failed: Vec<&str> = match lost_at {
        // Stopped early: only the goals already lost are known to fail; the rest were judged
        // on a part of the run.
        Some(at) => online_deadlines_lost(goals, &s, at),
        None => verdicts
            .iter()
            .zip(goals)
            .filter(|(v, _)| !v.pass)
            .map(|(_, g)| g.text.as_str())
            .collect(),
    };
    let pass = failed.is_empty() && lost_at.is_none();
    if pass {
        c.status = Status::Passed;
    } else {
        c.status = Status::Failed;
        c.reason = Some(match lost_at {
            Some(at) => format!(
                "missed {}; the run stopped at {} once that was decided",
                failed.join(", "),
                crate::scenario::units::format_clock(at)
            ),
            None => format!("missed {}", failed.join(", ")),
        });
    }
    c.stopped_at_s = lost_at;
    c.verdicts = verdicts;
    c.summary = Some(s);
    pass
}
