//! `report.html` and `report.md`: snapshot tests that pin each renderer against a fixed,
//! hand-built report model, and `fleetsim report` through the binary (it re-renders a run's
//! report byte for byte, refuses what is not a results directory with exit 2, and marks an
//! incomplete run).
//!
//! Snapshots live in `tests/snapshots/`; after an intended change, regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test --test report` and review the diff.

mod common;
use common::*;
use fleetsim::report::page::{
    Bounds, BucketPoint, CapacityView, Counts, DailyQuotaView, DemandView, LatencyRow, ModelView,
    PlanPoint, PlanView, ReportModel, RunFacts, SloView, Spectrum, SpectrumPoint, SummaryView,
    TimelineView, plan_chart, render_html, render_markdown,
};
use fleetsim::report::{LatencyMs, OnlineSummary, OpSummary, Operations, ScenarioInfo};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const OPS: [&str; 6] = [
    "dps.status_lookup",
    "dps.register",
    "dps.poll",
    "hub.connect",
    "hub.telemetry",
    "device.boot_to_online",
];

fn op(attempts: u64, ok: u64, throttled: u64, p50: f64) -> OpSummary {
    OpSummary {
        attempts,
        ok,
        throttled,
        errors: 0,
        timeouts: attempts - ok - throttled,
        late: None,
        repeats: None,
        throttle_rate: if attempts == 0 {
            0.0
        } else {
            (throttled as f64 / attempts as f64 * 1e6).round() / 1e6
        },
        latency_ms: if ok == 0 {
            LatencyMs::default()
        } else {
            LatencyMs {
                p50: Some(p50),
                p90: Some(p50 * 3.0),
                p99: Some(p50 * 9.0),
                p999: Some(p50 * 20.0),
                max: Some(p50 * 40.0),
            }
        },
    }
}

/// A 1,000-device reconnect storm over 10 minutes, in 60 points of 10 s: hub-only devices
/// arrive first, DPS throttles registrations for the first five minutes.
fn fixed_model() -> ReportModel {
    let points: Vec<BucketPoint> = (0..60u64)
        .map(|i| {
            let t = i as f64 * 10.0;
            let ever = (1_000.0 * (1.0 - (-(t + 10.0) / 120.0).exp())).round() as u64;
            let throttled = if i < 30 { 40 - i } else { 0 };
            let reg_ok = if i < 30 { 5 } else { 2 };
            let mut ops = vec![Counts::default(); 6];
            ops[1] = Counts {
                attempts: reg_ok + throttled,
                ok: reg_ok,
                throttled,
                errors: 0,
                timeouts: u64::from(i == 12),
            };
            ops[2] = Counts {
                attempts: reg_ok + throttled / 2,
                ok: reg_ok,
                throttled: throttled / 2,
                errors: 0,
                timeouts: 0,
            };
            ops[3] = Counts {
                attempts: 30 - i / 2,
                ok: 30 - i / 2,
                ..Counts::default()
            };
            ops[4] = Counts {
                attempts: 12,
                ok: 12,
                ..Counts::default()
            };
            BucketPoint {
                t_s: t,
                dt_s: 10.0,
                online: ever - ever / 50,
                ever_online: ever,
                ops,
            }
        })
        .collect();
    let spectrum = |op: &str, count: u64, base: f64| Spectrum {
        op: op.into(),
        count,
        points: (0..=60)
            .map(|k| {
                let nines = f64::from(k) / 20.0;
                SpectrumPoint {
                    nines,
                    ms: (base * 10f64.powf(nines / 2.0) * 1e3).round() / 1e3,
                }
            })
            .collect(),
    };
    let operations = Operations(
        OPS.iter()
            .map(|name| {
                let s = match *name {
                    "dps.register" => op(1_100, 240, 855, 50.3),
                    "dps.poll" => op(560, 240, 320, 49.9),
                    "hub.connect" => op(1_000, 1_000, 0, 20.1),
                    "hub.telemetry" => op(720, 720, 0, 10.2),
                    "device.boot_to_online" => op(1_000, 1_000, 0, 24_800.0),
                    _ => op(0, 0, 0, 0.0),
                };
                (name.to_string(), s)
            })
            .collect(),
    );
    ReportModel {
        summary: SummaryView {
            format: 1,
            scenario: ScenarioInfo {
                name: "storm".into(),
                hash: "0123456789abcdef".into(),
                description: "1,000 devices reconnect <after> a feeder trip & re-provision".into(),
            },
            engine: "virtual".into(),
            seed: 7,
            devices: 1_000,
            complete: true,
            end_s: 600.0,
            stop_reason: Some("all_settled".into()),
            operations,
            online: OnlineSummary {
                t50_s: Some(84.5),
                t90_s: Some(290.25),
                t99_s: Some(560.0),
                t100_s: Some(598.0),
            },
            model: ModelView {
                bottleneck: Some("dps.operations".into()),
                lower_bound_s: Bounds {
                    t50: Some(80.0),
                    t90: Some(250.0),
                    t99: Some(500.0),
                    t100: Some(520.0),
                },
                capacity: Some(CapacityView {
                    dps_registrations_per_s: Some(1.0),
                    dps_operations_per_s: Some(1.5),
                    dps_operation_status_per_s: Some(1.5),
                    hub_connects_per_s: Some(100.0),
                    hub_d2c_per_s: Some(100.0),
                }),
                demand: Some(DemandView {
                    devices: 1_000,
                    hub_only: 760,
                    dps_lookup: 0,
                    dps_register: 240,
                    dead: 0,
                }),
                daily_quota: Some(DailyQuotaView {
                    messages_per_day: 400_000,
                    fleet_messages_per_day: 96_000,
                    hours_until_spent: None,
                }),
                verdict: Some("DPS operations are the wall: 90/min per instance × 1".into()),
                best_curve: None,
                waste: vec![
                    "240 of 240 registrations (100 %) were by devices already registered".into(),
                ],
            },
            slo: vec![
                SloView {
                    metric: "online.t99_s".into(),
                    condition: "< 10m".into(),
                    measured: Some(560.0),
                    pass: true,
                },
                SloView {
                    metric: "operations.dps.register.throttle_rate".into(),
                    condition: "< 5%".into(),
                    measured: Some(0.777273),
                    pass: false,
                },
            ],
            live: None,
        },
        run: Some(RunFacts {
            wall_s: Some(0.25),
            events: Some(123_456),
            events_per_s: Some(493_824.0),
            peak_rss_bytes: Some(20_025_344),
            host: Some("test-host".into()),
            version: Some("0.1.0".into()),
            command_line: vec!["fleetsim".into(), "run".into(), "storm.toml".into()],
            started_utc: Some("2026-11-22T17:15:00Z".into()),
        }),
        timeline: Some(TimelineView {
            bucket_s: 10.0,
            ops: OPS.iter().map(|s| s.to_string()).collect(),
            points,
        }),
        latency: OPS
            .iter()
            .map(|o| LatencyRow {
                op: o.to_string(),
                count: 100,
                mean_ms: (*o != "dps.status_lookup").then_some(61.25),
            })
            .collect(),
        spectra: vec![
            spectrum("dps.register", 240, 30.0),
            spectrum("hub.connect", 1_000, 12.0),
            spectrum("device.boot_to_online", 1_000, 900.0),
        ],
        plan: Some(fixed_plan()),
        missing: Vec::new(),
    }
}

