//! The overload behaviour of the service models (docs/service-models.md): DPS's separate poll
//! limit and its queues, the hub's two shaping refusals.

use super::*;
use crate::scenario::{Scenario, load_str};
use crate::time::SimTime;

/// A scenario with the given `[dps]`/`[hub]` lines; constant latencies so answers are exact.
fn scenario(extra: &str) -> Scenario {
    let text = format!(
        "[scenario]\nname = \"t\"\n[fleet]\ndevices = 1000\n[[fleet.class]]\nname = \"a\"\nshare = 1.0\n\
         {extra}"
    );
    load_str(&text, "t.toml", &[]).unwrap_or_else(|e| panic!("{}\n{text}", e.render()))
}

fn dps(sc: &Scenario) -> DpsModel {
    DpsModel::new(&sc.dps, sc.fleet.devices, 1, 1_000_000, 7)
}

fn at_ms(ms: u64) -> SimTime {
    SimTime(ms * 1000)
}

fn throttled(r: &Response) -> bool {
    matches!(r.answer, Answer::Throttled { .. })
}

#[test]
fn polls_have_a_limit_of_their_own() {
    // No burst; polls are limited to 60/min while registrations may run at 6,000/min.
    let sc = scenario(
        "[dps]\nlatency = \"10ms\"\nassignment_time = \"0s\"\n[dps.limits]\nburst = \"1ms\"\n\
         registrations_per_min = 6000\noperations_per_min = 6000\noperation_status_per_min = 60\n",
    );
    let mut m = dps(&sc);
    // Ten devices register 100 ms apart: all accepted (100/s allowed).
    for d in 0..10 {
        let r = m.handle(d, Request::Register, at_ms(d as u64 * 10));
        assert!(matches!(r.answer, Answer::Accepted { .. }), "{r:?}");
    }
    // Their polls at 1 s: one per second passes, the rest are throttled by the poll limit.
    let polls: Vec<Response> = (0..10)
        .map(|d| m.handle(d, Request::Poll, at_ms(1_000 + d as u64)))
        .collect();
    assert!(
        matches!(polls[0].answer, Answer::Assigned { .. }),
        "{:?}",
        polls[0]
    );
    assert!(polls[1..].iter().all(throttled), "{polls:?}");
    // Registrations are untouched by the spent poll limit.
    let r = m.handle(10, Request::Register, at_ms(1_020));
    assert!(matches!(r.answer, Answer::Accepted { .. }), "{r:?}");
}

#[test]
fn an_overloaded_stage_answers_later_and_later() {
    // One worker, 100 ms per request, generous limits: the queue alone slows answers.
    let sc = scenario(
        "[dps]\nlatency = \"100ms\"\n[dps.limits]\nregistrations_per_min = 1e6\n\
         operations_per_min = 1e6\n[dps.queue]\nworkers = 1\n",
    );
    let mut m = dps(&sc);
    let after: Vec<u64> = (0..5)
        .map(|d| {
            m.handle(d, Request::Register, SimTime::ZERO)
                .after
                .as_micros()
                / 1000
        })
        .collect();
    assert_eq!(after, vec![100, 200, 300, 400, 500]);
    // Another stage (polls) has its own workers.
    assert_eq!(
        m.handle(0, Request::Poll, SimTime::ZERO).after.as_micros(),
        100_000
    );
    // With 32 workers (the default) the same five do not wait.
    let sc = scenario(
        "[dps]\nlatency = \"100ms\"\n[dps.limits]\nregistrations_per_min = 1e6\n\
         operations_per_min = 1e6\n",
    );
    let mut m = dps(&sc);
    for d in 0..5 {
        assert_eq!(
            m.handle(d, Request::Register, SimTime::ZERO)
                .after
                .as_micros(),
            100_000
        );
    }
}

