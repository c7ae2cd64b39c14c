//! Sockets for the live engine: names resolved once, source addresses spread with
//! `IP_BIND_ADDRESS_NO_PORT`, connects paced by a global rate limit and a bound on handshakes
//! in flight, TLS with the system roots or a given CA, and the process limits checked before a
//! run starts.

use super::mqtt::Stream;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, pki_types::ServerName};

/// Where a connection goes: the address (resolved once) and the name for TLS and usernames.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub addr: SocketAddr,
    /// TLS, with `host` as the server name.
    pub tls: bool,
}

/// Splits `HOST[:PORT]` (IPv6 literals in brackets); `default_port` when none is given.
pub fn split_host_port(s: &str, default_port: u16) -> Result<(String, u16), String> {
    let bad = || format!("'{s}': expected HOST or HOST:PORT");
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p.parse().map_err(|_| bad())?;
            if h.is_empty() {
                return Err(bad());
            }
            Ok((h.to_string(), port))
        }
        _ if s.is_empty() => Err(bad()),
        _ => Ok((s.to_string(), default_port)),
    }
}

/// Resolves `host:port` once (never per device: resolving per connection made a client
/// library spawn hundreds of threads). IPv4 first, so `localhost` meets a mock bound to
/// 127.0.0.1.
pub async fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address")))
}

/// Parses `--source-addrs`: `A-B` (an IPv4 range) or a comma-separated list.
pub fn parse_source_addrs(s: &str) -> Result<Vec<IpAddr>, String> {
    let bad = |x: &str| format!("--source-addrs: '{x}' is not an IP address");
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let a: Ipv4Addr = a.trim().parse().map_err(|_| bad(a))?;
            let b: Ipv4Addr = b.trim().parse().map_err(|_| bad(b))?;
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a || b - a > 65_535 {
                return Err(format!("--source-addrs: bad range '{part}'"));
            }
            out.extend((a..=b).map(|x| IpAddr::V4(Ipv4Addr::from(x))));
        } else {
            out.push(part.parse().map_err(|_| bad(part))?);
        }
    }
    if out.is_empty() {
        return Err("--source-addrs: no address given".into());
    }
    Ok(out)
}

/// The default spread for a loopback destination on Linux, where all of 127.0.0.0/8 is local:
/// 127.0.0.2–127.0.0.40 (39 × ~28k ephemeral ports).
pub fn default_loopback_sources(dest: &SocketAddr) -> Vec<IpAddr> {
    if cfg!(target_os = "linux") && dest.ip().is_loopback() && dest.is_ipv4() {
        (2..=40u8)
            .map(|x| IpAddr::V4(Ipv4Addr::new(127, 0, 0, x)))
            .collect()
    } else {
        Vec::new()
    }
}

/// Opens TCP connections: spread over source addresses, paced, bounded in flight.
pub struct Dialer {
    sources: Vec<IpAddr>,
    next_source: AtomicUsize,
    rate: Option<DefaultDirectRateLimiter>,
    handshakes: Semaphore,
    tls: Option<TlsConnector>,
}

/// A handshake slot: held from the TCP connect until CONNACK (or failure).
pub struct Slot<'a>(#[allow(dead_code)] SemaphorePermit<'a>);

impl Dialer {
    pub fn new(
        sources: Vec<IpAddr>,
        max_connect_rate: Option<u32>,
        max_handshakes: usize,
        tls: Option<Arc<ClientConfig>>,
    ) -> Dialer {
        let rate = max_connect_rate.and_then(NonZeroU32::new).map(|r| {
            // A burst of a tenth of a second's worth: pacing, not a stampede every second.
            let burst = NonZeroU32::new((r.get() / 10).max(1)).expect("at least 1");
            RateLimiter::direct(Quota::per_second(r).allow_burst(burst))
        });
        Dialer {
            sources,
            next_source: AtomicUsize::new(0),
            rate,
            handshakes: Semaphore::new(max_handshakes.max(1)),
            tls: tls.map(TlsConnector::from),
        }
    }

