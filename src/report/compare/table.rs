//! What `fleetsim compare` prints: the table of changed metrics and the tally, and one line
//! per regression for stderr.

use super::comparison::Comparison;
use super::verdict::{Row, Status};
use std::fmt::Write;

/// The table `fleetsim compare` prints: the metrics that changed, then the tally.
pub fn render(c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "compare {}: {} (current) vs {} (baseline)",
        c.current.name,
        c.current.dir.display(),
        c.baseline.dir.display()
    );
    for w in &c.forced {
        let _ = writeln!(o, "  forced: {w}");
    }
    let changed: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.status != Status::Unchanged)
        .collect();
    if changed.is_empty() {
        let _ = writeln!(o, "\n  every compared metric is unchanged");
    } else {
        let width = changed
            .iter()
            .map(|r| r.metric.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "  {:<width$}  {:>16}  {:>16}  {:>18}  {:>9}  verdict",
            "metric", "baseline", "current", "change", "tolerance"
        );
        for r in changed {
            let _ = writeln!(
                o,
                "  {:<width$}  {:>16}  {:>16}  {:>18}  {:>9}  {}",
                r.metric,
                r.show(r.baseline),
                r.show(r.current),
                r.change(),
                r.tolerance,
                r.status.word()
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", c.tally());
    o
}

/// One line per regression, for stderr: `online.t99_s: 1 h 2 m (baseline 31 m 40 s, allowed up to 34 m 50 s)`.
pub fn describe_regression(r: &Row) -> String {
    let limit = r
        .limit()
        .map(|l| format!(", allowed up to {}", r.unit.format(l)))
        .unwrap_or_default();
    format!(
        "{} is {} (baseline {}{limit}; tolerance {})",
        r.metric,
        r.show(r.current),
        r.show(r.baseline),
        r.tolerance
    )
}
