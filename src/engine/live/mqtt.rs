//! A lean MQTT 3.1.1 client connection on rumqttc's codec (`mqttbytes::v4`): one request at a
//! time, driven by the device task that owns it. No event loop, no inflight tables, no QoS 2
//! state and, while idle on plain TCP, no buffers: a connected idle device costs its socket
//! and a few dozen bytes (the scale benchmark measures it against one rumqttc `AsyncClient`
//! per device).

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{Packet, PubAck};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Largest packet accepted from a server (DPS and hub answers are small; a C2D message is at
/// most 64 KB, reference §2c).
const MAX_PACKET: usize = 128 * 1024;

/// Plain TCP or TLS (boxed: a TLS session is kilobytes, a plain link stays small).
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One MQTT connection.
pub struct Link {
    io: Stream,
    buf: BytesMut,
    pkid: u16,
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed by the server",
    )
}

impl Link {
    pub fn new(io: Stream) -> Link {
        Link {
            io,
            buf: BytesMut::new(),
            pkid: 0,
        }
    }

    pub fn next_pkid(&mut self) -> u16 {
        self.pkid = self.pkid.wrapping_add(1).max(1);
        self.pkid
    }

    /// Encodes and writes one packet.
    pub async fn send(&mut self, p: &Packet) -> io::Result<()> {
        let mut out = BytesMut::with_capacity(p.size() + 8);
        p.write(&mut out, MAX_PACKET)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
        self.io.write_all(&out).await
    }

    /// The next packet from the server. Cancel-safe: bytes read stay in the buffer.
    pub async fn recv(&mut self) -> io::Result<Packet> {
        loop {
            if !self.buf.is_empty() {
                match Packet::read(&mut self.buf, MAX_PACKET) {
                    Ok(p) => {
                        if self.buf.is_empty() {
                            // Nothing partial: hold no buffer while idle.
                            self.buf = BytesMut::new();
                        }
                        return Ok(p);
                    }
                    Err(CodecError::InsufficientBytes(_)) => {}
                    Err(e) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("malformed packet from the server: {e:?}"),
                        ));
                    }
                }
            }
            if let Stream::Plain(s) = &self.io {
                // Allocate only once there is something to read.
                s.readable().await?;
            }
            if self.buf.capacity() - self.buf.len() < 64 {
                self.buf
                    .reserve(if self.buf.is_empty() { 256 } else { 4096 });
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(closed());
            }
        }
    }

    /// Receives until `want` picks a packet, acknowledging QoS 1 PUBLISHes on the way.
    pub async fn recv_until<T>(
        &mut self,
        mut want: impl FnMut(&Packet) -> Option<T>,
    ) -> io::Result<T> {
        loop {
            let p = self.recv().await?;
            if let Packet::Publish(pb) = &p
                && pb.qos == QoS::AtLeastOnce
            {
                self.send(&Packet::PubAck(PubAck::new(pb.pkid))).await?;
            }
            if let Some(t) = want(&p) {
                return Ok(t);
            }
        }
    }

    /// Closes politely (DISCONNECT, then FIN); errors are irrelevant by then.
    pub async fn close(mut self) {
        let _ = self.send(&Packet::Disconnect).await;
        let _ = self.io.shutdown().await;
    }
}
