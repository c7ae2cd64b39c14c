//! fleetsim: rehearse the worst days of an IoT fleet — reconnect storms, onboarding surges,
//! reboot waves — against models of Azure IoT Hub DPS and IoT Hub, in virtual time or live.
//!
//! The core (`scenario`, `quota`, `device`, `service`) is sans-IO: no sockets, clocks or
//! threads; time comes in as [`time::SimTime`]. The engines (`engine`) move time and bytes;
//! `metrics` records; `report` writes the results directory.

pub mod device;
pub mod engine;
pub mod metrics;
pub mod mock;
pub mod plan;
pub mod protocol;
pub mod quota;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod service;
pub mod time;
