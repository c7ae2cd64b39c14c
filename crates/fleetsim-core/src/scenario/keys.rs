//! Every key a scenario file can hold, derived from the spec types (for hints, `--set` and
//! tools that list keys).

use super::spec::{BehaviourSpec, RetrySpec, ScenarioSpec, TimeoutSpec, WaveSpec, ZoneSpec};
use super::units::{Dur, Share};

/// Every key a scenario file can hold, as dotted paths (`fleet.class[].retry.max`), derived
/// from the spec types themselves so it cannot drift from them.
pub fn schema_keys() -> Vec<String> {
    let behaviour = BehaviourSpec {
        retry: Some(RetrySpec::default()),
        timeouts: Some(TimeoutSpec::default()),
        ..Default::default()
    };
    let mut spec = ScenarioSpec {
        device: behaviour.clone(),
        ..Default::default()
    };
    spec.fleet.class = vec![behaviour];
    spec.arrival.waves = Some(vec![WaveSpec {
        at: Dur::default(),
        share: Share::default(),
        window: None,
    }]);
    spec.arrival.zones = Some(vec![ZoneSpec {
        share: Share::default(),
        offset: Dur::default(),
    }]);
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(&spec) {
        collect_keys(&v, "", &mut out);
    }
    // Tables whose keys are metric paths (summary.json's, not the scenario's); empty, they
    // are not serialised.
    out.extend(["slo".to_string(), "compare".to_string()]);
    out
}

fn collect_keys(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                collect_keys(v, &path, out);
            }
        }
        serde_json::Value::Array(a) => {
            if let Some(first @ serde_json::Value::Object(_)) = a.first() {
                collect_keys(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}
