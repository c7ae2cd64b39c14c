//! Reading and checking the inputs of `fleetsim merge`: each directory's files, and that the
//! directories are the shards 0 … N−1 of one run.

use super::MergeError;
use crate::report::RunInfo;
use crate::report::write::timeline_header;
use crate::results::{Levels, Op, OpCounts, TimelineRow};
use crate::summary::shard::Shard;
use crate::summary::{FORMAT, Summary};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;
use std::fmt::Display;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One input directory: what validation needs (the bulky files are read later, one shard at a
/// time).
pub(super) struct Input {
    pub(super) dir: PathBuf,
    pub(super) summary: Summary,
    pub(super) run: RunInfo,
    pub(super) shard: Shard,
}

pub(super) fn input_err(path: &Path, msg: impl Display) -> MergeError {
    MergeError::Input(format!("{}: {msg}", path.display()))
}

fn read_file(dir: &Path, name: &str) -> Result<Vec<u8>, MergeError> {
    let path = dir.join(name);
    fs::read(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => MergeError::Input(format!(
            "{} is not a complete results directory: it has no {name}",
            dir.display()
        )),
        _ => input_err(&path, e),
    })
}

pub(super) fn read_input(dir: &Path) -> Result<Input, MergeError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(input_err(dir, "no such directory"));
        }
        Err(e) => return Err(input_err(dir, e)),
        Ok(m) if !m.is_dir() => {
            return Err(input_err(
                dir,
                "not a directory (give the results directory itself)",
            ));
        }
        Ok(_) => {}
    }
    let path = dir.join("summary.json");
    let bytes = read_file(dir, "summary.json")?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| input_err(&path, format!("not JSON ({e})")))?;
    match v.get("format").and_then(Value::as_u64) {
        Some(f) if f == u64::from(FORMAT) => {}
        Some(f) => {
            return Err(input_err(
                &path,
                format!("results format {f}; this fleetsim merges format {FORMAT}"),
            ));
        }
        None => {
            return Err(input_err(
                &path,
                "no `format` version: not a fleetsim summary",
            ));
        }
    }
    let summary: Summary = serde_json::from_slice(&bytes)
        .map_err(|e| input_err(&path, format!("not a fleetsim summary: {e}")))?;
    let run_path = dir.join("run.json");
    let run: RunInfo = serde_json::from_slice(&read_file(dir, "run.json")?)
        .map_err(|e| input_err(&run_path, e))?;
    let shard = summary.shard.unwrap_or(Shard::WHOLE);
    if shard.count == 0 || shard.index >= shard.count {
        return Err(input_err(&path, format!("impossible shard {shard}")));
    }
    Ok(Input {
        dir: dir.to_path_buf(),
        summary,
        run,
        shard,
    })
}

/// Checks that the inputs are the shards 0 … N−1 of one run, each once; sorts them by shard.
/// Returns N.
pub(super) fn validate(inputs: &mut [Input]) -> Result<u32, MergeError> {
    same_run(inputs)?;
    let n = inputs[0].shard.count;
    inputs.sort_by_key(|i| i.shard.index);
    each_shard_once(inputs, n)?;
    shares_of_the_fleet(inputs)?;
    Ok(n)
}

