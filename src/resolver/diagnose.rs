//! From a finished resolution to its [`Diagnosis`]: the root cause an operator acts on, the
//! trace events that prove it, the remedy and the commands that confirm it.
//!
//! One exhaustive match over the outcome and the DNSSEC verdict picks the cause; the trace
//! supplies the names (server names from glue and sub-resolutions, parent zones from
//! referrals) and the evidence. Pure: no I/O, no clock.
//!
//! Limitations: servers are named from this resolution's trace only, so on a trace served
//! from the cache a server may appear by address alone; check commands name the server that
//! answered when the trace holds one, else the zone.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::{Failure, Outcome, Resolution};
use crate::dnssec::{BogusReason, InsecureReason, Security, SignatureFailure};
use crate::explain::diagnosis::{Cause, Diagnosis, Evidence};
use crate::explain::event::{Event, Limit, ResponseKind, ServerFailure, Trace};
use crate::explain::render::render_line;

/// Evidence lines kept per diagnosis: enough to prove the cause, short enough to read.
const MAX_EVIDENCE: usize = 8;

/// A server that failed for a zone and never gave a usable answer in the same resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedOver {
    pub server: SocketAddr,
    pub zone: String,
    pub failure: ServerFailure,
}

/// Servers that failed while another server of their zone carried the resolution: what
/// makes a successful answer noteworthy (EDE 0 with the server named).
pub fn failed_over(trace: &Trace) -> Vec<FailedOver> {
    let mut out: Vec<FailedOver> = Vec::new();
    for (i, entry) in trace.entries.iter().enumerate() {
        let Event::ServerFailed {
            server,
            zone,
            failure,
        } = &entry.event
        else {
            continue;
        };
        let recovered = trace.entries[i + 1..].iter().any(|later| {
            matches!(&later.event, Event::ResponseReceived { server: s, kind, .. }
                if s == server && usable(*kind))
        });
        if !recovered && !out.iter().any(|f| f.server == *server && f.zone == *zone) {
            out.push(FailedOver {
                server: *server,
                zone: zone.clone(),
                failure: *failure,
            });
        }
    }
    out
}

fn usable(kind: ResponseKind) -> bool {
    matches!(
        kind,
        ResponseKind::Answer
            | ResponseKind::Cname
            | ResponseKind::Referral
            | ResponseKind::NoData
            | ResponseKind::NxDomain
    )
}

/// What the trace tells about names: which NS name has which address, and which zone
/// delegated which.
struct Names {
    servers: HashMap<IpAddr, String>,
    parents: HashMap<String, String>,
}

impl Names {
    fn from(trace: &Trace) -> Names {
        let mut servers = HashMap::new();
        let mut parents = HashMap::new();
        for event in trace.events() {
            match event {
                Event::ReferralFollowed {
                    from_zone,
                    to_zone,
                    glue,
                    ..
                } => {
                    for g in glue {
                        servers.entry(g.address).or_insert_with(|| g.ns.clone());
                    }
                    parents.insert(to_zone.clone(), from_zone.clone());
                }
                Event::SubResolutionFinished { ns, addresses } => {
                    for a in addresses {
                        servers.entry(*a).or_insert_with(|| ns.clone());
                    }
                }
                _ => {}
            }
        }
        Names { servers, parents }
    }

    /// "ns1.example.lab. (127.0.0.1)", or the address alone when no name is known.
    fn who(&self, server: &SocketAddr) -> String {
        match self.servers.get(&server.ip()) {
            Some(name) => format!("{name} ({})", server.ip()),
            None => server.ip().to_string(),
        }
    }

    fn parent(&self, zone: &str) -> String {
        self.parents
            .get(zone)
            .cloned()
            .unwrap_or_else(|| "the parent zone".into())
    }
}

/// Collects evidence: the trace entries that match, rendered as the tree shows them.
fn evidence(trace: &Trace, wanted: impl Fn(&Event) -> bool) -> Vec<Evidence> {
    trace
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| wanted(&e.event))
        .take(MAX_EVIDENCE)
        .map(|(i, e)| Evidence {
            event: i,
            text: render_line(e),
        })
        .collect()
}

