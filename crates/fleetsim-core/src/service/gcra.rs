//! A rate limit as the generic cell rate algorithm (GCRA): a token bucket kept as one number,
//! the theoretical arrival time (TAT), so a limit costs 16 bytes and O(1) per request.
//!
//! With rate `r` and burst `B` (time at the limit rate that may be spent at once), any window
//! of length `w` admits at most `r·(w + B) + 1` requests — the invariant the quota model's lower
//! bounds rely on. With a `backlog`, requests beyond the burst are not refused at once but
//! queued and served at the limit rate until the queue holds `backlog` of work: IoT Hub's
//! traffic shaping (reference §4b).

use crate::time::{SimDuration, SimTime};

#[derive(Clone, Debug)]
pub struct Gcra {
    /// Microseconds per request at the limit rate (f64: rates like 1000/min are not integral).
    interval: f64,
    /// Burst tolerance in microseconds.
    tolerance: f64,
    /// Longest queueing delay accepted before refusing; 0 = no queue.
    backlog: f64,
    tat: f64,
}

/// The outcome of asking a limiter for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Admitted; served after this queueing delay (zero inside the burst).
    After(SimDuration),
    /// Refused; the limiter has room again after this long.
    Refused(SimDuration),
}

impl Gcra {
    /// `rate` per second; `burst` and `backlog` as durations. A rate of 0 or less refuses all.
    pub fn new(rate: f64, burst: SimDuration, backlog: SimDuration) -> Gcra {
        let interval = if rate > 0.0 {
            1e6 / rate
        } else {
            f64::INFINITY
        };
        // A burst of B seconds at rate r admits r·B requests at once: tolerance (r·B − 1)·T.
        let tolerance = (burst.as_micros() as f64 - interval).max(0.0);
        Gcra {
            interval,
            tolerance,
            backlog: backlog.as_micros() as f64,
            tat: 0.0,
        }
    }

    /// Would a request at `now` be admitted, and after what delay? Changes nothing.
    pub fn check(&self, now: SimTime) -> Admit {
        if !self.interval.is_finite() {
            return Admit::Refused(SimDuration::from_secs(3600));
        }
        let now = now.as_micros() as f64;
        let tat = self.tat.max(now);
        let delay = tat - now - self.tolerance;
        if delay <= 0.0 {
            Admit::After(SimDuration::ZERO)
        } else if delay <= self.backlog {
            Admit::After(SimDuration(delay as u64))
        } else {
            Admit::Refused(SimDuration((delay - self.backlog) as u64))
        }
    }

    /// Takes one request at `now`, if admitted.
    pub fn admit(&mut self, now: SimTime) -> Admit {
        let a = self.check(now);
        if let Admit::After(_) = a {
            self.take(now);
        }
        a
    }

    /// Consumes one request's worth of the limit at `now` (after a successful `check`).
    pub fn take(&mut self, now: SimTime) {
        self.tat = self.tat.max(now.as_micros() as f64) + self.interval;
    }

    /// Requests per second this limiter admits in the long run.
    pub fn rate(&self) -> f64 {
        1e6 / self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted_in(g: &mut Gcra, from_s: f64, to_s: f64, every_us: u64) -> u64 {
        let mut t = SimTime::from_secs_f64(from_s);
        let end = SimTime::from_secs_f64(to_s);
        let mut n = 0;
        while t < end {
            if let Admit::After(_) = g.admit(t) {
                n += 1;
            }
            t += SimDuration(every_us);
        }
        n
    }

    #[test]
    fn burst_then_rate() {
        // 1000/min with a minute of burst: 1000 at once, then 1000 per minute.
        let mut g = Gcra::new(1000.0 / 60.0, SimDuration::from_secs(60), SimDuration::ZERO);
        assert_eq!(admitted_in(&mut g, 0.0, 0.001, 1), 1000);
        let next = admitted_in(&mut g, 0.001, 60.001, 1000);
        assert!((999..=1001).contains(&next), "{next}");
    }

    #[test]
    fn never_exceeds_rate_times_window_plus_burst() {
        let (rate, burst) = (100.0, SimDuration::from_secs(5));
        let mut g = Gcra::new(rate, burst, SimDuration::ZERO);
        let n = admitted_in(&mut g, 0.0, 30.0, 100);
        assert!(n as f64 <= rate * (30.0 + 5.0) + 1.0, "{n}");
        assert!(n as f64 >= rate * 30.0, "{n}");
    }

    #[test]
    fn shaping_queues_then_refuses() {
        // 10/s, no burst, 2 s of backlog: requests queue up to 2 s, then are refused.
        let mut g = Gcra::new(10.0, SimDuration::ZERO, SimDuration::from_secs(2));
        let mut delays = vec![];
        for _ in 0..25 {
            delays.push(g.admit(SimTime::ZERO));
        }
        assert_eq!(delays[0], Admit::After(SimDuration::ZERO));
        assert_eq!(delays[10], Admit::After(SimDuration::from_secs(1)));
        assert_eq!(delays[20], Admit::After(SimDuration::from_secs(2)));
        assert!(matches!(delays[21], Admit::Refused(_)));
    }

    #[test]
    fn zero_rate_refuses() {
        let mut g = Gcra::new(0.0, SimDuration::from_secs(60), SimDuration::ZERO);
        assert!(matches!(g.admit(SimTime::ZERO), Admit::Refused(_)));
    }
}
