//! The device state machine driven by hand: each test plays the services' part and checks what
//! the device does next.

use super::*;
use crate::rng::{Stream, device_rng};
use crate::scenario::{Dist, PollFailure, Provisioning, TelemetryMode};
use crate::service::Refusal;
use retry::{Jitter, RetryPolicy, Timeouts};

#[derive(Debug, PartialEq)]
enum Act {
    Send(Request, SimTime, SimTime),
    Wake(SimTime),
    Done(Op, Outcome),
    Online(bool),
    Offline,
    Repeat,
    Settled(bool),
}

#[derive(Default)]
struct Script(Vec<Act>);

impl Io for Script {
    fn send(&mut self, _: u32, req: Request, now: SimTime, deadline: SimTime) {
        self.0.push(Act::Send(req, now, deadline));
    }
    fn wake_at(&mut self, _: u32, at: SimTime) {
        self.0.push(Act::Wake(at));
    }
    fn attempt(&mut self, _: Op, _: SimTime) {}
    fn complete(&mut self, op: Op, outcome: Outcome, _: SimTime, _: SimDuration) {
        self.0.push(Act::Done(op, outcome));
    }
    fn online(&mut self, _: SimTime, first: bool) {
        self.0.push(Act::Online(first));
    }
    fn offline(&mut self, _: SimTime) {
        self.0.push(Act::Offline);
    }
    fn repeat(&mut self, _: Op, _: SimTime) {
        self.0.push(Act::Repeat);
    }
    fn settled(&mut self, _: u32, _: SimTime, online: bool) {
        self.0.push(Act::Settled(online));
    }
}

fn class() -> DeviceClass {
    DeviceClass {
        name: "test".into(),
        share: 1.0,
        boot_delay: Dist::ZERO,
        provisioning: Provisioning::Cached,
        status_lookup: false,
        on_poll_failure: PollFailure::KeepPolling,
        hub_failures_before_dps: 3,
        telemetry: TelemetryMode::First,
        telemetry_interval: SimDuration::from_secs(900),
        telemetry_size: 300,
        retry: RetryPolicy {
            jitter: Jitter::Absolute(SimDuration::ZERO),
            ..RetryPolicy::default()
        },
        timeouts: Timeouts::default(),
        dead_share: 0.0,
    }
}

fn t(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

fn device(cached: Option<HubId>) -> Device {
    Device::new(0, 0, cached, device_rng(1, 0, Stream::Behaviour))
}

#[test]
fn a_cached_device_goes_straight_to_its_hub_and_settles_after_first_telemetry() {
    let c = class();
    let mut d = device(Some(1));
    let mut io = Script::default();
    d.boot(&c, t(10), false, &mut io);
    assert_eq!(io.0, [Act::Send(Request::Connect { hub: 1 }, t(10), t(40))]);
    io.0.clear();
    d.answer(&c, t(11), Some(Answer::Connected), &mut io);
    assert_eq!(io.0[0], Act::Done(Op::HubConnect, Outcome::Ok));
    assert_eq!(io.0[1], Act::Online(true));
    assert_eq!(io.0[2], Act::Done(Op::BootToOnline, Outcome::Ok));
    assert_eq!(
        io.0[3],
        Act::Send(Request::Telemetry { hub: 1, size: 300 }, t(11), t(71))
    );
    io.0.clear();
    d.answer(&c, t(12), Some(Answer::Acked), &mut io);
    assert_eq!(
        io.0,
        [Act::Done(Op::HubTelemetry, Outcome::Ok), Act::Settled(true)]
    );
    assert_eq!(d.state(), State::Idle);
}

#[test]
fn a_new_device_registers_polls_after_retry_after_and_connects_to_its_assignment() {
    let c = class();
    let mut d = device(None);
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    assert_eq!(io.0, [Act::Send(Request::Register, t(0), t(30))]);
    io.0.clear();
    d.answer(
        &c,
        t(1),
        Some(Answer::Accepted { retry_after_s: 3 }),
        &mut io,
    );
    assert_eq!(io.0.last(), Some(&Act::Wake(t(4))));
    d.timer(&c, t(4), &mut io);
    assert_eq!(io.0.last(), Some(&Act::Send(Request::Poll, t(4), t(34))));
    d.answer(
        &c,
        t(5),
        Some(Answer::Assigning { retry_after_s: 2 }),
        &mut io,
    );
    assert_eq!(io.0.last(), Some(&Act::Wake(t(7))));
    d.timer(&c, t(7), &mut io);
    d.answer(&c, t(8), Some(Answer::Assigned { hub: 4 }), &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(Request::Connect { hub: 4 }, t(8), t(38)))
    );
}

