//! The [`Recorder`]: what both engines feed as devices act — per-operation counts and latency
//! histograms, first-online times, hlog intervals and the timeline; `summary.json`,
//! `timeline.csv` and `histograms.hlog` are written from it.

#[cfg(test)]
use super::TimelineRow;
use super::hlog::{EncodedInterval, Histograms};
use super::timeline::{Levels, OpCounts};
use super::{Op, Outcome, Timeline};
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use std::borrow::Cow;

/// The fleet shares whose time-to-online a run reports (`online.t50_s` …), as exact
/// fractions so the thresholds are `ceil(devices × num / den)` in integers.
pub const ONLINE_SHARES: [(u64, u64); 4] = [(50, 100), (90, 100), (99, 100), (100, 100)];

/// The `histograms.hlog` tag of the first-online histogram ([`Recorder::online_at`]).
pub const ONLINE_AT_TAG: &str = "online_at";

/// The shortest interval of `histograms.hlog`.
pub const MIN_HLOG_INTERVAL: SimDuration = SimDuration::from_secs(60);

/// When the ever-online count first reached each share of the fleet ([`ONLINE_SHARES`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnlineTimes {
    pub t50: Option<SimTime>,
    pub t90: Option<SimTime>,
    pub t99: Option<SimTime>,
    pub t100: Option<SimTime>,
}

/// Collects everything a run measures. Owned by the engine; the device and service models
/// never see it.
///
/// Hot path: every method is a few array-indexed increments (no allocation, no hashing) except
/// when simulated time crosses a timeline bucket or an hlog interval, which is rare.
///
/// - Counters per operation: attempts (at the device's intended send time), and answers by
///   outcome (at completion time).
/// - Latency, per operation, of **Ok** answers only, in microseconds, into an auto-resizing
///   HdrHistogram with 3 significant figures. Throttled, error and timeout answers are counted
///   but never enter a latency histogram: a fast 429 is not a fast success.
/// - Levels: devices booted (cumulative), online now, ever online (cumulative), requests in
///   flight; and the times the ever-online count first reaches 50/90/99/100 % of the fleet.
/// - A [`Timeline`] (one row per `bucket`) and interval histograms for `histograms.hlog`.
/// - When each device first came online, as a histogram of microseconds since the run started
///   ([`Recorder::online_at`]): shards' histograms add up, so `fleetsim merge` can find when the
///   merged fleet reached each share (the exact times above cannot be added).
///
/// Times passed in should not decrease (the virtual engine guarantees it); a slightly earlier
/// time from a live engine is still counted, in the bucket it falls in.
pub struct Recorder {
    devices: u64,
    totals: [OpCounts; Op::ALL.len()],
    levels: Levels,
    thresholds: [u64; 4],
    /// Index into `thresholds` of the next share not yet reached.
    next_share: usize,
    reached: [Option<SimTime>; 4],
    timeline: Timeline,
    histograms: Histograms,
    /// First-online times, microseconds since the run started.
    online_at: Histogram<u64>,
    /// Whole-run histograms an engine adds under tags of its own (the live engine's generator
    /// lag and wire connect times), written to `histograms.hlog` after `online_at`.
    whole_run: Vec<(String, Histogram<u64>)>,
    /// Per operation: answers the service gave after the device had given up (`late`), and
    /// requests a device started while it already had one accepted or in flight (`repeats`).
    late: [u64; Op::ALL.len()],
    repeats: [u64; Op::ALL.len()],
    end: Option<SimTime>,
}

impl Recorder {
    /// A recorder for a fleet of `devices` (the denominator of `online.t*`); `bucket` is the
    /// timeline row width. The hlog interval is `max(60 s, 100 × bucket)`: with the default
    /// bucket (≤ 20,000 rows a run) that is at most ~200 intervals, so encoding them stays a
    /// small part of a long run (at 10 × bucket it was a third of a 12-day run's time).
    pub fn new(devices: u64, bucket: SimDuration) -> Recorder {
        Recorder::with_hlog_interval(devices, bucket, Recorder::hlog_interval_for(bucket))
    }

