//! [`ScenarioError`]: a scenario that cannot be used, with the place (`file:line:column` or the
//! `--set` argument), the key, what was expected and a hint; and [`position`], which turns a
//! byte offset into that place.

use std::fmt;

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

/// `origin:line:col` (1-based, columns in characters) of byte `offset` in `text`.
pub fn position(origin: &str, text: &str, offset: usize) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{origin}:{line}:{col}")
}
