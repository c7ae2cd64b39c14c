//! `fleetsim merge DIR... --out DIR`: the results directories of the shard runs of one fleet
//! (`fleetsim run --shard K/N`, K = 0 … N−1, same scenario and seed) combined into one results
//! directory of the same format, as if one process had driven the whole fleet.
//!
//! Everything that adds up is added exactly: operation counts, timeline rows (counts, and the
//! levels of disjoint sets of devices), latency histograms (so percentiles are those of the
//! whole fleet, never averages of percentiles), run.json's events and memory, the `live`
//! section. The exact times at which the fleet reached 50/90/99/100 % online cannot be added
//! up; they come from the shards' first-online histograms (`online_at` in `histograms.hlog`)
//! added together, to 3 significant figures (never early, at most 0.1 % late).
//! `results/README.md` ("Merging shards") documents the rules.

mod add;
mod input;

use super::write::{
    check_writable, render_reports, write_dir_atomically, write_file, write_hlog_lines,
    write_latency, write_timeline,
};
use super::{ReportError, RunInfo, slo};
use crate::metric::Slo;
use crate::quota::model::{LowerBounds, ModelReport};
use crate::results::waste::{Spent, ratios, spent_on_nobody, waste_in};
use crate::results::{ONLINE_SHARES, Op, OpCounts, Timeline};
use crate::summary::live::{GENERATOR_LAG_TAG, LiveSummary, WIRE_CONNECT_TAG};
use crate::summary::{FORMAT, OnlineSummary, OpSummary, Operations, Summary};
use crate::time::SimTime;
use add::Acc;
use hdrhistogram::Histogram;
use input::{Input, input_err, read_input, secs_to_us, validate};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input is not a usable results directory, or the inputs are not the shards of one
    /// run (exit 2).
    #[error("{0}")]
    Input(String),
    /// `--out` cannot be written, found before anything was read (exit 2).
    #[error("{0}")]
    Output(ReportError),
    /// The merged directory could not be written (exit 3).
    #[error("the shards were merged but the results could not be written: {0}")]
    Write(ReportError),
}

/// What a caller asks for.
pub struct MergeRequest {
    /// The shards' results directories, in any order.
    pub inputs: Vec<PathBuf>,
    /// The merged results directory: must not exist, or be empty.
    pub out: PathBuf,
    /// The process's command line, for run.json (secrets are redacted there).
    pub args: Vec<String>,
}

/// What a merge produced.
#[derive(Debug)]
pub struct MergeOutput {
    pub dir: PathBuf,
    pub summary: Summary,
    pub info: RunInfo,
    /// N of `--shard K/N` (1 for a whole run merged alone).
    pub shards: u32,
    /// Figures that could not be merged exactly, said plainly (also in the files).
    pub notes: Vec<String>,
}

/// Merges `req.inputs` into `req.out`.
pub fn merge(req: &MergeRequest) -> Result<MergeOutput, MergeError> {
    if req.inputs.is_empty() {
        return Err(MergeError::Input("no results directories to merge".into()));
    }
    check_writable(&req.out).map_err(MergeError::Output)?;
    let mut inputs = req
        .inputs
        .iter()
        .map(|d| read_input(d))
        .collect::<Result<Vec<_>, _>>()?;
    let n = validate(&mut inputs)?;

    let mut acc = Acc::new();
    for i in &inputs {
        acc.add(i)?;
    }
    let end_s = inputs.iter().map(|i| i.summary.end_s).fold(0.0, f64::max);
    let end_us = secs_to_us(end_s);
    let timeline = acc.timeline(end_us);
    let mut notes = Vec::new();
    let summary = merged_summary(&inputs, n, &acc, &timeline, end_s, &mut notes)?;
    let info = merged_run_info(&inputs, summary.devices, req.args.clone())?;

    let comment = format!(
        "merged by fleetsim merge from {n} shard{} of this run",
        if n == 1 { "" } else { "s" }
    );
    write_dir_atomically(&req.out, |tmp| {
        write_file(&tmp.join("summary.json"), |w| {
            w.write_all(summary.to_json().as_bytes())
        })?;
        write_file(&tmp.join("run.json"), |w| {
            w.write_all(info.to_json().as_bytes())
        })?;
        write_file(&tmp.join("timeline.csv"), |w| write_timeline(w, &timeline))?;
        write_file(&tmp.join("latency.csv"), |w| {
            write_latency(w, |op| Cow::Borrowed(&acc.totals[op.index()]))
        })?;
        write_file(&tmp.join("histograms.hlog"), |w| {
            write_hlog_lines(w, &summary, &[comment], acc.hlog_lines(end_us))
        })?;
        render_reports(tmp)
    })
    .map_err(MergeError::Write)?;
    Ok(MergeOutput {
        dir: req.out.clone(),
        summary,
        info,
        shards: n,
        notes,
    })
}

