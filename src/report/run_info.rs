//! `run.json`: the wall-clock side of a run — how long it took on this machine, how much
//! memory, where, with which command. Never reproducible, so kept apart from `summary.json`.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Wall-clock seconds the run took (3 decimals).
    pub wall_s: f64,
    /// Events the engine processed.
    pub events: u64,
    /// `events / wall_s` (1 decimal); 0 when `wall_s` is 0.
    pub events_per_s: f64,
    /// The process's peak resident set (`VmHWM`), null where `/proc` is unavailable.
    pub peak_rss_bytes: Option<u64>,
    /// `peak_rss_bytes / devices` (1 decimal); null without either.
    pub bytes_per_device: Option<f64>,
    pub host: Option<String>,
    /// fleetsim's version.
    pub version: String,
    /// The arguments, secrets replaced by `***` (see [`redact_args`]).
    pub command_line: Vec<String>,
    /// When the run started, RFC 3339 UTC to the second.
    pub started_utc: String,
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (x * k).round() / k
}

impl RunInfo {
    /// Gather run facts after a run that took `wall` and processed `events` events over
    /// `devices` devices; `args` is the process's command line (e.g. `std::env::args()`).
    /// Reads the clock, `/proc` and the host name.
    // The core never reads clocks; this is the results writer, on the wall-clock side by
    // definition: the start time is now minus the run's wall time.
    #[allow(clippy::disallowed_methods)]
    pub fn collect(
        wall: Duration,
        events: u64,
        devices: u64,
        args: impl IntoIterator<Item = String>,
    ) -> RunInfo {
        let now = SystemTime::now();
        let started = now.checked_sub(wall).unwrap_or(now);
        RunInfo::from_parts(
            started,
            wall,
            events,
            devices,
            args,
            peak_rss_bytes(),
            hostname(),
        )
    }

    /// The pure half of [`RunInfo::collect`]: every fact passed in.
    pub fn from_parts(
        started: SystemTime,
        wall: Duration,
        events: u64,
        devices: u64,
        args: impl IntoIterator<Item = String>,
        peak_rss_bytes: Option<u64>,
        host: Option<String>,
    ) -> RunInfo {
        let wall_s = wall.as_secs_f64();
        let events_per_s = if wall_s > 0.0 {
            round_to(events as f64 / wall_s, 1)
        } else {
            0.0
        };
        let bytes_per_device = match (peak_rss_bytes, devices) {
            (Some(b), d) if d > 0 => Some(round_to(b as f64 / d as f64, 1)),
            _ => None,
        };
        RunInfo {
            wall_s: round_to(wall_s, 3),
            events,
            events_per_s,
            peak_rss_bytes,
            bytes_per_device,
            host,
            version: env!("CARGO_PKG_VERSION").to_string(),
            command_line: redact_args(args),
            started_utc: humantime::format_rfc3339_seconds(started).to_string(),
        }
    }

    /// The exact bytes of `run.json`: pretty-printed, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a RunInfo always serialises");
        s.push('\n');
        s
    }
}

/// Peak resident set size of this process (`VmHWM` in `/proc/self/status`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let mult = match parts.next() {
        Some("kB") | Some("KB") => 1024,
        Some("mB") | Some("MB") => 1024 * 1024,
        None | Some("B") => 1,
        Some(_) => return None,
    };
    Some(n * mult)
}

/// This machine's name: `/proc/sys/kernel/hostname`, else `$HOSTNAME`.
pub fn hostname() -> Option<String> {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_proc.or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Words that make a flag's value a secret: `--group-key`, `--key`, `--sas-token`, `--sas`,
/// `--password`, `--client-secret`, `--credentials` …
const SECRET_FLAG_WORDS: [&str; 8] = [
    "key",
    "token",
    "password",
    "secret",
    "signature",
    "sas",
    "credential",
    "credentials",
];

/// Inside any argument: everything after one of these words followed by `=` (spaces around it
/// allowed, or URL-encoded as `%3D`) is a secret (`--set dps.group_key=…`, connection strings
/// `…;SharedAccessKey=…`, SAS tokens `…&sig=…`).
const SECRET_VALUE_MARKERS: [&str; 5] = ["key", "sig", "token", "password", "secret"];

const REDACTED: &str = "***";

fn is_secret_flag(name: &str) -> bool {
    name.split(['-', '_', '.'])
        .any(|w| SECRET_FLAG_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s)))
}

/// The command line with secrets replaced by `***`: the value of a flag named like a secret
/// (`--group-key V`, `--token=V`), anything after `key=` / `sig=` / `token=` / `password=` /
/// `secret=` in an argument, a whole argument holding a `SharedAccessSignature`, and the
/// password of a URL (`mqtts://user:***@host`).
pub fn redact_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut value_is_secret = false;
    for arg in args {
        if std::mem::take(&mut value_is_secret) {
            out.push(REDACTED.to_string());
            continue;
        }
        if let Some(flag) = arg.strip_prefix("--") {
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if is_secret_flag(name) {
                match value {
                    Some(_) => out.push(format!("--{name}={REDACTED}")),
                    None => {
                        out.push(arg.clone());
                        value_is_secret = true;
                    }
                }
                continue;
            }
        }
        out.push(redact_value(&arg));
    }
    out
}

