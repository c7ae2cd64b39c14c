//! The report as a person sees it: a smoke run's `report.html` opened from disk in a real
//! headless Chromium (Debian's `chromium` package, which `.ci/run` installs when missing).
//!
//! - The charts are there and sized: the DOM Chromium built (`--dump-dom`) holds one
//!   `<figure class="chart">` per expected chart, each with an `<svg>` of positive width and
//!   height.
//! - No network request was attempted: the page has no `src`, `href`, `url(` or `@import` at
//!   all; Chromium's NetLog shows no request initiated by the page (its own background
//!   requests, initiator "not an origin", are blocked by `--host-resolver-rules` and ignored);
//!   its console shows no Content-Security-Policy refusal. A control page with one remote
//!   image proves the NetLog check sees page requests.
//! - It renders and prints: a 1280 × 2000 PNG screenshot and a multi-page PDF are written
//!   under the test's temporary directory (copied to `$FLEETSIM_SCREENSHOT_DIR` if set).
//!
//! When Chromium is missing this test fails (it does not skip): run `.ci/run`.

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;

/// How long one Chromium invocation may take before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("FLEETSIM_CHROMIUM") {
        return p.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "Chromium is not installed, and this test renders the report in it.\n\
         Run .ci/run (it installs Debian's `chromium` package when missing), or \
         `apt-get install --no-install-recommends chromium`; or set FLEETSIM_CHROMIUM to a \
         Chromium binary."
    );
}

/// Runs headless Chromium on `url` with a fresh profile under `work`, plus `extra` flags.
fn run_chromium(work: &Path, name: &str, extra: &[OsString], url: &str) -> Output {
    let profile = work.join(format!("profile-{name}"));
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--mute-audio",
        "--hide-scrollbars",
        // Nothing resolves: even Chromium's own background requests go nowhere.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", chromium().display()));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(CHROMIUM_TIMEOUT) {
        Ok(out) => out.expect("chromium ran"),
        Err(_) => {
            // Only the process this test started, by its id.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("chromium ({name}) did not finish within {CHROMIUM_TIMEOUT:?}");
        }
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// `(initiator, url)` of every URL request in a Chromium NetLog file.
fn netlog_requests(path: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading the NetLog {}: {e}", path.display()));
    let log: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the NetLog {} is not JSON: {e}", path.display()));
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the NetLog names URL_REQUEST_START_JOB");
    log["events"]
        .as_array()
        .expect("NetLog events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let p = &e["params"];
            let url = p["url"].as_str()?;
            Some((
                p["initiator"].as_str().unwrap_or("").to_string(),
                url.to_string(),
            ))
        })
        .collect()
}

/// Requests the page made (not Chromium's own background traffic, whose initiator is
/// "not an origin").
fn page_requests(path: &Path) -> Vec<(String, String)> {
    netlog_requests(path)
        .into_iter()
        .filter(|(initiator, _)| initiator != "not an origin")
        .collect()
}

/// `(id, width, height)` of every chart figure in a DOM dump.
fn charts_in(dom: &str) -> Vec<(String, f64, f64)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(tag[at..].split('"').next()?.to_string())
    };
    dom.split("<figure ")
        .skip(1)
        .filter_map(|fig| {
            let open = &fig[..fig.find('>')?];
            if attr(&format!(" {open}"), "class").as_deref() != Some("chart") {
                return None;
            }
            let id = attr(&format!(" {open}"), "id")?;
            let body = &fig[..fig.find("</figure>").unwrap_or(fig.len())];
            let svg_at = body.find("<svg ")?;
            let svg_tag = &body[svg_at..svg_at + body[svg_at..].find('>')?];
            let num = |n: &str| attr(svg_tag, n).and_then(|v| v.parse::<f64>().ok());
            Some((
                id,
                num("width").unwrap_or(0.0),
                num("height").unwrap_or(0.0),
            ))
        })
        .collect()
}

