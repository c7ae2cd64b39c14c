//! The parser's tests: valid files load with their defaults, and broken ones name the place,
//! the key and the fix.

use super::*;
use crate::device::retry::Jitter;
use crate::quota::Tier;
use crate::time::SimDuration;

/// A small valid scenario the broken cases edit.
const BASE: &str = r#"[scenario]
description = "test"

[run]
max_duration = "1h"

[fleet]
devices = 1000
registered_share = 0.8
cached_assignment_share = 0.5

[[fleet.class]]
name = "meter"
share = 0.6

[[fleet.class]]
name = "cam"
share = 0.4
retry = { initial = "5s" }

[arrival]
kind = "burst"
window = "60s"

[device]
boot_delay = { dist = "uniform", min = "1s", max = "5s" }
retry = { max = "30s", jitter = "10%" }

[hub]
tier = "S1"
units = 1
"#;

fn sets(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn fails(text: &str, set: &[&str]) -> String {
    match load_str(text, "t.toml", &sets(set)) {
        Ok(_) => panic!("expected an error for {text:?} {set:?}"),
        Err(e) => e.render(),
    }
}

/// One broken input: what it shows, the text, the `--set` arguments, and the pieces the
/// rendered error must contain.
type Case<'a> = (&'a str, String, &'a [&'a str], &'a [&'a str]);

fn assert_cases(cases: &[Case]) {
    for (what, text, set, expect) in cases {
        let got = fails(text, set);
        for e in *expect {
            assert!(got.contains(e), "{what}: expected {e:?} in\n{got}");
        }
    }
}

#[test]
fn a_broken_file_names_its_line_the_key_and_the_fix() {
    assert_cases(&[
        (
            "unknown key",
            BASE.replace("devices = 1000", "devics = 1000"),
            &[],
            &[
                "t.toml:8:1: fleet.devics: unknown key `devics`",
                "hint: did you mean `devices`?",
            ],
        ),
        (
            "key in the wrong table",
            BASE.replace("units = 1", "units = 1\nseed = 4"),
            &[],
            &[
                "t.toml:32:1: hub.seed: unknown key `seed`",
                "did you mean `run.seed`?",
            ],
        ),
        (
            "wrong type",
            BASE.replace("units = 1", "units = \"two\""),
            &[],
            &[
                "t.toml:31:1: hub.units: expected a whole number from 0 to 4294967295, found string \"two\"",
            ],
        ),
        (
            "negative count",
            BASE.replace("devices = 1000", "devices = -5"),
            &[],
            &["t.toml:8:1: fleet.devices: -5 is not a non-negative whole number"],
        ),
        (
            "shares not adding up",
            BASE.replace("share = 0.4", "share = 0.3"),
            &[],
            &[
                "t.toml:12:1: fleet.class: class shares add up to 0.9, not 1",
                "meter 0.6, cam 0.3",
            ],
        ),
        (
            "arrival longer than the run",
            BASE.replace("window = \"60s\"", "window = \"2h\""),
            &[],
            &[
                "t.toml:23:1: arrival.window: the arrival ends at 2h, not before run.max_duration = 1h",
                "hint: raise run.max_duration",
            ],
        ),
        (
            "no such tier",
            BASE.replace("tier = \"S1\"", "tier = \"S4\""),
            &[],
            &[
                "t.toml:30:1: hub.tier: `S4` is not an IoT Hub tier (expected one of F1, B1, B2, B3, S1, S2, S3)",
            ],
        ),
        (
            "too many units",
            BASE.replace("tier = \"S1\"", "tier = \"S3\"")
                .replace("units = 1", "units = 20"),
            &[],
            &[
                "t.toml:31:1: hub.units: S3 allows at most 10 units, not 20",
                "hint: use more hubs (hub.count)",
            ],
        ),
        (
            "cached above registered",
            BASE.replace(
                "cached_assignment_share = 0.5",
                "cached_assignment_share = 0.9",
            ),
            &[],
            &[
                "t.toml:10:1: fleet.cached_assignment_share: 0.9 is more than fleet.registered_share = 0.8",
            ],
        ),
    ]);
}

