//! `whydns serve`: the client-facing recursive DNS server on UDP and TCP (RFC 1035 §4.2,
//! RFC 7766), with access control, EDNS (RFC 6891) and Extended DNS Errors (RFC 8914).
//!
//! Flow of one query: [`respond::screen`] decides (drop, answer at once, or resolve); a slot
//! of the global bound `limits.concurrent_queries` is taken without waiting (none free:
//! SERVFAIL with EDE 0 at once, never an unbounded queue); the [`Resolver`] runs; the
//! [`Resolution`] becomes a reply shrunk to the transport. Failed resolutions are logged at
//! info with their trace id, so an operator can match a client's EDE text to the log.
//!
//! Shutdown: listeners close first, TCP connections stop reading, then in-flight answers get
//! up to [`DRAIN_TIMEOUT`] to be sent.
//!
//! Limitations: no DNS cookies (RFC 7873), no DoT/DoH, no rate limiting beyond the bounds on
//! in-flight queries and TCP connections.

mod control;
mod explain_dns;
mod metrics;
#[cfg(target_os = "linux")]
mod mmsg;
mod packet_cache;
pub mod respond;
mod tcp;
mod udp;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::explain::log::ExplanationLog;
use crate::explain::render::rcode_mnemonic;
use crate::resolver::{Outcome, Resolution, Resolver};
use respond::{Screened, Transport};

/// TCP connections open at once; more are closed as soon as they are accepted.
pub const MAX_TCP_CONNECTIONS: usize = 256;
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
    /// One permit per open TCP connection.
    connections: Arc<Semaphore>,
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
}

/// The outcome of admitting one message.
enum Admission {
    /// Send these bytes (or nothing) now.
    Immediate(Option<Vec<u8>>),
    /// Resolve, holding the permit until the answer is handed to the transport. Boxed: a
    /// parsed query is large and the other variant is not.
    Resolve(Box<respond::Request>, OwnedSemaphorePermit, Option<Vec<u8>>),
}

/// Binds every `config.listen` address and serves until `shutdown` completes.
pub async fn serve(
    config: Config,
    resolver: Resolver,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    Server::bind(&config, resolver).await?.run(shutdown).await
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
        let resolving_limit = u32::try_from(config.limits.concurrent_queries)
            .unwrap_or(u32::MAX)
            .min(Semaphore::MAX_PERMITS as u32);
        let control = match config.control {
            Some(address) => {
                let listener =
                    TcpListener::bind(address)
                        .await
                        .map_err(|source| ServeError::Bind {
                            address,
                            transport: "HTTP control",
                            source,
                        })?;
                let bound = listener.local_addr().unwrap_or(address);
                Some((listener, bound))
            }
            None => None,
        };
        let mut explanations =
            ExplanationLog::new(config.explain.max_entries, config.explain.max_bytes);
        if let Some(path) = &config.explain.file {
            explanations = explanations.append_to(path)?;
        }
        let (stop, stopping) = watch::channel(false);
        Ok(Server {
            listeners,
            addresses,
            control,
            stop,
            shared: Arc::new(Shared {
                resolver,
                allow: config.allow.clone(),
                resolving: Arc::new(Semaphore::new(resolving_limit as usize)),
                resolving_limit,
                connections: Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS)),
                stopping,
                packets: packet_cache::PacketCache::new(config.cache.packets),
                explanations: Arc::new(explanations),
                keep_all: config.explain.keep_all,
                metrics: metrics::Metrics::default(),
                control_allow: config.control_allow.clone(),
            }),
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
        shutdown.await;
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
                .acquire_many(MAX_TCP_CONNECTIONS as u32)
                .await;
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, drained).await.is_err() {
            tracing::warn!(
                "shutdown: gave up on answers still in flight after {:?}",
                DRAIN_TIMEOUT
            );
        }
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
            Screened::Explain(request, reply) => {
                let reply = explain_dns::answer(&request, &self.explanations, reply);
                Admission::Immediate(self.counted(reply.encode(transport)))
            }
            Screened::Resolve(request) => match self.resolving.clone().try_acquire_owned() {
                Ok(permit) => Admission::Resolve(Box::new(request), permit, key),
                Err(_) => {
                    tracing::warn!(
                        question = %format!("{} {}", request.name, request.rtype),
                        limit = self.resolving_limit,
                        "overloaded: query answered SERVFAIL without resolving"
                    );
                    let reply = respond::overloaded(&request, self.resolving_limit as usize);
                    Admission::Immediate(self.counted(reply.encode(transport)))
                }
            },
        }
    }

    /// Resolves an admitted question and encodes the answer for `transport`.
    async fn resolve(
        &self,
        request: &respond::Request,
        transport: Transport,
        key: Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let checking_disabled = request.query.metadata.checking_disabled;
        let resolution = self
            .resolver
            .resolve_with(&request.name, request.rtype, checking_disabled)
            .await;
        let ede = resolution.ede();
        // A repeat from the answer cache took no time and was explained when it was resolved.
        let elapsed_ms = if resolution.cached {
            0
        } else {
            resolution.trace.elapsed_ms()
        };
        self.metrics.resolved(
            &resolution,
            &ede.iter().map(|e| e.code).collect::<Vec<_>>(),
            elapsed_ms,
        );
        let plain =
            resolution.rcode() == hickory_proto::op::ResponseCode::NoError && ede.is_empty();
        let keep = (!plain || self.keep_all) && !resolution.cached;
        // The diagnosis costs a walk of the trace: only for what is kept or logged.
        if keep || (!resolution.cached && tracing::enabled!(tracing::Level::DEBUG)) {
            let diagnosis = resolution.diagnose();
            log_resolution(&resolution, &ede, &diagnosis);
            if keep {
                self.explanations.push(resolution.explanation_with(
                    Some(request.client),
                    self.resolver.now(),
                    ede.clone(),
                    diagnosis,
                ));
            }
        }
        let reply = self.counted(respond::answer(request, &resolution, &ede).encode(transport))?;
        if let Some(key) = key {
            self.packets.store(key, &reply, self.resolver.now());
        }
        Some(reply)
    }
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
    ede: &[crate::explain::Ede],
    diagnosis: &crate::explain::diagnosis::Diagnosis,
) {
    let question = format!("{} {}", resolution.name, resolution.rtype);
    let failed = matches!(resolution.outcome, Outcome::Failed { .. })
        || resolution.rcode() == hickory_proto::op::ResponseCode::ServFail;
    if failed {
        let codes: Vec<String> = ede.iter().map(|e| (e.code as u16).to_string()).collect();
        tracing::info!(
            trace = %resolution.trace.id,
            %question,
            rcode = %rcode_mnemonic(resolution.rcode()),
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
            rcode = %rcode_mnemonic(resolution.rcode()),
            answers = resolution.answers.len(),
            cause = %diagnosis.cause.token(),
            "resolved"
        );
    }
}
