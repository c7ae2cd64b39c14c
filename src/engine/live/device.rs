//! One device's task: the sans-IO [`Device`] driven on the wall clock, its requests carried out
//! over real MQTT connections (DPS register/poll, hub connect, telemetry), its answers fed
//! back. The task holds at most one connection at a time, and no buffer while idle. The
//! fleet is one such task per device, spawned at the start ([`spawn_fleet`]).

use super::books::{Event, WorkerBooks};
use super::ctx::Ctx;
use super::mqtt::Link;
use super::{HubMode, LiveOptions};
use crate::device::setup::DeviceSetup;
use crate::device::{Device, Io};
use crate::mock::MockServer;
use crate::protocol::dps::{
    DeviceRegistration, DpsRequest, DpsResponseTopic, DpsUsername, OperationStatus, RESPONSE_FILTER,
};
use crate::protocol::hub::{HubRequest, HubUsername};
use crate::protocol::{sas, telemetry};
use crate::results::{Op, Outcome};
use crate::rng::{Stream as RngStream, device_rng};
use crate::scenario::DeviceClass;
use crate::service::{Answer, HubId, Refusal, Request};
use crate::time::{SimDuration, SimTime};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet, Publish, Subscribe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};

/// MQTT keep-alive the devices announce: the C SDK's default, 240 s (reference §2f).
const KEEP_ALIVE_S: u16 = 240;
/// SAS token lifetime: 60 minutes, as every SDK (reference §3).
pub(super) const TOKEN_TTL_S: u64 = 3600;

/// What the device asked for last.
pub(super) enum Action {
    None,
    Send(Request, SimTime),
    Wake(SimTime),
}

/// The device's outputs during one step, with its worker's books locked for the step's length.
struct StepIo<'a> {
    ctx: &'a Ctx,
    books: MutexGuard<'a, WorkerBooks>,
    action: Action,
}

impl Io for StepIo<'_> {
    fn send(&mut self, _device: u32, req: Request, now: SimTime, _deadline: SimTime) {
        self.action = Action::Send(req, now);
    }
    fn wake_at(&mut self, _device: u32, at: SimTime) {
        self.action = Action::Wake(at);
    }
    fn attempt(&mut self, op: Op, at: SimTime) {
        self.books.log(Event::Attempt(op, at));
    }
    fn complete(&mut self, op: Op, outcome: Outcome, at: SimTime, latency: SimDuration) {
        if outcome == Outcome::Throttled {
            self.ctx.counters.throttled.fetch_add(1, Relaxed);
        }
        self.books.log(Event::Complete(op, outcome, at, latency));
    }
    fn online(&mut self, at: SimTime, first: bool) {
        self.ctx.counters.online.fetch_add(1, Relaxed);
        self.books.log(Event::Online(at, first));
    }
    fn offline(&mut self, at: SimTime) {
        self.ctx.counters.online.fetch_sub(1, Relaxed);
        self.books.log(Event::Offline(at));
    }
    fn repeat(&mut self, op: Op, _at: SimTime) {
        self.books.log(Event::Repeat(op));
    }
    fn settled(&mut self, _device: u32, _at: SimTime, _online: bool) {
        let n = self.ctx.counters.settled.fetch_add(1, Relaxed) + 1;
        if n >= self.ctx.devices {
            self.ctx.all_settled.notify_one();
        }
    }
}