#[test]
fn a_throttled_register_backs_off_but_not_below_retry_after() {
    let c = class();
    let mut d = device(None);
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    // Backoff after the first failure is 1 s; the service asked for 9.
    d.answer(
        &c,
        t(1),
        Some(Answer::Throttled { retry_after_s: 9 }),
        &mut io,
    );
    assert_eq!(io.0.last(), Some(&Act::Wake(t(10))));
    d.timer(&c, t(10), &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(Request::Register, t(10), t(40)))
    );
}

#[test]
fn status_lookup_first_skips_registration_when_registered() {
    let c = DeviceClass {
        status_lookup: true,
        provisioning: Provisioning::Always,
        ..class()
    };
    let mut d = device(Some(2));
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    assert_eq!(io.0, [Act::Send(Request::StatusLookup, t(0), t(30))]);
    d.answer(&c, t(1), Some(Answer::Registered { hub: 2 }), &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(Request::Connect { hub: 2 }, t(1), t(31)))
    );
    let mut d = device(None);
    d.boot(&c, t(0), false, &mut io);
    d.answer(&c, t(1), Some(Answer::NotRegistered), &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(Request::Register, t(1), t(31)))
    );
}

#[test]
fn failed_hub_connects_send_the_device_back_to_dps() {
    let c = class(); // hub_failures_before_dps = 3
    let mut d = device(Some(0));
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    let mut now = 0;
    for _ in 0..2 {
        now += 30;
        d.answer(&c, t(now), None, &mut io);
        let Some(Act::Wake(at)) = io.0.last() else {
            panic!("{:?}", io.0)
        };
        let at = *at;
        d.timer(&c, at, &mut io);
        assert!(matches!(
            io.0.last(),
            Some(Act::Send(Request::Connect { .. }, ..))
        ));
        now = at.as_secs_f64() as u64;
    }
    d.answer(
        &c,
        t(now + 30),
        Some(Answer::Throttled { retry_after_s: 0 }),
        &mut io,
    );
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(Request::Register, t(now + 30), t(now + 60)))
    );
}

#[test]
fn poll_failures_reregister_when_the_class_says_so() {
    for (policy, expect) in [
        (PollFailure::KeepPolling, Request::Poll),
        (PollFailure::Reregister, Request::Register),
    ] {
        let c = DeviceClass {
            on_poll_failure: policy,
            ..class()
        };
        let mut d = device(None);
        let mut io = Script::default();
        d.boot(&c, t(0), false, &mut io);
        d.answer(
            &c,
            t(1),
            Some(Answer::Accepted { retry_after_s: 3 }),
            &mut io,
        );
        d.timer(&c, t(4), &mut io);
        d.answer(&c, t(34), None, &mut io); // the poll timed out
        let Some(Act::Wake(at)) = io.0.last() else {
            panic!()
        };
        let at = *at;
        d.timer(&c, at, &mut io);
        assert_eq!(
            io.0.last(),
            Some(&Act::Send(expect, at, at + SimDuration::from_secs(30)))
        );
    }
}

#[test]
fn a_throttled_telemetry_drops_the_connection_and_reconnects() {
    let c = DeviceClass {
        telemetry: TelemetryMode::Continuous,
        ..class()
    };
    let mut d = device(Some(0));
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    d.answer(&c, t(1), Some(Answer::Connected), &mut io);
    d.answer(&c, t(2), Some(Answer::Acked), &mut io);
    // Next telemetry is due 900 s after the first was meant to go, not after the ack.
    assert_eq!(io.0.last(), Some(&Act::Wake(t(901))));
    d.timer(&c, t(901), &mut io);
    io.0.clear();
    d.answer(
        &c,
        t(902),
        Some(Answer::Refused(Refusal::QuotaExceeded)),
        &mut io,
    );
    assert_eq!(io.0[0], Act::Done(Op::HubTelemetry, Outcome::Error));
    assert_eq!(io.0[1], Act::Offline);
    assert!(!d.is_online());
    let Some(Act::Wake(at)) = io.0.last() else {
        panic!()
    };
    let at = *at;
    d.timer(&c, at, &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(
            Request::Connect { hub: 0 },
            at,
            at + SimDuration::from_secs(30)
        ))
    );
    d.answer(&c, at, Some(Answer::Connected), &mut io);
    assert!(
        io.0.contains(&Act::Online(false)),
        "a reconnect is not a first online"
    );
}

