//! Values a person writes in a scenario or on the command line: counts (`1_000_000`, `"1M"`,
//! `"10k"`), durations (`"90s"`, `"2h"`, `"1h30m"`, or a number of seconds) and shares (`0.05`
//! or `"5%"`). Each parses from TOML and from a `--set` string with the same rules.

use crate::time::SimDuration;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;

/// A count of things (devices, units). TOML integers, or strings with a k/M/G suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Count(pub u64);

/// A duration. Strings in humantime syntax (`"90s"`, `"15m"`, `"1h 30m"`, `"250ms"`), or a
/// plain number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub SimDuration);

/// A share of a whole, between 0 and 1. Accepts `0.05` or `"5%"`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Share(pub f64);

/// Parses `1_000_000`, `1000000`, `10k`, `1.5M`, `2G`.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t: String = s.trim().chars().filter(|c| *c != '_').collect();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('M') => (&t[..t.len() - 1], 1e6),
        Some('G') => (&t[..t.len() - 1], 1e9),
        _ => (&t[..], 1.0),
    };
    if let Ok(n) = num.parse::<u64>() {
        return n
            .checked_mul(mult as u64)
            .ok_or_else(|| format!("`{s}` is too large"));
    }
    match num.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => {
            let v = x * mult;
            if v.fract() != 0.0 {
                Err(format!("`{s}` is not a whole number"))
            } else if v > u64::MAX as f64 {
                Err(format!("`{s}` is too large"))
            } else {
                Ok(v as u64)
            }
        }
        _ => Err(format!(
            "`{s}` is not a count (expected a whole number such as 1000000, 1_000_000, 10k or 1M)"
        )),
    }
}

/// Formats a count with thousands separators: `1,000,000`.
pub fn format_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats seconds as `h:mm:ss` (rounded; negative values as 0), the clock every table of
/// simulated times uses.
pub fn format_clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Parses `"90s"`, `"2h"`, `"1h 30m"`, `"250ms"`, or a bare number of seconds (`"30"`, `"1.5"`).
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let t = s.trim();
    if let Ok(x) = t.parse::<f64>() {
        return secs_to_duration(x).map_err(|e| format!("`{s}`: {e}"));
    }
    if t.starts_with('-') {
        return Err(format!("`{s}`: a duration cannot be negative"));
    }
    let d = humantime::parse_duration(t).map_err(|e| {
        format!("`{s}` is not a duration ({e}; expected e.g. \"90s\", \"15m\", \"2h\", \"1h 30m\")")
    })?;
    if d.as_secs_f64() > MAX_SECS {
        return Err(format!("`{s}`: {TOO_LONG}"));
    }
    let sim = SimDuration::from(d);
    if sim.is_zero() && !d.is_zero() {
        return Err(format!(
            "`{s}` is shorter than 1µs, the finest time step fleetsim simulates"
        ));
    }
    Ok(sim)
}

/// The longest duration a scenario may hold (about 31,700 years): far beyond any run, far
/// below where microsecond arithmetic overflows.
const MAX_SECS: f64 = 1e12;
const TOO_LONG: &str = "a duration longer than 10^12 seconds is not meaningful";

fn secs_to_duration(x: f64) -> Result<SimDuration, String> {
    if !x.is_finite() || x < 0.0 {
        Err("a duration must be a non-negative number of seconds".into())
    } else if x > MAX_SECS {
        Err(TOO_LONG.into())
    } else if x > 0.0 && SimDuration::from_secs_f64(x).is_zero() {
        Err(format!(
            "{x} s is shorter than 1µs, the finest time step fleetsim simulates"
        ))
    } else {
        Ok(SimDuration::from_secs_f64(x))
    }
}

/// Parses `0.05` or `"5%"`, and checks the range 0..=1.
pub fn parse_share(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| {
        format!(
            "`{s}` is not a share (expected a number from 0 to 1, or a percentage such as \"5%\")"
        )
    })?;
    check_share(v)
}

fn check_share(v: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is outside 0..=1 (a share is a fraction of the whole; write 5% as 0.05 or \"5%\")"
        ))
    }
}

/// A visitor that accepts integers, floats and strings and hands them to one parser.
struct Flexible<T> {
    expecting: &'static str,
    from_str: fn(&str) -> Result<T, String>,
    from_f64: fn(f64) -> Result<T, String>,
}

impl<'de, T> de::Visitor<'de> for Flexible<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.from_str)(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.from_f64)(v as f64).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.from_f64)(v as f64).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.from_f64)(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Flexible {
            expecting: "a whole number such as 1000000, 1_000_000, \"10k\" or \"1M\"",
            from_str: |s| parse_count(s).map(Count),
            from_f64: |x| {
                if x >= 0.0 && x.fract() == 0.0 && x <= u64::MAX as f64 {
                    Ok(Count(x as u64))
                } else if x.is_finite() && x > u64::MAX as f64 {
                    Err(format!(
                        "{x:e} is too large for a count (at most {})",
                        u64::MAX
                    ))
                } else {
                    Err(format!("{x} is not a non-negative whole number"))
                }
            },
        })
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Flexible {
            expecting: "a duration such as \"90s\", \"15m\", \"2h\" or a number of seconds",
            from_str: |s| parse_duration(s).map(Dur),
            from_f64: |x| secs_to_duration(x).map(Dur),
        })
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Flexible {
            expecting: "a share from 0 to 1, or a percentage such as \"5%\"",
            from_str: |s| parse_share(s).map(Share),
            from_f64: |x| check_share(x).map(Share),
        })
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}
impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}
impl Serialize for Share {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_suffixes_and_underscores() {
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count("1.5M"), Ok(1_500_000));
        assert!(parse_count("1.00005k").is_err());
        assert!(parse_count("-3").is_err());
        assert!(parse_count("lots").is_err());
        assert!(parse_count("99999999999999999999G").is_err());
    }

    #[test]
    fn clocks_format_hours_minutes_seconds() {
        assert_eq!(format_clock(0.0), "0:00:00");
        assert_eq!(format_clock(1799.6), "0:30:00");
        assert_eq!(format_clock(16_560.0), "4:36:00");
        assert_eq!(format_clock(-5.0), "0:00:00");
    }

    #[test]
    fn counts_format_with_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(144_503), "144,503");
        assert_eq!(format_count(1_000_000), "1,000,000");
    }

    #[test]
    fn durations_accept_units_and_seconds() {
        assert_eq!(parse_duration("90s"), Ok(SimDuration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(SimDuration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(SimDuration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(SimDuration::from_millis(1500)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn shares_accept_fractions_and_percentages() {
        assert_eq!(parse_share("0.05"), Ok(0.05));
        assert_eq!(parse_share("5%"), Ok(0.05));
        assert!(parse_share("1.5").is_err());
        assert!(parse_share("half").is_err());
    }
}
