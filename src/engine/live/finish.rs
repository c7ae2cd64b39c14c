//! The end of a live run: the device tasks stopped, the plain-MQTT receiver given a moment to
//! count what is still on its way, the in-process mock shut down; then the books added up and
//! the [`LiveResult`] assembled — the recorder closed at the run's end, the generator lag and
//! wire connect figures (also as whole-run histograms), the connection counts, the telemetry
//! sequence check and the warnings.

use super::books::{Replay, Totals};
use super::ctx::Ctx;
use super::{HubMode, LiveError, LiveOptions, LiveResult};
use crate::engine::StopReason;
use crate::metric::duration::human;
use crate::mock::MockServer;
use crate::protocol::telemetry::SequenceTracker;
use crate::summary::live::{
    Connections, GENERATOR_LAG_TAG, LiveSummary, SequenceCheck, WIRE_CONNECT_TAG,
};
use crate::time::SimTime;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};

/// Stops every device task and what served them; returns the telemetry messages the devices
/// saw acknowledged.
#[allow(clippy::disallowed_methods)]
pub(super) async fn shut_down(
    ctx: &Ctx,
    mut tasks: JoinSet<()>,
    receiver: Option<JoinHandle<()>>,
    sequences: &SequenceTracker,
    mock: Option<MockServer>,
) -> u64 {
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Give in-flight messages a moment to reach the receiver before counting them.
    let acked = ctx.counters.acked.load(Relaxed);
    if receiver.is_some() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while sequences.totals().received < acked && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if let Some(r) = receiver {
        r.abort();
    }
    if let Some(m) = mock {
        m.shutdown().await;
    }
    acked
}

/// How a run ended, for [`assemble`].
pub(super) struct Ending {
    pub(super) end: SimTime,
    pub(super) stop: StopReason,
    /// Telemetry messages acknowledged ([`shut_down`]).
    pub(super) acked: u64,
    /// `live.endpoint`.
    pub(super) endpoint: String,
    pub(super) warnings: Vec<String>,
}

/// The run's results, once no device task holds `ctx` any more.
pub(super) fn assemble(
    ctx: Arc<Ctx>,
    replay: Replay,
    o: &LiveOptions,
    sequences: &SequenceTracker,
    ending: Ending,
) -> Result<LiveResult, LiveError> {
    let Ending {
        end,
        stop,
        acked,
        endpoint,
        mut warnings,
    } = ending;
    let ctx = Arc::try_unwrap(ctx)
        .map_err(|_| LiveError::Failed("device tasks outlived the run".into()))?;
    let c = &ctx.counters;
    let Totals {
        mut recorder,
        lag: lag_h,
        late_actions,
        wire_connect,
    } = ctx.books.into_totals(replay);
    recorder.finish(end);
    let lag = crate::results::live::lag(&lag_h, late_actions);
    if lag.p99 > 100.0 {
        warnings.push(format!(
            "the generator fell behind its schedule: lag p99 {}, max {} \
             ({} of {} actions more than 100 ms late); latencies include that lag — use \
             --shard, fewer devices, or a faster machine",
            human(lag.p99 / 1e3),
            human(lag.max / 1e3),
            lag.late_actions,
            lag.actions
        ));
    }
    // In histograms.hlog too, so that a merge of shards gets the fleet's percentiles.
    let wire_connect_ms = crate::results::live::wire(&wire_connect);
    recorder.add_whole_run(GENERATOR_LAG_TAG, lag_h);
    recorder.add_whole_run(WIRE_CONNECT_TAG, wire_connect);
    let telemetry_check = sequence_check(o, sequences, acked);
    if let Some(t) = &telemetry_check
        && t.lost > 0
    {
        warnings.push(format!(
            "{} acknowledged telemetry messages never reached the receiver",
            t.lost
        ));
    }
    let live = LiveSummary {
        endpoint,
        generator_lag_ms: lag,
        wire_connect_ms,
        connections: Connections {
            opened: c.opened.load(Relaxed),
            failed: c.failed.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            peak_open: c.peak_open.load(Relaxed),
        },
        telemetry_check,
        warnings,
    };
    Ok(LiveResult {
        end,
        steps: c.steps.load(Relaxed),
        stop,
        recorder,
        live,
    })
}

/// The telemetry sequence check, where a receiver saw every message: the in-process hub, or a
/// plain broker's subscriber.
fn sequence_check(
    o: &LiveOptions,
    sequences: &SequenceTracker,
    acked: u64,
) -> Option<SequenceCheck> {
    let totals = sequences.totals();
    let in_process_hub = o.dps.is_none() && o.hub.is_none();
    (in_process_hub || o.hub_mode == HubMode::PlainMqtt).then(|| SequenceCheck {
        acked,
        received: totals.received,
        // Received also counts messages accepted but not yet acknowledged when the run
        // stopped, so a shortfall is loss, and so is a gap in a device's numbers.
        lost: acked.saturating_sub(totals.received).max(totals.gaps),
        duplicates: totals.duplicates,
        reordered: totals.reordered,
    })
}
