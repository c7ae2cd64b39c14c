//! Throughput of the recorder's hot path. Run: `cargo bench --bench recorder`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleetsim::results::{Op, Outcome, Recorder};
use fleetsim::time::{SimDuration, SimTime};
use std::hint::black_box;

const N: u64 = 1_000_000;

/// A deterministic mix: 80 % Ok, 15 % throttled, 4 % error, 1 % timeout, latencies from
/// 1 ms to ~4 s, time advancing 10 µs per event (so 10 s of simulated time per batch: ten
/// 1 s timeline buckets, an hlog roll-over every 60 s across batches).
fn events() -> Vec<(Op, Outcome, SimTime, SimDuration)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..N)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let op = Op::ALL[(x % 5) as usize];
            let outcome = match x % 100 {
                0..80 => Outcome::Ok,
                80..95 => Outcome::Throttled,
                95..99 => Outcome::Error,
                _ => Outcome::Timeout,
            };
            (
                op,
                outcome,
                SimTime(i * 10),
                SimDuration::from_micros(1_000 + (x >> 40) % 4_000_000),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let evs = events();
    let mut g = c.benchmark_group("recorder");
    g.throughput(Throughput::Elements(N));

    g.bench_function("complete", |b| {
        let mut r = Recorder::new(N, SimDuration::from_secs(1));
        let mut offset = 0u64;
        b.iter(|| {
            for &(op, outcome, at, latency) in &evs {
                r.complete(op, outcome, SimTime(at.0 + offset), latency);
            }
            offset += N * 10;
            black_box(&r);
        });
    });

    g.bench_function("attempt+complete", |b| {
        let mut r = Recorder::new(N, SimDuration::from_secs(1));
        let mut offset = 0u64;
        b.iter(|| {
            for &(op, outcome, at, latency) in &evs {
                let at = SimTime(at.0 + offset);
                r.attempt(op, at);
                r.complete(op, outcome, at, latency);
            }
            offset += N * 10;
            black_box(&r);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
