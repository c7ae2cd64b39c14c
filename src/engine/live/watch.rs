//! The engine's own task while the fleet runs: every 250 ms (or as the last device settles)
//! it replays the workers' books into the recorder, reports progress, and checks the stop
//! conditions — every device settled, `max_duration`, Ctrl-C, or a lost endpoint.

use super::books::Replay;
use super::ctx::Ctx;
use super::{LiveOptions, LiveProgress};
use crate::engine::StopReason;
use crate::metric::duration::human;
use crate::time::SimTime;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// How often the engine drains the books and reports progress.
const TICK: Duration = Duration::from_millis(250);

/// Ticks until the run should stop, and says why (`warnings` gets why a lost endpoint was
/// judged lost).
pub(super) async fn until_stop(
    ctx: &Ctx,
    o: &LiveOptions,
    replay: &mut Replay,
    warnings: &mut Vec<String>,
    progress: &mut impl FnMut(&LiveProgress),
    stop: &AtomicBool,
) -> StopReason {
    let max = SimTime::ZERO + ctx.sc.max_duration;
    loop {
        let tick = tokio::time::sleep(TICK);
        tokio::select! {
            _ = tick => {}
            _ = ctx.all_settled.notified() => {}
        }
        ctx.books.drain(replay);
        let p = ctx.progress();
        progress(&p);
        if p.settled >= ctx.devices {
            return StopReason::AllSettled;
        }
        if p.now >= max {
            return StopReason::MaxDuration;
        }
        if stop.load(Relaxed) {
            return StopReason::Interrupted;
        }
        let c = &ctx.counters;
        let since_ok = p.now.as_micros().saturating_sub(c.last_ok_us.load(Relaxed));
        if c.failures_since_ok.load(Relaxed) >= 10
            && since_ok >= o.endpoint_lost_after.as_micros() as u64
        {
            warnings.push(format!(
                "the endpoint stopped accepting connections: {} failed in a row and none \
                 succeeded for {}; the run stopped there",
                c.failures_since_ok.load(Relaxed),
                human(since_ok as f64 / 1e6)
            ));
            return StopReason::EndpointLost;
        }
    }
}
