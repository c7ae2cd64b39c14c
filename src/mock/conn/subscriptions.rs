//! SUBSCRIBE and UNSUBSCRIBE on an open session: which filters each service grants (DPS its
//! response topic, the hub a device's own topics up to its subscription limit; QoS 2 granted
//! as QoS 1, reference §1a, §2c), and a persistent hub session's subscriptions kept for its
//! next connection.

use super::{Conn, Readable, Session};
use crate::protocol::dps as pdps;
use crate::protocol::hub as phub;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{
    Packet, SubAck, Subscribe, SubscribeReasonCode, UnsubAck, Unsubscribe,
};

impl<S: Readable> Conn<S> {
    /// Grants or refuses each filter of a SUBSCRIBE and acknowledges it.
    pub(super) fn on_subscribe(&mut self, s: &mut Session, sub: Subscribe) {
        let codes = sub
            .filters
            .iter()
            .map(|f| self.subscribe(s, &f.path, f.qos))
            .collect();
        self.write(&Packet::SubAck(SubAck::new(sub.pkid, codes)));
        self.persist(s);
    }

    /// Drops an UNSUBSCRIBE's filters and acknowledges it.
    pub(super) fn on_unsubscribe(&mut self, s: &mut Session, u: Unsubscribe) {
        if let Session::Hub {
            filters, twin_qos, ..
        } = s
        {
            for t in &u.topics {
                filters.retain(|(f, _)| f != t);
                if t == phub::TWIN_RESPONSE_FILTER {
                    *twin_qos = None;
                }
            }
        }
        self.write(&Packet::UnsubAck(UnsubAck::new(u.pkid)));
        self.persist(s);
    }

    /// Keeps a persistent hub session's subscriptions for its next connection.
    fn persist(&self, s: &Session) {
        if let Session::Hub {
            device_id,
            filters,
            persistent: true,
            ..
        } = s
        {
            let mut m = self.shared.lock();
            if filters.is_empty() {
                m.persisted.remove(device_id);
            } else {
                m.persisted.insert(device_id.clone(), filters.clone());
            }
        }
    }

    fn subscribe(&mut self, s: &mut Session, filter: &str, qos: QoS) -> SubscribeReasonCode {
        // Both services grant QoS 2 as QoS 1 (reference §1a, §2c).
        let granted = if qos == QoS::AtMostOnce {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        };
        match s {
            Session::Dps { qos: q, .. } => {
                if filter == pdps::RESPONSE_FILTER {
                    *q = Some(granted);
                    SubscribeReasonCode::Success(granted)
                } else {
                    SubscribeReasonCode::Failure
                }
            }
            Session::Hub {
                device_id,
                filters,
                twin_qos,
                ..
            } => {
                if !phub::accepts_filter(filter, device_id) {
                    return SubscribeReasonCode::Failure;
                }
                let full = filters.len() >= phub::MAX_SUBSCRIPTIONS;
                match filters.iter_mut().find(|(f, _)| f == filter) {
                    Some(f) => f.1 = granted,
                    None if full => return SubscribeReasonCode::Failure,
                    None => filters.push((filter.to_string(), granted)),
                }
                if filter == phub::TWIN_RESPONSE_FILTER {
                    *twin_qos = Some(granted);
                }
                SubscribeReasonCode::Success(granted)
            }
        }
    }
}
