//! [`CompareError`]: why two runs cannot be compared (always bad input, exit 2).

use std::path::Path;

/// Why two runs cannot be compared (exit 2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// A results directory or its summary.json cannot be used.
    #[error("{path}: {message}")]
    Input {
        path: String,
        message: String,
        hint: Option<String>,
    },
    /// The same directory given twice.
    #[error(
        "{0} is compared with itself: give the current results directory first, then the baseline's"
    )]
    SameDirectory(String),
    /// Different scenario, engine, seed, or an incomplete run.
    #[error("the runs are not comparable: {}", .0.join("; "))]
    NotComparable(Vec<String>),
}

impl CompareError {
    /// The message as the binary prints it, with a hint on a second line if there is one.
    pub fn render(&self) -> String {
        let hint = match self {
            CompareError::Input { hint, .. } => hint.clone(),
            CompareError::SameDirectory(_) => None,
            CompareError::NotComparable(_) => Some(
                "compare runs of the same scenario (same file and --set overrides), engine and seed; after changing the scenario on purpose, refresh the baseline; --force compares anyway".into(),
            ),
        };
        match hint {
            Some(h) => format!("{self}\n  hint: {h}"),
            None => self.to_string(),
        }
    }
}

pub(super) fn input(path: &Path, message: impl Into<String>, hint: Option<&str>) -> CompareError {
    CompareError::Input {
        path: path.display().to_string(),
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}
