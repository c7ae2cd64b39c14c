//! Retry policy: exponential backoff with jitter, honouring `retry-after`, bounded by attempts
//! and time. Pure: the same RNG state gives the same delays.

use crate::time::SimDuration;
use rand::{Rng, RngExt};
use serde::Serialize;

/// Random jitter added to a backoff delay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Jitter {
    /// Add U(0, d): the embedded C SDK's `max_random_jitter_msec` (reference §5g).
    Absolute(SimDuration),
    /// Multiply by 1 + U(0, r): the C SDK's `max_jitter_percent` (reference §5b).
    Ratio(f64),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetryPolicy {
    pub initial: SimDuration,
    pub max: SimDuration,
    pub multiplier: f64,
    pub jitter: Jitter,
    pub honour_retry_after: bool,
    pub immediate_first_retry: bool,
    /// 0 = unbounded.
    pub max_attempts: u32,
    /// Zero = unbounded.
    pub max_time: SimDuration,
}

impl Default for RetryPolicy {
    /// The embedded C SDK's recommended defaults (reference §1e "Default numbers", §5g):
    /// min 1000 ms, max 100000 ms, jitter 5000 ms; doubling; no immediate retry; unbounded.
    fn default() -> Self {
        RetryPolicy {
            initial: SimDuration::from_secs(1),
            max: SimDuration::from_secs(100),
            multiplier: 2.0,
            jitter: Jitter::Absolute(SimDuration::from_secs(5)),
            honour_retry_after: true,
            immediate_first_retry: false,
            max_attempts: 0,
            max_time: SimDuration::ZERO,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `failures` (1 = after the first failure).
    ///
    /// Exponential backoff, `min(initial × multiplier^(failures-1), max)` plus jitter; with
    /// `honour_retry_after`, never less than the service's `retry-after` ("use exponential
    /// backoff with random jitter and follow retry-after", reference §1e).
    pub fn delay<R: Rng + ?Sized>(
        &self,
        failures: u32,
        retry_after: Option<SimDuration>,
        rng: &mut R,
    ) -> SimDuration {
        let backoff = self.backoff(failures, rng);
        match (retry_after, self.honour_retry_after) {
            (Some(ra), true) => backoff.max(ra),
            _ => backoff,
        }
    }

    fn backoff<R: Rng + ?Sized>(&self, failures: u32, rng: &mut R) -> SimDuration {
        if failures <= 1 && self.immediate_first_retry {
            return SimDuration::ZERO;
        }
        let n = if self.immediate_first_retry {
            failures.saturating_sub(1)
        } else {
            failures
        };
        let exp = self.multiplier.powi(n.saturating_sub(1).min(64) as i32);
        let base = (self.initial.as_micros() as f64 * exp).min(self.max.as_micros() as f64);
        let with_jitter = match self.jitter {
            Jitter::Absolute(j) => base + j.as_micros() as f64 * rng.random::<f64>(),
            Jitter::Ratio(r) => base * (1.0 + r * rng.random::<f64>()),
        };
        SimDuration(with_jitter.max(0.0) as u64)
    }

    /// Whether a step that has failed `failures` times, starting at `elapsed` ago, is given up.
    pub fn exhausted(&self, failures: u32, elapsed: SimDuration) -> bool {
        (self.max_attempts > 0 && failures >= self.max_attempts)
            || (!self.max_time.is_zero() && elapsed >= self.max_time)
    }
}

/// How long a device waits for each kind of answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeouts {
    pub dps_status_lookup: SimDuration,
    pub dps_register: SimDuration,
    pub dps_poll: SimDuration,
    pub hub_connect: SimDuration,
    pub hub_telemetry: SimDuration,
}

impl Default for Timeouts {
    /// DPS requests: 30 s (Python DEFAULT_TIMEOUT_INTERVAL, Node defaultTimeoutInterval,
    /// reference §1e). Hub CONNACK: 30 s (C SDK DEFAULT_CONNACK_TIMEOUT, §2f). Telemetry PUBACK:
    /// 60 s (C SDK RESEND_TIMEOUT_VALUE_MIN, §5b).
    fn default() -> Self {
        Timeouts {
            dps_status_lookup: SimDuration::from_secs(30),
            dps_register: SimDuration::from_secs(30),
            dps_poll: SimDuration::from_secs(30),
            hub_connect: SimDuration::from_secs(30),
            hub_telemetry: SimDuration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::SplitMix64;

    #[test]
    fn embedded_c_defaults_double_to_the_cap_with_bounded_jitter() {
        let p = RetryPolicy::default();
        let mut rng = SplitMix64::seed_from_u64(3);
        for (n, base) in [(1, 1), (2, 2), (3, 4), (7, 64), (8, 100), (30, 100)] {
            let d = p.delay(n, None, &mut rng).as_secs_f64();
            assert!(d >= base as f64 && d < base as f64 + 5.0, "retry {n}: {d}");
        }
    }

    #[test]
    fn retry_after_is_a_floor_when_honoured() {
        let mut p = RetryPolicy::default();
        let mut rng = SplitMix64::seed_from_u64(3);
        let ra = Some(SimDuration::from_secs(7));
        // First retry: backoff 1-6 s, raised to the 7 s the service asked for.
        assert_eq!(p.delay(1, ra, &mut rng), SimDuration::from_secs(7));
        // Fifth: backoff 16-21 s is already longer.
        assert!(p.delay(5, ra, &mut rng) >= SimDuration::from_secs(16));
        p.honour_retry_after = false;
        assert!(p.delay(1, ra, &mut rng) < SimDuration::from_secs(7));
    }

    #[test]
    fn c_sdk_shape_retries_first_at_once() {
        // reference §5b: 0 (immediate), 1, 2, 4, ... capped at 30 s, +0-5 %.
        let p = RetryPolicy {
            max: SimDuration::from_secs(30),
            jitter: Jitter::Ratio(0.05),
            immediate_first_retry: true,
            ..RetryPolicy::default()
        };
        let mut rng = SplitMix64::seed_from_u64(9);
        assert_eq!(p.delay(1, None, &mut rng), SimDuration::ZERO);
        let d2 = p.delay(2, None, &mut rng).as_secs_f64();
        assert!((1.0..1.05).contains(&d2), "{d2}");
        let d9 = p.delay(9, None, &mut rng).as_secs_f64();
        assert!((30.0..31.5).contains(&d9), "{d9}");
    }

    #[test]
    fn bounds_stop_retrying() {
        let p = RetryPolicy {
            max_attempts: 3,
            max_time: SimDuration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert!(!p.exhausted(2, SimDuration::from_secs(10)));
        assert!(p.exhausted(3, SimDuration::from_secs(10)));
        assert!(p.exhausted(1, SimDuration::from_secs(60)));
        assert!(!RetryPolicy::default().exhausted(1_000_000, SimDuration::from_secs(1_000_000)));
    }
}
