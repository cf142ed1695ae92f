//! `whydns serve`: the client-facing recursive DNS server on UDP and TCP (RFC 1035 §4.2,
//! RFC 7766), with access control, EDNS (RFC 6891) and Extended DNS Errors (RFC 8914).
//!
//! Flow of one query: [`respond::screen`] decides (drop, answer at once, or resolve); a slot
//! of the global bound `limits.concurrent_queries` is taken without waiting (none free:
//! SERVFAIL with EDE 0 at once, never an unbounded queue); the [`Resolver`] runs in a task
//! holding the slot; the [`Resolution`] becomes a reply shrunk to the transport. Failed
//! resolutions are logged at info with their trace id, so an operator can match a client's
//! EDE text to the log; at most `rate_limit.log_lines_per_10s` such lines per 10 s, the rest
//! summarised ([`log_limit`]).
//!
//! Abuse: answers to clients outside `allow` are never larger than their query
//! ([`respond`]); error answers over UDP are rate-limited per client prefix ([`rrl`]); TCP
//! slots are only for allowed clients, bounded per client, with idle and slow-read
//! timeouts ([`tcp`]).
//!
//! Shutdown: listeners close first, TCP connections stop reading, then in-flight answers get
//! up to [`DRAIN_TIMEOUT`] to be sent.
//!
//! Limitations: no DNS cookies (RFC 7873), no DoT/DoH.

mod control;
mod explain_dns;
mod log_limit;
mod metrics;
#[cfg(target_os = "linux")]
mod mmsg;
mod packet_cache;
pub mod respond;
mod rrl;
mod tcp;
mod udp;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::config::{CacheConfig, Config};
use crate::explain::diagnosis::Diagnosis;
use crate::explain::log::{Explanation, ExplanationLog};
use crate::explain::outcome::{Finished, Outcome, Resolution};
use crate::explain::render::rcode_mnemonic;
use crate::resolver::Resolver;
use respond::{Screened, Transport};

/// How long shutdown waits for in-flight answers before giving up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address} ({transport}): {source}")]
    Bind {
        address: SocketAddr,
        transport: &'static str,
        source: std::io::Error,
    },
    #[error("no listen address configured")]
    NoListenAddress,
    #[error(transparent)]
    ExplainFile(#[from] crate::explain::log::FileError),
}

