//! The DPS half of a connection (reference §1c, §1d, §1e): register and poll requests on the
//! same DPS model as every engine, answered as `$dps/registrations/res/...` publishes after the
//! model's latency.

use super::{Conn, End, Readable, Session};
use crate::mock::body::{assigned_state, error_body, to_json};
use crate::mock::stats::Stats;
use crate::protocol::dps::{self as pdps, DeviceRegistration, DpsRequest};
use crate::service::{Answer, Request};
use crate::time::SimDuration;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Packet, PubAck, Publish};

impl<S: Readable> Conn<S> {
    pub(super) fn dps_publish(&mut self, s: &mut Session, p: Publish) -> Result<(), End> {
        let Session::Dps {
            registration_id,
            device,
            qos,
        } = s
        else {
            return Err(End::Malformed);
        };
        let (registration_id, device, qos) = (registration_id.clone(), *device, *qos);
        // DPS accepts only its documented topics (reference §1a).
        let req = DpsRequest::parse(&p.topic).ok_or(End::Malformed)?;
        if p.qos == QoS::AtLeastOnce {
            self.write(&Packet::PubAck(PubAck::new(p.pkid)));
        }
        let shared = self.shared.clone();
        let st = &shared.stats;
        let now = self.shared.now();
        let unix = self.shared.unix_micros();
        let (rid, status, retry, body, after) = match req {
            DpsRequest::Register { rid } => {
                Stats::inc(&st.registers);
                let body: Option<DeviceRegistration> = serde_json::from_slice(&p.payload).ok();
                match body {
                    Some(b) if b.registration_id == registration_id => {}
                    _ => {
                        let e = error_body(400004, "Bad register body or registrationId", unix);
                        self.dps_reply(qos, 400, &rid, None, e, SimDuration::ZERO)?;
                        return Ok(());
                    }
                }
                let (resp, seq) = {
                    let mut m = self.shared.lock();
                    m.op_seq += 1;
                    (m.dps.handle(device, Request::Register, now), m.op_seq)
                };
                let op = operation_id(device, seq);
                match resp.answer {
                    Answer::Accepted { retry_after_s } => {
                        let b = pdps::OperationStatus {
                            operation_id: op,
                            status: "assigning".into(),
                            registration_state: None,
                        };
                        (rid, 202, Some(retry_after_s), to_json(&b), resp.after)
                    }
                    Answer::Throttled { retry_after_s } => {
                        Stats::inc(&st.registers_throttled);
                        let e = error_body(429001, "Operations are being throttled", unix);
                        (rid, 429, Some(retry_after_s), e, resp.after)
                    }
                    // The instance holds its maximum of registrations (reference §4c).
                    _ => {
                        let e = error_body(403010, "Registration limit reached", unix);
                        (rid, 403, None, e, resp.after)
                    }
                }
            }
            DpsRequest::Poll { rid, operation_id } => {
                Stats::inc(&st.polls);
                if operation_device(&operation_id) != Some(device) {
                    let e = error_body(404201, "Operation not found", unix);
                    self.dps_reply(qos, 404, &rid, None, e, SimDuration::ZERO)?;
                    return Ok(());
                }
                let resp = self.shared.lock().dps.handle(device, Request::Poll, now);
                let state = |status: &str| pdps::RegistrationState {
                    registration_id: registration_id.clone(),
                    status: status.into(),
                    ..Default::default()
                };
                match resp.answer {
                    Answer::Assigning { retry_after_s } => {
                        let b = pdps::OperationStatus {
                            operation_id,
                            status: "assigning".into(),
                            registration_state: Some(state("assigning")),
                        };
                        (rid, 202, Some(retry_after_s), to_json(&b), resp.after)
                    }
                    Answer::Assigned { .. } => {
                        Stats::inc(&st.assigned);
                        let hub = &self.shared.cfg.hub_hostname;
                        let b = pdps::OperationStatus {
                            operation_id,
                            status: "assigned".into(),
                            registration_state: Some(assigned_state(&registration_id, hub, unix)),
                        };
                        (rid, 200, None, to_json(&b), resp.after)
                    }
                    Answer::Throttled { retry_after_s } => {
                        Stats::inc(&st.polls_throttled);
                        let e = error_body(429001, "Operations are being throttled", unix);
                        (rid, 429, Some(retry_after_s), e, resp.after)
                    }
                    // No hub with room (reference §1d: 400208 no hub).
                    _ => {
                        let b = pdps::OperationStatus {
                            operation_id,
                            status: "failed".into(),
                            registration_state: Some(pdps::RegistrationState {
                                error_code: Some(400208),
                                error_message: Some("No hub with room for the device".into()),
                                ..state("failed")
                            }),
                        };
                        (rid, 200, None, to_json(&b), resp.after)
                    }
                }
            }
        };
        self.dps_reply(qos, status, &rid, retry, body, after)
    }

    fn dps_reply(
        &mut self,
        qos: Option<QoS>,
        status: u16,
        rid: &str,
        retry_after: Option<u16>,
        body: Vec<u8>,
        after: SimDuration,
    ) -> Result<(), End> {
        // DPS delivers only to a subscribed client (reference §1c step 1).
        let Some(qos) = qos else { return Ok(()) };
        let p = self.publish(qos, pdps::response_topic(status, rid, retry_after), body);
        self.later(after, p)
    }
}

/// `4.{device index:x}.{sequence:x}`: opaque to clients (reference: "any opaque string
/// works"), and it tells the mock whose operation a poll asks about without storing it.
fn operation_id(device: u32, seq: u64) -> String {
    format!("4.{device:x}.{seq:016x}")
}

fn operation_device(op: &str) -> Option<u32> {
    let mut it = op.split('.');
    if it.next()? != "4" {
        return None;
    }
    u32::from_str_radix(it.next()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_name_their_device() {
        assert_eq!(operation_device(&operation_id(42, 7)), Some(42));
        assert_eq!(operation_device("5.x.y"), None);
        assert_eq!(operation_device("4.zz.1"), None);
        assert_eq!(operation_device(""), None);
    }
}
