//! The scale benchmark of issue #2: the virtual engine on a shipped scenario against two
//! floors — a bare binary heap and a bare `CalendarQueue`, each running the same number of
//! hold steps (pop one, push one a little later) with as many events pending as the fleet has
//! devices — and a verdict against the issue's targets.
//!
//! ```text
//! cargo run --release --example scale                       # scenarios/blackout.toml, 1M
//! cargo run --release --example scale -- SCENARIO --set fleet.devices=100k
//! cargo run --release --example scale -- --floor-events 91M   # floors as long as the engine
//! ```
//!
//! Each floor runs as many steps as the engine had events, at most 20M by default (matching
//! the 91M events of the 1M blackout step for step takes the heap floor two minutes); the hold
//! model keeps the pending count constant, so a capped floor measures the same rate.
//! `--floor-events N` sets the length.
//!
//! Peak memory is read (VmHWM) right after the engine run, before the floors allocate.

// Examples are outside the sans-IO core: this one times the engine and the floors with the
// wall clock.
#![allow(clippy::disallowed_methods)]

use fleetsim::engine::queue::{CalendarQueue, Entry};
use fleetsim::engine::virtual_time::VirtualEngine;
use fleetsim::input::load_file;
use fleetsim::report::run_info::peak_rss_bytes;
use fleetsim::scenario::Scenario;
use fleetsim::scenario::units::parse_count;
use fleetsim::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

const DEFAULT_SCENARIO: &str = "scenarios/blackout.toml";

/// Issue #2: the 1M blackout in at most this many wall seconds…
const TARGET_WALL_S: f64 = 60.0;
/// …in at most this much peak memory per device…
const TARGET_BYTES_PER_DEVICE: f64 = 300.0;
/// …at no less than this share of the calendar-queue floor's event rate.
const TARGET_FLOOR_SHARE: f64 = 0.25;

/// Floor events start spread over [0, 100 s) and are pushed back 1–100 s after they pop,
/// like the engine's mix of backoffs, polls and telemetry intervals.
const FLOOR_SPREAD_US: u64 = 100_000_000;
const FLOOR_MIN_DELAY_US: u64 = 1_000_000;
const FLOOR_DELAY_RANGE_US: u64 = 99_000_000;

/// Default length of each floor, in hold steps.
const DEFAULT_FLOOR_EVENTS: u64 = 20_000_000;

struct Args {
    scenario: PathBuf,
    sets: Vec<String>,
    /// Hold steps per floor; default: as many as the engine had events.
    floor_events: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut scenario = None;
    let mut sets = Vec::new();
    let mut floor_events = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--set" || a == "-s" {
            sets.push(it.next().ok_or("--set needs a key=value")?);
        } else if let Some(kv) = a.strip_prefix("--set=") {
            sets.push(kv.to_string());
        } else if a == "--floor-events" {
            let n = it.next().ok_or("--floor-events needs a count")?;
            floor_events = Some(parse_count(&n).map_err(|e| format!("--floor-events: {e}"))?);
        } else if a == "-h" || a == "--help" {
            return Err(String::new());
        } else if a.starts_with('-') {
            return Err(format!("unknown option {a}"));
        } else if scenario.is_none() {
            scenario = Some(PathBuf::from(a));
        } else {
            return Err(format!("unexpected argument {a}"));
        }
    }
    Ok(Args {
        scenario: scenario.unwrap_or_else(|| PathBuf::from(DEFAULT_SCENARIO)),
        sets,
        floor_events,
    })
}

/// xorshift64: a few cycles per draw, so the floors measure their queue.
#[inline(always)]
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A delay in [1 s, 100 s) µs, by multiply-shift (no division).
#[inline(always)]
fn delay(x: &mut u64) -> u64 {
    FLOOR_MIN_DELAY_US + (((xorshift(x) >> 32) * FLOOR_DELAY_RANGE_US) >> 32)
}

/// `pending` initial (time, device) pairs, times uniform over [0, 100 s).
fn initial(pending: u32) -> Vec<(u64, u32)> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..pending)
        .map(|d| (((xorshift(&mut x) >> 32) * FLOOR_SPREAD_US) >> 32, d))
        .collect()
}

