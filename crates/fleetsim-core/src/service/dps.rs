//! The Device Provisioning Service model (reference §1, §4c; docs/service-models.md, "DPS").
//!
//! Per instance, three service-wide limits: registrations per minute (register PUTs),
//! operations per minute (registers, and status lookups unless `lookups_are_operations` is
//! off) and operation-status polls per minute (GetOperations, throttled apart from the
//! registration PUT); and at most `registrations_per_instance` registrations. Per device: at
//! most `polls_per_device` polls per `poll_window`.
//!
//! Each stage of an instance (lookup, register, poll) serves at most `dps.queue.workers`
//! requests at once ([`Workers`]): a request waits for a worker, is judged by the limits when
//! it starts, and holds its worker for its service time (a refusal for `reject_cost` of it).
//! Overload therefore shows as latency and, past the device's timer, timeouts — not only as
//! 429s. Devices are enrolled across instances by index (`index % instances`). Registration
//! state (registered? to which hub? pending operation ready when?) is one small record per
//! device.

use super::gcra::{Admit, Gcra};
use super::queue::Workers;
use super::{Answer, HubId, Refusal, Request, Response, retry_after_secs};
use crate::rng::{DeviceRng, service_rng};
use crate::scenario::{Allocation, Dist, Dps};
use crate::time::{SimDuration, SimTime};

/// No hub.
pub const NO_HUB: HubId = HubId::MAX;

/// What DPS knows about one device.
#[derive(Clone, Copy, Debug)]
struct DeviceRecord {
    /// The hub of the device's registration; NO_HUB if unregistered.
    hub: HubId,
    /// The hub of a pending (or finished) register operation; NO_HUB if none.
    op_hub: HubId,
    /// When the pending operation completes (µs); polls before it see 202.
    op_ready: u64,
    /// Per-device poll limiter's theoretical arrival time (µs).
    poll_tat: f64,
}

struct Instance {
    registrations: Gcra,
    operations: Gcra,
    operation_status: Gcra,
    registered: u64,
    /// The workers of each stage, by [`stage`].
    stages: [Workers; 3],
}

/// The queue a request waits in: status lookups, registers and polls each have their own.
fn stage(req: Request) -> usize {
    match req {
        Request::StatusLookup => 0,
        Request::Register => 1,
        Request::Poll => 2,
        Request::Connect { .. } | Request::Telemetry { .. } => {
            unreachable!("hub requests go to the hub model")
        }
    }
}

pub struct DpsModel {
    instances: Vec<Instance>,
    devices: Vec<DeviceRecord>,
    /// Devices assigned to each hub (for `evenly` and the per-hub device limit).
    hub_devices: Vec<u64>,
    hub_capacity: u64,
    allocation: Allocation,
    latency: Dist,
    assignment_time: Dist,
    retry_after_s: u16,
    throttle_retry_after: Option<SimDuration>,
    lookups_are_operations: bool,
    registrations_per_instance: u64,
    poll_interval: f64,
    poll_tolerance: f64,
    reject_cost: f64,
    rng: DeviceRng,
}

impl DpsModel {
    /// A DPS for `devices` devices spread over `hubs` hubs of `hub_capacity` devices each.
    pub fn new(dps: &Dps, devices: u64, hubs: u16, hub_capacity: u64, seed: u64) -> DpsModel {
        let l = &dps.limits;
        let instances = (0..dps.instances)
            .map(|_| Instance {
                registrations: Gcra::new(l.registrations_per_s, l.burst, SimDuration::ZERO),
                operations: Gcra::new(l.operations_per_s, l.burst, SimDuration::ZERO),
                operation_status: Gcra::new(l.operation_status_per_s, l.burst, SimDuration::ZERO),
                registered: 0,
                stages: std::array::from_fn(|_| Workers::new(dps.queue.workers)),
            })
            .collect();
        let poll_interval = l.poll_window.as_micros() as f64 / l.polls_per_device.max(1) as f64;
        DpsModel {
            instances,
            devices: vec![
                DeviceRecord {
                    hub: NO_HUB,
                    op_hub: NO_HUB,
                    op_ready: 0,
                    poll_tat: 0.0
                };
                devices as usize
            ],
            hub_devices: vec![0; hubs as usize],
            hub_capacity,
            allocation: dps.allocation,
            latency: dps.latency.clone(),
            assignment_time: dps.assignment_time.clone(),
            retry_after_s: retry_after_secs(dps.retry_after),
            throttle_retry_after: dps.throttle_retry_after,
            lookups_are_operations: l.lookups_are_operations,
            registrations_per_instance: l.registrations_per_instance,
            poll_interval,
            // `polls_per_device` polls at once, then one per interval.
            poll_tolerance: poll_interval * (l.polls_per_device.max(1) - 1) as f64,
            reject_cost: dps.queue.reject_cost,
            rng: service_rng(seed, 0xd95),
        }
    }