/// The last server queried at the top level (the one whose answer the client got), if any.
fn answering_server(trace: &Trace, zone: Option<&str>) -> Option<SocketAddr> {
    trace.entries.iter().rev().find_map(|e| match &e.event {
        Event::QuerySent {
            server, zone: z, ..
        } if zone.is_none_or(|want| want.eq_ignore_ascii_case(z)) => Some(*server),
        _ => None,
    })
}

fn diagnosis(
    cause: Cause,
    summary: String,
    evidence: Vec<Evidence>,
    remedy: String,
    checks: Vec<String>,
) -> Diagnosis {
    Diagnosis {
        cause,
        summary,
        evidence,
        remedy,
        checks,
    }
}

impl Resolution {
    /// The root cause, its evidence and its remedy.
    pub fn diagnose(&self) -> Diagnosis {
        let names = Names::from(&self.trace);
        match &self.outcome {
            Outcome::Failed { failure } => diagnose_failure(self, failure, &names),
            _ => match &self.security {
                Security::Bogus { reason } => diagnose_bogus(self, reason, &names),
                Security::Indeterminate { detail } => diagnosis(
                    Cause::ValidationIndeterminate,
                    format!(
                        "Validation of {} {} could not be completed: {detail}",
                        self.name, self.rtype
                    ),
                    evidence(&self.trace, is_dnssec_trouble),
                    "Check that the zone's servers answer DNSKEY and DS queries, and that the \
                     resolver's trust anchor is current."
                        .into(),
                    vec![cd_check(self)],
                ),
                Security::Insecure { reason } => diagnose_insecure(self, reason, &names),
                Security::Secure => diagnose_answer(self, &names),
            },
        }
    }
}

fn cd_check(r: &Resolution) -> String {
    format!(
        "dig @this-resolver +cd {} {}  (the data comes back: it exists, only validation fails)",
        r.name, r.rtype
    )
}

fn server_check(r: &Resolution, zone: Option<&str>, name: &str, rtype: &str) -> String {
    match answering_server(&r.trace, zone) {
        Some(s) => format!(
            "dig @{} -p {} +norec +dnssec {name} {rtype}",
            s.ip(),
            s.port()
        ),
        None => format!("dig +norec +dnssec {name} {rtype} @<each server of the zone>"),
    }
}

fn is_dnssec_trouble(e: &Event) -> bool {
    match e {
        Event::SignaturesChecked { valid, .. } => !valid,
        Event::DenialChecked { verdict, .. } => verdict.get("proven").is_none(),
        Event::ZoneSecurity { security, .. } | Event::AnswerSecurity { security } => {
            security.get("security").and_then(|s| s.as_str()) != Some("secure")
        }
        Event::LimitReached { limit, .. } => {
            matches!(limit, Limit::SignatureChecks | Limit::Nsec3Hashes)
        }
        _ => false,
    }
}

