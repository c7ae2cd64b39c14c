//! Reading a scenario: file → TOML table → `--set` overrides → typed spec → validated
//! [`Scenario`]. Every error names the file, line and column (or the `--set` argument), the
//! key, what was expected and a hint.
//!
//! No I/O: the binary crate reads the file. The TOML is parsed twice: once into a plain table (which the
//! `--set` overrides edit and serde types), and — only when there is an error to place — once
//! more with spans (`toml::de::DeTable`) to turn the error's key path into a line and column.

use super::Scenario;
use super::overrides::{KeyPath, Seg, apply_set};
use super::resolve::resolve;
use super::spec::{BehaviourSpec, RetrySpec, ScenarioSpec, TimeoutSpec, WaveSpec, ZoneSpec};
use super::units::{Dur, Share};
use std::fmt;
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// A scenario that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// `file:line:column`, `--set 'key=value'`, or the file name alone.
    pub location: String,
    /// Dotted key path such as `fleet.class[1].share` (empty if none applies).
    pub key: String,
    /// What was wrong and what was expected.
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ScenarioError {
    /// `location: key: message`, or `location: message` when no key applies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: {}: {}", self.location, self.key, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// The message as the binary prints it: the one-line error, then the hint if there is one.
    pub fn render(&self) -> String {
        match &self.hint {
            Some(h) => format!("{self}\n  hint: {h}"),
            None => self.to_string(),
        }
    }
}

/// Loads and validates scenario text, applying `sets` (`key=value` strings) on top; `origin`
/// (the file name) names it in errors and supplies the default scenario name. Reading the
/// file is the caller's (the binary crate's `input` module).
pub fn load_str(text: &str, origin: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let (spec, src) = parse(text, origin, sets)?;
    let stem = Path::new(origin)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    resolve(spec, &stem).map_err(|e| src.error(&KeyPath::key(&e.key), e.message, e.hint))
}

/// The typed spec after `--set`, before validation and defaults (for tools that edit a
/// scenario rather than run it).
pub fn load_spec_str(
    text: &str,
    origin: &str,
    sets: &[String],
) -> Result<ScenarioSpec, ScenarioError> {
    parse(text, origin, sets).map(|(spec, _)| spec)
}

/// `origin:line:col` (1-based, columns in characters) of byte `offset` in `text`.
pub fn position(origin: &str, text: &str, offset: usize) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{origin}:{line}:{col}")
}

/// Where the spec came from: the text, its name and the `--set` arguments applied to it.
struct Source<'a> {
    text: &'a str,
    origin: &'a str,
    sets: Vec<(KeyPath, &'a str)>,
}

impl Source<'_> {
    fn error(&self, path: &KeyPath, message: String, hint: Option<String>) -> ScenarioError {
        ScenarioError {
            location: self.locate(path),
            key: path.to_string(),
            message,
            hint,
        }
    }

    /// The last `--set` that set `path`, a table above it, something inside it (a share of
    /// the classes whose sum is wrong, a field of a distribution) or the part of `path` the
    /// file lacks; else the file position of `path` or of its nearest parent in the file;
    /// else the file.
    fn locate(&self, path: &KeyPath) -> String {
        let (depth, offset) = file_position(self.text, path);
        for (set, arg) in self.sets.iter().rev() {
            if path.starts_with(set) || set.starts_with(path) || set.common_prefix_len(path) > depth
            {
                return format!("--set '{arg}'");
            }
        }
        match offset {
            Some(at) => position(self.origin, self.text, at),
            None => self.origin.to_string(),
        }
    }
}

/// How many leading segments of `path` exist in `text`, and the byte offset of the deepest
/// one (a key, or an array element).
fn file_position(text: &str, path: &KeyPath) -> (usize, Option<usize>) {
    let Ok(doc) = DeTable::parse(text) else {
        return (0, None);
    };
    let root = DeValue::Table(doc.into_inner());
    let mut cur = &root;
    let mut found = (0, None);
    for seg in &path.0 {
        let next = match (seg, cur) {
            // A `[table]` header's value starts at its `[`, before the key: point there.
            (Seg::Key(k), DeValue::Table(t)) => t
                .get_key_value(k.as_str())
                .map(|(k, v)| (k.span().start.min(v.span().start), v)),
            (Seg::Index(i), DeValue::Array(a)) => a.get(*i).map(|v| (v.span().start, v)),
            _ => None,
        };
        let Some((at, v)) = next else { break };
        found = (found.0 + 1, Some(at));
        cur = v.get_ref();
    }
    found
}

