//! A stage's bounded concurrency: `workers` servers taking requests first come, first served
//! (docs/service-models.md, "DPS: a queue per stage").
//!
//! A request that arrives while every worker is busy waits for the first one to free up; the
//! wait is the queueing delay the device sees on top of the service time, so an overloaded
//! stage answers slower and slower until its devices time out, while the service still spends
//! the worker time on the answers nobody waits for. Requests arrive in time order, so start
//! times are in order too and a rate limiter judged at the start time sees time move forwards.

use crate::time::{SimDuration, SimTime};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone, Debug)]
pub struct Workers {
    /// When each busy worker frees up (µs); at most `workers` entries, the idle ones absent.
    busy_until: BinaryHeap<Reverse<u64>>,
    workers: usize,
}

impl Workers {
    pub fn new(workers: u32) -> Workers {
        Workers {
            busy_until: BinaryHeap::new(),
            workers: workers.max(1) as usize,
        }
    }

    /// When a request arriving at `now` starts being served: now if a worker is idle, else
    /// when the first busy worker frees up.
    pub fn start(&mut self, now: SimTime) -> SimTime {
        let now = now.as_micros();
        while let Some(&Reverse(t)) = self.busy_until.peek() {
            if t > now {
                break;
            }
            self.busy_until.pop();
        }
        if self.busy_until.len() < self.workers {
            return SimTime(now);
        }
        SimTime(self.busy_until.peek().map_or(now, |r| r.0).max(now))
    }

    /// The request that [`start`](Self::start) placed at `start` holds a worker for `hold`.
    pub fn hold(&mut self, start: SimTime, hold: SimDuration) {
        if self.busy_until.len() >= self.workers {
            self.busy_until.pop();
        }
        self.busy_until.push(Reverse((start + hold).as_micros()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1000)
    }

    #[test]
    fn idle_workers_start_at_once_and_busy_ones_queue_in_order() {
        let mut w = Workers::new(2);
        let hold = SimDuration::from_millis(100);
        let mut starts = vec![];
        for _ in 0..5 {
            let s = w.start(ms(0));
            w.hold(s, hold);
            starts.push(s);
        }
        // Two at once, then two more when they free up at 100 ms, then one at 200 ms.
        assert_eq!(starts, vec![ms(0), ms(0), ms(100), ms(100), ms(200)]);
        // Once the queue has drained, a late arrival starts at once.
        assert_eq!(w.start(ms(1_000)), ms(1_000));
    }

    #[test]
    fn the_wait_grows_with_the_load_and_stays_zero_below_capacity() {
        // 4 workers, 100 ms each: 40 requests/s is the capacity.
        let wait_at = |per_s: u64| {
            let mut w = Workers::new(4);
            let mut worst = 0;
            for i in 0..(per_s * 10) {
                let now = SimTime(i * 1_000_000 / per_s);
                let s = w.start(now);
                w.hold(s, SimDuration::from_millis(100));
                worst = worst.max(s.as_micros() - now.as_micros());
            }
            worst
        };
        assert_eq!(wait_at(20), 0);
        let (over, far_over) = (wait_at(50), wait_at(100));
        assert!(over > 1_000_000, "{over}");
        assert!(far_over > 3 * over, "{far_over} vs {over}");
    }
}
