//! `[slo]` and `[compare]`: metric paths into `summary.json` with a condition or a tolerance.
//! Checked here, before any run, against the summary's schema (`report::metric`), so an
//! unknown metric or a bad condition is a scenario error with a file position.
//!
//! Keys are metric paths. Written quoted (`"online.t99" = "< 30m"`) they are one TOML key;
//! written bare (`online.t99 = "< 30m"`) TOML makes nested tables of them. Both mean the same:
//! nested tables are joined back with dots.

use super::{Invalid, Res};
use crate::metric::tolerance::{Tolerance, parse_tolerance};
use crate::metric::{MetricError, Slo};
use crate::scenario::overrides::{KeyPath, Seg};

/// Each leaf of `table` as (key path in the file, metric path, value).
fn leaves<'a>(
    table: &'a toml::Table,
    under: &[&'a str],
    out: &mut Vec<(Vec<&'a str>, &'a toml::Value)>,
) {
    for (k, v) in table {
        let mut path = under.to_vec();
        path.push(k.as_str());
        match v {
            toml::Value::Table(t) => leaves(t, &path, out),
            v => out.push((path, v)),
        }
    }
}

/// The key path for errors, quoted as TOML would need it (`slo."online.t99"`).
fn key(table: &str, path: &[&str]) -> String {
    let mut segs = vec![Seg::Key(table.to_string())];
    segs.extend(path.iter().map(|k| Seg::Key(k.to_string())));
    KeyPath(segs).to_string()
}

fn invalid(table: &str, path: &[&str], e: MetricError) -> Invalid {
    Invalid {
        key: key(table, path),
        message: e.message,
        hint: e.hint,
    }
}

fn text<'a>(table: &str, path: &[&str], v: &'a toml::Value, example: &str) -> Res<&'a str> {
    v.as_str().ok_or_else(|| {
        Invalid::new(
            key(table, path),
            format!(
                "expected a string such as \"{example}\", found {}",
                v.type_str()
            ),
        )
        .hint(format!(
            "write it as a string: \"{}\" = \"{example}\"",
            path.join(".")
        ))
    })
}

/// `[slo]`, in key order.
pub fn slo(table: &toml::Table) -> Res<Vec<Slo>> {
    let mut found = Vec::new();
    leaves(table, &[], &mut found);
    found
        .into_iter()
        .map(|(path, v)| {
            let condition = text("slo", &path, v, "< 30m")?;
            Slo::new(&path.join("."), condition).map_err(|e| invalid("slo", &path, e))
        })
        .collect()
}

/// `[compare]`, in key order.
pub fn compare(table: &toml::Table) -> Res<Vec<Tolerance>> {
    let mut found = Vec::new();
    leaves(table, &[], &mut found);
    found
        .into_iter()
        .map(|(path, v)| {
            // A bare number is an amount in the metric's unit, as "5" is.
            let number = match v {
                toml::Value::Integer(i) => Some(i.to_string()),
                toml::Value::Float(x) => Some(x.to_string()),
                _ => None,
            };
            let tolerance = match &number {
                Some(n) => n.as_str(),
                None => text("compare", &path, v, "10%")?,
            };
            parse_tolerance(&path.join("."), tolerance).map_err(|e| invalid("compare", &path, e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::scenario::load_str;

    const BASE: &str = "[fleet]\ndevices = 10\n\n[slo]\n";

    fn err(extra: &str, sets: &[&str]) -> String {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        match load_str(&format!("{BASE}{extra}"), "t.toml", &sets) {
            Ok(_) => panic!("{extra:?} {sets:?} loaded"),
            Err(e) => e.render(),
        }
    }

    #[test]
    fn slos_load_in_both_spellings_and_stay_out_of_the_hash() {
        let text = format!(
            "{BASE}\"online.t99\" = \"< 30m\"\noperations.hub.connect.throttle_rate = \"< 25%\"\n\n[compare]\n\"online.t99\" = \"25%\"\n"
        );
        let s = load_str(&text, "t.toml", &[]).unwrap();
        let got: Vec<(&str, &str)> = s
            .slo
            .iter()
            .map(|x| (x.metric.as_str(), x.condition.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("online.t99", "< 30m"),
                ("operations.hub.connect.throttle_rate", "< 25%")
            ]
        );
        assert_eq!(s.compare.len(), 1);
        assert_eq!(s.compare[0].canonical, "online.t99_s");
        let plain = load_str("[fleet]\ndevices = 10\n", "t.toml", &[]).unwrap();
        assert_eq!(
            s.hash, plain.hash,
            "[slo] and [compare] do not change the scenario"
        );
        // --set reaches them too.
        let s = load_str(BASE, "t.toml", &["slo.online.t90=< 1h".to_string()]).unwrap();
        assert_eq!(s.slo[0].metric, "online.t90");
        // A bare number in [compare] is an amount in the metric's unit.
        let t = load_str(
            BASE,
            "t.toml",
            &["compare.operations.dps.register.throttled=500".to_string()],
        )
        .unwrap();
        assert_eq!(t.compare[0].text, "500");
    }

    #[test]
    fn bad_slos_are_placed_in_the_file() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "\"online.t98\" = \"< 30m\"\n",
                &[],
                &[
                    "t.toml:5:1: slo.\"online.t98\": unknown metric `online.t98`",
                    "did you mean",
                    "`online.t99_s`",
                ],
            ),
            (
                "x = 1\nonline.t98 = \"< 30m\"\n",
                &[],
                &["t.toml:6:8: slo.online.t98: unknown metric `online.t98`"],
            ),
            (
                "\"online.t99\" = \"30m\"\n",
                &[],
                &[
                    "t.toml:5:1: slo.\"online.t99\": `30m` is not a condition: it does not start with a comparison",
                    "hint: write OP VALUE",
                ],
            ),
            (
                "\"operations.hub.connect.throttle_rate\" = \"< 10m\"\n",
                &[],
                &["t.toml:5:1:", "`< 10m` is a duration", "is not a time"],
            ),
            (
                "\"online.t99\" = 30\n",
                &[],
                &[
                    "t.toml:5:1: slo.\"online.t99\": expected a string such as \"< 30m\", found integer",
                ],
            ),
            (
                "\"online\" = \"< 3\"\n",
                &[],
                &["`online` is a table of metrics"],
            ),
            (
                "",
                &["slo.online.t99=soon"],
                &["--set 'slo.online.t99=soon': slo.online.t99: `soon` is not a condition"],
            ),
            (
                "[compare]\n\"model.lower_bound_s.t99\" = \"5%\"\n",
                &[],
                &[
                    "t.toml:6:1: compare.\"model.lower_bound_s.t99\":",
                    "not one of the metrics",
                ],
            ),
            (
                "[compare]\n\"online.t99\" = \"a bit\"\n",
                &[],
                &["t.toml:6:1: compare.\"online.t99\": `a bit` is not a tolerance"],
            ),
        ];
        for (extra, sets, expect) in cases {
            let got = err(extra, sets);
            for e in *expect {
                assert!(got.contains(e), "{extra:?}: expected {e:?} in\n{got}");
            }
        }
    }
}
