//! `histograms.hlog` for the page: every operation's interval histograms added up, and each
//! sum's percentile spectrum sampled at even steps of "nines".

use super::{ReadError, malformed};
use crate::report::page::model::{Spectrum, SpectrumPoint};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use std::collections::BTreeMap;
use std::path::Path;

/// The deepest percentile a spectrum reaches: 99.9999 % (six nines).
const MAX_NINES: f64 = 6.0;
/// Spectrum points per decade of "nines".
const STEPS_PER_NINE: u32 = 20;

/// Sums every interval histogram per tag (but `online_at`, which holds no latencies), and
/// samples each sum's percentile spectrum.
/// Operations come out in `order` (summary.json's), then any other tag by name.
pub(super) fn parse_hlog(
    path: &Path,
    bytes: &[u8],
    order: &[&str],
) -> Result<Vec<Spectrum>, ReadError> {
    let mut totals: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut deserializer = Deserializer::new();
    for (i, entry) in IntervalLogIterator::new(bytes).enumerate() {
        let entry = entry.map_err(|e| malformed(path, format!("entry {}: {e:?}", i + 1)))?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let tag = h.tag().map_or("", |t| t.as_str()).to_string();
        if tag == crate::results::ONLINE_AT_TAG {
            // First-online times, not a latency: no spectrum.
            continue;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.encoded_histogram())
            .map_err(|e| malformed(path, format!("`{tag}` histogram: {e}")))?;
        let hist: Histogram<u64> = deserializer
            .deserialize(&mut &raw[..])
            .map_err(|e| malformed(path, format!("`{tag}` histogram: {e:?}")))?;
        match totals.get_mut(&tag) {
            Some(t) => t
                .add(&hist)
                .map_err(|e| malformed(path, format!("`{tag}` histogram: {e:?}")))?,
            None => {
                let mut t = Histogram::new(3).expect("3 significant figures is valid");
                t.add(&hist)
                    .map_err(|e| malformed(path, format!("`{tag}` histogram: {e:?}")))?;
                totals.insert(tag, t);
            }
        }
    }
    let rank = |tag: &str| order.iter().position(|o| *o == tag).unwrap_or(order.len());
    let mut tags: Vec<&String> = totals.keys().collect();
    tags.sort_by_key(|t| (rank(t), t.as_str()));
    Ok(tags
        .into_iter()
        .filter_map(|tag| {
            let h = &totals[tag];
            (!h.is_empty()).then(|| spectrum(tag, h))
        })
        .collect())
}

/// Points of the percentile spectrum at even steps of "nines", from the minimum to the
/// deepest percentile the sample count supports (1 − p ≥ 1/count), at most six nines.
fn spectrum(op: &str, h: &Histogram<u64>) -> Spectrum {
    let count = h.len();
    let deepest = (count as f64).log10().clamp(0.0, MAX_NINES);
    let steps = (deepest * f64::from(STEPS_PER_NINE)).floor() as u32;
    let mut points: Vec<SpectrumPoint> = (0..=steps)
        .map(|k| f64::from(k) / f64::from(STEPS_PER_NINE))
        .chain(((deepest * f64::from(STEPS_PER_NINE)).fract() > 1e-9).then_some(deepest))
        .map(|nines| {
            let q = 1.0 - 10f64.powf(-nines);
            SpectrumPoint {
                nines: (nines * 1e4).round() / 1e4,
                ms: h.value_at_quantile(q) as f64 / 1e3,
            }
        })
        .collect();
    points.dedup_by(|b, a| a.nines == b.nines);
    Spectrum {
        op: op.to_string(),
        count,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_reaches_as_deep_as_the_samples_allow() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in 1..=1_000u64 {
            h.record(v * 1_000).unwrap(); // 1 ms … 1 s
        }
        let s = spectrum("op", &h);
        assert_eq!(s.count, 1_000);
        assert_eq!(s.points.first().unwrap().nines, 0.0);
        assert_eq!(
            s.points.last().unwrap().nines,
            3.0,
            "1,000 samples: three nines"
        );
        assert_eq!(s.points.len(), 61);
        let at = |n: f64| s.points.iter().find(|p| p.nines == n).unwrap().ms;
        assert_eq!(at(0.0), 1.0);
        assert!((at(1.0) - 900.0).abs() < 1.0, "{}", at(1.0));
        assert!((at(2.0) - 990.0).abs() < 1.0, "{}", at(2.0));
        assert!(s.points.windows(2).all(|w| w[0].ms <= w[1].ms));
    }
}