// ---- the merged files ----

/// How bad a stop reason is: the merged run stopped for the worst of its shards' reasons.
/// An unknown reason counts as worse than running out of time.
fn stop_rank(reason: &str) -> u8 {
    match reason {
        "all_settled" => 0,
        "max_duration" => 1,
        "endpoint_lost" => 3,
        "interrupted" => 4,
        _ => 2,
    }
}

/// The first time the count of `h` reaches `k`: the top of the histogram bucket holding the
/// k-th smallest value (HdrHistogram's convention, as for latency percentiles).
fn first_reaching(h: &Histogram<u64>, k: u64) -> Option<u64> {
    if h.len() < k {
        return None;
    }
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= k {
            return Some(h.highest_equivalent(v.value_iterated_to()));
        }
    }
    None
}

/// `online.t*` from the merged first-online histogram: when the count first reached
/// `max(1, ceil(devices × share))`, as the recorder's thresholds; never later than `end_us`.
fn online_from_histogram(h: &Histogram<u64>, devices: u64, end_us: u64) -> OnlineSummary {
    let t = |(num, den): (u64, u64)| {
        let k = (u128::from(devices) * u128::from(num)).div_ceil(u128::from(den));
        let k = (k as u64).max(1);
        first_reaching(h, k).map(|us| SimTime(us.min(end_us)).as_secs_f64())
    };
    let [t50, t90, t99, t100] = ONLINE_SHARES.map(t);
    OnlineSummary {
        t50_s: t50,
        t90_s: t90,
        t99_s: t99,
        t100_s: t100,
    }
}

fn merged_summary(
    inputs: &[Input],
    n: u32,
    acc: &Acc,
    timeline: &Timeline,
    end_s: f64,
    notes: &mut Vec<String>,
) -> Result<Summary, MergeError> {
    let first = &inputs[0].summary;
    let devices: u64 = inputs.iter().map(|i| i.summary.devices).sum();
    let operations = merged_operations(inputs, acc);
    // A whole run merged alone keeps its exact times.
    let online = if n == 1 {
        first.online.clone()
    } else {
        online_from_histogram(&acc.online_at, devices, secs_to_us(end_s))
    };
    let stop_reason = inputs
        .iter()
        .map(|i| i.summary.stop_reason.as_str())
        .min_by_key(|r| std::cmp::Reverse(stop_rank(r)))
        .unwrap_or("all_settled")
        .to_string();
    let live = merged_live(inputs, acc, n);
    let model = if n == 1 {
        first.model.clone()
    } else {
        merged_model(&first.model, n, &online, &operations, timeline, notes)
    };
    let mut summary = Summary {
        format: FORMAT,
        scenario: first.scenario.clone(),
        engine: first.engine.clone(),
        seed: first.seed,
        devices,
        complete: inputs.iter().all(|i| i.summary.complete),
        end_s,
        stop_reason,
        operations: Operations(operations),
        online,
        model,
        slo: Vec::new(),
        compare: first.compare.clone(),
        shard: None,
        live,
    };
    let slos = shard_slos(inputs)?;
    summary.slo = slo::evaluate_all(&slos, &summary)
        .iter()
        .map(|v| serde_json::to_value(v).expect("a verdict serialises"))
        .collect();
    Ok(summary)
}

