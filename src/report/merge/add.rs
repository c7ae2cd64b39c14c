//! Adding the shards up: timeline rows, interval histograms, whole-run latency and
//! first-online histograms.

use super::MergeError;
use super::input::{Input, input_err, read_hlog, read_timeline};
use crate::report::write::HlogLine;
use crate::results::{Levels, ONLINE_AT_TAG, Op, SIGFIG, Timeline, TimelineRow};
use crate::time::SimDuration;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant figures is a valid histogram")
}

fn add_histogram(into: &mut Histogram<u64>, h: &Histogram<u64>) {
    // `into` auto-resizes, so adding never fails for want of range.
    into.add(h).expect("auto-resizing histograms always add");
}

fn add_levels(a: &mut Levels, b: &Levels) {
    a.booted += b.booted;
    a.online += b.online;
    a.ever_online += b.ever_online;
    a.in_flight += b.in_flight;
}

/// The shards added up so far.
pub(super) struct Acc {
    rows: Vec<TimelineRow>,
    /// Sum of the final levels of the shards added so far: what a shard contributes to the rows
    /// after its own last one (its devices stay as they were when it stopped).
    finals: Levels,
    bucket: Option<(u64, PathBuf)>,
    /// `(start µs, operation rank, tag)` → (longest duration, sum).
    intervals: BTreeMap<(u64, usize, String), (u64, Histogram<u64>)>,
    /// Whole-run latency per operation, by [`Op::index`].
    pub(super) totals: Vec<Histogram<u64>>,
    pub(super) online_at: Histogram<u64>,
    /// The live engine's whole-run histograms by tag, with how many shards had each.
    pub(super) live: BTreeMap<String, (u32, Histogram<u64>)>,
}

impl Acc {
    pub(super) fn new() -> Acc {
        Acc {
            rows: Vec::new(),
            finals: Levels::default(),
            bucket: None,
            intervals: BTreeMap::new(),
            totals: Op::ALL.iter().map(|_| new_histogram()).collect(),
            online_at: new_histogram(),
            live: BTreeMap::new(),
        }
    }

    pub(super) fn add(&mut self, input: &Input) -> Result<(), MergeError> {
        let dir = &input.dir;
        let (bucket, rows) = read_timeline(dir)?;
        if let Some(b) = bucket {
            match &self.bucket {
                Some((first, other)) if *first != b => {
                    return Err(input_err(
                        &dir.join("timeline.csv"),
                        format!(
                            "its rows are {} s wide, {}'s are {} s: the timelines cannot be aligned",
                            SimDuration(b).as_secs_f64(),
                            other.display(),
                            SimDuration(*first).as_secs_f64()
                        ),
                    ));
                }
                Some(_) => {}
                None => self.bucket = Some((b, dir.clone())),
            }
        }
        let last = self.add_rows(&rows);

        let hlog_path = dir.join("histograms.hlog");
        let mut counts = [0u64; Op::ALL.len()];
        let mut online_at = None::<Histogram<u64>>;
        for iv in read_hlog(dir)? {
            if iv.tag == ONLINE_AT_TAG {
                add_histogram(online_at.get_or_insert_with(new_histogram), &iv.histogram);
                continue;
            }
            if iv.tag.starts_with("live.") {
                let (shards, h) = self
                    .live
                    .entry(iv.tag.clone())
                    .or_insert_with(|| (0, new_histogram()));
                *shards += 1;
                add_histogram(h, &iv.histogram);
            }
            let op = Op::ALL.iter().position(|o| o.name() == iv.tag);
            if let Some(i) = op {
                counts[i] += iv.histogram.len();
                add_histogram(&mut self.totals[i], &iv.histogram);
            }
            let key = (iv.start_us, op.unwrap_or(Op::ALL.len()), iv.tag);
            let slot = self
                .intervals
                .entry(key)
                .or_insert_with(|| (0, new_histogram()));
            slot.0 = slot.0.max(iv.duration_us);
            add_histogram(&mut slot.1, &iv.histogram);
        }
        for (op, n) in Op::ALL.iter().zip(counts) {
            let ok = input.summary.operations.get(op.name()).map_or(0, |s| s.ok);
            if n != ok {
                return Err(input_err(
                    &hlog_path,
                    format!(
                        "it holds {n} `{}` latencies but summary.json counts {ok} Ok answers: the files are not of one run",
                        op.name()
                    ),
                ));
            }
        }
        let Some(online_at) = online_at else {
            return Err(input_err(
                &hlog_path,
                format!(
                    "no `{ONLINE_AT_TAG}` histogram (written by an older fleetsim?): merge needs each device's first-online time; run this shard again"
                ),
            ));
        };
        if online_at.len() != last.ever_online {
            return Err(input_err(
                &hlog_path,
                format!(
                    "its `{ONLINE_AT_TAG}` histogram holds {} devices but timeline.csv ends with ever_online = {}: the files are not of one run",
                    online_at.len(),
                    last.ever_online
                ),
            ));
        }
        add_histogram(&mut self.online_at, &online_at);
        Ok(())
    }

