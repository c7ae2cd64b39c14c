//! DPS over HTTPS (reference §1f): the Device Registration Status Lookup,
//! `POST /{idScope}/registrations/{registrationId}?api-version=...`, served by hyper's HTTP/1.1
//! codec over the same TCP or TLS streams as the MQTT listeners. The request maps onto the
//! same DPS model call as everything else (`Request::StatusLookup`); the answer waits the
//! model's latency like an MQTT reply does.
//!
//! Every byte is hostile here too: the request head is bounded in size and in time (the
//! connect timeout), the body in size (64 KiB, 413 beyond) and, with everything else the
//! connection reads or writes, in time (the read timeout, while no request is being
//! answered). Nothing here unwraps network data; every reply is JSON.

use super::body::{assigned_state, error_body, to_json};
use super::state::Shared;
use super::stats::Stats;
use crate::protocol::{dps as pdps, sas};
use crate::service::{Answer, Request as ModelRequest};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Largest request head (request line plus headers); beyond it hyper answers 431 and closes.
/// A lookup's head is a few hundred bytes (the SAS token is the largest header).
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body; beyond it the answer is 413. A lookup's body is a DeviceRegistration
/// of a few dozen bytes (reference §1f); DPS's own message limit is 96 KB (§4c).
pub const MAX_BODY: usize = 64 * 1024;
/// Every reply is JSON (the C SDK's and Node's content type, reference §1f).
const JSON: &str = "application/json; charset=utf-8";

/// Serves one accepted connection (plain TCP, or TLS already accepted) to its end.
pub async fn serve<S>(io: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let busy = Arc::new(AtomicBool::new(false));
    let io = Timed::new(io, shared.cfg.read_timeout, busy.clone());
    let svc_shared = shared.clone();
    let svc = service_fn(move |req| {
        let (shared, busy) = (svc_shared.clone(), busy.clone());
        async move { Ok::<_, Infallible>(handle(req, &shared, &busy).await) }
    });
    // hyper's header read timeout runs from the moment it waits for a request head, including
    // between keep-alive requests (hyper 1.x): a connection that sends half a head is closed
    // after the connect timeout, and so is an idle keep-alive connection (quietly). `Timed`
    // adds the read timeout for everything else: a stalled body, a client that stops reading.
    let r = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.cfg.connect_timeout)
        .max_header_size(MAX_HEAD)
        .max_buf_size(2 * MAX_HEAD)
        .keep_alive(true)
        // A client that shuts its write side down after its request (or pipelined requests)
        // still gets every answer, as over MQTT.
        .half_close(true)
        .serve_connection(TokioIo::new(io), svc)
        .await;
    if let Err(e) = r {
        let st = &shared.stats;
        if e.is_timeout() || timed_out(&e) {
            Stats::inc(&st.idle_timeouts);
        } else if e.is_parse() || e.is_parse_too_large() {
            Stats::inc(&st.malformed);
        }
    }
}

/// Whether a connection error is `Timed`'s own timeout.
fn timed_out(e: &hyper::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if s.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        src = s.source();
    }
    false
}

/// A JSON reply.
fn reply(status: StatusCode, body: Vec<u8>, unix: u64) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    // reference §1f: DPS's replies carry a request id.
    if let Ok(v) = HeaderValue::from_str(&format!("{unix:016x}")) {
        h.insert("x-ms-request-id", v);
    }
    r
}

/// An error reply: ProvisioningServiceErrorDetails and, over HTTP, the `x-ms-error-code`
/// header (reference §1d). Its value is the numeric errorCode: INFERENCE, the reference does
/// not show one.
fn error(status: StatusCode, code: u32, message: &str, unix: u64) -> Response<Full<Bytes>> {
    let mut r = reply(status, error_body(code, message, unix), unix);
    r.headers_mut()
        .insert("x-ms-error-code", HeaderValue::from(code));
    r
}

