//! The IoT Hub model (reference §2, §4a, §4b): per hub, the new-connection and device-to-cloud
//! throttles with traffic shaping (burst, then a queue served at the limit rate, then
//! refusal), and the daily message quota with its 4 KB meter, reset every 24 h of simulated
//! time (the quota resets at the next UTC day, reference §4a; the scenario starts at 00:00 UTC
//! with an unused quota).
//!
//! Shaping ends a wait two ways (docs/service-models.md, "Hub: shaping"): a request that finds
//! the queue full (`backlog` of work ahead of it) is refused at once, 429002
//! ThrottleBacklogLimitExceeded; one that would wait longer than `backlog_timeout` is refused
//! when that time is up, 429003 ThrottlingBacklogTimeout, and takes no capacity.
//!
//! MQTT 3.1.1 has no 429: a shaped-out CONNECT or PUBLISH shows up as a refused or closed
//! connection (reference §2g), so throttled answers carry no `retry-after`.

use super::gcra::{Admit, Gcra};
use super::{Answer, HubId, Refusal, Request, Response};
use crate::rng::{DeviceRng, service_rng};
use crate::scenario::{Dist, Hub};
use crate::time::{SimDuration, SimTime};

const DAY_US: u64 = 86_400_000_000;

struct OneHub {
    connects: Gcra,
    d2c: Gcra,
    day: u64,
    messages_today: u64,
}

pub struct HubModel {
    hubs: Vec<OneHub>,
    messages_per_day: u64,
    meter_bytes: u32,
    connect_latency: Dist,
    telemetry_latency: Dist,
    backlog_timeout: SimDuration,
    rng: DeviceRng,
    /// Messages counted against the quota over the run, per hub (for the summary).
    pub metered_total: Vec<u64>,
    /// Requests refused because the shaping queue was full (429002), over all hubs.
    pub backlog_full: u64,
    /// Requests whose wait the hub ended at `backlog_timeout` (429003), over all hubs.
    pub backlog_timeouts: u64,
}

/// What shaping did with one request.
enum Shaped {
    /// Served after this wait.
    After(SimDuration),
    /// Refused: after this wait (429003) or at once (429002).
    Refused(SimDuration),
}

impl HubModel {
    pub fn new(hub: &Hub, seed: u64) -> HubModel {
        let l = &hub.limits;
        HubModel {
            hubs: (0..hub.count)
                .map(|_| OneHub {
                    connects: Gcra::new(l.connects_per_s, l.burst, l.backlog),
                    d2c: Gcra::new(l.d2c_per_s, l.burst, l.backlog),
                    day: 0,
                    messages_today: 0,
                })
                .collect(),
            messages_per_day: l.messages_per_day,
            meter_bytes: l.meter_bytes,
            connect_latency: hub.connect_latency.clone(),
            telemetry_latency: hub.telemetry_latency.clone(),
            backlog_timeout: l.backlog_timeout,
            rng: service_rng(seed, 0x4b),
            metered_total: vec![0; hub.count as usize],
            backlog_full: 0,
            backlog_timeouts: 0,
        }
    }

    /// One request through a shaped limit: served, or refused by one of the two 429s.
    fn shape(
        limit: &mut Gcra,
        now: SimTime,
        timeout: SimDuration,
        counts: (&mut u64, &mut u64),
    ) -> Shaped {
        match limit.check(now) {
            Admit::After(wait) if wait <= timeout => {
                limit.take(now);
                Shaped::After(wait)
            }
            Admit::After(_) => {
                *counts.1 += 1;
                Shaped::Refused(timeout)
            }
            Admit::Refused(_) => {
                *counts.0 += 1;
                Shaped::Refused(SimDuration::ZERO)
            }
        }
    }

    pub fn handle(&mut self, req: Request, now: SimTime) -> Response {
        match req {
            Request::Connect { hub } => self.connect(hub, now),
            Request::Telemetry { hub, size } => self.telemetry(hub, size, now),
            _ => unreachable!("DPS requests go to the DPS model"),
        }
    }

    fn roll_day(h: &mut OneHub, now: SimTime) {
        let day = now.as_micros() / DAY_US;
        if day != h.day {
            h.day = day;
            h.messages_today = 0;
        }
    }

    fn connect(&mut self, hub: HubId, now: SimTime) -> Response {
        let latency = self.connect_latency.sample(&mut self.rng);
        let h = &mut self.hubs[hub as usize];
        Self::roll_day(h, now);
        // A hub whose daily quota is spent refuses connections (reference §2g, SDK issues).
        if h.messages_today >= self.messages_per_day {
            return Response {
                after: latency,
                answer: Answer::Refused(Refusal::QuotaExceeded),
            };
        }
        let counts = (&mut self.backlog_full, &mut self.backlog_timeouts);
        match Self::shape(&mut h.connects, now, self.backlog_timeout, counts) {
            Shaped::After(queued) => Response {
                after: queued + latency,
                answer: Answer::Connected,
            },
            Shaped::Refused(waited) => Response {
                after: waited + latency,
                answer: Answer::Throttled { retry_after_s: 0 },
            },
        }
    }

    fn telemetry(&mut self, hub: HubId, size: u32, now: SimTime) -> Response {
        let latency = self.telemetry_latency.sample(&mut self.rng);
        let metered = (size.max(1) as u64).div_ceil(self.meter_bytes as u64);
        let h = &mut self.hubs[hub as usize];
        Self::roll_day(h, now);
        if h.messages_today + metered > self.messages_per_day {
            return Response {
                after: latency,
                answer: Answer::Refused(Refusal::QuotaExceeded),
            };
        }
        let counts = (&mut self.backlog_full, &mut self.backlog_timeouts);
        match Self::shape(&mut h.d2c, now, self.backlog_timeout, counts) {
            Shaped::After(queued) => {
                h.messages_today += metered;
                self.metered_total[hub as usize] += metered;
                Response {
                    after: queued + latency,
                    answer: Answer::Acked,
                }
            }
            Shaped::Refused(waited) => Response {
                after: waited + latency,
                answer: Answer::Throttled { retry_after_s: 0 },
            },
        }
    }

    /// Messages counted against hub `hub`'s quota today.
    pub fn messages_today(&self, hub: HubId) -> u64 {
        self.hubs[hub as usize].messages_today
    }

    pub fn latency_floor(&self) -> SimDuration {
        self.connect_latency.min()
    }
}
