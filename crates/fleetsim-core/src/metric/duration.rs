//! The one duration formatter for people: terminal, Markdown and HTML all print durations
//! through [`human`], in one format (a space between number and unit):
//!
//! - from a minute up, the two largest units, the smaller rounded: `1 h 42 m`, `4 m 20 s`,
//!   `2 d 3 h`; a zero smaller unit is left out (`1 m`, `3 h`);
//! - under a minute, two significant digits, trailing zeros trimmed: `8.8 s`, `59 s`;
//! - under a second, milliseconds the same way: `340 ms`, `8.5 ms`, `0.25 ms`.

/// Seconds for people: `6120.0` → `1 h 42 m`; `8.8152` → `8.8 s`; `0.34` → `340 ms`;
/// `0.00025` → `0.25 ms`.
pub fn human(secs: f64) -> String {
    if !secs.is_finite() {
        return format!("{secs} s");
    }
    let a = secs.abs();
    let out = if let Some(ms) = below(a * 1e3, 1_000.0) {
        format!("{ms} ms")
    } else if let Some(s) = below(a, 60.0) {
        format!("{s} s")
    } else {
        two_units(a)
    };
    if secs < 0.0 && out != "0 ms" {
        format!("-{out}")
    } else {
        out
    }
}

/// `v` with two significant digits (never fewer than its whole digits), trailing zeros
/// trimmed, or `None` when it rounds to `limit` or more (the next unit up prints it).
fn below(v: f64, limit: f64) -> Option<String> {
    if v >= limit {
        return None;
    }
    let decimals = if v == 0.0 || v >= 10.0 {
        0
    } else {
        // 1 ≤ v < 10 → one decimal; 0.1 ≤ v < 1 → two; and so on.
        (1.0 - v.log10().floor()) as usize
    };
    let text = format!("{v:.decimals$}");
    if text.parse::<f64>().is_ok_and(|r| r >= limit) {
        return None;
    }
    Some(trim(text))
}

/// A minute or more: the two largest units, the smaller rounded; `d` is the largest unit.
fn two_units(secs: f64) -> String {
    const UNITS: [(&str, u64); 4] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)];
    let whole = secs.round() as u64;
    let top = UNITS.iter().position(|&(_, len)| whole >= len).unwrap_or(3);
    let step = UNITS[(top + 1).min(3)].1;
    let s = (secs / step as f64).round() as u64 * step;
    // Rounding may carry into a larger unit (`59 m 59.6 s` → `1 h`).
    let top = UNITS.iter().position(|&(_, len)| s >= len).unwrap_or(3);
    let (big, big_len) = UNITS[top];
    let mut out = format!("{} {big}", s / big_len);
    if top < 3 {
        let (small, small_len) = UNITS[top + 1];
        let rest = (s % big_len) / small_len;
        if rest > 0 {
            out.push_str(&format!(" {rest} {small}"));
        }
    }
    out
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Unit, number};

    #[test]
    fn human_formats() {
        assert_eq!(human(6120.0), "1 h 42 m");
        assert_eq!(human(3723.4), "1 h 2 m");
        assert_eq!(human(16560.078), "4 h 36 m");
        assert_eq!(human(260.0), "4 m 20 s");
        assert_eq!(human(80.127), "1 m 20 s");
        assert_eq!(human(183_600.0), "2 d 3 h");
        assert_eq!(human(-90.0), "-1 m 30 s");
        assert_eq!(human(60.0), "1 m");
        assert_eq!(human(3599.6), "1 h");
        assert_eq!(human(3599.0), "59 m 59 s");
        assert_eq!(human(7170.0), "2 h");
        assert_eq!(human(8.8152), "8.8 s");
        assert_eq!(human(59.0), "59 s");
        assert_eq!(human(59.7), "1 m");
        assert_eq!(human(12.34), "12 s");
        assert_eq!(human(1.0), "1 s");
        assert_eq!(human(0.9996), "1 s");
        assert_eq!(human(0.34), "340 ms");
        assert_eq!(human(0.25), "250 ms");
        assert_eq!(human(0.0085), "8.5 ms");
        assert_eq!(human(0.00025), "0.25 ms");
        assert_eq!(human(0.0), "0 ms");
        assert_eq!(human(-0.0), "0 ms");
        assert_eq!(human(665.846), "11 m 6 s");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(3.0), "3");
        assert_eq!(Unit::Milliseconds.format(8815.0), "8.8 s");
    }
}
