//! SAS material for tests that talk to the mock as devices (reference §3): the device key
//! derived from a group key, and DPS and hub tokens signed with it.

use fleetsim::protocol::sas;

/// Reference §3 test vector group key.
pub const GROUP_KEY: &str =
    "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";

/// Seconds since the Unix epoch: SAS expiry is wall-clock time.
#[allow(clippy::disallowed_methods)]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Device `id`'s key in the enrollment group of `group_key`.
pub fn device_key(group_key: &str, id: &str) -> String {
    sas::derive_device_key(group_key, id).unwrap()
}

/// A DPS token (`skn=registration`) for `id` in `scope`, signed with `key`, expiring at `se`.
pub fn dps_token(key: &str, scope: &str, id: &str, se: u64) -> String {
    sas::sign(key, &sas::dps_resource(scope, id), se, Some("registration")).unwrap()
}

/// A hub token for `id` on `host`, signed with `key`, expiring at `se`.
pub fn hub_token(key: &str, host: &str, id: &str, se: u64) -> String {
    sas::sign(key, &sas::hub_resource(host, id, None), se, None).unwrap()
}
