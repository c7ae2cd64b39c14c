//! DPS over MQTT (reference §1b–§1e): the CONNECT username, the request and response topics,
//! and the JSON bodies; and the path of the status lookup over HTTPS (§1f).

use super::{parse_query, query_get};
use serde::{Deserialize, Serialize};

/// The subscription every DPS client makes (reference §1c step 1).
pub const RESPONSE_FILTER: &str = "$dps/registrations/res/#";
const REGISTER_PREFIX: &str = "$dps/registrations/PUT/iotdps-register/?";
const POLL_PREFIX: &str = "$dps/registrations/GET/iotdps-get-operationstatus/?";

/// `{idScope}/registrations/{registrationId}/api-version=...[&k=v...]` (reference §1b).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpsUsername {
    pub id_scope: String,
    pub registration_id: String,
    pub api_version: String,
}

impl DpsUsername {
    /// None if this is not a DPS username. Any api-version is accepted and extra `&key=value`
    /// pairs are ignored (reference §1b INFERENCE).
    pub fn parse(username: &str) -> Option<DpsUsername> {
        let mut parts = username.splitn(4, '/');
        let id_scope = parts.next()?;
        if parts.next()? != "registrations" {
            return None;
        }
        let registration_id = parts.next()?;
        let query = parts.next()?;
        // The DPS form has no `?` before api-version, unlike the hub's (reference §1b).
        if !query.starts_with("api-version=") || id_scope.is_empty() {
            return None;
        }
        if !valid_registration_id(registration_id) {
            return None;
        }
        let pairs = parse_query(query)?;
        Some(DpsUsername {
            id_scope: id_scope.to_string(),
            registration_id: registration_id.to_string(),
            api_version: query_get(&pairs, "api-version")?.to_string(),
        })
    }

    pub fn format(id_scope: &str, registration_id: &str) -> String {
        format!("{id_scope}/registrations/{registration_id}/api-version=2019-03-31")
    }
}

/// Registration ids: up to 128 characters, alphanumeric plus `- . _ :` (reference §1g).
pub fn valid_registration_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
}

/// A PUBLISH from a DPS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpsRequest {
    /// `PUT/iotdps-register/?$rid=` (reference §1c step 2).
    Register { rid: String },
    /// `GET/iotdps-get-operationstatus/?$rid=&operationId=` (reference §1c step 4).
    Poll { rid: String, operation_id: String },
}

impl DpsRequest {
    /// None for a topic DPS does not accept.
    pub fn parse(topic: &str) -> Option<DpsRequest> {
        if let Some(q) = topic.strip_prefix(REGISTER_PREFIX) {
            let pairs = parse_query(q)?;
            return Some(DpsRequest::Register {
                rid: query_get(&pairs, "$rid")?.to_string(),
            });
        }
        if let Some(q) = topic.strip_prefix(POLL_PREFIX) {
            let pairs = parse_query(q)?;
            return Some(DpsRequest::Poll {
                rid: query_get(&pairs, "$rid")?.to_string(),
                operation_id: query_get(&pairs, "operationId")?.to_string(),
            });
        }
        None
    }

    pub fn register_topic(rid: &str) -> String {
        format!("{REGISTER_PREFIX}$rid={}", super::url_encode(rid))
    }

    pub fn poll_topic(rid: &str, operation_id: &str) -> String {
        format!(
            "{POLL_PREFIX}$rid={}&operationId={}",
            super::url_encode(rid),
            super::url_encode(operation_id)
        )
    }
}

/// `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]` (reference §1c, §1e).
pub fn response_topic(status: u16, rid: &str, retry_after_s: Option<u16>) -> String {
    let mut t = format!(
        "$dps/registrations/res/{status}/?$rid={}",
        super::url_encode(rid)
    );
    if let Some(s) = retry_after_s {
        t.push_str(&format!("&retry-after={s}"));
    }
    t
}

/// A response topic as the SDKs read it: status, `$rid`, `retry-after` (reference §1c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpsResponseTopic {
    pub status: u16,
    pub rid: String,
    pub retry_after_s: Option<u64>,
}