    /// Sets up a device that was registered before the scenario started, choosing its hub by the
    /// allocation policy. Returns the hub, or None if every hub or the instance is full.
    pub fn preregister(&mut self, device: u32) -> Option<HubId> {
        let inst = self.instance_of(device);
        if self.instances[inst].registered >= self.registrations_per_instance {
            return None;
        }
        let hub = self.allocate(device)?;
        self.instances[inst].registered += 1;
        self.hub_devices[hub as usize] += 1;
        let r = &mut self.devices[device as usize];
        r.hub = hub;
        r.op_hub = hub;
        Some(hub)
    }

    /// Adds one unregistered device and returns its index: the mock server learns devices by
    /// registration id as they connect, rather than from a fleet size.
    pub fn add_device(&mut self) -> u32 {
        self.devices.push(DeviceRecord {
            hub: NO_HUB,
            op_hub: NO_HUB,
            op_ready: 0,
            poll_tat: 0.0,
        });
        (self.devices.len() - 1) as u32
    }

    /// Hints the CPU to load a device's record (the engine calls this a few events ahead).
    #[inline]
    pub fn prefetch(&self, device: u32) {
        if let Some(r) = self.devices.get(device as usize) {
            crate::mem::prefetch(r);
        }
    }

    /// The hub a device is registered to, if any.
    pub fn registration(&self, device: u32) -> Option<HubId> {
        let h = self.devices[device as usize].hub;
        (h != NO_HUB).then_some(h)
    }

    /// Answers `req` sent at `now`: the request waits for a worker of its stage, is judged
    /// when it starts, and the answer comes one service time later.
    pub fn handle(&mut self, device: u32, req: Request, now: SimTime) -> Response {
        let (inst, stage) = (self.instance_of(device), stage(req));
        let start = self.instances[inst].stages[stage].start(now);
        let service = self.latency.sample(&mut self.rng);
        let answer = match req {
            Request::StatusLookup => self.status_lookup(device, start),
            Request::Register => self.register(device, start, service),
            _ => self.poll(device, start),
        };
        let hold = match answer {
            Answer::Throttled { .. } => {
                SimDuration((service.as_micros() as f64 * self.reject_cost) as u64)
            }
            _ => service,
        };
        self.instances[inst].stages[stage].hold(start, hold);
        Response {
            after: start.since(now) + service,
            answer,
        }
    }

    fn instance_of(&self, device: u32) -> usize {
        device as usize % self.instances.len()
    }

    fn throttled(&self, wait: SimDuration) -> Answer {
        Answer::Throttled {
            retry_after_s: retry_after_secs(self.throttle_retry_after.unwrap_or(wait)),
        }
    }

    /// Takes an operation token for a status lookup, if lookups count as operations.
    fn lookup_operation(&mut self, device: u32, now: SimTime) -> Result<(), Answer> {
        if !self.lookups_are_operations {
            return Ok(());
        }
        let inst = self.instance_of(device);
        match self.instances[inst].operations.admit(now) {
            Admit::After(_) => Ok(()),
            Admit::Refused(wait) => Err(self.throttled(wait)),
        }
    }

