//! `histograms.hlog`: HdrHistogram's interval log of latency histograms, with the
//! first-online histogram and the engine's whole-run histograms first.

use crate::report::Summary;
use crate::results::{ONLINE_AT_TAG, Recorder};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

/// One line of `histograms.hlog`.
pub(crate) struct HlogLine {
    pub tag: String,
    /// Simulated time since scenario start.
    pub start: Duration,
    pub duration: Duration,
    pub histogram: Histogram<u64>,
}

pub(super) fn write_hlog(
    w: &mut impl Write,
    summary: &Summary,
    recorder: &Recorder,
) -> io::Result<()> {
    let end = recorder.end().map_or(0, |e| e.as_micros());
    // The first-online histogram first: one line over the whole run, always written (even
    // empty), so that start times never decrease down the file.
    let online_at = std::iter::once(Ok(HlogLine {
        tag: ONLINE_AT_TAG.to_string(),
        start: Duration::ZERO,
        duration: Duration::from_micros(end),
        histogram: recorder.online_at().clone(),
    }));
    // Then the engine's own whole-run histograms (live: generator lag, wire connect).
    let whole_run = recorder.whole_run().iter().map(move |(tag, h)| {
        Ok(HlogLine {
            tag: tag.clone(),
            start: Duration::ZERO,
            duration: Duration::from_micros(end),
            histogram: h.clone(),
        })
    });
    let online_at = online_at.chain(whole_run);
    let mut deserializer = Deserializer::new();
    let intervals = recorder.hlog_intervals().iter().map(move |e| {
        let h: Histogram<u64> = deserializer.deserialize(&mut &e.bytes[..]).map_err(|err| {
            io::Error::other(format!("re-reading an interval histogram: {err:?}"))
        })?;
        Ok(HlogLine {
            tag: e.op.name().to_string(),
            start: Duration::from_micros(e.start.as_micros()),
            duration: e.duration.into(),
            histogram: h,
        })
    });
    write_hlog_lines(w, summary, &[], online_at.chain(intervals))
}

/// `histograms.hlog`: the header (with `comments` added), then `lines` in order.
pub(crate) fn write_hlog_lines(
    w: &mut impl Write,
    summary: &Summary,
    comments: &[String],
    lines: impl IntoIterator<Item = io::Result<HlogLine>>,
) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(&format!(
            "fleetsim {} latency histograms, results format {}",
            env!("CARGO_PKG_VERSION"),
            crate::summary::FORMAT
        ))
        .add_comment(&format!(
            "scenario {} ({}), engine {}, seed {}",
            summary.scenario.name, summary.scenario.hash, summary.engine, summary.seed
        ));
    for c in comments {
        builder.add_comment(c);
    }
    let mut log = builder
        .add_comment("Tag = operation; values = latency of Ok answers in microseconds")
        .add_comment(&format!(
            "Tag = {ONLINE_AT_TAG}: when each device first came online, microseconds since scenario start"
        ))
        .add_comment(
            "timestamps = simulated seconds since scenario start (BaseTime 0, not wall-clock)",
        )
        .with_start_time(UNIX_EPOCH)
        .with_base_time(UNIX_EPOCH)
        .with_max_value_divisor(1_000.0)
        .begin_log_with(w, &mut serializer)?;
    for line in lines {
        let line = line?;
        log.write_histogram(
            &line.histogram,
            line.start,
            line.duration,
            Tag::new(&line.tag),
        )
        .map_err(|err| io::Error::other(err.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{inputs, write};
    use super::*;
    use crate::results::Op;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use std::collections::BTreeMap;
    use std::fs;

    #[test]
    fn hlog_parses_back_and_merges_to_the_totals() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("r");
        write(&dir).unwrap();
        let (_, _, rec) = inputs();
        let bytes = fs::read(dir.join("histograms.hlog")).unwrap();
        let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
        let mut d = Deserializer::new();
        let mut base = None;
        for entry in IntervalLogIterator::new(&bytes) {
            match entry.unwrap() {
                LogEntry::BaseTime(t) => base = Some(t),
                LogEntry::StartTime(_) => {}
                LogEntry::Interval(i) => {
                    assert_eq!(
                        i.start_timestamp(),
                        Duration::ZERO,
                        "simulated time, not wall-clock"
                    );
                    let raw = decode_base64(i.encoded_histogram());
                    let h: Histogram<u64> = d.deserialize(&mut &raw[..]).unwrap();
                    let tag = i.tag().unwrap().as_str().to_string();
                    merged
                        .entry(tag)
                        .or_insert_with(|| Histogram::new(3).unwrap())
                        .add(&h)
                        .unwrap();
                }
            }
        }
        assert_eq!(base, Some(Duration::ZERO));
        for op in Op::ALL {
            let total = rec.latency(op);
            match merged.get(op.name()) {
                Some(h) => assert_eq!(h, total.as_ref(), "{}", op.name()),
                None => assert!(total.is_empty(), "{}", op.name()),
            }
        }
        // Three operations with Ok answers, and the first-online times.
        assert_eq!(merged.len(), 4);
        assert_eq!(&merged[ONLINE_AT_TAG], rec.online_at());
        assert_eq!(rec.online_at().len(), 3);
    }

    /// Standard base64, enough for the test (the crate's own base64 is not a dependency here).
    fn decode_base64(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(val).collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let mut n = 0u32;
            for (i, &v) in chunk.iter().enumerate() {
                n |= u32::from(v) << (18 - 6 * i);
            }
            out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
        }
        out
    }
}