#[test]
fn a_broken_set_names_the_argument_and_the_fix() {
    assert_cases(&[
        (
            "--set without =",
            BASE.to_string(),
            &["fleet.devices"],
            &[
                "--set 'fleet.devices': fleet.devices: expected key=value, found no `=`",
                "hint: write key=value",
            ],
        ),
        (
            "--set failing validation",
            BASE.to_string(),
            &["hub.units=500"],
            &["--set 'hub.units=500': hub.units: S1 allows at most 200 units, not 500"],
        ),
        (
            "--set of a bad value",
            BASE.to_string(),
            &["fleet.registered_share=150%"],
            &["--set 'fleet.registered_share=150%': fleet.registered_share: 1.5 is outside 0..=1"],
        ),
        (
            "--set of an unknown key",
            BASE.to_string(),
            &["hub.unit=5"],
            &[
                "--set 'hub.unit=5': hub.unit: unknown key `unit`",
                "did you mean `units`?",
            ],
        ),
        (
            "--set of a new class",
            BASE.to_string(),
            &["fleet.class[2].name=x"],
            &["--set 'fleet.class[2].name=x': fleet.class[2].share: missing required key `share`"],
        ),
        (
            "--set breaking the class shares",
            BASE.to_string(),
            &["fleet.class[1].share=0.5"],
            &["--set 'fleet.class[1].share=0.5': fleet.class: class shares add up to 1.1, not 1"],
        ),
        (
            "--set inside a distribution",
            BASE.to_string(),
            &["device.boot_delay.dist=gamma"],
            &[
                "--set 'device.boot_delay.dist=gamma': device.boot_delay: unknown distribution `gamma`",
            ],
        ),
    ]);
}

#[test]
fn missing_and_misplaced_keys_name_what_is_expected() {
    assert_cases(&[
        (
            "missing devices",
            BASE.replace("devices = 1000\n", ""),
            &[],
            &[
                "t.toml:7:1: fleet.devices: missing required key `devices`",
                "hint: add e.g. `devices = 1_000_000` to [fleet]",
            ],
        ),
        (
            "missing fleet",
            "[run]\nseed = 3\n".to_string(),
            &[],
            &[
                "t.toml: fleet: missing required key `fleet`",
                "[fleet] table",
            ],
        ),
        (
            "toml syntax",
            BASE.replace("max_duration = \"1h\"", "max_duration = 1h"),
            &[],
            &[
                "t.toml:5:16: invalid TOML: string values must be quoted",
                "max_duration = \"30m\"",
            ],
        ),
        (
            "duplicate key",
            BASE.replace("units = 1", "units = 1\nunits = 2"),
            &[],
            &["t.toml:32:1: invalid TOML: duplicate key `units`"],
        ),
        (
            "key of another arrival kind",
            BASE.replace("window = \"60s\"", "rate = 5.0"),
            &[],
            &[
                "t.toml:23:1: arrival.rate: `rate` only applies to kind = \"poisson\", but this arrival is kind = \"burst\"",
                "set arrival.kind = \"poisson\"",
            ],
        ),
        (
            "unknown variant",
            BASE.replace("[device]\n", "[device]\nprovisioning = \"alway\"\n"),
            &[],
            &[
                "t.toml:26:1: device.provisioning: \"alway\" is not one of: cached, always",
                "did you mean \"always\"?",
            ],
        ),
        (
            "single-bracket class",
            "[fleet]\ndevices = 10\n[fleet.class]\nname = \"a\"\n".to_string(),
            &[],
            &[
                "t.toml:3:1: fleet.class: expected an array, found table",
                "[[fleet.class]] (double brackets)",
            ],
        ),
    ]);
}

#[test]
fn values_the_resolver_refuses_name_the_limit() {
    assert_cases(&[
        (
            "name in [device]",
            BASE.replace("[device]\n", "[device]\nname = \"x\"\n"),
            &[],
            &["t.toml:26:1: device.name: `name` belongs in [[fleet.class]] only"],
        ),
        (
            "fleet too big for the hubs",
            BASE.replace("devices = 1000", "devices = \"1.5M\"")
                .replace("max_duration = \"1h\"", "max_duration = \"2h\""),
            &[],
            &[
                "t.toml:8:1: fleet.devices: 1,500,000 devices do not fit on 1 hub of 1,000,000 devices each",
                "raise hub.count to at least 2",
            ],
        ),
        (
            "class retry below 1",
            BASE.replace(
                "retry = { initial = \"5s\" }",
                "retry = { initial = \"5s\", multiplier = 0.5 }",
            ),
            &[],
            &["fleet.class[1].retry.multiplier: 0.5 is less than 1"],
        ),
        (
            "typo inside a distribution",
            BASE.replace("min = \"1s\"", "mn = \"1s\""),
            &[],
            &[
                "device.boot_delay.mn: unknown key `mn`",
                "did you mean `min`?",
            ],
        ),
        (
            "class without a share",
            BASE.replace("share = 0.6\n", ""),
            &[],
            &["t.toml:12:1: fleet.class[0].share: missing required key `share`"],
        ),
    ]);
}

