//! `summary.json`'s schema is declared once, by the core's `summary` types; the JSON Schema
//! generated from them is checked in as `results/summary.schema.json` for tools that read our
//! results, and every summary we write or ship conforms to it.

mod common;
use common::{fleetsim, scenario, stderr};
use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let path = root().join("results/summary.schema.json");
    let generated = fleetsim::summary::schema_json();
    if std::env::var_os("FLEETSIM_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is not the schema the summary types generate; regenerate it with \
         FLEETSIM_BLESS=1 cargo test --test summary_schema",
        path.display()
    );
    let v: Value = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(v["title"], "Summary");
    assert!(v["properties"]["operations"].is_object());
}

/// Checks `doc` against the shape the schema describes (`metric::summary_schema`): every key
/// is one the schema has, and every value has the schema's type (numbers where the schema has
/// a number or null, and so on). Maps with free keys (`compare`) are skipped.
fn conforms(doc: &Value, shape: &Value, path: &str, errors: &mut Vec<String>) {
    match (doc, shape) {
        (Value::Object(d), Value::Object(s)) => {
            if s.is_empty() {
                return; // a map of free keys
            }
            for (k, v) in d {
                let p = format!("{path}.{k}");
                match s.get(k) {
                    Some(sv) => conforms(v, sv, &p, errors),
                    None => errors.push(format!("{p}: not in the schema")),
                }
            }
            for k in s.keys() {
                if !d.contains_key(k)
                    // Optional keys: `late` is absent from live runs, `repeats` is on
                    // `dps.register` only.
                    && !matches!(
                        k.as_str(),
                        "compare" | "shard" | "live" | "telemetry_check" | "late" | "repeats"
                    )
                {
                    errors.push(format!("{path}.{k}: missing"));
                }
            }
        }
        (Value::Number(_) | Value::Null, Value::Null) => {}
        (Value::String(_), Value::String(_)) => {}
        (Value::Bool(_), Value::Bool(_)) => {}
        (Value::Array(_), Value::Array(_)) => {}
        (d, s) => errors.push(format!("{path}: {d} where the schema has {s}")),
    }
}

fn check(name: &str, doc: &Value) {
    let mut errors = Vec::new();
    conforms(doc, fleetsim::metric::summary_schema(), "", &mut errors);
    assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
}

#[test]
fn shipped_and_golden_summaries_conform() {
    let mut n = 0;
    for dir in ["results/baselines", "tests/golden"] {
        let mut stack = vec![root().join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().ends_with("summary.json") {
                    let doc: Value =
                        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                    check(&p.display().to_string(), &doc);
                    n += 1;
                }
            }
        }
    }
    assert!(n >= 7, "found {n} summaries");
}

#[test]
fn a_fresh_run_and_a_live_run_conform_and_every_number_is_a_known_metric() {
    let dir = tempfile::tempdir().unwrap();
    let known = fleetsim::metric::known_metrics();
    for (engine, out) in [("virtual", "v"), ("live", "l")] {
        let o = dir.path().join(out);
        let sc = scenario("smoke");
        let run = fleetsim(
            dir.path(),
            &[
                "run",
                sc.to_str().unwrap(),
                "--engine",
                engine,
                "--quiet",
                "--set",
                "fleet.devices=20",
                "--set",
                "arrival.window=1s",
                "--out",
                o.to_str().unwrap(),
            ],
        );
        assert!(run.status.success(), "{engine}: {}", stderr(&run));
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(o.join("summary.json")).unwrap())
                .unwrap();
        check(engine, &doc);
        let mut numbers = Vec::new();
        leaves(&doc, "", &mut numbers);
        assert!(numbers.len() > 60, "{numbers:?}");
        for p in numbers {
            assert!(
                known.contains(&p),
                "{engine}: {p} is in summary.json but not a known metric"
            );
        }
        if engine == "live" {
            assert!(doc["live"]["connections"]["opened"].as_u64().unwrap() > 0);
        }
    }
}

/// Numeric leaves of a document as metric paths (objects only; lists are not metrics).
fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Number(_) => out.push(p),
                Value::Object(_) => leaves(v, &p, out),
                _ => {}
            }
        }
    }
}
