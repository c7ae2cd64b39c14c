//! One device's life as a sans-IO state machine:
//! power-on → boot delay → (cached hub | DPS status lookup | DPS register → poll) → hub
//! connect → telemetry, with retries, throttles, timeouts and fall-backs along the way.
//!
//! # Calling contract
//!
//! Inputs are methods taking the current time: [`Device::boot`], [`Device::timer`],
//! [`Device::answer`] (an answer, or `None` for a timeout). Outputs go to the [`Io`] the
//! caller passes in: `send` a request (the caller must deliver exactly one answer or timeout
//! for it, no later than its deadline), `wake_at` a time, and measurements. A device has at
//! most one outstanding request or timer at any moment, so an engine needs one pending event
//! per device and never cancels anything. Time never goes backwards. The device never reads a
//! clock or touches a socket; the same code runs under the virtual and the live engine.
//!
//! Every time passed in is the time the device *meant* to act (its boot time, the deadline it
//! asked to be woken at); latency is measured from there, so a lagging engine shows up as
//! latency rather than hiding it.

pub mod retry;
pub mod setup;

use crate::metric::{Op, Outcome};
use crate::rng::DeviceRng;
use crate::scenario::{DeviceClass, PollFailure, Provisioning, TelemetryMode};
use crate::service::dps::NO_HUB;
use crate::service::{Answer, HubId, Request};
use crate::time::{SimDuration, SimTime};

/// Where the outputs of a device go: implemented by each engine.
pub trait Io {
    /// Send `req` now; answer by `deadline` or time out then.
    fn send(&mut self, device: u32, req: Request, now: SimTime, deadline: SimTime);
    /// Call [`Device::timer`] at `at`.
    fn wake_at(&mut self, device: u32, at: SimTime);
    /// An attempt of `op` started at `at`.
    fn attempt(&mut self, op: Op, at: SimTime);
    /// An attempt of `op` ended at `at`, `latency` after it was meant to start.
    fn complete(&mut self, op: Op, outcome: Outcome, at: SimTime, latency: SimDuration);
    /// The device is connected to its hub (`first`: for the first time in the run).
    fn online(&mut self, at: SimTime, first: bool);
    /// The device lost its hub connection.
    fn offline(&mut self, at: SimTime);
    /// The device started a registration while it already had one accepted or in flight
    /// (`operations.dps.register.repeats`).
    fn repeat(&mut self, op: Op, at: SimTime);
    /// The device reached its end state: online with its first telemetry sent, or never coming
    /// back (dead, or gave up).
    fn settled(&mut self, device: u32, at: SimTime, online: bool);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Not powered on yet.
    Off,
    LookingUp,
    Registering,
    /// Waiting `retry-after` before polling the registration operation.
    WaitPoll,
    Polling,
    Connecting,
    /// Connected, waiting for the next telemetry time.
    Online,
    Sending,
    /// Connected, nothing more to do in this run (`telemetry = "first"`).
    Idle,
    RetryLookup,
    RetryRegister,
    RetryPoll,
    RetryConnect,
    RetryTelemetry,
    /// Never comes back without a manual reset.
    Dead,
    /// The retry policy's attempt or time cap was reached.
    GaveUp,
}

const EVER_ONLINE: u8 = 1;
const SENT_FIRST: u8 = 2;
const CONNECTED: u8 = 4;
/// A registration of this device was accepted, or sent and not refused: another one is a
/// repeat.
const REGISTRATION_HELD: u8 = 8;

/// One simulated device. Kept small (see the size test): a million of them must fit in a few
/// tens of megabytes.
#[derive(Clone, Debug)]
pub struct Device {
    /// When the device booted (its first attempt after power-on).
    boot_at: SimTime,
    /// When the current step's first attempt was meant to start (for `max_time`).
    step_started: SimTime,
    /// When the outstanding request was meant to start, or the next telemetry is due.
    op_at: SimTime,
    rng: DeviceRng,
    index: u32,
    /// The hub the device holds an assignment for, or NO_HUB.
    hub: HubId,
    failures: u16,
    hub_failures: u16,
    class: u8,
    state: State,
    flags: u8,
}

impl Device {
    /// A powered-off device. `cached_hub` is the assignment it kept across the event, if any.
    pub fn new(index: u32, class: u8, cached_hub: Option<HubId>, rng: DeviceRng) -> Device {
        Device {
            boot_at: SimTime::ZERO,
            step_started: SimTime::ZERO,
            op_at: SimTime::ZERO,
            rng,
            index,
            hub: cached_hub.unwrap_or(NO_HUB),
            failures: 0,
            hub_failures: 0,
            class,
            state: State::Off,
            flags: 0,
        }
    }

