//! The live engine's measurements, kept per worker thread so that device steps on different
//! threads never wait for one another, and merged by the engine's own task.
//!
//! Each thread that runs a device step gets a slot on its first step; the step locks that
//! slot's [`WorkerBooks`] for its length — a lock no device task on another thread contends
//! for, and that the engine's drain takes only for the moment it needs to swap the event log
//! out (every 250 ms).
//!
//! What a worker keeps:
//! - generator lag and wire connect times, and the count of late actions: histograms and sums
//!   that add up exactly ([`Histogram::add`]), merged at the end;
//! - the [`Recorder`] events of its steps (attempts, answers, boots, online/offline), each
//!   stamped with a run-wide sequence number taken under the worker's lock. The [`Recorder`]
//!   cannot be merged after the fact (its timeline rows snapshot fleet-wide levels, and its
//!   `online.t50`… times need the fleet-wide order of first-online events), so the engine's
//!   task drains the workers' events ([`Books::drain`]) and replays them into the one
//!   [`Recorder`] ([`Replay`]) in stamp order: an order in which every step comes after each
//!   step that finished before it started, as under the one shared lock this replaced.
//!
//! A drain reads the sequence before it locks any worker and replays only the events stamped
//! below it: such an event's step took its number before the drain read it, under a lock the
//! drain then waits for, so all of that step's events are in this drain. Events stamped later
//! wait for the next drain, so a device's answer never reaches the [`Recorder`] before its
//! attempt, even when its task moved to another thread between the two.
//!
//! The connection counts (opened, failed, dropped, open now and its peak) stay in the shared
//! atomics of [`super::ctx::Counters`]: a peak of the open count across threads is not the sum
//! of per-thread peaks, and one `fetch_add`/`fetch_max` per connection is cheap.

use crate::results::{Op, Outcome, Recorder};
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

/// Generator lag over this many microseconds makes an action late (`late_actions`).
const LATE_US: u64 = 100_000;

/// One [`Recorder`] call, as logged by a worker.
#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    Attempt(Op, SimTime),
    Complete(Op, Outcome, SimTime, SimDuration),
    Booted(SimTime),
    Online(SimTime, bool),
    Offline(SimTime),
    Repeat(Op),
}

impl Event {
    fn apply(self, r: &mut Recorder) {
        match self {
            Event::Attempt(op, at) => r.attempt(op, at),
            Event::Complete(op, outcome, at, latency) => r.complete(op, outcome, at, latency),
            Event::Booted(at) => r.booted(at),
            Event::Online(at, first) => r.online(at, first),
            Event::Offline(at) => r.offline(at),
            Event::Repeat(op) => r.repeat(op),
        }
    }
}

/// One worker thread's measurements.
pub(super) struct WorkerBooks {
    /// Recorder events not yet drained, each with the stamp of the step that logged it.
    events: Vec<(u64, Event)>,
    /// The stamp of the step holding the lock.
    stamp: u64,
    lag: Histogram<u64>,
    late_actions: u64,
    wire_connect: Histogram<u64>,
}

impl WorkerBooks {
    fn new() -> WorkerBooks {
        WorkerBooks {
            events: Vec::new(),
            stamp: 0,
            lag: histogram(),
            late_actions: 0,
            wire_connect: histogram(),
        }
    }

    /// Logs one [`Recorder`] call of the step holding the lock.
    pub(super) fn log(&mut self, e: Event) {
        self.events.push((self.stamp, e));
    }

    /// How late a scheduled action ran.
    pub(super) fn record_lag(&mut self, lag: SimDuration) {
        let us = lag.as_micros();
        record(&mut self.lag, us);
        if us > LATE_US {
            self.late_actions += 1;
        }
    }
}

/// Which books the threads' slots belong to (a process may run several live runs, one after
/// another or at once, as the tests do).
static NEXT_BOOKS_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's slot: (the id of the [`Books`] it belongs to, its index there).
    static SLOT: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
}

/// Every worker's books of one run.
pub(crate) struct Books {
    id: u64,
    workers: Vec<Mutex<WorkerBooks>>,
    /// The next slot to hand out (modulo `workers.len()`).
    next_slot: AtomicUsize,
    /// The next step's stamp.
    sequence: AtomicU64,
}

