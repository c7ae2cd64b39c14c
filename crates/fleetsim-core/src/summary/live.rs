//! The `live` object of `summary.json`: what only a live run knows — which endpoint it drove,
//! how far the generator fell behind its own schedule, the connections it opened, and (where a
//! receiver could see the messages) telemetry loss and reordering from sequence numbers.
//! Absent for virtual runs, so their summaries are unchanged. The figures are filled from the
//! live engine's histograms outside the core (`results::live`).

use crate::scenario::units::format_count as count;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `summary.live`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LiveSummary {
    /// What the devices talked to, e.g. `in-process mock`, `dps 127.0.0.1:8883`,
    /// `plain-mqtt 127.0.0.1:1883`.
    pub endpoint: String,
    /// How late the generator acted on its own schedule (boots, timers), milliseconds.
    pub generator_lag_ms: Lag,
    /// From TCP connect to CONNACK, milliseconds: the wire, without waits for pacing. After a
    /// merge, the largest of the shards' (an upper bound).
    pub wire_connect_ms: WireLatency,
    /// Transport-level counts.
    pub connections: Connections,
    /// Telemetry sequence check; absent when no receiver could see the messages (real Azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_check: Option<SequenceCheck>,
    /// Things that may distort the results (lag, TIME_WAIT sockets, a lost endpoint).
    pub warnings: Vec<String>,
}

/// Generator lag. After a merge, `p50`/`p99` are the largest of the shards' (an upper bound).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lag {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Scheduled actions (boots, timers) started late by more than 100 ms.
    pub late_actions: u64,
    pub actions: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WireLatency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Connections {
    /// TCP connections established (plain or TLS).
    pub opened: u64,
    /// Connection attempts that failed before MQTT CONNACK (refused, reset, TLS, timeout).
    pub failed: u64,
    /// Connections that ended without the device closing them (server close, reset).
    pub dropped: u64,
    /// Most connections open at once.
    pub peak_open: u64,
}

/// Telemetry as the receiver saw it, from `seq` in every payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SequenceCheck {
    /// Messages the devices sent and saw acknowledged.
    pub acked: u64,
    /// Distinct messages the receiver got (including any accepted but not yet acknowledged
    /// when the run stopped: at most one per device).
    pub received: u64,
    /// Acknowledged messages the receiver never got: the shortfall of `received` against
    /// `acked`, or the numbers missing from devices' sequences, whichever is larger.
    pub lost: u64,
    /// Copies of a message received more than once (a resend after a lost PUBACK).
    pub duplicates: u64,
    /// Messages received after a later message of the same device.
    pub reordered: u64,
}

/// `histograms.hlog` tag of the live engine's generator lag, microseconds over the whole run
/// (so `fleetsim merge` adds the shards' lags exactly).
pub const GENERATOR_LAG_TAG: &str = "live.generator_lag";
/// `histograms.hlog` tag of the live engine's wire connect times (TCP connect to CONNACK),
/// microseconds over the whole run.
pub const WIRE_CONNECT_TAG: &str = "live.wire_connect";

/// Milliseconds in the one duration format ([`crate::metric::duration::human`]).
fn ms(v: f64) -> String {
    crate::metric::duration::human(v / 1e3)
}

impl LiveSummary {
    /// The figures in words, one `(label, text)` per line, for the terminal summary and the
    /// report (warnings apart: see [`LiveSummary::warnings`]).
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let c = &self.connections;
        let w = &self.wire_connect_ms;
        let g = &self.generator_lag_ms;
        vec![
            ("endpoint", self.endpoint.clone()),
            (
                "connections",
                format!(
                    "{} opened, {} failed, {} dropped by the other end; at most {} open at once",
                    count(c.opened),
                    count(c.failed),
                    count(c.dropped),
                    count(c.peak_open)
                ),
            ),
            (
                "wire connect",
                format!(
                    "p50 {}, p99 {}, max {} (TCP connect to CONNACK, pacing waits excluded)",
                    ms(w.p50),
                    ms(w.p99),
                    ms(w.max)
                ),
            ),
            (
                "generator lag",
                format!(
                    "p50 {}, p99 {}, max {}; {} of {} scheduled actions over 100 ms late",
                    ms(g.p50),
                    ms(g.p99),
                    ms(g.max),
                    count(g.late_actions),
                    count(g.actions)
                ),
            ),
            (
                "telemetry check",
                match &self.telemetry_check {
                    Some(t) => format!(
                        "{} acknowledged, {} received; {} lost, {} duplicated, {} out of order",
                        count(t.acked),
                        count(t.received),
                        count(t.lost),
                        count(t.duplicates),
                        count(t.reordered)
                    ),
                    None => "not checked (no receiver sees the messages)".into(),
                },
            ),
        ]
    }

    /// Adds another shard's figures to these.
    pub fn merge(&mut self, o: &LiveSummary) {
        if self.endpoint != o.endpoint && !o.endpoint.is_empty() {
            if self.endpoint.is_empty() {
                self.endpoint = o.endpoint.clone();
            } else if !self.endpoint.contains(&o.endpoint) {
                self.endpoint = format!("{}; {}", self.endpoint, o.endpoint);
            }
        }
        let (a, b) = (&mut self.generator_lag_ms, &o.generator_lag_ms);
        a.p50 = a.p50.max(b.p50);
        a.p99 = a.p99.max(b.p99);
        a.max = a.max.max(b.max);
        a.late_actions += b.late_actions;
        a.actions += b.actions;
        let (a, b) = (&mut self.wire_connect_ms, &o.wire_connect_ms);
        a.p50 = a.p50.max(b.p50);
        a.p99 = a.p99.max(b.p99);
        a.max = a.max.max(b.max);
        let (a, b) = (&mut self.connections, &o.connections);
        a.opened += b.opened;
        a.failed += b.failed;
        a.dropped += b.dropped;
        a.peak_open += b.peak_open;
        self.telemetry_check = match (self.telemetry_check, o.telemetry_check) {
            (Some(mut a), Some(b)) => {
                a.acked += b.acked;
                a.received += b.received;
                a.lost += b.lost;
                a.duplicates += b.duplicates;
                a.reordered += b.reordered;
                Some(a)
            }
            (a, b) => a.or(b),
        };
        for w in &o.warnings {
            if !self.warnings.contains(w) {
                self.warnings.push(w.clone());
            }
        }
    }
}
