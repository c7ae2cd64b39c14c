//! Scenario text (+ NUL-separated `--set` arguments) → load, lint, model, small engine runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fleetsim_fuzz::scenario(data));