/// A server whose sockets are bound but which does not answer until [`Server::run`].
pub struct Server {
    listeners: Vec<(UdpSocket, TcpListener)>,
    addresses: Vec<SocketAddr>,
    /// The HTTP control API's listener, when configured.
    control: Option<(TcpListener, SocketAddr)>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

/// What every listener and connection task shares.
struct Shared {
    resolver: Resolver,
    allow: Vec<IpNet>,
    /// One permit per client query being resolved (`limits.concurrent_queries`).
    resolving: Arc<Semaphore>,
    resolving_limit: u32,
    /// One permit per open TCP connection of an allowed client (`tcp.connections`).
    connections: Arc<Semaphore>,
    /// Connections per client, and the TCP bounds.
    tcp: tcp::Bounds,
    /// Becomes true when shutdown starts; TCP connections stop reading.
    stopping: watch::Receiver<bool>,
    /// Finished UDP answers, for the fast path.
    packets: packet_cache::PacketCache,
    /// Resolutions worth explaining, looked up by the id in their EDE text.
    explanations: Arc<ExplanationLog>,
    keep_all: bool,
    metrics: metrics::Metrics,
    /// Who may use the HTTP control API.
    control_allow: Vec<IpNet>,
    /// Who may read `/metrics`.
    metrics_allow: Vec<IpNet>,
    /// The control API's own address and the extra names its Host header may carry.
    control_addr: Option<SocketAddr>,
    control_hosts: Vec<String>,
    /// Error answers over UDP per client prefix.
    rate_limit: rrl::RateLimiter,
    /// Failure log lines per 10 s.
    log_limit: log_limit::LogLimiter,
    /// (explanation id, client) for clients that got another client's explanation id in
    /// an answer repeated from the answer cache: they may read that explanation over DNS.
    recipients: Mutex<lru::LruCache<(String, IpAddr), ()>>,
}

/// Clients remembered as having received another client's explanation id.
const RECIPIENTS: usize = 16_384;

/// The outcome of admitting one message.
enum Admission {
    /// Send these bytes (or nothing) now.
    Immediate(Option<Vec<u8>>),
    /// Resolve, holding the permit until the answer is handed to the transport. Boxed: a
    /// parsed query is large and the other variant is not.
    Resolve(Box<respond::Request>, OwnedSemaphorePermit, Option<Vec<u8>>),
    /// Answer from the explanation log ([`Shared::explain`]), holding a permit too: the
    /// text of a long explanation costs more than a cache hit.
    Explain(
        Box<(respond::Request, respond::Reply)>,
        OwnedSemaphorePermit,
    ),
}

/// Binds every `config.listen` address and serves until `shutdown` completes.
pub async fn serve(
    config: Config,
    resolver: Resolver,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    Server::bind(&config, resolver).await?.run(shutdown).await
}

impl Shared {
    /// The state every listener shares, from the configuration.
    fn new(
        config: &Config,
        resolver: Resolver,
        explanations: ExplanationLog,
        stopping: watch::Receiver<bool>,
        control_addr: Option<SocketAddr>,
    ) -> Shared {
        let resolving_limit = u32::try_from(config.limits.concurrent_queries)
            .unwrap_or(u32::MAX)
            .min(Semaphore::MAX_PERMITS as u32);
        Shared {
            resolver,
            allow: config.allow.clone(),
            resolving: Arc::new(Semaphore::new(resolving_limit as usize)),
            resolving_limit,
            connections: Arc::new(Semaphore::new(config.tcp.connections)),
            tcp: tcp::Bounds::new(&config.tcp),
            stopping,
            packets: packet_cache::PacketCache::new(CacheConfig::bytes(config.cache.packets_mib)),
            explanations: Arc::new(explanations),
            keep_all: config.explain.keep_all,
            metrics: metrics::Metrics::default(),
            control_allow: config.control_allow.clone(),
            metrics_allow: config.metrics_allow.clone(),
            control_addr,
            control_hosts: config.control_hosts.clone(),
            rate_limit: rrl::RateLimiter::new(&config.rate_limit),
            log_limit: log_limit::LogLimiter::new(config.rate_limit.log_lines_per_10s),
            recipients: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(RECIPIENTS).expect("non-zero"),
            )),
        }
    }
}

/// The HTTP control API's listener and the address it got.
async fn bind_control(address: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            address,
            transport: "HTTP control",
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(address);
    Ok((listener, bound))
}

impl Server {
    /// Binds UDP and TCP on every `config.listen` address. A port of 0 picks a free port,
    /// the same one for UDP and TCP (so tests can learn it from [`Server::local_addrs`]).
    pub async fn bind(config: &Config, resolver: Resolver) -> Result<Server, ServeError> {
        if config.listen.is_empty() {
            return Err(ServeError::NoListenAddress);
        }
        let mut listeners = Vec::new();
        let mut addresses = Vec::new();
        for address in &config.listen {
            let (udp, tcp, bound) = bind_pair(*address).await?;
            listeners.push((udp, tcp));
            addresses.push(bound);
        }
        let control = match config.control {
            Some(address) => Some(bind_control(address).await?),
            None => None,
        };
        let mut explanations = ExplanationLog::new(
            config.explain.max_entries,
            CacheConfig::bytes(config.explain.max_mib),
        );
        if let Some(path) = &config.explain.file {
            explanations = explanations.append_to(path)?;
        }
        let (stop, stopping) = watch::channel(false);
        let control_addr = control.as_ref().map(|(_, bound)| *bound);
        let shared = Shared::new(config, resolver, explanations, stopping, control_addr);
        Ok(Server {
            listeners,
            addresses,
            control,
            stop,
            shared: Arc::new(shared),
        })
    }