fn redact_value(arg: &str) -> String {
    let lower = arg.to_ascii_lowercase();
    if lower.contains("sharedaccesssignature") {
        return REDACTED.to_string();
    }
    let cut = SECRET_VALUE_MARKERS
        .iter()
        .flat_map(|m| lower.match_indices(m).map(move |(i, _)| i + m.len()))
        .filter_map(|end| {
            let rest = &lower[end..];
            let spaces = rest.len() - rest.trim_start().len();
            let rest = &rest[spaces..];
            let eq = if rest.starts_with('=') {
                1
            } else if rest.starts_with("%3d") {
                3
            } else {
                return None;
            };
            let value = &rest[eq..];
            Some(end + spaces + eq + (value.len() - value.trim_start().len()))
        })
        .min();
    if let Some(cut) = cut {
        return format!("{}{REDACTED}", &arg[..cut]);
    }
    // scheme://user:password@host…
    if let Some(scheme_end) = arg.find("://") {
        let rest = &arg[scheme_end + 3..];
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            let pw_start = scheme_end + 3 + colon + 1;
            let pw_end = scheme_end + 3 + at;
            return format!("{}{REDACTED}{}", &arg[..pw_start], &arg[pw_end..]);
        }
    }
    arg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(args: &[&str]) -> Vec<String> {
        redact_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn redacts_secret_flags_values_and_connection_strings() {
        assert_eq!(
            r(&[
                "fleetsim",
                "run",
                "s.toml",
                "--group-key",
                "abc==",
                "--seed",
                "3"
            ]),
            [
                "fleetsim",
                "run",
                "s.toml",
                "--group-key",
                "***",
                "--seed",
                "3"
            ]
        );
        assert_eq!(
            r(&["--key=abc", "--token", "t", "--password=p"]),
            ["--key=***", "--token", "***", "--password=***"]
        );
        assert_eq!(
            r(&["--set", "dps.group_key=abc"]),
            ["--set", "dps.group_key=***"]
        );
        assert_eq!(
            r(
                &[
                    "HostName=h.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey=c2VjcmV0"
                ]
            ),
            ["HostName=h.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey=***"]
        );
        assert_eq!(r(&["SharedAccessSignature sr=x&sig=y&se=1"]), ["***"]);
        // Spaces around `=`, URL-encoded `=`, other secret flag names.
        assert_eq!(
            r(&["--set", "dps.group_key = abc"]),
            ["--set", "dps.group_key = ***"]
        );
        assert_eq!(r(&["https://h/x?sig%3Dabc"]), ["https://h/x?sig%3D***"]);
        assert_eq!(
            r(&["--sas", "t", "--credentials=c"]),
            ["--sas", "***", "--credentials=***"]
        );
        // A word that merely contains a marker is no secret.
        assert_eq!(
            r(&["--set", "hub.keys_total=5"]),
            ["--set", "hub.keys_total=5"]
        );
        assert_eq!(
            r(&["--dps", "mqtts://u:hunter2@dps.local:8883/x"]),
            ["--dps", "mqtts://u:***@dps.local:8883/x"]
        );
        // Ordinary arguments pass through.
        assert_eq!(
            r(&[
                "--keep-alive",
                "30",
                "--dps",
                "mqtt://localhost:1883",
                "--set",
                "fleet.devices=10"
            ]),
            [
                "--keep-alive",
                "30",
                "--dps",
                "mqtt://localhost:1883",
                "--set",
                "fleet.devices=10"
            ]
        );
    }

    #[test]
    fn from_parts_computes_rates_and_formats_start() {
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_367_700);
        let info = RunInfo::from_parts(
            started,
            Duration::from_millis(2_500),
            1_000_000,
            1_000,
            ["fleetsim".to_string()],
            Some(4_096_000),
            Some("box".into()),
        );
        assert_eq!(info.wall_s, 2.5);
        assert_eq!(info.events_per_s, 400_000.0);
        assert_eq!(info.bytes_per_device, Some(4_096.0));
        assert_eq!(info.started_utc, "2026-11-22T17:15:00Z");
        let v: serde_json::Value = serde_json::from_str(&info.to_json()).unwrap();
        for k in [
            "wall_s",
            "events",
            "events_per_s",
            "peak_rss_bytes",
            "bytes_per_device",
            "host",
            "version",
            "command_line",
            "started_utc",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        let zero = RunInfo::from_parts(
            started,
            Duration::ZERO,
            5,
            0,
            Vec::<String>::new(),
            None,
            None,
        );
        assert_eq!((zero.events_per_s, zero.bytes_per_device), (0.0, None));
    }

    #[test]
    fn reads_vm_hwm() {
        assert_eq!(
            parse_vm_hwm("Name:\tx\nVmHWM:\t   1234 kB\nVmRSS:\t 1 kB\n"),
            Some(1234 * 1024)
        );
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().unwrap() > 0);
        }
    }
}
