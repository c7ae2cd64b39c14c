//! The quota model: the services' published limits as data (`limits`), and the analytic model
//! that turns a scenario into lower bounds and a bottleneck without simulating (`model`).

pub mod limits;
pub mod lint;
pub mod model;

pub use limits::{DpsLimits, HubLimits, Tier};
