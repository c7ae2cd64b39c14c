//! `[fleet]`, `[device]` and `[[fleet.class]]`: the device mix, each class's behaviour
//! resolved class → `[device]` → built-in default, and device ids.

use super::{
    DEFAULT_HUB_FAILURES_BEFORE_DPS, DEFAULT_TELEMETRY_INTERVAL, DEFAULT_TELEMETRY_SIZE, Invalid,
    MAX_DEVICES, MAX_TELEMETRY_SIZE, Res, SHARE_TOLERANCE, check_dist, check_name, dur, round6,
    thousands,
};
use crate::device::retry::{Jitter, RetryPolicy, Timeouts};
use crate::scenario::dist::Dist;
use crate::scenario::spec::{
    BehaviourSpec, FleetSpec, JitterSpec, PollFailureSpec, ProvisioningSpec, RetrySpec,
    TelemetrySpec, TimeoutSpec,
};
use crate::scenario::units::Dur;
use crate::scenario::{DeviceClass, Fleet, IdPattern, PollFailure, Provisioning, TelemetryMode};
use crate::time::SimDuration;

pub(super) fn fleet(f: &FleetSpec, device: &BehaviourSpec) -> Res<Fleet> {
    let devices = f.devices.0;
    if devices == 0 {
        return Err(Invalid::new("fleet.devices", "must be at least 1"));
    }
    if devices > MAX_DEVICES {
        return Err(Invalid::new(
            "fleet.devices",
            format!(
                "{} devices is more than one scenario can drive (at most {})",
                thousands(devices),
                thousands(MAX_DEVICES)
            ),
        )
        .hint(
            "use fewer devices, or split the fleet into shards (--shard K/N) and merge the results",
        ));
    }
    let registered = f.registered_share.map_or(1.0, |s| s.0);
    let cached = f.cached_assignment_share.map_or(0.0, |s| s.0);
    if cached > registered + SHARE_TOLERANCE {
        return Err(Invalid::new(
            "fleet.cached_assignment_share",
            format!("{cached} is more than fleet.registered_share = {registered}: only a registered device can have a cached hub assignment"),
        )
        .hint(format!("lower cached_assignment_share to at most {registered}, or raise registered_share")));
    }
    let pattern = f.id_pattern.as_deref().unwrap_or("device-{index:07}");
    let id_pattern = parse_id_pattern(pattern, devices).map_err(|(m, h)| {
        let e = Invalid::new("fleet.id_pattern", m);
        match h {
            Some(h) => e.hint(h),
            None => e,
        }
    })?;

    for (key, set) in [
        ("name", device.name.is_some()),
        ("share", device.share.is_some()),
    ] {
        if set {
            return Err(Invalid::new(format!("device.{key}"), format!("`{key}` belongs in [[fleet.class]] only"))
                .hint("[device] holds the behaviour every class inherits; give each class its name and share in a [[fleet.class]] table"));
        }
    }
    check_behaviour(device, "device")?;

    let classes = if f.class.is_empty() {
        vec![class(None, device, "device".to_string(), 1.0)?]
    } else {
        let mut out: Vec<DeviceClass> = Vec::with_capacity(f.class.len());
        for (i, c) in f.class.iter().enumerate() {
            let at = format!("fleet.class[{i}]");
            let name = c.name.clone().ok_or_else(|| {
                Invalid::new(format!("{at}.name"), "missing required key `name`")
                    .hint("every [[fleet.class]] needs a `name` and a `share`")
            })?;
            check_name(&name, &format!("{at}.name"))?;
            if let Some(j) = out.iter().position(|o| o.name == name) {
                return Err(Invalid::new(
                    format!("{at}.name"),
                    format!("class name `{name}` is already used by fleet.class[{j}]"),
                )
                .hint("class names must be unique: they label the results"));
            }
            let share = c.share.ok_or_else(|| {
                Invalid::new(format!("{at}.share"), "missing required key `share`")
                    .hint("every [[fleet.class]] needs a `name` and a `share`")
            })?;
            check_behaviour(c, &at)?;
            out.push(class(Some((c, &at)), device, name, share.0)?);
        }
        let sum: f64 = out.iter().map(|c| c.share).sum();
        if (sum - 1.0).abs() > SHARE_TOLERANCE {
            let list: Vec<String> = out
                .iter()
                .map(|c| format!("{} {}", c.name, c.share))
                .collect();
            return Err(Invalid::new(
                "fleet.class",
                format!("class shares add up to {}, not 1", round6(sum)),
            )
            .hint(format!(
                "the shares are: {}; adjust them so they add up to 1",
                list.join(", ")
            )));
        }
        out
    };
    Ok(Fleet {
        devices,
        registered_share: registered,
        cached_assignment_share: cached,
        id_pattern,
        classes,
    })
}