    /// Adds a shard's timeline rows, row by row (row `k` of every shard covers the same
    /// bucket). Past its last row a shard adds its final levels and no counts. Returns the
    /// shard's final levels.
    fn add_rows(&mut self, rows: &[TimelineRow]) -> Levels {
        let last = rows.last().map_or(Levels::default(), |r| r.levels);
        if self.rows.len() < rows.len() {
            // New rows: every shard added so far has already stopped there.
            let pad = TimelineRow {
                levels: self.finals,
                ops: Default::default(),
            };
            self.rows.resize(rows.len(), pad);
        }
        for (k, m) in self.rows.iter_mut().enumerate() {
            let (levels, ops) = match rows.get(k) {
                Some(r) => (&r.levels, &r.ops[..]),
                None => (&last, &[][..]),
            };
            add_levels(&mut m.levels, levels);
            for (a, b) in m.ops.iter_mut().zip(ops) {
                a.merge(b);
            }
        }
        add_levels(&mut self.finals, &last);
        last
    }

    /// The merged timeline. Without two rows in any shard the bucket is unknown; the one row
    /// then covers the whole run.
    pub(super) fn timeline(&self, end_us: u64) -> Timeline {
        let bucket = match &self.bucket {
            Some((b, _)) => *b,
            None => end_us.div_ceil(1_000_000).max(1) * 1_000_000,
        };
        Timeline::from_rows(SimDuration(bucket), self.rows.clone())
    }

    /// The merged `histograms.hlog` lines: the first-online histogram, then the intervals by
    /// start time (within a start, in operation order).
    pub(super) fn hlog_lines(
        &self,
        end_us: u64,
    ) -> impl Iterator<Item = io::Result<HlogLine>> + '_ {
        let online_at = HlogLine {
            tag: ONLINE_AT_TAG.to_string(),
            start: Duration::ZERO,
            duration: Duration::from_micros(end_us),
            histogram: self.online_at.clone(),
        };
        std::iter::once(Ok(online_at)).chain(self.intervals.iter().map(
            |((start, _, tag), (duration, h))| {
                Ok(HlogLine {
                    tag: tag.clone(),
                    start: Duration::from_micros(*start),
                    duration: Duration::from_micros(*duration),
                    histogram: h.clone(),
                })
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_shards_are_padded_with_their_final_levels() {
        let row = |booted: u64, attempts: u64| {
            let mut r = TimelineRow {
                levels: Levels {
                    booted,
                    ..Levels::default()
                },
                ..TimelineRow::default()
            };
            r.ops[1].attempts = attempts;
            r
        };
        let mut acc = Acc::new();
        // A short shard, a long one, a middling one: the padding must not depend on order.
        let shards = [
            vec![row(1, 1)],
            vec![row(2, 2), row(3, 1), row(4, 1)],
            vec![row(5, 1), row(6, 1)],
        ];
        for rows in &shards {
            acc.add_rows(rows);
        }
        let booted: Vec<u64> = acc.rows.iter().map(|r| r.levels.booted).collect();
        assert_eq!(booted, [1 + 2 + 5, 1 + 3 + 6, 1 + 4 + 6]);
        let attempts: Vec<u64> = acc.rows.iter().map(|r| r.ops[1].attempts).collect();
        assert_eq!(attempts, [4, 2, 1]);
    }
}
