//! The timeline: one row of counters per `bucket` of simulated time.
//!
//! Rows are created lazily as time advances. Counts (attempts, outcomes) go to the row the
//! event's time falls in; levels (booted, online, ever-online, in-flight) are the values at the
//! row's end, copied in when time moves past the row (or at [`Timeline::close`]). A time earlier
//! than the current row (a live engine may report slightly out of order) adds its counts to the
//! row it falls in; its level change lands in the current row.

use super::{Op, Outcome};
use crate::time::{SimDuration, SimTime};

/// Counters of one operation: over a whole run ([`super::Recorder::counts`]) or in one bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Requests sent (counted at the device's intended send time).
    pub attempts: u64,
    /// Answers, by outcome (counted at completion time).
    pub ok: u64,
    pub throttled: u64,
    pub errors: u64,
    pub timeouts: u64,
}

impl OpCounts {
    #[inline]
    pub(crate) fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Error => self.errors += 1,
            Outcome::Timeout => self.timeouts += 1,
        }
    }

    /// Attempts that have ended, whatever the outcome.
    pub fn completed(&self) -> u64 {
        self.ok + self.throttled + self.errors + self.timeouts
    }

    /// `throttled / attempts`, 0 when there were no attempts.
    pub fn throttle_rate(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            self.throttled as f64 / self.attempts as f64
        }
    }

    /// Add `other` (another bucket or shard) into `self`.
    pub fn merge(&mut self, other: &OpCounts) {
        self.attempts += other.attempts;
        self.ok += other.ok;
        self.throttled += other.throttled;
        self.errors += other.errors;
        self.timeouts += other.timeouts;
    }
}

/// The fleet-wide levels a row records at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    /// Devices powered on so far (cumulative; a reboot counts again).
    pub booted: u64,
    /// Devices connected to a hub right now.
    pub online: u64,
    /// Devices that have been online at least once (cumulative).
    pub ever_online: u64,
    /// Requests sent and not yet answered (all operations but `device.boot_to_online`).
    pub in_flight: u64,
}

/// One bucket: `[t, t + bucket)`; the last row of a run may be shorter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineRow {
    /// Levels at the end of the bucket.
    pub levels: Levels,
    /// Per operation, indexed by [`Op::index`]: counts within the bucket.
    pub ops: [OpCounts; Op::ALL.len()],
}

/// Per-bucket counters over simulated time. Never empty: row 0 starts at time zero.
#[derive(Clone, Debug)]
pub struct Timeline {
    bucket: SimDuration,
    rows: Vec<TimelineRow>,
    /// Span of the last row, in microseconds: the hot path's fast check.
    cur_start: u64,
    cur_end: u64,
}

impl Timeline {
    /// `bucket` is the row width; zero is taken as one microsecond.
    pub fn new(bucket: SimDuration) -> Timeline {
        let bucket = SimDuration(bucket.0.max(1));
        Timeline {
            bucket,
            rows: vec![TimelineRow::default()],
            cur_start: 0,
            cur_end: bucket.0,
        }
    }

    /// A timeline from finished rows: `timeline.csv` read back, or shards' rows added up by
    /// `fleetsim merge`. Row `i` starts at `i × bucket`; no rows gets one empty row.
    pub fn from_rows(bucket: SimDuration, mut rows: Vec<TimelineRow>) -> Timeline {
        let bucket = SimDuration(bucket.0.max(1));
        if rows.is_empty() {
            rows.push(TimelineRow::default());
        }
        let cur_start = ((rows.len() - 1) as u64).saturating_mul(bucket.0);
        Timeline {
            bucket,
            rows,
            cur_start,
            cur_end: cur_start.saturating_add(bucket.0),
        }
    }

    pub fn bucket(&self) -> SimDuration {
        self.bucket
    }

    pub fn rows(&self) -> &[TimelineRow] {
        &self.rows
    }

    /// Start of row `i`.
    pub fn row_start(&self, i: usize) -> SimTime {
        SimTime((i as u64).saturating_mul(self.bucket.0))
    }