#[test]
fn refusals_cost_a_worker_only_their_share() {
    // One worker; registrations spent after the first. A refusal holds the worker for 10 % of
    // the 100 ms service time, so the requests behind it wait 10 ms each, not 100 ms.
    let sc = scenario(
        "[dps]\nlatency = \"100ms\"\n[dps.limits]\nregistrations_per_min = 1\nburst = \"1ms\"\n\
         [dps.queue]\nworkers = 1\nreject_cost = 0.1\n",
    );
    let mut m = dps(&sc);
    let first = m.handle(0, Request::Register, SimTime::ZERO);
    assert!(matches!(first.answer, Answer::Accepted { .. }));
    let waits: Vec<u64> = (1..4)
        .map(|d| {
            let r = m.handle(d, Request::Register, SimTime::ZERO);
            assert!(throttled(&r), "{r:?}");
            // The answer comes one full service time after the request starts.
            (r.after.as_micros() - 100_000) / 1000
        })
        .collect();
    assert_eq!(waits, vec![100, 110, 120]);
}

fn hub(extra: &str) -> HubModel {
    let sc = scenario(&format!(
        "[hub]\nconnect_latency = \"0s\"\n[hub.limits]\nconnects_per_s = 10\nburst = \"1ms\"\n{extra}"
    ));
    HubModel::new(&sc.hub, 7)
}

#[test]
fn the_hub_refuses_a_full_backlog_at_once_and_ends_long_waits_itself() {
    // 10/s, a 2 s backlog, waits over 1 s ended by the hub: 429003 after 1 s, then 429002.
    let mut h = hub("backlog = \"2s\"\nbacklog_timeout = \"1s\"\n");
    let answers: Vec<Response> = (0..40)
        .map(|_| h.handle(Request::Connect { hub: 0 }, SimTime::ZERO))
        .collect();
    let served: Vec<u64> = answers
        .iter()
        .filter(|r| r.answer == Answer::Connected)
        .map(|r| r.after.as_micros())
        .collect();
    // The burst, then one every 100 ms up to the 1 s the hub lets a request wait.
    assert_eq!(served.len(), 11, "{answers:?}");
    assert_eq!(served.last(), Some(&1_000_000));
    let refused: Vec<u64> = answers
        .iter()
        .filter(|r| throttled(r))
        .map(|r| r.after.as_micros())
        .collect();
    assert_eq!(refused.len(), 29);
    // Waits the hub ended itself take no capacity, so the queue never grows past 1 s of
    // work and the backlog never fills: every refusal is a 429003 after the timeout.
    assert!(refused.iter().all(|&us| us == 1_000_000), "{refused:?}");
    assert_eq!((h.backlog_timeouts, h.backlog_full), (29, 0));

    // Without a shorter timeout the backlog is the limit: served up to 2 s, then 429002 at
    // once.
    let mut h = hub("backlog = \"2s\"\n");
    let answers: Vec<Response> = (0..40)
        .map(|_| h.handle(Request::Connect { hub: 0 }, SimTime::ZERO))
        .collect();
    let served = answers
        .iter()
        .filter(|r| r.answer == Answer::Connected)
        .count();
    assert_eq!(served, 21);
    assert!(
        answers
            .iter()
            .filter(|r| throttled(r))
            .all(|r| r.after == SimDuration::ZERO)
    );
    assert_eq!((h.backlog_timeouts, h.backlog_full), (0, 19));
}

#[test]
fn a_backlog_timeout_longer_than_the_backlog_is_refused() {
    let text = "[scenario]\nname = \"t\"\n[fleet]\ndevices = 10\n[[fleet.class]]\nname = \"a\"\n\
                share = 1.0\n[hub.limits]\nbacklog = \"10s\"\nbacklog_timeout = \"20s\"\n";
    let e = load_str(text, "t.toml", &[]).unwrap_err();
    assert_eq!(e.key, "hub.limits.backlog_timeout");
    assert!(
        e.message.contains("longer than hub.limits.backlog"),
        "{}",
        e.message
    );
}
