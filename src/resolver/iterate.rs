//! The loop: closest known cut -> pick a server -> send -> classify -> act. Referrals move the
//! cut down; answers, denials and aliases end a lookup; failures move on to the next server.
//!
//! RFC 1034 §5.3.3 (the algorithm), RFC 8109 (priming), RFC 9156 (QNAME minimisation,
//! relaxed: an NXDOMAIN for a minimised name is re-asked with the full name), RFC 6891 §7
//! (retry without EDNS after FORMERR/NOTIMP), RFC 7766 (TCP after TC). Alias chains are
//! followed in `alias.rs`, each step validated by the `dnssec::Validator` the `Recursor` owns.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::addresses::AddressSearch;
use super::alias::Chained;
use super::ask::Question;
use super::budget::Ctx;
use super::cache::{Cache, Evidence};
use super::classify::Classified;
use super::delegation::{Delegation, NsServer, RootHint};
use super::servers::ServerHealth;
use crate::clock::Clock;
use crate::config::Config;
use crate::dnssec::{TrustAnchors, Validator, ValidatorLimits};
use crate::explain::event::{Event, GlueEntry, Limit};
use crate::explain::outcome::{Failure, Outcome, Resolution};
use crate::explain::verdict::{InsecureReason, Security};
use crate::explain::Trace;
use crate::transport;

/// EDNS payload advertised upstream (DNS flag day 2020).
pub(super) const EDNS_PAYLOAD: u16 = 1232;

pub(super) use crate::dnssec::Lookup;

/// What asking one zone's servers ended with.
enum ZoneStep {
    Done(Box<(Lookup, Evidence)>),
    Referral(Delegation),
}

pub(super) struct Recursor {
    pub(super) config: Config,
    pub(super) hints: Vec<RootHint>,
    pub(super) cache: Cache,
    pub(super) servers: ServerHealth,
    pub(super) clock: Arc<dyn Clock>,
    /// The trust anchors, the key verdicts, the chain of trust.
    pub(super) validator: Validator,
    /// Signature checks the whole resolver may still spend this second.
    pub(super) allowance: Arc<crate::dnssec::Allowance>,
    /// Upstream queries in flight, shared by identical ones.
    pub(super) inflight: super::upstream::InFlight,
}

/// What the validator may spend, from the configuration.
fn validator_limits(config: &Config) -> ValidatorLimits {
    ValidatorLimits {
        denial: crate::dnssec::DenialLimits {
            insecure_above: config.dnssec.nsec3_insecure_above,
            bogus_above: config.dnssec.nsec3_bogus_above,
            max_hashes: config.limits.nsec3_hashes,
        },
        signature_checks: config.limits.signature_checks,
        chain_depth: config.limits.sub_resolution_depth.saturating_mul(4),
        key_cache_bytes: crate::config::CacheConfig::bytes(config.cache.keys_mib),
    }
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
    format!("{:08x}", value & 0xffff_ffff)
}

