//! One step of the device state machine (one input: boot, timer or answer) with a no-op `Io`
//! that only counts calls, so the figure is the device's own cost.
//! Run: `cargo bench --bench device`; ns per step = 1e3 / (Melem/s).
//!
//! - `cached`: boot → connect → Connected → telemetry → Acked (3 steps).
//! - `dps`: boot → register → Accepted → (timer) poll → Assigned → connect → Connected →
//!   telemetry → Acked (6 steps).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fleetsim::device::retry::{Jitter, RetryPolicy, Timeouts};
use fleetsim::device::{Device, Io};
use fleetsim::results::{Op, Outcome};
use fleetsim::rng::{Stream, device_rng};
use fleetsim::scenario::{DeviceClass, Dist, PollFailure, Provisioning, TelemetryMode};
use fleetsim::service::{Answer, Request};
use fleetsim::time::{SimDuration, SimTime};
use std::hint::black_box;
use std::time::Duration;

/// Devices per criterion iteration (fresh ones each batch: `boot` needs a powered-off device).
const FLEET: u32 = 1_024;

/// Counts calls; does nothing else.
#[derive(Default)]
struct Count {
    sends: u64,
    wakes: u64,
    other: u64,
}

impl Io for Count {
    fn send(&mut self, _: u32, _: Request, _: SimTime, _: SimTime) {
        self.sends += 1;
    }
    fn wake_at(&mut self, _: u32, _: SimTime) {
        self.wakes += 1;
    }
    fn attempt(&mut self, _: Op, _: SimTime) {
        self.other += 1;
    }
    fn complete(&mut self, _: Op, _: Outcome, _: SimTime, _: SimDuration) {
        self.other += 1;
    }
    fn online(&mut self, _: SimTime, _: bool) {
        self.other += 1;
    }
    fn offline(&mut self, _: SimTime) {
        self.other += 1;
    }
    fn repeat(&mut self, _: Op, _: SimTime) {
        self.other += 1;
    }
    fn settled(&mut self, _: u32, _: SimTime, _: bool) {
        self.other += 1;
    }
}

/// Shaped like the class in src/device/tests.rs, with continuous telemetry (as in the
/// blackout scenario) and the SDK's default 5 s jitter.
fn class() -> DeviceClass {
    DeviceClass {
        name: "bench".into(),
        share: 1.0,
        boot_delay: Dist::ZERO,
        provisioning: Provisioning::Cached,
        status_lookup: false,
        on_poll_failure: PollFailure::KeepPolling,
        hub_failures_before_dps: 3,
        telemetry: TelemetryMode::Continuous,
        telemetry_interval: SimDuration::from_secs(900),
        telemetry_size: 300,
        retry: RetryPolicy {
            jitter: Jitter::Absolute(SimDuration::from_secs(5)),
            ..RetryPolicy::default()
        },
        timeouts: Timeouts::default(),
        dead_share: 0.0,
    }
}

fn fleet(cached: bool) -> Vec<Device> {
    (0..FLEET)
        .map(|i| {
            let hub = cached.then_some(1);
            Device::new(i, 0, hub, device_rng(1, i as u64, Stream::Behaviour))
        })
        .collect()
}

fn t(ms: u64) -> SimTime {
    SimTime(ms * 1_000)
}

fn bench(c: &mut Criterion) {
    let cl = class();
    let mut g = c.benchmark_group("device_step");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    g.throughput(Throughput::Elements(3 * FLEET as u64));
    g.bench_function("cached", |b| {
        let mut io = Count::default();
        b.iter_batched_ref(
            || fleet(true),
            |devices| {
                for d in devices.iter_mut() {
                    d.boot(&cl, t(10), false, &mut io);
                    d.answer(&cl, t(60), Some(Answer::Connected), &mut io);
                    d.answer(&cl, t(90), Some(Answer::Acked), &mut io);
                }
                black_box(&io);
            },
            BatchSize::SmallInput,
        );
        assert!(io.sends > 0 && io.wakes > 0 && io.other > 0);
    });

    g.throughput(Throughput::Elements(6 * FLEET as u64));
    g.bench_function("dps", |b| {
        let mut io = Count::default();
        b.iter_batched_ref(
            || fleet(false),
            |devices| {
                for d in devices.iter_mut() {
                    d.boot(&cl, t(10), false, &mut io);
                    let accepted = Answer::Accepted { retry_after_s: 3 };
                    d.answer(&cl, t(200), Some(accepted), &mut io);
                    d.timer(&cl, t(3_200), &mut io);
                    d.answer(&cl, t(3_400), Some(Answer::Assigned { hub: 1 }), &mut io);
                    d.answer(&cl, t(3_450), Some(Answer::Connected), &mut io);
                    d.answer(&cl, t(3_480), Some(Answer::Acked), &mut io);
                }
                black_box(&io);
            },
            BatchSize::SmallInput,
        );
        assert!(io.sends > 0 && io.wakes > 0 && io.other > 0);
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