    /// The explanation log this server fills.
    pub fn explanations(&self) -> Arc<ExplanationLog> {
        self.shared.explanations.clone()
    }

    /// The HTTP control API's bound address, when configured.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control.as_ref().map(|(_, a)| *a)
    }

    /// The bound addresses (UDP and TCP share each), in `config.listen` order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.addresses.clone()
    }

    /// Answers queries until `shutdown` completes, then drains in-flight answers (bounded by
    /// [`DRAIN_TIMEOUT`]) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let shared = self.shared;
        let mut listeners: Vec<JoinHandle<()>> = Vec::new();
        for ((udp, tcp), address) in self.listeners.into_iter().zip(&self.addresses) {
            tracing::info!(%address, "whydns serving on UDP and TCP");
            listeners.push(tokio::spawn(udp::serve(shared.clone(), udp)));
            listeners.push(tokio::spawn(tcp::serve(shared.clone(), tcp)));
        }
        if let Some((listener, address)) = self.control {
            tracing::info!(%address, "control API (HTTP) on http://{address}/");
            listeners.push(tokio::spawn(control::serve(shared.clone(), listener)));
        }
        // Summaries of failure log lines left out, within a second of their window ending.
        let summaries = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    shared.log_limit.flush();
                }
            })
        };
        shutdown.await;
        summaries.abort();
        tracing::info!("shutting down: no new queries; finishing those in flight");
        for listener in &listeners {
            listener.abort();
        }
        for listener in listeners {
            // Awaiting the aborted task drops its socket, so new clients are refused now.
            let _ = listener.await;
        }
        let _ = self.stop.send(true);
        let drained = async {
            let _queries = shared.resolving.acquire_many(shared.resolving_limit).await;
            let _connections = shared
                .connections
                .acquire_many(shared.tcp.connections)
                .await;
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, drained).await.is_err() {
            tracing::warn!(
                "shutdown: gave up on answers still in flight after {:?}",
                DRAIN_TIMEOUT
            );
        }
        shared.log_limit.flush();
        tracing::info!("stopped");
        Ok(())
    }
}

/// Binds UDP then TCP on the port UDP got. With port 0 the TCP port may be taken by
/// someone else between the two binds, so a few fresh ports are tried.
async fn bind_pair(
    address: SocketAddr,
) -> Result<(UdpSocket, TcpListener, SocketAddr), ServeError> {
    let attempts = if address.port() == 0 { 10 } else { 1 };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let bind_error = |transport, address, source| ServeError::Bind {
            address,
            transport,
            source,
        };
        let udp = udp::bind_shared(address).map_err(|e| bind_error("UDP", address, e))?;
        let bound = udp
            .local_addr()
            .map_err(|e| bind_error("UDP", address, e))?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp, bound)),
            Err(e) if attempt < attempts => {
                tracing::debug!(%bound, error = %e, "TCP port taken; trying another");
            }
            Err(e) => return Err(bind_error("TCP", bound, e)),
        }
    }
}

impl Shared {
    /// Screens one message and, for a question to resolve, takes a resolution slot without
    /// waiting: a full resolver answers SERVFAIL now rather than queueing without bound.
    fn admit(&self, packet: &[u8], client: IpAddr, transport: Transport) -> Admission {
        // UDP fast path: a plain question from an allowed client whose answer is cached whole.
        let key = match transport {
            Transport::Udp if self.allow.iter().any(|net| net.contains(&client)) => {
                packet_cache::query_key(packet)
            }
            _ => None,
        };
        if let Some(key) = &key {
            if let Some(reply) = self.packets.lookup(key, packet, self.resolver.now()) {
                self.metrics.packet_cache_hit(wire_rcode(&reply));
                return Admission::Immediate(Some(reply));
            }
        }
        match respond::screen(packet, client, &self.allow) {
            Screened::Drop => Admission::Immediate(None),
            Screened::Reply(reply) => Admission::Immediate(self.counted(reply.encode(transport))),
            Screened::Explain(request, reply) => match self.resolving.clone().try_acquire_owned() {
                Ok(permit) => Admission::Explain(Box::new((request, reply)), permit),
                Err(_) => self.overloaded(&request, transport),
            },
            Screened::Resolve(request) => match self.resolving.clone().try_acquire_owned() {
                Ok(permit) => Admission::Resolve(Box::new(request), permit, key),
                Err(_) => self.overloaded(&request, transport),
            },
        }
    }