impl Recursor {
    pub fn new(
        config: Config,
        hints: Vec<RootHint>,
        anchors: TrustAnchors,
        clock: Arc<dyn Clock>,
    ) -> Recursor {
        Recursor {
            allowance: crate::dnssec::Allowance::new(config.limits.validations_per_second),
            inflight: super::upstream::InFlight::default(),
            validator: Validator::new(anchors, clock.clone(), validator_limits(&config)),
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

    pub async fn resolve(
        &self,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
    ) -> Resolution {
        let name = name.to_lowercase();
        let mut ctx = self.start(&name, rtype);
        // CD=1 (RFC 4035 §3.2.2): the client validates, or wants to see the data regardless.
        let validate = self.config.validate && !checking_disabled;
        let mut chained = self
            .resolve_chain(&mut ctx, name.clone(), rtype, validate)
            .await;
        let security = answer_security(&mut ctx, &chained, validate);
        self.bound_ttls(&ctx, &mut chained);
        let mut resolution = Resolution {
            name: name.to_string(),
            rtype: rtype.to_string(),
            outcome: chained.outcome,
            answers: chained.answers,
            authority: chained.authority,
            dnssec_answers: chained.signatures,
            dnssec_authority: chained.proofs,
            security,
            checking_disabled,
            cached: false,
            trace: ctx.trace,
        };
        // RFC 8509 §3.2, on the client's question, before the answer cache sees it.
        super::sentinel::apply_sentinel(&mut resolution, &name, rtype, self.validator.anchors());
        record_finished(&mut resolution);
        resolution
    }

    /// The context of one client question, its trace opened with the question itself.
    fn start(&self, name: &Name, rtype: RecordType) -> Ctx {
        let limits = &self.config.limits;
        let trace = Trace::new(trace_id(), limits.trace_events)
            .max_bytes(limits.trace_kib.saturating_mul(1024));
        let mut ctx = Ctx::new(trace, self.config.limits.clone(), self.allowance.clone());
        ctx.record(Event::ResolutionStarted {
            name: name.clone(),
            rtype: rtype.into(),
        });
        ctx
    }

    /// RFC 4035 §5.3.3: validated data lives no longer than its signatures and keys.
    fn bound_ttls(&self, ctx: &Ctx, chained: &mut Chained) {
        if ctx.valid_until == u64::MAX {
            return;
        }
        let left = ctx.valid_until.saturating_sub(self.clock.now()).max(1);
        let left = u32::try_from(left).unwrap_or(u32::MAX);
        for record in chained
            .answers
            .iter_mut()
            .chain(chained.authority.iter_mut())
            .chain(chained.signatures.iter_mut())
            .chain(chained.proofs.iter_mut())
        {
            record.ttl = record.ttl.min(left);
        }
    }

    /// One name, no alias following: from the cache, or by walking down from the closest cut.
    pub(super) async fn lookup(
        &self,
        ctx: &mut Ctx,
        qname: &Name,
        qtype: RecordType,
    ) -> (Lookup, Evidence) {
        if let Some(found) = self.recall(ctx, qname, qtype) {
            return found;
        }
        // A DS lives at the parent side of the cut (RFC 4035 §3.1.4.1): start above the name.
        let start = if qtype == RecordType::DS && !qname.is_root() {
            qname.base_name()
        } else {
            qname.clone()
        };
        let Some(mut delegation) = self.closest_delegation(ctx, &start).await else {
            let failure = Failure::NoReachableAuthority {
                zone: ".".into(),
                servers: Vec::new(),
            };
            return (Lookup::Failed(failure), Evidence::default());
        };
        for _ in 0..ctx.limits.referral_depth {
            match self.query_zone(ctx, &delegation, qname, qtype).await {
                Ok(ZoneStep::Done(found)) => {
                    let (lookup, evidence) = *found;
                    self.store(qname, qtype, &lookup, &evidence);
                    return (lookup, evidence);
                }
                Ok(ZoneStep::Referral(next)) => delegation = next,
                Err(failure) => return (Lookup::Failed(failure), Evidence::default()),
            }
        }
        let limit = ctx.hit(Limit::ReferralDepth, ctx.limits.referral_depth as u64);
        (
            Lookup::Failed(Failure::LimitReached { limit }),
            Evidence::default(),
        )
    }

    /// The deepest cached cut above `qname`, or the root (primed once, RFC 8109).
    async fn closest_delegation(&self, ctx: &mut Ctx, qname: &Name) -> Option<Delegation> {
        let now = self.clock.now();
        if let Some(d) = self.cache.closest_delegation(qname, now) {
            if !d.zone.is_root() {
                ctx.record(Event::DelegationCached {
                    zone: d.zone.clone(),
                    servers: d
                        .servers
                        .iter()
                        .map(|s| (s.name.clone(), s.addresses.clone()))
                        .collect(),
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
        let question = Question {
            zone: &root,
            name: &root,
            rtype: RecordType::NS,
        };
        let reply = self
            .ask_servers(ctx, &question, &addresses, &mut failures)
            .await;
        if let Err(failure) = &reply {
            record_unreachable(ctx, failure);
        }
        if let Ok((Classified::Answer { rrset, .. }, response)) = reply {
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

    pub(super) fn usable(&self, addr: &IpAddr) -> bool {
        (addr.is_ipv4() && self.config.ipv4) || (addr.is_ipv6() && self.config.ipv6)
    }

    pub(super) fn usable_addresses(&self, delegation: &Delegation) -> Vec<SocketAddr> {
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
        let mut search = AddressSearch::default();
        let mut addresses = self.addresses_for(ctx, delegation, &mut search).await?;
        let mut tried = addresses.clone();
        let full = label_count(qname);
        let mut labels = self.first_labels(zone, qname, qtype);
        let mut failures = Vec::new();
        loop {
            let minimised = labels < full;
            let (name, rtype) = sent_question(ctx, zone, qname, qtype, labels);
            let question = Question {
                zone,
                name: &name,
                rtype,
            };
            let (class, response) = match self
                .ask_servers(ctx, &question, &addresses, &mut failures)
                .await
            {
                Ok(reply) => reply,
                Err(failure @ Failure::NoReachableAuthority { .. }) => {
                    addresses = self
                        .more_to_ask(ctx, delegation, &mut tried, &mut search, failure)
                        .await?;
                    continue;
                }
                Err(failure) => return Err(failure),
            };
            let evidence = zone_evidence(zone, &response);
            record_rejected_cnames(ctx, &class, &response);
            match class {
                Classified::Referral { cut, ns, glue } => {
                    let next = self.follow_referral(ctx, zone, cut, &ns, glue);
                    return Ok(ZoneStep::Referral(next));
                }
                Classified::NxDomain { .. } if minimised => {
                    // Relaxed minimisation: some servers deny empty non-terminals; ask in full.
                    labels = full;
                }
                _ if minimised => labels += 1,
                class => return Ok(ZoneStep::Done(Box::new((lookup_of(class), evidence)))),
            }
        }
    }

    /// RFC 9156 starts one label below the zone; a DS question is never minimised.
    fn first_labels(&self, zone: &Name, qname: &Name, qtype: RecordType) -> usize {
        let full = label_count(qname);
        if self.config.qname_minimisation && qtype != RecordType::DS {
            (label_count(zone) + 1).min(full)
        } else {
            full
        }
    }

    /// Every known address failed: only new ones are asked next (the others had their rounds).
    async fn more_to_ask(
        &self,
        ctx: &mut Ctx,
        delegation: &Delegation,
        tried: &mut Vec<SocketAddr>,
        search: &mut AddressSearch,
        failure: Failure,
    ) -> Result<Vec<SocketAddr>, Failure> {
        let more = self.more_addresses(ctx, delegation, tried, search).await?;
        if more.is_empty() {
            record_unreachable(ctx, &failure);
            return Err(failure);
        }
        tried.extend(more.iter().copied());
        Ok(more)
    }

    /// A referral from `zone` down to `cut`: the delegation to follow, with the glue the
    /// classifier accepted, recorded and cached.
    fn follow_referral(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        cut: Name,
        ns: &[Record],
        glue: Vec<GlueEntry>,
    ) -> Delegation {
        let servers: Vec<NsServer> = ns
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(n) => Some(n.0.to_lowercase()),
                _ => None,
            })
            .map(|name| NsServer {
                addresses: glue
                    .iter()
                    .filter(|g| g.used && g.ns == name)
                    .map(|g| g.address)
                    .collect(),
                name,
            })
            .collect();
        ctx.record(Event::ReferralFollowed {
            from_zone: zone.clone(),
            to_zone: cut.clone(),
            ns: servers.iter().map(|s| s.name.clone()).collect(),
            glue,
        });
        let next = Delegation { zone: cut, servers };
        let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
        self.cache.store_delegation(&next, ttl, self.clock.now());
        next
    }
}

/// The security the answer carries, recorded when validation ran and the lookup ended.
fn answer_security(ctx: &mut Ctx, chained: &Chained, validate: bool) -> Security {
    let security = match (&chained.security, validate) {
        (Some(security), _) => security.clone(),
        (None, false) => Security::Insecure {
            reason: InsecureReason::ValidationDisabled,
        },
        (None, true) => Security::Secure,
    };
    if validate && !matches!(chained.outcome, Outcome::Failed { .. }) {
        ctx.record(Event::AnswerSecurity {
            security: security.clone(),
        });
    }
    security
}

/// The last event, recorded after the sentinel so it carries the rcode the client gets.
fn record_finished(resolution: &mut Resolution) {
    let rcode = resolution.rcode().into();
    let elapsed_ms = resolution.trace.elapsed_ms();
    resolution.trace.record(
        0,
        Event::ResolutionFinished {
            rcode,
            answers: resolution.answers.len(),
            elapsed_ms,
        },
    );
}

/// The name and type actually sent to a zone, recorded when minimisation hid the rest.
fn sent_question(
    ctx: &mut Ctx,
    zone: &Name,
    qname: &Name,
    qtype: RecordType,
    labels: usize,
) -> (Name, RecordType) {
    if labels >= label_count(qname) {
        return (qname.clone(), qtype);
    }
    let name = qname.trim_to(labels);
    ctx.record(Event::QnameMinimised {
        zone: zone.clone(),
        sent: name.clone(),
        rtype: RecordType::A.into(),
    });
    (name, RecordType::A)
}

/// What a zone's reply proves and how far it is believed, kept with the lookup it ends.
fn zone_evidence(zone: &Name, response: &Message) -> Evidence {
    Evidence {
        zone: Some(zone.clone()),
        dnssec: dnssec_records(zone, response),
        non_authoritative: !response.metadata.authoritative,
        ..Evidence::default()
    }
}

/// The lookup a final classification ends with.
fn lookup_of(class: Classified) -> Lookup {
    match class {
        Classified::Answer { chain, rrset } => Lookup::Answer { chain, rrset },
        Classified::Alias { chain, target } => Lookup::Alias { chain, target },
        Classified::NoData { chain, soa } => Lookup::NoData { chain, soa },
        Classified::NxDomain { chain, soa } => Lookup::NxDomain { chain, soa },
        Classified::Referral { .. } | Classified::FormErr(_) | Classified::Unusable(_) => {
            unreachable!("ask_servers only returns usable classifications; referrals are followed")
        }
    }
}

/// Every server of a zone failed: the event that lists them.
fn record_unreachable(ctx: &mut Ctx, failure: &Failure) {
    if let Failure::NoReachableAuthority { zone, servers } = failure {
        ctx.record(Event::ZoneUnreachable {
            // The failure's zone is a name written out: it reads back.
            zone: Name::from_ascii(zone).unwrap_or_else(|_| Name::root()),
            servers: servers.clone(),
        });
    }
}

/// Records each CNAME of the response that a DNAME in the chain contradicts (RFC 6672 §3.2).
fn record_rejected_cnames(ctx: &mut Ctx, class: &Classified, response: &Message) {
    let chain = match class {
        Classified::Answer { chain, .. }
        | Classified::Alias { chain, .. }
        | Classified::NoData { chain, .. }
        | Classified::NxDomain { chain, .. } => chain,
        _ => return,
    };
    for (received, synthesised) in super::classify::rejected_cnames(chain, &response.answers) {
        // Both are CNAME records (`rejected_cnames` picks them by type).
        let target = |r: &Record| match &r.data {
            RData::CNAME(t) => Some(t.0.clone()),
            _ => None,
        };
        if let (Some(to_received), Some(to_synthesised)) = (target(&received), target(&synthesised))
        {
            ctx.record(Event::CnameRejected {
                owner: received.name.clone(),
                received: to_received,
                synthesised: to_synthesised,
            });
        }
    }
}

/// RRSIG, NSEC and NSEC3 records of a response, from the answer and authority sections, owned
/// inside the zone that was asked (RFC 2181 §5.4.1: nothing else is believed).
fn dnssec_records(zone: &Name, response: &Message) -> Vec<Record> {
    response
        .answers
        .iter()
        .chain(&response.authorities)
        .filter(|r| {
            matches!(
                r.record_type(),
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
        })
        .filter(|r| r.dns_class == hickory_proto::rr::DNSClass::IN && zone.zone_of(&r.name))
        .cloned()
        .collect()
}

/// Addresses for `name` among `records`.
pub(super) fn addresses_in(records: &[Record], name: &Name) -> Vec<IpAddr> {
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
