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
use crate::explain::event::{Event, ServerFailure, SkipReason};
use crate::explain::outcome::Failure;
use crate::transport::{Request, TransportError};

impl Recursor {
    /// Sends the question to the zone's servers in order of smoothed RTT, for a bounded
    /// number of rounds (the timeout doubling each round), until one gives a usable answer.
    /// When none does, the caller records `zone-unreachable` (it may first find more
    /// servers).
    pub(super) async fn ask_servers(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        addresses: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        failures: &mut Vec<(SocketAddr, ServerFailure)>,
    ) -> Result<(Classified, Message), Failure> {
        let now = self.clock.now();
        let mut order: Vec<SocketAddr> = addresses.to_vec();
        order.sort_by_key(|a| self.servers.srtt(a.ip()));
        for round in 0..ctx.limits.rounds {
            let timeout = Duration::from_millis(ctx.limits.query_timeout_ms << round);
            for &server in &order {
                // A definitive failure (not a timeout) is not retried within one resolution.
                if failures
                    .iter()
                    .any(|(s, f)| *s == server && *f != ServerFailure::Timeout)
                {
                    continue;
                }
                if let Some(reason) = self.servers.lame_reason(server.ip(), zone, now) {
                    ctx.record(Event::ServerSkipped {
                        server,
                        zone: zone.clone(),
                        reason: SkipReason::KnownLame { failure: reason },
                    });
                    failures.retain(|(s, _)| *s != server);
                    failures.push((server, reason));
                    continue;
                }
                match self
                    .ask_one(ctx, zone, server, name, rtype, timeout)
                    .await?
                {
                    Ok(reply) => return Ok(reply),
                    Err(failure) => {
                        ctx.record(Event::ServerFailed {
                            server,
                            zone: zone.clone(),
                            failure,
                        });
                        if failure.is_lame() {
                            self.servers.mark_lame(server.ip(), zone, failure, now);
                        }
                        failures.retain(|(s, _)| *s != server);
                        failures.push((server, failure));
                    }
                }
            }
            if failures.iter().all(|(_, f)| *f != ServerFailure::Timeout)
                && failures.len() >= order.len()
            {
                break;
            }
        }
        if failures.is_empty() {
            return Err(Failure::NoServerAddress {
                zone: zone.to_string(),
                ns: Vec::new(),
            });
        }
        Err(Failure::NoReachableAuthority {
            zone: zone.to_string(),
            servers: failures.clone(),
        })
    }

    /// One server, one question: UDP, then TCP on TC, then without EDNS on FORMERR/NOTIMP.
    /// The outer Err is a budget limit (stops the whole resolution); the inner one a
    /// failure of this server.
    async fn ask_one(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
    ) -> Result<Result<(Classified, Message), ServerFailure>, Failure> {
        let mut edns =
            (!self.servers.edns_broken(server.ip(), self.clock.now())).then_some(EDNS_PAYLOAD);
        let mut tcp = false;
        for _attempt in 0..3 {
            ctx.spend_query()
                .map_err(|limit| Failure::LimitReached { limit })?;
            let timeout = timeout.min(ctx.remaining().max(Duration::from_millis(1)));
            ctx.record(Event::QuerySent {
                server,
                zone: zone.clone(),
                name: name.clone(),
                rtype: rtype.into(),
                tcp,
                edns,
            });
            let request = Request {
                name: name.clone(),
                rtype,
                edns,
                dnssec_ok: self.config.validate,
                timeout,
                tcp,
                randomize_case: false,
            };
            let exchange = match self.exchange(ctx, server, request).await {
                Ok(exchange) => exchange,
                Err(error) => {
                    return Ok(Err(self.transport_failure(
                        ctx,
                        server,
                        error,
                        (tcp, timeout),
                    )))
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
            let response = exchange.response;
            if response.metadata.truncation && !tcp {
                ctx.record(Event::ResponseReceived {
                    server,
                    rcode: response.metadata.response_code.into(),
                    aa: response.metadata.authoritative,
                    tc: true,
                    size: exchange.size,
                    kind: crate::explain::event::ResponseKind::Truncated,
                    elapsed_ms: exchange.elapsed.as_millis() as u64,
                });
                ctx.record(Event::TcpFallback { server });
                tcp = true;
                continue;
            }
            let class = classify(name, rtype, zone, &response);
            record_response(
                ctx,
                (server, zone),
                (&response, exchange.size, exchange.elapsed),
                &class,
            );
            match class {
                Classified::FormErr(_) if edns.is_some() => {
                    // RFC 6891 §7: a server that does not understand OPT; ask again without it.
                    self.servers.set_edns_broken(server.ip(), self.clock.now());
                    ctx.record(Event::EdnsFallback { server });
                    edns = None;
                }
                Classified::FormErr(failure) | Classified::Unusable(failure) => {
                    return Ok(Err(failure))
                }
                usable => return Ok(Ok((usable, response))),
            }
        }
        Ok(Err(ServerFailure::Malformed))
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
