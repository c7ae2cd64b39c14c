//! `[dps]` and `[hub]`: the services' limits, latencies and allocation, checked against the
//! tier tables, and the capacity check that the fleet fits the hubs and DPS instances.

use super::*;
/// DPS request service time. ASSUMPTION: no source publishes DPS latency; median 50 ms with a
/// p99 of 500 ms is a typical regional HTTPS/MQTT round trip under load.
pub fn default_dps_latency() -> DistSpec {
    lognormal(
        SimDuration::from_millis(50),
        0.99,
        SimDuration::from_millis(500),
    )
}

/// Time from an accepted register to the assignment being done. ASSUMPTION: median 1.5 s, p99
/// 6 s — consistent with the SDKs' 2 s default poll interval and the 3 s retry-after of the
/// reference §1c example, i.e. most devices see one or two "assigning" polls.
pub fn default_assignment_time() -> DistSpec {
    lognormal(
        SimDuration::from_millis(1500),
        0.99,
        SimDuration::from_secs(6),
    )
}

/// Hub CONNECT to CONNACK service time. ASSUMPTION: median 20 ms, p99 200 ms.
pub fn default_connect_latency() -> DistSpec {
    lognormal(
        SimDuration::from_millis(20),
        0.99,
        SimDuration::from_millis(200),
    )
}

/// Telemetry PUBLISH to PUBACK service time. ASSUMPTION: median 10 ms, p99 100 ms.
pub fn default_telemetry_latency() -> DistSpec {
    lognormal(
        SimDuration::from_millis(10),
        0.99,
        SimDuration::from_millis(100),
    )
}

fn lognormal(median: SimDuration, q: f64, at: SimDuration) -> DistSpec {
    DistSpec::LogNormal {
        median: Dur(median),
        upper: Some((q, Dur(at))),
        sigma: None,
    }
}

pub(super) fn dps(d: &DpsSpec) -> Res<Dps> {
    let instances = d.instances.unwrap_or(1);
    if !(1..=MAX_DPS_PER_SUBSCRIPTION).contains(&instances) {
        return Err(Invalid::new(
            "dps.instances",
            format!("{instances} is outside 1..={MAX_DPS_PER_SUBSCRIPTION}"),
        )
        .hint("reference §4c: at most 10 DPS instances per subscription"));
    }
    let allocation = match d.allocation.unwrap_or(AllocationSpec::Evenly) {
        AllocationSpec::Evenly => Allocation::Evenly,
        AllocationSpec::Hashed => Allocation::Hashed,
        AllocationSpec::Static => Allocation::Static,
    };
    let latency = dist_or(&d.latency, "dps.latency", default_dps_latency)?;
    let assignment_time = dist_or(
        &d.assignment_time,
        "dps.assignment_time",
        default_assignment_time,
    )?;
    let retry_after = nonzero(d.retry_after, "dps.retry_after")?.unwrap_or(DEFAULT_DPS_RETRY_AFTER);
    let throttle_retry_after = nonzero(d.throttle_retry_after, "dps.throttle_retry_after")?;
    let l = &d.limits;
    let mut limits = DpsLimits::default();
    if let Some(v) = l.registrations_per_min {
        limits.registrations_per_s = positive(v, "dps.limits.registrations_per_min")? / 60.0;
    }
    if let Some(v) = l.operations_per_min {
        limits.operations_per_s = positive(v, "dps.limits.operations_per_min")? / 60.0;
    }
    if let Some(v) = l.operation_status_per_min {
        limits.operation_status_per_s = positive(v, "dps.limits.operation_status_per_min")? / 60.0;
    }
    if let Some(v) = l.polls_per_device {
        if v == 0 {
            return Err(
                Invalid::new("dps.limits.polls_per_device", "must be at least 1")
                    .hint("reference §4c: 5 polls per 10 s per device"),
            );
        }
        limits.polls_per_device = v;
    }
    if let Some(v) = nonzero(l.poll_window, "dps.limits.poll_window")? {
        limits.poll_window = v;
    }
    if let Some(v) = l.registrations_per_instance {
        if v.0 == 0 {
            return Err(Invalid::new(
                "dps.limits.registrations_per_instance",
                "must be at least 1",
            ));
        }
        limits.registrations_per_instance = v.0;
    }
    if let Some(v) = l.lookups_are_operations {
        limits.lookups_are_operations = v;
    }
    if let Some(v) = nonzero(l.burst, "dps.limits.burst")? {
        limits.burst = v;
    }
    Ok(Dps {
        instances,
        allocation,
        latency,
        assignment_time,
        retry_after,
        throttle_retry_after,
        limits,
        queue: dps_queue(&d.queue)?,
    })
}

