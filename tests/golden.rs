//! Same scenario, same seed, same bytes — across refactors too. `tests/golden/` holds the
//! `summary.json` of each shipped scenario as the code before the workspace split (issue 14)
//! wrote it: smoke at its full size, the three large ones cut to 3,000 devices so the test runs
//! in seconds on a debug build. A change that moves any byte of a summary fails here; a change
//! that means to (a model change) regenerates the files with `FLEETSIM_BLESS=1 cargo test --test
//! golden` and says in its commit why, and which lines moved.

mod common;
use common::{fleetsim, scenario, stderr};
use std::path::Path;

fn check(name: &str, sets: &[&str], golden: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let sc = scenario(name);
    let mut args = vec![
        "run",
        sc.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = fleetsim(dir.path(), &args);
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    let got = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let want_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(golden);
    if std::env::var_os("FLEETSIM_BLESS").is_some() {
        std::fs::write(&want_path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&want_path).unwrap();
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or(got.lines().count().min(want.lines().count()), |i| i);
        panic!(
            "{name}: summary.json differs from {} at line {}:\n  now:    {:?}\n  golden: {:?}",
            want_path.display(),
            line + 1,
            got.lines().nth(line),
            want.lines().nth(line)
        );
    }
}

#[test]
fn smoke_summary_is_byte_identical() {
    check("smoke", &[], "smoke.summary.json");
}

#[test]
fn blackout_summary_is_byte_identical() {
    check(
        "blackout",
        &["fleet.devices=3000"],
        "blackout-3k.summary.json",
    );
}

#[test]
fn black_friday_summary_is_byte_identical() {
    check(
        "black-friday",
        &["fleet.devices=3000"],
        "black-friday-3k.summary.json",
    );
}

#[test]
fn reboot_wave_summary_is_byte_identical() {
    check(
        "reboot-wave",
        &["fleet.devices=3000"],
        "reboot-wave-3k.summary.json",
    );
}