/// Every operation's counts summed over the inputs, with latency from the merged histograms.
fn merged_operations(inputs: &[Input], acc: &Acc) -> Vec<(String, OpSummary)> {
    Op::ALL
        .iter()
        .map(|op| {
            let mut c = OpCounts::default();
            let (mut late, mut repeats) = (None::<u64>, None::<u64>);
            let add = |sum: &mut Option<u64>, v: Option<u64>| {
                if let Some(v) = v {
                    *sum = Some(sum.unwrap_or(0) + v);
                }
            };
            for i in inputs {
                if let Some(s) = i.summary.operations.get(op.name()) {
                    add(&mut late, s.late);
                    add(&mut repeats, s.repeats);
                    c.merge(&OpCounts {
                        attempts: s.attempts,
                        ok: s.ok,
                        throttled: s.throttled,
                        errors: s.errors,
                        timeouts: s.timeouts,
                    });
                }
            }
            let summary = OpSummary {
                attempts: c.attempts,
                ok: c.ok,
                throttled: c.throttled,
                errors: c.errors,
                timeouts: c.timeouts,
                late,
                repeats,
                throttle_rate: (c.throttle_rate() * 1e6).round() / 1e6,
                latency_ms: crate::results::latency_ms(&acc.totals[op.index()]),
            };
            (op.name().to_string(), summary)
        })
        .collect()
}

/// The live figures of the shards, merged; lag and wire percentiles of the whole fleet from
/// the shards' histograms where every shard wrote them (else the largest of the shards', an
/// upper bound).
fn merged_live(inputs: &[Input], acc: &Acc, n: u32) -> Option<LiveSummary> {
    let mut live = inputs.iter().filter_map(|i| i.summary.live.as_ref()).fold(
        None::<LiveSummary>,
        |acc, l| match acc {
            None => Some(l.clone()),
            Some(mut a) => {
                a.merge(l);
                Some(a)
            }
        },
    );
    if let Some(l) = &mut live {
        let whole = |tag: &str| acc.live.get(tag).filter(|(k, _)| *k == n).map(|(_, h)| h);
        crate::results::live::set_from_histograms(
            l,
            whole(GENERATOR_LAG_TAG),
            whole(WIRE_CONNECT_TAG),
        );
    }
    live
}

/// The SLOs of every shard (the same scenario gives the same ones), to be judged again on the
/// merged figures.
fn shard_slos(inputs: &[Input]) -> Result<Vec<Slo>, MergeError> {
    let mut seen = HashSet::new();
    let mut slos = Vec::new();
    for i in inputs {
        for v in &i.summary.slo {
            let path = i.dir.join("summary.json");
            let (Some(metric), Some(condition)) = (
                v.get("metric").and_then(Value::as_str),
                v.get("condition").and_then(Value::as_str),
            ) else {
                return Err(input_err(
                    &path,
                    format!("an slo entry without metric and condition: {v}"),
                ));
            };
            if seen.insert((metric.to_string(), condition.to_string())) {
                let s = Slo::new(metric, condition).map_err(|e| {
                    input_err(&path, format!("SLO `{metric} {condition}`: {}", e.render()))
                })?;
                slos.push(s);
            }
        }
    }
    Ok(slos)
}