/// Every input is a shard (or the one whole run) of the same run: the operations of this
/// format, the same scenario hash, seed, engine and `--shard K/N` split.
fn same_run(inputs: &[Input]) -> Result<(), MergeError> {
    if inputs.len() > 1
        && let Some(whole) = inputs.iter().find(|i| i.summary.shard.is_none())
    {
        return Err(input_err(
            &whole.dir,
            "a whole run (its summary.json has no `shard`), not a shard: a whole run can only be merged alone; merge combines `fleetsim run --shard K/N` runs",
        ));
    }
    let mut ops: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
    ops.sort_unstable();
    let first = &inputs[0];
    for i in inputs.iter() {
        let mut names: Vec<&str> = i
            .summary
            .operations
            .0
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        if names != ops {
            return Err(input_err(
                &i.dir.join("summary.json"),
                format!("operations {names:?} are not format {FORMAT}'s {ops:?}"),
            ));
        }
        let differs = |what: &str, a: &dyn Display, b: &dyn Display, why: &str| {
            MergeError::Input(format!(
                "{} is not a shard of the same run as {}: its {what} is {b}, not {a} ({why})",
                i.dir.display(),
                first.dir.display()
            ))
        };
        let (a, b) = (&first.summary, &i.summary);
        if b.scenario.hash != a.scenario.hash {
            return Err(differs(
                "scenario hash",
                &a.scenario.hash,
                &b.scenario.hash,
                "shards run the same scenario with the same --set overrides",
            ));
        }
        if b.seed != a.seed {
            return Err(differs(
                "seed",
                &a.seed,
                &b.seed,
                "shards run with the same seed",
            ));
        }
        if b.engine != a.engine {
            return Err(differs(
                "engine",
                &a.engine,
                &b.engine,
                "shards run on the same engine",
            ));
        }
        if i.shard.count != first.shard.count {
            return Err(differs(
                "shard",
                &first.shard,
                &i.shard,
                "every shard comes from one --shard K/N split",
            ));
        }
    }
    Ok(())
}