    /// The row `at` falls in, creating rows up to it; rows left behind get `levels` as their
    /// end-of-bucket values. Call before applying the event's own level change.
    #[inline]
    pub(crate) fn row_mut(&mut self, at: SimTime, levels: &Levels) -> &mut TimelineRow {
        if at.0 >= self.cur_end {
            self.advance(at, levels);
        }
        if at.0 >= self.cur_start {
            // `rows` is never empty.
            let last = self.rows.len() - 1;
            &mut self.rows[last]
        } else {
            self.earlier_row(at)
        }
    }

    #[cold]
    fn earlier_row(&mut self, at: SimTime) -> &mut TimelineRow {
        let i = (at.0 / self.bucket.0) as usize;
        &mut self.rows[i]
    }

    #[cold]
    #[inline(never)]
    fn advance(&mut self, at: SimTime, levels: &Levels) {
        let target = (at.0 / self.bucket.0) as usize;
        if let Some(last) = self.rows.last_mut() {
            last.levels = *levels;
        }
        let gap = TimelineRow {
            levels: *levels,
            ops: Default::default(),
        };
        let needed = (target + 1).saturating_sub(self.rows.len());
        if needed > self.rows.capacity() - self.rows.len() {
            // Grow by 1/8 (at least 1024 rows) rather than doubling: a long run's timeline is
            // its biggest allocation, and this keeps the slack under 12.5 %.
            self.rows
                .reserve_exact(needed.max(self.rows.len() / 8).max(1024));
        }
        self.rows.resize(target + 1, gap);
        self.cur_start = (target as u64) * self.bucket.0;
        self.cur_end = self.cur_start.saturating_add(self.bucket.0);
    }

    /// End the timeline at `end`: rows up to the one holding the last microsecond before `end`
    /// exist, and the last row holds `levels`.
    pub(crate) fn close(&mut self, end: SimTime, levels: &Levels) {
        if end.0 > 0 {
            let _ = self.row_mut(SimTime(end.0 - 1), levels);
        }
        if let Some(last) = self.rows.last_mut() {
            last.levels = *levels;
        }
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<TimelineRow>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(booted: u64) -> Levels {
        Levels {
            booted,
            ..Levels::default()
        }
    }

    #[test]
    fn rows_are_created_lazily_and_gaps_carry_levels() {
        let mut t = Timeline::new(SimDuration::from_secs(1));
        t.row_mut(SimTime(500_000), &lv(0)).ops[0].attempts += 1;
        t.row_mut(SimTime(3_200_000), &lv(7)).ops[0].attempts += 1;
        assert_eq!(t.rows().len(), 4);
        assert_eq!(
            t.rows()[0].levels.booted,
            7,
            "row 0 closed with the levels before the event"
        );
        assert_eq!(t.rows()[1].levels.booted, 7);
        assert_eq!(t.rows()[1].ops[0].attempts, 0);
        assert_eq!(t.rows()[3].ops[0].attempts, 1);
        assert_eq!(t.row_start(3), SimTime(3_000_000));
    }

    #[test]
    fn out_of_order_times_land_in_their_own_row() {
        let mut t = Timeline::new(SimDuration::from_secs(1));
        t.row_mut(SimTime(2_500_000), &lv(0));
        t.row_mut(SimTime(1_100_000), &lv(0)).ops[2].ok += 1;
        assert_eq!(t.rows()[1].ops[2].ok, 1);
        assert_eq!(t.rows().len(), 3);
    }

    #[test]
    fn close_covers_the_run_and_sets_final_levels() {
        let mut t = Timeline::new(SimDuration::from_secs(1));
        t.close(SimTime(3_000_000), &lv(5));
        assert_eq!(t.rows().len(), 3, "[0,1) [1,2) [2,3)");
        assert_eq!(t.rows()[2].levels.booted, 5);
        let mut t = Timeline::new(SimDuration::from_secs(1));
        t.close(SimTime::ZERO, &lv(0));
        assert_eq!(t.rows().len(), 1);
    }
}