#[test]
fn the_base_scenario_loads_and_classes_inherit_from_device() {
    let s = load_str(BASE, "dir/base.toml", &[]).unwrap();
    assert_eq!(s.name, "base");
    assert_eq!(s.description, "test");
    let (meter, cam) = (&s.fleet.classes[0], &s.fleet.classes[1]);
    // cam sets initial; max and jitter come from [device]; multiplier from the SDK default.
    assert_eq!(cam.retry.initial, SimDuration::from_secs(5));
    assert_eq!(cam.retry.max, SimDuration::from_secs(30));
    assert_eq!(cam.retry.jitter, Jitter::Ratio(0.1));
    assert_eq!(cam.retry.multiplier, 2.0);
    assert_eq!(meter.retry.initial, SimDuration::from_secs(1));
    assert_eq!(meter.retry.max, SimDuration::from_secs(30));
    assert_eq!(meter.boot_delay.min(), SimDuration::from_secs(1));
    assert_eq!(cam.boot_delay.min(), SimDuration::from_secs(1));
    assert_eq!(s.timeline_bucket, SimDuration::from_secs(1));
}

#[test]
fn sets_apply_before_validation() {
    let s = load_str(BASE, "t.toml", &sets(&["fleet.devices=10k", "hub.tier=S3"])).unwrap();
    assert_eq!(s.fleet.devices, 10_000);
    assert_eq!(s.hub.tier, Tier::S3);
    assert_eq!(s.hub.limits.connects_per_s, 6_000.0);
    let s = load_str(
        BASE,
        "t.toml",
        &sets(&[
            "dps.limits.registrations_per_min=600",
            "arrival.window=30m",
            "run.max_duration=2h",
        ]),
    )
    .unwrap();
    assert!((s.dps.limits.registrations_per_s - 10.0).abs() < 1e-9);
    assert!(
        s.arrival.end(1).as_secs_f64() > 1799.9 && s.arrival.end(1) <= SimDuration::from_secs(1800)
    );
    let base = load_str(BASE, "t.toml", &[]).unwrap();
    assert_ne!(
        base.hash,
        load_str(BASE, "t.toml", &sets(&["fleet.devices=10k"]))
            .unwrap()
            .hash
    );
    assert_eq!(
        base.hash,
        load_str(BASE, "t.toml", &sets(&["run.seed=7"]))
            .unwrap()
            .hash
    );
}

#[test]
fn display_and_render() {
    let e = ScenarioError {
        location: "f.toml:1:2".into(),
        key: "".into(),
        message: "bad".into(),
        hint: None,
    };
    assert_eq!(e.render(), "f.toml:1:2: bad");
    let e = ScenarioError {
        key: "a.b".into(),
        hint: Some("fix it".into()),
        ..e
    };
    assert_eq!(e.to_string(), "f.toml:1:2: a.b: bad");
    assert_eq!(e.render(), "f.toml:1:2: a.b: bad\n  hint: fix it");
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    fn smoke() -> String {
        include_str!("../../../../../scenarios/smoke.toml").to_string()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = load_str(&text, "x.toml", &[]);
        }

        #[test]
        fn edited_scenarios_never_panic(at in 0usize..4000, cut in 0usize..40, insert in "[ -~\\n]{0,12}") {
            let s = smoke();
            let mut at = at.min(s.len());
            while !s.is_char_boundary(at) { at -= 1; }
            let mut end = (at + cut).min(s.len());
            while !s.is_char_boundary(end) { end -= 1; }
            let edited = format!("{}{}{}", &s[..at], insert, &s[end..]);
            let _ = load_str(&edited, "smoke.toml", &[]);
        }

        #[test]
        fn arbitrary_sets_never_panic(set in "[a-z_.\\[\\]0-9]{0,30}=?[ -~]{0,12}") {
            let _ = load_str(&smoke(), "smoke.toml", &[set]);
        }
    }
}
