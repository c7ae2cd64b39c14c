//! The event queue under the hold model: N events pending, each step pops the earliest and
//! pushes one at `popped.time + delay`, so N stays constant. `CalendarQueue` against a binary
//! heap of `Reverse<(time, seq, device)>` in the same group, at 1M and 10k pending.
//! Run: `cargo bench --bench queue`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleetsim::engine::queue::{CalendarQueue, Entry};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::SplitMix64;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

/// Hold steps per criterion iteration.
const BATCH: u64 = 1_000;
/// Pre-generated delays (a power of two; indexed with a mask so the RNG is not measured).
const DELAYS: usize = 1 << 20;
/// The initial events are spread uniformly over this many µs.
const SPREAD_US: u64 = 60_000_000;

/// Delays in µs: 90 % U(0, 5 s) (service latencies, short backoffs), 9 % U(5 s, 120 s) (long
/// backoffs, DPS polls), 1 % 15 min (telemetry intervals).
fn delays() -> Vec<u64> {
    let mut rng = SplitMix64::seed_from_u64(2);
    (0..DELAYS)
        .map(|_| match rng.random_range(0..100u32) {
            0..90 => rng.random_range(0..5_000_000),
            90..99 => rng.random_range(5_000_000..120_000_000),
            _ => 900_000_000,
        })
        .collect()
}

/// `n` initial (time, device) pairs, times uniform over `SPREAD_US`.
fn initial(n: u32) -> Vec<(u64, u32)> {
    let mut rng = SplitMix64::seed_from_u64(1);
    (0..n)
        .map(|d| (rng.random_range(0..SPREAD_US), d))
        .collect()
}

fn bench(c: &mut Criterion) {
    let delays = delays();
    let mut g = c.benchmark_group("queue_hold");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    for (label, n) in [("1M", 1_000_000u32), ("10k", 10_000)] {
        let init = initial(n);

        g.bench_function(BenchmarkId::new("calendar", label), |b| {
            let mut q = CalendarQueue::new();
            for &(time, device) in &init {
                q.push(Entry {
                    time,
                    device,
                    payload: 0,
                });
            }
            let mut i = 0usize;
            b.iter(|| {
                for _ in 0..BATCH {
                    let e = q.pop().expect("hold model keeps n pending");
                    q.push(Entry {
                        time: e.time + delays[i & (DELAYS - 1)],
                        ..e
                    });
                    i = i.wrapping_add(1);
                }
                black_box(q.len());
            });
        });

        g.bench_function(BenchmarkId::new("binary_heap", label), |b| {
            let mut seq = 0u64;
            let v: Vec<Reverse<(u64, u64, u32)>> = init
                .iter()
                .map(|&(time, device)| {
                    seq += 1;
                    Reverse((time, seq, device))
                })
                .collect();
            let mut h = BinaryHeap::from(v);
            let mut i = 0usize;
            b.iter(|| {
                for _ in 0..BATCH {
                    let Reverse((time, _, device)) = h.pop().expect("hold model keeps n pending");
                    seq += 1;
                    h.push(Reverse((time + delays[i & (DELAYS - 1)], seq, device)));
                    i = i.wrapping_add(1);
                }
                black_box(h.len());
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
