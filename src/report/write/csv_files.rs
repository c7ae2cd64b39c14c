//! `timeline.csv` and `latency.csv`: their columns and their exact decimal numbers.

use crate::results::{Op, Timeline};
use hdrhistogram::Histogram;
use std::borrow::Cow;
use std::io::{self, Write};

/// Microseconds as decimal seconds, exactly, without trailing zeros: `1500000` → `1.5`.
fn fmt_secs(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:06}").trim_end_matches('0').to_string()
    }
}

/// Microseconds as milliseconds with exactly 3 decimals: `1234` → `1.234`.
fn fmt_ms(us: u64) -> String {
    format!("{}.{:03}", us / 1_000, us % 1_000)
}

const OP_COLUMNS: [&str; 5] = ["attempts", "ok", "throttled", "errors", "timeouts"];

/// The header of `timeline.csv`.
pub fn timeline_header() -> Vec<String> {
    let mut h: Vec<String> = ["t_s", "booted", "online", "ever_online", "in_flight"]
        .map(String::from)
        .into();
    for op in Op::ALL {
        h.extend(OP_COLUMNS.iter().map(|c| format!("{}.{c}", op.name())));
    }
    h
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

pub(crate) fn write_timeline(w: &mut impl Write, timeline: &Timeline) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(timeline_header()).map_err(csv_err)?;
    let mut rec: Vec<String> = Vec::with_capacity(5 + 5 * Op::ALL.len());
    for (i, row) in timeline.rows().iter().enumerate() {
        rec.clear();
        let l = &row.levels;
        rec.push(fmt_secs(timeline.row_start(i).as_micros()));
        rec.extend([l.booted, l.online, l.ever_online, l.in_flight].map(|n| n.to_string()));
        for c in &row.ops {
            rec.extend(
                [c.attempts, c.ok, c.throttled, c.errors, c.timeouts].map(|n| n.to_string()),
            );
        }
        out.write_record(&rec).map_err(csv_err)?;
    }
    out.flush()
}

/// `latency.csv` from each operation's whole-run histogram.
pub(crate) fn write_latency<'h>(
    w: &mut impl Write,
    latency: impl Fn(Op) -> Cow<'h, Histogram<u64>>,
) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "op", "count", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms",
    ])
    .map_err(csv_err)?;
    for op in Op::ALL {
        let h = latency(op);
        let mut rec = vec![op.name().to_string(), h.len().to_string()];
        if h.is_empty() {
            rec.extend(std::iter::repeat_n(String::new(), 6));
        } else {
            rec.extend([0.5, 0.9, 0.99, 0.999].map(|q| fmt_ms(h.value_at_quantile(q))));
            rec.push(fmt_ms(h.max()));
            rec.push(fmt_ms(h.mean().round() as u64));
        }
        out.write_record(&rec).map_err(csv_err)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_exactly() {
        assert_eq!(fmt_secs(0), "0");
        assert_eq!(fmt_secs(1_500_000), "1.5");
        assert_eq!(fmt_secs(3_000_001), "3.000001");
        assert_eq!(fmt_ms(1_234), "1.234");
        assert_eq!(fmt_ms(7), "0.007");
    }
}
