//! A lint of the scenario's device behaviour against the published retry guidance: "use
//! exponential backoff with random jitter and follow retry-after" (reference §1e), bounded
//! retries (§5a), and "you shouldn't need to go through the provisioning process every time a
//! device reboots" (scenarios.md §0, [D-SCALE]). Pure: it reads the resolved classes. What a
//! finding costs in a given scenario is measured by running it with the fix
//! (`fleetsim plan` does).

use crate::device::retry::Jitter;
use crate::scenario::{Provisioning, Scenario};
use serde::Serialize;

/// One departure from the guidance, in one device class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `retry.no_jitter`.
    pub rule: &'static str,
    pub class: String,
    /// Share of the fleet in that class.
    pub share: f64,
    pub message: String,
    /// `--set` arguments that apply the fix to this class.
    pub fix: Vec<String>,
}

pub fn lint(sc: &Scenario) -> Vec<Finding> {
    let mut out = Vec::new();
    // `--set` addresses [[fleet.class]] entries by index; a scenario without classes has one
    // implicit class whose behaviour is [device].
    let explicit = !sc.spec.fleet.class.is_empty();
    for (i, c) in sc.fleet.classes.iter().enumerate() {
        let key = |k: &str| {
            if explicit {
                format!("fleet.class[{i}].{k}")
            } else {
                format!("device.{k}")
            }
        };
        let mut add = |rule: &'static str, message: String, fix: Vec<String>| {
            out.push(Finding {
                rule,
                class: c.name.clone(),
                share: c.share,
                message,
                fix,
            });
        };
        let r = &c.retry;
        let no_jitter = match r.jitter {
            Jitter::Absolute(d) => d.is_zero(),
            Jitter::Ratio(x) => x <= 0.0,
        };
        if no_jitter {
            add(
                "retry.no_jitter",
                "retries without jitter: devices that failed together retry together, in waves (reference §1e)".into(),
                vec![format!("{}=5s", key("retry.jitter"))],
            );
        }
        if r.multiplier <= 1.0 {
            add(
                "retry.fixed_interval",
                format!(
                    "a fixed retry interval of {}: no backoff, so a throttled service sees the same load every round (reference §1e)",
                    r.initial
                ),
                vec![
                    format!("{}=2.0", key("retry.multiplier")),
                    format!("{}=100s", key("retry.max")),
                ],
            );
        }
        if r.immediate_first_retry {
            add(
                "retry.immediate",
                "retries the first failure at once: a throttled device is answered 429 twice (reference §1e: honour retry-after instead of retrying at once)".into(),
                vec![format!("{}=false", key("retry.immediate_first_retry"))],
            );
        }
        if !r.honour_retry_after {
            add(
                "retry.ignores_retry_after",
                "ignores the service's retry-after (reference §1e)".into(),
                vec![format!("{}=true", key("retry.honour_retry_after"))],
            );
        }
        if r.max_attempts == 0 && r.max_time.is_zero() {
            add(
                "retry.unbounded",
                "retries without a bound on attempts or time (the C SDK default, reference §5b): a device that can never succeed keeps loading the service".into(),
                vec![format!("{}=1d", key("retry.max_time"))],
            );
        }
        if c.provisioning == Provisioning::Always && !c.status_lookup {
            add(
                "provisioning.every_boot",
                "registers with DPS on every boot without a status lookup: a registration, the scarcest DPS quota, for every reboot (scenarios.md §0)".into(),
                vec![format!("{}=cached", key("provisioning"))],
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    fn rules(text: &str) -> Vec<(&'static str, String)> {
        let sc = load_str(text, "lint.toml", &[]).unwrap();
        lint(&sc).into_iter().map(|f| (f.rule, f.class)).collect()
    }

    #[test]
    fn the_sdk_default_policy_is_flagged_only_for_being_unbounded() {
        let r = rules("[fleet]\ndevices = 10\n");
        assert_eq!(r, [("retry.unbounded", "device".to_string())]);
    }

    #[test]
    fn each_departure_is_named_in_its_class() {
        let text = r#"
[fleet]
devices = 10
[[fleet.class]]
name = "good"
share = 0.5
retry = { max_time = "1h" }
[[fleet.class]]
name = "legacy"
share = 0.5
provisioning = "always"
retry = { initial = "5s", max = "5s", multiplier = 1.0, jitter = "0s", honour_retry_after = false, immediate_first_retry = true, max_time = "1h" }
"#;
        let r = rules(text);
        let legacy: Vec<&str> = r
            .iter()
            .filter(|(_, c)| c == "legacy")
            .map(|(r, _)| *r)
            .collect();
        assert_eq!(
            legacy,
            [
                "retry.no_jitter",
                "retry.fixed_interval",
                "retry.immediate",
                "retry.ignores_retry_after",
                "provisioning.every_boot"
            ]
        );
        assert!(r.iter().all(|(_, c)| c != "good"), "{r:?}");
    }

    #[test]
    fn fixes_are_set_arguments_that_load() {
        let text = "[fleet]\ndevices = 10\n[[fleet.class]]\nname = \"a\"\nshare = 1.0\nprovisioning = \"always\"\nretry = { multiplier = 1.0, jitter = \"0s\" }\n";
        let sc = load_str(text, "lint.toml", &[]).unwrap();
        let all: Vec<String> = lint(&sc).into_iter().flat_map(|f| f.fix).collect();
        let fixed = load_str(text, "lint.toml", &all).unwrap();
        assert!(lint(&fixed).is_empty(), "{:?}", lint(&fixed));
    }
}