/// Hold loop over a binary heap of `Reverse<(time, seq, device)>`. Returns wall seconds.
fn heap_floor(init: &[(u64, u32)], events: u64) -> f64 {
    let mut seq = 0u64;
    let v: Vec<Reverse<(u64, u64, u32)>> = init
        .iter()
        .map(|&(t, d)| {
            seq += 1;
            Reverse((t, seq, d))
        })
        .collect();
    let mut h = BinaryHeap::from(v);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut sum = 0u64;
    let t0 = Instant::now();
    for _ in 0..events {
        let Reverse((t, _, d)) = h.pop().expect("hold keeps the heap full");
        sum = sum.wrapping_add(t);
        seq += 1;
        h.push(Reverse((t + delay(&mut x), seq, d)));
    }
    let s = t0.elapsed().as_secs_f64();
    black_box((sum, h.len()));
    s
}

/// The same hold loop over `CalendarQueue` (1 ms level-0 slots). Returns wall seconds.
fn calendar_floor(init: &[(u64, u32)], events: u64) -> f64 {
    let mut q = CalendarQueue::new();
    for &(time, device) in init {
        q.push(Entry {
            time,
            device,
            payload: 0,
        });
    }
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut sum = 0u64;
    let t0 = Instant::now();
    for _ in 0..events {
        let e = q.pop().expect("hold keeps the queue full");
        sum = sum.wrapping_add(e.time);
        q.push(Entry {
            time: e.time + delay(&mut x),
            ..e
        });
    }
    let s = t0.elapsed().as_secs_f64();
    black_box((sum, q.len()));
    s
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// The engine's run, timed: what the report and the floors need of it.
struct EngineRun {
    build_s: f64,
    run_s: f64,
    wall_s: f64,
    /// Peak RSS before the engine was built, and right after its run (bytes).
    rss_before: u64,
    peak: Option<u64>,
    events: u64,
    stop: &'static str,
    end: SimTime,
}

impl EngineRun {
    /// Events per wall second of the run loop.
    fn rate(&self) -> f64 {
        self.events as f64 / self.run_s
    }
}

/// The two floors' hold loops, timed.
struct Floors {
    steps: u64,
    pending: u32,
    heap_s: f64,
    cal_s: f64,
}

impl Floors {
    /// Hold steps per wall second of the heap floor.
    fn heap_rate(&self) -> f64 {
        self.steps as f64 / self.heap_s
    }
    /// Hold steps per wall second of the calendar floor.
    fn cal_rate(&self) -> f64 {
        self.steps as f64 / self.cal_s
    }
}

/// The command line and the scenario it names, or the exit code after the message.
fn load() -> Result<(Args, Scenario), ExitCode> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("scale: {e}");
            }
            eprintln!(
                "usage: cargo run --release --example scale [-- SCENARIO [--set key=value]... [--floor-events N]]"
            );
            return Err(ExitCode::from(2));
        }
    };
    match load_file(&args.scenario, &args.sets) {
        Ok(sc) => Ok((args, sc)),
        Err(e) => {
            eprintln!("scale: {}", e.render());
            Err(ExitCode::from(2))
        }
    }
}

fn print_header(args: &Args, sc: &Scenario) {
    println!("fleetsim scale benchmark (issue #2)");
    println!("  scenario           {}", args.scenario.display());
    println!("  name               {}", sc.name);
    println!("  devices            {}", sc.fleet.devices);
    println!("  seed               {}", sc.seed);
    for s in &args.sets {
        println!("  --set              {s}");
    }
    println!();
}

/// Step 1, the engine: built and run to its end, the peak memory read before the floors
/// allocate.
fn run_engine(sc: &Scenario) -> EngineRun {
    let rss_before = peak_rss_bytes().unwrap_or(0);
    let t0 = Instant::now();
    let engine = VirtualEngine::new(sc);
    let build_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let r = engine.run(|_| {}, &AtomicBool::new(false));
    let run_s = t1.elapsed().as_secs_f64();
    let wall_s = t0.elapsed().as_secs_f64();
    // Before the floors allocate: this figure is the engine's own.
    let peak = peak_rss_bytes();
    let run = EngineRun {
        build_s,
        run_s,
        wall_s,
        rss_before,
        peak,
        events: r.events,
        stop: r.stop.name(),
        end: r.end,
    };
    drop(r);
    run
}