fn diagnose_failure(r: &Resolution, failure: &Failure, names: &Names) -> Diagnosis {
    let trace = &r.trace;
    match failure {
        Failure::NoReachableAuthority { zone, servers } => {
            unreachable_authority(r, zone, servers, names)
        }
        Failure::NoServerAddress { zone, ns } => diagnosis(
            Cause::NoServerAddress,
            format!(
                "No address could be found for any nameserver of {zone} ({}): {} sends no \
                 usable glue for them and they do not resolve on their own",
                ns.join(", "),
                names.parent(zone)
            ),
            evidence(trace, |e| {
                matches!(
                    e,
                    Event::GlueMissing { .. } | Event::SubResolutionFinished { .. }
                ) || matches!(e, Event::ReferralFollowed { to_zone, .. } if to_zone == zone)
            }),
            format!(
                "Add glue (A/AAAA) for the in-zone nameservers of {zone} at {}, or give {zone} \
                 nameservers whose names resolve outside it.",
                names.parent(zone)
            ),
            ns.iter()
                .take(2)
                .map(|n| format!("dig +short {n} A  (an in-zone NS name needs glue)"))
                .collect(),
        ),
        Failure::CircularDependency { path } => diagnosis(
            Cause::CircularDependency,
            format!(
                "Circular dependency: {}: each nameserver's address can only be found through \
                 the other zone, and no glue breaks the cycle",
                path.join(" -> ")
            ),
            evidence(trace, |e| {
                matches!(
                    e,
                    Event::CycleDetected { .. }
                        | Event::GlueMissing { .. }
                        | Event::SubResolutionStarted { .. }
                )
            }),
            "Give at least one of the zones a nameserver whose address resolves independently: \
             in-bailiwick with glue at its parent, or in a third zone that depends on neither."
                .into(),
            path.first()
                .map(|zone| {
                    vec![format!(
                        "dig +trace {zone} NS  (follow where the NS names lead)"
                    )]
                })
                .unwrap_or_default(),
        ),
        Failure::LimitReached { limit } => {
            let (summary, remedy) = limit_words(*limit, r);
            diagnosis(
                Cause::LimitReached,
                summary,
                evidence(trace, |e| {
                    matches!(
                        e,
                        Event::LimitReached { .. }
                            | Event::ServerFailed { .. }
                            | Event::CnameFollowed { .. }
                    )
                }),
                remedy,
                vec![format!("whydns resolve --trace {} {}", r.name, r.rtype)],
            )
        }
        Failure::AliasLoop { chain } => diagnosis(
            Cause::AliasLoop,
            format!("CNAME/DNAME loop: {}", chain.join(" -> ")),
            evidence(trace, |e| {
                matches!(e, Event::CnameFollowed { .. } | Event::DnameFollowed { .. })
            }),
            "Point one of the aliases at a name that has data, breaking the loop.".into(),
            chain
                .first()
                .map(|n| vec![format!("dig +norec {n} CNAME")])
                .unwrap_or_default(),
        ),
        Failure::Overloaded => diagnosis(
            Cause::Overloaded,
            "This resolver had too many queries in flight and answered without resolving".into(),
            Vec::new(),
            "Raise limits.concurrent_queries, add resolver capacity, or find the client \
             sending the flood."
                .into(),
            Vec::new(),
        ),
    }
}

fn limit_words(limit: Limit, r: &Resolution) -> (String, String) {
    let q = format!("{} {}", r.name, r.rtype);
    match limit {
        Limit::UpstreamQueries => (
            format!("Resolving {q} needed more upstream queries than one client query may send"),
            "Look for many broken servers or many glueless NS names on the path; each costs \
             queries. Fix the delegation so fewer queries are needed."
                .into(),
        ),
        Limit::ReferralDepth => (
            format!("Resolving {q} followed more referrals than allowed: a referral loop or an absurdly deep delegation"),
            "Check the delegations on the path for servers that refer sideways or back to \
             each other."
                .into(),
        ),
        Limit::NsNamesPerDelegation => (
            format!("A delegation on the path of {q} lists more glueless NS names than are followed"),
            "Give the delegation fewer NS names, or glue for them.".into(),
        ),
        Limit::CnameChain => (
            format!("The CNAME chain from {q} is longer than allowed"),
            "Shorten the chain: point the first alias closer to the data.".into(),
        ),
        Limit::SubResolutionDepth => (
            format!("Resolving {q} needed nameserver addresses nested too deep (NS names whose zones need other NS names)"),
            "Use nameservers with glue, or in zones that resolve directly.".into(),
        ),
        Limit::Deadline => (
            format!("Resolving {q} did not finish before the deadline: the servers on the path are too slow or silent"),
            "Check the servers that timed out in the evidence; remove dead ones from their delegations."
                .into(),
        ),
        Limit::SignatureChecks | Limit::Nsec3Hashes => (
            format!("Validating {q} needed more cryptographic work than one query may spend (KeyTrap-shaped data, CVE-2023-50387/50868)"),
            "If the zone is yours: publish few keys with distinct key tags, one signature per key and RRset, and NSEC3 with 0 iterations."
                .into(),
        ),
    }
}

