//! The `live` figures of `summary.json` from the live engine's histograms (the types are the
//! core's [`crate::summary::live`]).

use crate::summary::live::{Lag, LiveSummary, WireLatency};
use hdrhistogram::Histogram;

pub use crate::summary::live::{GENERATOR_LAG_TAG, WIRE_CONNECT_TAG};

/// p50, p99 and max of a histogram of microseconds, in milliseconds.
fn percentiles_ms(h: &Histogram<u64>) -> (f64, f64, f64) {
    let ms = |us: u64| us as f64 / 1000.0;
    (
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
    )
}

/// The generator lag figures from the histogram of every scheduled action's lag
/// (microseconds) and how many of them were over 100 ms late.
pub fn lag(h: &Histogram<u64>, late_actions: u64) -> Lag {
    let (p50, p99, max) = percentiles_ms(h);
    Lag {
        p50,
        p99,
        max,
        late_actions,
        actions: h.len(),
    }
}

/// Wire connect figures from a histogram of wire connect times (microseconds).
pub fn wire(h: &Histogram<u64>) -> WireLatency {
    let (p50, p99, max) = percentiles_ms(h);
    WireLatency { p50, p99, max }
}

/// Sets the lag and wire percentiles from whole-fleet histograms (microseconds), as a merge
/// does when every shard wrote them.
pub fn set_from_histograms(
    live: &mut LiveSummary,
    lag: Option<&Histogram<u64>>,
    wire_h: Option<&Histogram<u64>>,
) {
    if let Some(h) = lag {
        let g = &mut live.generator_lag_ms;
        (g.p50, g.p99, g.max) = percentiles_ms(h);
    }
    if let Some(h) = wire_h {
        live.wire_connect_ms = wire(h);
    }
}