fn fixed_plan() -> PlanView {
    PlanView {
        goal: Some("online.t99 < 30m".into()),
        goal_t99_s: Some(1_800.0),
        cost_unit: "USD/month".into(),
        points: vec![
            PlanPoint {
                label: "dps.instances=1, hub.units=1".into(),
                cost: 25.0,
                t99_s: Some(16_000.0),
                t99_is_bound: false,
                meets_goals: Some(false),
                recommended: false,
            },
            PlanPoint {
                label: "dps.instances=4, hub.units=1".into(),
                cost: 100.0,
                t99_s: Some(4_100.0),
                t99_is_bound: true,
                meets_goals: Some(false),
                recommended: false,
            },
            PlanPoint {
                label: "dps.instances=8, hub.units=2".into(),
                cost: 450.0,
                t99_s: Some(1_700.0),
                t99_is_bound: false,
                meets_goals: Some(true),
                recommended: true,
            },
            PlanPoint {
                label: "dps.instances=0".into(),
                cost: 0.0,
                t99_s: None,
                t99_is_bound: false,
                meets_goals: None,
                recommended: false,
            },
        ],
        unpriced: 1,
    }
}

/// Compares `actual` with `tests/snapshots/NAME`, or rewrites the snapshot when
/// `UPDATE_SNAPSHOTS=1`.
fn check_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_SNAPSHOTS=1 cargo test --test report",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its snapshot at line {}:\n  snapshot: {:?}\n  rendered: {:?}\n\
             If the change is intended: UPDATE_SNAPSHOTS=1 cargo test --test report, and review the diff.",
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>")
        );
    }
}

// ---- snapshots ----

