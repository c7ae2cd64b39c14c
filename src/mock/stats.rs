//! Counters of what the mock has seen, printed every few seconds and on exit.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// Event counters (relaxed atomics: read for display only).
        #[derive(Default, Debug)]
        pub struct Stats { $(pub $name: AtomicU64,)* }

        /// A copy of the counters at one moment.
        #[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Snapshot { $(pub $name: u64,)* }

        impl Stats {
            pub fn snapshot(&self) -> Snapshot {
                Snapshot { $($name: self.$name.load(Relaxed),)* }
            }
        }
    };
}

counters!(
    accepted,
    open,
    accept_errors,
    tls_failed,
    idle_timeouts,
    malformed,
    dps_sessions,
    hub_sessions,
    auth_refused,
    connect_throttled,
    quota_refused,
    registers,
    registers_throttled,
    polls,
    polls_throttled,
    lookups,
    lookups_throttled,
    assigned,
    telemetry,
    telemetry_closed,
    twin,
    twin_throttled,
    kicked,
);

impl Stats {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }
    pub fn dec(c: &AtomicU64) {
        c.fetch_sub(1, Relaxed);
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "open {} accepted {} | dps: sessions {} register {} (429 {}) poll {} (429 {}) \
             lookup {} (429 {}) assigned {} | hub: sessions {} telemetry {} (closed by \
             shaping/quota {}) twin {} (429 {}) | refused: auth {} throttled {} quota {} | \
             closed: malformed {} idle {} replaced {} tls {} | accept errors {}",
            self.open,
            self.accepted,
            self.dps_sessions,
            self.registers,
            self.registers_throttled,
            self.polls,
            self.polls_throttled,
            self.lookups,
            self.lookups_throttled,
            self.assigned,
            self.hub_sessions,
            self.telemetry,
            self.telemetry_closed,
            self.twin,
            self.twin_throttled,
            self.auth_refused,
            self.connect_throttled,
            self.quota_refused,
            self.malformed,
            self.idle_timeouts,
            self.kicked,
            self.tls_failed,
            self.accept_errors,
        )
    }
}