impl DpsResponseTopic {
    pub fn parse(topic: &str) -> Option<DpsResponseTopic> {
        let rest = topic.strip_prefix("$dps/registrations/res/")?;
        let (status, q) = rest.split_once("/?")?;
        let pairs = parse_query(q)?;
        Some(DpsResponseTopic {
            status: status.parse().ok()?,
            rid: query_get(&pairs, "$rid")?.to_string(),
            retry_after_s: query_get(&pairs, "retry-after").and_then(|s| s.parse().ok()),
        })
    }
}

// ---- DPS over HTTPS (reference §1f): the Device Registration Status Lookup ----

/// The lookup's api-version: the one the C SDK sends (reference §1f; the other SDKs send
/// 2019-03-31).
pub const LOOKUP_API_VERSION: &str = "2021-06-01";

/// The lookup's path: `/{idScope}/registrations/{registrationId}?api-version=...` (reference §1f).
pub fn lookup_path(id_scope: &str, registration_id: &str) -> String {
    format!("/{id_scope}/registrations/{registration_id}?api-version={LOOKUP_API_VERSION}")
}

/// `/{idScope}/registrations/{registrationId}` (reference §1f), one trailing slash allowed,
/// each segment percent-decoded after the split (an encoded `/` stays inside its segment).
/// None for any other shape. The query (`api-version=...`) is not part of `path`; any
/// api-version is accepted, as over MQTT (reference §1b INFERENCE).
pub fn parse_lookup_path(path: &str) -> Option<(String, String)> {
    let p = path.strip_prefix('/')?;
    let p = p.strip_suffix('/').unwrap_or(p);
    let mut it = p.split('/');
    let (scope, reg, id) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || reg != "registrations" || scope.is_empty() || id.is_empty() {
        return None;
    }
    // A path has no `+`-for-space (url_decode's query rule): keep it literal.
    let decode = |s: &str| super::url_decode(&s.replace('+', "%2B"));
    Some((decode(scope)?, decode(id)?))
}

/// The register body (reference §1c step 2): `registrationId` and an optional `payload`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistration {
    pub registration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// RegistrationOperationStatus (reference §1c steps 3–5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    pub operation_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_state: Option<RegistrationState>,
}

/// DeviceRegistrationResult (reference §1c step 5, §1d).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationState {
    pub registration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_time_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_hub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substatus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_date_time_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// ProvisioningServiceErrorDetails, the body of any status ≥ 400 (reference §1d).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error_code: u32,
    pub tracking_id: String,
    pub message: String,
    pub timestamp_utc: String,
}

