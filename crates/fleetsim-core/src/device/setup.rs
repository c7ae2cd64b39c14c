//! What a device is when the scenario starts: its class, when it boots, whether it is
//! registered in DPS, whether it kept its hub assignment, and whether it will ever come back.
//! Drawn from the device's own `Setup` stream, so the engine and the quota model see exactly
//! the same fleet, and a shard sees exactly its slice of it.

use crate::rng::{Stream, device_rng};
use crate::scenario::Scenario;
use crate::time::SimTime;
use rand::RngExt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeviceSetup {
    pub class: usize,
    /// Power-on (arrival) plus the class's boot delay: the first attempt.
    pub boot: SimTime,
    pub dead: bool,
    /// Has a DPS registration when the scenario starts.
    pub registered: bool,
    /// Kept its hub assignment (implies registered).
    pub cached: bool,
}

pub fn setup(sc: &Scenario, index: u64) -> DeviceSetup {
    let class = sc.class_of(index);
    let c = &sc.fleet.classes[class];
    let mut rng = device_rng(sc.seed, index, Stream::Setup);
    let power_on = sc
        .arrival
        .time_at(rng.random(), rng.random(), sc.fleet.devices);
    let boot = SimTime::ZERO + power_on + c.boot_delay.sample(&mut rng);
    let u: f64 = rng.random();
    let dead = rng.random::<f64>() < c.dead_share;
    DeviceSetup {
        class,
        boot,
        dead,
        registered: u < sc.fleet.registered_share,
        cached: u < sc
            .fleet
            .cached_assignment_share
            .min(sc.fleet.registered_share),
    }
}