#[test]
fn a_dropped_idle_connection_takes_the_device_offline_and_back() {
    let c = class();
    let mut d = device(Some(0));
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    d.answer(&c, t(1), Some(Answer::Connected), &mut io);
    d.answer(&c, t(2), Some(Answer::Acked), &mut io);
    assert_eq!(d.state(), State::Idle);
    io.0.clear();
    d.connection_lost(&c, t(50), &mut io);
    assert_eq!(io.0[0], Act::Offline);
    assert!(!d.is_online());
    // The SDK back-off's first delay (1 s, no jitter in this class), then a reconnect.
    assert_eq!(io.0[1], Act::Wake(t(51)));
    d.timer(&c, t(51), &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(Request::Connect { hub: 0 }, t(51), t(81)))
    );
    // Losing a connection the device does not hold changes nothing.
    io.0.clear();
    d.connection_lost(&c, t(52), &mut io);
    assert!(io.0.is_empty());
    d.answer(&c, t(53), Some(Answer::Refused(Refusal::Network)), &mut io);
    assert_eq!(io.0[0], Act::Done(Op::HubConnect, Outcome::Error));
}

#[test]
fn retry_caps_make_a_device_give_up() {
    let c = DeviceClass {
        retry: RetryPolicy {
            max_attempts: 2,
            ..class().retry
        },
        ..class()
    };
    let mut d = device(None);
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    d.answer(
        &c,
        t(1),
        Some(Answer::Throttled { retry_after_s: 1 }),
        &mut io,
    );
    d.timer(&c, t(2), &mut io);
    d.answer(
        &c,
        t(3),
        Some(Answer::Throttled { retry_after_s: 1 }),
        &mut io,
    );
    assert_eq!(io.0.last(), Some(&Act::Settled(false)));
    assert_eq!(d.state(), State::GaveUp);
}

#[test]
fn a_dead_device_settles_at_boot_and_never_sends() {
    let mut io = Script::default();
    let mut d = device(Some(0));
    d.boot(&class(), t(5), true, &mut io);
    assert_eq!(io.0, [Act::Settled(false)]);
}

/// Memory budget: a million devices must stay small (issue #2: ≤ 300 bytes per device in all).
#[test]
fn device_state_fits_its_budget() {
    assert!(
        std::mem::size_of::<Device>() <= 48,
        "{}",
        std::mem::size_of::<Device>()
    );
}

/// When the device last asked to be woken.
fn woken(io: &Script) -> SimTime {
    match io.0.last() {
        Some(&Act::Wake(at)) => at,
        other => panic!("expected a wake, got {other:?} in {:?}", io.0),
    }
}

/// Registrations started while one is accepted or in flight are repeats; after a refusal DPS
/// holds nothing, so the next one is not.
#[test]
fn registering_again_while_one_is_held_is_a_repeat() {
    let c = DeviceClass {
        on_poll_failure: PollFailure::Reregister,
        ..class()
    };
    let repeats = |io: &Script| io.0.iter().filter(|a| **a == Act::Repeat).count();
    let mut d = device(None);
    let mut io = Script::default();
    d.boot(&c, t(0), false, &mut io);
    // Throttled: nothing held, so the retry is no repeat.
    d.answer(
        &c,
        t(1),
        Some(Answer::Throttled { retry_after_s: 1 }),
        &mut io,
    );
    let at = woken(&io);
    d.timer(&c, at, &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(
            Request::Register,
            at,
            at + SimDuration::from_secs(30)
        ))
    );
    assert_eq!(repeats(&io), 0);
    // Timed out: DPS may have it, so the next register is a repeat.
    d.answer(&c, at + SimDuration::from_secs(30), None, &mut io);
    let at = woken(&io);
    d.timer(&c, at, &mut io);
    assert_eq!(repeats(&io), 1);
    // Accepted, then the poll is throttled: back to register, a repeat again.
    d.answer(
        &c,
        at + SimDuration::from_secs(1),
        Some(Answer::Accepted { retry_after_s: 3 }),
        &mut io,
    );
    let poll_at = woken(&io);
    d.timer(&c, poll_at, &mut io);
    d.answer(
        &c,
        poll_at + SimDuration::from_secs(1),
        Some(Answer::Throttled { retry_after_s: 1 }),
        &mut io,
    );
    let at = woken(&io);
    d.timer(&c, at, &mut io);
    assert_eq!(
        io.0.last(),
        Some(&Act::Send(
            Request::Register,
            at,
            at + SimDuration::from_secs(30)
        ))
    );
    assert_eq!(repeats(&io), 2);
}
