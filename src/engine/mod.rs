//! Engines move time and bytes; behaviour lives in the sans-IO core.
//!
//! `virtual_time`: a deterministic discrete-event loop over the device state machines and the
//! in-process service models (`virtual` is a Rust keyword, hence the name).

pub mod live;
pub mod queue;
pub mod shard;
pub mod virtual_time;
