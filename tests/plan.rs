//! `fleetsim plan` through the library: pruning by the model, a recommendation that a
//! confirming run agrees with, and bad sweeps and goals refused.

use fleetsim::engine::virtual_time::VirtualEngine;
use fleetsim::input::load_file;
use fleetsim::plan::{Goal, PlanError, PlanRequest, Prices, Status, Sweep, plan};
use std::path::Path;
use std::sync::atomic::AtomicBool;

const SMOKE: &str = "scenarios/smoke.toml";

fn request<'a>(goals: &[&str], sweeps: &[&str], sets: &[&str]) -> PlanRequest<'a> {
    PlanRequest {
        scenario: Path::new(SMOKE),
        sets: sets.iter().map(|s| s.to_string()).collect(),
        goals: goals.iter().map(|g| Goal::parse(g).unwrap()).collect(),
        sweeps: sweeps.iter().map(|s| Sweep::parse(s).unwrap()).collect(),
        max_runs: None,
        prices: Prices::default(),
        lint_costs: false,
        workers: 2,
    }
}

/// A smoke fleet where DPS is the wall: every device registers, at a low limit.
const DPS_BOUND: [&str; 4] = [
    "fleet.devices=600",
    "fleet.cached_assignment_share=0",
    "dps.limits.registrations_per_min=120",
    "dps.limits.operations_per_min=240",
];

#[test]
fn the_recommendation_is_the_cheapest_passing_one_and_a_confirming_run_agrees() {
    let req = request(
        &["online.t99 < 3m"],
        &["dps.instances=1..4", "hub.units=1,2"],
        &DPS_BOUND,
    );
    let p = plan(&req, &AtomicBool::new(false), |_| {}).unwrap();
    assert_eq!(p.configurations.len(), 8);
    let r = p.recommended.expect("some configuration meets the goal");
    let rec = &p.configurations[r];
    assert_eq!(rec.status, Status::Passed);
    // Cheapest: one hub unit; among those (instances cost nothing a month) the fewest instances.
    assert!(
        rec.settings.contains(&("hub.units".into(), "1".into())),
        "{:?}",
        rec.settings
    );
    for c in &p.configurations {
        let cheaper = c.cost_per_month < rec.cost_per_month
            || (c.cost_per_month == rec.cost_per_month && c.settings < rec.settings);
        if cheaper {
            assert!(
                matches!(c.status, Status::Pruned | Status::Failed | Status::Invalid),
                "{:?} {:?}",
                c.settings,
                c.status
            );
        }
    }
    // Pruning is sound: a pruned configuration's bound misses the goal, so would any run.
    assert!(
        p.configurations.iter().any(|c| c.status == Status::Pruned),
        "one instance cannot make it"
    );
    // A confirming run with the recommended settings meets the goal with the same figures.
    let mut sets: Vec<String> = DPS_BOUND.iter().map(|s| s.to_string()).collect();
    sets.extend(rec.settings.iter().map(|(k, v)| format!("{k}={v}")));
    let sc = load_file(Path::new(SMOKE), &sets).unwrap();
    let run = VirtualEngine::new(&sc).run(|_| {}, &AtomicBool::new(false));
    let t99 = run
        .recorder
        .online_times()
        .t99
        .expect("online")
        .as_secs_f64();
    assert!(t99 < 180.0, "{t99}");
    let planned = rec.measured_s.as_ref().and_then(|m| m.t99).unwrap();
    assert!(
        (planned - t99).abs() < 1e-5,
        "plan says {planned}, the run {t99}"
    );
}

#[test]
fn pruned_configurations_are_never_run_and_really_miss() {
    let req = request(&["online.t99 < 3m"], &["dps.instances=1"], &DPS_BOUND);
    let p = plan(&req, &AtomicBool::new(false), |_| {}).unwrap();
    let c = &p.configurations[0];
    assert_eq!(c.status, Status::Pruned, "{:?} {:?}", c.status, c.reason);
    assert!(c.measured_s.is_none());
    assert_eq!(p.runs, 0);
    assert!(p.recommended.is_none());
    assert!(
        p.closest
            .as_deref()
            .unwrap_or("")
            .contains("online.t99 < 3m"),
        "{:?}",
        p.closest
    );
    // And really: a run of it misses.
    let mut sets: Vec<String> = DPS_BOUND.iter().map(|s| s.to_string()).collect();
    sets.push("dps.instances=1".into());
    let sc = load_file(Path::new(SMOKE), &sets).unwrap();
    let run = VirtualEngine::new(&sc).run(|_| {}, &AtomicBool::new(false));
    assert!(
        run.recorder
            .online_times()
            .t99
            .expect("online")
            .as_secs_f64()
            >= 180.0
    );
}

#[test]
fn only_upper_limits_on_times_prune() {
    // "> 1s" can only be confirmed by a run: a bound says nothing against it.
    let req = request(&["online.t99 > 1s"], &["dps.instances=1"], &DPS_BOUND);
    let p = plan(&req, &AtomicBool::new(false), |_| {}).unwrap();
    assert_eq!(p.configurations[0].status, Status::Passed);
    assert_eq!(p.runs, 1);
}