/// Shard 0's model (every shard computes it for the whole fleet) beside the merged figures:
/// `measured_over_bound` from the merged online times, `waste` from the merged timeline.
fn merged_model(
    model: &Value,
    n: u32,
    online: &OnlineSummary,
    operations: &[(String, OpSummary)],
    timeline: &Timeline,
    notes: &mut Vec<String>,
) -> Value {
    let mut v = model.clone();
    if !v.is_object() {
        return v;
    }
    let measured = LowerBounds {
        t50: online.t50_s,
        t90: online.t90_s,
        t99: online.t99_s,
        t100: online.t100_s,
    };
    if let Some(bound) = v
        .get("lower_bound_s")
        .and_then(|b| LowerBounds::deserialize(b).ok())
    {
        v["measured_over_bound"] =
            serde_json::to_value(ratios(&measured, &bound)).expect("serialises");
    }
    // `waste` measures the timeline against the limits, so a shard's (1/N of the traffic
    // against the whole limit) is no use here. It is recomputed from the merged timeline,
    // unless it needs `dps.limits.lookups_are_operations` (only when `dps.operations` is the
    // bottleneck), which summary.json does not record: then only the model's own entries
    // (avoidable registrations, from the whole-fleet demand) are kept.
    let report = serde_json::from_value::<ModelReport>(v.clone());
    match report {
        Ok(m) if m.bottleneck != "dps.operations" => {
            // `lookups_are_operations` is not read for these bottlenecks.
            v["waste"] = serde_json::to_value(waste_in(true, &m, timeline)).expect("serialises");
        }
        _ => {
            let why = match report {
                Ok(_) => {
                    "it needs dps.limits.lookups_are_operations, which summary.json does not record"
                }
                Err(_) => "the model in summary.json is not one this fleetsim reads",
            };
            let kept: Vec<Value> = v
                .get("waste")
                .and_then(Value::as_array)
                .map(|w| {
                    w.iter()
                        .filter(|e| e.get("from_s").is_none_or(Value::is_null))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            v["waste"] = Value::Array(kept);
            let note = format!(
                "model.waste: the unused-capacity entries were not recomputed for the {n} merged shards ({why}); only the model's own entries are kept"
            );
            v["waste_note"] = Value::String(note.clone());
            notes.push(note);
        }
    }
    // Late answers and repeated registrations: from the merged counts, never a shard's.
    let spent: Vec<Spent> = Op::ALL
        .iter()
        .filter_map(|&op| {
            let (_, s) = operations.iter().find(|(name, _)| name == op.name())?;
            Some(Spent {
                op,
                attempts: s.attempts,
                ok: s.ok,
                late: s.late.unwrap_or(0),
                repeats: s.repeats.unwrap_or(0),
            })
        })
        .collect();
    if let Some(w) = v.get_mut("waste").and_then(Value::as_array_mut) {
        w.retain(|e| {
            let stage = e.get("stage").and_then(Value::as_str).unwrap_or("");
            !stage.starts_with("late.") && stage != "dps.repeats"
        });
        w.extend(
            spent_on_nobody(&spent)
                .into_iter()
                .map(|x| serde_json::to_value(x).expect("serialises")),
        );
    }
    v
}

fn merged_run_info(
    inputs: &[Input],
    devices: u64,
    args: Vec<String>,
) -> Result<RunInfo, MergeError> {
    let mut started: Option<SystemTime> = None;
    for i in inputs {
        let t = humantime::parse_rfc3339(&i.run.started_utc).map_err(|e| {
            input_err(
                &i.dir.join("run.json"),
                format!("started_utc `{}`: {e}", i.run.started_utc),
            )
        })?;
        started = Some(started.map_or(t, |s| s.min(t)));
    }
    let wall_s = inputs.iter().map(|i| i.run.wall_s).fold(0.0, f64::max);
    let events = inputs.iter().map(|i| i.run.events).sum();
    // A sum only when every shard knows its own.
    let peak: Option<u64> = inputs.iter().map(|i| i.run.peak_rss_bytes).sum();
    let mut hosts: Vec<&str> = Vec::new();
    for h in inputs.iter().filter_map(|i| i.run.host.as_deref()) {
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let host = (!hosts.is_empty()).then(|| hosts.join(", "));
    Ok(RunInfo::from_parts(
        started.unwrap_or(SystemTime::UNIX_EPOCH),
        Duration::try_from_secs_f64(wall_s).unwrap_or_default(),
        events,
        devices,
        args,
        peak,
        host,
    ))
}

#[cfg(test)]
mod tests {
    use super::add::new_histogram;
    use super::*;
    use crate::results::TimelineRow;
    use crate::time::SimDuration;
    use std::path::Path;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn online_times_come_from_the_histogram_count() {
        // 10 devices: thresholds 5, 9, 10, 10; one never came online.
        let h = hist(&[
            1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000, 7_000_000, 8_000_000,
            9_000_000,
        ]);
        let o = online_from_histogram(&h, 10, 100_000_000);
        let near = |x: Option<f64>, exact: f64| {
            let x = x.unwrap();
            assert!(x >= exact && x <= exact * 1.001, "{x} vs {exact}");
        };
        near(o.t50_s, 5.0);
        near(o.t90_s, 9.0);
        assert_eq!((o.t99_s, o.t100_s), (None, None));
        // Never later than the run's end.
        let o = online_from_histogram(&h, 9, 9_000_000);
        assert_eq!(o.t100_s, Some(9.0));
        // No devices: nothing reached.
        assert_eq!(
            online_from_histogram(&new_histogram(), 0, 1),
            OnlineSummary::default()
        );
        // Time zero is a time.
        assert_eq!(online_from_histogram(&hist(&[0]), 1, 1).t100_s, Some(0.0));
    }

    #[test]
    fn the_worst_stop_reason_wins() {
        fn worst<'a>(rs: &[&'a str]) -> &'a str {
            rs.iter()
                .copied()
                .min_by_key(|r| std::cmp::Reverse(stop_rank(r)))
                .unwrap()
        }
        assert_eq!(worst(&["all_settled", "max_duration"]), "max_duration");
        assert_eq!(worst(&["endpoint_lost", "interrupted"]), "interrupted");
        assert_eq!(worst(&["max_duration", "endpoint_lost"]), "endpoint_lost");
        assert_eq!(worst(&["all_settled", "something_new"]), "something_new");
        assert_eq!(worst(&["all_settled", "all_settled"]), "all_settled");
    }

    #[test]
    fn the_model_is_shard_0s_beside_the_merged_figures() {
        let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");
        let sc = crate::input::load(&smoke, &[], None).unwrap();
        let mut model = serde_json::to_value(crate::quota::model::analyse(&sc)).unwrap();
        model["lower_bound_s"] =
            serde_json::json!({"t50": 2.0, "t90": 4.0, "t99": null, "t100": 8.0});
        model["waste"] = serde_json::json!([
            {"stage": "dps.operations", "share": 0.5, "from_s": 1.0, "to_s": 2.0, "message": "shard's"},
            {"stage": "dps.avoidable_registrations", "share": 0.2, "from_s": null, "to_s": null, "message": "model's"},
        ]);
        let online = OnlineSummary {
            t50_s: Some(3.0),
            t90_s: Some(5.0),
            t99_s: Some(6.0),
            t100_s: None,
        };
        // A hub bottleneck: waste is recomputed from the merged timeline (here: every connect
        // throttled in the first second, none served, so 100 % of the limit went unused).
        let mut row = TimelineRow::default();
        row.ops[Op::HubConnect.index()].throttled = 5;
        let tl = Timeline::from_rows(SimDuration::from_secs(1), vec![row]);
        model["bottleneck"] = "hub.connects".into();
        let mut notes = Vec::new();
        let v = merged_model(&model, 2, &online, &[], &tl, &mut notes);
        assert_eq!(
            v["measured_over_bound"],
            serde_json::json!({"t50": 1.5, "t90": 1.25, "t99": null, "t100": null})
        );
        let m: ModelReport = serde_json::from_value(model.clone()).unwrap();
        assert_eq!(
            v["waste"],
            serde_json::to_value(waste_in(true, &m, &tl)).unwrap()
        );
        assert_eq!(v["waste"][0]["stage"], "hub.connects");
        assert!(v.get("waste_note").is_none() && notes.is_empty());
        assert_eq!(v["verdict"], model["verdict"]);

        // DPS operations: the waste would depend on a fact summary.json lacks; only the
        // model's own entry stays, and the merge says so.
        model["bottleneck"] = "dps.operations".into();
        let v = merged_model(&model, 2, &online, &[], &tl, &mut notes);
        assert_eq!(v["waste"].as_array().unwrap().len(), 1);
        assert_eq!(v["waste"][0]["message"], "model's");
        assert!(
            v["waste_note"]
                .as_str()
                .unwrap()
                .contains("2 merged shards")
        );
        assert_eq!(notes.len(), 1);
    }
}
