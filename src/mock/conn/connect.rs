//! CONNECT: the first packet read (nothing else is let in first), then authentication by the
//! username's form — a DPS registration (reference §1b) or a hub device (§2a), each with its
//! SAS token — admission through the hub model (quota, throttling, shaping: reference §4b),
//! and the hub's one session per device id. A refusal is answered with its CONNACK code.

use super::pending::delay;
use super::{Conn, End, Readable, Role, Session};
use crate::mock::stats::Stats;
use crate::protocol::dps::DpsUsername;
use crate::protocol::hub::{self as phub, HubUsername};
use crate::protocol::sas;
use crate::service::{Answer, HubId, Refusal, Request};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Packet};
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::oneshot;
use tokio::time::Instant;

impl<S: Readable> Conn<S> {
    /// Reads the first packet, refusing anything but CONNECT as soon as its first byte shows
    /// (garbage such as an HTTP request is closed at once, not after the timeout).
    pub(super) async fn read_connect(&mut self) -> Result<Packet, End> {
        loop {
            if let Some(&b) = self.buf.first()
                && b != 0x10
            {
                return Err(End::Malformed);
            }
            if let Some(p) = self.parse()? {
                return Ok(p);
            }
            self.fill().await?;
        }
    }

    /// Authenticates a CONNECT and opens a DPS or Hub session, or answers the refusal.
    pub(super) async fn connect(&mut self, c: Connect, role: Role) -> Result<Session, End> {
        if c.protocol != rumqttc::mqttbytes::Protocol::V4 {
            return self.refuse(ConnectReturnCode::RefusedProtocolVersion).await;
        }
        let (username, password) = match &c.login {
            Some(l) => (l.username.as_str(), Some(l.password.as_str())),
            None => ("", None),
        };
        if role != Role::Hub
            && let Some(u) = DpsUsername::parse(username)
        {
            return self.connect_dps(u, password).await;
        }
        if role != Role::Dps
            && let Some(u) = HubUsername::parse(username)
        {
            return self.connect_hub(u, password, !c.clean_session).await;
        }
        // Neither a DPS nor a hub username (reference §1b, §2a).
        self.refuse_auth(ConnectReturnCode::BadUserNamePassword)
            .await
    }

    /// A DPS registration: its id scope and SAS token checked, and a device slot for it.
    async fn connect_dps(
        &mut self,
        u: DpsUsername,
        password: Option<&str>,
    ) -> Result<Session, End> {
        if u.id_scope != self.shared.cfg.id_scope {
            return self.refuse_auth(ConnectReturnCode::NotAuthorized).await;
        }
        let resource = sas::dps_resource(&u.id_scope, &u.registration_id);
        if self
            .shared
            .authenticate(password, &resource, &u.registration_id)
            .is_err()
        {
            return self.refuse_auth(ConnectReturnCode::NotAuthorized).await;
        }
        let max = self.shared.cfg.max_devices;
        let device = self.shared.lock().device_index(&u.registration_id, max);
        let Some(device) = device else {
            return self.refuse(ConnectReturnCode::ServiceUnavailable).await;
        };
        Stats::inc(&self.shared.stats.dps_sessions);
        Ok(Session::Dps {
            registration_id: u.registration_id,
            device,
            qos: None,
        })
    }

    /// A hub device: its SAS token checked, admitted by the hub model, then the device's one
    /// session (`persistent`: CleanSession 0).
    async fn connect_hub(
        &mut self,
        u: HubUsername,
        password: Option<&str>,
        persistent: bool,
    ) -> Result<Session, End> {
        let resource = sas::hub_resource(&u.host, &u.device_id, u.module_id.as_deref());
        if self
            .shared
            .authenticate(password, &resource, &u.device_id)
            .is_err()
        {
            return self.refuse_auth(ConnectReturnCode::NotAuthorized).await;
        }
        let hub = self.admit(&u.device_id).await?;
        let (conn_id, kick, filters) = self.take_over(&u.device_id, persistent);
        Stats::inc(&self.shared.stats.hub_sessions);
        let twin_qos = filters
            .iter()
            .find(|(f, _)| f == phub::TWIN_RESPONSE_FILTER)
            .map(|(_, q)| *q);
        Ok(Session::Hub {
            device_id: u.device_id,
            hub,
            conn_id,
            filters,
            twin_qos,
            persistent,
            kick,
        })
    }

