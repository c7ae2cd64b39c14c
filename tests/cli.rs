//! End-to-end tests through the `fleetsim` binary: the results directory contract, the
//! reproducibility of summary.json, the output modes, bad input (exit 2, never a panic, never a
//! partial results directory), `validate`, `--set`, and every shipped scenario running to the
//! end.
//!
//! Every command runs in a fresh temporary working directory, so a run that ignored `--out`
//! (or wrote anything it should not) is caught and never lands in the repository.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// The operations summary.json reports, in their documented order.
const OPS: [&str; 6] = [
    "dps.status_lookup",
    "dps.register",
    "dps.poll",
    "hub.connect",
    "hub.telemetry",
    "device.boot_to_online",
];

/// The files of a results directory (results/README.md).
const RESULT_FILES: [&str; 7] = [
    "histograms.hlog",
    "latency.csv",
    "report.html",
    "report.md",
    "run.json",
    "summary.json",
    "timeline.csv",
];

/// `fleetsim run SCENARIO --out DIR EXTRA...` in a fresh working directory; must succeed.
/// Returns the working directory (kept alive), the results directory and the output.
fn run_ok(scenario: &Path, extra: &[&str]) -> (TempDir, PathBuf, Output) {
    let cwd = TempDir::new().unwrap();
    let out = cwd.path().join("out");
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = fleetsim(cwd.path(), &args);
    assert_exit(&o, 0);
    (cwd, out, o)
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn is_count(v: &Value) -> bool {
    v.as_u64().is_some()
}

fn is_number_or_null(v: &Value) -> bool {
    v.is_null() || v.is_f64() || v.is_u64()
}

// ---- 1. the results directory ----

#[test]
fn smoke_run_writes_the_documented_results_directory() {
    let (cwd, out, o) = run_ok(&scenario("smoke"), &[]);

    // The human summary names the scenario and sets the run beside the quota model's bound.
    let text = stdout(&o);
    assert!(text.contains("smoke"), "{text}");
    assert!(text.to_lowercase().contains("lower bound"), "{text}");

    // Exactly the documented files, and nothing left beside the directory (no temporary
    // sibling from the atomic write, no default results/ directory).
    let expected: BTreeSet<String> = RESULT_FILES.iter().map(|s| s.to_string()).collect();
    assert_eq!(listing(&out), expected);
    assert_eq!(listing(cwd.path()), BTreeSet::from(["out".to_string()]));

    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["format"], 1);
    assert_eq!(s["scenario"]["name"], "smoke");
    assert!(
        s["scenario"]["hash"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    assert_eq!(s["engine"], "virtual");
    assert_eq!(s["seed"], 1);
    assert_eq!(s["devices"], 2000);
    assert_eq!(s["complete"], true);
    assert!(
        s["end_s"].as_f64().is_some_and(|t| t > 0.0),
        "{}",
        s["end_s"]
    );

    // Every operation, in the documented order, with the documented fields.
    let ops = s["operations"]
        .as_object()
        .expect("operations is an object");
    let keys: BTreeSet<&str> = ops.keys().map(String::as_str).collect();
    assert_eq!(keys, OPS.into_iter().collect::<BTreeSet<_>>());
    let raw = fs::read_to_string(out.join("summary.json")).unwrap();
    let positions: Vec<usize> = OPS
        .iter()
        .map(|op| raw.find(&format!("\"{op}\"")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "operations are not in the documented order"
    );
    for op in OPS {
        let v = &s["operations"][op];
        for k in ["attempts", "ok", "throttled", "errors", "timeouts"] {
            assert!(is_count(&v[k]), "{op}.{k} = {}", v[k]);
        }
        let rate = v["throttle_rate"]
            .as_f64()
            .expect("throttle_rate is a number");
        assert!((0.0..=1.0).contains(&rate), "{op}: {rate}");
        let attempts = v["attempts"].as_u64().unwrap();
        let throttled = v["throttled"].as_u64().unwrap();
        if attempts > 0 {
            let want = throttled as f64 / attempts as f64;
            assert!((rate - want).abs() < 1e-6, "{op}: {rate} vs {want}");
        }
        for p in ["p50", "p90", "p99", "p999", "max"] {
            let l = &v["latency_ms"][p];
            assert!(is_number_or_null(l), "{op}.latency_ms.{p} = {l}");
            // Null exactly when nothing succeeded.
            assert_eq!(l.is_null(), v["ok"] == 0, "{op}.latency_ms.{p} = {l}");
        }
    }
    // Smoke turns DPS down so that some registrations draw a 429 (its stated purpose), and
    // every device gets online.
    assert!(
        s["operations"]["dps.register"]["throttled"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(s["operations"]["device.boot_to_online"]["ok"], 2000);

    // Time to online: present, ordered, and never below the model's lower bound.
    let online: Vec<f64> = ["t50_s", "t90_s", "t99_s", "t100_s"]
        .iter()
        .map(|k| {
            s["online"][k]
                .as_f64()
                .unwrap_or_else(|| panic!("online.{k}"))
        })
        .collect();
    assert!(online.windows(2).all(|w| w[0] <= w[1]), "{online:?}");
    assert!(online[3] <= s["end_s"].as_f64().unwrap());
    let model = &s["model"];
    let bottleneck = model["bottleneck"].as_str().expect("model.bottleneck");
    assert!(
        [
            "arrival",
            "dps.registrations",
            "dps.operations",
            "hub.connects"
        ]
        .contains(&bottleneck),
        "{bottleneck}"
    );
    let t99_bound = model["lower_bound_s"]["t99"]
        .as_f64()
        .expect("model.lower_bound_s.t99");
    assert!(online[2] >= t99_bound - 1e-6, "{} < {t99_bound}", online[2]);
    assert_eq!(s["slo"], serde_json::json!([]));

    // The other files are there in their documented shape.
    let run = read_json(&out.join("run.json"));
    assert!(run["wall_s"].as_f64().is_some());
    assert!(run["events"].as_u64().is_some_and(|e| e > 0));
    let timeline = fs::read_to_string(out.join("timeline.csv")).unwrap();
    let header: Vec<&str> = timeline.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 35, "{header:?}");
    assert_eq!(
        &header[..5],
        ["t_s", "booted", "online", "ever_online", "in_flight"]
    );
    assert_eq!(header[5], "dps.status_lookup.attempts");
    assert_eq!(header[34], "device.boot_to_online.timeouts");
    let latency = fs::read_to_string(out.join("latency.csv")).unwrap();
    let rows: Vec<&str> = latency.lines().collect();
    assert_eq!(rows.len(), 1 + OPS.len(), "{latency}");
    for (row, op) in rows[1..].iter().zip(OPS) {
        assert!(row.starts_with(&format!("{op},")), "{row}");
    }
    let hlog = fs::read_to_string(out.join("histograms.hlog")).unwrap();
    assert!(hlog.contains("Tag=dps.register,"), "{hlog}");
}

// ---- 2. reproducibility ----

#[test]
fn same_seed_gives_identical_results_and_another_seed_does_not() {
    let smoke = scenario("smoke");
    let (_a, a, _) = run_ok(&smoke, &["--quiet"]);
    let (_b, b, _) = run_ok(&smoke, &["--quiet"]);
    // summary.json, timeline.csv, latency.csv, histograms.hlog and report.md are documented
    // as reproducible byte for byte.
    for f in [
        "summary.json",
        "timeline.csv",
        "latency.csv",
        "histograms.hlog",
        "report.md",
    ] {
        let (x, y) = (fs::read(a.join(f)).unwrap(), fs::read(b.join(f)).unwrap());
        assert!(x == y, "{f} differs between two runs with the same seed");
    }

    let (_c, c, _) = run_ok(&smoke, &["--quiet", "--seed", "7"]);
    let one = read_json(&a.join("summary.json"));
    let mut seven = read_json(&c.join("summary.json"));
    assert_eq!(seven["seed"], 7);
    // The seed is not part of the scenario's identity.
    assert_eq!(seven["scenario"]["hash"], one["scenario"]["hash"]);
    // Beyond the seed field, the measurements themselves differ.
    seven["seed"] = one["seed"].clone();
    assert_ne!(seven, one, "seed 7 measured exactly what seed 1 did");
    assert_ne!(seven["online"], one["online"]);
}

// ---- 3. output modes ----

#[test]
fn json_prints_the_summary_and_quiet_prints_nothing() {
    let (_cwd, out, o) = run_ok(&scenario("smoke"), &["--json"]);
    let printed: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(printed, read_json(&out.join("summary.json")));

    let (_cwd, out, o) = run_ok(&scenario("smoke"), &["--quiet"]);
    assert!(o.stdout.is_empty(), "--quiet printed: {}", stdout(&o));
    assert!(o.stderr.is_empty(), "--quiet printed: {}", stderr(&o));
    assert!(
        out.join("summary.json").is_file(),
        "--quiet still writes results"
    );
}

// ---- 4. bad input ----

/// A copy of smoke.toml with `from` replaced by `to` (which must occur exactly once), written
/// into `dir` as `name`; returns its path and the 1-based line where `to` starts.
fn broken_smoke(dir: &Path, name: &str, from: &str, to: &str) -> (PathBuf, usize) {
    let text = fs::read_to_string(scenario("smoke")).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from:?} in smoke.toml");
    let text = text.replace(from, to);
    let at = text.find(to).unwrap();
    let line = text[..at].lines().count() + usize::from(text[..at].ends_with('\n'));
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    (path, line)
}

/// Runs `fleetsim ARGS` (ARGS may mention `{out}`, replaced by a results directory that does
/// not exist yet) in `cwd`; asserts exit 2, no panic, stderr containing each of `expect`, and
/// that nothing was written: neither the results directory nor anything else in `cwd`.
fn assert_bad_input(cwd: &Path, args: &[&str], expect: &[&str]) {
    let out = cwd.join("results-of-a-bad-run");
    let out_s = out.to_str().unwrap().to_string();
    let args: Vec<String> = args.iter().map(|a| a.replace("{out}", &out_s)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = listing(cwd);
    let o = fleetsim(cwd, &args);
    assert_exit(&o, 2);
    let err = stderr(&o);
    for e in expect {
        assert!(err.contains(e), "{args:?}: stderr lacks {e:?}:\n{err}");
    }
    assert!(o.stdout.is_empty(), "{args:?}: stdout: {}", stdout(&o));
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
    assert_eq!(
        listing(cwd),
        before,
        "{args:?} wrote into the working directory"
    );
}

#[test]
fn an_unknown_key_is_placed_by_file_and_line_with_a_suggestion() {
    let cwd = TempDir::new().unwrap();
    let (path, line) = broken_smoke(cwd.path(), "typo.toml", "devices = 2_000", "devics = 2_000");
    let p = path.to_str().unwrap();
    let place = format!("typo.toml:{line}:");
    let expect = [place.as_str(), "devics", "did you mean", "devices"];
    assert_bad_input(cwd.path(), &["run", p, "--out", "{out}"], &expect);
    // validate reports the same thing.
    assert_bad_input(cwd.path(), &["validate", p], &expect);
}

#[test]
fn bad_overrides_exit_2_naming_the_override() {
    let cwd = TempDir::new().unwrap();
    let smoke = scenario("smoke");
    let s = smoke.to_str().unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("fleet.devices", &["--set", "fleet.devices", "="]),
        ("hub.tier=S9", &["--set", "hub.tier=S9", "hub.tier", "S9"]),
        (
            "hub.units=500",
            &["--set", "hub.units=500", "hub.units", "500"],
        ),
        (
            "fleet.devices=lots",
            &["--set", "fleet.devices=lots", "fleet.devices"],
        ),
        (
            "fleet.devcies=10",
            &["--set", "fleet.devcies=10", "did you mean", "devices"],
        ),
    ];
    for (set, expect) in cases {
        assert_bad_input(
            cwd.path(),
            &["run", s, "--set", set, "--out", "{out}"],
            expect,
        );
    }
}

#[test]
fn unreadable_scenarios_exit_2_naming_the_path() {
    let cwd = TempDir::new().unwrap();
    let missing = cwd.path().join("no-such-scenario.toml");
    let m = missing.to_str().unwrap();
    assert_bad_input(
        cwd.path(),
        &["run", m, "--out", "{out}"],
        &["no-such-scenario.toml", "no such file"],
    );
    // A directory given as the scenario.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let d = dir.to_str().unwrap();
    assert_bad_input(cwd.path(), &["run", d, "--out", "{out}"], &[d, "directory"]);
    // Not TOML at all.
    let junk = cwd.path().join("junk.toml");
    fs::write(&junk, "this is = = not toml\n").unwrap();
    assert_bad_input(
        cwd.path(),
        &["run", junk.to_str().unwrap(), "--out", "{out}"],
        &["junk.toml:1:"],
    );
    fs::remove_file(&junk).unwrap();
    // A duration without quotes, the mistake the scenario reference warns about.
    let (unquoted, line) = broken_smoke(
        cwd.path(),
        "unquoted.toml",
        "max_duration = \"1h\"",
        "max_duration = 1h",
    );
    let place = format!("unquoted.toml:{line}:");
    assert_bad_input(
        cwd.path(),
        &["run", unquoted.to_str().unwrap(), "--out", "{out}"],
        &[&place],
    );
}

#[test]
fn an_arrival_longer_than_the_run_is_refused() {
    let cwd = TempDir::new().unwrap();
    // In the file: the place is the file and line of the window.
    let (path, line) = broken_smoke(
        cwd.path(),
        "long.toml",
        "window = \"60s\"",
        "window = \"2h\"",
    );
    let place = format!("long.toml:{line}:");
    assert_bad_input(
        cwd.path(),
        &["run", path.to_str().unwrap(), "--out", "{out}"],
        &[&place, "arrival.window", "max_duration"],
    );
    // By override: the place is the --set argument.
    assert_bad_input(
        cwd.path(),
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--set",
            "arrival.window=2h",
            "--out",
            "{out}",
        ],
        &["arrival.window=2h", "max_duration"],
    );
}

#[test]
fn an_existing_results_directory_is_left_untouched() {
    let cwd = TempDir::new().unwrap();
    let out = cwd.path().join("taken");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "precious").unwrap();
    let before = listing(cwd.path());
    let o = fleetsim(
        cwd.path(),
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("taken"), "{}", stderr(&o));
    assert_eq!(listing(&out), BTreeSet::from(["keep.txt".to_string()]));
    assert_eq!(
        fs::read_to_string(out.join("keep.txt")).unwrap(),
        "precious"
    );
    assert_eq!(listing(cwd.path()), before, "a temporary sibling was left");

    // An existing *empty* directory is fine (results/README.md).
    let empty = cwd.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let o = fleetsim(
        cwd.path(),
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--out",
            empty.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_exit(&o, 0);
    assert!(empty.join("summary.json").is_file());
}

#[test]
fn usage_errors_exit_2() {
    let cwd = TempDir::new().unwrap();
    let s = scenario("smoke");
    let s = s.to_str().unwrap();
    assert_bad_input(
        cwd.path(),
        &["run", s, "--no-such-flag"],
        &["--no-such-flag"],
    );
    assert_bad_input(
        cwd.path(),
        &["run", s, "--quiet", "--json", "--out", "{out}"],
        &["--quiet", "--json"],
    );
    assert_bad_input(cwd.path(), &["run"], &["SCENARIO"]);
    assert_bad_input(cwd.path(), &["frobnicate"], &["frobnicate"]);
}

/// `--seed` takes any u64 (it is one), but a seed above i64::MAX cannot be written as a TOML
/// integer, and the override it becomes fails with a message about a `--set` the user never
/// typed. Either run with the seed, or refuse `--seed` itself clearly.
#[test]
fn a_seed_above_i64_max_is_used_or_refused_as_a_seed() {
    let cwd = TempDir::new().unwrap();
    let out = cwd.path().join("out");
    let seed = "9223372036854775808"; // i64::MAX + 1
    let o = fleetsim(
        cwd.path(),
        &[
            "run",
            scenario("smoke").to_str().unwrap(),
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    match o.status.code() {
        Some(0) => {
            let s = read_json(&out.join("summary.json"));
            assert_eq!(s["seed"].to_string(), seed);
        }
        Some(2) => {
            let err = stderr(&o);
            assert!(
                err.contains("--seed"),
                "the error should name --seed:\n{err}"
            );
            assert!(!err.contains("floating point"), "{err}");
            assert!(!out.exists());
        }
        other => panic!("exit {other:?}: {}", stderr(&o)),
    }
}

// ---- 5. validate ----

#[test]
fn validate_accepts_a_shipped_scenario_and_writes_nothing() {
    let cwd = TempDir::new().unwrap();
    let o = fleetsim(
        cwd.path(),
        &["validate", scenario("blackout").to_str().unwrap()],
    );
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("blackout"), "{}", stdout(&o));
    assert!(listing(cwd.path()).is_empty(), "validate wrote files");

    // With overrides, and a broken override.
    let b = scenario("blackout");
    let b = b.to_str().unwrap();
    let o = fleetsim(cwd.path(), &["validate", b, "--set", "fleet.devices=10k"]);
    assert_exit(&o, 0);
    assert_bad_input(
        cwd.path(),
        &["validate", b, "--set", "hub.units=500"],
        &["hub.units"],
    );
}

// ---- 6. --set ----

#[test]
fn set_overrides_a_count_with_a_suffix() {
    let (_cwd, out, _) = run_ok(
        &scenario("smoke"),
        &["--set", "fleet.devices=1k", "--quiet"],
    );
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["devices"], 1000);
    assert_eq!(s["operations"]["device.boot_to_online"]["attempts"], 1000);
    assert_eq!(s["model"]["demand"]["devices"], 1000);
    // An override is part of the scenario's identity.
    let (_cwd, plain, _) = run_ok(&scenario("smoke"), &["--quiet"]);
    let p = read_json(&plain.join("summary.json"));
    assert_ne!(s["scenario"]["hash"], p["scenario"]["hash"]);
}

// ---- 7. every shipped scenario runs to the end ----

/// A small fleet for each shipped scenario, so it runs in a second or two in a debug build.
/// black-friday spreads its devices over 12 simulated days (almost every event opens a new
/// histogram interval), so it gets fewer.
fn small_fleet(name: &str) -> &'static str {
    match name {
        "black-friday" => "fleet.devices=300",
        _ => "fleet.devices=2000",
    }
}

#[test]
fn every_shipped_scenario_runs_to_completion_with_a_small_fleet() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<String> = listing(&dir)
        .into_iter()
        .filter_map(|f| f.strip_suffix(".toml").map(str::to_string))
        .collect();
    names.sort();
    for expected in ["black-friday", "blackout", "reboot-wave", "smoke"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    for name in names {
        let set = small_fleet(&name);
        let devices: u64 = set.rsplit('=').next().unwrap().parse().unwrap();
        let (_cwd, out, _) = run_ok(&scenario(&name), &["--set", set, "--json"]);
        let s = read_json(&out.join("summary.json"));
        assert_eq!(s["scenario"]["name"], name.as_str());
        assert_eq!(s["devices"], devices, "{name}");
        assert_eq!(s["complete"], true, "{name}");
        // The shipped scenarios keep dead devices at 0, so the whole (small) fleet comes back.
        for q in ["t99_s", "t100_s"] {
            assert!(
                s["online"][q].as_f64().is_some(),
                "{name}: online.{q} is null: {}",
                s["online"]
            );
        }
        assert_eq!(
            s["operations"]["device.boot_to_online"]["ok"], devices,
            "{name}"
        );
    }
}

/// `fleetsim validate … | head -1`: a reader that goes away is not an error (it used to panic
/// with "failed printing to stdout: Broken pipe").
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::process::{Command, Stdio};
    for _ in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
            .args(["validate", "scenarios/blackout.toml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(out.status.code(), Some(0), "{err}");
    }
}
