//! The virtual-time engine: a deterministic discrete-event loop over the device state machines
//! and the in-process DPS and Hub models.
//!
//! Time jumps from event to event; the engine runs as fast as the CPU allows. Each device has
//! at most one pending event (its boot, a timer, or the answer/timeout of its one outstanding
//! request), so the queue holds at most one entry per device and nothing is ever cancelled.
//! The service models answer a request at the moment it is sent, and the engine schedules the
//! answer — or the device's timeout, whichever comes first. Same scenario + seed ⇒ the same
//! sequence of events ⇒ the same results, byte for byte.

use super::queue::{CalendarQueue, Entry};
use crate::device::setup::setup;
use crate::device::{Device, Io};
use crate::results::{Op, Outcome, Recorder};
use crate::rng::{Stream, device_rng};
use crate::scenario::Scenario;
use crate::service::{Answer, DpsModel, HubModel, Request};
use crate::time::{SimDuration, SimTime};
use std::sync::atomic::{AtomicBool, Ordering};

const BOOT: u32 = 0xffff_0000;
const BOOT_DEAD: u32 = 0xffff_0001;
const TIMER: u32 = 0xffff_0002;
const TIMEOUT: u32 = 0xffff_0003;

/// How many events ahead to prefetch device state (tuned on the 1M blackout: see the scale
/// benchmark).
const PREFETCH_DISTANCE: usize = 8;

use super::StopReason;
use fleetsim_core::mem::prefetch;

/// A snapshot for progress display.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now: SimTime,
    pub devices: u64,
    pub booted: u64,
    pub online: u64,
    /// Devices online at least once so far (what `online.t*` counts).
    pub ever_online: u64,
    pub settled: u64,
    pub events: u64,
}

/// What a finished virtual run hands to the results writer.
pub struct RunResult {
    pub end: SimTime,
    pub events: u64,
    pub stop: StopReason,
    pub recorder: Recorder,
    /// Messages metered against each hub's daily quota over the run.
    pub hub_metered: Vec<u64>,
    /// DPS registrations held at the end.
    pub dps_registered: u64,
}

/// Everything a device's outputs touch, borrowed apart from the device itself.
struct Ctx<'a> {
    queue: &'a mut CalendarQueue,
    dps: &'a mut DpsModel,
    hub: &'a mut HubModel,
    recorder: &'a mut Recorder,
    booted: &'a mut u64,
    online: &'a mut u64,
    settled: &'a mut u64,
}

impl Io for Ctx<'_> {
    fn send(&mut self, device: u32, req: Request, now: SimTime, deadline: SimTime) {
        let resp = match req {
            Request::Connect { .. } | Request::Telemetry { .. } => self.hub.handle(req, now),
            _ => self.dps.handle(device, req, now),
        };
        let at = now + resp.after;
        let (time, payload) = if at > deadline {
            self.recorder.late(req.op());
            (deadline, TIMEOUT)
        } else {
            (at, resp.answer.pack())
        };
        self.queue.push(Entry {
            time: time.as_micros(),
            device,
            payload,
        });
    }

    fn wake_at(&mut self, device: u32, at: SimTime) {
        self.queue.push(Entry {
            time: at.as_micros(),
            device,
            payload: TIMER,
        });
    }

    fn attempt(&mut self, op: Op, at: SimTime) {
        self.recorder.attempt(op, at);
    }

    fn complete(&mut self, op: Op, outcome: Outcome, at: SimTime, latency: SimDuration) {
        self.recorder.complete(op, outcome, at, latency);
    }

    fn online(&mut self, at: SimTime, first: bool) {
        *self.online += 1;
        self.recorder.online(at, first);
    }

    fn offline(&mut self, at: SimTime) {
        *self.online -= 1;
        self.recorder.offline(at);
    }

    fn repeat(&mut self, op: Op, _at: SimTime) {
        self.recorder.repeat(op);
    }

    fn settled(&mut self, _device: u32, _at: SimTime, _online: bool) {
        *self.settled += 1;
    }
}

pub struct VirtualEngine<'s> {
    sc: &'s Scenario,
    devices: Vec<Device>,
    queue: CalendarQueue,
    dps: DpsModel,
    hub: HubModel,
    recorder: Recorder,
    booted: u64,
    online: u64,
    settled: u64,
    events: u64,
}

