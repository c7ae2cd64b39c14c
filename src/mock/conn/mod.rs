//! One client connection: CONNECT, authentication, then DPS or Hub requests mapped onto the
//! service models. Every byte is hostile: a malformed packet, an oversized length, a packet
//! before CONNECT or a QoS 2 PUBLISH closes this connection (and is counted); nothing here
//! unwraps network data.

mod dps;
mod hub;

use super::state::Shared;
use super::stats::Stats;
use crate::protocol::dps::{self as pdps, DpsUsername};
use crate::protocol::hub::{self as phub, HubUsername};
use crate::protocol::sas;
use crate::service::{Answer, HubId, Refusal, Request};
use crate::time::SimDuration;
use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Packet, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant, sleep_until, timeout};

/// Largest packet accepted: IoT Hub's 256 KB D2C message plus topic and headers (reference
/// §2b; DPS allows 96 KB, §4c).
pub const MAX_PACKET: usize = 256 * 1024 + 4096;
/// Replies queued on one connection (delayed PUBACKs, DPS answers) before it is closed: a
/// client that far ahead of its acknowledgements has overrun any backlog.
const MAX_PENDING: usize = 4096;
/// The hub's keep-alive timeout is 1.5 × the client's, capped at 1767 s (reference §2f).
const MAX_IDLE: Duration = Duration::from_secs(1767);

/// A stream that can tell when a read would not block, so that an idle connection waits
/// without holding a read buffer (the ≤ 4 KiB per idle connection budget). Streams that
/// cannot tell (TLS, in-memory pipes) resolve at once and read into a buffer as before.
pub trait Readable: AsyncRead + AsyncWrite + Unpin {
    fn wait_readable(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

impl Readable for tokio::net::TcpStream {
    async fn wait_readable(&self) {
        // An error shows on the read that follows.
        let _ = self.readable().await;
    }
}
impl<S: AsyncRead + AsyncWrite + Unpin> Readable for tokio_rustls::server::TlsStream<S> {}
impl Readable for tokio::io::DuplexStream {}

/// Which usernames a listener accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Both,
    Dps,
    Hub,
}

/// Why a connection ended (for counting).
enum End {
    Closed,
    Malformed,
    Idle,
    Kicked,
    Throttled,
}

enum Session {
    Dps {
        registration_id: String,
        device: u32,
        qos: Option<QoS>,
    },
    Hub {
        device_id: String,
        hub: HubId,
        conn_id: u64,
        /// Subscriptions and their granted QoS.
        filters: Vec<(String, QoS)>,
        twin_qos: Option<QoS>,
        /// CleanSession 0: the subscriptions outlive the connection.
        persistent: bool,
        kick: oneshot::Receiver<()>,
    },
}

struct Conn<S> {
    io: S,
    shared: Arc<Shared>,
    buf: BytesMut,
    out: BytesMut,
    /// Replies due later: (due, sequence) → packet.
    pending: BinaryHeap<Reverse<(Instant, u64, PacketBox)>>,
    seq: u64,
    pkid: u16,
}

/// A packet in the pending heap, ordered by nothing (the (due, seq) pair decides).
struct PacketBox(Packet);
impl PartialEq for PacketBox {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for PacketBox {}
impl PartialOrd for PacketBox {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for PacketBox {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// Serves one accepted connection to its end.
pub async fn serve<S: Readable>(io: S, shared: Arc<Shared>, role: Role) {
    let mut c = Conn {
        io,
        shared: shared.clone(),
        buf: BytesMut::new(),
        out: BytesMut::new(),
        pending: BinaryHeap::new(),
        seq: 0,
        pkid: 0,
    };
    let end = c.run(role).await;
    let st = &shared.stats;
    match end {
        End::Malformed => Stats::inc(&st.malformed),
        End::Idle => Stats::inc(&st.idle_timeouts),
        End::Kicked => Stats::inc(&st.kicked),
        End::Throttled => Stats::inc(&st.telemetry_closed),
        End::Closed => {}
    }
    let _ = c.io.shutdown().await;
}

fn delay(after: SimDuration) -> Duration {
    Duration::from_micros(after.as_micros())
}

impl<S: Readable> Conn<S> {
    /// One packet out of the buffer, if a whole one is there.
    fn parse(&mut self) -> Result<Option<Packet>, End> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        match Packet::read(&mut self.buf, MAX_PACKET) {
            Ok(p) => Ok(Some(p)),
            Err(CodecError::InsufficientBytes(_)) => Ok(None),
            Err(_) => Err(End::Malformed),
        }
    }