impl Ctx {
    /// Runs one step of the device's state machine. `scheduled`: the time the device meant to
    /// act, when this step is a boot or a timer (its lateness is the generator's lag).
    fn step(&self, scheduled: Option<SimTime>, f: impl FnOnce(&mut StepIo<'_>)) -> Action {
        let books = self.books.step();
        let mut io = StepIo {
            ctx: self,
            books,
            action: Action::None,
        };
        if let Some(at) = scheduled {
            let lag = self.now().since(at);
            io.books.record_lag(lag);
        }
        self.counters.steps.fetch_add(1, Relaxed);
        f(&mut io);
        io.action
    }
}

/// A device's connections and protocol state.
struct Dev {
    id: String,
    dps: Option<Link>,
    hub: Option<Link>,
    /// The DPS operation being polled.
    operation: Option<String>,
    rid: u32,
    /// Sequence number of the next telemetry message (resends keep theirs).
    seq: u64,
}

/// The fleet: one task per device of `o`'s shard, each asleep until its boot; with the
/// in-process `mock`, the devices registered before the run are registered there first.
/// `hub_known`: devices with a cached assignment have a hub (HubId 0) to go back to.
pub(super) fn spawn_fleet(
    ctx: &Arc<Ctx>,
    o: &LiveOptions,
    mock: Option<&MockServer>,
    hub_known: bool,
) -> JoinSet<()> {
    let sc = &ctx.sc;
    let mut tasks = JoinSet::new();
    let mut mock_models = mock.map(|m| m.models());
    for i in o.shard.iter(sc.fleet.devices) {
        let s = crate::device::setup::setup(sc, i);
        let cached = if s.cached && hub_known { Some(0) } else { None };
        if s.registered
            && let Some(m) = mock_models.as_mut()
        {
            m.preregister(&sc.fleet.id_pattern.id(i));
        }
        tasks.spawn(run(ctx.clone(), i, s, cached));
    }
    tasks
}

/// The device's whole life. Ends when the device has nothing more to do and no connection to
/// hold; the engine aborts it at the end of the run.
async fn run(ctx: Arc<Ctx>, index: u64, s: DeviceSetup, cached: Option<HubId>) {
    let sc = &ctx.sc;
    let c = &sc.fleet.classes[s.class];
    let rng = device_rng(sc.seed, index, RngStream::Behaviour);
    let mut d = Device::new(index as u32, s.class as u8, cached, rng);
    let mut me = Dev {
        id: sc.fleet.id_pattern.id(index),
        dps: None,
        hub: None,
        operation: None,
        rid: 0,
        seq: 0,
    };
    sleep_until(ctx.instant(s.boot)).await;
    let mut action = ctx.step(Some(s.boot), |io| {
        ctx.counters.booted.fetch_add(1, Relaxed);
        io.books.log(Event::Booted(s.boot));
        d.boot(c, s.boot, s.dead, io)
    });
    loop {
        action = match action {
            Action::None => {
                if me.hub.is_none() {
                    // Dead, gave up, or done without a connection: nothing left to do.
                    return;
                }
                me.hold(&ctx, None).await;
                let now = ctx.now();
                ctx.step(None, |io| d.connection_lost(c, now, io))
            }
            Action::Wake(at) => {
                if me.hold(&ctx, Some(at)).await {
                    ctx.step(Some(at), |io| d.timer(c, at, io))
                } else {
                    let now = ctx.now();
                    match ctx.step(None, |io| d.connection_lost(c, now, io)) {
                        // Not a connection the device counted on: keep the timer.
                        Action::None => Action::Wake(at),
                        a => a,
                    }
                }
            }
            Action::Send(req, at) => {
                let answer = me.perform(&ctx, c, req).await;
                let now = ctx.now().max(at);
                ctx.step(None, |io| d.answer(c, now, answer, io))
            }
        };
    }
}

fn network() -> Option<Answer> {
    Some(Answer::Refused(Refusal::Network))
}

impl Dev {
    /// Waits until `until` (or for ever), keeping the hub connection alive and watching it.
    /// False if the connection dropped first.
    async fn hold(&mut self, ctx: &Ctx, until: Option<SimTime>) -> bool {
        let end = until.map(|t| ctx.instant(t));
        let Some(link) = self.hub.as_mut() else {
            if let Some(end) = end {
                sleep_until(end).await;
            }
            return true;
        };
        let ping_every = Duration::from_secs(KEEP_ALIVE_S as u64);
        loop {
            let next_ping = Instant::now() + ping_every;
            let wake = end.map_or(next_ping, |e| e.min(next_ping));
            tokio::select! {
                r = link.recv() => match r {
                    Ok(Packet::Publish(p)) if p.qos == QoS::AtLeastOnce => {
                        if link.send(&Packet::PubAck(rumqttc::mqttbytes::v4::PubAck::new(p.pkid))).await.is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                },
                _ = sleep_until(wake) => {
                    if end.is_some_and(|e| Instant::now() >= e) {
                        return true;
                    }
                    if link.send(&Packet::PingReq).await.is_err() {
                        break;
                    }
                }
            }
        }
        self.hub = None;
        ctx.conn_closed(true);
        false
    }

    /// Carries out one request; None if it timed out (the device's own timeout, from when the
    /// request really went out).
    async fn perform(&mut self, ctx: &Ctx, c: &DeviceClass, req: Request) -> Option<Answer> {
        let t = &c.timeouts;
        let (limit, fut): (SimDuration, _) = match req {
            Request::Register => (
                t.dps_register,
                Box::pin(self.register(ctx))
                    as std::pin::Pin<Box<dyn Future<Output = Option<Answer>> + Send + '_>>,
            ),
            Request::Poll => (t.dps_poll, Box::pin(self.poll(ctx))),
            Request::Connect { hub } => (t.hub_connect, Box::pin(self.connect(ctx, hub))),
            Request::Telemetry { size, .. } => {
                (t.hub_telemetry, Box::pin(self.telemetry(ctx, size)))
            }
            // Over HTTPS: DPS has no status lookup over MQTT (reference §1f).
            Request::StatusLookup => (t.dps_status_lookup, Box::pin(self.lookup(ctx))),
        };
        let r = timeout(Duration::from_micros(limit.as_micros()), fut).await;
        match r {
            Ok(a) => a,
            Err(_) => {
                // The exchange's state is unknown: start DPS and hub connects afresh. A
                // telemetry timeout keeps its connection (the SDK resends on it).
                match req {
                    Request::Register | Request::Poll => self.drop_dps(ctx),
                    Request::Connect { .. } if self.hub.take().is_some() => ctx.conn_closed(false),
                    _ => {}
                }
                None
            }
        }
    }

    fn drop_dps(&mut self, ctx: &Ctx) {
        if self.dps.take().is_some() {
            ctx.conn_closed(false);
        }
    }

    /// MQTT CONNECT to `target`: Ok(link) on CONNACK 0, else the device's answer.
    async fn open(
        &self,
        ctx: &Ctx,
        target: &super::net::Target,
        connect: Connect,
    ) -> Result<Link, Option<Answer>> {
        let _slot = ctx.dialer.slot().await;
        let t0 = Instant::now();
        let stream = match ctx.dialer.connect(target).await {
            Ok(s) => s,
            Err(_) => {
                ctx.transport_failed();
                return Err(network());
            }
        };
        let mut link = Link::new(stream);
        ctx.conn_opened();
        let ack = async {
            link.send(&Packet::Connect(connect)).await?;
            link.recv_until(|p| match p {
                Packet::ConnAck(a) => Some(a.code),
                _ => None,
            })
            .await
        }
        .await;
        match ack {
            Ok(ConnectReturnCode::Success) => {
                ctx.transport_ok(Some(t0.elapsed()));
                Ok(link)
            }
            Ok(code) => {
                ctx.transport_ok(Some(t0.elapsed()));
                ctx.conn_closed(false);
                link.close().await;
                Err(Some(match code {
                    // Server unavailable: the hub's refusal of a throttled CONNECT (§2g).
                    ConnectReturnCode::ServiceUnavailable => Answer::Throttled { retry_after_s: 0 },
                    ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized => {
                        Answer::Refused(Refusal::Unauthorized)
                    }
                    _ => Answer::Refused(Refusal::Failed),
                }))
            }
            Err(_) => {
                ctx.transport_failed();
                ctx.conn_closed(true);
                Err(network())
            }
        }
    }

    /// The DPS connection, opened (CONNECT + SUBSCRIBE, reference §1b, §1c step 1) if needed.
    async fn dps_link(&mut self, ctx: &Ctx) -> Result<&mut Link, Option<Answer>> {
        if self.dps.is_none() {
            let target = ctx
                .dps
                .as_ref()
                .ok_or(Some(Answer::Refused(Refusal::Failed)))?;
            let mut conn = Connect::new(self.id.clone());
            conn.keep_alive = KEEP_ALIVE_S;
            conn.clean_session = true;
            let resource = sas::dps_resource(&ctx.id_scope, &self.id);
            let token = ctx.token(&self.id, &resource, Some("registration"));
            conn.set_login(DpsUsername::format(&ctx.id_scope, &self.id), token);
            let mut link = self.open(ctx, target, conn).await?;
            let pkid = link.next_pkid();
            let mut sub = Subscribe::new(RESPONSE_FILTER, QoS::AtLeastOnce);
            sub.pkid = pkid;
            let ok = async {
                link.send(&Packet::Subscribe(sub)).await?;
                link.recv_until(|p| matches!(p, Packet::SubAck(a) if a.pkid == pkid).then_some(()))
                    .await
            }
            .await;
            if ok.is_err() {
                ctx.conn_closed(true);
                return Err(network());
            }
            self.dps = Some(link);
        }
        Ok(self.dps.as_mut().expect("just opened"))
    }

    /// Publishes a DPS request and waits for the response with its `$rid`.
    async fn dps_exchange(
        &mut self,
        ctx: &Ctx,
        topic: impl Fn(&str) -> String,
        body: Vec<u8>,
    ) -> Result<(DpsResponseTopic, Vec<u8>), Option<Answer>> {
        self.rid = self.rid.wrapping_add(1);
        let rid = self.rid.to_string();
        let link = self.dps_link(ctx).await?;
        let mut p = Publish::new(topic(&rid), QoS::AtLeastOnce, body);
        p.pkid = link.next_pkid();
        let r = async {
            link.send(&Packet::Publish(p)).await?;
            link.recv_until(|p| match p {
                Packet::Publish(p) => DpsResponseTopic::parse(&p.topic)
                    .filter(|t| t.rid == rid)
                    .map(|t| (t, p.payload.to_vec())),
                _ => None,
            })
            .await
        }
        .await;
        match r {
            Ok(x) => Ok(x),
            Err(_) => {
                self.dps = None;
                ctx.conn_closed(true);
                Err(network())
            }
        }
    }

    /// Device Registration Status Lookup over HTTPS (reference §1f), on a connection of its
    /// own: the DPS MQTT connection, if any, is not the one it goes over.
    async fn lookup(&mut self, ctx: &Ctx) -> Option<Answer> {
        let Some(target) = ctx.dps_https.as_ref() else {
            return Some(Answer::Refused(Refusal::Failed));
        };
        super::https::status_lookup(ctx, target, &self.id).await
    }

    /// Register (reference §1c steps 2–3).
    async fn register(&mut self, ctx: &Ctx) -> Option<Answer> {
        let body = serde_json::to_vec(&DeviceRegistration {
            registration_id: self.id.clone(),
            payload: None,
        })
        .expect("serialises");
        let (t, body) = match self
            .dps_exchange(ctx, DpsRequest::register_topic, body)
            .await
        {
            Ok(x) => x,
            Err(a) => return a,
        };
        let status: Option<OperationStatus> = serde_json::from_slice(&body).ok();
        match t.status {
            200 | 202 => {
                let Some(s) = status else {
                    return Some(Answer::Refused(Refusal::Failed));
                };
                self.operation = Some(s.operation_id);
                Some(Answer::Accepted {
                    retry_after_s: retry_after(&t, if t.status == 200 { 0 } else { 3 }),
                })
            }
            status => Some(refusal(status, t.retry_after_s)),
        }
    }

    /// Poll the operation (reference §1c steps 4–5).
    async fn poll(&mut self, ctx: &Ctx) -> Option<Answer> {
        let Some(op) = self.operation.clone() else {
            return Some(Answer::Refused(Refusal::Failed));
        };
        let topic = |rid: &str| DpsRequest::poll_topic(rid, &op);
        let (t, body) = match self.dps_exchange(ctx, topic, b" ".to_vec()).await {
            Ok(x) => x,
            Err(a) => return a,
        };
        let status: Option<OperationStatus> = serde_json::from_slice(&body).ok();
        match (t.status, status) {
            (202, _) => Some(Answer::Assigning {
                retry_after_s: retry_after(&t, 3),
            }),
            (200, Some(s)) if s.status == "assigned" => {
                let host = s.registration_state.and_then(|r| r.assigned_hub);
                let Some(host) = host else {
                    return Some(Answer::Refused(Refusal::Failed));
                };
                self.operation = None;
                // Done with DPS: the device moves to its hub.
                if let Some(l) = self.dps.take() {
                    ctx.conn_closed(false);
                    l.close().await;
                }
                Some(Answer::Assigned {
                    hub: ctx.hubs.intern(&host),
                })
            }
            (200, _) => Some(Answer::Refused(Refusal::Failed)),
            (status, _) => Some(refusal(status, t.retry_after_s)),
        }
    }

    /// Hub CONNECT with a SAS token (reference §2a, §3), or a bare CONNECT to a plain broker.
    async fn connect(&mut self, ctx: &Ctx, hub: HubId) -> Option<Answer> {
        if let Some(l) = self.dps.take() {
            ctx.conn_closed(false);
            l.close().await;
        }
        if let Some(l) = self.hub.take() {
            ctx.conn_closed(false);
            l.close().await;
        }
        let target = match ctx.hubs.target(hub, ctx).await {
            Some(t) => t,
            None => {
                ctx.transport_failed();
                return network();
            }
        };
        let mut conn = Connect::new(self.id.clone());
        conn.keep_alive = KEEP_ALIVE_S;
        match ctx.mode {
            HubMode::Azure => {
                // The SDKs' default (reference §2a).
                conn.clean_session = false;
                let resource = sas::hub_resource(&target.host, &self.id, None);
                let token = ctx.token(&self.id, &resource, None);
                conn.set_login(HubUsername::format(&target.host, &self.id), token);
            }
            HubMode::PlainMqtt => conn.clean_session = true,
        }
        match self.open(ctx, &target, conn).await {
            Ok(link) => {
                self.hub = Some(link);
                Some(Answer::Connected)
            }
            Err(a) => a,
        }
    }

    /// One QoS 1 telemetry message (reference §2b), acknowledged by PUBACK.
    async fn telemetry(&mut self, ctx: &Ctx, size: u32) -> Option<Answer> {
        let Some(link) = self.hub.as_mut() else {
            return network();
        };
        let body = telemetry::payload(self.seq, ctx.unix_micros(), size as usize);
        let mut p = Publish::new(
            HubRequest::telemetry_topic(&self.id),
            QoS::AtLeastOnce,
            body,
        );
        let pkid = link.next_pkid();
        p.pkid = pkid;
        let r = async {
            link.send(&Packet::Publish(p)).await?;
            link.recv_until(|p| matches!(p, Packet::PubAck(a) if a.pkid == pkid).then_some(()))
                .await
        }
        .await;
        match r {
            Ok(()) => {
                self.seq += 1;
                ctx.counters.acked.fetch_add(1, Relaxed);
                Some(Answer::Acked)
            }
            // The hub closes the connection of a throttled or over-quota device (§2g); a live
            // engine cannot tell that from a network failure.
            Err(_) => {
                self.hub = None;
                ctx.conn_closed(true);
                network()
            }
        }
    }
}

fn retry_after(t: &DpsResponseTopic, default: u16) -> u16 {
    seconds(t.retry_after_s, default)
}

/// A `retry-after` in whole seconds, or `default` without one.
fn seconds(retry_after_s: Option<u64>, default: u16) -> u16 {
    retry_after_s.map_or(default, |s| s.min(u16::MAX as u64) as u16)
}

/// A DPS status other than 200/202 as the device's answer, over MQTT or HTTPS (reference §1d,
/// §1e).
pub(super) fn refusal(status: u16, retry_after_s: Option<u64>) -> Answer {
    match status {
        429 => Answer::Throttled {
            retry_after_s: seconds(retry_after_s, 0),
        },
        401 | 403 => Answer::Refused(Refusal::Unauthorized),
        _ => Answer::Refused(Refusal::Failed),
    }
}