    /// The hlog interval [`Recorder::new`] picks for timeline rows `bucket` wide.
    pub fn hlog_interval_for(bucket: SimDuration) -> SimDuration {
        std::cmp::max(MIN_HLOG_INTERVAL, bucket.saturating_mul(100))
    }

    /// As [`Recorder::new`], with an explicit hlog interval.
    pub fn with_hlog_interval(
        devices: u64,
        bucket: SimDuration,
        hlog_interval: SimDuration,
    ) -> Recorder {
        let thresholds = ONLINE_SHARES.map(|(num, den)| {
            let t = (u128::from(devices) * u128::from(num)).div_ceil(u128::from(den));
            // At least one device: an empty fleet never "reaches" a share.
            (t as u64).max(1)
        });
        Recorder {
            devices,
            totals: [OpCounts::default(); Op::ALL.len()],
            levels: Levels::default(),
            thresholds,
            next_share: 0,
            reached: [None; 4],
            timeline: Timeline::new(bucket),
            histograms: Histograms::new(hlog_interval),
            online_at: Histogram::new(super::SIGFIG)
                .expect("3 significant figures is a valid histogram"),
            whole_run: Vec::new(),
            late: [0; Op::ALL.len()],
            repeats: [0; Op::ALL.len()],
            end: None,
        }
    }

    /// The service answered a request for `op` after the device had timed out on it: the
    /// capacity the answer took was spent for nobody.
    #[inline]
    pub fn late(&mut self, op: Op) {
        self.late[op.index()] += 1;
    }

    /// A device started a request for `op` while it already had one accepted or in flight.
    #[inline]
    pub fn repeat(&mut self, op: Op) {
        self.repeats[op.index()] += 1;
    }

    /// Answers to `op` that came after their device gave up.
    pub fn late_answers(&self, op: Op) -> u64 {
        self.late[op.index()]
    }

    /// Requests of `op` started while one was accepted or in flight.
    pub fn repeats(&self, op: Op) -> u64 {
        self.repeats[op.index()]
    }

    /// A device sent a request for `op` at `at` (its intended time).
    #[inline]
    pub fn attempt(&mut self, op: Op, at: SimTime) {
        let i = op.index();
        self.timeline.row_mut(at, &self.levels).ops[i].attempts += 1;
        self.totals[i].attempts += 1;
        if op != Op::BootToOnline {
            self.levels.in_flight += 1;
        }
    }

    /// An attempt of `op` ended at `at` with `outcome`, `latency` after it was meant to start.
    /// Only `Outcome::Ok` latencies enter the histogram.
    #[inline]
    pub fn complete(&mut self, op: Op, outcome: Outcome, at: SimTime, latency: SimDuration) {
        let i = op.index();
        self.timeline.row_mut(at, &self.levels).ops[i].add(outcome);
        self.totals[i].add(outcome);
        if op != Op::BootToOnline {
            self.levels.in_flight = self.levels.in_flight.saturating_sub(1);
        }
        if outcome == Outcome::Ok {
            self.histograms.record(i, at, latency.0);
        }
    }

    /// A device powered on and made (or is about to make) its first attempt.
    #[inline]
    pub fn booted(&mut self, at: SimTime) {
        self.timeline.row_mut(at, &self.levels);
        self.levels.booted += 1;
    }

    /// A device connected to its hub; `first` when it is the first time in this run.
    #[inline]
    pub fn online(&mut self, at: SimTime, first: bool) {
        self.timeline.row_mut(at, &self.levels);
        self.levels.online += 1;
        if first {
            self.levels.ever_online += 1;
            if self.online_at.record(at.as_micros()).is_err() {
                // Only when the histogram cannot grow further: clamp instead.
                self.online_at.saturating_record(at.as_micros());
            }
            while self.next_share < self.thresholds.len()
                && self.levels.ever_online >= self.thresholds[self.next_share]
            {
                self.reached[self.next_share] = Some(at);
                self.next_share += 1;
            }
        }
    }

