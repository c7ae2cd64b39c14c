//! Listeners and the accept loop. One task per connection; the accept loop never dies: an
//! accept error (e.g. the open-file limit) is counted and slows it down for a moment. The
//! MQTT listeners and the optional DPS HTTPS listener share the loop, the TLS configuration
//! and the stop signal.

use super::conn::{self, Role};
use super::https;
use super::state::{MockConfig, Shared};
use super::stats::{Snapshot, Stats};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Where to listen.
#[derive(Clone, Copy, Debug)]
pub enum Listen {
    /// DPS and Hub on one listener; a connection is one or the other by its username.
    Shared(SocketAddr),
    Split {
        dps: SocketAddr,
        hub: SocketAddr,
    },
}

/// What a listener's connections speak.
#[derive(Clone, Copy, Debug)]
enum Serve {
    /// MQTT 3.1.1, for DPS, the hub or both (`conn`).
    Mqtt(Role),
    /// HTTP/1.1, DPS's Device Registration Status Lookup (`https`, reference §1f).
    Https,
}

/// A running mock. Dropping it does not stop it; call [`MockServer::shutdown`].
pub struct MockServer {
    pub dps_addr: SocketAddr,
    pub hub_addr: SocketAddr,
    /// The DPS HTTPS listener (reference §1f), once [`MockServer::serve_https`] started it.
    pub dps_https_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds with the deepest accept backlog the system allows: Linux clamps the value to
/// `net.core.somaxconn`, so a connect burst is never dropped at the SYN queue (a shallow
/// backlog makes every client wait the 1 s SYN retransmit timer).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(crate::sys::somaxconn())
}

impl MockServer {
    /// Binds the listeners and starts serving on the current tokio runtime.
    pub async fn start(
        cfg: MockConfig,
        listen: Listen,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    ) -> io::Result<MockServer> {
        crate::sys::raise_fd_limit();
        let shared = Shared::new(cfg);
        let (stop, stop_rx) = watch::channel(false);
        let tls = tls.map(TlsAcceptor::from);
        let mut tasks = Vec::new();
        let (dps_addr, hub_addr) = match listen {
            Listen::Shared(a) => {
                let l = bind(a)?;
                let a = l.local_addr()?;
                tasks.push(spawn_accept(
                    l,
                    Serve::Mqtt(Role::Both),
                    &shared,
                    &tls,
                    &stop_rx,
                ));
                (a, a)
            }
            Listen::Split { dps, hub } => {
                let (ld, lh) = (bind(dps)?, bind(hub)?);
                let (a, b) = (ld.local_addr()?, lh.local_addr()?);
                tasks.push(spawn_accept(
                    ld,
                    Serve::Mqtt(Role::Dps),
                    &shared,
                    &tls,
                    &stop_rx,
                ));
                tasks.push(spawn_accept(
                    lh,
                    Serve::Mqtt(Role::Hub),
                    &shared,
                    &tls,
                    &stop_rx,
                ));
                (a, b)
            }
        };
        Ok(MockServer {
            dps_addr,
            hub_addr,
            dps_https_addr: None,
            shared,
            tls,
            stop,
            tasks,
        })
    }

    /// Also serves DPS's Device Registration Status Lookup over HTTP/1.1 (reference §1f) on
    /// `addr`, with the MQTT listeners' TLS configuration (plain HTTP without one). Returns the
    /// bound address, also kept in `dps_https_addr`.
    pub async fn serve_https(&mut self, addr: SocketAddr) -> io::Result<SocketAddr> {
        let l = bind(addr)?;
        let a = l.local_addr()?;
        let stop = self.stop.subscribe();
        let t = spawn_accept(l, Serve::Https, &self.shared, &self.tls, &stop);
        self.tasks.push(t);
        self.dps_https_addr = Some(a);
        Ok(a)
    }

    /// The service models, locked (to preregister devices before a run).
    pub fn models(&self) -> std::sync::MutexGuard<'_, super::state::Models> {
        self.shared.lock()
    }

    pub fn stats(&self) -> Snapshot {
        self.shared.stats.snapshot()
    }

    /// Hub sessions held now (one per connected device id).
    pub fn hub_sessions(&self) -> usize {
        self.shared.lock().sessions.len()
    }

    /// Stops accepting. Open connections end with the runtime.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

fn spawn_accept(
    l: TcpListener,
    what: Serve,
    shared: &Arc<Shared>,
    tls: &Option<TlsAcceptor>,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (shared, tls, mut stop) = (shared.clone(), tls.clone(), stop.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = l.accept() => match r {
                    Ok((sock, _)) => {
                        let _ = sock.set_nodelay(true);
                        Stats::inc(&shared.stats.accepted);
                        tokio::spawn(run_one(sock, shared.clone(), tls.clone(), what));
                    }
                    Err(e) => {
                        Stats::inc(&shared.stats.accept_errors);
                        // Out of descriptors (EMFILE/ENFILE) or memory: back off so the loop
                        // does not spin; anything else is the one connection's problem.
                        let pause = match e.raw_os_error() {
                            Some(23) | Some(24) | Some(12) | Some(105) => 50,
                            _ => 1,
                        };
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    })
}

async fn run_one(
    sock: tokio::net::TcpStream,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    what: Serve,
) {
    Stats::inc(&shared.stats.open);
    match (tls, what) {
        (None, Serve::Mqtt(role)) => conn::serve(sock, shared.clone(), role).await,
        // hyper's connection state is kilobytes: boxed, like TLS's below.
        (None, Serve::Https) => Box::pin(https::serve(sock, shared.clone())).await,
        // A TLS session's state is kilobytes: boxed, so that a plain TCP connection's task
        // is not sized for it (the ≤ 4 KiB per idle connection budget).
        (Some(acc), what) => Box::pin(run_tls(sock, &shared, acc, what)).await,
    }
    Stats::dec(&shared.stats.open);
}

async fn run_tls(sock: tokio::net::TcpStream, shared: &Arc<Shared>, acc: TlsAcceptor, what: Serve) {
    let t = shared.cfg.connect_timeout;
    match tokio::time::timeout(t, acc.accept(sock)).await {
        Ok(Ok(s)) => match what {
            Serve::Mqtt(role) => conn::serve(s, shared.clone(), role).await,
            Serve::Https => https::serve(s, shared.clone()).await,
        },
        _ => Stats::inc(&shared.stats.tls_failed),
    }
}

#[cfg(test)]
mod size {
    /// Every connection's task is sized by `run_one`'s future, TLS or not.
    #[tokio::test]
    async fn connection_task_is_small() {
        let shared = super::Shared::new(super::MockConfig::new(
            crate::scenario::load_str("[scenario]\nname=\"x\"\n[fleet]\ndevices=1\n", "t", &[])
                .unwrap(),
        ));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = tokio::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        let f = super::run_one(c, shared, None, super::Serve::Mqtt(super::Role::Both));
        let n = std::mem::size_of_val(&f);
        assert!(n < 1152, "{n} bytes");
    }
}
