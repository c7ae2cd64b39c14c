//! Broken input, table by table (issue #8, part 1): every scenario key with a wrong type,
//! out-of-range and inconsistent values, unknown keys, files that are not scenarios, huge
//! numbers, durations that overflow, bad `--set`, `--seed` and `--out`, and the same for
//! `validate`, `plan`, `compare`, `report` and `mock`.
//!
//! Every case runs the real binary and must exit 2, say where the problem is (file:line:col and
//! key for a scenario, the flag for the command line) and what was expected, never panic, and
//! write nothing. A table reports every failing case at once, not just the first.

mod common;
use assert_cmd::cargo::cargo_bin_cmd;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tempfile::TempDir;

/// tests/fixtures/inputs.toml: every scenario key once, each on its own line.
fn base() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inputs.toml"))
        .unwrap()
}

/// `text` with the one line equal to `line` (trimmed) replaced by `with`; returns the new text
/// and the 1-based line number of the replacement.
fn edit(text: &str, line: &str, with: &str) -> (String, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim() == line)
        .collect();
    assert_eq!(at.len(), 1, "{line:?} must occur once in the fixture");
    let mut out: Vec<&str> = lines.clone();
    out[at[0]] = with;
    (out.join("\n") + "\n", at[0] + 1)
}

/// `text` with the block `from` (which must occur once) replaced by `to`.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} in the fixture");
    text.replace(from, to)
}

const ARRIVAL: &str = "kind = \"burst\"\nstart = \"0s\"\nwindow = \"10s\"\nspread = \"uniform\"\n";

/// The fixture with its `[arrival]` body replaced (for the keys of the other arrival kinds).
fn with_arrival(body: &str) -> String {
    swap(&base(), ARRIVAL, body)
}

const RAMP: &str = "kind = \"ramp\"\nwindow = \"10s\"\nfrom = 0.5\nto = 1.0\n";
const WAVE_EVERY: &str =
    "kind = \"wave\"\nwindow = \"5s\"\nevery = \"10s\"\nfractions = [0.5, 0.5]\n";
const WAVES: &str = "kind = \"wave\"\nwaves = [\n  { at = \"0s\", share = 0.5, window = \"5s\" },\n  { at = \"10s\", share = 0.5 },\n]\n";
const POISSON: &str = "kind = \"poisson\"\nrate = 100.0\n";
const CURVE: &str = "kind = \"curve\"\nstep = \"1s\"\nweights = [1.0, 2.0]\ndays = [1.0]\nzones = [\n  { share = 1.0, offset = \"0s\" },\n]\n";

/// Runs `fleetsim ARGS` in `cwd` with `env` set (and no inherited group key or backtrace
/// setting), killed after 30 s.
fn fleetsim_env(cwd: &Path, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut c = cargo_bin_cmd!("fleetsim");
    c.current_dir(cwd)
        .args(args)
        .env_remove("FLEETSIM_GROUP_KEY")
        .env_remove("RUST_BACKTRACE")
        .timeout(Duration::from_secs(30));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("fleetsim runs")
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Collects the failures of a table of cases, to report them all at once.
struct Table {
    cwd: TempDir,
    failures: Vec<String>,
    cases: usize,
}

impl Table {
    fn new() -> Table {
        Table {
            cwd: TempDir::new().unwrap(),
            failures: Vec::new(),
            cases: 0,
        }
    }

    fn dir(&self) -> &Path {
        self.cwd.path()
    }

    fn path(&self, name: &str) -> String {
        self.dir().join(name).to_str().unwrap().to_string()
    }

    /// `fleetsim ARGS` must exit 2, with each of `expect` in stderr, no panic, nothing on
    /// stdout and nothing new in the working directory. `{out}` in ARGS is a results
    /// directory that must not appear.
    fn bad(&mut self, args: &[&str], expect: &[&str]) {
        self.bad_env(args, &[], expect);
    }

    fn bad_env(&mut self, args: &[&str], env: &[(&str, &str)], expect: &[&str]) {
        self.cases += 1;
        let out = self.dir().join("results-of-a-bad-run");
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{out}", out.to_str().unwrap()))
            .collect();
        let before = listing(self.dir());
        let o = fleetsim_env(self.dir(), &args, env);
        let err = stderr(&o);
        let mut why = Vec::new();
        if o.status.code() != Some(2) {
            why.push(format!("exit {:?}, not 2", o.status.code()));
        }
        for e in expect {
            if !err.contains(e) {
                why.push(format!("stderr lacks {e:?}"));
            }
        }
        for bad in ["panicked", "RUST_BACKTRACE"] {
            if err.contains(bad) {
                why.push(format!("stderr has {bad:?}"));
            }
        }
        if !o.stdout.is_empty() {
            why.push(format!("stdout: {}", stdout(&o)));
        }
        if out.exists() {
            why.push("wrote the results directory".into());
        }
        let after = listing(self.dir());
        if after != before {
            let new: Vec<_> = after.difference(&before).collect();
            why.push(format!("wrote into the working directory: {new:?}"));
            // Clean up, so one failure does not fail every case after it.
            for n in new {
                let p = self.dir().join(n);
                let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
            }
        }
        if !why.is_empty() {
            self.failures.push(format!(
                "fleetsim {}\n  {}\n  --- stderr ---\n{err}",
                args.join(" "),
                why.join("\n  ")
            ));
        }
    }

    /// A scenario `text` written as `t.toml`: `validate` and `run` must both refuse it.
    fn scenario(&mut self, text: &str, expect: &[&str]) {
        let path = self.path("t.toml");
        fs::write(&path, text).unwrap();
        self.bad(&["validate", &path], expect);
        self.bad(&["run", &path, "--out", "{out}"], expect);
    }

    /// The fixture with `line` replaced by `with`: refused at `t.toml:LINE:`, naming `key`,
    /// with each of `expect`.
    fn line(&mut self, line: &str, with: &str, key: &str, expect: &[&str]) {
        self.line_in(&base(), line, with, key, expect);
    }

    fn line_in(&mut self, text: &str, line: &str, with: &str, key: &str, expect: &[&str]) {
        let (text, n) = edit(text, line, with);
        let at = format!("t.toml:{n}:");
        let mut all = vec![at.as_str(), key];
        all.extend_from_slice(expect);
        self.scenario(&text, &all);
    }

    /// The fixture with `--set SET`: refused naming the `--set` and `key`, with `expect`.
    fn set(&mut self, set: &str, key: &str, expect: &[&str]) {
        let path = self.path("base.toml");
        if !Path::new(&path).exists() {
            fs::write(&path, base()).unwrap();
        }
        let place = format!("--set '{set}'");
        let mut all = vec![place.as_str(), key];
        all.extend_from_slice(expect);
        self.bad(&["validate", &path, "--set", set], &all);
        self.bad(&["run", &path, "--set", set, "--out", "{out}"], &all);
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} cases failed:\n\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n\n")
        );
    }
}