fn parse<'a>(
    text: &'a str,
    origin: &'a str,
    sets: &'a [String],
) -> Result<(ScenarioSpec, Source<'a>), ScenarioError> {
    let mut src = Source {
        text,
        origin,
        sets: Vec::new(),
    };
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| syntax_error(&e, text, origin))?;
    for arg in sets {
        let path = apply_set(&mut table, arg).map_err(|e| ScenarioError {
            location: format!("--set '{arg}'"),
            key: arg.split('=').next().unwrap_or_default().trim().to_string(),
            message: e.message,
            hint: e.hint,
        })?;
        src.sets.push((path, arg.as_str()));
    }
    match serde_path_to_error::deserialize::<_, ScenarioSpec>(toml::Value::Table(table)) {
        Ok(spec) => Ok((spec, src)),
        Err(e) => {
            let path = KeyPath(
                e.path()
                    .iter()
                    .filter_map(|s| match s {
                        serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                        serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                        _ => None,
                    })
                    .collect(),
            );
            let (path, message, hint) = describe(e.inner().message(), path);
            Err(src.error(&path, message, hint))
        }
    }
}

fn syntax_error(e: &toml::de::Error, text: &str, origin: &str) -> ScenarioError {
    let location = match e.span() {
        Some(s) => position(origin, text, s.start),
        None => origin.to_string(),
    };
    let mut message = e.message().trim().to_string();
    let mut hint = None;
    if message.starts_with("duplicate key") {
        if let Some(k) = e.span().and_then(|s| text.get(s)) {
            message = format!("duplicate key `{}`", k.trim());
            hint = Some(
                "each key may appear once per table; a [table] header may appear once".to_string(),
            );
        }
    } else if message.starts_with("invalid type: integer") && message.contains("as i128") {
        // An integer literal beyond 64 bits: the toml crate's words name its internals.
        let digits = ticked(&message)
            .first()
            .copied()
            .unwrap_or_default()
            .to_string();
        message = format!(
            "the integer {digits} is out of range: TOML integers are 64-bit (at most 9223372036854775807)"
        );
        hint = Some("a count that large is not meaningful here; check the number".to_string());
    } else if message.starts_with("string values must be quoted") {
        hint = Some(
            "durations, shares and names are TOML strings: write e.g. max_duration = \"30m\""
                .to_string(),
        );
    }
    ScenarioError {
        location,
        key: String::new(),
        message: format!("invalid TOML: {message}"),
        hint,
    }
}

/// The words between backticks in a serde message.
fn ticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

/// Turns a serde error message at `path` into (key, message, hint) a person can act on.
fn describe(msg: &str, mut path: KeyPath) -> (KeyPath, String, Option<String>) {
    if msg.starts_with("unknown field") {
        let words = ticked(msg);
        let unknown = path
            .last_key()
            .map(str::to_string)
            .or_else(|| words.first().map(|w| w.to_string()))
            .unwrap_or_default();
        if path.last_key() != Some(unknown.as_str()) {
            path = path.child(&unknown);
        }
        let expected: Vec<&str> = if msg.contains("there are no fields") {
            vec![]
        } else {
            words.into_iter().skip(1).collect()
        };
        let hint = did_you_mean(&unknown, &expected)
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| elsewhere(&unknown, &path.parent()))
            .or_else(|| {
                (!expected.is_empty())
                    .then(|| format!("the keys allowed here are: {}", expected.join(", ")))
            });
        return (path, format!("unknown key `{unknown}`"), hint);
    }
    if msg.starts_with("unknown variant") {
        let words = ticked(msg);
        let value = words.first().copied().unwrap_or_default();
        let expected: Vec<&str> = words.iter().skip(1).copied().collect();
        let hint = did_you_mean(value, &expected).map(|s| format!("did you mean \"{s}\"?"));
        return (
            path,
            format!("\"{value}\" is not one of: {}", expected.join(", ")),
            hint,
        );
    }
    if msg.starts_with("missing field") {
        let field = ticked(msg).first().copied().unwrap_or_default().to_string();
        let hint = match (path.to_string().as_str(), field.as_str()) {
            ("", "fleet") => {
                Some("every scenario needs a [fleet] table with at least `devices = N`")
            }
            ("fleet", "devices") => Some("add e.g. `devices = 1_000_000` to [fleet]"),
            (_, "dist") => Some(
                "a distribution table names its kind: dist = \"constant\", \"uniform\", \"normal\", \"lognormal\" or \"exponential\"",
            ),
            _ => None,
        };
        let path = path.child(&field);
        return (
            path,
            format!("missing required key `{field}`"),
            hint.map(str::to_string),
        );
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                let found = match found {
                    "map" => "table",
                    "sequence" => "array",
                    f => f,
                };
                let hint = (found == "table" && expected == "a sequence").then(|| {
                    format!(
                        "an array of tables is written [[{path}]] (double brackets), once per entry"
                    )
                });
                return (
                    path,
                    format!("expected {}, found {found}", plain_expected(expected)),
                    hint,
                );
            }
        }
    }
    (path, msg.to_string(), None)
}

