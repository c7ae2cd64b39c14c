//! The nightly capacity regression job end to end (issue #5): SLOs in the scenario and from
//! `--slo`, `fleetsim compare` against a baseline, JUnit XML for CI, the committed baselines,
//! and `.ci/nightly.sh` — the script the GitHub workflow runs — executed here as CI would.
//!
//! The scenario is `tests/fixtures/capacity.toml`: 3,000 devices reconnect to one S1 hub whose
//! connect limit binds, so its unit count decides the SLOs. 20 units meet them; 1 unit (the
//! deliberately weakened scenario) does not. Every command runs in a fresh temporary directory.

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/capacity.toml");

fn fixture() -> &'static Path {
    Path::new(FIXTURE)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `fleetsim run capacity.toml --out DIR --junit DIR.xml EXTRA...` in `cwd`.
fn run_capacity(cwd: &Path, name: &str, extra: &[&str]) -> (PathBuf, PathBuf, Output) {
    let out = cwd.join(name);
    let junit = cwd.join(format!("{name}.xml"));
    let mut args = vec![
        "run",
        FIXTURE,
        "--out",
        out.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = fleetsim(cwd, &args);
    (out, junit, o)
}

/// The `<testcase>` elements of a JUnit file: (name, failure message if failed).
fn cases(xml: &str) -> Vec<(String, Option<String>)> {
    let attr = |s: &str, a: &str| -> String {
        let start = s.find(&format!("{a}=\"")).unwrap() + a.len() + 2;
        s[start..start + s[start..].find('"').unwrap()].to_string()
    };
    xml.split("<testcase ")
        .skip(1)
        .map(|c| {
            let head = &c[..c.find('>').unwrap()];
            let body = c.split("</testcase>").next().unwrap();
            let failure = body
                .find("<failure ")
                .map(|at| attr(&body[at..], "message"));
            (attr(head, "name"), failure)
        })
        .collect()
}

// ---- SLOs ----

#[test]
fn slos_pass_on_the_sized_scenario_and_fail_on_the_weakened_one() {
    let cwd = TempDir::new().unwrap();

    // 20 units: every SLO met, exit 0, the verdicts in summary.json and the JUnit file.
    let (out, junit, o) = run_capacity(cwd.path(), "strong", &[]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("3 SLOs: all met"), "{text}");
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    let s = read_json(&out.join("summary.json"));
    let slo = s["slo"].as_array().unwrap();
    assert_eq!(slo.len(), 3);
    for v in slo {
        assert_eq!(v["pass"], true, "{v}");
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["condition", "measured", "metric", "pass"]);
    }
    assert_eq!(slo[0]["metric"], "online.t99");
    assert_eq!(slo[0]["condition"], "< 20s");
    assert_eq!(slo[0]["measured"], s["online"]["t99_s"]);
    let xml = read(&junit);
    assert!(xml.contains(r#"tests="3" failures="0""#), "{xml}");
    let c = cases(&xml);
    assert_eq!(c.len(), 3);
    assert!(c.iter().all(|(_, f)| f.is_none()), "{c:?}");
    assert_eq!(c[0].0, "online.t99 &lt; 20s");

    // 1 unit: the SLOs fail; every result is still written, complete; exit 1.
    let (out, junit, o) = run_capacity(cwd.path(), "weak", &["--set", "hub.units=1", "--quiet"]);
    assert_exit(&o, 1);
    assert!(o.stdout.is_empty(), "--quiet: {}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("SLOs failed"), "{err}");
    assert!(err.contains("online.t99 < 20s (measured"), "{err}");
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], true);
    for f in ["run.json", "timeline.csv", "latency.csv", "histograms.hlog"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let failed: Vec<&Value> = s["slo"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["pass"] == false)
        .collect();
    assert_eq!(failed.len(), 3, "{}", s["slo"]);
    let xml = read(&junit);
    assert!(xml.contains(r#"tests="3" failures="3""#), "{xml}");
    let c = cases(&xml);
    let (name, failure) = &c[0];
    assert_eq!(name, "online.t99 &lt; 20s");
    let failure = failure.as_ref().expect("online.t99 failed");
    // The measured value and the threshold, in the metric's unit.
    assert!(
        failure.starts_with("online.t99 &lt; 20s: measured ")
            && failure.ends_with("; threshold &lt; 20 s"),
        "{failure}"
    );
    let (name, failure) = &c[2];
    assert_eq!(name, "operations.hub.connect.throttle_rate &lt; 0.25");
    let rate = s["operations"]["hub.connect"]["throttle_rate"]
        .as_f64()
        .unwrap();
    assert!(
        failure
            .as_ref()
            .unwrap()
            .contains(&format!("measured {rate}; threshold &lt; 0.25")),
        "{failure:?}"
    );
}

#[test]
fn slo_flags_add_to_the_scenario_and_json_mode_stays_json() {
    let cwd = TempDir::new().unwrap();
    let (out, _, o) = run_capacity(
        cwd.path(),
        "flags",
        &[
            "--slo",
            "operations.hub.connect.errors == 0",
            "--slo",
            "online.t50<1s",
            "--json",
        ],
    );
    assert_exit(&o, 1);
    let printed: Value = serde_json::from_slice(&o.stdout).expect("--json prints only JSON");
    assert_eq!(printed, read_json(&out.join("summary.json")));
    let slo = printed["slo"].as_array().unwrap();
    assert_eq!(slo.len(), 5);
    assert_eq!(slo[3]["metric"], "operations.hub.connect.errors");
    assert_eq!(slo[3]["pass"], true);
    assert_eq!(slo[4]["metric"], "online.t50");
    assert_eq!(slo[4]["condition"], "<1s");
    assert_eq!(slo[4]["pass"], false);
    assert!(
        stderr(&o).contains("1 of 5 SLOs failed: online.t50 <1s"),
        "{}",
        stderr(&o)
    );
    // SLOs judge a run; they are not part of the scenario it ran.
    let (plain, _, o) = run_capacity(cwd.path(), "plain", &["--quiet"]);
    assert_exit(&o, 0);
    assert_eq!(
        read_json(&plain.join("summary.json"))["scenario"]["hash"],
        printed["scenario"]["hash"]
    );
}

/// Bad SLO input: exit 2 before anything runs, naming the problem; nothing written.
#[test]
fn bad_slos_exit_2_before_the_run() {
    let cwd = TempDir::new().unwrap();
    let text = read(fixture());
    let broken = text.replace("\"online.t99\" = \"< 20s\"", "\"online.t98\" = \"< 20s\"");
    let line = broken[..broken.find("\"online.t98\"").unwrap()]
        .lines()
        .count()
        + 1;
    let path = cwd.path().join("broken.toml");
    fs::write(&path, broken).unwrap();
    let p = path.to_str().unwrap();
    let s = fixture();
    let s = s.to_str().unwrap();
    let place = format!("broken.toml:{line}:1: slo.\"online.t98\": unknown metric `online.t98`");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["run", p], vec![&place, "did you mean", "online.t99_s"]),
        (vec!["validate", p], vec![&place]),
        (
            vec!["run", s, "--slo", "online.t99 soon"],
            vec!["--slo 'online.t99 soon'", "is not METRIC OP VALUE"],
        ),
        (
            vec!["run", s, "--slo", "online.t99 < soon"],
            vec!["--slo 'online.t99 < soon'", "`< soon` is not a condition"],
        ),
        (
            vec!["run", s, "--slo", "operations.hub.conect.errors == 0"],
            vec!["unknown metric", "operations.hub.connect.errors"],
        ),
        (
            vec![
                "run",
                s,
                "--slo",
                "operations.hub.connect.throttle_rate < 5m",
            ],
            vec!["is a duration", "is not a time"],
        ),
        (
            vec!["run", s, "--junit", "no/such/dir/x.xml"],
            vec!["--junit", "does not exist"],
        ),
    ];
    for (mut args, expect) in cases {
        let out = cwd.path().join("never");
        let out_s = out.to_str().unwrap().to_string();
        if args[0] == "run" {
            args.extend(["--out", &out_s]);
        }
        let before: Vec<_> = fs::read_dir(cwd.path()).unwrap().collect();
        let o = fleetsim(cwd.path(), &args);
        assert_exit(&o, 2);
        for e in expect {
            assert!(
                stderr(&o).contains(e),
                "{args:?}: {e:?} not in\n{}",
                stderr(&o)
            );
        }
        assert!(!out.exists(), "{args:?} wrote results");
        assert_eq!(fs::read_dir(cwd.path()).unwrap().count(), before.len());
    }
}

// ---- compare ----

#[test]
fn compare_passes_an_unchanged_run_and_fails_a_weakened_one_with_junit() {
    let cwd = TempDir::new().unwrap();
    let d = cwd.path();
    let (base, _, o) = run_capacity(d, "base", &["--quiet"]);
    assert_exit(&o, 0);
    let (same, _, o) = run_capacity(d, "same", &["--quiet"]);
    assert_exit(&o, 0);
    let (weak, _, o) = run_capacity(d, "weak", &["--quiet", "--set", "hub.units=1"]);
    assert_exit(&o, 1);
    let arg = |p: &PathBuf| p.to_str().unwrap().to_string();
    let junit = d.join("compare.xml");
    let md = d.join("compare.md");

    // Unchanged: the engine is deterministic, so every metric is equal. Exit 0.
    let o = fleetsim(
        d,
        &[
            "compare",
            &arg(&same),
            &arg(&base),
            "--junit",
            &arg(&junit),
            "--markdown",
            &arg(&md),
        ],
    );
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("every compared metric is unchanged"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("0 regressed"), "{}", stdout(&o));
    let c = cases(&read(&junit));
    assert_eq!(c.len(), 6 + 8 * 6, "one case per compared metric");
    assert!(c.iter().all(|(_, f)| f.is_none()));
    assert!(
        read(&md).starts_with("### capacity: passed"),
        "{}",
        read(&md)
    );

    // Weakened: another scenario hash, so not comparable (exit 2) unless forced...
    let o = fleetsim(
        d,
        &["compare", &arg(&weak), &arg(&base), "--junit", &arg(&junit)],
    );
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("not comparable"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(
        c.len(),
        cases(&read(&junit)).len(),
        "the old file is untouched"
    );
    // ...forced, it is a regression: exit 1, and the JUnit file lists the failing metrics
    // with the measured value and the threshold.
    let o = fleetsim(
        d,
        &[
            "compare",
            &arg(&weak),
            &arg(&base),
            "--force",
            "--junit",
            &arg(&junit),
            "--markdown",
            &arg(&md),
        ],
    );
    assert_exit(&o, 1);
    let table = stdout(&o);
    assert!(table.contains("REGRESSED"), "{table}");
    assert!(
        table.contains("forced: scenario capacity changed"),
        "{table}"
    );
    assert!(
        stderr(&o).contains("fleetsim: regression: online.t99_s is "),
        "{}",
        stderr(&o)
    );
    let xml = read(&junit);
    let c = cases(&xml);
    let failed: Vec<&str> = c
        .iter()
        .filter(|(_, f)| f.is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    for m in [
        "online.t99_s",
        "operations.hub.connect.throttled",
        "operations.hub.connect.throttle_rate",
        "operations.device.boot_to_online.latency_ms.p99",
    ] {
        assert!(failed.contains(&m), "{m} not failed in {failed:?}");
    }
    assert!(!failed.contains(&"operations.dps.register.errors"));
    let base_t99 = read_json(&base.join("summary.json"))["online"]["t99_s"].clone();
    let (_, f) = c.iter().find(|(n, _)| n == "online.t99_s").unwrap();
    assert!(f.as_ref().unwrap().contains("tolerance 10%"), "{f:?}");
    assert!(xml.contains(&format!("baseline: {base_t99} s\n")), "{xml}");
    assert!(read(&md).contains("**REGRESSED**"), "{}", read(&md));

    // A generous tolerance lets the same change through.
    let o = fleetsim(
        d,
        &[
            "compare",
            &arg(&weak),
            &arg(&base),
            "--force",
            "--max-regression",
            "10000%",
        ],
    );
    assert_exit(&o, 0);
}

/// Bad compare input: exit 2 with a message that names the problem.
#[test]
fn compare_refuses_what_it_cannot_compare() {
    let cwd = TempDir::new().unwrap();
    let d = cwd.path();
    let (run, _, o) = run_capacity(d, "run", &["--quiet"]);
    assert_exit(&o, 0);
    let r = run.to_str().unwrap();
    let other = d.join("other-format");
    fs::create_dir(&other).unwrap();
    let mut s = read_json(&run.join("summary.json"));
    s["format"] = Value::from(2);
    fs::write(other.join("summary.json"), s.to_string()).unwrap();
    let seed7 = d.join("seed7");
    assert_exit(
        &fleetsim(
            d,
            &[
                "run",
                FIXTURE,
                "--seed",
                "7",
                "--out",
                seed7.to_str().unwrap(),
                "--quiet",
            ],
        ),
        0,
    );
    let r_slash = format!("{r}/.");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["compare", r, r], "compared with itself"),
        (vec!["compare", r, &r_slash], "compared with itself"),
        (vec!["compare", r, "nope"], "nope: no such directory"),
        (
            vec!["compare", r, other.to_str().unwrap()],
            "is results format 2; this fleetsim reads format 1",
        ),
        (
            vec!["compare", r, seed7.to_str().unwrap()],
            "different seeds: 1 vs 7",
        ),
        (vec!["compare", r, FIXTURE], "is not a directory"),
        (
            vec![
                "compare",
                r,
                seed7.to_str().unwrap(),
                "--max-regression",
                "lots",
            ],
            "--max-regression `lots` is not a percentage",
        ),
        (vec!["compare", r], "BASELINE"),
    ];
    for (args, expect) in cases {
        let o = fleetsim(d, &args);
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains(expect),
            "{args:?}: {expect:?} not in\n{}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty(), "{args:?}: {}", stdout(&o));
    }
}

// ---- the committed baselines ----

/// `results/baselines/<scenario>/summary.json` for each scenario the nightly job runs: there,
/// tracked by git, and taken from the scenario as it is now (same hash, so the job compares
/// rather than refusing). Whether the numbers are current is the nightly job's question.
#[test]
fn committed_baselines_match_the_shipped_scenarios() {
    let cwd = TempDir::new().unwrap();
    for name in ["blackout", "black-friday", "reboot-wave"] {
        let path = repo().join(format!("results/baselines/{name}/summary.json"));
        let b = read_json(&path);
        assert_eq!(b["format"], 1, "{name}");
        assert_eq!(b["scenario"]["name"], name);
        assert_eq!(b["engine"], "virtual");
        assert_eq!(b["complete"], true, "{name}");
        let scenario = repo().join(format!("scenarios/{name}.toml"));
        let o = fleetsim(cwd.path(), &["validate", scenario.to_str().unwrap()]);
        assert_exit(&o, 0);
        let hash = b["scenario"]["hash"].as_str().unwrap();
        assert!(
            stdout(&o).contains(&format!("hash {hash})")),
            "results/baselines/{name} was taken from another version of scenarios/{name}.toml \
             ({hash}; now {}): refresh it with .ci/nightly.sh --update-baselines",
            stdout(&o)
        );
        // Its SLOs were met when it was taken.
        assert!(
            b["slo"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["pass"] == true),
            "{name}: {}",
            b["slo"]
        );
        // Tracked: .gitignore ignores results/* but not the baselines.
        if let Ok(g) = Command::new("git")
            .current_dir(repo())
            .args(["check-ignore", "-q"])
            .arg(&path)
            .output()
        {
            if g.status.code() != Some(128) {
                assert_eq!(
                    g.status.code(),
                    Some(1),
                    "{} is git-ignored",
                    path.display()
                );
            }
        }
    }
}

// ---- .ci/nightly.sh, as the workflow runs it ----

struct Nightly {
    dir: TempDir,
}

impl Nightly {
    fn new() -> Nightly {
        Nightly {
            dir: TempDir::new().unwrap(),
        }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("nightly")
    }

    fn baselines(&self) -> PathBuf {
        self.dir.path().join("baselines")
    }

    /// `.ci/nightly.sh ARGS` on smoke and the capacity fixture, with this test's binary.
    fn run(&self, args: &[&str], set: &str) -> Output {
        let scenarios = format!(
            "{} {}",
            repo().join("scenarios/smoke.toml").display(),
            fixture().display()
        );
        Command::new("bash")
            .arg(repo().join(".ci/nightly.sh"))
            .args(args)
            .current_dir(self.dir.path())
            .env("FLEETSIM", env!("CARGO_BIN_EXE_fleetsim"))
            .env("NIGHTLY_OUT", self.out())
            .env("BASELINES", self.baselines())
            .env("SCENARIOS", scenarios)
            .env("NIGHTLY_SET", set)
            .env(
                "GITHUB_STEP_SUMMARY",
                self.dir.path().join("step-summary.md"),
            )
            .env_remove("MAX_REGRESSION")
            .output()
            .expect("bash runs")
    }
}

#[test]
fn the_nightly_script_runs_locally_as_in_ci() {
    let n = Nightly::new();

    // No baselines yet: exit 2, saying how to take them.
    let o = n.run(&[], "");
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--update-baselines"), "{}", stderr(&o));

    // Take them on purpose; then an unchanged nightly passes.
    let o = n.run(&["--update-baselines"], "");
    assert_exit(&o, 0);
    for name in ["smoke", "capacity"] {
        assert!(n.baselines().join(name).join("summary.json").is_file());
    }
    let o = n.run(&[], "");
    assert_exit(&o, 0);
    let out = n.out();
    for f in [
        "smoke/summary.json",
        "smoke.slo.xml",
        "smoke.compare.xml",
        "smoke.md",
        "capacity/summary.json",
        "capacity.slo.xml",
        "capacity.compare.xml",
        "capacity.md",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(read(&out.join("capacity.compare.xml")).contains(r#"failures="0""#));
    let summary = read(&n.dir.path().join("step-summary.md"));
    assert!(summary.contains("### smoke: passed"), "{summary}");
    assert!(summary.contains("### capacity: passed"), "{summary}");

    // A baseline that was faster than today: the job fails with 1 and names the metric.
    let b = n.baselines().join("capacity/summary.json");
    let mut faster = read_json(&b);
    let t99 = faster["online"]["t99_s"].as_f64().unwrap();
    faster["online"]["t99_s"] = Value::from(t99 / 2.0);
    fs::write(&b, faster.to_string()).unwrap();
    let o = n.run(&[], "");
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("regression: online.t99_s"),
        "{}",
        stderr(&o)
    );
    let c = cases(&read(&out.join("capacity.compare.xml")));
    let failed: Vec<&str> = c
        .iter()
        .filter(|(_, f)| f.is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(failed, ["online.t99_s"]);

    // The weakened scenario (one hub unit): its SLOs fail, and it is no longer the scenario
    // its baseline was taken from, so the job says so (exit 2) and shows what changed.
    let o = n.run(&["--update-baselines"], "");
    assert_exit(&o, 0);
    let o = n.run(&[], "hub.units=1");
    assert_exit(&o, 2);
    let slo = read(&out.join("capacity.slo.xml"));
    assert!(slo.contains(r#"failures="3""#), "{slo}");
    let err = stderr(&o);
    assert!(err.contains("capacity is not comparable"), "{err}");
    assert!(
        err.contains("REGRESSED"),
        "the forced comparison is shown: {err}"
    );
}

/// The workflow's shell steps are exactly the build and the script the test above runs, so
/// what CI does is what runs here; after them the results are uploaded and the JUnit files
/// published, even when the script failed. Read as YAML (its structure, not its text).
#[test]
fn the_workflow_runs_the_build_and_the_script_and_nothing_else() {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = read(&repo().join(".github/workflows/nightly-capacity.yml"));
    let docs = YamlLoader::load_from_str(&text).expect("the workflow is YAML");
    assert_eq!(docs.len(), 1, "one document");
    let wf = &docs[0];
    let s = |y: &Yaml| y.as_str().map(str::to_string);

    // Nightly, and on demand. (YAML 1.2: `on` is a string key, not `true`.)
    let cron: Vec<_> = wf["on"]["schedule"]
        .as_vec()
        .expect("on.schedule")
        .iter()
        .map(|e| s(&e["cron"]))
        .collect();
    assert_eq!(cron, [Some("17 3 * * *".to_string())]);
    assert!(
        wf["on"]
            .as_hash()
            .unwrap()
            .contains_key(&Yaml::String("workflow_dispatch".into())),
        "runs on demand"
    );
    // Reads the repository, writes only the check run of the JUnit report.
    assert_eq!(s(&wf["permissions"]["contents"]).as_deref(), Some("read"));
    assert_eq!(s(&wf["permissions"]["checks"]).as_deref(), Some("write"));

    let jobs = wf["jobs"].as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1, "one job");
    let job = &wf["jobs"]["capacity"];
    assert_eq!(s(&job["runs-on"]).as_deref(), Some("ubuntu-latest"));
    assert!(
        job["timeout-minutes"].as_i64().is_some_and(|m| m > 0),
        "bounded"
    );
    let steps = job["steps"].as_vec().expect("jobs.capacity.steps");
    for st in steps {
        assert!(
            st["run"].is_badvalue() != st["uses"].is_badvalue(),
            "a step runs a command or uses an action: {st:?}"
        );
    }
    // Where a step is, by what it runs or uses.
    let at = |what: &dyn Fn(&Yaml) -> bool, name: &str| -> usize {
        let found: Vec<usize> = (0..steps.len()).filter(|&i| what(&steps[i])).collect();
        assert_eq!(found.len(), 1, "one {name} step: {steps:?}");
        found[0]
    };
    let uses = |prefix: &'static str| {
        move |st: &Yaml| st["uses"].as_str().is_some_and(|u| u.starts_with(prefix))
    };

    // The shell steps: the build, then the script; nothing else.
    let runs: Vec<String> = steps.iter().filter_map(|st| s(&st["run"])).collect();
    assert_eq!(runs, ["cargo build --release --locked", ".ci/nightly.sh"]);
    let script = at(&|st| st["run"].as_str() == Some(".ci/nightly.sh"), "script");

    // Then, whatever the script's exit: the results uploaded, the JUnit files published.
    let upload = at(&uses("actions/upload-artifact@"), "upload");
    let junit = at(&uses("mikepenz/action-junit-report@"), "JUnit");
    assert!(upload > script && junit > script, "{steps:?}");
    let (upload, junit) = (&steps[upload], &steps[junit]);
    for st in [upload, junit] {
        assert_eq!(s(&st["if"]).as_deref(), Some("always()"), "{st:?}");
    }
    assert_eq!(
        s(&upload["with"]["path"]).as_deref(),
        Some("results/nightly/"),
        "uploads the results"
    );
    assert_eq!(
        s(&junit["with"]["report_paths"]).as_deref(),
        Some("results/nightly/*.xml"),
        "publishes JUnit"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(repo().join(".ci/nightly.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, ".ci/nightly.sh is not executable");
    }
}

/// A scenario's `[compare]` table is recorded in summary.json, and `compare` applies the
/// current run's tolerances.
#[test]
fn the_scenarios_compare_table_travels_in_summary_json() {
    let cwd = TempDir::new().unwrap();
    let d = cwd.path();
    let (base, _, o) = run_capacity(d, "base", &["--quiet"]);
    assert_exit(&o, 0);
    assert!(
        read_json(&base.join("summary.json"))
            .get("compare")
            .is_none()
    );
    let (weak, junit, o) = run_capacity(
        d,
        "weak",
        &[
            "--quiet",
            "--set",
            "hub.units=1",
            "--set",
            "compare.online.t99=ignore",
            "--set",
            "compare.operations.hub.connect.throttled=100000",
        ],
    );
    assert_exit(&o, 1);
    let s = read_json(&weak.join("summary.json"));
    assert_eq!(
        s["compare"],
        serde_json::json!({"online.t99": "ignore", "operations.hub.connect.throttled": "100000"})
    );
    let o = fleetsim(
        d,
        &[
            "compare",
            weak.to_str().unwrap(),
            base.to_str().unwrap(),
            "--force",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 1);
    let table = stdout(&o);
    let line = |m: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{m} ")))
            .unwrap_or_else(|| panic!("{m} not in\n{table}"))
            .to_string()
    };
    assert!(line("online.t99_s").ends_with("ignored"), "{table}");
    assert!(
        line("operations.hub.connect.throttled").contains("within tolerance"),
        "{table}"
    );
    assert!(line("online.t90_s").ends_with("REGRESSED"), "{table}");
    let failed: Vec<String> = cases(&read(&junit))
        .into_iter()
        .filter(|(_, f)| f.is_some())
        .map(|(n, _)| n)
        .collect();
    assert!(!failed.contains(&"online.t99_s".to_string()), "{failed:?}");
    assert!(failed.contains(&"online.t90_s".to_string()), "{failed:?}");
}
