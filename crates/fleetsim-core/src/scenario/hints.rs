//! Words for serde's and toml's errors: a message a person can act on (`describe`), typo
//! hints (`did_you_mean`) and the table a misplaced key belongs in (`elsewhere`).

use super::keys::schema_keys;
use super::overrides::{KeyPath, Seg};

/// The words between backticks in a serde message.
pub(super) fn ticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

/// Turns a serde error message at `path` into (key, message, hint) a person can act on.
pub(super) fn describe(msg: &str, mut path: KeyPath) -> (KeyPath, String, Option<String>) {
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