    /// A connected device lost its hub connection.
    #[inline]
    pub fn offline(&mut self, at: SimTime) {
        self.timeline.row_mut(at, &self.levels);
        self.levels.online = self.levels.online.saturating_sub(1);
    }

    /// The run stopped at `end`: close the last timeline bucket and histogram interval. Call
    /// once, before writing results.
    pub fn finish(&mut self, end: SimTime) {
        self.timeline.close(end, &self.levels);
        self.histograms.finish(end);
        self.end = Some(end);
    }

    // ---- accessors ----

    /// The fleet size this recorder measures shares of.
    pub fn devices(&self) -> u64 {
        self.devices
    }

    /// When the run stopped, once [`Recorder::finish`] has been called.
    pub fn end(&self) -> Option<SimTime> {
        self.end
    }

    /// Whole-run counters of `op`.
    pub fn counts(&self, op: Op) -> OpCounts {
        self.totals[op.index()]
    }

    /// Whole-run latency histogram of `op` (Ok answers, microseconds). Borrowed after
    /// [`Recorder::finish`]; before it, a merged copy (fine for progress, not per event).
    pub fn latency(&self, op: Op) -> Cow<'_, Histogram<u64>> {
        self.histograms.total(op)
    }

    /// Current levels: booted, online, ever online, in flight.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// When the ever-online count first reached each of [`ONLINE_SHARES`] of `devices`.
    pub fn online_times(&self) -> OnlineTimes {
        let [t50, t90, t99, t100] = self.reached;
        OnlineTimes {
            t50,
            t90,
            t99,
            t100,
        }
    }

    /// The ever-online count each share needs: `max(1, ceil(devices × share))`.
    pub fn online_thresholds(&self) -> [u64; 4] {
        self.thresholds
    }

    /// When each device first came online in this run (one sample per device, microseconds
    /// since the run started; 3 significant figures). `histograms.hlog` holds it under
    /// [`ONLINE_AT_TAG`].
    pub fn online_at(&self) -> &Histogram<u64> {
        &self.online_at
    }

    /// Adds a whole-run histogram under `tag` (microseconds), for `histograms.hlog`.
    pub fn add_whole_run(&mut self, tag: &str, h: Histogram<u64>) {
        self.whole_run.push((tag.to_string(), h));
    }

    /// The whole-run histograms added by [`Recorder::add_whole_run`], in order.
    pub fn whole_run(&self) -> &[(String, Histogram<u64>)] {
        &self.whole_run
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Width of each `histograms.hlog` interval.
    pub fn hlog_interval(&self) -> SimDuration {
        self.histograms.interval()
    }

    /// Closed, non-empty interval histograms in time order (within an interval, in
    /// [`Op::ALL`] order). Complete after [`Recorder::finish`].
    pub fn hlog_intervals(&self) -> &[EncodedInterval] {
        self.histograms.closed()
    }

    /// Approximate heap bytes held (timeline, histograms, encoded intervals).
    pub fn heap_bytes(&self) -> usize {
        self.timeline.heap_bytes()
            + self.histograms.heap_bytes()
            + self.online_at.distinct_values() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;

    fn s(secs: f64) -> SimTime {
        SimTime::from_secs_f64(secs)
    }
    fn ms(m: u64) -> SimDuration {
        SimDuration::from_millis(m)
    }

    #[test]
    fn counts_every_outcome_but_keeps_only_ok_latencies() {
        let mut r = Recorder::new(10, SimDuration::from_secs(1));
        for _ in 0..4 {
            r.attempt(Op::DpsRegister, s(0.1));
        }
        r.complete(Op::DpsRegister, Outcome::Ok, s(0.2), ms(100));
        r.complete(Op::DpsRegister, Outcome::Throttled, s(0.3), ms(5));
        r.complete(Op::DpsRegister, Outcome::Error, s(0.4), ms(7));
        r.complete(Op::DpsRegister, Outcome::Timeout, s(30.0), ms(30_000));
        r.finish(s(31.0));
        let c = r.counts(Op::DpsRegister);
        assert_eq!(
            (c.attempts, c.ok, c.throttled, c.errors, c.timeouts),
            (4, 1, 1, 1, 1)
        );
        assert_eq!(c.throttle_rate(), 0.25);
        let h = r.latency(Op::DpsRegister);
        assert_eq!(h.len(), 1);
        assert!(h.equivalent(h.max(), 100_000));
        assert_eq!(r.counts(Op::HubConnect), OpCounts::default());
        assert!(r.latency(Op::HubConnect).is_empty());
    }

    #[test]
    fn percentiles_are_within_three_significant_figures() {
        let mut r = Recorder::new(1, SimDuration::from_secs(1));
        for i in 1..=1000u64 {
            r.complete(Op::HubConnect, Outcome::Ok, s(i as f64), ms(i));
        }
        // Before finish: a merged copy is still complete.
        assert_eq!(r.latency(Op::HubConnect).len(), 1000);
        r.finish(s(1001.0));
        let h = r.latency(Op::HubConnect);
        assert!(matches!(h, Cow::Borrowed(_)));
        let p50 = h.value_at_quantile(0.5);
        let p99 = h.value_at_quantile(0.99);
        assert!((500_000..=500_500).contains(&p50), "{p50}");
        assert!((990_000..=991_000).contains(&p99), "{p99}");
    }

    #[test]
    fn huge_latencies_fit() {
        let mut r = Recorder::new(1, SimDuration::from_secs(1));
        let three_days = SimDuration::from_secs(3 * 86_400);
        r.complete(Op::DpsPoll, Outcome::Ok, s(1.0), three_days);
        r.finish(s(2.0));
        let h = r.latency(Op::DpsPoll);
        assert!(h.equivalent(h.max(), three_days.0));
    }

    #[test]
    fn online_shares_use_ceil_and_stay_none_when_never_reached() {
        let mut r = Recorder::new(10, SimDuration::from_secs(1));
        assert_eq!(r.online_thresholds(), [5, 9, 10, 10]);
        for i in 1..=9u64 {
            r.online(s(i as f64), true);
        }
        r.offline(s(9.5));
        r.online(s(9.6), false); // a reconnect is not a new device
        r.finish(s(20.0));
        let t = r.online_times();
        assert_eq!(t.t50, Some(s(5.0)));
        assert_eq!(t.t90, Some(s(9.0)));
        assert_eq!(t.t99, None);
        assert_eq!(t.t100, None);
        assert_eq!(r.levels().ever_online, 9);
        assert_eq!(r.levels().online, 9);
        // One first-online time per device; the reconnect is not one.
        let h = r.online_at();
        assert_eq!(h.len(), 9);
        assert!(h.equivalent(h.value_at_quantile(0.5), 5_000_000));
        assert!(h.equivalent(h.max(), 9_000_000));

        // 101 devices: 99 % needs ceil(99.99) = 100.
        assert_eq!(
            Recorder::new(101, SimDuration::from_secs(1)).online_thresholds()[2],
            100
        );
        // Empty fleet: nothing is ever reached.
        let mut r = Recorder::new(0, SimDuration::from_secs(1));
        r.finish(s(1.0));
        assert_eq!(r.online_times(), OnlineTimes::default());
    }

    #[test]
    fn one_device_reaches_every_share_at_once() {
        let mut r = Recorder::new(1, SimDuration::from_secs(1));
        r.online(s(3.0), true);
        let t = r.online_times();
        assert_eq!([t.t50, t.t90, t.t99, t.t100], [Some(s(3.0)); 4]);
    }

    #[test]
    fn timeline_buckets_count_by_event_time_and_keep_levels() {
        let mut r = Recorder::new(3, SimDuration::from_secs(1));
        r.booted(s(0.0));
        r.booted(s(0.5));
        r.attempt(Op::DpsRegister, s(0.5));
        r.attempt(Op::DpsRegister, s(0.6));
        r.complete(Op::DpsRegister, Outcome::Throttled, s(1.2), ms(600));
        r.attempt(Op::DpsRegister, s(3.1));
        r.complete(Op::DpsRegister, Outcome::Ok, s(3.3), ms(200));
        r.attempt(Op::HubConnect, s(3.3));
        r.complete(Op::HubConnect, Outcome::Ok, s(3.4), ms(100));
        r.online(s(3.4), true);
        r.finish(s(5.0));

        let rows = r.timeline().rows();
        assert_eq!(rows.len(), 5);
        let reg = Op::DpsRegister.index();
        assert_eq!(rows[0].ops[reg].attempts, 2);
        assert_eq!(rows[0].levels.booted, 2);
        assert_eq!(rows[0].levels.in_flight, 2);
        assert_eq!(rows[1].ops[reg].throttled, 1);
        assert_eq!(rows[1].levels.in_flight, 1);
        assert_eq!(
            rows[2],
            TimelineRow {
                levels: rows[1].levels,
                ops: Default::default()
            }
        );
        assert_eq!(rows[3].ops[reg].attempts, 1);
        assert_eq!(rows[3].ops[reg].ok, 1);
        assert_eq!(rows[3].ops[Op::HubConnect.index()].ok, 1);
        assert_eq!(rows[3].levels.online, 1);
        assert_eq!(rows[3].levels.ever_online, 1);
        assert_eq!(
            rows[3].levels.in_flight, 1,
            "one throttled register never retried"
        );
        assert_eq!(rows[4].levels, rows[3].levels);
        assert_eq!(r.timeline().row_start(3), s(3.0));
    }

    #[test]
    fn boot_to_online_is_not_in_flight() {
        let mut r = Recorder::new(1, SimDuration::from_secs(1));
        r.attempt(Op::BootToOnline, s(0.0));
        r.attempt(Op::DpsRegister, s(0.0));
        assert_eq!(r.levels().in_flight, 1);
        r.complete(Op::DpsRegister, Outcome::Ok, s(0.1), ms(100));
        r.complete(Op::BootToOnline, Outcome::Ok, s(0.2), ms(200));
        assert_eq!(r.levels().in_flight, 0);
    }

    #[test]
    fn hlog_intervals_roll_over_and_merge_to_the_total() {
        // The default: max(60 s, 100 × bucket).
        assert_eq!(
            Recorder::new(1, SimDuration::from_millis(100)).hlog_interval(),
            SimDuration::from_secs(60)
        );
        assert_eq!(
            Recorder::new(1, SimDuration::from_secs(30)).hlog_interval(),
            SimDuration::from_secs(3000)
        );
        let mut r =
            Recorder::with_hlog_interval(1, SimDuration::from_secs(1), SimDuration::from_secs(60));
        for t in 0..290u64 {
            r.complete(Op::HubTelemetry, Outcome::Ok, s(t as f64 + 0.5), ms(t + 1));
            if t < 30 {
                r.complete(Op::HubConnect, Outcome::Ok, s(t as f64), ms(50));
            }
        }
        r.finish(s(290.0));
        let iv = r.hlog_intervals();
        // Telemetry: 5 intervals; connect: 1 interval.
        assert_eq!(iv.len(), 6);
        assert_eq!((iv[0].op, iv[0].start), (Op::HubConnect, SimTime::ZERO));
        assert_eq!((iv[1].op, iv[1].start), (Op::HubTelemetry, SimTime::ZERO));
        assert_eq!(iv[5].start, s(240.0));
        assert_eq!(
            iv[5].duration,
            SimDuration::from_secs(50),
            "last interval ends at `end`"
        );
        assert!(iv.windows(2).all(|w| w[0].start <= w[1].start));

        let mut merged = Histogram::<u64>::new(3).unwrap();
        let mut d = Deserializer::new();
        for e in iv.iter().filter(|e| e.op == Op::HubTelemetry) {
            let h: Histogram<u64> = d.deserialize(&mut &e.bytes[..]).unwrap();
            assert_eq!(h.max(), e.max_us);
            merged.add(&h).unwrap();
        }
        assert_eq!(&merged, r.latency(Op::HubTelemetry).as_ref());
    }
}
