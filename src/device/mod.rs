//! One device's life as a sans-IO state machine.
pub mod retry;
