//! Replies that go out later — delayed PUBACKs, DPS answers after the model's latency — kept
//! in a heap by due time (at most `MAX_PENDING` of them), sent when due, drained at the limit
//! rate before a throttled connection closes; and waiting a model's delay while watching the
//! socket for the client going away.

use super::{Conn, End, Readable};
use crate::time::SimDuration;
use bytes::BytesMut;
use rumqttc::mqttbytes::v4::Packet;
use std::cmp::Reverse;
use tokio::io::AsyncReadExt;
use tokio::time::{Duration, Instant, sleep_until};

/// Replies queued on one connection (delayed PUBACKs, DPS answers) before it is closed: a
/// client that far ahead of its acknowledgements has overrun any backlog.
const MAX_PENDING: usize = 4096;

/// A packet in the pending heap, ordered by nothing (the (due, seq) pair decides).
pub(super) struct PacketBox(Packet);
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

/// A model's delay as a wall-clock one.
pub(super) fn delay(after: SimDuration) -> Duration {
    Duration::from_micros(after.as_micros())
}

impl<S: Readable> Conn<S> {
    pub(super) fn later(&mut self, after: SimDuration, p: Packet) -> Result<(), End> {
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

    /// When the next pending reply is due, if there is one.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.pending.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Writes every pending reply due by `now`, in due order.
    pub(super) fn write_due(&mut self, now: Instant) {
        while let Some(Reverse((t, _, _))) = self.pending.peek() {
            if *t > now {
                break;
            }
            if let Some(Reverse((_, _, PacketBox(p)))) = self.pending.pop() {
                self.write(&p);
            }
        }
    }

    /// Sends every pending reply at its due time, handling nothing more; stops if the client
    /// goes away (its connection is not held for the rest of the shaping backlog).
    pub(super) async fn drain(&mut self) {
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
    pub(super) async fn wait_watching(&mut self, until: Instant) -> bool {
        loop {
            if self.buf.len() > super::MAX_PACKET {
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
}