    fn status_lookup(&mut self, device: u32, now: SimTime) -> Answer {
        if let Err(a) = self.lookup_operation(device, now) {
            return a;
        }
        match self.registration(device) {
            Some(hub) => Answer::Registered { hub },
            None => Answer::NotRegistered,
        }
    }

    fn register(&mut self, device: u32, now: SimTime, latency: SimDuration) -> Answer {
        let inst = self.instance_of(device);
        let i = &mut self.instances[inst];
        // Both limits must have room; take from both only then.
        let wait = match (i.registrations.check(now), i.operations.check(now)) {
            (Admit::After(_), Admit::After(_)) => None,
            (Admit::Refused(a), Admit::Refused(b)) => Some(a.max(b)),
            (Admit::Refused(w), _) | (_, Admit::Refused(w)) => Some(w),
        };
        if let Some(wait) = wait {
            return self.throttled(wait);
        }
        i.registrations.take(now);
        i.operations.take(now);
        let was_registered = self.devices[device as usize].hub != NO_HUB;
        if !was_registered && self.instances[inst].registered >= self.registrations_per_instance {
            return Answer::Refused(Refusal::RegistrationLimit);
        }
        // Re-registration keeps the device's hub unless the policy says otherwise (DPS
        // re-provisioning keeps data on the same hub by default; the `evenly` policy only
        // moves a device whose hub is full).
        let current = self.devices[device as usize].hub;
        let hub = if current != NO_HUB && self.allocation != Allocation::Hashed {
            Some(current)
        } else {
            self.allocate(device)
        };
        let ready = now + latency + self.assignment_time.sample(&mut self.rng);
        let r = &mut self.devices[device as usize];
        r.op_ready = ready.as_micros();
        match hub {
            Some(h) => {
                if r.hub != h {
                    if r.hub != NO_HUB {
                        self.hub_devices[r.hub as usize] -= 1;
                    } else {
                        self.instances[inst].registered += 1;
                    }
                    self.hub_devices[h as usize] += 1;
                }
                r.op_hub = h;
                r.hub = h;
            }
            None => r.op_hub = NO_HUB,
        }
        Answer::Accepted {
            retry_after_s: self.retry_after_s,
        }
    }

    fn poll(&mut self, device: u32, now: SimTime) -> Answer {
        // Per-device limit first: it is checked without touching the instance's quota.
        let t = now.as_micros() as f64;
        let r = self.devices[device as usize];
        let tat = r.poll_tat.max(t);
        if tat - t > self.poll_tolerance {
            return self.throttled(SimDuration((tat - t - self.poll_tolerance) as u64));
        }
        let inst = self.instance_of(device);
        if let Admit::Refused(wait) = self.instances[inst].operation_status.admit(now) {
            return self.throttled(wait);
        }
        self.devices[device as usize].poll_tat = tat + self.poll_interval;
        if r.op_ready == 0 && r.op_hub == NO_HUB {
            return Answer::Refused(Refusal::Failed);
        }
        if now.as_micros() < r.op_ready {
            return Answer::Assigning {
                retry_after_s: self.retry_after_s,
            };
        }
        if r.op_hub == NO_HUB {
            return Answer::Refused(Refusal::Failed);
        }
        Answer::Assigned { hub: r.op_hub }
    }

    /// Picks a hub with room by the allocation policy.
    fn allocate(&self, device: u32) -> Option<HubId> {
        let n = self.hub_devices.len();
        let has_room = |h: usize| self.hub_devices[h] < self.hub_capacity;
        let first = match self.allocation {
            Allocation::Static => 0,
            Allocation::Hashed => device as usize % n,
            Allocation::Evenly => (0..n).min_by_key(|&h| self.hub_devices[h]).unwrap_or(0),
        };
        (0..n)
            .map(|k| (first + k) % n)
            .find(|&h| has_room(h))
            .map(|h| h as HubId)
    }

    /// Registrations currently held, over all instances.
    pub fn registered(&self) -> u64 {
        self.instances.iter().map(|i| i.registered).sum()
    }
}
