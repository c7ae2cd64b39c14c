//! An open session's loop: every whole packet buffered handled in turn, replies written when
//! due, and one timer for the idle deadline (1.5 × keep-alive), a stalled half packet (the
//! read timeout) and the next pending reply; a newer connection of the same device kicks it.
//! Which packets a session accepts, and which close it, is `handle`'s.

use super::{Conn, End, Readable, Session};
use bytes::BytesMut;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::Packet;
use tokio::io::AsyncReadExt;
use tokio::time::{Duration, Instant, sleep_until};

impl<S: Readable> Conn<S> {
    pub(super) async fn serve_session(&mut self, s: &mut Session, idle: Duration) -> End {
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
            let due = self.next_due();
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
                    self.write_due(now);
                }
                _ = kick => return End::Kicked,
            }
        }
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
                self.on_subscribe(s, sub);
                Ok(())
            }
            Packet::Unsubscribe(u) => {
                self.on_unsubscribe(s, u);
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
}