    async fn fill(&mut self) -> Result<(), End> {
        // No buffer until there is something to read; small reads keep it small after.
        self.io.wait_readable().await;
        self.buf.reserve(256);
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) | Err(_) => Err(End::Closed),
            Ok(_) => Ok(()),
        }
    }

    fn write(&mut self, p: &Packet) {
        // Our own packets are well-formed and within MAX_PACKET; a failure drops the packet.
        let _ = p.write(&mut self.out, MAX_PACKET);
    }

    async fn flush(&mut self) -> Result<(), End> {
        if self.out.is_empty() {
            return Ok(());
        }
        // A client that stops reading cannot hold the connection (and this buffer) forever.
        let r = timeout(self.shared.cfg.read_timeout, self.io.write_all(&self.out)).await;
        // An idle connection holds no write buffer (the ≤ 4 KiB per idle connection budget).
        self.out = BytesMut::new();
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Closed),
            Err(_) => Err(End::Idle),
        }
    }

    fn later(&mut self, after: SimDuration, p: Packet) -> Result<(), End> {
        if self.pending.len() >= MAX_PENDING {
            return Err(End::Throttled);
        }
        self.seq += 1;
        self.pending.push(Reverse((
            Instant::now() + delay(after),
            self.seq,
            PacketBox(p),
        )));
        Ok(())
    }

    fn next_pkid(&mut self) -> u16 {
        self.pkid = self.pkid.wrapping_add(1).max(1);
        self.pkid
    }

    fn publish(&mut self, qos: QoS, topic: String, body: Vec<u8>) -> Packet {
        let mut p = Publish::new(topic, qos, body);
        if qos != QoS::AtMostOnce {
            p.pkid = self.next_pkid();
        }
        Packet::Publish(p)
    }

    async fn connack(&mut self, code: ConnectReturnCode) {
        self.write(&Packet::ConnAck(ConnAck::new(code, false)));
        let _ = self.flush().await;
    }

    /// Reads the first packet, refusing anything but CONNECT as soon as its first byte shows
    /// (garbage such as an HTTP request is closed at once, not after the timeout).
    async fn read_connect(&mut self) -> Result<Packet, End> {
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

    async fn run(&mut self, role: Role) -> End {
        // The connect phase's futures live on the heap only while it lasts: the task's own
        // future, held by every idle connection, is sized by the session loop alone.
        let t = self.shared.cfg.connect_timeout;
        let first = match Box::pin(timeout(t, self.read_connect())).await {
            Err(_) => return End::Idle,
            Ok(Err(e)) => return e,
            Ok(Ok(Packet::Connect(c))) => c,
            // Anything before CONNECT is a protocol violation (MQTT 3.1.1 §3.1).
            Ok(Ok(_)) => return End::Malformed,
        };
        let keep_alive = first.keep_alive;
        let mut session = match Box::pin(self.connect(first, role)).await {
            Ok(s) => s,
            Err(e) => return e,
        };
        // Session present: a persistent session that kept subscriptions (MQTT 3.1.1 §3.2.2.2).
        let present = matches!(&session, Session::Hub { persistent: true, filters, .. } if !filters.is_empty());
        self.write(&Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::Success,
            present,
        )));
        if self.flush().await.is_err() {
            return self.close(&session, End::Closed);
        }
        let idle = if keep_alive == 0 {
            MAX_IDLE
        } else {
            Duration::from_millis(keep_alive as u64 * 1500).min(MAX_IDLE)
        };
        let end = self.serve_session(&mut session, idle).await;
        self.close(&session, end)
    }

    fn close(&self, session: &Session, end: End) -> End {
        if let Session::Hub {
            device_id, conn_id, ..
        } = session
        {
            let mut m = self.shared.lock();
            if m.sessions
                .get(device_id)
                .is_some_and(|(id, _)| id == conn_id)
            {
                m.sessions.remove(device_id);
            }
        }
        end
    }

    async fn serve_session(&mut self, s: &mut Session, idle: Duration) -> End {
        let mut deadline = Instant::now() + idle;
        // When the packet begun in the buffer must be whole: a client that sends half a
        // packet and stalls (or trickles it) is closed after the read timeout, whatever its
        // keep-alive.
        let mut partial: Option<Instant> = None;
        loop {
            // Handle every whole packet already buffered.
            loop {
                match self.parse() {
                    Ok(Some(p)) => {
                        partial = None;
                        if let Err(e) = self.handle(s, p) {
                            if let End::Throttled = e {
                                // Messages already queued were accepted: their PUBACKs still
                                // go out at the limit rate, then the connection closes.
                                Box::pin(self.drain()).await;
                            }
                            let _ = self.flush().await;
                            return e;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return e,
                }
            }
            if self.buf.is_empty() {
                // Nothing partial: an idle connection holds no read buffer.
                self.buf = BytesMut::new();
                partial = None;
            } else if partial.is_none() {
                partial = Some(Instant::now() + self.shared.cfg.read_timeout);
            }
            if self.flush().await.is_err() {
                return End::Closed;
            }
            let due = self.pending.peek().map(|Reverse((t, _, _))| *t);
            let kick = async {
                match s {
                    Session::Hub { kick, .. } => {
                        let _ = kick.await;
                    }
                    Session::Dps { .. } => std::future::pending().await,
                }
            };
            tokio::select! {
                r = async {
                    // The buffer is allocated only once the socket is readable.
                    self.io.wait_readable().await;
                    if self.buf.capacity() - self.buf.len() < 64 {
                        self.buf.reserve(if self.buf.is_empty() { 512 } else { 4096 });
                    }
                    self.io.read_buf(&mut self.buf).await
                } => {
                    match r {
                        Ok(0) | Err(_) => return End::Closed,
                        Ok(_) => deadline = Instant::now() + idle,
                    }
                }
                // One timer for the next reply, the idle deadline and a stalled packet's
                // (a smaller task).
                _ = sleep_until(due.into_iter().chain(partial).fold(deadline, Instant::min)) => {
                    let now = Instant::now();
                    if deadline <= now || partial.is_some_and(|p| p <= now) {
                        return End::Idle;
                    }
                    while let Some(Reverse((t, _, _))) = self.pending.peek() {
                        if *t > now {
                            break;
                        }
                        if let Some(Reverse((_, _, PacketBox(p)))) = self.pending.pop() {
                            self.write(&p);
                        }
                    }
                }
                _ = kick => return End::Kicked,
            }
        }
    }

    /// Sends every pending reply at its due time, handling nothing more; stops if the client
    /// goes away (its connection is not held for the rest of the shaping backlog).
    async fn drain(&mut self) {
        while let Some(&Reverse((t, _, _))) = self.pending.peek() {
            let alive = self.wait_watching(t).await;
            // What a throttled client sends meanwhile is dropped.
            self.buf = BytesMut::new();
            if !alive {
                return;
            }
            if let Some(Reverse((_, _, PacketBox(p)))) = self.pending.pop() {
                self.write(&p);
            }
            if self.flush().await.is_err() {
                return;
            }
        }
    }

    /// Waits until `until` while watching the socket: false as soon as the client resets the
    /// connection. What it sends meanwhile is kept in the read buffer (up to one packet's
    /// worth, then it is not read until the wait ends); after its FIN (it may have pipelined
    /// packets and still be reading) the wait goes on, and the session sees the end later.
    async fn wait_watching(&mut self, until: Instant) -> bool {
        loop {
            if self.buf.len() > MAX_PACKET {
                sleep_until(until).await;
                return true;
            }
            tokio::select! {
                _ = sleep_until(until) => return true,
                r = async {
                    self.io.wait_readable().await;
                    self.buf.reserve(256);
                    self.io.read_buf(&mut self.buf).await
                } => match r {
                    Ok(0) => {
                        sleep_until(until).await;
                        return true;
                    }
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
        }
    }

    /// Authenticates a CONNECT and opens a DPS or Hub session, or answers the refusal.
    async fn connect(&mut self, c: Connect, role: Role) -> Result<Session, End> {
        let shared = self.shared.clone();
        let st = &shared.stats;
        if c.protocol != rumqttc::mqttbytes::Protocol::V4 {
            self.connack(ConnectReturnCode::RefusedProtocolVersion)
                .await;
            return Err(End::Closed);
        }
        let (username, password) = match &c.login {
            Some(l) => (l.username.as_str(), Some(l.password.as_str())),
            None => ("", None),
        };
        if role != Role::Hub
            && let Some(u) = DpsUsername::parse(username)
        {
            if u.id_scope != self.shared.cfg.id_scope {
                Stats::inc(&st.auth_refused);
                self.connack(ConnectReturnCode::NotAuthorized).await;
                return Err(End::Closed);
            }
            let resource = sas::dps_resource(&u.id_scope, &u.registration_id);
            if self
                .shared
                .authenticate(password, &resource, &u.registration_id)
                .is_err()
            {
                Stats::inc(&st.auth_refused);
                self.connack(ConnectReturnCode::NotAuthorized).await;
                return Err(End::Closed);
            }
            let max = self.shared.cfg.max_devices;
            let device = self.shared.lock().device_index(&u.registration_id, max);
            let Some(device) = device else {
                self.connack(ConnectReturnCode::ServiceUnavailable).await;
                return Err(End::Closed);
            };
            Stats::inc(&st.dps_sessions);
            return Ok(Session::Dps {
                registration_id: u.registration_id,
                device,
                qos: None,
            });
        }
        if role != Role::Dps
            && let Some(u) = HubUsername::parse(username)
        {
            let resource = sas::hub_resource(&u.host, &u.device_id, u.module_id.as_deref());
            if self
                .shared
                .authenticate(password, &resource, &u.device_id)
                .is_err()
            {
                Stats::inc(&st.auth_refused);
                self.connack(ConnectReturnCode::NotAuthorized).await;
                return Err(End::Closed);
            }
            let now = self.shared.now();
            let hubs = self.shared.cfg.scenario.hub.count;
            let (hub, resp) = {
                let mut m = self.shared.lock();
                let hub = m.hub_of(&u.device_id, hubs);
                (hub, m.hub.handle(Request::Connect { hub }, now))
            };
            match resp.answer {
                Answer::Connected => {}
                other => {
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
            let conn_id = self.shared.next_conn.fetch_add(1, Relaxed);
            let (tx, rx) = oneshot::channel();
            let persistent = !c.clean_session;
            let (old, filters) = {
                let mut m = self.shared.lock();
                // One connection per device id: the new one drops the old (reference §2a).
                let old = m.sessions.insert(u.device_id.clone(), (conn_id, tx));
                // A persistent session takes up its subscriptions again; a clean one ends
                // whatever session the device had.
                let filters = if persistent {
                    m.persisted.get(&u.device_id).cloned().unwrap_or_default()
                } else {
                    m.persisted.remove(&u.device_id);
                    Vec::new()
                };
                (old, filters)
            };
            if let Some((_, kick)) = old {
                let _ = kick.send(());
            }
            Stats::inc(&st.hub_sessions);
            let twin_qos = filters
                .iter()
                .find(|(f, _)| f == phub::TWIN_RESPONSE_FILTER)
                .map(|(_, q)| *q);
            return Ok(Session::Hub {
                device_id: u.device_id,
                hub,
                conn_id,
                filters,
                twin_qos,
                persistent,
                kick: rx,
            });
        }
        // Neither a DPS nor a hub username (reference §1b, §2a).
        Stats::inc(&st.auth_refused);
        self.connack(ConnectReturnCode::BadUserNamePassword).await;
        Err(End::Closed)
    }

    /// One packet of an open session.
    fn handle(&mut self, s: &mut Session, p: Packet) -> Result<(), End> {
        match p {
            Packet::PingReq => {
                self.write(&Packet::PingResp);
                Ok(())
            }
            Packet::Disconnect => Err(End::Closed),
            // Acknowledgements of our QoS 1 replies: nothing to do (no redelivery).
            Packet::PubAck(_) => Ok(()),
            Packet::Subscribe(sub) => {
                let codes = sub
                    .filters
                    .iter()
                    .map(|f| self.subscribe(s, &f.path, f.qos))
                    .collect();
                self.write(&Packet::SubAck(SubAck::new(sub.pkid, codes)));
                self.persist(s);
                Ok(())
            }
            Packet::Unsubscribe(u) => {
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
                Ok(())
            }
            Packet::Publish(p) => {
                // A QoS 2 PUBLISH closes the connection (reference §2b); DPS alike.
                if p.qos == QoS::ExactlyOnce {
                    return Err(End::Malformed);
                }
                match s {
                    Session::Dps { .. } => self.dps_publish(s, p),
                    Session::Hub { .. } => self.hub_publish(s, p),
                }
            }
            // CONNECT twice, or packets only a server sends, or QoS 2 flow: violations.
            _ => Err(End::Malformed),
        }
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

fn connack_code(code: u8) -> ConnectReturnCode {
    match code {
        1 => ConnectReturnCode::RefusedProtocolVersion,
        2 => ConnectReturnCode::BadClientId,
        4 => ConnectReturnCode::BadUserNamePassword,
        5 => ConnectReturnCode::NotAuthorized,
        _ => ConnectReturnCode::ServiceUnavailable,
    }
}

#[cfg(test)]
mod size {
    /// The per-connection task's future is most of an idle connection's memory.
    #[test]
    fn connection_future_is_small() {
        let shared = super::Shared::new(super::super::MockConfig::new(
            crate::scenario::load_str("[scenario]\nname=\"x\"\n[fleet]\ndevices=1\n", "t", &[])
                .unwrap(),
        ));
        let (a, _b) = tokio::io::duplex(64);
        let f = super::serve(a, shared, super::Role::Both);
        let n = std::mem::size_of_val(&f);
        assert!(n < 1024, "{n} bytes");
    }
}
