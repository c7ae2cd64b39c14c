//! Run orchestration.
