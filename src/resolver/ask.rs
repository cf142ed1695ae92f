//! Asking one zone's servers: order by smoothed RTT, bounded rounds with doubling timeouts,
//! TCP after TC (RFC 7766), plain DNS after FORMERR/NOTIMP to EDNS (RFC 6891 §7), and a
//! typed failure for every server that could not help.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};

use super::budget::Ctx;
use super::classify::{classify, Classified};
use super::iterate::{Recursor, EDNS_PAYLOAD};
use crate::explain::event::{Event, ResponseKind, ServerFailure, SkipReason};
use crate::explain::outcome::Failure;
use crate::transport::{Exchange, Request, TransportError};

/// What one zone's servers are asked, carried as one value through rounds and retries.
pub(super) struct Question<'a> {
    /// The zone whose servers are asked (lameness and events are per zone).
    pub zone: &'a Name,
    /// The name sent, possibly minimised.
    pub name: &'a Name,
    pub rtype: RecordType,
}

/// How one attempt at one server ended: the retry loop in `ask_one` only keeps state.
enum Attempt {
    /// Boxed: a reply is far larger than the other outcomes.
    Reply(Box<(Classified, Message)>),
    Failed(ServerFailure),
    OverTcp,
    WithoutEdns,
}

/// The transport settings of one attempt, which change between retries.
#[derive(Clone, Copy)]
struct Via {
    tcp: bool,
    edns: Option<u16>,
    timeout: Duration,
}

impl Recursor {
    /// Sends the question to the zone's servers in order of smoothed RTT, for a bounded
    /// number of rounds (the timeout doubling each round), until one gives a usable answer.
    /// When none does, the caller records `zone-unreachable` (it may first find more
    /// servers).
    pub(super) async fn ask_servers(
        &self,
        ctx: &mut Ctx,
        question: &Question<'_>,
        addresses: &[SocketAddr],
        failures: &mut Vec<(SocketAddr, ServerFailure)>,
    ) -> Result<(Classified, Message), Failure> {
        let now = self.clock.now();
        let mut order: Vec<SocketAddr> = addresses.to_vec();
        order.sort_by_key(|a| self.servers.srtt(a.ip()));
        for round in 0..ctx.limits.rounds {
            let timeout = Duration::from_millis(ctx.limits.query_timeout_ms << round);
            for &server in &order {
                if self.passed_over(ctx, question.zone, server, failures, now) {
                    continue;
                }
                match self.ask_one(ctx, question, server, timeout).await? {
                    Ok(reply) => return Ok(reply),
                    Err(failure) => {
                        ctx.record(Event::ServerFailed {
                            server,
                            zone: question.zone.clone(),
                            failure,
                        });
                        if failure.is_lame() {
                            self.servers
                                .mark_lame(server.ip(), question.zone, failure, now);
                        }
                        replace_failure(failures, server, failure);
                    }
                }
            }
            if all_definitive(failures, order.len()) {
                break;
            }
        }
        Err(exhausted(question.zone, failures))
    }

    /// Asking a server that failed for good or is known lame would only spend budget.
    fn passed_over(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        server: SocketAddr,
        failures: &mut Vec<(SocketAddr, ServerFailure)>,
        now: u64,
    ) -> bool {
        // A definitive failure (not a timeout) is not retried within one resolution.
        if failures
            .iter()
            .any(|(s, f)| *s == server && *f != ServerFailure::Timeout)
        {
            return true;
        }
        let Some(reason) = self.servers.lame_reason(server.ip(), zone, now) else {
            return false;
        };
        ctx.record(Event::ServerSkipped {
            server,
            zone: zone.clone(),
            reason: SkipReason::KnownLame { failure: reason },
        });
        replace_failure(failures, server, reason);
        true
    }

    /// One server, one question: UDP, then TCP on TC, then without EDNS on FORMERR/NOTIMP.
    /// The outer Err is a budget limit (stops the whole resolution); the inner one a
    /// failure of this server.
    async fn ask_one(
        &self,
        ctx: &mut Ctx,
        question: &Question<'_>,
        server: SocketAddr,
        timeout: Duration,
    ) -> Result<Result<(Classified, Message), ServerFailure>, Failure> {
        let mut via = Via {
            tcp: false,
            edns: (!self.servers.edns_broken(server.ip(), self.clock.now()))
                .then_some(EDNS_PAYLOAD),
            timeout,
        };
        for _attempt in 0..3 {
            ctx.spend_query()
                .map_err(|limit| Failure::LimitReached { limit })?;
            let this = Via {
                timeout: timeout.min(ctx.remaining().max(Duration::from_millis(1))),
                ..via
            };
            match self.attempt(ctx, question, server, this).await {
                Attempt::Reply(reply) => return Ok(Ok(*reply)),
                Attempt::Failed(failure) => return Ok(Err(failure)),
                Attempt::OverTcp => via.tcp = true,
                Attempt::WithoutEdns => via.edns = None,
            }
        }
        Ok(Err(ServerFailure::Malformed))
    }

