use super::{Op, Outcome, Timeline};
use crate::time::{SimDuration, SimTime};

/// Collects everything a run measures. Owned by the engine; the device and service models
/// never see it.
pub struct Recorder {
    pub timeline: Timeline,
}

impl Recorder {
    /// `bucket` is the timeline row width.
    pub fn new(bucket: SimDuration) -> Recorder {
        let _ = bucket;
        todo!("metrics helper")
    }

    /// A device sent a request for `op` at `at` (its intended time).
    pub fn attempt(&mut self, op: Op, at: SimTime) {
        let _ = (op, at);
        todo!()
    }

    /// An attempt of `op` ended at `at` with `outcome`, `latency` after it was meant to start.
    pub fn complete(&mut self, op: Op, outcome: Outcome, at: SimTime, latency: SimDuration) {
        let _ = (op, outcome, at, latency);
        todo!()
    }

    /// A device powered on and made (or is about to make) its first attempt.
    pub fn booted(&mut self, at: SimTime) {
        let _ = at;
        todo!()
    }

    /// A device connected to its hub; `first` when it is the first time in this run.
    pub fn online(&mut self, at: SimTime, first: bool) {
        let _ = (at, first);
        todo!()
    }

    /// A connected device lost its hub connection.
    pub fn offline(&mut self, at: SimTime) {
        let _ = at;
        todo!()
    }
}