/// RFC 3339 UTC with 7 fractional digits, as DPS writes its timestamps (reference §1c step 5).
pub fn timestamp(unix_micros: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(unix_micros);
    let s = humantime::format_rfc3339_micros(t).to_string();
    // "2022-08-31T22:02:50.516335Z" -> one more digit, as the service prints 100 ns ticks.
    match s.strip_suffix('Z') {
        Some(p) => format!("{p}0Z"),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(scope: &str, id: &str) -> Option<(String, String)> {
        Some((scope.to_string(), id.to_string()))
    }

    #[test]
    fn lookup_paths() {
        assert_eq!(
            parse_lookup_path("/0ne00111111/registrations/dev-1"),
            ok("0ne00111111", "dev-1")
        );
        // One trailing slash; percent-encoded ids (`:` is a registration id character, §1g).
        assert_eq!(
            parse_lookup_path("/0ne00111111/registrations/dev-1/"),
            ok("0ne00111111", "dev-1")
        );
        assert_eq!(
            parse_lookup_path("/0ne00111111/registrations/a%3Ab%2ec"),
            ok("0ne00111111", "a:b.c")
        );
        // An encoded slash stays in its segment (and the id check refuses it later).
        assert_eq!(parse_lookup_path("/s/registrations/a%2Fb"), ok("s", "a/b"));
        // `+` is literal in a path.
        assert_eq!(parse_lookup_path("/s/registrations/a+b"), ok("s", "a+b"));
    }

    #[test]
    fn other_paths_are_not_lookups() {
        for p in [
            "",
            "/",
            "/0ne00111111",
            "/0ne00111111/registrations",
            "/0ne00111111/registrations/",
            "/0ne00111111/registrations//",
            "/0ne00111111/registrations/dev/register",
            "/0ne00111111/registrations/dev/operations/op",
            "/0ne00111111/registrations/dev//",
            "//registrations/dev",
            "/0ne00111111/devices/dev",
            "0ne00111111/registrations/dev",
            "/s/registrations/bad%zz",
            "/s/registrations/%ff",
        ] {
            assert_eq!(parse_lookup_path(p), None, "{p:?}");
        }
    }

    #[test]
    fn the_lookup_path_is_the_documented_one_and_parses_back() {
        let p = lookup_path("0ne00111111", "meter-7");
        assert_eq!(
            p,
            "/0ne00111111/registrations/meter-7?api-version=2021-06-01"
        );
        let (path, _query) = p.split_once('?').unwrap();
        assert_eq!(parse_lookup_path(path), ok("0ne00111111", "meter-7"));
    }

    #[test]
    fn usernames_from_every_sdk() {
        for u in [
            "0ne00111111/registrations/dev1/api-version=2019-03-31",
            "0ne00111111/registrations/dev1/api-version=2021-06-01&ClientVersion=azure-iot%2F1.0",
            "0ne00111111/registrations/dev1/api-version=2019-03-31&ClientVersion=x&other=y",
        ] {
            let p = DpsUsername::parse(u).unwrap();
            assert_eq!(p.id_scope, "0ne00111111");
            assert_eq!(p.registration_id, "dev1");
        }
        for bad in [
            "",
            "0ne00111111/registrations/dev1",
            "0ne00111111/registrations/dev1/?api-version=2019-03-31",
            "host/dev1/?api-version=2021-04-12",
            "/registrations/dev1/api-version=1",
            "s/registrations/a b/api-version=1",
            "s/registrations//api-version=1",
        ] {
            assert_eq!(DpsUsername::parse(bad), None, "{bad}");
        }
        let f = DpsUsername::format("s", "d");
        assert_eq!(DpsUsername::parse(&f).unwrap().registration_id, "d");
    }

    #[test]
    fn request_topics() {
        assert_eq!(
            DpsRequest::parse("$dps/registrations/PUT/iotdps-register/?$rid=1"),
            Some(DpsRequest::Register { rid: "1".into() })
        );
        assert_eq!(
            DpsRequest::parse(
                "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=7&operationId=4.ab.c-d"
            ),
            Some(DpsRequest::Poll {
                rid: "7".into(),
                operation_id: "4.ab.c-d".into()
            })
        );
        assert_eq!(
            DpsRequest::parse(&DpsRequest::poll_topic("r", "4.x")),
            Some(DpsRequest::Poll {
                rid: "r".into(),
                operation_id: "4.x".into()
            })
        );
        for bad in [
            "$dps/registrations/PUT/iotdps-register/?x=1",
            "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1",
            "$dps/registrations/PUT/other/?$rid=1",
            "devices/x/messages/events/",
        ] {
            assert_eq!(DpsRequest::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn response_topics() {
        let t = response_topic(202, "1", Some(3));
        assert_eq!(t, "$dps/registrations/res/202/?$rid=1&retry-after=3");
        assert_eq!(
            DpsResponseTopic::parse(&t),
            Some(DpsResponseTopic {
                status: 202,
                rid: "1".into(),
                retry_after_s: Some(3)
            })
        );
        let t = response_topic(200, "a b", None);
        assert_eq!(DpsResponseTopic::parse(&t).unwrap().rid, "a b");
    }

    #[test]
    fn bodies_have_the_documented_field_names() {
        let r: DeviceRegistration =
            serde_json::from_str(r#"{"payload": null, "registrationId": "dev1"}"#).unwrap();
        assert_eq!(r.registration_id, "dev1");
        let s = OperationStatus {
            operation_id: "4.x".into(),
            status: "assigned".into(),
            registration_state: Some(RegistrationState {
                registration_id: "dev1".into(),
                assigned_hub: Some("h".into()),
                device_id: Some("dev1".into()),
                status: "assigned".into(),
                substatus: Some("initialAssignment".into()),
                created_date_time_utc: Some(timestamp(1_661_983_370_516_335)),
                ..Default::default()
            }),
        };
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.contains(r#""operationId":"4.x""#), "{j}");
        assert!(j.contains(r#""assignedHub":"h""#), "{j}");
        assert!(
            j.contains(r#""createdDateTimeUtc":"2022-08-31T22:02:50.5163350Z""#),
            "{j}"
        );
        assert!(!j.contains("errorCode"), "{j}");
    }
}