/// `[dps.queue]`, both keys inferences (docs/service-models.md, "DPS: a queue per stage").
fn dps_queue(q: &DpsQueueSpec) -> Res<DpsQueue> {
    let workers = q.workers.unwrap_or(DEFAULT_DPS_WORKERS);
    if !(1..=100_000).contains(&workers) {
        return Err(Invalid::new(
            "dps.queue.workers",
            format!("{workers} is outside 1..=100000"),
        )
        .hint("requests one DPS stage serves at once; the default is 32"));
    }
    let reject_cost = q.reject_cost.unwrap_or(DEFAULT_DPS_REJECT_COST);
    if !(0.0..=1.0).contains(&reject_cost) {
        return Err(Invalid::new(
            "dps.queue.reject_cost",
            format!("{reject_cost} is outside 0..=1"),
        )
        .hint(
            "a refused request's worker time as a share of a served one's; the default is 0.05",
        ));
    }
    Ok(DpsQueue {
        workers,
        reject_cost,
    })
}

pub(super) fn hub(h: &HubSpec) -> Res<Hub> {
    let count = h.count.unwrap_or(1);
    if !(1..=MAX_HUBS_PER_SUBSCRIPTION).contains(&count) {
        return Err(Invalid::new(
            "hub.count",
            format!("{count} is outside 1..={MAX_HUBS_PER_SUBSCRIPTION}"),
        )
        .hint("reference §4a: at most 50 paid hubs per subscription"));
    }
    let tier_name = h.tier.as_deref().unwrap_or("S1");
    let tier: Tier = tier_name.parse().map_err(|m: String| {
        Invalid::new("hub.tier", m).hint("F1 is free; B1-B3 are basic and S1-S3 standard, growing in capacity from 1 to 3 (reference §4a)")
    })?;
    if tier == Tier::F1 && count > 1 {
        return Err(Invalid::new(
            "hub.count",
            format!("{count} free (F1) hubs: a subscription has one"),
        )
        .hint("reference §4a: one free hub per subscription; use tier S1 or above"));
    }
    let units = h.units.unwrap_or(1);
    let max_units = tier.limits().max_units;
    if units == 0 {
        return Err(Invalid::new("hub.units", "must be at least 1"));
    }
    if units > max_units {
        let hint = match tier {
            Tier::S3 | Tier::B3 => "use more hubs (hub.count): one S3 unit already allows 6,000 connects/s (reference §4a, §4b)".to_string(),
            Tier::F1 => "use tier S1 or above for more units (reference §4a)".to_string(),
            Tier::S1 | Tier::B1 => format!(
                "use more hubs (hub.count), or tier {0}2: one {0}2 unit allows 10× the connects/s of one {0}1 unit (reference §4a, §4b)",
                &tier.name()[..1]
            ),
            Tier::S2 | Tier::B2 => format!(
                "use more hubs (hub.count), or tier {0}3: one {0}3 unit allows 50× the connects/s of one {0}2 unit (reference §4a, §4b)",
                &tier.name()[..1]
            ),
        };
        return Err(Invalid::new(
            "hub.units",
            format!("{tier} allows at most {max_units} units, not {units}"),
        )
        .hint(hint));
    }
    let connect_latency = dist_or(
        &h.connect_latency,
        "hub.connect_latency",
        default_connect_latency,
    )?;
    let telemetry_latency = dist_or(
        &h.telemetry_latency,
        "hub.telemetry_latency",
        default_telemetry_latency,
    )?;
    let l = &h.limits;
    let mut limits = HubLimits::published(tier, units);
    if let Some(v) = l.connects_per_s {
        limits.connects_per_s = positive(v, "hub.limits.connects_per_s")?;
    }
    if let Some(v) = l.d2c_per_s {
        limits.d2c_per_s = positive(v, "hub.limits.d2c_per_s")?;
    }
    if let Some(v) = l.messages_per_day {
        if v.0 == 0 {
            return Err(Invalid::new(
                "hub.limits.messages_per_day",
                "must be at least 1",
            ));
        }
        limits.messages_per_day = v.0;
    }
    if let Some(v) = l.devices {
        if v.0 == 0 {
            return Err(Invalid::new("hub.limits.devices", "must be at least 1"));
        }
        limits.devices = v.0;
    }
    if let Some(v) = nonzero(l.burst, "hub.limits.burst")? {
        limits.burst = v;
    }
    if let Some(v) = l.backlog {
        limits.backlog = v.0;
        limits.backlog_timeout = v.0;
    }
    if let Some(v) = l.backlog_timeout {
        if v.0 > limits.backlog {
            return Err(Invalid::new(
                "hub.limits.backlog_timeout",
                format!(
                    "{} is longer than hub.limits.backlog ({}): no request waits longer than the backlog holds",
                    crate::metric::duration::human(v.0.as_secs_f64()),
                    crate::metric::duration::human(limits.backlog.as_secs_f64())
                ),
            ));
        }
        limits.backlog_timeout = v.0;
    }
    Ok(Hub {
        count,
        tier,
        units,
        connect_latency,
        telemetry_latency,
        limits,
    })
}

