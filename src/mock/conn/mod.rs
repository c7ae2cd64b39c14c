//! One client connection, from accept to close: the CONNECT phase under its timeout, then the
//! session until it ends, and why it ended counted. Every byte is hostile: a malformed packet,
//! an oversized length, a packet before CONNECT or a QoS 2 PUBLISH closes this connection (and
//! is counted); nothing here unwraps network data.
//!
//! The rooms: `wire` (the stream, packets parsed and written), `connect` (CONNECT,
//! authentication, admission), `session` (the loop of an open session and its packets),
//! `subscriptions` (SUBSCRIBE/UNSUBSCRIBE, persistent sessions), `pending` (replies due
//! later), `dps` and `hub` (PUBLISHes onto each service's model).

mod connect;
mod dps;
mod hub;
mod pending;
mod session;
mod subscriptions;
mod wire;

pub use wire::{MAX_PACKET, Readable};

use super::state::Shared;
use super::stats::Stats;
use crate::service::HubId;
use bytes::BytesMut;
use pending::PacketBox;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{ConnAck, ConnectReturnCode, Packet};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant, timeout};

/// The hub's keep-alive timeout is 1.5 × the client's, capped at 1767 s (reference §2f).
const MAX_IDLE: Duration = Duration::from_secs(1767);

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

/// What an authenticated connection is: a DPS registration or a hub device's session.
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

/// One connection's stream, buffers and pending replies.
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

impl<S: Readable> Conn<S> {
    /// CONNECT (under the connect timeout), its CONNACK, then the session to its end.
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

    /// Ends a hub session's claim on its device id, unless a newer connection took it.
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