#[test]
fn bad_goals_and_sweeps_are_refused() {
    assert!(matches!(
        Goal::parse("online.t98 < 30m"),
        Err(PlanError::Usage(_))
    ));
    assert!(matches!(
        Goal::parse("online.t99 soon"),
        Err(PlanError::Usage(_))
    ));
    assert!(Sweep::parse("hub.units=9..1").is_err());
    // An unknown key fails as a scenario error, naming it.
    let req = request(&["online.t99 < 30m"], &["hub.unitz=1..2"], &[]);
    let e = plan(&req, &AtomicBool::new(false), |_| {}).unwrap_err();
    assert!(e.to_string().contains("hub.unitz"), "{e}");
    // Thousands of points need --max-runs.
    let req = request(
        &["online.t99 < 30m"],
        &["hub.units=1..100", "dps.instances=1..10"],
        &[],
    );
    let e = plan(&req, &AtomicBool::new(false), |_| {}).unwrap_err();
    assert!(e.to_string().contains("--max-runs"), "{e}");
}

#[test]
fn invalid_points_are_reported_not_fatal() {
    // S3 allows at most 10 units: units=11 is invalid, units=1 is not.
    let req = request(
        &["online.t99 < 1h"],
        &["hub.units=1,11"],
        &["hub.tier=S3", "fleet.devices=200"],
    );
    let p = plan(&req, &AtomicBool::new(false), |_| {}).unwrap();
    let bad = p
        .configurations
        .iter()
        .find(|c| c.settings[0].1 == "11")
        .unwrap();
    assert_eq!(bad.status, Status::Invalid);
    assert!(
        bad.reason.as_deref().unwrap_or("").contains("10 units"),
        "{:?}",
        bad.reason
    );
    assert!(p.recommended.is_some());
}

#[test]
fn every_summary_puts_measured_beside_the_model_and_names_the_waste() {
    let sets: Vec<String> = DPS_BOUND.iter().map(|s| s.to_string()).collect();
    let sc = load_file(Path::new(SMOKE), &sets).unwrap();
    let model = fleetsim::quota::model::analyse(&sc);
    let run = VirtualEngine::new(&sc).run(|_| {}, &AtomicBool::new(false));
    let m = fleetsim::results::model_beside_measured(&sc, &model, &run.recorder);
    // Measured over bound, never below 1 (no run beats its bound).
    let t99 = m["measured_over_bound"]["t99"].as_f64().unwrap();
    assert!(t99 >= 1.0, "{t99}");
    let bound = model.lower_bound_s.t99.unwrap();
    let measured = run.recorder.online_times().t99.unwrap().as_secs_f64();
    assert!((t99 - measured / bound).abs() < 1e-3);
    // The registration limit binds; backed-off devices leave part of it idle, and most
    // registrations were by devices that were registered already.
    assert_eq!(model.bottleneck, "dps.registrations");
    let waste = m["waste"].as_array().unwrap();
    let idle = waste
        .iter()
        .find(|w| w["stage"] == "dps.registrations")
        .expect("idle quota named");
    let share = idle["share"].as_f64().unwrap();
    assert!((0.05..0.9).contains(&share), "{share}");
    let avoidable = waste
        .iter()
        .find(|w| w["stage"] == "dps.avoidable_registrations")
        .unwrap();
    assert_eq!(
        avoidable["share"].as_f64().unwrap(),
        (model.demand.dps_register_avoidable as f64 / model.demand.dps_register as f64 * 1000.0)
            .round()
            / 1000.0
    );
    // The stage where demand first outruns the limit is DPS registration, and it happens.
    let reg = model
        .stages
        .iter()
        .find(|s| s.stage == "dps.registrations")
        .unwrap();
    assert!(reg.throttle_onset_s.is_some() && reg.peak_backlog > 0.0);
    let hub = model
        .stages
        .iter()
        .find(|s| s.stage == "hub.connects")
        .unwrap();
    assert!(hub.throttle_onset_s.is_none());
}

/// A confirming run stops once a time-to-online goal is lost (issue: plan runs stop early once
/// a goal is decided): a blackout whose daily quota is spent would run for hours; it stops just
/// past the goal's 20 minutes, fails, and says where it stopped. The same run with room in the
/// quota passes and runs to the end.
#[test]
fn a_run_stops_once_its_goal_is_lost() {
    let mut req = request(
        &["online.t99 < 20m"],
        &["hub.limits.messages_per_day=40k,10M"],
        &["fleet.devices=100k"],
    );
    req.scenario = Path::new("scenarios/blackout.toml");
    let p = plan(&req, &AtomicBool::new(false), |_| {}).unwrap();
    let by = |v: &str| {
        p.configurations
            .iter()
            .find(|c| c.settings[0].1 == v)
            .unwrap()
    };
    let lost = by("40k");
    assert_eq!(lost.status, Status::Failed);
    let at = lost.stopped_at_s.expect("stopped early");
    assert!((1200.0..1800.0).contains(&at), "stopped at {at} s");
    assert!(lost.measured_s.as_ref().unwrap().t99.is_none());
    assert!(
        lost.reason
            .as_deref()
            .unwrap()
            .contains("the run stopped at"),
        "{:?}",
        lost.reason
    );
    let ok = by("10M");
    assert_eq!(ok.status, Status::Passed);
    assert!(ok.stopped_at_s.is_none());
    assert!(ok.summary.as_ref().unwrap().complete);
    assert_eq!(
        p.recommended.map(|r| &p.configurations[r].settings[0].1),
        Some(&"10M".into())
    );

    // With only the lost one, "closest" says what it had online when it stopped.
    req.sweeps = vec![Sweep::parse("hub.limits.messages_per_day=40k").unwrap()];
    let p = plan(&req, &AtomicBool::new(false), |_| {}).unwrap();
    let closest = p.closest.unwrap();
    assert!(
        closest.contains("hub.limits.messages_per_day=40k: ")
            && closest.contains("% online when its run stopped at"),
        "{closest}"
    );
}
