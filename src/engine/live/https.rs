//! DPS over HTTPS: the Device Registration Status Lookup (reference §1f), the one request the
//! device state machine sends that DPS does not take over MQTT. One connection per lookup, as
//! the SDKs' HTTP transports do, through the same dialer (pacing, handshake slots, source
//! addresses) as every MQTT connection; HTTP/1.1 by hyper's client codec.

use super::Ctx;
use super::net::Target;
use crate::protocol::dps::{DeviceRegistration, RegistrationState, lookup_path};
use crate::protocol::sas;
use crate::service::{Answer, Refusal};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// Largest answer read: a registration state is well under a kilobyte.
const MAX_BODY: usize = 64 * 1024;

/// Asks DPS whether device `id` is registered: `Registered` (200 with an `assigned`
/// registration state), `NotRegistered` (404, or a state not assigned), `Throttled` (429 with
/// its `Retry-After`), `Refused` (401/403 unauthorized, anything else failed), or
/// `Refused(Network)` when the connection fails.
pub(super) async fn status_lookup(ctx: &Ctx, target: &Target, id: &str) -> Option<Answer> {
    let network = Some(Answer::Refused(Refusal::Network));
    let stream = {
        let _slot = ctx.dialer.slot().await;
        match ctx.dialer.connect(target).await {
            Ok(s) => s,
            Err(_) => {
                ctx.transport_failed();
                return network;
            }
        }
    };
    ctx.conn_opened();
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(x) => x,
        Err(_) => {
            ctx.conn_closed(true);
            ctx.transport_failed();
            return network;
        }
    };
    let resource = sas::dps_resource(&ctx.id_scope, id);
    let token = ctx.token(id, &resource, Some("registration"));
    let body = serde_json::to_vec(&DeviceRegistration {
        registration_id: id.to_string(),
        payload: None,
    })
    .expect("serialises");
    let req = Request::builder()
        .method(Method::POST)
        .uri(lookup_path(&ctx.id_scope, id))
        .header(hyper::header::HOST, &target.host)
        .header(hyper::header::AUTHORIZATION, token)
        .header(hyper::header::ACCEPT, "application/json")
        .header(
            hyper::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header(hyper::header::CONTENT_ENCODING, "utf-8")
        .header(hyper::header::CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request");
    let exchange = async {
        let res = sender.send_request(req).await.ok()?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = Limited::new(res.into_body(), MAX_BODY)
            .collect()
            .await
            .ok()?
            .to_bytes();
        drop(sender);
        Some((status, retry_after, body))
    };
    // The connection task runs beside the exchange and ends once the answer is read.
    let (answer, _) = tokio::join!(exchange, conn);
    let Some((status, retry_after, body)) = answer else {
        ctx.conn_closed(true);
        ctx.transport_failed();
        return network;
    };
    ctx.transport_ok(None);
    ctx.conn_closed(false);
    Some(answer_for(ctx, status, retry_after, &body))
}

/// The device's answer to an HTTP reply (reference §1d, §1e, §1f).
fn answer_for(ctx: &Ctx, status: StatusCode, retry_after: Option<u64>, body: &[u8]) -> Answer {
    match status.as_u16() {
        200 => match serde_json::from_slice::<RegistrationState>(body) {
            Ok(s) if s.status == "assigned" => match s.assigned_hub {
                Some(hub) => Answer::Registered {
                    hub: ctx.hubs.intern(&hub),
                },
                None => Answer::Refused(Refusal::Failed),
            },
            // A registration that is not (or no longer) assigned: register afresh.
            Ok(_) => Answer::NotRegistered,
            Err(_) => Answer::Refused(Refusal::Failed),
        },
        404 => Answer::NotRegistered,
        status => super::device::refusal(status, retry_after),
    }
}
