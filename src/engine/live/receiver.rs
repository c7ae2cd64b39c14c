//! The receiver for `--hub-mode plain-mqtt`: one subscriber on the broker that sees every
//! device's telemetry and feeds the sequence numbers to a [`SequenceTracker`], so message loss,
//! duplication and reordering are measured rather than assumed.

use super::mqtt::{Link, Stream};
use crate::protocol::telemetry::SequenceTracker;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet, PubAck, Subscribe};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Every device's telemetry topic (reference §2b).
const FILTER: &str = "devices/+/messages/events/#";

/// Connects and subscribes (returns once the broker granted the subscription), then receives
/// in a task until aborted.
pub async fn start(addr: SocketAddr, seq: Arc<SequenceTracker>) -> io::Result<JoinHandle<()>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut link = Link::new(Stream::Plain(tcp));
    let mut c = Connect::new(format!("fleetsim-receiver-{}", std::process::id()));
    c.keep_alive = 60;
    link.send(&Packet::Connect(c)).await?;
    let code = link
        .recv_until(|p| match p {
            Packet::ConnAck(a) => Some(a.code),
            _ => None,
        })
        .await?;
    if code != ConnectReturnCode::Success {
        return Err(io::Error::other(format!("CONNACK {code:?}")));
    }
    let mut sub = Subscribe::new(FILTER, QoS::AtLeastOnce);
    sub.pkid = link.next_pkid();
    let pkid = sub.pkid;
    link.send(&Packet::Subscribe(sub)).await?;
    link.recv_until(|p| matches!(p, Packet::SubAck(a) if a.pkid == pkid).then_some(()))
        .await?;
    Ok(tokio::spawn(async move {
        let ping = std::time::Duration::from_secs(30);
        loop {
            let p = match tokio::time::timeout(ping, link.recv()).await {
                Err(_) => {
                    if link.send(&Packet::PingReq).await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(Err(_)) => return,
                Ok(Ok(p)) => p,
            };
            if let Packet::Publish(p) = p {
                // devices/{id}/messages/events/...
                if let Some(id) = p.topic.split('/').nth(1) {
                    seq.observe(id, &p.payload);
                }
                if p.qos == QoS::AtLeastOnce
                    && link
                        .send(&Packet::PubAck(PubAck::new(p.pkid)))
                        .await
                        .is_err()
                {
                    return;
                }
            }
        }
    }))
}
