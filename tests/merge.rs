//! `fleetsim merge`: shard results directories combined into one, through the binary.
//!
//! The live engine's `--shard K/N` runs are not needed to test the arithmetic: two runs of the
//! smoke scenario (seeds 1 and 2) are relabelled as shards 0/2 and 1/2 of one 4,000-device run
//! (their summaries edited: `shard`, a common seed, `model.demand.devices`), so every merged
//! figure can be checked against the two inputs, computed independently here. A run merged with
//! itself checks the online times against the exact ones; a whole run merged alone must come
//! back unchanged.

mod common;
use common::*;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const OPS: [&str; 6] = [
    "dps.status_lookup",
    "dps.register",
    "dps.poll",
    "hub.connect",
    "hub.telemetry",
    "device.boot_to_online",
];

const FILES: [&str; 7] = [
    "summary.json",
    "run.json",
    "timeline.csv",
    "latency.csv",
    "histograms.hlog",
    "report.html",
    "report.md",
];

/// `fleetsim run smoke --out DIR --quiet EXTRA...`; must succeed.
fn run_smoke(cwd: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = cwd.join(name);
    let smoke = scenario("smoke");
    let mut args = vec![
        "run",
        smoke.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--slo",
        "online.t99 < 30m",
        "--slo",
        "operations.dps.register.latency_ms.p99 < 1ms",
    ];
    args.extend_from_slice(extra);
    // The second SLO fails on purpose (exit 1, results written), to be judged again merged.
    assert_exit(&fleetsim(cwd, &args), 1);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn write_json(path: &Path, v: &Value) {
    fs::write(path, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
}

/// Copies the results directory `from` to `to`, relabelled as shard `index`/`count` of a
/// `fleet`-device run with seed 1, then applies `edit` to its summary.
fn shard_of(from: &Path, to: &Path, index: u32, count: u32, fleet: u64, edit: impl Fn(&mut Value)) {
    copy_dir(from, to);
    let path = to.join("summary.json");
    let mut s = read_json(&path);
    s["shard"] = json!({"index": index, "count": count});
    s["seed"] = json!(1);
    s["model"]["demand"]["devices"] = json!(fleet);
    edit(&mut s);
    write_json(&path, &s);
}

fn merge(cwd: &Path, dirs: &[&Path], out: &Path) -> std::process::Output {
    let mut args = vec!["merge".to_string()];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap().to_string()));
    args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fleetsim(cwd, &args)
}

/// `timeline.csv`: the t_s column as written, and the other 34 columns as numbers.
fn timeline(dir: &Path) -> Vec<(String, Vec<u64>)> {
    let text = fs::read_to_string(dir.join("timeline.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let mut cells = l.split(',');
            let t = cells.next().unwrap().to_string();
            (t, cells.map(|c| c.parse().unwrap()).collect())
        })
        .collect()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1e3
}

/// The first time ever_online reaches `k` in a timeline: (start of that row, row width).
fn timeline_crossing(rows: &[(String, Vec<u64>)], k: u64) -> Option<f64> {
    rows.iter()
        .find(|(_, c)| c[2] >= k)
        .map(|(t, _)| t.parse::<f64>().unwrap())
}