fn print_engine(e: &EngineRun, devices: u64) {
    let EngineRun {
        build_s,
        run_s,
        wall_s,
        rss_before,
        peak,
        events,
        stop,
        end,
    } = *e;
    println!("engine (virtual)");
    println!("  build fleet        {build_s:>12.2} s");
    println!("  run loop           {run_s:>12.2} s");
    println!("  wall total         {wall_s:>12.2} s");
    println!(
        "  simulated          {:>12}   (stop: {stop})",
        end.to_string()
    );
    println!("  events             {events:>12}");
    println!("  events/s           {:>12.0}   (run loop)", e.rate());
    println!(
        "  events/s           {:>12.0}   (incl. build)",
        events as f64 / wall_s
    );
    match (peak, bytes_per_device(e, devices)) {
        (Some(p), Some(b)) => {
            println!(
                "  peak RSS           {:>12.1} MiB (before the engine: {:.1} MiB)",
                mib(p),
                mib(rss_before)
            );
            println!(
                "  bytes/device       {b:>12.0}   (peak RSS / devices; {:.0} above the baseline)",
                p.saturating_sub(rss_before) as f64 / devices.max(1) as f64
            );
        }
        _ => println!("  peak RSS                    n/a   (no /proc/self/status)"),
    }
    println!();
}

/// Peak RSS per device, if the peak is known.
fn bytes_per_device(e: &EngineRun, devices: u64) -> Option<f64> {
    e.peak.map(|p| p as f64 / devices.max(1) as f64)
}

/// Step 2, the floors: as many hold steps as the engine had events (unless capped), as many
/// pending as the fleet has devices.
/// A hold loop keeps the pending count constant, so its rate is stable after a few million
/// steps: by default the floors run at most DEFAULT_FLOOR_EVENTS (the heap floor would take
/// two minutes to match a 1M-device engine run step for step).
fn run_floors(floor_events: Option<u64>, events: u64, devices: u64) -> Floors {
    let steps = floor_events
        .unwrap_or(events.min(DEFAULT_FLOOR_EVENTS))
        .max(1);
    let pending = devices.clamp(1, u32::MAX as u64) as u32;
    let init = initial(pending);
    let heap_s = heap_floor(&init, steps);
    let cal_s = calendar_floor(&init, steps);
    Floors {
        steps,
        pending,
        heap_s,
        cal_s,
    }
}

fn print_floors(f: &Floors) {
    let Floors {
        steps,
        pending,
        heap_s,
        cal_s,
    } = *f;
    let (heap_rate, cal_rate) = (f.heap_rate(), f.cal_rate());
    println!("floors ({steps} hold steps, {pending} pending, delays U[1 s, 100 s))");
    println!("  binary heap        {heap_s:>12.2} s   {heap_rate:>12.0} events/s");
    println!("  calendar queue     {cal_s:>12.2} s   {cal_rate:>12.0} events/s");
    println!();
}

/// Step 3, the ratios: the engine's and the heap's rates over the calendar floor's. Returns the
/// engine's share.
fn print_ratios(e: &EngineRun, f: &Floors) -> f64 {
    let share = e.rate() / f.cal_rate();
    println!("ratios");
    println!(
        "  engine / calendar  {:>12.1} %   (target >= {:.0} %)",
        share * 100.0,
        TARGET_FLOOR_SHARE * 100.0
    );
    println!(
        "  heap / calendar    {:>12.1} %",
        f.heap_rate() / f.cal_rate() * 100.0
    );
    println!();
    share
}

/// Step 4, the verdict (printed, never an exit code: the machine may be shared and noisy).
fn print_verdict(e: &EngineRun, devices: u64, share: f64) {
    let wall_s = e.wall_s;
    let mem = match bytes_per_device(e, devices) {
        Some(b) => format!(
            "{} ({b:.0} B/device, target <= {TARGET_BYTES_PER_DEVICE:.0})",
            verdict(b <= TARGET_BYTES_PER_DEVICE)
        ),
        None => "n/a (peak RSS unknown)".to_string(),
    };
    println!(
        "verdict: wall {} ({wall_s:.1} s, target <= {TARGET_WALL_S:.0} s) | memory {mem} | rate {} ({:.0} % of floor, target >= {:.0} %)",
        verdict(wall_s <= TARGET_WALL_S),
        verdict(share >= TARGET_FLOOR_SHARE),
        share * 100.0,
        TARGET_FLOOR_SHARE * 100.0,
    );
    if devices != 1_000_000 {
        println!("         (the targets are for 1M devices; this run has {devices})");
    }
}

fn main() -> ExitCode {
    let (args, sc) = match load() {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let devices = sc.fleet.devices;
    print_header(&args, &sc);
    let engine = run_engine(&sc);
    print_engine(&engine, devices);
    let floors = run_floors(args.floor_events, engine.events, devices);
    print_floors(&floors);
    let share = print_ratios(&engine, &floors);
    print_verdict(&engine, devices, share);
    ExitCode::SUCCESS
}