/// Every server of `zone` failed: name the kind of failure the operator must fix.
fn unreachable_authority(
    r: &Resolution,
    zone: &str,
    servers: &[(SocketAddr, ServerFailure)],
    names: &Names,
) -> Diagnosis {
    let parent = names.parent(zone);
    let list = |pred: &dyn Fn(ServerFailure) -> bool| -> Vec<String> {
        servers
            .iter()
            .filter(|(_, f)| pred(*f))
            .map(|(s, f)| format!("{} {}", names.who(s), f.describe()))
            .collect()
    };
    let dead = |f: ServerFailure| matches!(f, ServerFailure::Timeout | ServerFailure::Unreachable);
    let all = |pred: &dyn Fn(ServerFailure) -> bool| servers.iter().all(|(_, f)| pred(*f));
    let any = |pred: &dyn Fn(ServerFailure) -> bool| servers.iter().any(|(_, f)| pred(*f));
    let ev = evidence(&r.trace, |e| match e {
        Event::ServerFailed { zone: z, .. } | Event::ZoneUnreachable { zone: z, .. } => z == zone,
        Event::ReferralFollowed { to_zone, .. } => to_zone == zone,
        _ => false,
    });
    let probe = |s: &SocketAddr| {
        format!(
            "dig @{} -p {} +norec {zone} SOA  (expect an answer with the aa flag)",
            s.ip(),
            s.port()
        )
    };
    let checks: Vec<String> = servers.iter().take(2).map(|(s, _)| probe(s)).collect();
    if any(&|f| f == ServerFailure::TruncatedNoTcp) {
        let who = list(&|f| f == ServerFailure::TruncatedNoTcp).join("; ");
        let tcp: Vec<String> = servers
            .iter()
            .take(1)
            .map(|(s, _)| {
                format!(
                    "dig @{} -p {} +tcp +norec {} {}  (fails: TCP is refused)",
                    s.ip(),
                    s.port(),
                    r.name,
                    r.rtype
                )
            })
            .collect();
        return diagnosis(
            Cause::TcpRefused,
            format!(
                "{who} for {zone}: the answer is larger than UDP allows and TCP, which must then be used, is refused"
            ),
            ev,
            format!(
                "Allow DNS over TCP port 53 to the servers of {zone} (RFC 7766 makes TCP \
                 mandatory); check firewalls and the server's TCP listener."
            ),
            tcp,
        );
    }
    let everyone = list(&|_| true).join("; ");
    if any(&|f| f == ServerFailure::ServFail) && !any(&|f| f.is_lame()) {
        return diagnosis(
            Cause::ServersFailing,
            format!(
                "{everyone} for {zone}: the server is configured for the zone but cannot serve it"
            ),
            ev,
            format!(
                "Check the logs of the servers of {zone}: a zone file that failed to load, a \
                 secondary whose copy expired (SOA expire) after losing its primary, or a \
                 failing backend."
            ),
            checks,
        );
    }
    if any(&|f| f.is_lame()) {
        let who = everyone;
        let refused = any(&|f| f == ServerFailure::Refused);
        return diagnosis(
            Cause::LameDelegation,
            format!(
                "{who} for {zone}: lame delegation — {parent} lists servers that do not serve {zone}{}",
                if refused { " (or that refuse this resolver by ACL)" } else { "" }
            ),
            ev,
            format!(
                "Load {zone} on the servers {parent} delegates to (and allow queries to it), \
                 or change the NS set for {zone} at {parent} to servers that serve it."
            ),
            checks,
        );
    }
    if all(&dead) {
        return diagnosis(
            Cause::ServersUnreachable,
            format!("No server of {zone} answered: {everyone}"),
            ev,
            format!(
                "Check that the servers of {zone} are running and reachable on UDP and TCP \
                 port 53 (firewall, routing); if their addresses changed, update the glue \
                 and NS records at {parent}."
            ),
            checks,
        );
    }
    diagnosis(
        Cause::ServersBroken,
        format!("The servers of {zone} gave no usable answer: {everyone}"),
        ev,
        format!(
            "Fix or upgrade the server software of {zone} (EDNS, response format), and check \
             for middleboxes that rewrite or drop DNS."
        ),
        checks,
    )
}

