//! The words of the model's answer: the daily-quota figures and the one-sentence verdict.

use super::{Capacity, DailyQuota, Demand, LowerBounds};
use crate::metric::duration::human;
use crate::scenario::Scenario;
use crate::scenario::units::format_count;

pub(super) fn daily_quota(sc: &Scenario, demand: &Demand) -> DailyQuota {
    let alive = (demand.devices - demand.dead) as f64 / demand.devices.max(1) as f64;
    let per_day: f64 = sc
        .fleet
        .classes
        .iter()
        .map(|c| {
            let devices = c.share * sc.fleet.devices as f64 * alive;
            // `telemetry = "first"` sends one message and then nothing: no steady use.
            let per_device = match c.telemetry {
                crate::scenario::TelemetryMode::First => 0.0,
                crate::scenario::TelemetryMode::Continuous => {
                    86_400.0 / c.telemetry_interval.as_secs_f64().max(1e-3)
                }
            };
            devices * per_device * sc.hub.limits.metered(c.telemetry_size) as f64
        })
        .sum();
    let quota = sc.hub.limits.messages_per_day * sc.hub.count as u64;
    DailyQuota {
        messages_per_day: quota,
        fleet_messages_per_day: per_day.round() as u64,
        hours_until_spent: (per_day > quota as f64).then(|| 24.0 * quota as f64 / per_day),
    }
}

pub(super) fn verdict(
    sc: &Scenario,
    bottleneck: &str,
    b: &LowerBounds,
    d: &Demand,
    cap: &Capacity,
) -> String {
    let t99 = b
        .t99
        .map_or("never (too many devices never return)".to_string(), human);
    let per_min =
        |per_s: f64| format_count((per_s * 60.0 / sc.dps.instances as f64).round() as u64);
    match bottleneck {
        "dps.registrations" => format!(
            "DPS registration is the wall: {}/min per instance × {}; {} devices must register, so 99 % online takes ≥ {t99}",
            per_min(cap.dps_registrations_per_s),
            sc.dps.instances,
            format_count(d.dps_register)
        ),
        "dps.operations" => format!(
            "DPS operations are the wall: {}/min per instance × {}, shared by registers and lookups; {} devices register and {} look up, so 99 % online takes ≥ {t99}",
            per_min(cap.dps_operations_per_s),
            sc.dps.instances,
            format_count(d.dps_register),
            format_count(d.dps_lookup)
        ),
        "dps.operation_status" => format!(
            "DPS operation-status polls are the wall: {}/min per instance × {}, at least one per registration; {} devices register, so 99 % online takes ≥ {t99}",
            per_min(cap.dps_operation_status_per_s),
            sc.dps.instances,
            format_count(d.dps_register)
        ),
        "hub.connects" => format!(
            "IoT Hub new connections are the wall: {}/s per hub × {} ({} {} units each); 99 % online takes ≥ {t99}",
            format_count(sc.hub.limits.connects_per_s.round() as u64),
            sc.hub.count,
            sc.hub.units,
            sc.hub.tier
        ),
        _ => format!(
            "the fleet's own boot schedule is the limit, not the services: 99 % online takes ≥ {t99}"
        ),
    }
}
