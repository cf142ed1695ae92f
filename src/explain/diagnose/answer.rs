//! Diagnoses of resolutions that produced an answer or a denial: nothing is broken unless a
//! server failed along the way (failover, EDNS rejected, slow retries) or a DNAME points
//! below itself; otherwise the answer, the NXDOMAIN or the NODATA is the diagnosis.

use std::net::SocketAddr;

use super::{
    diagnosis, edns_fallbacks, evidence, evidence_entries, server_failures, FailedOver, Names,
};
use crate::explain::diagnosis::{Cause, Diagnosis, Evidence};
use crate::explain::event::{Event, ResponseKind, Trace};
use crate::explain::outcome::{Outcome, Resolution};
use crate::explain::verdict::{InsecureReason, Security};

/// Answers and denials: the first cause that applies, in the order an operator should hear.
pub(super) fn diagnose_answer(r: &Resolution, names: &Names) -> Diagnosis {
    if let Some(d) = dname_loop(r) {
        return d;
    }
    let security = security_words(&r.security);
    let (failed, retried) = server_failures(&r.trace);
    if !failed.is_empty() {
        return after_failover(r, names, &security, &failed);
    }
    let no_edns = edns_fallbacks(&r.trace);
    if !no_edns.is_empty() {
        return edns_rejected(r, names, &security, &no_edns);
    }
    if !retried.is_empty() {
        return after_retry(r, names, &security, &retried);
    }
    match r.outcome {
        Outcome::NxDomain | Outcome::NoData => denied(r, &security),
        _ => resolved(r, &security),
    }
}

/// The verdict on the answer, as the summary's parenthesis says it.
fn security_words(security: &Security) -> String {
    match security {
        Security::Secure => "secure (DNSSEC validated)".to_string(),
        Security::Insecure { reason } => match reason {
            InsecureReason::NoDs { zone } => format!("insecure: {zone} is an unsigned delegation"),
            InsecureReason::NoTrustAnchor => "insecure: no trust anchor covers it".into(),
            InsecureReason::ValidationDisabled => "not validated (validation is off)".into(),
            InsecureReason::RrsigsNotSigned => {
                "not validated: RRSIG records are not signed (RFC 4035 §3.2.1)".into()
            }
            _ => "insecure".into(),
        },
        _ => "not validated".into(),
    }
}

/// An answer cut short at a DNAME that points below itself.
fn dname_loop(r: &Resolution) -> Option<Diagnosis> {
    let (owner, target) = r.trace.events().find_map(|e| match e {
        Event::DnameLoop { owner, target } => Some((owner, target)),
        _ => None,
    })?;
    Some(diagnosis(
        Cause::DnameLoop,
        format!(
            "{} {}: the DNAME {owner} points at {target}, below itself, so every name it \
             rewrites is rewritten again without end (RFC 6672 §4); the answer is the DNAME \
             and the CNAME it synthesises",
            r.name, r.rtype
        ),
        evidence(&r.trace, |e| matches!(e, Event::DnameLoop { .. })),
        format!("Point the DNAME at {owner} at a name outside its own subtree."),
        vec![format!("dig +norec {owner} DNAME")],
    ))
}

/// "dig @server -p port +norec zone SOA" for the first two failed servers, with a note.
fn soa_checks(failed: &[FailedOver], note: &str) -> Vec<String> {
    failed
        .iter()
        .take(2)
        .map(|f| {
            format!(
                "dig @{} -p {} +norec {} SOA{note}",
                f.server.ip(),
                f.server.port(),
                f.zone
            )
        })
        .collect()
}

fn after_failover(
    r: &Resolution,
    names: &Names,
    security: &str,
    failed: &[FailedOver],
) -> Diagnosis {
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
    let zones: Vec<String> = failed.iter().map(|f| f.zone.to_string()).collect();
    diagnosis(
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
        soa_checks(failed, ""),
    )
}

fn edns_rejected(
    r: &Resolution,
    names: &Names,
    security: &str,
    no_edns: &[SocketAddr],
) -> Diagnosis {
    let who: Vec<String> = no_edns.iter().map(|s| names.who(s)).collect();
    diagnosis(
        Cause::EdnsNotSupported,
        format!(
            "{} {} resolved ({security}), but {} rejected EDNS (RFC 6891) and had to be asked again without it",
            r.name,
            r.rtype,
            who.join(", ")
        ),
        evidence(&r.trace, |e| {
            matches!(e, Event::EdnsFallback { .. })
                || matches!(e, Event::ResponseReceived { server, .. } if no_edns.contains(server))
        }),
        "Upgrade or fix the server (or the firewall in front of it) so that it answers EDNS \
         queries: without EDNS there is no DNSSEC and no answer larger than 512 bytes over \
         UDP, and resolvers stopped working around this on DNS Flag Day 2019."
            .into(),
        no_edns
            .iter()
            .take(2)
            .map(|s| {
                format!(
                    "dig @{} -p {} +norec +edns=0 {} {}  (expect no FORMERR)",
                    s.ip(),
                    s.port(),
                    r.name,
                    r.rtype
                )
            })
            .collect(),
    )
}

