//! The Markdown summary of a comparison, for `$GITHUB_STEP_SUMMARY`.

use super::comparison::Comparison;
use super::verdict::{Row, Status};
use crate::metric::metric;
use serde_json::Value;
use std::fmt::Write;

/// A Markdown summary for `$GITHUB_STEP_SUMMARY`: the current run's SLO verdicts and the
/// comparison's changed metrics.
pub fn markdown(c: &Comparison, current: &Value) -> String {
    let mut o = String::new();
    let verdict = if c.passed() {
        "passed"
    } else {
        "**regressed**"
    };
    let _ = writeln!(o, "### {}: {verdict}", md(&c.current.name));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Current `{}` against baseline `{}`. {}.",
        md(&c.current.dir.display().to_string()),
        md(&c.baseline.dir.display().to_string()),
        c.tally()
    );
    for w in &c.forced {
        let _ = writeln!(o, "\n> forced: {}", md(w));
    }
    if let Some(slos) = current
        .get("slo")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let _ = writeln!(o);
        let _ = writeln!(o, "| SLO | condition | measured | verdict |");
        let _ = writeln!(o, "|---|---|---:|---|");
        for v in slos {
            let m = v["metric"].as_str().unwrap_or("?");
            let unit = metric(m).map(|m| m.unit).unwrap_or_default();
            let measured = v["measured"]
                .as_f64()
                .map_or("never reached".into(), |x| unit.format(x));
            let pass = if v["pass"].as_bool() == Some(true) {
                "pass"
            } else {
                "**FAIL**"
            };
            let _ = writeln!(
                o,
                "| `{}` | `{}` | {} | {pass} |",
                md(m),
                md(v["condition"].as_str().unwrap_or("?")),
                md(&measured)
            );
        }
    }
    let changed: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.status != Status::Unchanged)
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "| metric | baseline | current | change | tolerance | verdict |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---|");
        for r in changed {
            let word = match r.status {
                Status::Regressed => "**REGRESSED**",
                s => s.word(),
            };
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} | {word} |",
                md(&r.metric),
                md(&r.show(r.baseline)),
                md(&r.show(r.current)),
                md(&r.change()),
                md(&r.tolerance)
            );
        }
    }
    o
}

/// Escapes the characters that would break a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::super::{CompareOptions, compare, describe_regression};
    use super::*;
    use serde_json::json;
    use std::path::Path;

    use super::super::tests::run;

    fn cmp(cur: &Value, base: &Value) -> Comparison {
        compare(
            Path::new("cur"),
            cur,
            Path::new("base"),
            base,
            &CompareOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn markdown_lists_slos_and_changes() {
        let mut cur = run(150.0);
        cur["slo"] = json!([{"metric": "online.t99", "condition": "< 2m", "measured": 150.0, "pass": false}]);
        let c = cmp(&cur, &run(100.0));
        let md = markdown(&c, &cur);
        assert!(md.starts_with("### unit: **regressed**"), "{md}");
        assert!(
            md.contains("| `online.t99` | `< 2m` | 2 m 30 s | **FAIL** |"),
            "{md}"
        );
        assert!(
            md.contains("| `online.t99_s` | 1 m 40 s | 2 m 30 s | +50.0 % | 10% | **REGRESSED** |"),
            "{md}"
        );
        let row = c.rows.iter().find(|r| r.metric == "online.t99_s").unwrap();
        assert!(describe_regression(row).contains("allowed up to 1 m 50 s"));
    }
}