/// One request. The status codes are DPS's (reference §1d "DPS status codes"); the extended
/// error codes are status × 1000 plus a suffix (§1d). Codes the reference does not name are
/// marked INFERENCE.
async fn handle(
    req: Request<Incoming>,
    shared: &Shared,
    busy: &AtomicBool,
) -> Response<Full<Bytes>> {
    let st = &shared.stats;
    let unix = shared.unix_micros();
    let Some((scope, id)) = pdps::parse_lookup_path(req.uri().path()) else {
        // The mock serves the status lookup only: register and operation status go over MQTT.
        // 404000: INFERENCE.
        return error(StatusCode::NOT_FOUND, 404000, "No such resource", unix);
    };
    if req.method() != Method::POST {
        // reference §1d lists 405; 405000: INFERENCE.
        let mut r = error(StatusCode::METHOD_NOT_ALLOWED, 405000, "Use POST", unix);
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    // reference §1d: 404 for a missing instance (the ID scope isolates tenants, §1a). 404000:
    // INFERENCE.
    if scope != shared.cfg.id_scope {
        // Counted as a refusal, as a wrong scope in an MQTT CONNECT is.
        Stats::inc(&st.auth_refused);
        return error(StatusCode::NOT_FOUND, 404000, "Unknown ID scope", unix);
    }
    // reference §1g.
    if !pdps::valid_registration_id(&id) {
        let m = "Invalid registrationId";
        return error(StatusCode::BAD_REQUEST, 400004, m, unix);
    }
    // The same SAS token as over MQTT: resource `{idScope}/registrations/{registrationId}`,
    // skn `registration` or none (reference §1b, §1f, §3).
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let resource = sas::dps_resource(&scope, &id);
    if shared.authenticate(token, &resource, &id).is_err() {
        Stats::inc(&st.auth_refused);
        return error(StatusCode::UNAUTHORIZED, 401002, "Unauthorized", unix);
    }
    Stats::inc(&st.lookups);
    if let Err(r) = check_body(req.into_body(), &id, unix).await {
        return r;
    }
    let now = shared.now();
    let resp = {
        let mut m = shared.lock();
        let device = m.device_index(&id, shared.cfg.max_devices);
        device.map(|d| m.dps.handle(d, ModelRequest::StatusLookup, now))
    };
    let Some(resp) = resp else {
        // The mock's bound on distinct registration ids (MQTT: CONNACK 3). 503000: INFERENCE.
        let m = "Too many devices";
        return error(StatusCode::SERVICE_UNAVAILABLE, 503000, m, unix);
    };
    // The model's latency, as for an MQTT reply. The connection is busy meanwhile: the read
    // timeout does not run.
    busy.store(true, Relaxed);
    tokio::time::sleep(Duration::from_micros(resp.after.as_micros())).await;
    busy.store(false, Relaxed);
    let unix = shared.unix_micros();
    match resp.answer {
        // A DeviceRegistrationResult: the bare registrationState (reference §1f).
        Answer::Registered { .. } => {
            let b = assigned_state(&id, &shared.cfg.hub_hostname, unix);
            reply(StatusCode::OK, to_json(&b), unix)
        }
        // INFERENCE: the reference does not say which errorCode DPS gives for "no
        // registration record"; 404201 is the mock's "not found" code over MQTT too.
        Answer::NotRegistered => error(
            StatusCode::NOT_FOUND,
            404201,
            "Registration not found",
            unix,
        ),
        // reference §1e, §1f: 429 with a Retry-After in whole seconds (≥ 1, retry_after_secs).
        Answer::Throttled { retry_after_s } => {
            Stats::inc(&st.lookups_throttled);
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                429001,
                "Operations are being throttled",
                unix,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            r
        }
        // The model answers a lookup with nothing else. 500000: INFERENCE.
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            500000,
            "Internal error",
            unix,
        ),
    }
}

/// The optional DeviceRegistration body (reference §1f): at most `MAX_BODY` bytes (413); if it
/// is JSON naming a registrationId, that must be the path's (400004, as for an MQTT register
/// body); `csr` is refused on a lookup (reference §1f). Anything else is not looked at.
async fn check_body(body: Incoming, id: &str, unix: u64) -> Result<(), Response<Full<Bytes>>> {
    // 413000: INFERENCE (reference §1d lists no 413).
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            413000,
            "Body too large",
            unix,
        )
    };
    // A declared length beyond the limit is refused before a byte of it is read.
    if body.size_hint().lower() > MAX_BODY as u64 {
        return Err(too_large());
    }
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        // The client went away or sent a broken chunked body.
        Err(_) => return Err(error(StatusCode::BAD_REQUEST, 400004, "Bad body", unix)),
    };
    let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(&bytes)
    else {
        return Ok(());
    };
    if o.get("registrationId")
        .is_some_and(|v| v.as_str() != Some(id))
    {
        let m = "registrationId in the body differs from the path's";
        return Err(error(StatusCode::BAD_REQUEST, 400004, m, unix));
    }
    if o.contains_key("csr") {
        let m = "csr is not accepted on a status lookup";
        return Err(error(StatusCode::BAD_REQUEST, 400004, m, unix));
    }
    Ok(())
}

/// A stream whose reads and writes fail with `TimedOut` once they have waited `limit` (a read
/// only while no request is being answered: `busy`). hyper has no such timeouts of its own
/// beyond the request head's.
struct Timed<S> {
    io: S,
    limit: Duration,
    busy: Arc<AtomicBool>,
    read: Option<Pin<Box<Sleep>>>,
    write: Option<Pin<Box<Sleep>>>,
}

impl<S> Timed<S> {
    fn new(io: S, limit: Duration, busy: Arc<AtomicBool>) -> Timed<S> {
        Timed {
            io,
            limit,
            busy,
            read: None,
            write: None,
        }
    }
}

/// Maps a pending I/O onto its timer: armed on the first `Pending`, an error when it fires,
/// disarmed by any progress.
fn watch<T>(
    r: Poll<io::Result<T>>,
    timer: &mut Option<Pin<Box<Sleep>>>,
    limit: Duration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if r.is_ready() {
        *timer = None;
        return r;
    }
    let t = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
    match t.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no progress within the read timeout",
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_read(cx, buf);
        if r.is_pending() && me.busy.load(Relaxed) {
            // hyper watches for EOF while a request is answered: no timeout then.
            me.read = None;
            return Poll::Pending;
        }
        watch(r, &mut me.read, me.limit, cx)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Timed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_write(cx, buf);
        watch(r, &mut me.write, me.limit, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_write_vectored(cx, bufs);
        watch(r, &mut me.write, me.limit, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_flush(cx);
        watch(r, &mut me.write, me.limit, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.io).poll_shutdown(cx);
        watch(r, &mut me.write, me.limit, cx)
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::dps::parse_lookup_path;

    /// The query string is hyper's `Uri::query`, not part of the path the mock parses.
    #[test]
    fn query_is_not_in_the_path() {
        let u: hyper::Uri = "/s/registrations/dev?api-version=2021-10-01"
            .parse()
            .unwrap();
        assert_eq!(
            parse_lookup_path(u.path()),
            Some(("s".to_string(), "dev".to_string()))
        );
    }
}
