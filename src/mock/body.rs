//! DPS reply bodies shared by the MQTT (`conn`) and HTTPS (`https`) front ends: the error body
//! and the registrationState of an assigned device, so that both transports answer alike.

use crate::protocol::dps::{self as pdps, RegistrationState};

/// JSON bytes of a value (our own types always serialize; an empty body if one did not).
pub fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// An error body, ProvisioningServiceErrorDetails (reference §1d), as JSON bytes. The tracking
/// id is the time in hex: unique enough to find a reply in a capture.
pub fn error_body(code: u32, message: &str, unix_micros: u64) -> Vec<u8> {
    to_json(&pdps::ErrorBody {
        error_code: code,
        tracking_id: format!("{unix_micros:016x}"),
        message: message.into(),
        timestamp_utc: pdps::timestamp(unix_micros),
    })
}

/// The registrationState of a device assigned to `assigned_hub` (reference §1c step 5, the
/// field set of [D-DPS-HTTPS]). The mock keeps no registration times: both timestamps are
/// `unix_micros`, and the etag is derived from it.
pub fn assigned_state(
    registration_id: &str,
    assigned_hub: &str,
    unix_micros: u64,
) -> RegistrationState {
    let ts = pdps::timestamp(unix_micros);
    RegistrationState {
        registration_id: registration_id.to_string(),
        created_date_time_utc: Some(ts.clone()),
        assigned_hub: Some(assigned_hub.to_string()),
        device_id: Some(registration_id.to_string()),
        status: "assigned".into(),
        substatus: Some("initialAssignment".into()),
        last_updated_date_time_utc: Some(ts),
        etag: Some(format!("\"{unix_micros:016x}\"")),
        ..Default::default()
    }
}