#[test]
fn html_of_the_fixed_model_matches_its_snapshot() {
    let html = render_html(&fixed_model());
    check_snapshot("report.html", &html);
    // What the snapshot must show, checked here too so a careless snapshot update is caught.
    for id in [
        "chart-online",
        "chart-online-tail",
        "chart-rate-dps-register",
        "chart-rate-dps-poll",
        "chart-rate-hub-connect",
        "chart-rate-hub-telemetry",
        "chart-throttle",
        "chart-latency",
        "chart-plan",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no {id}");
    }
    assert_eq!(html.matches("<svg ").count(), 9);
    assert!(
        html.contains("1,000 devices reconnect &lt;after&gt; a feeder trip &amp; re-provision")
    );
    assert!(!html.contains("id=\"incomplete\""));
    assert!(html.contains(">FAIL<"));
}

#[test]
fn markdown_of_the_fixed_model_matches_its_snapshot() {
    let md = render_markdown(&fixed_model());
    check_snapshot("report.md", &md);
    assert!(
        md.contains("| 99 % | 990 | 0:09:20 | 0:08:20 | 1.12 |"),
        "{md}"
    );
    assert!(md.contains("SLOs: 1 of 2 met; missed: operations.dps.register.throttle\\_rate"));
}

#[test]
fn plan_chart_matches_its_snapshot() {
    let chart = plan_chart(&fixed_plan());
    let svg = chart.svg.expect("the plan chart draws");
    check_snapshot("plan.svg", &svg);
    assert!(svg.starts_with("<svg width=\"940\" height=\"340\""));
    assert!(
        svg.contains("dps.instances=8, hub.units=2"),
        "the pick is labelled"
    );
}

#[test]
fn an_incomplete_run_and_missing_files_are_said_plainly() {
    let mut m = fixed_model();
    m.summary.complete = false;
    m.summary.stop_reason = Some("interrupted".into());
    m.summary.end_s = 312.4;
    m.summary.online.t99_s = None;
    m.summary.online.t100_s = None;
    m.timeline = None;
    m.spectra.clear();
    m.plan = None;
    m.missing = vec!["timeline.csv".into(), "histograms.hlog".into()];
    let md = render_markdown(&m);
    check_snapshot("report-incomplete.md", &md);
    let html = render_html(&m);
    assert!(html.contains(
        "<p class=\"banner\" id=\"incomplete\">Incomplete run: it was interrupted at 0:05:12"
    ));
    assert!(html.contains("99 % of the fleet was never online"));
    assert!(html.contains("timeline.csv (no charts over time)"));
    assert_eq!(html.matches("<svg ").count(), 0);
}

/// A live run's page speaks of wall time, not simulated time, and shows the live figures and
/// warnings; a live object of an unknown shape is left out, not a failed report.
#[test]
fn a_live_run_is_told_in_wall_time_with_its_own_figures() {
    let mut m = fixed_model();
    m.summary.engine = "live".into();
    let live: fleetsim::summary::LiveSummary = serde_json::from_str(
        r#"{"endpoint": "dps 127.0.0.1:8883", "generator_lag_ms": {"p50": 1.2, "p99": 140.0,
            "max": 900.0, "late_actions": 12, "actions": 3000},
            "wire_connect_ms": {"p50": 1.81, "p99": 6.39, "max": 30.0},
            "connections": {"opened": 1000, "failed": 2, "dropped": 3, "peak_open": 998},
            "warnings": ["generator lag p99 140 ms: the generator fell behind"]}"#,
    )
    .unwrap();
    m.summary.live = Some(live);
    let md = render_markdown(&m);
    let html = render_html(&m);
    for page in [&md, &html] {
        assert!(page.contains("Live run"), "{page}");
        assert!(page.contains("of wall time"), "{page}");
        assert!(!page.contains("simulated time"), "{page}");
        assert!(page.contains("p50 1.8 ms, p99 6.4 ms, max 30 ms"), "{page}");
        assert!(page.contains("12 of 3,000 scheduled actions over 100 ms late"));
        assert!(page.contains("1,000 opened, 2 failed, 3 dropped"));
        assert!(page.contains("not checked (no receiver sees the messages)"));
        assert!(page.contains("the generator fell behind"));
    }
    assert!(html.contains("wall time (min)") || html.contains("wall time (s)"));
    // The same summary with a `live` of another shape: rendered without the table.
    let mut json = serde_json::to_value(&m).unwrap();
    json["summary"]["live"] = serde_json::json!({"endpoint": 7});
    let back: ReportModel = serde_json::from_value(json).unwrap();
    assert!(back.summary.live.is_none());
    assert!(!render_markdown(&back).contains("## Live run"));
}

#[test]
fn the_model_round_trips_through_json() {
    let m = fixed_model();
    let json = serde_json::to_string(&m).unwrap();
    let back: ReportModel = serde_json::from_str(&json).unwrap();
    // (Floats may move by an ulp through serde_json's fast parser; what is shown may not.)
    assert_eq!(render_html(&back), render_html(&m));
    assert_eq!(render_markdown(&back), render_markdown(&m));
}