/// Parses `fleet.id_pattern`. Device ids become DPS registration ids: at most 128 characters,
/// alphanumeric plus `- . _ :`, ending in an alphanumeric or `-` (reference §1g).
pub fn parse_id_pattern(p: &str, devices: u64) -> Result<IdPattern, (String, Option<String>)> {
    let example = Some("e.g. id_pattern = \"meter-{index:07}\"".to_string());
    let Some(open) = p.find('{') else {
        return Err((format!("`{p}` has no `{{index}}` placeholder"), example));
    };
    let close = p[open..].find('}').map(|c| open + c).ok_or_else(|| {
        (
            format!("`{p}`: `{{` without a closing `}}`"),
            example.clone(),
        )
    })?;
    let inner = &p[open + 1..close];
    let width = match inner.strip_prefix("index") {
        Some("") => 0,
        Some(spec) => {
            let digits = spec
                .strip_prefix(":0")
                .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
            match digits.and_then(|d| d.parse::<usize>().ok()) {
                Some(w) if (1..=20).contains(&w) => w,
                _ => {
                    return Err((
                        format!(
                            "`{{{inner}}}` is not a valid placeholder (expected `{{index}}` or `{{index:0N}}` with N from 1 to 20)"
                        ),
                        example,
                    ));
                }
            }
        }
        None => {
            return Err((
                format!(
                    "`{{{inner}}}` is not a valid placeholder (expected `{{index}}` or `{{index:0N}}`)"
                ),
                example,
            ));
        }
    };
    let (prefix, suffix) = (&p[..open], &p[close + 1..]);
    if prefix.contains('}') || suffix.contains('{') || suffix.contains('}') {
        return Err((
            format!("`{p}` must contain exactly one `{{index}}` placeholder and no other braces"),
            example,
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':');
    if let Some(c) = prefix.chars().chain(suffix.chars()).find(|c| !allowed(*c)) {
        return Err((
            format!(
                "`{c}` is not allowed in a device id (reference §1g: alphanumeric plus `- . _ :`)"
            ),
            None,
        ));
    }
    if let Some(c) = suffix.chars().last() {
        if !(c.is_ascii_alphanumeric() || c == '-') {
            return Err((
                format!(
                    "a device id must end in an alphanumeric character or `-`, not `{c}` (reference §1g)"
                ),
                None,
            ));
        }
    }
    let digits = (devices.saturating_sub(1)).to_string().len().max(width);
    let longest = prefix.len() + digits + suffix.len();
    if longest > 128 {
        return Err((
            format!(
                "device ids would be up to {longest} characters; DPS allows 128 (reference §1g)"
            ),
            None,
        ));
    }
    Ok(IdPattern {
        prefix: prefix.to_string(),
        width,
        suffix: suffix.to_string(),
    })
}

/// Checks the values one behaviour table sets (`at` is `device` or `fleet.class[i]`).
fn check_behaviour(b: &BehaviourSpec, at: &str) -> Res<()> {
    if let Some(d) = &b.boot_delay {
        check_dist(d, &format!("{at}.boot_delay"))?;
    }
    if b.hub_failures_before_dps == Some(0) {
        return Err(Invalid::new(
            format!("{at}.hub_failures_before_dps"),
            "must be at least 1",
        )
        .hint("reference §5a: re-provision after 10 consecutive failed reconnects"));
    }
    if let Some(Dur(d)) = b.telemetry_interval {
        if d.is_zero() {
            return Err(
                Invalid::new(format!("{at}.telemetry_interval"), "must be longer than 0")
                    .hint("e.g. telemetry_interval = \"15m\""),
            );
        }
    }
    if let Some(s) = b.telemetry_size {
        if !(1..=MAX_TELEMETRY_SIZE).contains(&s.0) {
            return Err(Invalid::new(
                format!("{at}.telemetry_size"),
                format!("{} bytes is outside 1..=262144", thousands(s.0)),
            )
            .hint("reference §2b: a device-to-cloud message is at most 256 KB"));
        }
    }
    if let Some(r) = &b.retry {
        let key = |f: &str| format!("{at}.retry.{f}");
        if let Some(m) = r.multiplier {
            if !(m.is_finite() && m >= 1.0) {
                return Err(
                    Invalid::new(key("multiplier"), format!("{m} is less than 1")).hint(
                        "1 retries at a fixed interval, 2 doubles the wait after each failure",
                    ),
                );
            }
        }
        if let Some(JitterSpec::Ratio(x)) = r.jitter {
            if !(x.is_finite() && x >= 0.0) {
                return Err(Invalid::new(
                    key("jitter"),
                    "must be a non-negative percentage",
                ));
            }
        }
        if r.initial.is_some_and(|d| d.0.is_zero()) {
            return Err(Invalid::new(key("initial"), "must be longer than 0: devices would retry in a tight loop")
                .hint("use immediate_first_retry = true for an immediate first retry, and e.g. initial = \"1s\""));
        }
    }
    if let Some(t) = &b.timeouts {
        let fields = [
            ("dps_status_lookup", t.dps_status_lookup),
            ("dps_register", t.dps_register),
            ("dps_poll", t.dps_poll),
            ("hub_connect", t.hub_connect),
            ("hub_telemetry", t.hub_telemetry),
        ];
        for (f, v) in fields {
            if v.is_some_and(|d| d.0.is_zero()) {
                return Err(Invalid::new(
                    format!("{at}.timeouts.{f}"),
                    "must be longer than 0",
                ));
            }
        }
    }
    Ok(())
}

/// Picks the class's value, else `[device]`'s.
fn pick<T: Clone>(
    class: Option<&BehaviourSpec>,
    device: &BehaviourSpec,
    f: impl Fn(&BehaviourSpec) -> Option<T>,
) -> Option<T> {
    class.and_then(&f).or_else(|| f(device))
}

fn class(
    c: Option<(&BehaviourSpec, &str)>,
    device: &BehaviourSpec,
    name: String,
    share: f64,
) -> Res<DeviceClass> {
    let cs = c.map(|(c, _)| c);
    let boot_delay =
        pick(cs, device, |b| b.boot_delay.clone()).map_or(Dist::ZERO, |d| Dist::compile(&d));
    let provisioning =
        match pick(cs, device, |b| b.provisioning).unwrap_or(ProvisioningSpec::Cached) {
            ProvisioningSpec::Cached => Provisioning::Cached,
            ProvisioningSpec::Always => Provisioning::Always,
        };
    let on_poll_failure =
        match pick(cs, device, |b| b.on_poll_failure).unwrap_or(PollFailureSpec::KeepPolling) {
            PollFailureSpec::KeepPolling => PollFailure::KeepPolling,
            PollFailureSpec::Reregister => PollFailure::Reregister,
        };
    let telemetry = match pick(cs, device, |b| b.telemetry).unwrap_or(TelemetrySpec::Continuous) {
        TelemetrySpec::First => TelemetryMode::First,
        TelemetrySpec::Continuous => TelemetryMode::Continuous,
    };
    let retry = retry_policy(cs.and_then(|c| c.retry.as_ref()), device.retry.as_ref());
    if retry.max < retry.initial {
        // Report it where the more specific of the two retry tables sets it.
        let at = match c {
            Some((cl, at))
                if cl
                    .retry
                    .as_ref()
                    .is_some_and(|r| r.max.is_some() || r.initial.is_some()) =>
            {
                at.to_string()
            }
            _ => "device".to_string(),
        };
        return Err(Invalid::new(
            format!("{at}.retry.max"),
            format!(
                "retry max ({}) is shorter than retry initial ({})",
                dur(retry.max),
                dur(retry.initial)
            ),
        )
        .hint("the wait grows from `initial` up to `max`; set max at least as long as initial"));
    }
    Ok(DeviceClass {
        name,
        share,
        boot_delay,
        provisioning,
        status_lookup: pick(cs, device, |b| b.status_lookup).unwrap_or(false),
        on_poll_failure,
        hub_failures_before_dps: pick(cs, device, |b| b.hub_failures_before_dps)
            .unwrap_or(DEFAULT_HUB_FAILURES_BEFORE_DPS),
        telemetry,
        telemetry_interval: pick(cs, device, |b| b.telemetry_interval)
            .map_or(DEFAULT_TELEMETRY_INTERVAL, |d| d.0),
        telemetry_size: pick(cs, device, |b| b.telemetry_size)
            .map_or(DEFAULT_TELEMETRY_SIZE, |s| s.0 as u32),
        retry,
        timeouts: timeouts(
            cs.and_then(|c| c.timeouts.as_ref()),
            device.timeouts.as_ref(),
        ),
        dead_share: pick(cs, device, |b| b.dead_share).map_or(0.0, |s| s.0),
    })
}

/// Field by field: the class's retry table, then `[device]`'s, then the SDK default.
fn retry_policy(class: Option<&RetrySpec>, device: Option<&RetrySpec>) -> RetryPolicy {
    fn f<T>(
        c: Option<&RetrySpec>,
        d: Option<&RetrySpec>,
        get: impl Fn(&RetrySpec) -> Option<T>,
    ) -> Option<T> {
        c.and_then(&get).or_else(|| d.and_then(&get))
    }
    let def = RetryPolicy::default();
    RetryPolicy {
        initial: f(class, device, |r| r.initial).map_or(def.initial, |d| d.0),
        max: f(class, device, |r| r.max).map_or(def.max, |d| d.0),
        multiplier: f(class, device, |r| r.multiplier).unwrap_or(def.multiplier),
        jitter: f(class, device, |r| r.jitter).map_or(def.jitter, |j| match j {
            JitterSpec::Absolute(d) => Jitter::Absolute(d.0),
            JitterSpec::Ratio(x) => Jitter::Ratio(x),
        }),
        honour_retry_after: f(class, device, |r| r.honour_retry_after)
            .unwrap_or(def.honour_retry_after),
        immediate_first_retry: f(class, device, |r| r.immediate_first_retry)
            .unwrap_or(def.immediate_first_retry),
        max_attempts: f(class, device, |r| r.max_attempts).unwrap_or(def.max_attempts),
        max_time: f(class, device, |r| r.max_time).map_or(def.max_time, |d| d.0),
    }
}

/// Field by field, like [`retry_policy`], from [`Timeouts::default`].
fn timeouts(class: Option<&TimeoutSpec>, device: Option<&TimeoutSpec>) -> Timeouts {
    fn f(
        c: Option<&TimeoutSpec>,
        d: Option<&TimeoutSpec>,
        get: impl Fn(&TimeoutSpec) -> Option<Dur>,
        def: SimDuration,
    ) -> SimDuration {
        c.and_then(&get)
            .or_else(|| d.and_then(&get))
            .map_or(def, |d| d.0)
    }
    let def = Timeouts::default();
    Timeouts {
        dps_status_lookup: f(
            class,
            device,
            |t| t.dps_status_lookup,
            def.dps_status_lookup,
        ),
        dps_register: f(class, device, |t| t.dps_register, def.dps_register),
        dps_poll: f(class, device, |t| t.dps_poll, def.dps_poll),
        hub_connect: f(class, device, |t| t.hub_connect, def.hub_connect),
        hub_telemetry: f(class, device, |t| t.hub_telemetry, def.hub_telemetry),
    }
}
