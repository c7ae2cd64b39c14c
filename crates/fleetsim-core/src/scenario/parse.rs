//! Parsing a scenario: TOML text → table → `--set` overrides → typed spec → validated
//! [`Scenario`]. Every error names the file, line and column (or the `--set` argument), the
//! key, what was expected and a hint (the words come from [`super::hints`]).
//!
//! No I/O: the binary crate reads the file. The TOML is parsed twice: once into a plain table
//! (which the `--set` overrides edit and serde types), and — only when there is an error to
//! place — once more with spans (`toml::de::DeTable`) to turn the error's key path into a line
//! and column.

use super::Scenario;
use super::error::{ScenarioError, position};
use super::hints::{describe, ticked};
use super::overrides::{KeyPath, Seg, apply_set};
use super::resolve::resolve;
use super::spec::ScenarioSpec;
use std::path::Path;
use toml::de::{DeTable, DeValue};

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

#[cfg(test)]
mod tests;
