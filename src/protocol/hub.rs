//! IoT Hub over MQTT (reference §2): the CONNECT username, telemetry and twin topics, and the
//! subscription filters the hub accepts.

use super::{parse_query, query_get};

/// At most 5 subscriptions per device (reference §2a).
pub const MAX_SUBSCRIPTIONS: usize = 5;

/// `{host}/{deviceId}[/{moduleId}]/?api-version=...` or the old form without `?`
/// (reference §2a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUsername {
    pub host: String,
    pub device_id: String,
    pub module_id: Option<String>,
}

impl HubUsername {
    /// None if this is not a hub username. Extra `&key=value` pairs are ignored.
    pub fn parse(username: &str) -> Option<HubUsername> {
        let (path, query) = match username.split_once("/?") {
            Some((p, q)) => (p, q),
            None => {
                // Old form: `{host}/{deviceId}/api-version=...`.
                let i = username.rfind("/api-version=")?;
                (&username[..i], &username[i + 1..])
            }
        };
        if !query.starts_with("api-version=") {
            return None;
        }
        parse_query(query)?;
        let segs: Vec<&str> = path.split('/').collect();
        let (host, device, module) = match segs.as_slice() {
            [h, d] => (*h, *d, None),
            [h, d, m] => (*h, *d, Some(*m)),
            _ => return None,
        };
        if host.is_empty() || !valid_device_id(device) || !module.is_none_or(valid_device_id) {
            return None;
        }
        Some(HubUsername {
            host: host.to_string(),
            device_id: device.to_string(),
            module_id: module.map(str::to_string),
        })
    }

    pub fn format(host: &str, device_id: &str) -> String {
        format!("{host}/{device_id}/?api-version=2021-04-12")
    }
}

/// Device ids: up to 128 characters of 7-bit ASCII alphanumerics plus
/// `- . + % _ # * ? ! ( ) , = @ $ ' :` (reference §3 identifier rules). `/` never.
pub fn valid_device_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.+%_#*?!(),=@$':".contains(&b))
}

/// A PUBLISH from a hub client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubRequest {
    /// `devices/{id}[/modules/{m}]/messages/events/...` (reference §2b).
    Telemetry { device_id: String },
    /// `$iothub/twin/GET/?$rid=` (reference §2d).
    TwinGet { rid: String },
    /// `$iothub/twin/PATCH/properties/reported/?$rid=` (reference §2d).
    TwinPatch { rid: String },
}

impl HubRequest {
    pub fn parse(topic: &str) -> Option<HubRequest> {
        if let Some(rest) = topic.strip_prefix("devices/") {
            let (device, rest) = rest.split_once('/')?;
            let rest = match rest.strip_prefix("modules/") {
                Some(r) => r.split_once('/')?.1,
                None => rest,
            };
            if rest.starts_with("messages/events/") || rest == "messages/events" {
                return Some(HubRequest::Telemetry {
                    device_id: device.to_string(),
                });
            }
            return None;
        }
        if let Some(q) = topic.strip_prefix("$iothub/twin/GET/?") {
            let pairs = parse_query(q)?;
            return Some(HubRequest::TwinGet {
                rid: query_get(&pairs, "$rid")?.to_string(),
            });
        }
        if let Some(q) = topic.strip_prefix("$iothub/twin/PATCH/properties/reported/?") {
            let pairs = parse_query(q)?;
            return Some(HubRequest::TwinPatch {
                rid: query_get(&pairs, "$rid")?.to_string(),
            });
        }
        None
    }

    pub fn telemetry_topic(device_id: &str) -> String {
        format!("devices/{device_id}/messages/events/")
    }
}

/// The filter a device subscribes to for twin responses (reference §2d).
pub const TWIN_RESPONSE_FILTER: &str = "$iothub/twin/res/#";

/// `$iothub/twin/res/{status}/?$rid={rid}[&$version={v}]` (reference §2d).
pub fn twin_response_topic(status: u16, rid: &str, version: Option<u64>) -> String {
    let mut t = format!("$iothub/twin/res/{status}/?$rid={}", super::url_encode(rid));
    if let Some(v) = version {
        t.push_str(&format!("&$version={v}"));
    }
    t
}

/// Whether the hub accepts a SUBSCRIBE to `filter` from `device_id` (reference §2c–§2e: fixed
/// topics, no wildcard filtering beyond these).
pub fn accepts_filter(filter: &str, device_id: &str) -> bool {
    match filter {
        "$iothub/twin/res/#"
        | "$iothub/twin/PATCH/properties/desired/#"
        | "$iothub/methods/POST/#"
        | "$iothub/streams/POST/#" => true,
        "devices/+/messages/devicebound/#" => true,
        f => f
            .strip_prefix("devices/")
            .and_then(|r| r.strip_suffix("/messages/devicebound/#"))
            .is_some_and(|d| d == device_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_old_new_and_module() {
        let want = HubUsername {
            host: "h.azure-devices.net".into(),
            device_id: "dev1".into(),
            module_id: None,
        };
        for u in [
            "h.azure-devices.net/dev1/?api-version=2021-04-12",
            "h.azure-devices.net/dev1/?api-version=2020-09-30&DeviceClientType=iothubclient%2F1.0",
            "h.azure-devices.net/dev1/api-version=2016-11-14",
            "h.azure-devices.net/dev1/?api-version=2021-04-12&model-id=dtmi:x;1",
        ] {
            assert_eq!(HubUsername::parse(u).as_ref(), Some(&want), "{u}");
        }
        let m = HubUsername::parse("h/dev1/mod1/?api-version=2021-04-12").unwrap();
        assert_eq!(m.module_id.as_deref(), Some("mod1"));
        for bad in [
            "",
            "h/dev1",
            "h/dev1/?x=1",
            "/dev1/?api-version=1",
            "h//?api-version=1",
            "h/a/b/c/?api-version=1",
            "h/a b/?api-version=1",
        ] {
            assert_eq!(HubUsername::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn topics() {
        assert_eq!(
            HubRequest::parse("devices/d1/messages/events/$.ct=application%2Fjson"),
            Some(HubRequest::Telemetry {
                device_id: "d1".into()
            })
        );
        assert_eq!(
            HubRequest::parse("devices/d1/modules/m/messages/events/"),
            Some(HubRequest::Telemetry {
                device_id: "d1".into()
            })
        );
        assert_eq!(
            HubRequest::parse("$iothub/twin/GET/?$rid=5"),
            Some(HubRequest::TwinGet { rid: "5".into() })
        );
        assert_eq!(
            HubRequest::parse("$iothub/twin/PATCH/properties/reported/?$rid=6"),
            Some(HubRequest::TwinPatch { rid: "6".into() })
        );
        assert_eq!(HubRequest::parse("devices/d1/messages/devicebound/x"), None);
        assert_eq!(HubRequest::parse("$iothub/twin/GET/?x=1"), None);
        assert_eq!(
            twin_response_topic(204, "6", Some(3)),
            "$iothub/twin/res/204/?$rid=6&$version=3"
        );
    }

    #[test]
    fn filters() {
        assert!(accepts_filter("devices/d1/messages/devicebound/#", "d1"));
        assert!(!accepts_filter("devices/d2/messages/devicebound/#", "d1"));
        assert!(accepts_filter("$iothub/twin/res/#", "d1"));
        assert!(!accepts_filter("#", "d1"));
        assert!(!accepts_filter("devices/#", "d1"));
    }
}
