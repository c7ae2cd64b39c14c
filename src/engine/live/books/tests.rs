//! The per-worker books: every event reaches the Recorder once, in each device's order, across
//! threads and drains; histograms add up; and a side-by-side timing against one shared lock.

use super::*;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn at(us: u64) -> SimTime {
    SimTime(us)
}

/// The `Booted` times a replay hands on, in its order.
fn replayed(books: &Books, cutoff: u64, pending: &mut Vec<(u64, Event)>) -> Vec<u64> {
    let mut out = Vec::new();
    books.replay_before(cutoff, pending, |e| match e {
        Event::Booted(t) => out.push(t.as_micros()),
        e => panic!("only boots are logged here, not {e:?}"),
    });
    out
}

#[test]
fn events_replay_in_stamp_order_and_wait_for_their_cutoff() {
    let books = Books::new(2);
    // Stamps 0, 1, 2, 3: the slots' logs interleave.
    books.step_in(1).log(Event::Booted(at(10)));
    let mut b = books.step_in(0);
    b.log(Event::Booted(at(20)));
    b.log(Event::Booted(at(21)));
    drop(b);
    books.step_in(1).log(Event::Booted(at(30)));
    books.step_in(0).log(Event::Booted(at(40)));
    let mut pending = Vec::new();
    assert_eq!(replayed(&books, 3, &mut pending), [10, 20, 21, 30]);
    assert_eq!(
        pending.len(),
        1,
        "the step stamped 3 waits for a later drain"
    );
    books.step_in(1).log(Event::Booted(at(50)));
    assert_eq!(replayed(&books, u64::MAX, &mut pending), [40, 50]);
    assert!(pending.is_empty());
}

#[test]
fn the_recorder_sees_every_event_and_the_histograms_add_up() {
    let books = Books::new(2);
    let mut replay = Replay::new(Recorder::new(3, SimDuration::from_secs(1)));
    let mut all_lag = histogram();
    for (i, lag_ms) in [1, 150, 7, 300, 2].into_iter().enumerate() {
        let mut b = books.step_in(i % 2);
        b.record_lag(SimDuration::from_millis(lag_ms));
        b.log(Event::Attempt(Op::HubConnect, at(i as u64)));
        b.log(Event::Complete(
            Op::HubConnect,
            Outcome::Ok,
            at(i as u64 + 5),
            SimDuration::from_millis(lag_ms),
        ));
        record(&mut all_lag, lag_ms * 1000);
    }
    books.drain(&mut replay);
    books.step_in(1).log(Event::Online(at(9), true));
    books.record_wire_connect(1234);
    let t = books.into_totals(replay);
    let ops = t.recorder.counts(Op::HubConnect);
    assert_eq!((ops.attempts, ops.ok), (5, 5));
    assert_eq!(t.recorder.levels().in_flight, 0);
    assert_eq!(
        t.recorder.levels().ever_online,
        1,
        "the last step is in the totals"
    );
    assert_eq!(t.late_actions, 2);
    assert_eq!(t.lag.len(), 5);
    for q in [0.5, 0.99, 1.0] {
        assert_eq!(t.lag.value_at_quantile(q), all_lag.value_at_quantile(q));
    }
    assert_eq!(t.wire_connect.len(), 1);
}

#[test]
fn threads_get_slots_of_their_own_per_run() {
    let a = Books::new(2);
    assert_eq!(a.slot(), 0);
    assert_eq!(a.slot(), 0, "kept");
    std::thread::scope(|s| {
        assert_eq!(s.spawn(|| a.slot()).join().unwrap(), 1);
        assert_eq!(
            s.spawn(|| a.slot()).join().unwrap(),
            0,
            "a third thread shares"
        );
    });
    let b = Books::new(2);
    assert_eq!(
        b.slot(),
        0,
        "a slot in one run's books is none in another's"
    );
    assert_eq!(b.next_slot.load(Relaxed), 1);
}