    /// Puts the CONNECT to the hub model and waits out its delay: the device's hub, or the
    /// refusal (quota or throttling) answered after the delay to a client still there.
    async fn admit(&mut self, device_id: &str) -> Result<HubId, End> {
        let now = self.shared.now();
        let hubs = self.shared.cfg.scenario.hub.count;
        let (hub, resp) = {
            let mut m = self.shared.lock();
            let hub = m.hub_of(device_id, hubs);
            (hub, m.hub.handle(Request::Connect { hub }, now))
        };
        match resp.answer {
            Answer::Connected => {}
            other => {
                let st = &self.shared.stats;
                if other == Answer::Refused(Refusal::QuotaExceeded) {
                    Stats::inc(&st.quota_refused);
                } else {
                    Stats::inc(&st.connect_throttled);
                }
                let code = connack_code(self.shared.cfg.throttle_connack);
                if self.wait_watching(Instant::now() + delay(resp.after)).await {
                    self.connack(code).await;
                }
                return Err(End::Closed);
            }
        }
        // Traffic shaping queues the CONNECT (reference §4b): the CONNACK waits (for a
        // client still there).
        if !self.wait_watching(Instant::now() + delay(resp.after)).await {
            return Err(End::Closed);
        }
        Ok(hub)
    }

    /// Makes this connection the device's one session, kicking the old one (reference §2a):
    /// its id, the kick that will end it in turn, and the subscriptions a persistent session
    /// takes up again (a clean one ends whatever session the device had).
    fn take_over(
        &self,
        device_id: &str,
        persistent: bool,
    ) -> (u64, oneshot::Receiver<()>, Vec<(String, QoS)>) {
        let conn_id = self.shared.next_conn.fetch_add(1, Relaxed);
        let (tx, rx) = oneshot::channel();
        let (old, filters) = {
            let mut m = self.shared.lock();
            let old = m.sessions.insert(device_id.to_string(), (conn_id, tx));
            let filters = if persistent {
                m.persisted.get(device_id).cloned().unwrap_or_default()
            } else {
                m.persisted.remove(device_id);
                Vec::new()
            };
            (old, filters)
        };
        if let Some((_, kick)) = old {
            let _ = kick.send(());
        }
        (conn_id, rx, filters)
    }

    /// Refuses a CONNECT whose credentials do not pass (counted as an auth refusal).
    async fn refuse_auth(&mut self, code: ConnectReturnCode) -> Result<Session, End> {
        Stats::inc(&self.shared.stats.auth_refused);
        self.refuse(code).await
    }

    /// Answers a refused CONNECT and ends the connection.
    async fn refuse(&mut self, code: ConnectReturnCode) -> Result<Session, End> {
        self.connack(code).await;
        Err(End::Closed)
    }

    async fn connack(&mut self, code: ConnectReturnCode) {
        self.write(&Packet::ConnAck(ConnAck::new(code, false)));
        let _ = self.flush().await;
    }
}

/// The CONNACK code a throttled CONNECT gets (`throttle_connack`; 3, and anything unknown, is
/// Server unavailable).
fn connack_code(code: u8) -> ConnectReturnCode {
    match code {
        1 => ConnectReturnCode::RefusedProtocolVersion,
        2 => ConnectReturnCode::BadClientId,
        4 => ConnectReturnCode::BadUserNamePassword,
        5 => ConnectReturnCode::NotAuthorized,
        _ => ConnectReturnCode::ServiceUnavailable,
    }
}
