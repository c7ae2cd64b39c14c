//! A client's bytes through the mock's per-connection DPS and Hub handling.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fleetsim_fuzz::mock_conn(data);
});