    /// SERVFAIL + EDE 0 for a query turned away because every slot is taken.
    fn overloaded(&self, request: &respond::Request, transport: Transport) -> Admission {
        if self.log_limit.allow(log_limit::Kind::Overloaded) {
            tracing::warn!(
                question = %format!("{} {}", request.name, request.rtype),
                limit = self.resolving_limit,
                "overloaded: query answered SERVFAIL without resolving"
            );
        }
        let reply = respond::overloaded(request, self.resolving_limit as usize);
        Admission::Immediate(self.counted(reply.encode(transport)))
    }

    /// Answers an explanation query from the log, showing the asker only what it may see.
    fn explain(
        &self,
        request: &respond::Request,
        reply: respond::Reply,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let reply = explain_dns::answer(request, &self.explanations, reply, |explanation| {
            self.may_read(explanation, request.client)
        });
        self.counted(reply.encode(transport))
    }

    /// Whether `client` may read `explanation` over DNS: it asked the question explained,
    /// it received the explanation's id in an answer repeated from the cache, or it is in
    /// `control_allow`.
    fn may_read(&self, explanation: &Explanation, client: IpAddr) -> bool {
        let client = client.to_canonical();
        explanation.client.map(|c| c.to_canonical()) == Some(client)
            || respond::is_allowed(client, &self.control_allow)
            || self
                .recipients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&(explanation.id.clone(), client))
    }

    /// The UDP answer to send to `client`, after response rate limiting of error answers:
    /// the answer itself, its TC=1 slip, or nothing.
    fn rate_limited(&self, reply: Vec<u8>, client: IpAddr) -> Option<Vec<u8>> {
        if !rrl::is_error_answer(&reply) {
            return Some(reply);
        }
        match self.rate_limit.check(client, std::time::Instant::now()) {
            rrl::Verdict::Send => Some(reply),
            rrl::Verdict::Slip => {
                self.metrics.rate_limited(true);
                Some(rrl::slip(&reply))
            }
            rrl::Verdict::Drop => {
                self.metrics.rate_limited(false);
                None
            }
        }
    }

    /// Resolves an admitted question and encodes the answer for `transport`. A resolution
    /// worth keeping is in the explanation log before its answer leaves, since a client may
    /// look its id up the moment it has the answer; the rest (metrics, the log line) comes
    /// back with the answer, for [`Shared::record`] once it is on its way.
    async fn resolve(
        &self,
        request: &respond::Request,
        transport: Transport,
        key: Option<Vec<u8>>,
    ) -> (Option<Vec<u8>>, Recording) {
        let checking_disabled = request.query.metadata.checking_disabled;
        let resolution = self
            .resolver
            .resolve_with(&request.name, request.rtype, checking_disabled)
            .await;
        let finished = resolution.finish();
        let diagnosis = self.keep(&resolution, &finished, request.client);
        let reply =
            self.counted(respond::answer(request, &resolution, &finished).encode(transport));
        if let (Some(key), Some(reply)) = (key, &reply) {
            self.packets.store(key, reply, self.resolver.now());
        }
        let recording = Recording {
            resolution,
            finished,
            diagnosis,
        };
        (reply, recording)
    }

    /// What must hold before the answer is sent: a resolution that is not a plain success
    /// (or any, with `explain.keep_all`) is diagnosed and in the explanation log, and a
    /// client given another client's explanation id by the answer cache may read it.
    /// The diagnosis, if made.
    fn keep(
        &self,
        resolution: &Resolution,
        finished: &Finished,
        client: IpAddr,
    ) -> Option<Diagnosis> {
        let plain =
            finished.rcode == hickory_proto::op::ResponseCode::NoError && finished.ede.is_empty();
        if resolution.cached {
            if !finished.ede.is_empty() {
                // The EDE text carries the id of the resolution that filled the cache, maybe
                // another client's: this client may now read that explanation too.
                self.recipients
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put((resolution.trace.id.clone(), client.to_canonical()), ());
            }
            return None;
        }
        if plain && !self.keep_all {
            return None;
        }
        let diagnosis = resolution.diagnose();
        self.explanations.push(resolution.explanation_with(
            Some(client),
            self.resolver.now(),
            finished,
            diagnosis.clone(),
        ));
        Some(diagnosis)
    }

    /// Records a resolution once its answer has been sent: the metrics and the log line.
    fn record(&self, recording: Recording) {
        let Recording {
            resolution,
            finished,
            diagnosis,
        } = recording;
        // A repeat from the answer cache took no time and was explained when it was resolved.
        let elapsed_ms = if resolution.cached {
            0
        } else {
            resolution.trace.elapsed_ms()
        };
        let codes: Vec<_> = finished.ede.iter().map(|e| e.code).collect();
        self.metrics.resolved(&resolution, &codes, elapsed_ms);
        // The diagnosis costs a walk of the trace: only for what is kept or logged.
        let diagnosis = match diagnosis {
            Some(diagnosis) => diagnosis,
            None if !resolution.cached && tracing::enabled!(tracing::Level::DEBUG) => {
                resolution.diagnose()
            }
            None => return,
        };
        log_resolution(&resolution, &finished, &diagnosis, &self.log_limit);
    }
}

