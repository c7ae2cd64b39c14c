//! What `plan` shows and writes: a terminal table, `plan.json` and `plan.csv`.

use super::{Configuration, Plan, Status};
use crate::report::ReportError;
use crate::scenario::units::format_clock;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// `h:mm:ss`, or `never` for a share of the fleet that was not (or cannot be) reached.
fn clock(s: Option<f64>) -> String {
    s.map_or("never".into(), format_clock)
}

/// The run's t99: `h:mm:ss`, `> h:mm:ss` when the run stopped early (a goal was lost) before
/// 99 % were online, `never`, or `-` when it was not run.
fn measured_t99(c: &Configuration) -> String {
    match (c.measured_s.as_ref().and_then(|m| m.t99), c.stopped_at_s) {
        (None, Some(at)) => format!("> {}", format_clock(at)),
        (t, _) if c.measured_s.is_some() => clock(t),
        _ => "-".into(),
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Invalid => "invalid",
        Status::Pruned => "pruned",
        Status::Passed => "PASS",
        Status::Failed => "fail",
        Status::NotRun => "not run",
        Status::Interrupted => "interrupted",
    }
}

/// The terminal table and verdict.
pub fn render(p: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "plan for {}: goals {}", p.scenario, p.goals.join(", "));
    if !p.complete {
        let _ = writeln!(
            o,
            "INTERRUPTED: not every configuration was confirmed; the plan is incomplete"
        );
    }
    let _ = writeln!(
        o,
        "{} configurations, {} pruned by the model, {} confirmed by full runs\n",
        p.configurations.len(),
        p.configurations
            .iter()
            .filter(|c| c.status == Status::Pruned)
            .count(),
        p.runs
    );
    let width = p
        .configurations
        .iter()
        .map(|c| c.settings_text().len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        o,
        "  {:<width$}  {:>10}  {:<18} {:>10} {:>10}  status",
        "settings", "$/month", "bottleneck", "t99 bound", "t99 run"
    );
    let mut rows: Vec<&Configuration> = p.configurations.iter().collect();
    rows.sort_by(|a, b| {
        a.cost_per_month
            .partial_cmp(&b.cost_per_month)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for c in rows {
        let mark = match p.recommended {
            Some(r) if std::ptr::eq(&p.configurations[r], c) => " <- recommended",
            _ => "",
        };
        let _ = writeln!(
            o,
            "  {:<width$}  {:>10}  {:<18} {:>10} {:>10}  {}{mark}",
            c.settings_text(),
            c.cost_per_month.map_or("-".into(), |x| format!("{x:.0}")),
            c.bottleneck.as_deref().unwrap_or("-"),
            c.lower_bound_s
                .as_ref()
                .map_or("-".into(), |b| clock(b.t99)),
            measured_t99(c),
            status(c.status),
        );
    }
    let _ = writeln!(o);
    match p.recommended {
        Some(r) => {
            let c = &p.configurations[r];
            let set: Vec<String> = c
                .settings
                .iter()
                .map(|(k, v)| format!("--set {k}={v}"))
                .collect();
            let _ = writeln!(
                o,
                "recommended: {} ({:.0} {}/month); t99 measured {}, bound {}",
                c.settings_text(),
                c.cost_per_month.unwrap_or(0.0),
                p.prices.currency,
                clock(c.measured_s.as_ref().and_then(|m| m.t99)),
                clock(c.lower_bound_s.as_ref().and_then(|b| b.t99)),
            );
            let _ = writeln!(o, "  confirm: fleetsim run SCENARIO {}", set.join(" "));
            for &u in &p.runner_ups {
                let c = &p.configurations[u];
                let _ = writeln!(
                    o,
                    "  runner-up: {} ({:.0}/month)",
                    c.settings_text(),
                    c.cost_per_month.unwrap_or(0.0)
                );
            }
        }
        None => {
            let _ = writeln!(o, "no configuration in the sweep meets every goal");
            if let Some(c) = &p.closest {
                let _ = writeln!(o, "  {c}");
            }
        }
    }
    for l in &p.lint {
        let _ = writeln!(
            o,
            "lint {} ({}): {}\n  with the fix ({}): t99 {} -> {}, registrations {} -> {}",
            l.rule,
            l.classes.join(", "),
            l.message,
            l.fix.join(" "),
            clock(l.t99_s),
            clock(l.t99_s_fixed),
            l.registrations,
            l.registrations_fixed
        );
    }
    o
}

/// `plan.json`: the whole plan, with the recommended configuration's settings and summary.
pub fn to_json(p: &Plan) -> serde_json::Value {
    let mut v = serde_json::to_value(p).expect("a plan serialises");
    let pick = |i: usize| {
        let c = &p.configurations[i];
        serde_json::json!({
            "settings": c.settings.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
            "cost_per_month": c.cost_per_month,
            "summary": c.summary.as_ref().map(|s| serde_json::to_value(s).expect("serialises")),
        })
    };
    v["format"] = 1.into();
    v["recommended"] = p.recommended.map_or(serde_json::Value::Null, pick);
    v["runner_ups"] = p.runner_ups.iter().map(|&i| pick(i)).collect();
    v
}

/// `plan.csv`: one row per configuration.
pub fn to_csv(p: &Plan) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "settings",
        "cost_per_month",
        "status",
        "bottleneck",
        "t99_bound_s",
        "t99_s",
        "reason",
    ]);
    for c in &p.configurations {
        let f = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.3}"));
        let _ = w.write_record([
            c.settings_text(),
            f(c.cost_per_month),
            status(c.status).to_lowercase(),
            c.bottleneck.clone().unwrap_or_default(),
            f(c.lower_bound_s.as_ref().and_then(|b| b.t99)),
            f(c.measured_s.as_ref().and_then(|m| m.t99)),
            c.reason.clone().unwrap_or_default(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Writes `plan.json` and `plan.csv` into `dir` (created if missing), each via a temporary
/// name and a rename.
pub fn write(dir: &Path, p: &Plan) -> Result<(), ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut json = serde_json::to_string_pretty(&to_json(p)).expect("serialises");
    json.push('\n');
    for (name, body) in [("plan.json", json), ("plan.csv", to_csv(p))] {
        let tmp = dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, body).map_err(io(&tmp))?;
        fs::rename(&tmp, dir.join(name)).map_err(io(&dir.join(name)))?;
    }
    Ok(())
}
