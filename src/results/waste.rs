//! Where the fleet's own behaviour wasted capacity, measured on a finished run beside the
//! model: the share of a limit left unused while devices were being turned away (their backoff
//! kept them away while the quota refilled), and registrations a status lookup or a cached
//! assignment would have spared.

use super::{OpCounts, Recorder, Timeline};
use crate::metric::Op;
use crate::quota::model::ModelReport;
use crate::scenario::Scenario;
use crate::scenario::units::format_clock as clock;
pub use crate::summary::model::{Waste, ratios};

pub fn waste(sc: &Scenario, model: &ModelReport, rec: &Recorder) -> Vec<Waste> {
    let mut out = waste_in(sc.dps.limits.lookups_are_operations, model, rec.timeline());
    let spent: Vec<Spent> = Op::ALL
        .iter()
        .map(|&op| Spent {
            op,
            attempts: rec.counts(op).attempts,
            ok: rec.counts(op).ok,
            late: rec.late_answers(op),
            repeats: rec.repeats(op),
        })
        .collect();
    out.extend(spent_on_nobody(&spent));
    out
}

/// One operation's figures for [`spent_on_nobody`].
pub struct Spent {
    pub op: Op,
    pub attempts: u64,
    pub ok: u64,
    /// Answers after the device's timeout.
    pub late: u64,
    /// Requests started while one was accepted or in flight.
    pub repeats: u64,
}

/// The `waste` entries of load that served nobody (docs/service-models.md, "Late answers",
/// "Repeated registrations"): answers a service gave after their device had timed out
/// (`late.<op>`, share of the attempts), and registrations repeated by devices that already
/// had one accepted or in flight (`dps.repeats`, share of the register attempts; the message
/// gives them and the accepted registrations per device that came online,
/// `device.boot_to_online`'s `ok`).
pub fn spent_on_nobody(ops: &[Spent]) -> Vec<Waste> {
    let ever_online = ops
        .iter()
        .find(|s| s.op == Op::BootToOnline)
        .map_or(0, |s| s.ok);
    let count = crate::scenario::units::format_count;
    let mut out = Vec::new();
    for s in ops.iter().filter(|s| s.late > 0) {
        let share = s.late as f64 / s.attempts.max(1) as f64;
        out.push(Waste {
            stage: format!("late.{}", s.op.name()),
            share: (share * 1000.0).round() / 1000.0,
            from_s: None,
            to_s: None,
            message: format!(
                "{}: {} answers ({:.1} % of attempts) came after their device had timed out: the service spent its capacity on them for nobody",
                s.op.name(),
                count(s.late),
                share * 100.0
            ),
        });
    }
    if let Some(r) = ops
        .iter()
        .find(|s| s.op == Op::DpsRegister && s.repeats > 0)
    {
        let per_device = r.ok as f64 / ever_online.max(1) as f64;
        let times_fleet = r.repeats as f64 / ever_online.max(1) as f64;
        out.push(Waste {
            stage: "dps.repeats".into(),
            share: (r.repeats as f64 / r.attempts.max(1) as f64 * 1000.0).round() / 1000.0,
            from_s: None,
            to_s: None,
            message: format!(
                "re-registration multiplied DPS load: devices started {} registrations ({times_fleet:.1} per device that came online) while they already had one accepted or in flight; DPS accepted {per_device:.1} registrations per device that came online",
                count(r.repeats),
            ),
        });
    }
    out
}

/// [`waste`] from a timeline alone (`fleetsim merge` has the shards' timelines added up, not a
/// recorder). `lookups_are_operations` is the scenario's `dps.limits.lookups_are_operations`; it
/// matters only when the bottleneck is `dps.operations`.
pub fn waste_in(lookups_are_operations: bool, model: &ModelReport, tl: &Timeline) -> Vec<Waste> {
    let bucket = tl.bucket().as_secs_f64();
    let lookups = if lookups_are_operations { 1 } else { 0 };
    // Each limit: its capacity, the operations it refuses, and what uses it up.
    let stages: [(&str, f64, &[Op]); 4] = [
        (
            "dps.registrations",
            model.capacity.dps_registrations_per_s,
            &[Op::DpsRegister],
        ),
        (
            "dps.operations",
            model.capacity.dps_operations_per_s,
            &[Op::DpsRegister, Op::DpsStatusLookup],
        ),
        (
            "dps.operation_status",
            model.capacity.dps_operation_status_per_s,
            &[Op::DpsPoll],
        ),
        (
            "hub.connects",
            model.capacity.hub_connects_per_s,
            &[Op::HubConnect],
        ),
    ];
    let used = |stage: &str, o: &[OpCounts]| match stage {
        "dps.registrations" => o[Op::DpsRegister.index()].ok,
        "dps.operations" => {
            o[Op::DpsRegister.index()].ok + lookups * o[Op::DpsStatusLookup.index()].ok
        }
        "dps.operation_status" => o[Op::DpsPoll.index()].ok,
        _ => o[Op::HubConnect.index()].ok,
    };
    let mut out = Vec::new();
    for (stage, capacity, refused_by) in stages {
        // A limit that is not the binding one cannot be filled (registrations, when the
        // operations limit they share with polls binds first): only the bottleneck, and the
        // hub whenever it refused connects, are judged.
        if stage != model.bottleneck && stage != "hub.connects" {
            continue;
        }
        let refusing: Vec<usize> = tl
            .rows()
            .iter()
            .enumerate()
            .filter(|(_, r)| refused_by.iter().any(|op| r.ops[op.index()].throttled > 0))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = refusing.first() else {
            continue;
        };
        // Until the stage's last success: backed-off devices still waiting after the last
        // refusal are demand too, and the quota idles while they are away.
        let last = tl
            .rows()
            .iter()
            .rposition(|r| used(stage, &r.ops) > 0)
            .unwrap_or(first)
            .max(first);
        let served: u64 = tl.rows()[first..=last]
            .iter()
            .map(|r| used(stage, &r.ops))
            .sum();
        let window = (last - first + 1) as f64 * bucket;
        let share = (1.0 - served as f64 / (capacity * window)).clamp(0.0, 1.0);
        if share < 0.05 {
            continue;
        }
        let (from, to) = (
            tl.row_start(first).as_secs_f64(),
            tl.row_start(last).as_secs_f64() + bucket,
        );
        out.push(Waste {
            stage: stage.to_string(),
            share: (share * 1000.0).round() / 1000.0,
            from_s: Some(from),
            to_s: Some(to),
            message: format!(
                "{stage}: {:.0} % of the limit went unused between the first refusal and the last success ({}–{}): backed-off devices stayed away while the quota refilled",
                share * 100.0,
                clock(from),
                clock(to)
            ),
        });
    }
    let d = &model.demand;
    if d.dps_register_avoidable > 0 {
        let share = d.dps_register_avoidable as f64 / d.dps_register.max(1) as f64;
        out.push(Waste {
            stage: "dps.avoidable_registrations".into(),
            share: (share * 1000.0).round() / 1000.0,
            from_s: None,
            to_s: None,
            message: format!(
                "{} of {} registrations ({:.0} %) were by devices already registered (provisioning on every boot, or no status lookup): a lookup or a cached assignment would have spared them",
                crate::scenario::units::format_count(d.dps_register_avoidable),
                crate::scenario::units::format_count(d.dps_register),
                share * 100.0
            ),
        });
    }
    out
}
