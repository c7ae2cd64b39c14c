//! Latency histograms, per operation, kept two ways: the whole-run total, and a sequence of
//! interval histograms (one per `interval` of simulated time) for `histograms.hlog`.
//!
//! The hot path records into the current interval histogram only. When time moves past the
//! interval, each operation's interval histogram is added to its total, encoded
//! (HdrHistogram V2 + deflate, the `HISTFAAA…` format every HdrHistogram implementation reads)
//! into a compact buffer and cleared, so memory stays bounded however long the run: a few
//! hundred bytes per operation per interval. Intervals without samples are not kept.

use super::Op;
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use std::borrow::Cow;

/// Significant figures of every latency histogram.
pub const SIGFIG: u8 = 3;

/// One closed interval of one operation, encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedInterval {
    pub op: Op,
    pub start: SimTime,
    pub duration: SimDuration,
    /// Largest latency in the interval, microseconds.
    pub max_us: u64,
    /// HdrHistogram V2 deflate encoding (decode with `hdrhistogram::serialization::Deserializer`).
    pub bytes: Box<[u8]>,
}

pub(crate) struct Histograms {
    interval: SimDuration,
    cur_start: u64,
    cur_end: u64,
    current: [Histogram<u64>; Op::ALL.len()],
    total: [Histogram<u64>; Op::ALL.len()],
    closed: Vec<EncodedInterval>,
    serializer: V2DeflateSerializer,
    buf: Vec<u8>,
}

fn new_histogram() -> Histogram<u64> {
    // Auto-resizing from [1, 2]: grows to whatever latencies arrive (days, in virtual time).
    Histogram::new(SIGFIG).expect("3 significant figures is a valid histogram")
}

impl Histograms {
    pub(crate) fn new(interval: SimDuration) -> Histograms {
        let interval = SimDuration(interval.0.max(1));
        Histograms {
            interval,
            cur_start: 0,
            cur_end: interval.0,
            current: std::array::from_fn(|_| new_histogram()),
            total: std::array::from_fn(|_| new_histogram()),
            closed: Vec::new(),
            serializer: V2DeflateSerializer::new(),
            buf: Vec::new(),
        }
    }

    pub(crate) fn interval(&self) -> SimDuration {
        self.interval
    }

    /// Record one latency (µs) of `op` that completed at `at`. A time before the current
    /// interval (live engine, slightly out of order) goes into the current interval.
    #[inline]
    pub(crate) fn record(&mut self, op: usize, at: SimTime, latency_us: u64) {
        if at.0 >= self.cur_end {
            self.roll(at, self.interval);
        }
        let h = &mut self.current[op];
        if h.record(latency_us).is_err() {
            // Only when the histogram cannot grow further (usize too small): clamp instead.
            h.saturating_record(latency_us);
        }
    }

    /// Close the current interval (its duration `duration`) and open the one holding `to`.
    #[cold]
    #[inline(never)]
    fn roll(&mut self, to: SimTime, duration: SimDuration) {
        for (i, op) in Op::ALL.into_iter().enumerate() {
            let cur = &mut self.current[i];
            if cur.is_empty() {
                continue;
            }
            self.total[i]
                .add(&*cur)
                .expect("auto-resizing histograms always add");
            self.buf.clear();
            self.serializer
                .serialize(cur, &mut self.buf)
                .expect("serializing into a Vec cannot fail");
            self.closed.push(EncodedInterval {
                op,
                start: SimTime(self.cur_start),
                duration,
                max_us: cur.max(),
                bytes: self.buf.as_slice().into(),
            });
            cur.reset();
        }
        if to.0 >= self.cur_end {
            self.cur_start = to.0 - to.0 % self.interval.0;
            self.cur_end = self.cur_start.saturating_add(self.interval.0);
        }
    }

    /// Close the last interval at `end` (it may be shorter than the others).
    pub(crate) fn finish(&mut self, end: SimTime) {
        let duration = SimDuration(end.0.saturating_sub(self.cur_start).min(self.interval.0));
        self.roll(end, duration);
    }

    /// The whole-run histogram of `op`: borrowed when every interval is closed (after
    /// `finish`), otherwise a merged copy.
    pub(crate) fn total(&self, op: Op) -> Cow<'_, Histogram<u64>> {
        let i = op.index();
        if self.current[i].is_empty() {
            Cow::Borrowed(&self.total[i])
        } else {
            let mut h = self.total[i].clone();
            h.add(&self.current[i])
                .expect("auto-resizing histograms always add");
            Cow::Owned(h)
        }
    }

    pub(crate) fn closed(&self) -> &[EncodedInterval] {
        &self.closed
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let hist = |h: &Histogram<u64>| h.distinct_values() * std::mem::size_of::<u64>();
        self.current
            .iter()
            .chain(&self.total)
            .map(hist)
            .sum::<usize>()
            + self.closed.capacity() * std::mem::size_of::<EncodedInterval>()
            + self.closed.iter().map(|e| e.bytes.len()).sum::<usize>()
            + self.buf.capacity()
    }
}
