//! `timeline.csv` for the page: its rows read by column name, each given its width, and
//! aggregated down to at most [`MAX_POINTS`] points for the time charts.

use super::{ReadError, csv_error, malformed};
use crate::report::page::model::{BucketPoint, Counts, TimelineView};
use std::path::Path;

/// The most points a time chart draws: the timeline is aggregated (sums of whole rows, so
/// rates stay exact) down to this many.
pub const MAX_POINTS: usize = 400;

pub(super) fn parse_timeline(
    path: &Path,
    bytes: &[u8],
    end_s: f64,
) -> Result<TimelineView, ReadError> {
    let mut rdr = csv::Reader::from_reader(bytes);
    let header = rdr.headers().map_err(|e| csv_error(path, &e))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| malformed(path, format!("no `{name}` column")))
    };
    let (c_t, c_online, c_ever) = (col("t_s")?, col("online")?, col("ever_online")?);
    // `<op>.<field>` columns, operations in header order.
    const FIELDS: [&str; 5] = ["attempts", "ok", "throttled", "errors", "timeouts"];
    let mut ops: Vec<String> = Vec::new();
    let mut op_cols: Vec<(usize, usize, usize)> = Vec::new(); // (column, op, field)
    for (i, h) in header.iter().enumerate() {
        let Some((op, field)) = h.rsplit_once('.') else {
            continue;
        };
        let Some(f) = FIELDS.iter().position(|x| *x == field) else {
            continue;
        };
        let o = match ops.iter().position(|x| x == op) {
            Some(o) => o,
            None => {
                ops.push(op.to_string());
                ops.len() - 1
            }
        };
        op_cols.push((i, o, f));
    }
    let mut rows: Vec<BucketPoint> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, &e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let num = |c: usize| -> Result<&str, ReadError> {
            rec.get(c)
                .ok_or_else(|| malformed(path, format!("line {line}: too few columns")))
        };
        let int = |c: usize| -> Result<u64, ReadError> {
            let s = num(c)?;
            s.parse().map_err(|_| {
                malformed(
                    path,
                    format!("line {line}: `{s}` in column {} is not a count", &header[c]),
                )
            })
        };
        let t_s: f64 = num(c_t)?
            .parse()
            .map_err(|_| malformed(path, format!("line {line}: t_s is not a number")))?;
        let mut counts = vec![Counts::default(); ops.len()];
        for &(c, o, f) in &op_cols {
            let v = int(c)?;
            let k = &mut counts[o];
            match f {
                0 => k.attempts = v,
                1 => k.ok = v,
                2 => k.throttled = v,
                3 => k.errors = v,
                _ => k.timeouts = v,
            }
        }
        rows.push(BucketPoint {
            t_s,
            dt_s: 0.0,
            online: int(c_online)?,
            ever_online: int(c_ever)?,
            ops: counts,
        });
    }
    if rows.is_empty() {
        return Err(malformed(path, "no rows"));
    }
    let bucket_s = if rows.len() > 1 {
        rows[1].t_s - rows[0].t_s
    } else {
        end_s.max(0.0)
    };
    for i in 0..rows.len() {
        let next = rows.get(i + 1).map_or(end_s.max(rows[i].t_s), |r| r.t_s);
        rows[i].dt_s = (next - rows[i].t_s).max(0.0);
    }
    Ok(TimelineView {
        bucket_s,
        ops,
        points: aggregate(rows, MAX_POINTS),
    })
}

/// Merges consecutive rows into at most `max` points: counts add up, levels are those at the
/// end of the merged span.
fn aggregate(rows: Vec<BucketPoint>, max: usize) -> Vec<BucketPoint> {
    let group = rows.len().div_ceil(max.max(1));
    if group <= 1 {
        return rows;
    }
    rows.chunks(group)
        .map(|chunk| {
            let last = &chunk[chunk.len() - 1];
            let mut ops = vec![Counts::default(); last.ops.len()];
            for r in chunk {
                for (acc, c) in ops.iter_mut().zip(&r.ops) {
                    acc.attempts += c.attempts;
                    acc.ok += c.ok;
                    acc.throttled += c.throttled;
                    acc.errors += c.errors;
                    acc.timeouts += c.timeouts;
                }
            }
            BucketPoint {
                t_s: chunk[0].t_s,
                dt_s: chunk.iter().map(|r| r.dt_s).sum(),
                online: last.online,
                ever_online: last.ever_online,
                ops,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: f64, ever: u64, ok: u64) -> BucketPoint {
        BucketPoint {
            t_s,
            dt_s: 1.0,
            online: ever,
            ever_online: ever,
            ops: vec![Counts {
                attempts: ok + 1,
                ok,
                throttled: 1,
                errors: 0,
                timeouts: 0,
            }],
        }
    }

    #[test]
    fn aggregation_adds_counts_and_keeps_end_levels() {
        let rows: Vec<BucketPoint> = (0..10).map(|i| point(i as f64, i * 10, i)).collect();
        let agg = aggregate(rows.clone(), 4);
        assert_eq!(agg.len(), 4, "groups of 3: 3 + 3 + 3 + 1");
        assert_eq!(agg[0].t_s, 0.0);
        assert_eq!(agg[0].dt_s, 3.0);
        assert_eq!(agg[0].ever_online, 20);
        assert_eq!(agg[0].ops[0].ok, 1 + 2);
        assert_eq!(agg[0].ops[0].throttled, 3);
        assert_eq!(agg[3].t_s, 9.0);
        assert_eq!(agg[3].dt_s, 1.0);
        let total = |v: &[BucketPoint]| v.iter().map(|p| p.ops[0].ok).sum::<u64>();
        assert_eq!(total(&agg), total(&rows));
        assert_eq!(
            aggregate(rows.clone(), 400),
            rows,
            "short timelines are kept whole"
        );
    }

    #[test]
    fn timeline_rows_get_their_width_and_the_last_ends_at_end_s() {
        let csv = "t_s,booted,online,ever_online,in_flight,a.x.attempts,a.x.ok,a.x.throttled,a.x.errors,a.x.timeouts\n\
                   0,1,0,0,1,1,0,0,0,0\n2,2,1,1,0,1,1,1,0,0\n4,2,2,2,0,0,1,0,0,0\n";
        let tl = parse_timeline(Path::new("timeline.csv"), csv.as_bytes(), 5.5).unwrap();
        assert_eq!(tl.bucket_s, 2.0);
        assert_eq!(tl.ops, ["a.x"]);
        let widths: Vec<f64> = tl.points.iter().map(|p| p.dt_s).collect();
        assert_eq!(widths, [2.0, 2.0, 1.5]);
        assert_eq!(tl.points[1].ops[0].throttled, 1);
        let bad = "t_s,online,ever_online\n0,x,0\n";
        let e = parse_timeline(Path::new("timeline.csv"), bad.as_bytes(), 1.0).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