    pub fn class(&self) -> usize {
        self.class as usize
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn index(&self) -> u32 {
        self.index
    }
    pub fn is_online(&self) -> bool {
        self.flags & CONNECTED != 0
    }

    /// The device has booted and makes its first attempt at `now`. A `dead` device never does.
    pub fn boot(&mut self, c: &DeviceClass, now: SimTime, dead: bool, io: &mut impl Io) {
        debug_assert_eq!(self.state, State::Off);
        self.boot_at = now;
        io.attempt(Op::BootToOnline, now);
        if dead {
            self.state = State::Dead;
            io.settled(self.index, now, false);
            return;
        }
        if c.provisioning == Provisioning::Always {
            self.hub = NO_HUB;
        }
        if self.hub != NO_HUB {
            self.connect(c, now, io);
        } else {
            self.provision(c, now, io);
        }
    }

    /// A time the device asked for with `wake_at` has come.
    pub fn timer(&mut self, c: &DeviceClass, now: SimTime, io: &mut impl Io) {
        match self.state {
            State::WaitPoll | State::RetryPoll => {
                self.send(c, io, Request::Poll, State::Polling, now)
            }
            State::RetryLookup => self.send(c, io, Request::StatusLookup, State::LookingUp, now),
            State::RetryRegister => self.send(c, io, Request::Register, State::Registering, now),
            State::RetryConnect => self.send_connect(c, now, io),
            State::Online | State::RetryTelemetry => self.send_telemetry(c, io),
            s => debug_assert!(false, "device {} woken in state {s:?}", self.index),
        }
    }

    /// The answer to the outstanding request arrived at `now`; `None` if it timed out.
    pub fn answer(
        &mut self,
        c: &DeviceClass,
        now: SimTime,
        answer: Option<Answer>,
        io: &mut impl Io,
    ) {
        let op = match self.state {
            State::LookingUp => Op::DpsStatusLookup,
            State::Registering => Op::DpsRegister,
            State::Polling => Op::DpsPoll,
            State::Connecting => Op::HubConnect,
            State::Sending => Op::HubTelemetry,
            s => {
                debug_assert!(false, "device {} answered in state {s:?}", self.index);
                return;
            }
        };
        let outcome = match answer {
            None => Outcome::Timeout,
            Some(Answer::Throttled { .. }) => Outcome::Throttled,
            Some(Answer::Refused(_)) => Outcome::Error,
            Some(_) => Outcome::Ok,
        };
        io.complete(op, outcome, now, now.since(self.op_at));
        match (op, answer) {
            (Op::DpsStatusLookup, Some(Answer::Registered { hub })) => {
                self.hub = hub;
                self.connect(c, now, io);
            }
            (Op::DpsStatusLookup, Some(Answer::NotRegistered)) => {
                self.begin(now);
                self.send(c, io, Request::Register, State::Registering, now);
            }
            (Op::DpsStatusLookup, a) => self.retry(c, now, a, State::RetryLookup, io),

            (Op::DpsRegister, Some(Answer::Accepted { retry_after_s })) => {
                self.begin(now);
                self.state = State::WaitPoll;
                io.wake_at(
                    self.index,
                    now + SimDuration::from_secs(retry_after_s as u64),
                );
            }
            (Op::DpsRegister, a) => {
                // Throttled or refused: DPS holds nothing for it. Timed out: it may.
                if a.is_some() {
                    self.flags &= !REGISTRATION_HELD;
                }
                self.retry(c, now, a, State::RetryRegister, io)
            }

            (Op::DpsPoll, Some(Answer::Assigning { retry_after_s })) => {
                self.failures = 0;
                self.state = State::WaitPoll;
                io.wake_at(
                    self.index,
                    now + SimDuration::from_secs(retry_after_s as u64),
                );
            }
            (Op::DpsPoll, Some(Answer::Assigned { hub })) => {
                self.hub = hub;
                self.connect(c, now, io);
            }
            // The operation is gone or failed: register again.
            (Op::DpsPoll, a @ Some(Answer::Refused(_))) => {
                self.retry(c, now, a, State::RetryRegister, io)
            }
            // Throttled or timed out: keep polling, or (the 2022 incident) register again.
            (Op::DpsPoll, a) => {
                let next = match c.on_poll_failure {
                    PollFailure::KeepPolling => State::RetryPoll,
                    PollFailure::Reregister => State::RetryRegister,
                };
                self.retry(c, now, a, next, io)
            }

            (Op::HubConnect, Some(Answer::Connected)) => {
                let first = self.flags & EVER_ONLINE == 0;
                self.flags |= EVER_ONLINE | CONNECTED;
                self.hub_failures = 0;
                io.online(now, first);
                if first {
                    io.complete(Op::BootToOnline, Outcome::Ok, now, now.since(self.boot_at));
                }
                self.begin(now);
                self.op_at = now;
                self.send_telemetry(c, io);
            }
            (Op::HubConnect, a) => self.hub_failed(c, now, a, io),

            (Op::HubTelemetry, Some(Answer::Acked)) => {
                self.failures = 0;
                if self.flags & SENT_FIRST == 0 {
                    self.flags |= SENT_FIRST;
                    io.settled(self.index, now, true);
                }
                match c.telemetry {
                    TelemetryMode::First => self.state = State::Idle,
                    TelemetryMode::Continuous => {
                        self.op_at += c.telemetry_interval;
                        self.state = State::Online;
                        io.wake_at(self.index, self.op_at.max(now));
                    }
                }
            }
            // A PUBACK that never came: send again (the C SDK resends, reference §5b).
            (Op::HubTelemetry, None) => self.retry(c, now, None, State::RetryTelemetry, io),
            // Throttled or over quota: on MQTT the hub closes the connection (reference §2g).
            (Op::HubTelemetry, a) => {
                self.flags &= !CONNECTED;
                io.offline(now);
                self.begin(now);
                self.retry(c, now, a, State::RetryConnect, io);
            }
            (Op::BootToOnline, _) => unreachable!(),
        }
    }

    /// The hub connection dropped while nothing was outstanding on it (live engine: the server
    /// closed it, or the network failed). A connected device goes offline and reconnects by its
    /// retry policy; the engine drops whatever timer the device had pending (its next
    /// telemetry) and follows the new one. Not connected: nothing happens.
    pub fn connection_lost(&mut self, c: &DeviceClass, now: SimTime, io: &mut impl Io) {
        if self.flags & CONNECTED == 0
            || !matches!(
                self.state,
                State::Online | State::Idle | State::RetryTelemetry
            )
        {
            return;
        }
        self.flags &= !CONNECTED;
        io.offline(now);
        self.begin(now);
        self.retry(c, now, None, State::RetryConnect, io);
    }

    /// Starts a new step: its failures count from zero and its time cap from now.
    fn begin(&mut self, now: SimTime) {
        self.failures = 0;
        self.step_started = now;
    }

    fn send(
        &mut self,
        c: &DeviceClass,
        io: &mut impl Io,
        req: Request,
        state: State,
        now: SimTime,
    ) {
        let (op, timeout) = match req {
            Request::StatusLookup => (Op::DpsStatusLookup, c.timeouts.dps_status_lookup),
            Request::Register => (Op::DpsRegister, c.timeouts.dps_register),
            Request::Poll => (Op::DpsPoll, c.timeouts.dps_poll),
            Request::Connect { .. } => (Op::HubConnect, c.timeouts.hub_connect),
            Request::Telemetry { .. } => (Op::HubTelemetry, c.timeouts.hub_telemetry),
        };
        self.state = state;
        self.op_at = now;
        io.attempt(op, now);
        if req == Request::Register {
            if self.flags & REGISTRATION_HELD != 0 {
                io.repeat(op, now);
            }
            self.flags |= REGISTRATION_HELD;
        }
        io.send(self.index, req, now, now + timeout);
    }

    /// Go to DPS: look the registration up first, or register straight away.
    fn provision(&mut self, c: &DeviceClass, now: SimTime, io: &mut impl Io) {
        self.hub = NO_HUB;
        self.begin(now);
        if c.status_lookup {
            self.send(c, io, Request::StatusLookup, State::LookingUp, now);
        } else {
            self.send(c, io, Request::Register, State::Registering, now);
        }
    }

    fn connect(&mut self, c: &DeviceClass, now: SimTime, io: &mut impl Io) {
        self.begin(now);
        self.send_connect(c, now, io);
    }

    fn send_connect(&mut self, c: &DeviceClass, now: SimTime, io: &mut impl Io) {
        self.send(
            c,
            io,
            Request::Connect { hub: self.hub },
            State::Connecting,
            now,
        );
    }

    /// Sends telemetry meant for `op_at` (the schedule, not the moment the engine got here).
    fn send_telemetry(&mut self, c: &DeviceClass, io: &mut impl Io) {
        let at = self.op_at;
        let req = Request::Telemetry {
            hub: self.hub,
            size: c.telemetry_size,
        };
        self.state = State::Sending;
        io.attempt(Op::HubTelemetry, at);
        io.send(self.index, req, at, at + c.timeouts.hub_telemetry);
    }

    /// A hub connect failed. After `hub_failures_before_dps` in a row, go back to DPS
    /// (reference §5a).
    fn hub_failed(&mut self, c: &DeviceClass, now: SimTime, a: Option<Answer>, io: &mut impl Io) {
        self.hub_failures = self.hub_failures.saturating_add(1);
        if c.hub_failures_before_dps > 0 && self.hub_failures as u32 >= c.hub_failures_before_dps {
            self.hub_failures = 0;
            self.provision(c, now, io);
        } else {
            self.retry(c, now, a, State::RetryConnect, io);
        }
    }

    /// One more failure of the current step: wait the policy's delay and go to `next`, or give
    /// up if the policy's caps are reached.
    fn retry(
        &mut self,
        c: &DeviceClass,
        now: SimTime,
        a: Option<Answer>,
        next: State,
        io: &mut impl Io,
    ) {
        self.failures = self.failures.saturating_add(1);
        if c.retry
            .exhausted(self.failures as u32, now.since(self.step_started))
        {
            self.state = State::GaveUp;
            if self.flags & SENT_FIRST == 0 {
                io.settled(self.index, now, false);
            }
            return;
        }
        let wait = c.retry.delay(
            self.failures as u32,
            a.and_then(Answer::retry_after),
            &mut self.rng,
        );
        self.state = next;
        io.wake_at(self.index, now + wait);
    }
}

#[cfg(test)]
mod tests;