/// Devices whose steps hop between workers (as tokio tasks move between threads), with the
/// engine draining all the while: each device's events reach the replay in its own order,
/// none lost, none twice.
#[test]
fn concurrent_steps_replay_in_each_devices_order() {
    const DEVICES: u64 = 4;
    const STEPS: u64 = 20_000;
    let books = Books::new(2);
    let done = AtomicBool::new(false);
    let order = std::thread::scope(|s| {
        let drainer = s.spawn(|| {
            let (mut order, mut pending) = (Vec::new(), Vec::new());
            while !done.load(Relaxed) {
                order.extend(replayed(&books, books.sequence.load(Relaxed), &mut pending));
            }
            (order, pending)
        });
        let devices: Vec<_> = (0..DEVICES)
            .map(|d| {
                let books = &books;
                s.spawn(move || {
                    for k in 0..STEPS {
                        let slot = ((d + k) % 2) as usize;
                        books.step_in(slot).log(Event::Booted(at(d << 32 | k)));
                    }
                })
            })
            .collect();
        devices.into_iter().for_each(|h| h.join().unwrap());
        done.store(true, Relaxed);
        let (mut order, mut pending) = drainer.join().unwrap();
        order.extend(replayed(&books, u64::MAX, &mut pending));
        order
    });
    let mut next = [0u64; DEVICES as usize];
    for t in order {
        let (d, k) = ((t >> 32) as usize, t & 0xffff_ffff);
        assert_eq!(k, next[d], "device {d}'s step {k} replayed out of order");
        next[d] += 1;
    }
    assert_eq!(next, [STEPS; DEVICES as usize]);
}

/// One step's book-keeping as the live engine did it before: the whole run's [`Recorder`]
/// and lag histogram behind one lock.
struct OneLock {
    recorder: Recorder,
    lag: Histogram<u64>,
}

/// Contention before and after, on this machine's cores: `threads` threads each run `steps`
/// steps (a lag sample, an attempt and its answer), against one shared lock and against the
/// per-worker books drained every 250 ms. Run with
/// `cargo test --release --lib engine::live::books -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run it by hand, in release"]
#[allow(clippy::disallowed_methods)] // a measurement reads the clock
fn contention_one_lock_against_per_worker_books() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let steps: u64 = 1_000_000;
    let bucket = SimDuration::from_secs(1);
    let one = Mutex::new(OneLock {
        recorder: Recorder::new(threads as u64, bucket),
        lag: histogram(),
    });
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for k in 0..steps {
                    let mut b = lock(&one);
                    record(&mut b.lag, k % 1000);
                    b.recorder.attempt(Op::HubTelemetry, at(k));
                    b.recorder.complete(
                        Op::HubTelemetry,
                        Outcome::Ok,
                        at(k),
                        SimDuration(k % 1000),
                    );
                }
            });
        }
    });
    let before = t0.elapsed();
    let books = Books::new(threads);
    let mut replay = Replay::new(Recorder::new(threads as u64, bucket));
    let done = AtomicBool::new(false);
    let t0 = Instant::now();
    let workers_done = std::thread::scope(|s| {
        let (books, replay, done) = (&books, &mut replay, &done);
        let drainer = s.spawn(move || {
            let mut last = Instant::now();
            while !done.load(Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(5));
                if last.elapsed() >= std::time::Duration::from_millis(250) {
                    books.drain(replay);
                    last = Instant::now();
                }
            }
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    for k in 0..steps {
                        let mut b = books.step();
                        b.record_lag(SimDuration(k % 1000));
                        b.log(Event::Attempt(Op::HubTelemetry, at(k)));
                        b.log(Event::Complete(
                            Op::HubTelemetry,
                            Outcome::Ok,
                            at(k),
                            SimDuration(k % 1000),
                        ));
                    }
                })
            })
            .collect();
        workers.into_iter().for_each(|h| h.join().unwrap());
        let workers_done = t0.elapsed();
        done.store(true, Relaxed);
        drainer.join().unwrap();
        workers_done
    });
    let t1 = Instant::now();
    let t = books.into_totals(replay);
    // The steps, and what was left to replay once they were done.
    let after = workers_done + t1.elapsed();
    let one = one.into_inner().unwrap();
    let (a, b) = (
        one.recorder.counts(Op::HubTelemetry),
        t.recorder.counts(Op::HubTelemetry),
    );
    assert_eq!((a.attempts, a.ok), (b.attempts, b.ok));
    assert_eq!(one.lag.len(), t.lag.len());
    let per_step = |d: std::time::Duration| d.as_nanos() as f64 / (threads as u64 * steps) as f64;
    println!(
        "{threads} threads × {steps} steps: one lock {:.0} ms ({:.0} ns/step), per-worker books \
         {:.0} ms ({:.0} ns/step, the replay included)",
        before.as_secs_f64() * 1e3,
        per_step(before),
        after.as_secs_f64() * 1e3,
        per_step(after)
    );
}