// ---- fleetsim report, through the binary ----

fn smoke_run() -> (TempDir, PathBuf) {
    let cwd = TempDir::new().unwrap();
    let out = cwd.path().join("out");
    let o = fleetsim(
        cwd.path(),
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_exit(&o, 0);
    (cwd, out)
}

#[test]
fn report_rebuilds_a_runs_report_byte_for_byte() {
    let (cwd, out) = smoke_run();
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    fs::remove_file(out.join("report.html")).unwrap();
    fs::write(out.join("report.md"), "stale").unwrap();

    let o = fleetsim(cwd.path(), &["report", "out"]);
    assert_exit(&o, 0);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("out/report.html") && said.contains("out/report.md"),
        "{said}"
    );
    assert_eq!(fs::read_to_string(out.join("report.html")).unwrap(), html);
    assert_eq!(fs::read_to_string(out.join("report.md")).unwrap(), md);
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "histograms.hlog",
            "latency.csv",
            "report.html",
            "report.md",
            "run.json",
            "summary.json",
            "timeline.csv"
        ],
        "no temporary file left behind"
    );

    // What a smoke run's report shows.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("The smoke scenario ran 2,000 devices on the virtual engine (seed 1)."));
    assert!(md.starts_with("# fleetsim report: smoke\n"));
    assert!(md.contains("| dps.register | 1,321 | 1,270 | 51 |"), "{md}");
}

#[test]
fn an_incomplete_run_renders_with_a_banner() {
    let (cwd, out) = smoke_run();
    let path = out.join("summary.json");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("\"complete\": true", "\"complete\": false")
        .replace("\"all_settled\"", "\"interrupted\"");
    fs::write(&path, text).unwrap();
    assert_exit(&fleetsim(cwd.path(), &["report", "out"]), 0);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("class=\"banner\" id=\"incomplete\">Incomplete run"),
        "no banner"
    );
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("> **Warning:** Incomplete run"), "{md}");
}

#[test]
fn report_refuses_what_is_not_a_results_directory() {
    let cwd = TempDir::new().unwrap();
    fs::create_dir(cwd.path().join("photos")).unwrap();
    fs::write(cwd.path().join("photos/cat.jpg"), "meow").unwrap();
    fs::create_dir(cwd.path().join("future")).unwrap();
    fs::write(
        cwd.path().join("future/summary.json"),
        "{\"format\": 3, \"devices\": 1}",
    )
    .unwrap();
    fs::write(cwd.path().join("file.txt"), "x").unwrap();
    for (dir, says) in [
        (
            "photos",
            "photos is not a fleetsim results directory: it has no summary.json (it holds cat.jpg)",
        ),
        (
            "future",
            "summary.json is results format 3, newer than this fleetsim",
        ),
        ("missing", "missing: no such directory"),
        ("file.txt", "file.txt is not a directory"),
    ] {
        let err = assert_exit(&fleetsim(cwd.path(), &["report", dir]), 2);
        assert!(
            err.starts_with("fleetsim: ") && err.contains(says),
            "{dir}: {err}"
        );
    }
    assert!(!cwd.path().join("photos/report.html").exists());
    assert!(!cwd.path().join("future/report.html").exists());
    let usage = fleetsim(cwd.path(), &["report"]);
    assert_exit(&usage, 2);
}

/// The opening paragraph says when re-registration multiplied DPS's load and when answers came
/// after their devices had stopped waiting, with the figures; and says nothing of either when
/// there were none.
#[test]
fn the_story_names_repeated_registrations_and_late_answers() {
    let mut m = fixed_model();
    let plain = render_markdown(&m);
    assert!(!plain.contains("Re-registration"), "{plain}");
    assert!(!plain.contains("stopped waiting"), "{plain}");
    for (op, s) in m.summary.operations.0.iter_mut() {
        match op.as_str() {
            "dps.register" => {
                s.repeats = Some(12_000);
                s.late = Some(3_400);
            }
            "hub.connect" => s.late = Some(0),
            _ => {}
        }
    }
    let online = m
        .summary
        .operations
        .0
        .iter()
        .find(|(op, _)| op == "device.boot_to_online")
        .map(|(_, s)| s.ok)
        .unwrap();
    let per_device = format!(
        "{:.1} per device that came online",
        12_000.0 / online as f64
    );
    for page in [render_markdown(&m), render_html(&m)] {
        assert!(
            page.contains("devices started 12,000 registrations (") && page.contains(&per_device),
            "{page}"
        );
        assert!(
            page.contains("after their devices had stopped waiting: DPS registrations 3,400."),
            "{page}"
        );
    }
}
