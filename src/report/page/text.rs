//! Number and text formatting shared by the HTML and Markdown renderers: fixed formats, so a
//! rendered report is byte-for-byte deterministic.

use crate::metric::duration::human;
pub(crate) use crate::scenario::units::format_clock as clock;
pub(crate) use crate::scenario::units::format_count as count;

/// A span of time, in the one format every renderer uses ([`crate::metric::duration::human`]):
/// `42 s`, `26 m 53 s`, `4 h 36 m`, `2 d 7 h`.
pub(crate) fn duration(secs: f64) -> String {
    human(secs.max(0.0))
}

/// A latency given in milliseconds, in the same format: `0.42 ms`, `50 ms`, `1 s`, `25 m`.
pub(crate) fn latency(ms: f64) -> String {
    human(ms / 1e3)
}

pub(crate) fn latency_opt(ms: Option<f64>) -> String {
    ms.map_or_else(|| "–".into(), latency)
}

/// A ratio as a percentage: `91.8 %`, `0.02 %`, `0 %`, `100 %`.
pub(crate) fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p == 0.0 {
        "0 %".into()
    } else if p < 0.1 {
        format!("{p:.2} %")
    } else if (99.95..100.0).contains(&p) {
        "99.9 %".into()
    } else {
        format!("{} %", trim(format!("{p:.1}")))
    }
}

/// A rate per second: `16.7/s`, `2,880/s`, `0.25/s`.
pub(crate) fn rate(per_s: f64) -> String {
    if per_s >= 100.0 {
        format!("{}/s", count(per_s.round() as u64))
    } else if per_s >= 1.0 {
        format!("{}/s", trim(format!("{per_s:.1}")))
    } else {
        format!("{}/s", trim(format!("{per_s:.2}")))
    }
}

/// Bytes in binary units: `19.1 MiB`.
pub(crate) fn bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A plain decimal for a chart tick: `0`, `2.5`, `120`, `1,000`.
pub(crate) fn tick(v: f64) -> String {
    if v.abs() >= 1_000.0 && v.fract() == 0.0 {
        return count(v.abs() as u64);
    }
    let s = trim(format!("{v:.3}"));
    if s == "-0" { "0".into() } else { s }
}

/// `12.50` → `12.5`, `3.0` → `3`.
pub(crate) fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A value of the `summary.json` metric at `path`, in the unit that reads best: latencies
/// (milliseconds) and times (seconds) as durations, rates as percentages.
pub(crate) fn metric_value(path: &str, v: f64) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    if path.contains(".latency") {
        latency(v)
    } else if path.starts_with("online.")
        || path.starts_with("model.lower_bound")
        || last.ends_with("_s")
    {
        duration(v)
    } else if last.ends_with("rate") {
        percent(v)
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        count(v.abs() as u64)
    } else {
        tick(v)
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell or paragraph.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The human name of an operation, for sentences.
pub(crate) fn op_name(op: &str) -> &str {
    match op {
        "dps.status_lookup" => "DPS status lookups",
        "dps.register" => "DPS registrations",
        "dps.poll" => "DPS operation polls",
        "hub.connect" => "IoT Hub connects",
        "hub.telemetry" => "device-to-cloud messages",
        "device.boot_to_online" => "device boots",
        other => other,
    }
}

/// The human name of a model bottleneck stage.
pub(crate) fn stage_name(stage: &str) -> &str {
    match stage {
        "arrival" => "the fleet's own boot schedule (not a service limit)",
        "dps.registrations" => "DPS registrations per minute",
        "dps.operations" => "DPS operations per minute",
        "dps.operation_status" => "DPS operation-status polls per minute",
        "hub.connects" => "IoT Hub connects per second",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_fixed() {
        assert_eq!(clock(16_013.0), "4:26:53");
        assert_eq!(duration(1_613.2), "26 m 53 s");
        assert_eq!(duration(16_560.0), "4 h 36 m");
        assert_eq!(duration(3.25), "3.2 s");
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(200_000.0), "2 d 8 h");
        assert_eq!(latency(0.4239), "0.42 ms");
        assert_eq!(latency(50.303), "50 ms");
        assert_eq!(latency(496.127), "496 ms");
        assert_eq!(latency(1_032.703), "1 s");
        assert_eq!(latency(8_815.2), "8.8 s");
        assert_eq!(latency(1_483_735.0), "24 m 44 s");
        assert_eq!(latency(665_846.0), "11 m 6 s");
        assert_eq!(percent(0.917616), "91.8 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(0.0002), "0.02 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(percent(0.99999), "99.9 %");
        assert_eq!(rate(16.666), "16.7/s");
        assert_eq!(rate(2_880.0), "2,880/s");
        assert_eq!(bytes(20_025_344), "19.1 MiB");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(10_000.0), "10,000");
        assert_eq!(html("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
        assert_eq!(md("a|b_c"), "a\\|b\\_c");
        assert_eq!(metric_value("online.t99", 1_613.3), "26 m 53 s");
        assert_eq!(
            metric_value("operations.hub.connect.latency_ms.p99", 206.975),
            "207 ms"
        );
        assert_eq!(
            metric_value("operations.dps.register.throttle_rate", 0.917),
            "91.7 %"
        );
        assert_eq!(
            metric_value("operations.hub.connect.attempts", 100_000.0),
            "100,000"
        );
    }
}
