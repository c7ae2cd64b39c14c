//! fleetsim's core: what both engines and every report share, and nothing else.
//!
//! - [`time`]: virtual time (`SimTime`, `SimDuration`); [`rng`]: seeded per-device randomness.
//! - [`device`]: the sans-IO device state machine and its retry policy.
//! - [`service`]: the DPS and IoT Hub models (admission, GCRA throttles, latency).
//! - [`quota`]: the services' published limits, the analytic quota model and its lint.
//! - [`scenario`]: scenario types, the TOML parser with file positions, the resolver.
//! - [`metric`]: `Op`/`Outcome`, metric paths, units, conditions, SLOs, tolerances, durations.
//! - [`summary`]: the types of `summary.json` and its JSON Schema.
//!
//! Invariants: no file, socket, clock or thread here (clippy.toml bans the clocks; the
//! workspace test `tests/layers.rs` bans the I/O crates); the same scenario and seed give the
//! same values on every machine.

pub mod device;
pub mod mem;
pub mod metric;
pub mod quota;
pub mod rng;
pub mod scenario;
pub mod service;
pub mod summary;
pub mod time;