#[test]
fn the_fixture_and_its_arrival_variants_are_valid() {
    let cwd = TempDir::new().unwrap();
    let mut texts = vec![base()];
    for a in [RAMP, WAVE_EVERY, WAVES, POISSON, CURVE] {
        texts.push(with_arrival(a));
    }
    for (i, text) in texts.iter().enumerate() {
        let path = cwd.path().join(format!("v{i}.toml"));
        fs::write(&path, text).unwrap();
        let o = fleetsim(cwd.path(), &["validate", path.to_str().unwrap()]);
        assert_exit(&o, 0);
    }
}

// ---- every key with a wrong type ----

#[test]
fn every_scenario_key_with_a_wrong_type_is_placed_and_explained() {
    let mut t = Table::new();
    // (the line as in the fixture, the broken line, the key path)
    let cases: &[(&str, &str, &str)] = &[
        ("name = \"inputs\"", "name = 5", "scenario.name"),
        (
            "description = \"every key, small\"",
            "description = [\"x\"]",
            "scenario.description",
        ),
        ("seed = 1", "seed = \"one\"", "run.seed"),
        (
            "max_duration = \"1h\"",
            "max_duration = true",
            "run.max_duration",
        ),
        (
            "timeline_bucket = \"1s\"",
            "timeline_bucket = [1]",
            "run.timeline_bucket",
        ),
        ("devices = 50", "devices = true", "fleet.devices"),
        (
            "registered_share = 0.8",
            "registered_share = \"most\"",
            "fleet.registered_share",
        ),
        (
            "cached_assignment_share = 0.5",
            "cached_assignment_share = false",
            "fleet.cached_assignment_share",
        ),
        (
            "id_pattern = \"dev-{index:04}\"",
            "id_pattern = 7",
            "fleet.id_pattern",
        ),
        ("name = \"a\"", "name = 1", "fleet.class[0].name"),
        ("share = 0.4", "share = \"some\"", "fleet.class[0].share"),
        (
            "provisioning = \"always\"",
            "provisioning = 1",
            "fleet.class[1].provisioning",
        ),
        (
            "boot_delay = { dist = \"uniform\", min = \"0s\", max = \"5s\" }",
            "boot_delay = true",
            "device.boot_delay",
        ),
        (
            "provisioning = \"cached\"",
            "provisioning = true",
            "device.provisioning",
        ),
        (
            "status_lookup = false",
            "status_lookup = \"no\"",
            "device.status_lookup",
        ),
        (
            "on_poll_failure = \"keep_polling\"",
            "on_poll_failure = 3",
            "device.on_poll_failure",
        ),
        (
            "hub_failures_before_dps = 10",
            "hub_failures_before_dps = \"ten\"",
            "device.hub_failures_before_dps",
        ),
        (
            "telemetry = \"first\"",
            "telemetry = false",
            "device.telemetry",
        ),
        (
            "telemetry_interval = \"15m\"",
            "telemetry_interval = {}",
            "device.telemetry_interval",
        ),
        (
            "telemetry_size = 300",
            "telemetry_size = \"big\"",
            "device.telemetry_size",
        ),
        ("dead_share = 0.0", "dead_share = true", "device.dead_share"),
        ("initial = \"1s\"", "initial = true", "device.retry.initial"),
        ("max = \"100s\"", "max = [1]", "device.retry.max"),
        (
            "multiplier = 2.0",
            "multiplier = \"fast\"",
            "device.retry.multiplier",
        ),
        ("jitter = \"5s\"", "jitter = true", "device.retry.jitter"),
        (
            "honour_retry_after = true",
            "honour_retry_after = 1",
            "device.retry.honour_retry_after",
        ),
        (
            "immediate_first_retry = false",
            "immediate_first_retry = \"no\"",
            "device.retry.immediate_first_retry",
        ),
        (
            "max_attempts = 0",
            "max_attempts = 1.5",
            "device.retry.max_attempts",
        ),
        (
            "max_time = \"0s\"",
            "max_time = false",
            "device.retry.max_time",
        ),
        (
            "dps_status_lookup = \"31s\"",
            "dps_status_lookup = true",
            "device.timeouts.dps_status_lookup",
        ),
        (
            "dps_register = \"32s\"",
            "dps_register = [\"32s\"]",
            "device.timeouts.dps_register",
        ),
        (
            "dps_poll = \"33s\"",
            "dps_poll = {}",
            "device.timeouts.dps_poll",
        ),
        (
            "hub_connect = \"34s\"",
            "hub_connect = false",
            "device.timeouts.hub_connect",
        ),
        (
            "hub_telemetry = \"35s\"",
            "hub_telemetry = \"soon\"",
            "device.timeouts.hub_telemetry",
        ),
        ("kind = \"burst\"", "kind = 1", "arrival.kind"),
        ("start = \"0s\"", "start = true", "arrival.start"),
        ("window = \"10s\"", "window = \"soon\"", "arrival.window"),
        ("spread = \"uniform\"", "spread = 2", "arrival.spread"),
        ("instances = 1", "instances = \"one\"", "dps.instances"),
        (
            "allocation = \"evenly\"",
            "allocation = 1",
            "dps.allocation",
        ),
        ("latency = \"50ms\"", "latency = true", "dps.latency"),
        (
            "assignment_time = \"1s\"",
            "assignment_time = false",
            "dps.assignment_time",
        ),
        (
            "retry_after = \"3s\"",
            "retry_after = [3]",
            "dps.retry_after",
        ),
        (
            "throttle_retry_after = \"2s\"",
            "throttle_retry_after = \"later\"",
            "dps.throttle_retry_after",
        ),
        (
            "registrations_per_min = 1000",
            "registrations_per_min = \"many\"",
            "dps.limits.registrations_per_min",
        ),
        (
            "operations_per_min = 1001",
            "operations_per_min = true",
            "dps.limits.operations_per_min",
        ),
        (
            "polls_per_device = 5",
            "polls_per_device = \"5\"",
            "dps.limits.polls_per_device",
        ),
        (
            "poll_window = \"10s\"",
            "poll_window = true",
            "dps.limits.poll_window",
        ),
        (
            "registrations_per_instance = 1000000",
            "registrations_per_instance = \"lots\"",
            "dps.limits.registrations_per_instance",
        ),
        (
            "lookups_are_operations = true",
            "lookups_are_operations = \"yes\"",
            "dps.limits.lookups_are_operations",
        ),
        ("burst = \"60s\"", "burst = []", "dps.limits.burst"),
        ("count = 1", "count = \"one\"", "hub.count"),
        ("tier = \"S1\"", "tier = 1", "hub.tier"),
        ("units = 1", "units = 1.5", "hub.units"),
        (
            "connect_latency = \"20ms\"",
            "connect_latency = true",
            "hub.connect_latency",
        ),
        (
            "telemetry_latency = \"10ms\"",
            "telemetry_latency = \"fast\"",
            "hub.telemetry_latency",
        ),
        (
            "connects_per_s = 100",
            "connects_per_s = \"fast\"",
            "hub.limits.connects_per_s",
        ),
        (
            "d2c_per_s = 101",
            "d2c_per_s = true",
            "hub.limits.d2c_per_s",
        ),
        (
            "messages_per_day = 400000",
            "messages_per_day = \"x\"",
            "hub.limits.messages_per_day",
        ),
        ("devices = 2000000", "devices = false", "hub.limits.devices"),
        ("burst = \"1s\"", "burst = \"soon\"", "hub.limits.burst"),
        ("backlog = \"2s\"", "backlog = true", "hub.limits.backlog"),
        (
            "\"online.t99\" = \"< 1h\"",
            "\"online.t99\" = 5",
            "online.t99",
        ),
        (
            "\"online.t90\" = \"25%\"",
            "\"online.t90\" = true",
            "online.t90",
        ),
    ];
    for (line, with, key) in cases {
        t.line(line, with, key, &["expected"]);
    }
    // The keys of the other arrival kinds.
    let arrival: &[(&str, &str, &str, &str)] = &[
        (RAMP, "from = 0.5", "from = \"low\"", "arrival.from"),
        (RAMP, "to = 1.0", "to = true", "arrival.to"),
        (
            WAVE_EVERY,
            "every = \"10s\"",
            "every = true",
            "arrival.every",
        ),
        (
            WAVE_EVERY,
            "fractions = [0.5, 0.5]",
            "fractions = 0.5",
            "arrival.fractions",
        ),
        (
            WAVE_EVERY,
            "fractions = [0.5, 0.5]",
            "fractions = [0.5, \"half\"]",
            "arrival.fractions[1]",
        ),
        (
            WAVES,
            "{ at = \"10s\", share = 0.5 },",
            "{ at = true, share = 0.5 },",
            "arrival.waves[1].at",
        ),
        (POISSON, "rate = 100.0", "rate = \"fast\"", "arrival.rate"),
        (CURVE, "step = \"1s\"", "step = true", "arrival.step"),
        (
            CURVE,
            "weights = [1.0, 2.0]",
            "weights = \"x\"",
            "arrival.weights",
        ),
        (CURVE, "days = [1.0]", "days = 1", "arrival.days"),
        (
            CURVE,
            "{ share = 1.0, offset = \"0s\" },",
            "{ share = 1.0, offset = true },",
            "arrival.zones[0].offset",
        ),
    ];
    for (body, line, with, key) in arrival {
        t.line_in(&with_arrival(body), line, with, key, &["expected"]);
    }
    // Whole tables of the wrong shape.
    let classes = "[[fleet.class]]\nname = \"a\"\nshare = 0.4\n\n[[fleet.class]]\nname = \"b\"\nshare = 0.6\nprovisioning = \"always\"\n";
    let text = swap(&base(), classes, "").replace(
        "id_pattern = \"dev-{index:04}\"",
        "id_pattern = \"dev-{index:04}\"\nclass = \"meters\"",
    );
    t.scenario(&text, &["t.toml:18:", "fleet.class", "expected an array"]);
    let text = swap(&base(), "[device.retry]\n", "[device]\nretry = 5\n[x]\n");
    t.scenario(&text, &["t.toml:"]);
    t.finish();
}

