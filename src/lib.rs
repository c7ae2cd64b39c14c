//! fleetsim: rehearse the worst days of an IoT fleet — reconnect storms, onboarding surges,
//! reboot waves — against models of Azure IoT Hub DPS and IoT Hub, in virtual time or live.
//!
//! The sans-IO core is its own crate, `fleetsim-core`, re-exported here under its module names
//! (`time`, `rng`, `device`, `service`, `quota`, `scenario`, `metric`, `summary`). This crate
//! holds the layers above it, each importing only from the ones before it (ARCHITECTURE.md;
//! `tests/layers.rs` checks it):
//!
//! `sys`, `input`, `protocol` → `results` → `mock` → `engine` → `report` → `plan` → `run`,
//! `cmd` (one module per subcommand, and the one map from failures to exit codes).

pub use fleetsim_core::{device, mem, metric, quota, rng, scenario, service, summary, time};

pub mod cmd;
pub mod engine;
pub mod input;
pub mod mock;
pub mod plan;
pub mod protocol;
pub mod report;
pub mod results;
pub mod run;
pub mod sys;
