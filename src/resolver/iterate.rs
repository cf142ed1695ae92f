//! The loop: closest known cut -> pick a server -> send -> classify -> act. Referrals move the
//! cut down; answers, denials and aliases end a lookup; failures move on to the next server.
//!
//! RFC 1034 §5.3.3 (the algorithm), RFC 8109 (priming), RFC 9156 (QNAME minimisation,
//! relaxed: an NXDOMAIN for a minimised name is re-asked with the full name), RFC 6891 §7
//! (retry without EDNS after FORMERR/NOTIMP), RFC 7766 (TCP after TC).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::budget::Ctx;
use super::cache::{Cache, NegativeKind};
use super::classify::Classified;
use super::delegation::{Delegation, NsServer, RootHint};
use super::servers::ServerHealth;
use super::{Failure, Outcome, Resolution};
use crate::clock::Clock;
use crate::config::Config;
use crate::explain::event::{Event, Limit};
use crate::explain::Trace;
use crate::transport;

/// EDNS payload advertised upstream (DNS flag day 2020).
pub(super) const EDNS_PAYLOAD: u16 = 1232;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one name lookup (no alias following) ended with.
enum Lookup {
    Answer {
        chain: Vec<Record>,
        rrset: Vec<Record>,
    },
    Alias {
        chain: Vec<Record>,
        target: Name,
    },
    NoData {
        chain: Vec<Record>,
        soa: Option<Record>,
    },
    NxDomain {
        chain: Vec<Record>,
        soa: Option<Record>,
    },
    Failed(Failure),
}

/// What asking one zone's servers ended with.
enum ZoneStep {
    Done(Box<Lookup>),
    Referral(Delegation),
}

pub(super) struct Iterator {
    pub(super) config: Config,
    pub(super) hints: Vec<RootHint>,
    pub(super) cache: Cache,
    pub(super) servers: ServerHealth,
    pub(super) clock: Arc<dyn Clock>,
}

fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// A short id naming one resolution in EXTRA-TEXT and logs. Not a secret (unlike query IDs,
/// which come from the CSPRNG in `transport`), so a per-thread xorshift seeded once from the
/// OS is enough, and keeps a system call off every cache hit.
fn trace_id() -> String {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new(
            (u64::from(transport::random_id()) << 32 | u64::from(transport::random_id()) << 16 | 1)
                | 1,
        );
    }
    let value = STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x
    });
    format!("{:06x}", value & 0xff_ffff)
}

impl Iterator {
    pub fn new(config: Config, hints: Vec<RootHint>, clock: Arc<dyn Clock>) -> Iterator {
        Iterator {
            cache: Cache::new(&config),
            servers: ServerHealth::new(config.cache.servers),
            config,
            hints,
            clock,
        }
    }

    pub fn cache_stats(&self) -> (u64, u64) {
        (
            self.cache.hits.load(Ordering::Relaxed),
            self.cache.misses.load(Ordering::Relaxed),
        )
    }

    pub async fn resolve(&self, name: &Name, rtype: RecordType) -> Resolution {
        let name = name.to_lowercase();
        let trace = Trace::new(trace_id(), self.config.limits.trace_events);
        let mut ctx = Ctx::new(trace, self.config.limits.clone());
        ctx.record(Event::ResolutionStarted {
            name: name.to_string(),
            rtype: rtype.to_string(),
        });
        let (outcome, answers, authority) = self.resolve_chain(&mut ctx, name.clone(), rtype).await;
        let rcode = match &outcome {
            Outcome::Answer | Outcome::NoData => "NOERROR",
            Outcome::NxDomain => "NXDOMAIN",
            Outcome::Failed { .. } => "SERVFAIL",
        };
        let elapsed_ms = ctx.trace.elapsed_ms();
        ctx.record(Event::ResolutionFinished {
            rcode: rcode.into(),
            answers: answers.len(),
            elapsed_ms,
        });
        Resolution {
            name: name.to_string(),
            rtype: rtype.to_string(),
            outcome,
            answers,
            authority,
            trace: ctx.trace,
        }
    }