#[test]
fn a_smoke_runs_report_renders_in_headless_chromium_without_the_network() {
    let work = TempDir::new().unwrap();
    let out = work.path().join("smoke");
    let run = cargo_bin_cmd!("fleetsim")
        .current_dir(work.path())
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report = out.join("report.html");
    let html = fs::read_to_string(&report).unwrap();

    // 1. Nothing in the page could fetch anything.
    for needle in [
        "<script", " src=", " href=", "url(", "@import", "<link", "<img", "<iframe",
    ] {
        assert!(!html.contains(needle), "report.html contains `{needle}`");
    }
    let remote = html.matches("http://").count() + html.matches("https://").count();
    let svg_ns = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(remote, svg_ns, "the only URLs are SVG namespace names");
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));

    // 2. The DOM Chromium built: every expected chart, sized; and no request by the page.
    let netlog = work.path().join("netlog.json");
    let dom_run = run_chromium(
        work.path(),
        "dom",
        &[
            "--dump-dom".into(),
            format!("--log-net-log={}", netlog.display()).into(),
        ],
        &file_url(&report),
    );
    let dom = String::from_utf8_lossy(&dom_run.stdout);
    let console = String::from_utf8_lossy(&dom_run.stderr);
    assert!(
        dom_run.status.success(),
        "chromium --dump-dom failed:\n{console}"
    );
    assert!(
        dom.contains("The smoke scenario ran 2,000 devices"),
        "the DOM dump is not the report:\n{}",
        &dom[..dom.len().min(2000)]
    );
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let mut expected: BTreeSet<String> = [
        "chart-online",
        "chart-online-tail",
        "chart-throttle",
        "chart-latency",
    ]
    .map(String::from)
    .into();
    for (op, figures) in summary["operations"].as_object().unwrap() {
        if op != "device.boot_to_online" && figures["attempts"].as_u64().unwrap() > 0 {
            expected.insert(format!("chart-rate-{}", op.replace(['.', '_'], "-")));
        }
    }
    let charts = charts_in(&dom);
    let found: BTreeSet<String> = charts.iter().map(|c| c.0.clone()).collect();
    assert_eq!(found, expected, "charts in the rendered DOM");
    assert_eq!(charts.len(), expected.len(), "each chart once");
    for (id, w, h) in &charts {
        assert!(*w >= 400.0 && *h >= 150.0, "{id} is {w} × {h}");
    }
    let by_page = page_requests(&netlog);
    assert!(by_page.is_empty(), "the page made requests: {by_page:?}");
    for line in console.lines() {
        assert!(
            !line.contains("Content Security Policy") && !line.contains("Refused to"),
            "the page tried to load something: {line}"
        );
    }

    // 3. What a person sees: a screenshot, and the page printed to PDF.
    let png = work.path().join("report.png");
    let shot = run_chromium(
        work.path(),
        "screenshot",
        &[
            format!("--screenshot={}", png.display()).into(),
            "--window-size=1280,2000".into(),
        ],
        &file_url(&report),
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = fs::read(&png).expect("the screenshot was written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((dim(16), dim(20)), (1280, 2000), "IHDR width × height");
    assert!(
        bytes.len() > 60_000,
        "a {}-byte screenshot is too plain to hold the tables and charts",
        bytes.len()
    );

    let pdf = work.path().join("report.pdf");
    let print = run_chromium(
        work.path(),
        "pdf",
        &[
            format!("--print-to-pdf={}", pdf.display()).into(),
            "--no-pdf-header-footer".into(),
        ],
        &file_url(&report),
    );
    assert!(
        print.status.success(),
        "{}",
        String::from_utf8_lossy(&print.stderr)
    );
    let pdf_bytes = fs::read(&pdf).expect("the PDF was written");
    assert!(pdf_bytes.starts_with(b"%PDF-"));
    let pages = String::from_utf8_lossy(&pdf_bytes)
        .split("/Count ")
        .skip(1)
        .filter_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    assert!(pages >= 2, "the printed report has {pages} page(s)");

    if let Some(dir) = std::env::var_os("FLEETSIM_SCREENSHOT_DIR") {
        let dir = PathBuf::from(dir);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(&png, dir.join("smoke-report.png")).unwrap();
        fs::copy(&pdf, dir.join("smoke-report.pdf")).unwrap();
    }
    eprintln!(
        "screenshot: {} ({} bytes); PDF: {pages} pages",
        png.display(),
        bytes.len()
    );

    // 4. Control: the NetLog check does see a page's request.
    let canary = work.path().join("canary.html");
    fs::write(
        &canary,
        "<!DOCTYPE html><html><body><img src=\"http://fleetsim-canary.invalid/pixel.png\"></body></html>",
    )
    .unwrap();
    let canary_log = work.path().join("canary-netlog.json");
    let control = run_chromium(
        work.path(),
        "canary",
        &[
            "--dump-dom".into(),
            format!("--log-net-log={}", canary_log.display()).into(),
        ],
        &file_url(&canary),
    );
    assert!(control.status.success());
    let seen = page_requests(&canary_log);
    assert!(
        seen.iter()
            .any(|(_, url)| url == "http://fleetsim-canary.invalid/pixel.png"),
        "the NetLog check missed the control page's request: {seen:?}"
    );
}
