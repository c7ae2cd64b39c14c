//! Validation: the typed spec into a [`super::Scenario`] with defaults filled in.