    /// Resolves `name`, following CNAME/DNAME chains (RFC 1034 §3.6.2) with loop detection.
    fn resolve_chain<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        name: Name,
        rtype: RecordType,
    ) -> BoxFuture<'a, (Outcome, Vec<Record>, Vec<Record>)> {
        Box::pin(async move {
            let mut answers: Vec<Record> = Vec::new();
            let mut current = name;
            let mut seen = vec![current.clone()];
            for _ in 0..=ctx.limits.cname_chain {
                let lookup = self.lookup(ctx, &current, rtype).await;
                record_chain(ctx, &lookup);
                match lookup {
                    Lookup::Answer { chain, rrset } => {
                        answers.extend(chain);
                        answers.extend(rrset);
                        return (Outcome::Answer, answers, Vec::new());
                    }
                    Lookup::NoData { chain, soa } => {
                        answers.extend(chain);
                        return (Outcome::NoData, answers, soa.into_iter().collect());
                    }
                    Lookup::NxDomain { chain, soa } => {
                        answers.extend(chain);
                        return (Outcome::NxDomain, answers, soa.into_iter().collect());
                    }
                    Lookup::Failed(failure) => {
                        return (Outcome::Failed { failure }, answers, Vec::new())
                    }
                    Lookup::Alias { chain, target } => {
                        answers.extend(chain);
                        let target = target.to_lowercase();
                        if seen.contains(&target) {
                            seen.push(target);
                            let chain = seen.iter().map(|n| n.to_string()).collect();
                            return (
                                Outcome::Failed {
                                    failure: Failure::AliasLoop { chain },
                                },
                                answers,
                                Vec::new(),
                            );
                        }
                        seen.push(target.clone());
                        current = target;
                    }
                }
            }
            let limit = ctx.hit(Limit::CnameChain, ctx.limits.cname_chain as u64);
            (
                Outcome::Failed {
                    failure: Failure::LimitReached { limit },
                },
                answers,
                Vec::new(),
            )
        })
    }

    /// One name, no alias following: from the cache, or by walking down from the closest cut.
    async fn lookup(&self, ctx: &mut Ctx, qname: &Name, qtype: RecordType) -> Lookup {
        let now = self.clock.now();
        if let Some(rrset) = self.cache.rrset(qname, qtype, now) {
            ctx.record(Event::CacheHit {
                name: qname.to_string(),
                rtype: qtype.to_string(),
                what: "answer".into(),
            });
            return Lookup::Answer {
                chain: Vec::new(),
                rrset,
            };
        }
        if qtype != RecordType::CNAME {
            if let Some(cname) = self.cache.rrset(qname, RecordType::CNAME, now) {
                if let Some(RData::CNAME(target)) = cname.first().map(|r| r.data.clone()) {
                    ctx.record(Event::CacheHit {
                        name: qname.to_string(),
                        rtype: "CNAME".into(),
                        what: "alias".into(),
                    });
                    return Lookup::Alias {
                        chain: cname,
                        target: target.0,
                    };
                }
            }
        }
        if let Some((kind, soa)) = self.cache.negative(qname, qtype, now) {
            let what = match kind {
                NegativeKind::NxDomain => "NXDOMAIN",
                NegativeKind::NoData => "NODATA",
            };
            ctx.record(Event::CacheHit {
                name: qname.to_string(),
                rtype: qtype.to_string(),
                what: what.into(),
            });
            return match kind {
                NegativeKind::NxDomain => Lookup::NxDomain {
                    chain: Vec::new(),
                    soa,
                },
                NegativeKind::NoData => Lookup::NoData {
                    chain: Vec::new(),
                    soa,
                },
            };
        }
        let mut delegation = match self.closest_delegation(ctx, qname).await {
            Some(d) => d,
            None => {
                return Lookup::Failed(Failure::NoReachableAuthority {
                    zone: ".".into(),
                    servers: Vec::new(),
                })
            }
        };
        for _ in 0..ctx.limits.referral_depth {
            match self.query_zone(ctx, &delegation, qname, qtype).await {
                Ok(ZoneStep::Done(lookup)) => {
                    let lookup = *lookup;
                    self.store(qname, qtype, &lookup);
                    return lookup;
                }
                Ok(ZoneStep::Referral(next)) => delegation = next,
                Err(failure) => return Lookup::Failed(failure),
            }
        }
        let limit = ctx.hit(Limit::ReferralDepth, ctx.limits.referral_depth as u64);
        Lookup::Failed(Failure::LimitReached { limit })
    }

    fn store(&self, qname: &Name, qtype: RecordType, lookup: &Lookup) {
        let now = self.clock.now();
        let denied_name = |chain: &[Record]| {
            chain
                .iter()
                .rev()
                .find_map(|r| match &r.data {
                    RData::CNAME(t) => Some(t.0.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| qname.clone())
        };
        match lookup {
            Lookup::Answer { chain, rrset } => {
                self.cache.store_all(chain, now);
                self.cache.store_rrset(rrset, now);
            }
            Lookup::Alias { chain, .. } => self.cache.store_all(chain, now),
            Lookup::NoData { chain, soa } => {
                self.cache.store_all(chain, now);
                self.cache.store_negative(
                    &denied_name(chain),
                    qtype,
                    NegativeKind::NoData,
                    soa.clone(),
                    now,
                );
            }
            Lookup::NxDomain { chain, soa } => {
                self.cache.store_all(chain, now);
                self.cache.store_negative(
                    &denied_name(chain),
                    qtype,
                    NegativeKind::NxDomain,
                    soa.clone(),
                    now,
                );
            }
            Lookup::Failed(_) => {}
        }
    }

    /// The deepest cached cut above `qname`, or the root (primed once, RFC 8109).
    async fn closest_delegation(&self, ctx: &mut Ctx, qname: &Name) -> Option<Delegation> {
        let now = self.clock.now();
        if let Some(d) = self.cache.closest_delegation(qname, now) {
            if !d.zone.is_root() {
                ctx.record(Event::CacheHit {
                    name: d.zone.to_string(),
                    rtype: "NS".into(),
                    what: "delegation".into(),
                });
            }
            return Some(d);
        }
        Some(self.prime(ctx).await)
    }

    /// RFC 8109: ask a hinted root server for the root NS set and use the answer.
    async fn prime(&self, ctx: &mut Ctx) -> Delegation {
        let hints = Delegation::from_hints(&self.hints);
        let addresses = self.usable_addresses(&hints);
        let mut failures = Vec::new();
        let root = Name::root();
        if let Ok((Classified::Answer { rrset, .. }, response)) = self
            .ask_servers(ctx, &root, &addresses, &root, RecordType::NS, &mut failures)
            .await
        {
            let servers: Vec<NsServer> = rrset
                .iter()
                .filter_map(|r| match &r.data {
                    RData::NS(ns) => Some(ns.0.to_lowercase()),
                    _ => None,
                })
                .map(|name| NsServer {
                    addresses: addresses_in(&response.additionals, &name),
                    name,
                })
                .collect();
            if servers.iter().any(|s| !s.addresses.is_empty()) {
                let ttl = rrset.iter().map(|r| r.ttl).min().unwrap_or(0);
                let delegation = Delegation {
                    zone: root,
                    servers,
                };
                self.cache
                    .store_delegation(&delegation, ttl, self.clock.now());
                ctx.record(Event::RootPrimed {
                    servers: delegation.servers.len(),
                });
                return delegation;
            }
        }
        // Priming failed: the hints themselves are the best knowledge there is.
        hints
    }

    fn usable(&self, addr: &IpAddr) -> bool {
        (addr.is_ipv4() && self.config.ipv4) || (addr.is_ipv6() && self.config.ipv6)
    }

    fn usable_addresses(&self, delegation: &Delegation) -> Vec<SocketAddr> {
        let mut out: Vec<SocketAddr> = delegation
            .servers
            .iter()
            .flat_map(|s| s.addresses.iter())
            .filter(|a| self.usable(a))
            .map(|a| SocketAddr::new(*a, self.config.upstream_port))
            .collect();
        out.dedup();
        out
    }

    /// Asks the servers of one zone about `qname`, minimising the name sent (RFC 9156).
    async fn query_zone(
        &self,
        ctx: &mut Ctx,
        delegation: &Delegation,
        qname: &Name,
        qtype: RecordType,
    ) -> Result<ZoneStep, Failure> {
        let zone = &delegation.zone;
        let addresses = self.addresses_for(ctx, delegation).await?;
        let full = label_count(qname);
        let mut labels = if self.config.qname_minimisation && qtype != RecordType::DS {
            (label_count(zone) + 1).min(full)
        } else {
            full
        };
        let mut failures = Vec::new();
        loop {
            let minimised = labels < full;
            let (name, rtype) = if minimised {
                (qname.trim_to(labels), RecordType::A)
            } else {
                (qname.clone(), qtype)
            };
            if minimised {
                ctx.record(Event::QnameMinimised {
                    zone: zone.to_string(),
                    sent: name.to_string(),
                    rtype: "A".into(),
                });
            }
            let (class, _response) = match self
                .ask_servers(ctx, zone, &addresses, &name, rtype, &mut failures)
                .await
            {
                Ok(reply) => reply,
                Err(failure) => return Err(failure),
            };
            match class {
                Classified::Referral { cut, ns, glue } => {
                    let servers: Vec<NsServer> = ns
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::NS(n) => Some(n.0.to_lowercase()),
                            _ => None,
                        })
                        .map(|name| NsServer {
                            addresses: glue
                                .iter()
                                .filter(|g| g.used && g.ns == name.to_string())
                                .map(|g| g.address)
                                .collect(),
                            name,
                        })
                        .collect();
                    ctx.record(Event::ReferralFollowed {
                        from_zone: zone.to_string(),
                        to_zone: cut.to_string(),
                        ns: servers.iter().map(|s| s.name.to_string()).collect(),
                        glue,
                    });
                    let next = Delegation { zone: cut, servers };
                    let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
                    self.cache.store_delegation(&next, ttl, self.clock.now());
                    return Ok(ZoneStep::Referral(next));
                }
                Classified::NxDomain { .. } if minimised => {
                    // Relaxed minimisation: some servers deny empty non-terminals; ask in full.
                    labels = full;
                }
                _ if minimised => labels += 1,
                Classified::Answer { chain, rrset } => {
                    return Ok(ZoneStep::Done(Box::new(Lookup::Answer { chain, rrset })))
                }
                Classified::Alias { chain, target } => {
                    return Ok(ZoneStep::Done(Box::new(Lookup::Alias { chain, target })))
                }
                Classified::NoData { chain, soa } => {
                    return Ok(ZoneStep::Done(Box::new(Lookup::NoData { chain, soa })))
                }
                Classified::NxDomain { chain, soa } => {
                    return Ok(ZoneStep::Done(Box::new(Lookup::NxDomain { chain, soa })))
                }
                Classified::FormErr(_) | Classified::Unusable(_) => {
                    unreachable!("ask_servers only returns usable classifications")
                }
            }
        }
    }

    /// Addresses of the zone's servers: glue or cached, else resolved from the NS names
    /// (a bounded number of them), detecting circular dependencies on the way.
    async fn addresses_for(
        &self,
        ctx: &mut Ctx,
        delegation: &Delegation,
    ) -> Result<Vec<SocketAddr>, Failure> {
        let zone = &delegation.zone;
        let now = self.clock.now();
        let mut servers = delegation.servers.clone();
        for server in servers.iter_mut().filter(|s| s.addresses.is_empty()) {
            for rtype in [RecordType::A, RecordType::AAAA] {
                if let Some(rrset) = self.cache.rrset(&server.name, rtype, now) {
                    server.addresses.extend(addresses_in(&rrset, &server.name));
                }
            }
        }
        let known = self.usable_addresses(&Delegation {
            zone: zone.clone(),
            servers: servers.clone(),
        });
        if !known.is_empty() {
            return Ok(known);
        }
        let mut cycle: Option<Vec<String>> = None;
        let mut addresses = Vec::new();
        let glueless: Vec<NsServer> = servers
            .into_iter()
            .filter(|s| s.addresses.is_empty())
            .collect();
        let allowed = ctx.limits.ns_names_per_delegation;
        if glueless.len() > allowed {
            ctx.hit(Limit::NsNamesPerDelegation, allowed as u64);
        }
        for server in glueless.iter().take(allowed) {
            if zone.zone_of(&server.name) {
                // In-bailiwick name without glue: reaching it needs the zone itself.
                ctx.record(Event::GlueMissing {
                    zone: zone.to_string(),
                    ns: server.name.to_string(),
                });
                continue;
            }
            if let Some(path) = ctx.cycle_through(zone) {
                ctx.record(Event::CycleDetected { path: path.clone() });
                cycle = Some(path);
                break;
            }
            if ctx.depth >= ctx.limits.sub_resolution_depth {
                let limit = ctx.hit(
                    Limit::SubResolutionDepth,
                    ctx.limits.sub_resolution_depth as u64,
                );
                return Err(Failure::LimitReached { limit });
            }
            ctx.record(Event::SubResolutionStarted {
                ns: server.name.to_string(),
                zone: zone.to_string(),
            });
            ctx.resolving.push((zone.clone(), server.name.clone()));
            ctx.depth += 1;
            let rtype = if self.config.ipv4 {
                RecordType::A
            } else {
                RecordType::AAAA
            };
            let (outcome, answers, _) = self.resolve_chain(ctx, server.name.clone(), rtype).await;
            ctx.depth -= 1;
            ctx.resolving.pop();
            let found: Vec<IpAddr> = answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect();
            ctx.record(Event::SubResolutionFinished {
                ns: server.name.to_string(),
                addresses: found.clone(),
            });
            match outcome {
                Outcome::Failed {
                    failure: Failure::CircularDependency { path },
                } => cycle = Some(path),
                Outcome::Failed {
                    failure: failure @ Failure::LimitReached { .. },
                } => return Err(failure),
                _ => {}
            }
            addresses.extend(
                found
                    .into_iter()
                    .filter(|a| self.usable(a))
                    .map(|a| SocketAddr::new(a, self.config.upstream_port)),
            );
            if !addresses.is_empty() {
                break;
            }
        }
        if !addresses.is_empty() {
            return Ok(addresses);
        }
        Err(match cycle {
            Some(path) => Failure::CircularDependency { path },
            None => Failure::NoServerAddress {
                zone: zone.to_string(),
                ns: delegation.ns_names(),
            },
        })
    }
}

/// Records each alias a lookup went through (CNAMEs, and DNAMEs with their synthesis).
fn record_chain(ctx: &mut Ctx, lookup: &Lookup) {
    let chain = match lookup {
        Lookup::Answer { chain, .. }
        | Lookup::Alias { chain, .. }
        | Lookup::NoData { chain, .. }
        | Lookup::NxDomain { chain, .. } => chain,
        Lookup::Failed(_) => return,
    };
    for record in chain {
        match &record.data {
            RData::CNAME(t) => ctx.record(Event::CnameFollowed {
                from: record.name.to_string(),
                to: t.0.to_string(),
            }),
            _ if record.record_type() == RecordType::DNAME => ctx.record(Event::DnameFollowed {
                owner: record.name.to_string(),
                target: record.data.to_string(),
            }),
            _ => {}
        }
    }
}

/// Addresses for `name` among `records`.
fn addresses_in(records: &[Record], name: &Name) -> Vec<IpAddr> {
    records
        .iter()
        .filter(|r| r.name.to_lowercase() == *name)
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}
