//! Diagnoses of failed resolutions: unreachable or lame authorities, missing addresses,
//! circular dependencies, limits and alias loops (and, handed on, the root key sentinel).

use std::net::SocketAddr;

use super::{diagnosis, evidence, Names};
use crate::explain::diagnosis::{Cause, Diagnosis};
use crate::explain::event::{Event, Limit, ServerFailure};
use crate::explain::outcome::{Failure, Resolution};

pub(super) fn diagnose_failure(r: &Resolution, failure: &Failure, names: &Names) -> Diagnosis {
    let trace = &r.trace;
    match failure {
        Failure::NoReachableAuthority { zone, servers } => {
            unreachable_authority(r, zone, servers, names)
        }
        Failure::NoServerAddress { zone, ns } => {
            // Glue only exists for NS names inside the delegated zone (RFC 9471); an NS name
            // elsewhere must resolve on its own (a lapsed domain or a typo breaks that).
            let inside = |n: &String| {
                let (n, z) = (n.to_ascii_lowercase(), zone.to_ascii_lowercase());
                n == z || n.ends_with(&format!(".{z}"))
            };
            let (in_zone, elsewhere): (Vec<&String>, Vec<&String>) =
                ns.iter().partition(|n| inside(n));
            let parent = names.parent(zone);
            let mut why = Vec::new();
            if !in_zone.is_empty() {
                why.push(format!(
                    "{parent} sends no usable glue for {}",
                    in_zone
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !elsewhere.is_empty() {
                why.push(format!(
                    "{} did not resolve to any address",
                    elsewhere
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let mut remedy = Vec::new();
            if !in_zone.is_empty() {
                remedy.push(format!(
                    "add glue (A/AAAA) for the in-zone nameservers at {parent}"
                ));
            }
            if !elsewhere.is_empty() {
                remedy.push(
                    "make the out-of-zone NS names resolve (check that their domain has not \
                     lapsed and that the names are spelt right)"
                        .to_string(),
                );
            }
            diagnosis(
                Cause::NoServerAddress,
                format!(
                    "No address could be found for any nameserver of {zone}: {}",
                    why.join("; ")
                ),
                evidence(trace, |e| {
                    matches!(
                        e,
                        Event::GlueMissing { .. } | Event::SubResolutionFinished { .. }
                    ) || matches!(e, Event::ReferralFollowed { to_zone, .. } if to_zone == zone)
                }),
                format!("For {zone}: {}.", remedy.join("; ")),
                ns.iter()
                    .take(2)
                    .map(|n| format!("dig +short {n} A"))
                    .collect(),
            )
        }
        Failure::CircularDependency { path } => {
            // The path alternates zone, NS name, zone, ... and ends where it began: say who
            // delegates what to whom, once per zone.
            let ring = match path.split_last() {
                Some((last, rest)) if path.len() > 1 && path.first() == Some(last) => rest,
                _ => &path[..],
            };
            let steps: Vec<String> = ring
                .chunks(2)
                .filter_map(|pair| match pair {
                    [zone, ns] => Some(format!(
                        "{} delegates {zone} to {ns} without usable glue",
                        names.parent(zone)
                    )),
                    _ => None,
                })
                .collect();
            diagnosis(
                Cause::CircularDependency,
                format!(
                    "Circular dependency: {}: {}, so each nameserver's address can only be found through the other zone",
                    path.join(" -> "),
                    steps.join("; ")
                ),
                evidence(trace, |e| match e {
                    Event::CycleDetected { .. }
                    | Event::GlueMissing { .. }
                    | Event::SubResolutionStarted { .. } => true,
                    Event::ReferralFollowed { to_zone, .. } => path.contains(to_zone),
                    _ => false,
                }),
                "Give at least one of the zones a nameserver whose address resolves independently: \
                 in-bailiwick with glue at its parent, or in a third zone that depends on neither."
                    .into(),
                ring.chunks(2)
                    .filter_map(|pair| pair.first())
                    .map(|zone| format!("dig +norec {zone} NS {}  (NS names and glue)", names.at(&names.parent(zone))))
                    .collect(),
            )
        }
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
        Failure::RootKeySentinel { kind, tag, trusted } => {
            super::sentinel::diagnose_sentinel(r, *kind, *tag, trusted)
        }
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
        Limit::ValidationAllowance => (
            format!("Validating {q} needed a signature check when the whole resolver had spent its allowance for this second"),
            "Ask again in a second; if it persists, find the zones whose validation costs most, or raise limits.validations_per_second."
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
        Event::ServerFailed { zone: z, .. }
        | Event::ServerSkipped { zone: z, .. }
        | Event::ZoneUnreachable { zone: z, .. } => z == zone,
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
            .filter(|(_, f)| *f == ServerFailure::TruncatedNoTcp)
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
    if servers.is_empty() {
        return diagnosis(
            Cause::ServersUnreachable,
            format!("No server of {zone} could be asked: none was usable"),
            ev,
            format!("Check the NS records and glue for {zone} at {parent}."),
            Vec::new(),
        );
    }
    // Group by what went wrong: the largest group names the cause, the others are listed.
    let lame = list(&|f| f.is_lame());
    let refused_only = all(&|f| f == ServerFailure::Refused);
    if !lame.is_empty() {
        let others = list(&|f| !f.is_lame());
        return diagnosis(
            Cause::LameDelegation,
            format!(
                "{} for {zone}: lame delegation — {parent} delegates {zone} to servers that {}{}",
                lame.join("; "),
                if refused_only {
                    "refuse it: they do not serve the zone, or an ACL (allow-query) refuses this resolver"
                } else {
                    "do not serve it"
                },
                if others.is_empty() {
                    String::new()
                } else {
                    format!("; the others failed too: {}", others.join("; "))
                }
            ),
            ev,
            format!(
                "Load {zone} on the servers {parent} delegates to and let them answer queries \
                 for it, or change the NS set for {zone} at {parent} to servers that serve it."
            ),
            checks,
        );
    }
    if any(&|f| f == ServerFailure::ServFail) {
        return diagnosis(
            Cause::ServersFailing,
            format!("The servers of {zone} hold the zone but cannot serve it: {everyone}"),
            ev,
            format!(
                "Check the logs of the servers of {zone}: a zone file that failed to load, a \
                 secondary whose copy expired (SOA expire) after losing its primary, or a \
                 failing backend."
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