/// A resolution whose answer is built, waiting to be recorded after it is sent.
struct Recording {
    resolution: Resolution,
    finished: Finished,
    /// Made before the answer was sent, when the resolution was kept.
    diagnosis: Option<Diagnosis>,
}

impl Shared {
    /// Counts an answer about to be sent by its RCODE.
    fn counted(&self, reply: Option<Vec<u8>>) -> Option<Vec<u8>> {
        if let Some(bytes) = &reply {
            self.metrics.answered(wire_rcode(bytes));
        }
        reply
    }
}

/// The RCODE in a DNS message's header (low four bits of byte 3).
fn wire_rcode(message: &[u8]) -> u8 {
    message.get(3).map(|b| b & 0x0f).unwrap_or(0)
}

/// One info line per failed resolution, with its diagnosis: enough to act on, and the id to
/// find the whole story.
fn log_resolution(
    resolution: &Resolution,
    finished: &Finished,
    diagnosis: &crate::explain::diagnosis::Diagnosis,
    limit: &log_limit::LogLimiter,
) {
    let question = format!("{} {}", resolution.name, resolution.rtype);
    let failed = matches!(resolution.outcome, Outcome::Failed { .. })
        || finished.rcode == hickory_proto::op::ResponseCode::ServFail;
    if failed {
        if !limit.allow(log_limit::Kind::ResolutionFailed) {
            return;
        }
        let codes: Vec<String> = finished
            .ede
            .iter()
            .map(|e| (e.code as u16).to_string())
            .collect();
        tracing::info!(
            trace = %resolution.trace.id,
            %question,
            rcode = %rcode_mnemonic(finished.rcode),
            ede = %codes.join(","),
            cause = %diagnosis.cause.token(),
            diagnosis = %diagnosis.summary,
            remedy = %diagnosis.remedy,
            "resolution failed"
        );
    } else {
        tracing::debug!(
            trace = %resolution.trace.id,
            %question,
            rcode = %rcode_mnemonic(finished.rcode),
            answers = resolution.answers.len(),
            cause = %diagnosis.cause.token(),
            "resolved"
        );
    }
}