    /// Waits for the global pacing and a handshake slot. Time spent here is part of the
    /// operation's latency (it is measured from when the device meant to start).
    pub async fn slot(&self) -> Slot<'_> {
        if let Some(r) = &self.rate {
            r.until_ready().await;
        }
        Slot(
            self.handshakes
                .acquire()
                .await
                .expect("the semaphore is never closed"),
        )
    }

    /// TCP (and TLS) to `t`.
    pub async fn connect(&self, t: &Target) -> io::Result<Stream> {
        let sock = match t.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if !self.sources.is_empty() && t.addr.is_ipv4() {
            let i = self.next_source.fetch_add(1, Ordering::Relaxed) % self.sources.len();
            bind_no_port(&sock, self.sources[i])?;
        }
        let tcp: TcpStream = sock.connect(t.addr).await?;
        tcp.set_nodelay(true)?;
        match (&self.tls, t.tls) {
            (_, false) => Ok(Stream::Plain(tcp)),
            (None, true) => Err(io::Error::other(
                "TLS requested without a TLS configuration",
            )),
            (Some(c), true) => {
                let name = ServerName::try_from(t.host.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let s = c.connect(name, tcp).await?;
                Ok(Stream::Tls(Box::new(s)))
            }
        }
    }
}

/// Binds the socket to `ip` without choosing a port yet (`IP_BIND_ADDRESS_NO_PORT`): the
/// kernel then picks the port at connect time per (source, destination) pair, which is what
/// lets one process pass the ~28k-ports-per-address wall, and keeps the port search cheap.
fn bind_no_port(sock: &TcpSocket, ip: IpAddr) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: a valid socket descriptor, a pointer to a c_int that outlives the call and
        // its exact size; setsockopt does not retain the pointer.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    sock.bind(SocketAddr::new(ip, 0))
}

/// TLS for the devices: the system's CA roots, or only the CA in `ca` (a mock's self-signed
/// CA, a staging PKI).
pub fn tls_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("--ca {}: {e}", path.display()))?;
            let mut n = 0;
            for cert in rustls_pemfile_certs(&pem) {
                roots
                    .add(cert)
                    .map_err(|e| format!("--ca {}: {e}", path.display()))?;
                n += 1;
            }
            if n == 0 {
                return Err(format!(
                    "--ca {}: no PEM certificate in the file",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("TLS: no CA certificates found on this system (give --ca FILE)".into());
            }
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificates in a PEM file.
fn rustls_pemfile_certs(
    pem: &[u8],
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

pub use crate::sys::{raise_fd_limit, time_wait_sockets};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("127.0.0.1:1883", 8883),
            Ok(("127.0.0.1".into(), 1883))
        );
        assert_eq!(
            split_host_port("x.azure-devices.net", 8883),
            Ok(("x.azure-devices.net".into(), 8883))
        );
        assert_eq!(split_host_port("[::1]:99", 1), Ok(("::1".into(), 99)));
        assert_eq!(split_host_port("::1", 7), Ok(("::1".into(), 7)));
        assert!(split_host_port("h:port", 1).is_err());
        assert!(split_host_port("", 1).is_err());
        assert!(split_host_port(":5", 1).is_err());
    }

    #[test]
    fn source_address_ranges() {
        let v = parse_source_addrs("127.0.0.2-127.0.0.40").unwrap();
        assert_eq!(v.len(), 39);
        assert_eq!(v[0], "127.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(parse_source_addrs("10.0.0.1, 10.0.0.3").unwrap().len(), 2);
        assert!(parse_source_addrs("127.0.0.9-127.0.0.2").is_err());
        assert!(parse_source_addrs("nope").is_err());
        assert!(parse_source_addrs("").is_err());
    }

    #[tokio::test]
    async fn spread_sources_connect_on_loopback() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let t = Target {
            host: "localhost".into(),
            addr: l.local_addr().unwrap(),
            tls: false,
        };
        let d = Dialer::new(default_loopback_sources(&t.addr), Some(1000), 4, None);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 {
            let _slot = d.slot().await;
            let _c = d.connect(&t).await.unwrap();
            let (_s, peer) = l.accept().await.unwrap();
            seen.insert(peer.ip());
        }
        if cfg!(target_os = "linux") {
            assert_eq!(seen.len(), 3, "{seen:?}");
            assert!(!seen.contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
        }
    }
}