impl<'s> VirtualEngine<'s> {
    /// Builds the fleet: each device's class, power-on time, boot delay, registration and cached
    /// assignment, all from its own random stream.
    pub fn new(sc: &'s Scenario) -> VirtualEngine<'s> {
        let n = sc.fleet.devices;
        let mut dps = DpsModel::new(
            &sc.dps,
            n,
            sc.hub.count as u16,
            sc.hub.limits.devices,
            sc.seed,
        );
        let hub = HubModel::new(&sc.hub, sc.seed);
        let mut queue = CalendarQueue::new();
        let mut devices = Vec::with_capacity(n as usize);
        for i in 0..n {
            let s = setup(sc, i);
            let hub = if s.registered {
                dps.preregister(i as u32)
            } else {
                None
            };
            let cached = if s.cached { hub } else { None };
            let rng = device_rng(sc.seed, i, Stream::Behaviour);
            devices.push(Device::new(i as u32, s.class as u8, cached, rng));
            let payload = if s.dead { BOOT_DEAD } else { BOOT };
            queue.push(Entry {
                time: s.boot.as_micros(),
                device: i as u32,
                payload,
            });
        }
        VirtualEngine {
            sc,
            devices,
            queue,
            dps,
            hub,
            recorder: Recorder::new(n, sc.timeline_bucket),
            booted: 0,
            online: 0,
            settled: 0,
            events: 0,
        }
    }

    /// Runs to the end. `progress` is called every few hundred thousand events; `stop` is
    /// polled as often and ends the run early (marked interrupted) when set.
    pub fn run(mut self, mut progress: impl FnMut(&Progress), stop: &AtomicBool) -> RunResult {
        let n = self.sc.fleet.devices;
        let max = SimTime::ZERO + self.sc.max_duration;
        let classes = &self.sc.fleet.classes;
        let mut now = SimTime::ZERO;
        let mut reason = StopReason::AllSettled;
        let Self {
            devices,
            queue,
            dps,
            hub,
            recorder,
            booted,
            online,
            settled,
            events,
            ..
        } = &mut self;
        while *settled < n {
            let Some(e) = queue.pop() else { break };
            if e.time > max.as_micros() {
                now = max;
                reason = StopReason::MaxDuration;
                break;
            }
            now = SimTime(e.time);
            *events += 1;
            if *events & 0x3_ffff == 0 {
                progress(&Progress {
                    now,
                    devices: n,
                    booted: *booted,
                    online: *online,
                    ever_online: recorder.levels().ever_online,
                    settled: *settled,
                    events: *events,
                });
                if stop.load(Ordering::Relaxed) {
                    reason = StopReason::Interrupted;
                    break;
                }
            }
            // The device array is far larger than the cache and events visit it in random
            // order: fetch the device a few events ahead so its cache miss overlaps this work.
            if let Some(next) = queue.upcoming(PREFETCH_DISTANCE) {
                prefetch(&devices[next as usize]);
                dps.prefetch(next);
            }
            let d = &mut devices[e.device as usize];
            let c = &classes[d.class()];
            let mut io = Ctx {
                queue,
                dps,
                hub,
                recorder,
                booted,
                online,
                settled,
            };
            match e.payload {
                BOOT | BOOT_DEAD => {
                    *io.booted += 1;
                    io.recorder.booted(now);
                    d.boot(c, now, e.payload == BOOT_DEAD, &mut io);
                }
                TIMER => d.timer(c, now, &mut io),
                TIMEOUT => d.answer(c, now, None, &mut io),
                x => d.answer(c, now, Some(Answer::unpack(x)), &mut io),
            }
        }
        // An empty queue with devices unsettled cannot happen: a device only stops scheduling
        // events once it has settled.
        debug_assert!(reason != StopReason::AllSettled || *settled == n);
        progress(&Progress {
            now,
            devices: n,
            booted: *booted,
            online: *online,
            ever_online: recorder.levels().ever_online,
            settled: *settled,
            events: *events,
        });
        recorder.finish(now);
        RunResult {
            end: now,
            events: self.events,
            stop: reason,
            hub_metered: self.hub.metered_total.clone(),
            dps_registered: self.dps.registered(),
            recorder: self.recorder,
        }
    }
}