/// The one [`Recorder`] the workers' events are replayed into, owned by the engine's task,
/// and the drained events that wait for a later drain.
pub(crate) struct Replay {
    recorder: Recorder,
    pending: Vec<(u64, Event)>,
}

impl Replay {
    pub(crate) fn new(recorder: Recorder) -> Replay {
        Replay {
            recorder,
            pending: Vec::new(),
        }
    }
}

/// What the books add up to at the end of a run.
pub(crate) struct Totals {
    pub recorder: Recorder,
    pub lag: Histogram<u64>,
    pub late_actions: u64,
    pub wire_connect: Histogram<u64>,
}

impl Books {
    /// Books for `workers` threads (the runtime's worker threads); more threads than that
    /// share slots, correctly.
    pub(crate) fn new(workers: usize) -> Books {
        Books {
            id: NEXT_BOOKS_ID.fetch_add(1, Relaxed),
            workers: (0..workers.max(1))
                .map(|_| Mutex::new(WorkerBooks::new()))
                .collect(),
            next_slot: AtomicUsize::new(0),
            sequence: AtomicU64::new(0),
        }
    }

    /// The calling thread's slot, handed out on its first call.
    fn slot(&self) -> usize {
        SLOT.with(|s| match s.get() {
            (id, i) if id == self.id => i,
            _ => {
                let i = self.next_slot.fetch_add(1, Relaxed) % self.workers.len();
                s.set((self.id, i));
                i
            }
        })
    }

    /// The calling thread's books, locked for one device step: the events it logs get the
    /// step's stamp.
    pub(super) fn step(&self) -> MutexGuard<'_, WorkerBooks> {
        self.step_in(self.slot())
    }

    fn step_in(&self, slot: usize) -> MutexGuard<'_, WorkerBooks> {
        let mut b = lock(&self.workers[slot]);
        // Under the lock: see the module doc.
        b.stamp = self.sequence.fetch_add(1, Relaxed);
        b
    }

    /// An MQTT CONNECT was answered `us` after its TCP connect started.
    pub(super) fn record_wire_connect(&self, us: u64) {
        record(&mut lock(&self.workers[self.slot()]).wire_connect, us);
    }

    /// Replays into `into`'s [`Recorder`], in stamp order, every event stamped before this
    /// call; later ones wait in `into` for the next drain.
    pub(crate) fn drain(&self, into: &mut Replay) {
        let cutoff = self.sequence.load(Relaxed);
        let recorder = &mut into.recorder;
        self.replay_before(cutoff, &mut into.pending, |e| e.apply(recorder));
    }

    /// Hands `apply`, in stamp order, the events stamped before `cutoff` (read before this
    /// call); `pending` keeps the rest for the next call.
    fn replay_before(
        &self,
        cutoff: u64,
        pending: &mut Vec<(u64, Event)>,
        mut apply: impl FnMut(Event),
    ) {
        for w in &self.workers {
            // Only the swap under the worker's lock.
            let events = std::mem::take(&mut lock(w).events);
            pending.extend(events);
        }
        // Stable: one step's events keep their order (each worker's log is already sorted,
        // so this merges a few sorted runs).
        pending.sort_by_key(|&(stamp, _)| stamp);
        let ready = pending.partition_point(|&(stamp, _)| stamp < cutoff);
        for (_, e) in pending.drain(..ready) {
            apply(e);
        }
    }

    /// Everything, once no device task is left.
    pub(crate) fn into_totals(self, replay: Replay) -> Totals {
        let Replay {
            mut recorder,
            mut pending,
        } = replay;
        self.replay_before(u64::MAX, &mut pending, |e| e.apply(&mut recorder));
        let mut lag = histogram();
        let mut wire_connect = histogram();
        let mut late_actions = 0;
        for w in self.workers {
            let w = w.into_inner().unwrap_or_else(|e| e.into_inner());
            add(&mut lag, &w.lag);
            add(&mut wire_connect, &w.wire_connect);
            late_actions += w.late_actions;
        }
        Totals {
            recorder,
            lag,
            late_actions,
            wire_connect,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures")
}

/// Adds `from` into `into`, growing it as needed.
fn add(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    into.add(from)
        .expect("auto-resizing histograms add (short of a u64 count overflowing)");
}

/// Records into an auto-resizing histogram (`saturating_record` alone would clamp to its
/// current, tiny, range instead of growing it).
fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

#[cfg(test)]
mod tests;