fn diagnose_bogus(r: &Resolution, reason: &BogusReason, names: &Names) -> Diagnosis {
    let ev = evidence(&r.trace, is_dnssec_trouble);
    let parent_of = |zone: &str| names.parent(zone);
    match reason {
        BogusReason::RrsigsMissing { owner, rtype } => diagnosis(
            Cause::SignaturesMissing,
            format!(
                "{owner} {rtype} came without any RRSIG although its zone is signed (a DS at the parent says so)"
            ),
            ev,
            "Re-sign the zone and check that every server serves the signed copy (and returns \
             RRSIGs when asked with DO); if the zone is meant to be unsigned, remove its DS \
             from the parent first."
                .into(),
            vec![cd_check(r), server_check(r, None, owner, rtype)],
        ),
        BogusReason::SignatureFailed {
            owner,
            rtype,
            failure,
            detail,
        } => {
            let (cause, summary, remedy) = match failure {
                SignatureFailure::Expired => (
                    Cause::SignatureExpired,
                    format!("The RRSIG over {owner} {rtype} has expired ({detail}): the zone's signing process has stopped"),
                    "Re-sign the zone and check the signer's schedule: signatures must be \
                     refreshed well before they expire.",
                ),
                SignatureFailure::ExpiredBeforeValid => (
                    Cause::SignatureWindowInverted,
                    format!("The RRSIG over {owner} {rtype} expires before it becomes valid ({detail}): the signer wrote an impossible window"),
                    "Re-sign the zone; check the signer's inception and expiration settings \
                     and its clock.",
                ),
                SignatureFailure::NotYetValid => (
                    Cause::SignatureNotYetValid,
                    format!("The RRSIG over {owner} {rtype} is not valid yet ({detail}): the signer's clock runs ahead, or this resolver's runs behind"),
                    "Check the signer's clock (NTP) and re-sign; check this resolver's clock \
                     too.",
                ),
                SignatureFailure::BadSignature if !signed_with_supported(detail) => (
                    Cause::AlgorithmMismatch,
                    format!("The RRSIG over {owner} {rtype} uses an algorithm whydns cannot verify ({detail}), yet the zone is secure through a key of a supported algorithm"),
                    "Sign every RRset with each algorithm that the zone's DS and DNSKEY list \
                     (RFC 6840 §5.11), or drop the unsupported algorithm from the zone and \
                     its DS together.",
                ),
                SignatureFailure::BadSignature => (
                    Cause::SignatureInvalid,
                    format!("The RRSIG over {owner} {rtype} does not verify with the key it names ({detail}): data and signature do not match"),
                    "Re-sign the zone; find what changed the data after signing (a hand edit, \
                     a server serving a stale or mixed copy, a middlebox).",
                ),
                SignatureFailure::NoMatchingKey => (
                    Cause::SigningKeyMissing,
                    format!("The RRSIG over {owner} {rtype} was made by a key the zone does not publish ({detail})"),
                    "Publish the signing key in the zone's DNSKEY RRset, or re-sign with a key \
                     that is published; during a key rollover, publish the new key before \
                     signing with it.",
                ),
                SignatureFailure::NoZoneKeyBit => (
                    Cause::ZoneKeyFlagMissing,
                    format!("The RRSIG over {owner} {rtype} was made by a DNSKEY without the zone-key flag ({detail})"),
                    "Publish the zone's keys with flags 256 (ZSK) or 257 (KSK).",
                ),
            };
            diagnosis(
                cause,
                summary,
                ev,
                remedy.into(),
                vec![cd_check(r), server_check(r, None, owner, rtype)],
            )
        }
        BogusReason::DnskeyMissing { zone, detail } => diagnosis(
            Cause::DsKeyMismatch,
            format!(
                "No DNSKEY of {zone} matches its DS at {} ({detail}): the chain of trust breaks at the delegation",
                parent_of(zone)
            ),
            ev,
            format!(
                "Make the DS for {zone} at {} match the zone's current KSK, or publish the key \
                 it names again; in a KSK rollover, keep the old key until the new DS has \
                 propagated.",
                parent_of(zone)
            ),
            vec![
                cd_check(r),
                format!("dig +norec {zone} DS @<a server of {}>", parent_of(zone)),
                format!("dig +norec {zone} DNSKEY @<a server of {zone}> | dnssec-dsfromkey -f - {zone}"),
            ],
        ),
        BogusReason::DsDigestMismatch { zone, key_tag } => diagnosis(
            Cause::DsDigestMismatch,
            format!(
                "The DS for {zone} at {} names key {key_tag}, which {zone} publishes, but its digest does not match that key",
                parent_of(zone)
            ),
            ev,
            format!(
                "Recompute the DS from the current KSK of {zone} (dnssec-dsfromkey) and \
                 replace the one at {} (the registrar).",
                parent_of(zone)
            ),
            vec![
                cd_check(r),
                format!("dig +norec {zone} DNSKEY @<a server of {zone}> | dnssec-dsfromkey -f - {zone}"),
            ],
        ),
        BogusReason::NsecMissing { name, detail } => diagnosis(
            Cause::DenialMissing,
            format!("The negative answer for {name} carries no NSEC/NSEC3 proof ({detail})"),
            ev,
            "Serve the zone's NSEC/NSEC3 records: re-sign the zone and check that its servers \
             return them with DO set."
                .into(),
            vec![cd_check(r), server_check(r, None, name, &r.rtype)],
        ),
        BogusReason::DenialFailed { name, detail } => diagnosis(
            Cause::DenialInvalid,
            format!("The NSEC/NSEC3 records for {name} do not prove the denial ({detail})"),
            ev,
            "Re-sign the zone so that its NSEC/NSEC3 chain is complete and matches its \
             content; check that every server serves the same signed copy."
                .into(),
            vec![cd_check(r), server_check(r, None, name, &r.rtype)],
        ),
        BogusReason::Nsec3IterationsRefused { zone, iterations } => diagnosis(
            Cause::Nsec3IterationsRefused,
            format!(
                "NSEC3 in {zone} uses {iterations} iterations, so many that the answer is refused as too costly to check (RFC 9276 §3.2)"
            ),
            ev,
            format!("Re-sign {zone} with NSEC3 iterations 0 and an empty salt (RFC 9276 §3.1)."),
            vec![format!("dig +norec {zone} NSEC3PARAM @<a server of {zone}>")],
        ),
        BogusReason::BudgetExhausted { detail } => diagnosis(
            Cause::ValidationWorkLimit,
            format!(
                "Validation stopped at the per-query work limit ({detail}): the zone's keys and signatures are shaped like a KeyTrap attack (CVE-2023-50387)"
            ),
            ev,
            "If the zone is yours: publish few keys with distinct key tags and one signature \
             per key and RRset."
                .into(),
            vec![server_check(r, None, &r.name, "DNSKEY")],
        ),
    }
}

