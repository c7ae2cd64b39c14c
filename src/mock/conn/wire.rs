//! The bytes of one connection: the `Readable` streams it runs on, whole packets parsed out of
//! the read buffer (nothing longer than `MAX_PACKET`), and our own packets written and flushed
//! within the read timeout. Neither buffer is held while the connection is idle.

use super::{Conn, End};
use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{Packet, Publish};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

/// Largest packet accepted: IoT Hub's 256 KB D2C message plus topic and headers (reference
/// §2b; DPS allows 96 KB, §4c).
pub const MAX_PACKET: usize = 256 * 1024 + 4096;

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

impl<S: Readable> Conn<S> {
    /// One packet out of the buffer, if a whole one is there.
    pub(super) fn parse(&mut self) -> Result<Option<Packet>, End> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        match Packet::read(&mut self.buf, MAX_PACKET) {
            Ok(p) => Ok(Some(p)),
            Err(CodecError::InsufficientBytes(_)) => Ok(None),
            Err(_) => Err(End::Malformed),
        }
    }

    pub(super) async fn fill(&mut self) -> Result<(), End> {
        // No buffer until there is something to read; small reads keep it small after.
        self.io.wait_readable().await;
        self.buf.reserve(256);
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) | Err(_) => Err(End::Closed),
            Ok(_) => Ok(()),
        }
    }

    pub(super) fn write(&mut self, p: &Packet) {
        // Our own packets are well-formed and within MAX_PACKET; a failure drops the packet.
        let _ = p.write(&mut self.out, MAX_PACKET);
    }

    pub(super) async fn flush(&mut self) -> Result<(), End> {
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

    fn next_pkid(&mut self) -> u16 {
        self.pkid = self.pkid.wrapping_add(1).max(1);
        self.pkid
    }

    /// A PUBLISH of ours, with the next packet id when its QoS needs one.
    pub(super) fn publish(&mut self, qos: QoS, topic: String, body: Vec<u8>) -> Packet {
        let mut p = Publish::new(topic, qos, body);
        if qos != QoS::AtMostOnce {
            p.pkid = self.next_pkid();
        }
        Packet::Publish(p)
    }
}
