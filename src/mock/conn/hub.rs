//! The Hub half of a connection (reference §2b, §2d): telemetry on the hub model (shaped,
//! quota-checked), twin GET and reported-properties PATCH.

use super::{Conn, End, Readable, Session};
use crate::mock::body::to_json;
use crate::mock::stats::Stats;
use crate::protocol::hub::{self as phub, HubRequest};
use crate::service::{Answer, Request};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Packet, PubAck, Publish};

impl<S: Readable> Conn<S> {
    pub(super) fn hub_publish(&mut self, s: &mut Session, p: Publish) -> Result<(), End> {
        let Session::Hub {
            device_id,
            hub,
            twin_qos,
            ..
        } = s
        else {
            return Err(End::Malformed);
        };
        let (hub, twin_qos) = (*hub, *twin_qos);
        let shared = self.shared.clone();
        let st = &shared.stats;
        let now = self.shared.now();
        // Fixed topics only; another device's topic is refused by closing (reference §2a).
        match HubRequest::parse(&p.topic).ok_or(End::Malformed)? {
            HubRequest::Telemetry { device_id: d } => {
                if d != *device_id {
                    return Err(End::Malformed);
                }
                Stats::inc(&st.telemetry);
                let size = p.payload.len() as u32;
                let resp = self
                    .shared
                    .lock()
                    .hub
                    .handle(Request::Telemetry { hub, size }, now);
                match resp.answer {
                    // Traffic shaping: the PUBACK waits its turn at the limit rate (reference §4b).
                    Answer::Acked => {
                        if let Some(t) = &self.shared.cfg.sequences {
                            t.observe(device_id, &p.payload);
                        }
                        if p.qos == QoS::AtLeastOnce {
                            self.later(resp.after, Packet::PubAck(PubAck::new(p.pkid)))?;
                        }
                        Ok(())
                    }
                    // Backlog full or daily quota spent: MQTT has no 429, the hub closes the
                    // connection (reference §2g).
                    _ => Err(End::Throttled),
                }
            }
            HubRequest::TwinGet { rid } => {
                self.ack(&p);
                Stats::inc(&st.twin);
                let mut m = self.shared.lock();
                let (status, body) = if m.admit_twin(hub, false, now) {
                    let t = m.twins.get(device_id.as_str());
                    let mut reported = t.map(|t| t.reported.clone()).unwrap_or_default();
                    reported.insert("$version".into(), t.map_or(1, |t| t.version.max(1)).into());
                    let doc = serde_json::json!({
                        "desired": {"$version": 1},
                        "reported": reported,
                    });
                    (200, to_json(&doc))
                } else {
                    Stats::inc(&st.twin_throttled);
                    (429, Vec::new())
                };
                drop(m);
                self.twin_reply(twin_qos, status, &rid, None, body)
            }
            HubRequest::TwinPatch { rid } => {
                self.ack(&p);
                Stats::inc(&st.twin);
                let patch: Option<serde_json::Map<String, serde_json::Value>> =
                    serde_json::from_slice(&p.payload).ok();
                let Some(patch) = patch else {
                    return self.twin_reply(twin_qos, 400, &rid, None, Vec::new());
                };
                let mut m = self.shared.lock();
                if !m.admit_twin(hub, true, now) {
                    drop(m);
                    Stats::inc(&st.twin_throttled);
                    return self.twin_reply(twin_qos, 429, &rid, None, Vec::new());
                }
                let t = m.twins.entry(device_id.clone()).or_default();
                merge(&mut t.reported, patch);
                t.version = t.version.max(1) + 1;
                let v = t.version;
                drop(m);
                self.twin_reply(twin_qos, 204, &rid, Some(v), Vec::new())
            }
        }
    }

    fn ack(&mut self, p: &Publish) {
        if p.qos == QoS::AtLeastOnce {
            self.write(&Packet::PubAck(PubAck::new(p.pkid)));
        }
    }

    fn twin_reply(
        &mut self,
        qos: Option<QoS>,
        status: u16,
        rid: &str,
        version: Option<u64>,
        body: Vec<u8>,
    ) -> Result<(), End> {
        let Some(qos) = qos else { return Ok(()) };
        let p = self.publish(qos, phub::twin_response_topic(status, rid, version), body);
        self.write(&p);
        Ok(())
    }
}

/// A JSON merge patch: a null member deletes (reference §2d).
fn merge(
    doc: &mut serde_json::Map<String, serde_json::Value>,
    patch: serde_json::Map<String, serde_json::Value>,
) {
    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        match v {
            serde_json::Value::Null => {
                doc.remove(&k);
            }
            serde_json::Value::Object(o) => {
                let e = doc
                    .entry(k)
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                if let serde_json::Value::Object(d) = e {
                    merge(d, o);
                } else {
                    *e = serde_json::Value::Object(o);
                }
            }
            v => {
                doc.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twin_merge_patch() {
        let mut d = serde_json::Map::new();
        let p = |s: &str| serde_json::from_str(s).unwrap();
        merge(&mut d, p(r#"{"a":1,"b":{"c":2,"d":3}}"#));
        merge(&mut d, p(r#"{"a":null,"b":{"c":null,"e":4},"$version":9}"#));
        assert_eq!(
            serde_json::Value::Object(d),
            serde_json::json!({"b":{"d":3,"e":4}})
        );
    }
}