#[test]
fn two_runs_relabelled_as_two_shards_add_up_exactly() {
    let cwd = TempDir::new().unwrap();
    let c = cwd.path();
    let a = run_smoke(c, "a", &[]);
    let b = run_smoke(c, "b", &["--seed", "2"]);
    let (s0, s1) = (c.join("s0"), c.join("s1"));
    shard_of(&a, &s0, 0, 2, 4000, |_| {});
    shard_of(&b, &s1, 1, 2, 4000, |_| {});
    let out = c.join("merged");
    let o = merge(c, &[&s1, &s0], &out);
    assert_exit(&o, 0);
    let line = stdout(&o);
    assert!(
        line.starts_with("merged 2 shards of smoke (4,000 devices")
            && line.trim_end().ends_with(out.to_str().unwrap()),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    for f in FILES {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let mut siblings: Vec<String> = fs::read_dir(c)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    siblings.sort();
    assert_eq!(
        siblings,
        ["a", "b", "merged", "s0", "s1"],
        "no temporary directory left"
    );

    let (sa, sb, m) = (
        read_json(&a.join("summary.json")),
        read_json(&b.join("summary.json")),
        read_json(&out.join("summary.json")),
    );
    assert!(m.get("shard").is_none(), "{m}");
    assert_eq!(m["devices"], 4000);
    assert_eq!(m["seed"], 1);
    assert_eq!(m["format"], 1);
    assert_eq!(m["scenario"], sa["scenario"]);
    assert_eq!(m["complete"], true);
    assert_eq!(m["stop_reason"], "all_settled");
    assert_eq!(
        m["end_s"].as_f64().unwrap(),
        sa["end_s"]
            .as_f64()
            .unwrap()
            .max(sb["end_s"].as_f64().unwrap())
    );

    // Counts: exact sums; percentiles: those of the union of both runs' histograms.
    let (ha, hb, hm) = (hlog(&a), hlog(&b), hlog(&out));
    let latency_csv = fs::read_to_string(out.join("latency.csv")).unwrap();
    for (op, row) in OPS.iter().zip(latency_csv.lines().skip(1)) {
        let (x, y, z) = (
            &sa["operations"][op],
            &sb["operations"][op],
            &m["operations"][op],
        );
        for k in ["attempts", "ok", "throttled", "errors", "timeouts"] {
            assert_eq!(
                z[k].as_u64().unwrap(),
                x[k].as_u64().unwrap() + y[k].as_u64().unwrap(),
                "{op}.{k}"
            );
        }
        let (att, thr) = (
            z["attempts"].as_u64().unwrap(),
            z["throttled"].as_u64().unwrap(),
        );
        let rate = if att == 0 {
            0.0
        } else {
            (thr as f64 / att as f64 * 1e6).round() / 1e6
        };
        assert_eq!(z["throttle_rate"].as_f64().unwrap(), rate, "{op}");
        let union = total(&[&ha, &hb], op);
        assert_eq!(
            union.len(),
            z["ok"].as_u64().unwrap(),
            "{op}: one sample per Ok"
        );
        let l = &z["latency_ms"];
        assert!(row.starts_with(&format!("{op},{},", union.len())), "{row}");
        if union.is_empty() {
            assert!(l["p50"].is_null() && l["max"].is_null(), "{op}: {l}");
            continue;
        }
        for (k, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
            assert_eq!(
                l[k].as_f64().unwrap(),
                ms(union.value_at_quantile(q)),
                "{op} {k}"
            );
        }
        assert_eq!(l["max"].as_f64().unwrap(), ms(union.max()), "{op} max");
        assert!(
            row.contains(&format!(",{:.3},", ms(union.value_at_quantile(0.5)))),
            "{row}"
        );
    }
    // The two runs really differ, so a merge that took one of them would fail above.
    assert_ne!(
        sa["operations"]["dps.register"]["latency_ms"],
        sb["operations"]["dps.register"]["latency_ms"]
    );

    // histograms.hlog: every (tag, start) is the sum of the inputs' lines with that tag and
    // start, and nothing else is there.
    let mut expect: BTreeMap<(String, u128), Histogram<u64>> = BTreeMap::new();
    for (key, h) in ha.iter().chain(hb.iter()) {
        let key = if key.0 == "online_at" {
            (key.0.clone(), 0)
        } else {
            key.clone()
        };
        expect
            .entry(key)
            .or_insert_with(|| Histogram::new(3).unwrap())
            .add(h)
            .unwrap();
    }
    assert_eq!(
        hm.keys().collect::<Vec<_>>(),
        expect.keys().collect::<Vec<_>>()
    );
    for (key, h) in &expect {
        assert_eq!(&hm[key], h, "{key:?}");
    }
    assert_eq!(hm[&("online_at".to_string(), 0)].len(), 4000);

    // timeline.csv: row-wise sums; the shorter run keeps its final levels and adds no counts.
    let (ta, tb, tm) = (timeline(&a), timeline(&b), timeline(&out));
    assert_ne!(ta.len(), tb.len(), "the padding is exercised");
    assert_eq!(tm.len(), ta.len().max(tb.len()));
    let cell = |t: &[(String, Vec<u64>)], i: usize, col: usize| match t.get(i) {
        Some((_, c)) => c[col],
        None if col < 4 => t.last().unwrap().1[col],
        None => 0,
    };
    for (i, (t, cols)) in tm.iter().enumerate() {
        assert_eq!(t, &i.to_string(), "1 s rows from 0");
        for (col, v) in cols.iter().enumerate() {
            assert_eq!(
                *v,
                cell(&ta, i, col) + cell(&tb, i, col),
                "row {i} column {col}"
            );
        }
    }
    let last = &tm.last().unwrap().1;
    assert_eq!(last[2], 4000, "ever_online ends at the whole fleet");

    // online.t*: from the merged first-online histogram. The exact merged time lies in the
    // timeline row where the merged ever_online first reaches the threshold, and between the
    // two runs' own times; the reported one is never below it and at most 0.1 % above.
    for (key, percent) in [
        ("t50_s", 50u64),
        ("t90_s", 90),
        ("t99_s", 99),
        ("t100_s", 100),
    ] {
        let t = m["online"][key].as_f64().unwrap();
        let k = (4000 * percent).div_ceil(100);
        let row = timeline_crossing(&tm, k).unwrap();
        assert!(
            t >= row && t <= (row + 1.0) * 1.001,
            "{key} {t} not in row {row}"
        );
        // The top of the histogram bucket holding the k-th first-online time of the union.
        let union = total(&[&ha, &hb], "online_at");
        let mut seen = 0;
        let kth = union
            .iter_recorded()
            .find(|v| {
                seen += v.count_at_value();
                seen >= k
            })
            .map(|v| union.highest_equivalent(v.value_iterated_to()))
            .unwrap();
        // … or the end of the run, if that came first (the exact time is no later).
        let end = m["end_s"].as_f64().unwrap();
        assert_eq!(t, (kth as f64 / 1e6).min(end), "{key}");
        let (x, y) = (
            sa["online"][key].as_f64().unwrap(),
            sb["online"][key].as_f64().unwrap(),
        );
        assert!(
            t >= x.min(y) && t <= x.max(y) * 1.001,
            "{key} {t} vs {x}, {y}"
        );
    }

    // The model is shard 0's, beside the merged times; SLOs are judged again.
    let bound = m["model"]["lower_bound_s"]["t99"].as_f64().unwrap();
    assert_eq!(m["model"]["lower_bound_s"], sa["model"]["lower_bound_s"]);
    assert_eq!(
        m["model"]["measured_over_bound"]["t99"].as_f64().unwrap(),
        (m["online"]["t99_s"].as_f64().unwrap() / bound * 1000.0).round() / 1000.0
    );
    assert_eq!(m["model"]["bottleneck"], "arrival");
    assert!(m["model"].get("waste_note").is_none(), "{}", m["model"]);
    let slo = m["slo"].as_array().unwrap();
    assert_eq!(slo.len(), 2, "{slo:?}");
    assert_eq!(slo[0]["metric"], "online.t99");
    assert_eq!(slo[0]["measured"], m["online"]["t99_s"]);
    assert_eq!(slo[0]["pass"], true);
    assert_eq!(
        slo[1]["measured"],
        m["operations"]["dps.register"]["latency_ms"]["p99"]
    );
    assert_eq!(slo[1]["pass"], false);

    // run.json: the shards' wall-clock facts combined; the merge's own command line.
    let (ra, rb, rm) = (
        read_json(&a.join("run.json")),
        read_json(&b.join("run.json")),
        read_json(&out.join("run.json")),
    );
    assert_eq!(
        rm["events"].as_u64().unwrap(),
        ra["events"].as_u64().unwrap() + rb["events"].as_u64().unwrap()
    );
    assert_eq!(
        rm["wall_s"].as_f64().unwrap(),
        ra["wall_s"]
            .as_f64()
            .unwrap()
            .max(rb["wall_s"].as_f64().unwrap())
    );
    let started = ra["started_utc"]
        .as_str()
        .unwrap()
        .min(rb["started_utc"].as_str().unwrap());
    assert_eq!(rm["started_utc"], started);
    if let (Some(x), Some(y)) = (ra["peak_rss_bytes"].as_u64(), rb["peak_rss_bytes"].as_u64()) {
        assert_eq!(rm["peak_rss_bytes"].as_u64().unwrap(), x + y);
    }
    assert_eq!(rm["command_line"][1], "merge");

    // The merged directory is a results directory like any other.
    let md = fs::read(out.join("report.md")).unwrap();
    assert_exit(&fleetsim(c, &["report", out.to_str().unwrap()]), 0);
    assert_eq!(
        fs::read(out.join("report.md")).unwrap(),
        md,
        "report rebuilds it"
    );
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("online_at"),
        "first-online times are not a latency"
    );
    let copy = c.join("copy");
    copy_dir(&out, &copy);
    assert_exit(
        &fleetsim(
            c,
            &[
                "compare",
                out.to_str().unwrap(),
                copy.to_str().unwrap(),
                "--quiet",
            ],
        ),
        0,
    );

    // The order of the inputs does not matter.
    let again = c.join("again");
    assert_exit(&merge(c, &[&s0, &s1], &again), 0);
    for f in [
        "summary.json",
        "timeline.csv",
        "latency.csv",
        "histograms.hlog",
        "report.md",
    ] {
        assert!(
            fs::read(out.join(f)).unwrap() == fs::read(again.join(f)).unwrap(),
            "{f} depends on the order of the inputs"
        );
    }
}

#[test]
fn a_run_merged_with_itself_has_its_own_online_times_to_within_a_tenth_of_a_percent() {
    let cwd = TempDir::new().unwrap();
    let c = cwd.path();
    let a = run_smoke(c, "a", &[]);
    let live = |opened: u64| {
        json!({"endpoint": "in-process mock",
               "generator_lag_ms": {"p50": 1.0, "p99": 2.0, "max": 3.0, "late_actions": 1, "actions": 10},
               "wire_connect_ms": {"p50": 1.0, "p99": 2.0, "max": 3.0},
               "connections": {"opened": opened, "failed": 0, "dropped": 1, "peak_open": 5},
               "warnings": ["w"]})
    };
    let (s0, s1) = (c.join("s0"), c.join("s1"));
    shard_of(&a, &s0, 0, 2, 4000, |s| s["live"] = live(7));
    shard_of(&a, &s1, 1, 2, 4000, |s| {
        s["live"] = live(8);
        s["complete"] = json!(false);
        s["stop_reason"] = json!("endpoint_lost");
    });
    let out = c.join("m");
    assert_exit(&merge(c, &[&s0, &s1], &out), 0);
    let (sa, m) = (
        read_json(&a.join("summary.json")),
        read_json(&out.join("summary.json")),
    );
    for key in ["t50_s", "t90_s", "t99_s", "t100_s"] {
        let (exact, t) = (
            sa["online"][key].as_f64().unwrap(),
            m["online"][key].as_f64().unwrap(),
        );
        assert!(
            t >= exact && t <= exact * 1.001,
            "{key}: {t} is not within 0.1 % above {exact}"
        );
    }
    // Twice the same population: the same percentiles, twice the counts.
    for op in OPS {
        assert_eq!(
            m["operations"][op]["latency_ms"], sa["operations"][op]["latency_ms"],
            "{op}"
        );
        assert_eq!(
            m["operations"][op]["attempts"].as_u64().unwrap(),
            2 * sa["operations"][op]["attempts"].as_u64().unwrap()
        );
    }
    assert_eq!(m["complete"], false);
    assert_eq!(m["stop_reason"], "endpoint_lost");
    assert_eq!(m["live"]["connections"]["opened"], 15);
    assert_eq!(m["live"]["connections"]["dropped"], 2);
    assert_eq!(m["live"]["generator_lag_ms"]["actions"], 20);
    assert_eq!(m["live"]["warnings"], json!(["w"]));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Incomplete run"), "{md}");
}

#[test]
fn a_whole_run_merged_alone_comes_back_unchanged() {
    let cwd = TempDir::new().unwrap();
    let c = cwd.path();
    let a = run_smoke(c, "a", &[]);
    let out = c.join("m");
    let o = merge(c, &[&a], &out);
    assert_exit(&o, 0);
    assert!(stdout(&o).starts_with("merged 1 whole run of smoke (2,000 devices"));
    for f in ["summary.json", "timeline.csv", "latency.csv", "report.md"] {
        assert!(
            fs::read(a.join(f)).unwrap() == fs::read(out.join(f)).unwrap(),
            "{f} changed"
        );
    }
    // The same lines (tag, start, length, max) holding the same histograms; the encoding of a
    // histogram is not unique, so the histograms are compared decoded.
    let lines = |d: &Path| -> Vec<String> {
        fs::read_to_string(d.join("histograms.hlog"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l[..l.rfind(',').unwrap()].to_string())
            .collect()
    };
    assert_eq!(lines(&a), lines(&out));
    assert_eq!(hlog(&a), hlog(&out));
}

#[test]
fn inputs_that_are_not_the_shards_of_one_run_are_refused() {
    let cwd = TempDir::new().unwrap();
    let c = cwd.path();
    let a = run_smoke(c, "a", &[]);
    let shard = |name: &str, index: u32, count: u32, edit: &dyn Fn(&mut Value)| {
        let d = c.join(name);
        shard_of(&a, &d, index, count, 2000 * u64::from(count), edit);
        d
    };
    let s0 = shard("s0", 0, 2, &|_| {});
    let s1 = shard("s1", 1, 2, &|_| {});
    let out = c.join("out");
    // Exit 2, a message naming `names` and saying `says`, and no --out written.
    let refused = |dirs: &[&Path], names: &[&Path], says: &str| {
        let err = assert_exit(&merge(c, dirs, &out), 2);
        for n in names {
            assert!(err.contains(n.to_str().unwrap()), "{n:?} not named: {err}");
        }
        assert!(err.contains(says), "expected `{says}`: {err}");
        assert!(!out.exists(), "{err}");
    };

    let hash = shard("hash", 1, 2, &|s| s["scenario"]["hash"] = json!("0000"));
    refused(&[&s0, &hash], &[&hash, &s0], "scenario hash is 0000");
    let seed = shard("seed", 1, 2, &|s| s["seed"] = json!(5));
    refused(&[&s0, &seed], &[&seed], "seed is 5, not 1");
    let engine = shard("engine", 1, 2, &|s| s["engine"] = json!("live"));
    refused(&[&s0, &engine], &[&engine], "engine is live");
    let dup = shard("dup", 0, 2, &|_| {});
    refused(&[&s0, &dup, &s1], &[&s0, &dup], "both shard 0/2");
    refused(&[&s1], &[&s1], "shard 0/2 is missing");
    let t0 = shard("t0", 0, 3, &|_| {});
    let t2 = shard("t2", 2, 3, &|_| {});
    refused(&[&t0, &t2], &[&t0, &t2], "shard 1/3 is missing");
    refused(&[&s0, &t2], &[&t2], "shard is 2/3, not 0/2");
    refused(&[&s0, &a], &[&a], "a whole run");
    let devices = shard("devices", 1, 2, &|s| s["devices"] = json!(1999));
    refused(&[&s0, &devices], &[&devices], "reports 1999 devices");
    let format = shard("format", 1, 2, &|s| s["format"] = json!(2));
    refused(&[&s0, &format], &[&format], "results format 2");
    let empty = c.join("empty");
    fs::create_dir(&empty).unwrap();
    refused(&[&s0, &empty], &[&empty], "it has no summary.json");
    refused(
        &[&s0, &c.join("nowhere")],
        &[&c.join("nowhere")],
        "no such directory",
    );

    // Files that do not belong together.
    let old = shard("old", 1, 2, &|_| {});
    let text = fs::read_to_string(old.join("histograms.hlog")).unwrap();
    let without: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("Tag=online_at,"))
        .collect();
    fs::write(old.join("histograms.hlog"), without.join("\n") + "\n").unwrap();
    refused(&[&s0, &old], &[&old], "no `online_at` histogram");
    let counts = shard("counts", 1, 2, &|s| {
        let ok = s["operations"]["hub.connect"]["ok"].as_u64().unwrap();
        s["operations"]["hub.connect"]["ok"] = json!(ok + 1);
    });
    refused(&[&s0, &counts], &[&counts], "`hub.connect` latencies");
    let rows = shard("rows", 1, 2, &|_| {});
    fs::write(rows.join("timeline.csv"), "t_s,booted\n0,1\n").unwrap();
    refused(&[&s0, &rows], &[&rows], "columns are not");
    let norun = shard("norun", 1, 2, &|_| {});
    fs::remove_file(norun.join("run.json")).unwrap();
    refused(&[&s0, &norun], &[&norun], "it has no run.json");

    // --out must not hold anything; the inputs are left as they were.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("x"), "x").unwrap();
    let err = assert_exit(&merge(c, &[&s0, &s1], &out), 2);
    assert!(err.contains("--out") && err.contains("not empty"), "{err}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
    // No arguments is a usage error.
    assert_exit(&fleetsim(c, &["merge", "--out", "o"]), 2);
}