/// Whether the algorithm in a signature detail ("key 1234 alg 13 valid ...", written by
/// `dnssec::verdict`) is one whydns verifies; unknown formats count as supported.
fn signed_with_supported(detail: &str) -> bool {
    let mut words = detail.split_whitespace();
    while let Some(word) = words.next() {
        if word == "alg" {
            if let Some(alg) = words.next().and_then(|a| a.parse::<u8>().ok()) {
                return crate::dnssec::algorithm_supported(alg);
            }
        }
    }
    true
}

fn diagnose_insecure(r: &Resolution, reason: &InsecureReason, names: &Names) -> Diagnosis {
    let ev = evidence(&r.trace, is_dnssec_trouble);
    match reason {
        InsecureReason::UnsupportedAlgorithm { zone, algorithms } => diagnosis(
            Cause::UnsupportedAlgorithm,
            format!(
                "{zone} is signed only with algorithm(s) {algorithms:?}, which whydns does not validate (RFC 8624): the answer is treated as insecure"
            ),
            ev,
            format!(
                "Re-sign {zone} with algorithm 13 (ECDSAP256SHA256) or 15 (Ed25519) and \
                 update its DS at {}.",
                names.parent(zone)
            ),
            vec![format!("dig +norec {zone} DS @<a server of {}>", names.parent(zone))],
        ),
        InsecureReason::UnsupportedDigest { zone, digest_types } => diagnosis(
            Cause::UnsupportedDigest,
            format!(
                "The DS for {zone} uses only digest type(s) {digest_types:?}, which whydns does not support: the answer is treated as insecure"
            ),
            ev,
            format!(
                "Publish a DS with digest type 2 (SHA-256) for {zone} at {}.",
                names.parent(zone)
            ),
            vec![format!("dig +norec {zone} DS @<a server of {}>", names.parent(zone))],
        ),
        InsecureReason::Nsec3Iterations { zone, iterations } => diagnosis(
            Cause::Nsec3IterationsHigh,
            format!(
                "NSEC3 in {zone} uses {iterations} iterations, above the limit: the denial is treated as insecure (RFC 9276 §3.2)"
            ),
            ev,
            format!("Re-sign {zone} with NSEC3 iterations 0 and an empty salt (RFC 9276 §3.1)."),
            vec![format!("dig +norec {zone} NSEC3PARAM @<a server of {zone}>")],
        ),
        InsecureReason::NoTrustAnchor
        | InsecureReason::NoDs { .. }
        | InsecureReason::ValidationDisabled => diagnose_answer(r, names),
    }
}