    /// One exchange, judged for the retry loop, so `ask_one` keeps only the retry state.
    async fn attempt(
        &self,
        ctx: &mut Ctx,
        question: &Question<'_>,
        server: SocketAddr,
        via: Via,
    ) -> Attempt {
        let exchange = match self.send(ctx, question, server, via).await {
            Ok(exchange) => exchange,
            Err(error) => {
                let failure = self.transport_failure(ctx, server, error, (via.tcp, via.timeout));
                return Attempt::Failed(failure);
            }
        };
        for reason in &exchange.discarded {
            ctx.record(Event::SpoofDiscarded {
                server,
                reason: reason.clone(),
            });
        }
        self.servers
            .record_rtt(server.ip(), exchange.elapsed.as_millis() as u32);
        if exchange.response.metadata.truncation && !via.tcp {
            record_truncated(ctx, server, &exchange);
            ctx.record(Event::TcpFallback { server });
            return Attempt::OverTcp;
        }
        let response = exchange.response;
        let class = classify(question.name, question.rtype, question.zone, &response);
        record_response(
            ctx,
            (server, question.zone),
            (&response, exchange.size, exchange.elapsed),
            &class,
        );
        match class {
            Classified::FormErr(_) if via.edns.is_some() => {
                // RFC 6891 §7: a server that does not understand OPT; ask again without it.
                self.servers.set_edns_broken(server.ip(), self.clock.now());
                ctx.record(Event::EdnsFallback { server });
                Attempt::WithoutEdns
            }
            Classified::FormErr(failure) | Classified::Unusable(failure) => {
                Attempt::Failed(failure)
            }
            usable => Attempt::Reply(Box::new((usable, response))),
        }
    }

    /// Records the query before it leaves, so the trace shows it even when no reply comes.
    async fn send(
        &self,
        ctx: &mut Ctx,
        question: &Question<'_>,
        server: SocketAddr,
        via: Via,
    ) -> Result<Exchange, TransportError> {
        ctx.record(Event::QuerySent {
            server,
            zone: question.zone.clone(),
            name: question.name.clone(),
            rtype: question.rtype.into(),
            tcp: via.tcp,
            edns: via.edns,
        });
        let request = Request {
            name: question.name.clone(),
            rtype: question.rtype,
            edns: via.edns,
            dnssec_ok: self.config.validate,
            timeout: via.timeout,
            tcp: via.tcp,
            randomize_case: false,
        };
        self.exchange(ctx, server, request).await
    }

    /// The server failure a transport error stands for; a timeout is also recorded in the
    /// server's health, with the spoofed replies it discarded.
    fn transport_failure(
        &self,
        ctx: &mut Ctx,
        server: SocketAddr,
        error: TransportError,
        (tcp, timeout): (bool, Duration),
    ) -> ServerFailure {
        match error {
            TransportError::Timeout { discarded } => {
                for reason in discarded {
                    ctx.record(Event::SpoofDiscarded { server, reason });
                }
                self.servers
                    .record_timeout(server.ip(), timeout.as_millis() as u32);
                ServerFailure::Timeout
            }
            TransportError::TcpRefused if tcp => ServerFailure::TruncatedNoTcp,
            TransportError::Malformed | TransportError::CaseNotEchoed => ServerFailure::Malformed,
            TransportError::TcpRefused | TransportError::Unreachable | TransportError::Io(_) => {
                ServerFailure::Unreachable
            }
        }
    }
}

/// Records a response and its class, and an answer given without AA.
fn record_response(
    ctx: &mut Ctx,
    (server, zone): (SocketAddr, &Name),
    (response, size, elapsed): (&Message, usize, Duration),
    class: &Classified,
) {
    ctx.record(Event::ResponseReceived {
        server,
        rcode: response.metadata.response_code.into(),
        aa: response.metadata.authoritative,
        tc: response.metadata.truncation,
        size,
        kind: class.kind(),
        elapsed_ms: elapsed.as_millis() as u64,
    });
    if !response.metadata.authoritative
        && matches!(class, Classified::Answer { .. } | Classified::Alias { .. })
    {
        ctx.record(Event::AnsweredWithoutAa {
            server,
            zone: zone.clone(),
        });
    }
}

/// A server's latest failure replaces its earlier one, so each server is listed once.
fn replace_failure(
    failures: &mut Vec<(SocketAddr, ServerFailure)>,
    server: SocketAddr,
    failure: ServerFailure,
) {
    failures.retain(|(s, _)| *s != server);
    failures.push((server, failure));
}

/// Another round helps only a server that timed out: with none left, rounds stop early.
fn all_definitive(failures: &[(SocketAddr, ServerFailure)], servers: usize) -> bool {
    failures.iter().all(|(_, f)| *f != ServerFailure::Timeout) && failures.len() >= servers
}

/// The failure that ends asking a zone: no address at all differs from none that helped.
fn exhausted(zone: &Name, failures: &[(SocketAddr, ServerFailure)]) -> Failure {
    if failures.is_empty() {
        return Failure::NoServerAddress {
            zone: zone.to_string(),
            ns: Vec::new(),
        };
    }
    Failure::NoReachableAuthority {
        zone: zone.to_string(),
        servers: failures.to_vec(),
    }
}

/// A truncated UDP reply is recorded before the TCP retry, though it is never classified.
fn record_truncated(ctx: &mut Ctx, server: SocketAddr, exchange: &Exchange) {
    let response = &exchange.response;
    ctx.record(Event::ResponseReceived {
        server,
        rcode: response.metadata.response_code.into(),
        aa: response.metadata.authoritative,
        tc: true,
        size: exchange.size,
        kind: ResponseKind::Truncated,
        elapsed_ms: exchange.elapsed.as_millis() as u64,
    });
}