fn after_retry(r: &Resolution, names: &Names, security: &str, retried: &[FailedOver]) -> Diagnosis {
    let who: Vec<String> = retried
        .iter()
        .map(|f| {
            format!(
                "{} {} for {}, then answered",
                names.who(&f.server),
                f.failure.describe(),
                f.zone
            )
        })
        .collect();
    diagnosis(
        Cause::ResolvedAfterRetry,
        format!(
            "{} {} resolved ({security}), but slowly: {}",
            r.name,
            r.rtype,
            who.join("; ")
        ),
        evidence(&r.trace, |e| {
            matches!(e, Event::ServerFailed { server, .. } | Event::ResponseReceived { server, .. }
                if retried.iter().any(|f| f.server == *server))
        }),
        "Find out why the server answers late or loses queries (load, rate limiting, \
         packet loss on the path); resolvers give up on servers that keep doing it."
            .into(),
        soa_checks(retried, "  (look at the query time)"),
    )
}

/// The name the answer was finally looked up under: the end of the CNAME/DNAME chain.
fn final_name(r: &Resolution) -> String {
    let mut current = r.name.clone();
    for event in r.trace.events() {
        match event {
            Event::CnameFollowed { to, .. } => current = to.to_string(),
            Event::DnameFollowed { owner, target } => {
                // RFC 6672: the owner's suffix of the name is replaced by the target.
                let lower = current.to_ascii_lowercase();
                if let Some(prefix) = lower.strip_suffix(&owner.to_string().to_ascii_lowercase()) {
                    current = format!("{}{target}", &current[..prefix.len()]);
                }
            }
            _ => {}
        }
    }
    current
}

/// The proof of a denial: the final negative response and the checks of its denial, plus
/// the aliases that led there (not the minimised probes on the way down).
fn denial_evidence(trace: &Trace, denied: &str) -> Vec<Evidence> {
    let is_denied = |name: &hickory_proto::rr::Name| name.to_string().eq_ignore_ascii_case(denied);
    let mut ev = evidence(trace, |e| match e {
        Event::ResponseReceived { kind, .. } => {
            matches!(kind, ResponseKind::NxDomain | ResponseKind::NoData)
        }
        Event::DenialChecked { name, .. } | Event::CacheHit { name, .. } => is_denied(name),
        Event::CnameFollowed { .. } | Event::DnameFollowed { .. } => true,
        _ => false,
    });
    // Of the negative responses, keep only the last: earlier ones answered probes.
    let responses: Vec<usize> = ev
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(trace.entries[e.event].event, Event::ResponseReceived { .. }))
        .map(|(i, _)| i)
        .collect();
    if let Some((_, earlier)) = responses.split_last() {
        for i in earlier.iter().rev() {
            ev.remove(*i);
        }
    }
    ev
}

/// NXDOMAIN or NODATA: nothing is broken if the name or type is not meant to exist.
fn denied(r: &Resolution, security: &str) -> Diagnosis {
    let denied = final_name(r);
    let alias = if denied.eq_ignore_ascii_case(&r.name) {
        String::new()
    } else {
        format!("{} is an alias of {denied}, and ", r.name)
    };
    let zone = r
        .authority
        .first()
        .map(|soa| soa.name.to_string())
        .unwrap_or_else(|| "its zone".into());
    let evidence = denial_evidence(&r.trace, &denied);
    if matches!(r.outcome, Outcome::NxDomain) {
        return diagnosis(
            Cause::NameDoesNotExist,
            format!("{alias}{denied} does not exist: {zone} says so ({security})"),
            evidence,
            format!(
                "Nothing is broken if the name is not meant to exist; otherwise add {denied} to the zone {zone}"
            ),
            Vec::new(),
        );
    }
    diagnosis(
        Cause::NoData,
        format!("{alias}{denied} exists but has no {} records ({security})", r.rtype),
        evidence,
        format!(
            "Nothing is broken if there should be no {} records; otherwise add them to the zone {zone}",
            r.rtype
        ),
        Vec::new(),
    )
}

fn resolved(r: &Resolution, security: &str) -> Diagnosis {
    diagnosis(
        Cause::Resolved,
        format!(
            "{} {} resolved to {} record(s) ({security})",
            r.name,
            r.rtype,
            r.answers.len()
        ),
        evidence_entries(&r.trace, |t| {
            t.depth == 0
                && matches!(
                    t.event,
                    Event::ResponseReceived {
                        kind: ResponseKind::Answer,
                        ..
                    } | Event::AnswerSecurity { .. }
                        | Event::CnameFollowed { .. }
                        | Event::DnameFollowed { .. }
                        | Event::CacheHit { .. }
                )
        }),
        "Nothing to fix.".into(),
        Vec::new(),
    )
}