/// Answers and denials: nothing is broken unless a server failed along the way.
fn diagnose_answer(r: &Resolution, names: &Names) -> Diagnosis {
    let security = match &r.security {
        Security::Secure => "secure (DNSSEC validated)".to_string(),
        Security::Insecure { reason } => match reason {
            InsecureReason::NoDs { zone } => format!("insecure: {zone} is an unsigned delegation"),
            InsecureReason::NoTrustAnchor => "insecure: no trust anchor covers it".into(),
            InsecureReason::ValidationDisabled => "not validated (validation is off)".into(),
            _ => "insecure".into(),
        },
        _ => "not validated".into(),
    };
    let failed = failed_over(&r.trace);
    if !failed.is_empty() {
        let who: Vec<String> = failed
            .iter()
            .map(|f| {
                format!(
                    "{} {} for {}",
                    names.who(&f.server),
                    f.failure.describe(),
                    f.zone
                )
            })
            .collect();
        let zones: Vec<&str> = failed.iter().map(|f| f.zone.as_str()).collect();
        return diagnosis(
            Cause::ResolvedAfterFailover,
            format!(
                "{} {} resolved ({security}), but only after failover: {}",
                r.name,
                r.rtype,
                who.join("; ")
            ),
            evidence(&r.trace, |e| {
                matches!(e, Event::ServerFailed { server, .. }
                    if failed.iter().any(|f| f.server == *server))
            }),
            format!(
                "Fix the failing server(s) of {} or remove them from the delegation: every \
                 resolver loses time on them and the zone is less redundant than it looks.",
                zones.join(", ")
            ),
            failed
                .iter()
                .take(2)
                .map(|f| {
                    format!(
                        "dig @{} -p {} +norec {} SOA",
                        f.server.ip(),
                        f.server.port(),
                        f.zone
                    )
                })
                .collect(),
        );
    }
    let denial = |e: &Event| {
        matches!(e, Event::ResponseReceived { kind, .. }
            if matches!(kind, ResponseKind::NxDomain | ResponseKind::NoData))
            || matches!(e, Event::DenialChecked { .. } | Event::CacheHit { .. })
    };
    let zone = r
        .authority
        .first()
        .map(|soa| soa.name.to_string())
        .unwrap_or_else(|| "its zone".into());
    match r.outcome {
        Outcome::NxDomain => diagnosis(
            Cause::NameDoesNotExist,
            format!("{} does not exist: {zone} says so ({security})", r.name),
            evidence(&r.trace, denial),
            format!(
                "Nothing is broken if the name is not meant to exist; otherwise add it to {zone}."
            ),
            Vec::new(),
        ),
        Outcome::NoData => diagnosis(
            Cause::NoData,
            format!(
                "{} exists but has no {} records ({security})",
                r.name, r.rtype
            ),
            evidence(&r.trace, denial),
            format!(
                "Nothing is broken if there should be no {} records; otherwise add them to {zone}.",
                r.rtype
            ),
            Vec::new(),
        ),
        _ => diagnosis(
            Cause::Resolved,
            format!(
                "{} {} resolved to {} record(s) ({security})",
                r.name,
                r.rtype,
                r.answers.len()
            ),
            evidence(&r.trace, |e| {
                matches!(
                    e,
                    Event::ResponseReceived {
                        kind: ResponseKind::Answer,
                        ..
                    } | Event::AnswerSecurity { .. }
                        | Event::CnameFollowed { .. }
                        | Event::DnameFollowed { .. }
                )
            }),
            "Nothing to fix.".into(),
            Vec::new(),
        ),
    }
}
