//! The one duration formatter for people: terminal, Markdown and HTML all print durations
//! through [`human`].

use super::path::number;

/// `3723.4` → `1h 2m 3s`; `8.8152` → `8.815s`; `0.25` → `250ms`.
pub fn human(secs: f64) -> String {
    if !secs.is_finite() {
        return format!("{secs} s");
    }
    let neg = secs < 0.0;
    let a = secs.abs();
    let out = if a < 1.0 {
        format!("{}ms", number((a * 1e6).round() / 1e3))
    } else if a < 60.0 {
        format!("{}s", number((a * 1e3).round() / 1e3))
    } else {
        // From a minute up, whole seconds: `4h 36m`, `1m 20s`.
        let mut s = a.round() as u64;
        let mut parts = Vec::new();
        for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if s >= len {
                parts.push(format!("{}{unit}", s / len));
                s %= len;
            }
        }
        parts.join(" ")
    };
    if neg { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Unit;

    #[test]
    fn human_formats() {
        assert_eq!(human(3723.4), "1h 2m 3s");
        assert_eq!(human(16560.078), "4h 36m");
        assert_eq!(human(80.127), "1m 20s");
        assert_eq!(human(-90.0), "-1m 30s");
        assert_eq!(human(0.25), "250ms");
        assert_eq!(human(60.0), "1m");
        assert_eq!(human(0.0), "0ms");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(3.0), "3");
        assert_eq!(Unit::Milliseconds.format(8815.0), "8.815s");
    }
}