// ---- out of range and inconsistent ----

#[test]
fn out_of_range_and_inconsistent_values_are_refused_with_what_was_expected() {
    let mut t = Table::new();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "registered_share = 0.8",
            "registered_share = 1.5",
            "fleet.registered_share",
            &["outside 0..=1"],
        ),
        (
            "registered_share = 0.8",
            "registered_share = \"150%\"",
            "fleet.registered_share",
            &["outside 0..=1"],
        ),
        (
            "cached_assignment_share = 0.5",
            "cached_assignment_share = 0.9",
            "fleet.cached_assignment_share",
            &["more than fleet.registered_share"],
        ),
        (
            "share = 0.4",
            "share = 1.2",
            "fleet.class[0].share",
            &["outside 0..=1"],
        ),
        (
            "share = 0.4",
            "share = -0.4",
            "fleet.class[0].share",
            &["outside 0..=1"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = \"-1h\"",
            "run.max_duration",
            &["negative"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = -3600",
            "run.max_duration",
            &["non-negative"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = \"0s\"",
            "run.max_duration",
            &["longer than 0"],
        ),
        (
            "timeline_bucket = \"1s\"",
            "timeline_bucket = \"1ms\"",
            "run.timeline_bucket",
            &["timeline rows", "at most"],
        ),
        (
            "timeline_bucket = \"1s\"",
            "timeline_bucket = \"1ns\"",
            "run.timeline_bucket",
            &["shorter than 1µs"],
        ),
        (
            "initial = \"1s\"",
            "initial = \"-1s\"",
            "device.retry.initial",
            &["negative"],
        ),
        (
            "multiplier = 2.0",
            "multiplier = 0.5",
            "device.retry.multiplier",
            &["less than 1"],
        ),
        (
            "jitter = \"5s\"",
            "jitter = \"200%\"",
            "device.retry.jitter",
            &["outside 0..=1"],
        ),
        (
            "boot_delay = { dist = \"uniform\", min = \"0s\", max = \"5s\" }",
            "boot_delay = { dist = \"uniform\", min = \"10s\", max = \"5s\" }",
            "device.boot_delay",
            &["min <= max"],
        ),
        (
            "boot_delay = { dist = \"uniform\", min = \"0s\", max = \"5s\" }",
            "boot_delay = { dist = \"lognormal\", median = \"10s\", p95 = \"1s\" }",
            "device.boot_delay",
            &["below its median"],
        ),
        (
            "boot_delay = { dist = \"uniform\", min = \"0s\", max = \"5s\" }",
            "boot_delay = { dist = \"gamma\", mean = \"1s\" }",
            "device.boot_delay",
            &["gamma"],
        ),
        (
            "boot_delay = { dist = \"uniform\", min = \"0s\", max = \"5s\" }",
            "boot_delay = { dist = \"uniform\", min = \"0s\" }",
            "device.boot_delay",
            &["max"],
        ),
        (
            "boot_delay = { dist = \"uniform\", min = \"0s\", max = \"5s\" }",
            "boot_delay = []",
            "device.boot_delay",
            &["empty array"],
        ),
        (
            "dead_share = 0.0",
            "dead_share = 2",
            "device.dead_share",
            &["outside 0..=1"],
        ),
        (
            "telemetry_size = 300",
            "telemetry_size = 0",
            "device.telemetry_size",
            &["1..=262144"],
        ),
        (
            "telemetry_size = 300",
            "telemetry_size = \"1G\"",
            "device.telemetry_size",
            &["1..=262144"],
        ),
        (
            "telemetry_interval = \"15m\"",
            "telemetry_interval = \"0s\"",
            "device.telemetry_interval",
            &["longer than 0"],
        ),
        (
            "hub_failures_before_dps = 10",
            "hub_failures_before_dps = -1",
            "device.hub_failures_before_dps",
            &["0 to 4294967295"],
        ),
        (
            "window = \"10s\"",
            "window = \"2h\"",
            "arrival.window",
            &["max_duration"],
        ),
        (
            "start = \"0s\"",
            "start = \"2h\"",
            "arrival.start",
            &["max_duration"],
        ),
        (
            "instances = 1",
            "instances = 0",
            "dps.instances",
            &["1..=10"],
        ),
        (
            "instances = 1",
            "instances = 11",
            "dps.instances",
            &["1..=10"],
        ),
        (
            "registrations_per_min = 1000",
            "registrations_per_min = 0",
            "dps.limits.registrations_per_min",
            &["not a positive number"],
        ),
        (
            "registrations_per_min = 1000",
            "registrations_per_min = -5",
            "dps.limits.registrations_per_min",
            &["not a positive number"],
        ),
        (
            "registrations_per_min = 1000",
            "registrations_per_min = nan",
            "dps.limits.registrations_per_min",
            &["not a positive number"],
        ),
        (
            "registrations_per_min = 1000",
            "registrations_per_min = inf",
            "dps.limits.registrations_per_min",
            &["not a positive number"],
        ),
        (
            "burst = \"60s\"",
            "burst = \"0s\"",
            "dps.limits.burst",
            &["longer than 0"],
        ),
        ("count = 1", "count = 0", "hub.count", &["1..=50"]),
        ("count = 1", "count = 51", "hub.count", &["1..=50"]),
        ("units = 1", "units = 0", "hub.units", &["at least 1"]),
        ("units = 1", "units = 201", "hub.units", &["at most 200"]),
        (
            "tier = \"S1\"",
            "tier = \"S9\"",
            "hub.tier",
            &["not an IoT Hub tier"],
        ),
        (
            "connects_per_s = 100",
            "connects_per_s = -1",
            "hub.limits.connects_per_s",
            &["not a positive number"],
        ),
        (
            "id_pattern = \"dev-{index:04}\"",
            "id_pattern = \"dev\"",
            "fleet.id_pattern",
            &["{index}"],
        ),
        (
            "id_pattern = \"dev-{index:04}\"",
            "id_pattern = \"{index}-{index}\"",
            "fleet.id_pattern",
            &["{index}"],
        ),
        (
            "\"online.t99\" = \"< 1h\"",
            "\"online.t999\" = \"< 1h\"",
            "online.t999",
            &["unknown metric"],
        ),
        (
            "\"online.t99\" = \"< 1h\"",
            "\"online.t99\" = \"about 1h\"",
            "online.t99",
            &["not a condition"],
        ),
        (
            "\"online.t90\" = \"25%\"",
            "\"online.t90\" = \"a lot\"",
            "online.t90",
            &[],
        ),
        // Huge numbers: a fleet beyond what one process drives, counts beyond u64 and u32.
        (
            "devices = 50",
            "devices = 1_000_000_000_000",
            "fleet.devices",
            &["1,000,000,000,000 devices", "at most"],
        ),
        (
            "devices = 50",
            "devices = 1e30",
            "fleet.devices",
            &["too large"],
        ),
        (
            "devices = 50",
            "devices = \"1e30\"",
            "fleet.devices",
            &["too large"],
        ),
        (
            "devices = 50",
            "devices = 1000000000000000000000000000000",
            "",
            &["invalid TOML", "out of range", "64-bit"],
        ),
        (
            "devices = 50",
            "devices = -5",
            "fleet.devices",
            &["negative"],
        ),
        (
            "count = 1",
            "count = 4294967296",
            "hub.count",
            &["0 to 4294967295"],
        ),
        (
            "count = 1",
            "count = 1_000_000_000_000",
            "hub.count",
            &["0 to 4294967295"],
        ),
        (
            "units = 1",
            "units = 4294967295",
            "hub.units",
            &["at most 200"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = \"1e30s\"",
            "run.max_duration",
            &["not a duration"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = \"99999999999999999h\"",
            "run.max_duration",
            &["not a duration"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = 1e30",
            "run.max_duration",
            &["10^12 seconds"],
        ),
        (
            "max_duration = \"1h\"",
            "max_duration = \"1000000000years\"",
            "run.max_duration",
            &["10^12 seconds"],
        ),
        (
            "max_time = \"0s\"",
            "max_time = \"18446744073709551615s\"",
            "device.retry.max_time",
            &["10^12 seconds"],
        ),
    ];
    for (line, with, key, expect) in cases {
        t.line(line, with, key, expect);
    }
    let arrival: &[(&str, &str, &str, &str, &[&str])] = &[
        (RAMP, "from = 0.5", "from = -1.0", "arrival.from", &[]),
        (
            WAVE_EVERY,
            "fractions = [0.5, 0.5]",
            "fractions = [0.5, 0.6]",
            "arrival.fractions",
            &["1.1"],
        ),
        (
            WAVE_EVERY,
            "every = \"10s\"",
            "every = \"0s\"",
            "arrival.every",
            &["longer than 0"],
        ),
        (
            POISSON,
            "rate = 100.0",
            "rate = 0.0",
            "arrival.rate",
            &["positive"],
        ),
        (
            POISSON,
            "rate = 100.0",
            "rate = -3.0",
            "arrival.rate",
            &["positive"],
        ),
        (
            CURVE,
            "weights = [1.0, 2.0]",
            "weights = [0.0, 0.0]",
            "arrival.weights",
            &[],
        ),
        (
            CURVE,
            "weights = [1.0, 2.0]",
            "weights = [1.0, -2.0]",
            "arrival.weights",
            &[],
        ),
        (
            CURVE,
            "step = \"1s\"",
            "step = \"0s\"",
            "arrival.step",
            &["longer than 0"],
        ),
    ];
    for (body, line, with, key, expect) in arrival {
        t.line_in(&with_arrival(body), line, with, key, expect);
    }
    // Errors about a group of keys point at the group.
    let (text, _) = edit(&base(), "share = 0.4", "share = 0.5");
    t.scenario(
        &text,
        &[
            "t.toml:19:",
            "fleet.class",
            "add up to 1.1, not 1",
            "a 0.5, b 0.6",
        ],
    );
    let (text, _) = edit(&base(), "name = \"b\"", "name = \"a\"");
    t.scenario(&text, &["t.toml:", "fleet.class", "`a`"]);
    let (text, _) = edit(&base(), "initial = \"1s\"", "initial = \"200s\"");
    t.scenario(
        &text,
        &[
            "t.toml:41:",
            "device.retry.max",
            "shorter than retry initial",
        ],
    );
    let ramp = swap(
        &with_arrival(RAMP),
        "from = 0.5\nto = 1.0",
        "from = 0.0\nto = 0.0",
    );
    t.scenario(&ramp, &["t.toml:", "arrival.to", "both 0"]);
    let zones = with_arrival(CURVE).replace("{ share = 1.0,", "{ share = 0.5,");
    t.scenario(
        &zones,
        &["t.toml:61:", "arrival.zones", "add up to 0.5, not 1"],
    );
    // A key of another arrival kind.
    t.line(
        "spread = \"uniform\"",
        "rate = 5.0",
        "arrival.rate",
        &["only applies to kind = \"poisson\""],
    );
    t.finish();
}

// ---- unknown keys ----

#[test]
fn unknown_keys_are_placed_with_a_did_you_mean_for_near_misses() {
    let mut t = Table::new();
    let near: &[(&str, &str, &str, &str)] = &[
        ("devices = 50", "devics = 50", "fleet.devics", "devices"),
        ("seed = 1", "sed = 1", "run.sed", "seed"),
        ("tier = \"S1\"", "tierr = \"S1\"", "hub.tierr", "tier"),
        (
            "initial = \"1s\"",
            "inital = \"1s\"",
            "device.retry.inital",
            "initial",
        ),
        (
            "registrations_per_min = 1000",
            "registration_per_min = 1000",
            "dps.limits.registration_per_min",
            "registrations_per_min",
        ),
        (
            "window = \"10s\"",
            "windw = \"10s\"",
            "arrival.windw",
            "window",
        ),
        ("share = 0.4", "shar = 0.4", "fleet.class[0].shar", "share"),
        (
            "dps_register = \"32s\"",
            "dps_registr = \"32s\"",
            "device.timeouts.dps_registr",
            "dps_register",
        ),
        ("[fleet]", "[fleeet]", "fleeet", "fleet"),
    ];
    for (line, with, key, meant) in near {
        let hint = format!("did you mean `{meant}`?");
        t.line(line, with, key, &["unknown key", &hint]);
    }
    // Far from every key: no guess, but the keys allowed there.
    t.line(
        "devices = 50",
        "banana = 1\ndevices = 50",
        "fleet.banana",
        &["unknown key `banana`", "the keys allowed here are"],
    );
    // A real key in the wrong table.
    t.line(
        "registered_share = 0.8",
        "tier = \"S1\"\nregistered_share = 0.8",
        "fleet.tier",
        &["unknown key `tier`", "did you mean `hub.tier`?"],
    );
    // The same near misses from the command line.
    t.set(
        "fleet.devcies=10",
        "fleet.devcies",
        &["unknown key", "did you mean `devices`?"],
    );
    t.set(
        "hub.limits.connect_per_s=5",
        "hub.limits.connect_per_s",
        &["did you mean `connects_per_s`?"],
    );
    t.set("flet.devices=10", "flet", &["did you mean `fleet`?"]);
    t.finish();
}

// ---- files that are not scenarios ----

#[test]
fn files_that_are_not_scenarios_are_refused_naming_the_file() {
    let mut t = Table::new();
    let write = |t: &Table, name: &str, bytes: &[u8]| {
        let p = t.path(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let empty = write(&t, "empty.toml", b"");
    t.bad(
        &["validate", &empty],
        &["empty.toml", "missing required key `fleet`"],
    );
    // Random bytes (a fixed pseudo-random sequence: reproducible), NUL bytes, bad UTF-8.
    let mut x: u32 = 0x1234_5678;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let rand = write(&t, "random.toml", &random);
    t.bad(&["validate", &rand], &["random.toml:1:", "binary file"]);
    let nul = write(&t, "nul.toml", b"[fleet]\ndevices = 10\0\0\0");
    t.bad(
        &["run", &nul, "--out", "{out}"],
        &["nul.toml:2:13:", "NUL byte"],
    );
    let latin1 = write(&t, "latin1.toml", b"[scenario]\nname = \"caf\xe9\"\n");
    t.bad(
        &["validate", &latin1],
        &["latin1.toml:2:12:", "not UTF-8", "0xe9"],
    );
    let utf16 = write(&t, "utf16.toml", b"\xff\xfe[\0f\0l\0e\0e\0t\0]\0");
    t.bad(&["validate", &utf16], &["utf16.toml:1:1:", "not UTF-8"]);
    // A directory, a missing file, a file too big to be a scenario (sparse: no disk used).
    let dir = t.path("adir.toml");
    fs::create_dir(&dir).unwrap();
    t.bad(&["validate", &dir], &["adir.toml", "is a directory"]);
    t.bad(
        &["run", &t.path("missing.toml"), "--out", "{out}"],
        &["missing.toml", "no such file"],
    );
    let big = t.path("big.toml");
    fs::File::create(&big)
        .unwrap()
        .set_len(64 * 1024 * 1024)
        .unwrap();
    t.bad(
        &["validate", &big],
        &["big.toml", "a scenario file is a few KB"],
    );
    // A device with no end: read up to the limit, not forever.
    t.bad(&["validate", "/dev/zero"], &["/dev/zero"]);
    // A file that cannot be read.
    if Path::new("/proc/self/mem").exists() {
        t.bad(
            &["validate", "/proc/self/mem"],
            &["/proc/self/mem", "cannot read"],
        );
    }
    // TOML that does not parse: the place of the syntax error.
    let junk = write(&t, "junk.toml", b"[fleet]\ndevices = = 5\n");
    t.bad(&["validate", &junk], &["junk.toml:2:", "invalid TOML"]);
    let dup = write(&t, "dup.toml", b"[fleet]\ndevices = 5\ndevices = 6\n");
    t.bad(
        &["validate", &dup],
        &["dup.toml:3:", "duplicate key `devices`"],
    );
    t.finish();
}

// ---- --set ----

#[test]
fn bad_overrides_name_the_override_and_what_was_expected() {
    let mut t = Table::new();
    t.set("fleet.devices", "fleet.devices", &["no `=`", "key=value"]);
    t.set("", "", &["no `=`"]);
    t.set("=5", "", &["the key before `=` is empty"]);
    t.set("fleet..devices=5", "fleet..devices", &["empty key segment"]);
    t.set(".fleet=5", ".fleet", &["empty key segment"]);
    t.set(
        "fleet.class[x].share=0.5",
        "fleet.class[x].share",
        &["not an array index"],
    );
    t.set(
        "fleet.class[0.share=0.5",
        "fleet.class[0.share",
        &["without a closing `]`"],
    );
    t.set(
        "fleet.class[99999999999999999999].share=0.5",
        "fleet.class",
        &["not an array index"],
    );
    t.set(
        "fleet.class[7].share=0.5",
        "fleet.class[7].share",
        &["out of range", "2 entries"],
    );
    t.set(
        "fleet.devices.count=5",
        "fleet.devices.count",
        &["not a table"],
    );
    t.set("fleet=5", "fleet", &["expected a table"]);
    t.set("fleet.devices=", "fleet.devices", &["expected"]);
    t.set("fleet.devices=lots", "fleet.devices", &["not a count"]);
    t.set("fleet.devices=-5", "fleet.devices", &["negative"]);
    t.set("fleet.devices=1.5", "fleet.devices", &["whole number"]);
    t.set(
        "fleet.devices=1e12",
        "fleet.devices",
        &["1,000,000,000,000 devices", "at most"],
    );
    t.set(
        "fleet.devices=1000000000000000000000000000000",
        "fleet.devices",
        &["too large"],
    );
    t.set(
        "fleet.devices=99999999999G",
        "fleet.devices",
        &["too large"],
    );
    t.set(
        "hub.units=500",
        "hub.units",
        &["S1 allows at most 200 units, not 500"],
    );
    t.set("hub.tier=S9", "hub.tier", &["not an IoT Hub tier"]);
    t.set("hub.count=99999999999", "hub.count", &["0 to 4294967295"]);
    t.set(
        "run.max_duration=1e30s",
        "run.max_duration",
        &["not a duration"],
    );
    t.set(
        "run.max_duration=99999999999999999h",
        "run.max_duration",
        &["not a duration"],
    );
    t.set("run.max_duration=-5s", "run.max_duration", &["negative"]);
    t.set(
        "run.max_duration=NaN",
        "run.max_duration",
        &["non-negative"],
    );
    t.set("run.seed=-1", "run.seed", &["non-negative whole number"]);
    t.set(
        "fleet.registered_share=2",
        "fleet.registered_share",
        &["outside 0..=1"],
    );
    t.set(
        "fleet.class[0].share=0.9",
        "fleet.class",
        &["add up to 1.5, not 1"],
    );
    t.set(
        "device.retry.multiplier=nan",
        "device.retry.multiplier",
        &["expected a number"],
    );
    t.set(
        "device.provisioning=alway",
        "device.provisioning",
        &["did you mean \"always\"?"],
    );
    t.set(
        "device.boot_delay.dist=gamma",
        "device.boot_delay",
        &["unknown distribution `gamma`"],
    );
    t.set(
        "arrival.start=1e12",
        "arrival.start",
        &["not before run.max_duration"],
    );
    t.finish();
}

// ---- the other flags of run ----

/// Whether this process can write into a directory it has no write permission on (root, or
/// CAP_DAC_OVERRIDE): then chmod cannot make a directory unwritable.
fn permissions_bind(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.join("read-only");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let bound = fs::write(ro.join("probe"), b"x").is_err();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(&ro).unwrap();
    bound
}

#[test]
fn bad_run_flags_name_the_flag() {
    use std::os::unix::fs::PermissionsExt;
    let mut t = Table::new();
    let s = scenario("smoke");
    let s = s.to_str().unwrap();
    // --seed: out of range, not a number.
    for seed in [
        "-1",
        "abc",
        "1e3",
        "9223372036854775808",
        "99999999999999999999",
    ] {
        t.bad(&["run", s, "--seed", seed, "--out", "{out}"], &["--seed"]);
    }
    // --out: a file, under a file, a non-empty directory, a missing parent, somewhere that
    // cannot be written even by root.
    let file = t.path("a-file");
    fs::write(&file, "x").unwrap();
    t.bad(
        &["run", s, "--out", &file],
        &["a-file", "exists and is not a directory"],
    );
    let under = format!("{file}/results");
    t.bad(
        &["run", s, "--out", &under],
        &["a-file/results", "cannot write results", "Not a directory"],
    );
    let full = t.path("full");
    fs::create_dir(&full).unwrap();
    fs::write(Path::new(&full).join("keep"), "x").unwrap();
    t.bad(&["run", s, "--out", &full], &["full", "not empty", "--out"]);
    let orphan = t.path("no/such/parent");
    t.bad(
        &["run", s, "--out", &orphan],
        &["no/such", "does not exist"],
    );
    if Path::new("/proc/self").exists() {
        t.bad(
            &["run", s, "--out", "/proc/fleetsim-inputs-test"],
            &["/proc/fleetsim-inputs-test", "cannot write results"],
        );
    }
    // chmod 0555 stops writes only without root's override.
    if permissions_bind(t.dir()) {
        let ro = t.path("read-only-parent");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        let out = format!("{ro}/out");
        t.bad(
            &["run", s, "--out", &out],
            &[
                "read-only-parent/out",
                "cannot write results",
                "ermission denied",
            ],
        );
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    }
    // --junit where it cannot be written: found before the run, not after.
    t.bad(
        &[
            "run",
            s,
            "--out",
            "{out}",
            "--junit",
            &format!("{file}/slo.xml"),
        ],
        &["--junit", "a-file"],
    );
    if Path::new("/proc/self").exists() {
        t.bad(
            &["run", s, "--out", "{out}", "--junit", "/proc/slo.xml"],
            &["--junit", "/proc/slo.xml"],
        );
    }
    let junit_dir = t.path("junit-dir");
    fs::create_dir(&junit_dir).unwrap();
    t.bad(
        &["run", s, "--out", "{out}", "--junit", &junit_dir],
        &["--junit", "is a directory"],
    );
    // --slo.
    for (slo, expect) in [
        ("online.t99 <", "no value after the comparison"),
        ("online.t99 ~ 30m", "is not METRIC OP VALUE"),
        ("online.t999 < 30m", "did you mean"),
        (
            "online.t99 < 1e400",
            "is not a number, a percentage or a duration",
        ),
        ("scenario.name == 5", "not a number"),
    ] {
        t.bad(
            &["run", s, "--slo", slo, "--out", "{out}"],
            &["--slo", expect],
        );
    }
    // Usage.
    t.bad(
        &["run", s, "--quiet", "--json", "--out", "{out}"],
        &["--quiet", "--json"],
    );
    t.bad(
        &["run", s, "--engine", "warp", "--out", "{out}"],
        &["--engine", "warp"],
    );
    t.finish();
}

/// The free-space check before a run: a file system with nothing available (procfs reports 0)
/// is refused; a real one passes.
#[test]
fn a_file_system_without_room_is_refused_before_the_run() {
    use fleetsim::report::write::{ReportError, check_free_space};
    if Path::new("/proc/self").exists() {
        match check_free_space(Path::new("/proc"), 1) {
            Err(ReportError::DiskFull { free, need, .. }) => assert_eq!((free, need), (0, 1)),
            other => panic!("/proc has no room, yet {other:?}"),
        }
    }
    let dir = TempDir::new().unwrap();
    check_free_space(dir.path(), 1 << 20).expect("a temporary directory has room");
}

/// The room a run asks for bounds what it writes: a real run's results directory is smaller
/// than its estimate, and a scenario that would write more asks for more.
#[test]
fn the_room_asked_for_bounds_what_a_run_writes() {
    let tmp = TempDir::new().unwrap();
    let s = scenario("reboot-wave");
    let sets = ["fleet.devices=20k".to_string()];
    let sc = fleetsim::input::load_file(&s, &sets).unwrap();
    let bound = fleetsim::run::results_size_bound(&sc);
    let o = fleetsim(
        tmp.path(),
        &["run", s.to_str().unwrap(), "--set", &sets[0], "--out", "r"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written: u64 = std::fs::read_dir(tmp.path().join("r"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(written > 500_000 && written < bound, "{written} vs {bound}");
    let fine = fleetsim::input::load_file(&s, &[sets[0].clone(), "run.timeline_bucket=1s".into()])
        .unwrap();
    assert!(fleetsim::run::results_size_bound(&fine) > 10 * bound);
}

// ---- validate, plan, compare, report ----

#[test]
fn bad_plan_input_exits_2_before_any_run() {
    let mut t = Table::new();
    let s = scenario("smoke");
    let s = s.to_str().unwrap();
    let goal = "online.t99 < 30m";
    let plan = |extra: &[&str]| -> Vec<String> {
        let mut v = vec!["plan".to_string(), s.to_string()];
        v.extend(extra.iter().map(|x| x.to_string()));
        if !extra.contains(&"--out") {
            v.extend(["--out".to_string(), "{out}".to_string()]);
        }
        v
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            plan(&["--goal", "online.t99 <"]),
            vec!["--goal", "no value"],
        ),
        (
            plan(&["--goal", "bogus"]),
            vec!["--goal", "not METRIC OP VALUE"],
        ),
        (
            plan(&["--goal", "online.t999 < 1h"]),
            vec!["--goal", "did you mean"],
        ),
        (plan(&["--goal", "online.t99 < 5%"]), vec!["--goal"]),
        (plan(&[]), vec!["--goal"]),
        (
            plan(&["--goal", goal, "--sweep", "hub.units"]),
            vec!["--sweep", "no `=`"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "=1..2"]),
            vec!["--sweep", "no key"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.units=5..1"]),
            vec!["--sweep", "empty"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.units=1.."]),
            vec!["--sweep", "whole numbers"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.units=a..b"]),
            vec!["--sweep", "whole numbers"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.units=1,,2"]),
            vec!["--sweep", "empty value"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.units=1..99999999999"]),
            vec!["--sweep", "100,000"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.unit=1..3"]),
            vec!["--sweep 'hub.unit'", "did you mean `units`?"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub..units=1..3"]),
            vec!["--sweep 'hub..units'", "empty key segment"],
        ),
        (
            plan(&[
                "--goal",
                goal,
                "--sweep",
                "hub.units=1..2",
                "--sweep",
                "hub.units=3",
            ]),
            vec!["--sweep 'hub.units'", "twice"],
        ),
        (
            plan(&["--goal", goal, "--sweep", "hub.tier=S8,S9"]),
            vec!["--sweep", "no configuration", "S8"],
        ),
        (
            plan(&[
                "--goal",
                goal,
                "--sweep",
                "hub.units=1..600",
                "--max-runs",
                "10",
            ]),
            vec!["600 points", "--max-runs"],
        ),
        (
            plan(&["--goal", goal, "--prices", "/no/such/prices.toml"]),
            vec!["--prices", "/no/such/prices.toml"],
        ),
        (
            plan(&["--goal", goal, "--set", "hub.units=500"]),
            vec!["--set 'hub.units=500'"],
        ),
        (
            vec![
                "plan".into(),
                "missing.toml".into(),
                "--goal".into(),
                goal.into(),
            ],
            vec!["missing.toml", "no such file"],
        ),
    ];
    for (args, expect) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        t.bad(&args, expect);
    }
    let prices = t.path("prices.toml");
    fs::write(&prices, b"\xff\xfe garbage").unwrap();
    t.bad(
        &[
            "plan", s, "--goal", goal, "--prices", &prices, "--out", "{out}",
        ],
        &["--prices", "prices.toml"],
    );
    // --out: checked before the plan runs anything.
    let full = t.path("full");
    fs::create_dir(&full).unwrap();
    fs::write(Path::new(&full).join("keep"), "x").unwrap();
    t.bad(
        &["plan", s, "--goal", goal, "--out", &full],
        &["--out", "full", "not empty"],
    );
    let under = format!("{prices}/plan");
    t.bad(
        &["plan", s, "--goal", goal, "--out", &under],
        &["--out", "prices.toml/plan"],
    );
    t.finish();
}

/// A results directory for compare and report tests: one real smoke run.
fn smoke_results(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let o = fleetsim(
        dir,
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--set",
            "fleet.devices=200",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_exit(&o, 0);
    out
}

#[test]
fn bad_compare_and_report_input_exits_2() {
    let mut t = Table::new();
    let good = smoke_results(t.dir(), "good");
    let good2 = smoke_results(t.dir(), "good2");
    let (g, g2) = (good.to_str().unwrap(), good2.to_str().unwrap());
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(good.join("summary.json")).unwrap()).unwrap();
    // Damaged copies of a summary, each in its own directory.
    let damaged = |t: &Table, name: &str, text: &str| {
        let d = t.dir().join(name);
        fs::create_dir(&d).unwrap();
        fs::write(d.join("summary.json"), text).unwrap();
        d.to_str().unwrap().to_string()
    };
    let garbage = damaged(&t, "garbage", "garbage{");
    let binary = damaged(&t, "binary", "\u{0}\u{1}\u{2}");
    let future = damaged(&t, "future", "{\"format\": 99}");
    let bare = damaged(&t, "bare", "{\"format\": 1}");
    let list = damaged(&t, "list", "[]");
    let mut s = summary.clone();
    s["operations"]["hub.connect"]["latency_ms"]["p99"] = "fast".into();
    let string_metric = damaged(&t, "string-metric", &s.to_string());
    let mut s = summary.clone();
    s["online"]["t99_s"] = (-5.0).into();
    let negative = damaged(&t, "negative", &s.to_string());
    let mut s = summary.clone();
    s["online"] = "soon".into();
    let online_string = damaged(&t, "online-string", &s.to_string());
    let empty = t.path("empty-dir");
    fs::create_dir(&empty).unwrap();
    let file = t.path("a-file");
    fs::write(&file, "x").unwrap();

    let md_under_file = format!("{file}/x.md");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["compare", "nope1", g],
            vec!["nope1", "no such directory"],
        ),
        (
            vec!["compare", g, "nope2"],
            vec!["nope2", "no such directory"],
        ),
        (vec!["compare", g, g], vec!["compared with itself"]),
        (vec!["compare", &file, g], vec!["a-file", "not a directory"]),
        (
            vec!["compare", &empty, g],
            vec!["empty-dir", "has no summary.json"],
        ),
        (
            vec!["compare", &garbage, g],
            vec!["garbage/summary.json", "not JSON"],
        ),
        (vec!["compare", &binary, g], vec!["binary/summary.json"]),
        (
            vec!["compare", &future, g],
            vec!["future/summary.json", "format 99"],
        ),
        (
            vec!["compare", &bare, g],
            vec!["bare/summary.json", "not a fleetsim summary"],
        ),
        (
            vec!["compare", &list, g],
            vec!["list/summary.json", "not a fleetsim summary"],
        ),
        (
            vec!["compare", &string_metric, g],
            vec![
                "string-metric/summary.json",
                "latency_ms.p99",
                "not a number",
            ],
        ),
        (
            vec!["compare", g, &negative],
            vec!["negative/summary.json", "online.t99_s", "negative"],
        ),
        (
            vec!["compare", &online_string, g],
            vec!["online-string/summary.json", "online"],
        ),
        (
            vec!["compare", g, g2, "--max-regression", "lots"],
            vec!["--max-regression", "lots"],
        ),
        (
            vec!["compare", g, g2, "--max-regression", "-5%"],
            vec!["--max-regression"],
        ),
        (
            vec!["compare", g, g2, "--max-regression", "1e400%"],
            vec!["--max-regression"],
        ),
        (
            vec!["compare", g, g2, "--junit", "/no/such/dir/x.xml"],
            vec!["--junit", "/no/such/dir"],
        ),
        (
            vec!["compare", g, g2, "--markdown", &md_under_file],
            vec!["--markdown", "a-file"],
        ),
        (vec!["compare", g], vec!["BASELINE"]),
        (vec!["report", "nope"], vec!["nope", "no such directory"]),
        (vec!["report", &file], vec!["a-file", "not a directory"]),
        (vec!["report", &empty], vec!["empty-dir", "no summary.json"]),
        (
            vec!["report", &garbage],
            vec!["garbage/summary.json", "not JSON"],
        ),
        (vec!["report", &bare], vec!["bare/summary.json", "scenario"]),
        (
            vec!["report", &string_metric],
            vec!["string-metric/summary.json"],
        ),
    ];
    for (args, expect) in &cases {
        t.bad(args, expect);
    }
    if Path::new("/proc/self").exists() {
        t.bad(
            &["compare", g, g2, "--junit", "/proc/x.xml"],
            &["--junit", "/proc/x.xml"],
        );
    }
    t.finish();
}

// ---- mock ----

/// Base64 of 32 bytes: a well-formed group key (never a real one).
const KEY_32: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

type MockCase<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, Vec<&'a str>);

#[test]
fn bad_mock_input_exits_2_without_serving() {
    let mut t = Table::new();
    let any = ["--allow-any"];
    let listen = ["--listen", "127.0.0.1:0"];
    let mock = |extra: &[&str], with: &[&str]| -> Vec<String> {
        let mut v = vec!["mock".to_string()];
        v.extend(listen.iter().map(|s| s.to_string()));
        v.extend(with.iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let file = t.path("a-file");
    fs::write(&file, "not a key, not a certificate").unwrap();
    let empty = t.path("empty-key");
    fs::write(&empty, "").unwrap();
    let short = t.path("short-key");
    fs::write(&short, "AAECAwQ=\n").unwrap();
    let binary = t.path("binary-key");
    fs::write(&binary, b"\xff\xfe\x00\x01").unwrap();
    let keydir = t.path("key-dir");
    fs::create_dir(&keydir).unwrap();
    // (arguments, environment, what stderr must say)
    let cases: Vec<MockCase> = vec![
        (
            vec!["mock".into(), "--listen".into(), "bogus".into()],
            vec![],
            vec!["--listen", "bogus"],
        ),
        (
            vec!["mock".into(), "--listen".into(), "127.0.0.1:99999".into()],
            vec![],
            vec!["--listen", "127.0.0.1:99999"],
        ),
        (
            vec![
                "mock".into(),
                "--listen".into(),
                "192.0.2.1:8883".into(),
                "--allow-any".into(),
            ],
            vec![],
            vec!["--listen 192.0.2.1:8883", "cannot listen"],
        ),
        (
            vec![
                "mock".into(),
                "--dps-listen".into(),
                "127.0.0.1:0".into(),
                "--allow-any".into(),
            ],
            vec![],
            vec!["--hub-listen"],
        ),
        (
            mock(&[], &[]),
            vec![],
            vec!["no group key", "FLEETSIM_GROUP_KEY", "--group-key-file"],
        ),
        (
            mock(&[], &[]),
            vec![("FLEETSIM_GROUP_KEY", "")],
            vec!["FLEETSIM_GROUP_KEY", "0 bytes", "16 to 64"],
        ),
        (
            mock(&[], &[]),
            vec![("FLEETSIM_GROUP_KEY", "!!not base64!!")],
            vec!["FLEETSIM_GROUP_KEY", "not valid base64"],
        ),
        (
            mock(&["--group-key-file", "/no/such/key"], &[]),
            vec![],
            vec!["--group-key-file /no/such/key", "cannot read"],
        ),
        (
            mock(&["--group-key-file", &empty], &[]),
            vec![],
            vec!["--group-key-file", "empty-key", "0 bytes"],
        ),
        (
            mock(&["--group-key-file", &short], &[]),
            vec![],
            vec!["--group-key-file", "short-key", "5 bytes", "16 to 64"],
        ),
        (
            mock(&["--group-key-file", &file], &[]),
            vec![],
            vec!["--group-key-file", "a-file", "not valid base64"],
        ),
        (
            mock(&["--group-key-file", &binary], &[]),
            vec![],
            vec!["--group-key-file", "binary-key", "cannot read"],
        ),
        (
            mock(&["--group-key-file", &keydir], &[]),
            vec![],
            vec!["--group-key-file", "key-dir"],
        ),
        (
            mock(&["--group-key-file", &empty], &any),
            vec![],
            vec!["--group-key-file", "--allow-any"],
        ),
        (
            mock(
                &["--tls-cert", "/no/cert.pem", "--tls-key", "/no/key.pem"],
                &any,
            ),
            vec![],
            vec!["/no/cert.pem", "No such file"],
        ),
        (
            mock(&["--tls-cert", &file, "--tls-key", &file], &any),
            vec![],
            vec!["a-file", "no usable PEM certificate"],
        ),
        (
            mock(&["--tls-cert", &file], &any),
            vec![],
            vec!["--tls-key"],
        ),
        (
            mock(&["--tls-self-signed", &format!("{file}/tls")], &any),
            vec![],
            vec!["--tls-self-signed", "a-file/tls"],
        ),
        (
            mock(
                &[
                    "--tls-self-signed",
                    "/tmp",
                    "--tls-cert",
                    &file,
                    "--tls-key",
                    &file,
                ],
                &any,
            ),
            vec![],
            vec!["--tls-self-signed"],
        ),
        (
            mock(&["--tier", "S9"], &any),
            vec![],
            vec!["hub.tier", "S9"],
        ),
        (
            mock(&["--units", "0"], &any),
            vec![],
            vec!["hub.units", "at least 1"],
        ),
        (mock(&["--units", "-1"], &any), vec![], vec!["--units"]),
        (
            mock(&["--hubs", "99"], &any),
            vec![],
            vec!["hub.count", "1..=50"],
        ),
        (
            mock(&["--dps-instances", "11"], &any),
            vec![],
            vec!["dps.instances", "1..=10"],
        ),
        (
            mock(&["--set", "hub.units=999"], &any),
            vec![],
            vec!["--set 'hub.units=999'"],
        ),
        (
            mock(&["--set", "hub.unit=9"], &any),
            vec![],
            vec!["did you mean `units`?"],
        ),
        (
            mock(&["--scenario", "/no/such.toml"], &any),
            vec![],
            vec!["/no/such.toml", "no such file"],
        ),
        (
            mock(&["--throttle-connack", "9"], &any),
            vec![],
            vec!["--throttle-connack"],
        ),
        (
            mock(&["--threads", "0"], &any),
            vec![],
            vec!["--threads", "1 to 1024"],
        ),
        (
            mock(&["--threads", "100000000"], &any),
            vec![],
            vec!["--threads"],
        ),
        (
            mock(&["--id-scope", ""], &any),
            vec![],
            vec!["--id-scope", "empty"],
        ),
        (
            mock(&["--hub-hostname", " "], &any),
            vec![],
            vec!["--hub-hostname", "empty"],
        ),
    ];
    for (args, env, expect) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        t.bad_env(&args, env, expect);
    }
    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let flag = format!("--listen {addr}");
    t.bad_env(
        &["mock", "--listen", &addr, "--allow-any"],
        &[("FLEETSIM_GROUP_KEY", KEY_32)],
        &[&flag, "in use"],
    );
    t.finish();
}