/// Shards sorted by index: each of the `n` given exactly once.
fn each_shard_once(inputs: &[Input], n: u32) -> Result<(), MergeError> {
    for w in inputs.windows(2) {
        if w[0].shard == w[1].shard {
            return Err(MergeError::Input(format!(
                "{} and {} are both shard {}: give each shard once",
                w[0].dir.display(),
                w[1].dir.display(),
                w[0].shard
            )));
        }
    }
    if inputs.len() != n as usize {
        let have: Vec<u32> = inputs.iter().map(|i| i.shard.index).collect();
        let missing: Vec<String> = (0..n)
            .filter(|k| !have.contains(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        let given: Vec<String> = inputs
            .iter()
            .map(|i| format!("{} ({})", i.shard, i.dir.display()))
            .collect();
        let (s, is) = if missing.len() == 1 {
            ("", "is")
        } else {
            ("s", "are")
        };
        return Err(MergeError::Input(format!(
            "shard{s} {} {is} missing: given {}; run the missing shard{s} again (same scenario, --set and seed drive the same devices)",
            missing.join(", "),
            given.join(", "),
        )));
    }
    Ok(())
}

/// The model is computed for the whole fleet: each shard drove its share of it.
fn shares_of_the_fleet(inputs: &[Input]) -> Result<(), MergeError> {
    if let Some(fleet) = inputs[0]
        .summary
        .model
        .pointer("/demand/devices")
        .and_then(Value::as_u64)
    {
        for i in inputs.iter() {
            let want = i.shard.devices(fleet);
            if i.summary.devices != want {
                return Err(input_err(
                    &i.dir.join("summary.json"),
                    format!(
                        "shard {} reports {} devices, but shard {} of the scenario's fleet of {fleet} (model.demand.devices) is {want}",
                        i.shard, i.summary.devices, i.shard
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `1.5` → 1 500 000: `timeline.csv`'s exact decimal seconds as microseconds.
fn parse_secs_us(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || frac.len() > 6 {
        return None;
    }
    let frac: u64 = format!("{frac:0<6}").parse().ok()?;
    int.parse::<u64>()
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(frac)
}

/// Seconds (a summary's float) to whole microseconds, rounded.
pub(super) fn secs_to_us(s: f64) -> u64 {
    (s * 1e6).round().max(0.0) as u64
}

/// A shard's `timeline.csv`: its rows, and its bucket when it has two rows or more.
pub(super) fn read_timeline(dir: &Path) -> Result<(Option<u64>, Vec<TimelineRow>), MergeError> {
    let path = dir.join("timeline.csv");
    let bytes = read_file(dir, "timeline.csv")?;
    let mut rdr = csv::Reader::from_reader(&bytes[..]);
    let header = rdr.headers().map_err(|e| input_err(&path, e))?.clone();
    if !header
        .iter()
        .eq(timeline_header().iter().map(String::as_str))
    {
        return Err(input_err(
            &path,
            format!("its columns are not results format {FORMAT}'s"),
        ));
    }
    let mut rows = Vec::new();
    let mut bucket = None;
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| input_err(&path, e))?;
        let line = k + 2;
        let num = |c: usize| {
            rec[c].parse::<u64>().map_err(|_| {
                input_err(
                    &path,
                    format!("line {line}: `{}` is not a count ({})", &rec[c], &header[c]),
                )
            })
        };
        let t = parse_secs_us(&rec[0])
            .ok_or_else(|| input_err(&path, format!("line {line}: `{}` is not a time", &rec[0])))?;
        if k == 1 {
            bucket = Some(t);
        }
        if t != (k as u64).saturating_mul(bucket.unwrap_or(0)) || (k == 1 && t == 0) {
            return Err(input_err(
                &path,
                format!("line {line}: rows are not contiguous buckets from t_s = 0"),
            ));
        }
        let levels = Levels {
            booted: num(1)?,
            online: num(2)?,
            ever_online: num(3)?,
            in_flight: num(4)?,
        };
        let mut ops = [OpCounts::default(); Op::ALL.len()];
        for (j, c) in ops.iter_mut().enumerate() {
            let b = 5 + 5 * j;
            *c = OpCounts {
                attempts: num(b)?,
                ok: num(b + 1)?,
                throttled: num(b + 2)?,
                errors: num(b + 3)?,
                timeouts: num(b + 4)?,
            };
        }
        rows.push(TimelineRow { levels, ops });
    }
    if rows.is_empty() {
        return Err(input_err(&path, "no rows"));
    }
    Ok((bucket, rows))
}

/// One decoded line of a shard's `histograms.hlog`.
pub(super) struct Interval {
    pub(super) tag: String,
    pub(super) start_us: u64,
    pub(super) duration_us: u64,
    pub(super) histogram: Histogram<u64>,
}

pub(super) fn read_hlog(dir: &Path) -> Result<Vec<Interval>, MergeError> {
    let path = dir.join("histograms.hlog");
    let bytes = read_file(dir, "histograms.hlog")?;
    let mut deserializer = Deserializer::new();
    let mut out = Vec::new();
    for (k, entry) in IntervalLogIterator::new(&bytes).enumerate() {
        let entry = entry.map_err(|e| input_err(&path, format!("entry {}: {e:?}", k + 1)))?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let tag = h.tag().map_or("", |t| t.as_str()).to_string();
        let bad = |e: &dyn Display| input_err(&path, format!("`{tag}` histogram: {e}"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.encoded_histogram())
            .map_err(|e| bad(&e))?;
        let histogram: Histogram<u64> = deserializer
            .deserialize(&mut &raw[..])
            .map_err(|e| bad(&format!("{e:?}")))?;
        out.push(Interval {
            tag,
            start_us: h.start_timestamp().as_micros() as u64,
            duration_us: h.duration().as_micros() as u64,
            histogram,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_parse_exactly() {
        assert_eq!(parse_secs_us("0"), Some(0));
        assert_eq!(parse_secs_us("1.5"), Some(1_500_000));
        assert_eq!(parse_secs_us("3.000001"), Some(3_000_001));
        assert_eq!(parse_secs_us("12"), Some(12_000_000));
        for bad in ["", ".5", "1.", "1.0000001", "-1", "1e3", "x"] {
            assert_eq!(parse_secs_us(bad), None, "{bad}");
        }
        assert_eq!(secs_to_us(0.504468), 504_468);
    }
}