/// serde's names for Rust types, in words.
fn plain_expected(e: &str) -> String {
    match e {
        "u8" | "u16" | "u32" => format!(
            "a whole number from 0 to {}",
            match e {
                "u8" => u8::MAX as u64,
                "u16" => u16::MAX as u64,
                _ => u32::MAX as u64,
            }
        ),
        "u64" | "usize" => "a non-negative whole number".into(),
        "i64" | "i32" => "a whole number".into(),
        "f64" | "f32" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        s if s.starts_with("struct ") => "a table".into(),
        s => s.to_string(),
    }
}

/// Words longer than this get no typo hint: every real key and value is far shorter, and the
/// edit distance costs the product of the lengths (found by fuzzing: a 120 KB `--set` key with
/// backticks in it, which serde's message splits into long "candidates", took 37 s).
const MAX_HINT_LEN: usize = 64;

/// The closest candidate to `word`, if it is close enough to be a typo.
fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.len() > MAX_HINT_LEN {
        return None;
    }
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .filter(|c| c.len() <= MAX_HINT_LEN)
        .map(|c| {
            (
                strsim::normalized_damerau_levenshtein(&w, &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A hint when `key` is a real key that belongs in another table.
fn elsewhere(key: &str, parent: &KeyPath) -> Option<String> {
    // Compare as schema paths: array indices become `[]`.
    let parent: String = parent
        .0
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            Seg::Key(k) if i == 0 => k.clone(),
            Seg::Key(k) => format!(".{k}"),
            Seg::Index(_) => "[]".to_string(),
        })
        .collect();
    let homes: Vec<String> = schema_keys()
        .into_iter()
        .filter(|k| k.rsplit('.').next() == Some(key))
        .filter(|k| k.rsplit_once('.').map(|(p, _)| p) != Some(parent.as_str()))
        // `name` and `share` are in [device]'s type but belong to classes only.
        .filter(|k| k != "device.name" && k != "device.share")
        .collect();
    match homes.as_slice() {
        [] => None,
        [one] => Some(format!(
            "`{key}` is a key of another table: did you mean `{one}`?"
        )),
        many => Some(format!(
            "`{key}` belongs in another table: one of {}",
            many.join(", ")
        )),
    }
}

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

#[cfg(test)]
mod tests {
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

    #[test]
    fn broken_inputs_name_the_place_the_key_and_the_fix() {
        let cases: &[(&str, String, &[&str], &[&str])] = &[
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
                &[
                    "--set 'fleet.registered_share=150%': fleet.registered_share: 1.5 is outside 0..=1",
                ],
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
                &[
                    "--set 'fleet.class[2].name=x': fleet.class[2].share: missing required key `share`",
                ],
            ),
            (
                "--set breaking the class shares",
                BASE.to_string(),
                &["fleet.class[1].share=0.5"],
                &[
                    "--set 'fleet.class[1].share=0.5': fleet.class: class shares add up to 1.1, not 1",
                ],
            ),
            (
                "--set inside a distribution",
                BASE.to_string(),
                &["device.boot_delay.dist=gamma"],
                &[
                    "--set 'device.boot_delay.dist=gamma': device.boot_delay: unknown distribution `gamma`",
                ],
            ),
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
        ];
        for (what, text, set, expect) in cases {
            let got = fails(text, set);
            for e in *expect {
                assert!(got.contains(e), "{what}: expected {e:?} in\n{got}");
            }
        }
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
            s.arrival.end(1).as_secs_f64() > 1799.9
                && s.arrival.end(1) <= SimDuration::from_secs(1800)
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
            include_str!("../../../../scenarios/smoke.toml").to_string()
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
}