/// The fleet must fit the hubs (reference §4a: 1,000,000 devices per hub) and the devices
/// registered at the start must fit the DPS instances (reference §4c: 1,000,000 each).
pub(super) fn capacity(fleet: &Fleet, dps: &Dps, hub: &Hub) -> Res<()> {
    let hub_cap = (hub.count as u64).saturating_mul(hub.limits.devices);
    if fleet.devices > hub_cap {
        let need = fleet.devices.div_ceil(hub.limits.devices.max(1));
        let hint = if need <= MAX_HUBS_PER_SUBSCRIPTION as u64 {
            format!("raise hub.count to at least {need}")
        } else {
            "that needs more than 50 hubs (reference §4a); split the fleet across scenarios"
                .to_string()
        };
        return Err(Invalid::new(
            "fleet.devices",
            format!(
                "{} devices do not fit on {} hub{} of {} devices each (reference §4a)",
                thousands(fleet.devices),
                hub.count,
                if hub.count == 1 { "" } else { "s" },
                thousands(hub.limits.devices)
            ),
        )
        .hint(hint));
    }
    let registered = (fleet.devices as f64 * fleet.registered_share).ceil() as u64;
    let dps_cap = (dps.instances as u64).saturating_mul(dps.limits.registrations_per_instance);
    if registered > dps_cap {
        let need = registered.div_ceil(dps.limits.registrations_per_instance.max(1));
        let hint = if need <= MAX_DPS_PER_SUBSCRIPTION as u64 {
            format!("raise dps.instances to at least {need}")
        } else {
            "that needs more than 10 DPS instances (reference §4c); lower fleet.registered_share or split the fleet".to_string()
        };
        return Err(Invalid::new(
            "fleet.devices",
            format!(
                "{} registered devices do not fit in {} DPS instance{} of {} registrations each (reference §4c)",
                thousands(registered),
                dps.instances,
                if dps.instances == 1 { "" } else { "s" },
                thousands(dps.limits.registrations_per_instance)
            ),
        )
        .hint(hint));
    }
    Ok(())
}
