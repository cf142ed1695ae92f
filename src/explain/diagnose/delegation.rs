//! Diagnoses of failed resolutions: unreachable or lame authorities, missing addresses,
//! circular dependencies, limits and alias loops (and, handed on, the root key sentinel).

use std::net::SocketAddr;

use hickory_proto::rr::Name;

use super::{diagnosis, evidence, Names};
use crate::explain::diagnosis::{Cause, Diagnosis, Evidence};
use crate::explain::event::{cycle_text, CycleStep, Event, Limit, ServerFailure};
use crate::explain::outcome::{Failure, Resolution};

pub(super) fn diagnose_failure(r: &Resolution, failure: &Failure, names: &Names) -> Diagnosis {
    match failure {
        Failure::NoReachableAuthority { zone, servers } => {
            unreachable_authority(r, zone, servers, names)
        }
        Failure::NoServerAddress { zone, ns } => no_server_address(r, zone, ns, names),
        Failure::CircularDependency { path } => circular_dependency(r, path, names),
        Failure::LimitReached { limit } => limit_reached(r, *limit),
        Failure::AliasLoop { chain } => alias_loop(r, chain),
        Failure::RootKeySentinel { kind, tag, trusted } => {
            super::sentinel::diagnose_sentinel(r, *kind, *tag, trusted)
        }
    }
}

/// No NS name of `zone` has an address: missing glue for the names inside it, or names
/// elsewhere that do not resolve.
fn no_server_address(r: &Resolution, zone: &str, ns: &[String], names: &Names) -> Diagnosis {
    // Glue only exists for NS names inside the delegated zone (RFC 9471); an NS name
    // elsewhere must resolve on its own (a lapsed domain or a typo breaks that).
    let inside = |n: &&String| {
        let (n, z) = (n.to_ascii_lowercase(), zone.to_ascii_lowercase());
        n == z || n.ends_with(&format!(".{z}"))
    };
    let (in_zone, elsewhere): (Vec<&String>, Vec<&String>) = ns.iter().partition(inside);
    let listed = |names: &[&String]| {
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let parent = names.parent(zone);
    let mut why = Vec::new();
    let mut remedy = Vec::new();
    if !in_zone.is_empty() {
        why.push(format!(
            "{parent} sends no usable glue for {}",
            listed(&in_zone)
        ));
        remedy.push(format!(
            "add glue (A/AAAA) for the in-zone nameservers at {parent}"
        ));
    }
    if !elsewhere.is_empty() {
        why.push(format!(
            "{} did not resolve to any address",
            listed(&elsewhere)
        ));
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
        evidence(&r.trace, |e| {
            matches!(
                e,
                Event::GlueMissing { .. } | Event::SubResolutionFinished { .. }
            ) || matches!(e, Event::ReferralFollowed { to_zone, .. } if to_zone.to_string() == zone)
        }),
        format!("For {zone}: {}.", remedy.join("; ")),
        ns.iter()
            .take(2)
            .map(|n| format!("dig +short {n} A"))
            .collect(),
    )
}

/// Each zone's servers can only be found through the next zone: say who delegates what to
/// whom, once per zone.
fn circular_dependency(r: &Resolution, path: &[CycleStep], names: &Names) -> Diagnosis {
    let steps: Vec<String> = path
        .iter()
        .map(|step| {
            format!(
                "{} delegates {} to {} without usable glue",
                names.parent(&step.zone.to_string()),
                step.zone,
                step.ns
            )
        })
        .collect();
    let on_path = |name: &Name| path.iter().any(|s| s.zone == *name || s.ns == *name);
    diagnosis(
        Cause::CircularDependency,
        format!(
            "Circular dependency: {}: {}, so each nameserver's address can only be found through the other zone",
            cycle_text(path),
            steps.join("; ")
        ),
        evidence(&r.trace, |e| match e {
            Event::CycleDetected { .. }
            | Event::GlueMissing { .. }
            | Event::SubResolutionStarted { .. } => true,
            Event::ReferralFollowed { to_zone, .. } => on_path(to_zone),
            _ => false,
        }),
        "Give at least one of the zones a nameserver whose address resolves independently: \
         in-bailiwick with glue at its parent, or in a third zone that depends on neither."
            .into(),
        path.iter()
            .map(|step| {
                let parent = names.parent(&step.zone.to_string());
                format!(
                    "dig +norec {} NS {}  (NS names and glue)",
                    step.zone,
                    names.at(&parent)
                )
            })
            .collect(),
    )
}

fn limit_reached(r: &Resolution, limit: Limit) -> Diagnosis {
    let (summary, remedy) = limit_words(limit, r);
    diagnosis(
        Cause::LimitReached,
        summary,
        evidence(&r.trace, |e| {
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

fn alias_loop(r: &Resolution, chain: &[String]) -> Diagnosis {
    diagnosis(
        Cause::AliasLoop,
        format!("CNAME/DNAME loop: {}", chain.join(" -> ")),
        evidence(&r.trace, |e| {
            matches!(e, Event::CnameFollowed { .. } | Event::DnameFollowed { .. })
        }),
        "Point one of the aliases at a name that has data, breaking the loop.".into(),
        chain
            .first()
            .map(|n| vec![format!("dig +norec {n} CNAME")])
            .unwrap_or_default(),
    )
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

/// What is known of a zone none of whose servers gave a usable answer.
struct Unreachable<'a> {
    r: &'a Resolution,
    zone: &'a str,
    servers: &'a [(SocketAddr, ServerFailure)],
    names: &'a Names,
    parent: String,
}

impl Unreachable<'_> {
    /// "ns1.x.lab. (127.0.0.1) timed out" for each server whose failure `pred` picks.
    fn list(&self, pred: impl Fn(ServerFailure) -> bool) -> Vec<String> {
        self.servers
            .iter()
            .filter(|(_, f)| pred(*f))
            .map(|(s, f)| format!("{} {}", self.names.who(s), f.describe()))
            .collect()
    }

    fn any(&self, pred: impl Fn(ServerFailure) -> bool) -> bool {
        self.servers.iter().any(|(_, f)| pred(*f))
    }

    fn all(&self, pred: impl Fn(ServerFailure) -> bool) -> bool {
        self.servers.iter().all(|(_, f)| pred(*f))
    }

    fn evidence(&self) -> Vec<Evidence> {
        let zone = self.zone;
        evidence(&self.r.trace, |e| match e {
            Event::ServerFailed { zone: z, .. }
            | Event::ServerSkipped { zone: z, .. }
            | Event::ZoneUnreachable { zone: z, .. }
            | Event::ReferralFollowed { to_zone: z, .. } => z.to_string() == zone,
            _ => false,
        })
    }

    /// A SOA query to the first two servers, expecting an authoritative answer.
    fn checks(&self) -> Vec<String> {
        let zone = self.zone;
        self.servers
            .iter()
            .take(2)
            .map(|(s, _)| {
                format!(
                    "dig @{} -p {} +norec {zone} SOA  (expect an answer with the aa flag)",
                    s.ip(),
                    s.port()
                )
            })
            .collect()
    }
}

/// Every server of `zone` failed: name the kind of failure the operator must fix, the
/// largest group first.
fn unreachable_authority(
    r: &Resolution,
    zone: &str,
    servers: &[(SocketAddr, ServerFailure)],
    names: &Names,
) -> Diagnosis {
    let u = Unreachable {
        r,
        zone,
        servers,
        names,
        parent: names.parent(zone),
    };
    if u.any(|f| f == ServerFailure::TruncatedNoTcp) {
        return tcp_refused(&u);
    }
    if servers.is_empty() {
        return diagnosis(
            Cause::ServersUnreachable,
            format!("No server of {zone} could be asked: none was usable"),
            u.evidence(),
            format!("Check the NS records and glue for {zone} at {}.", u.parent),
            Vec::new(),
        );
    }
    if u.any(ServerFailure::is_lame) {
        return lame_delegation(&u);
    }
    if u.any(|f| f == ServerFailure::ServFail) {
        return servers_failing(&u);
    }
    if u.all(|f| matches!(f, ServerFailure::Timeout | ServerFailure::Unreachable)) {
        return servers_unreachable(&u);
    }
    servers_broken(&u)
}

fn tcp_refused(u: &Unreachable) -> Diagnosis {
    let (zone, r) = (u.zone, u.r);
    let who = u.list(|f| f == ServerFailure::TruncatedNoTcp).join("; ");
    let tcp: Vec<String> = u
        .servers
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
    diagnosis(
        Cause::TcpRefused,
        format!(
            "{who} for {zone}: the answer is larger than UDP allows and TCP, which must then be used, is refused"
        ),
        u.evidence(),
        format!(
            "Allow DNS over TCP port 53 to the servers of {zone} (RFC 7766 makes TCP \
             mandatory); check firewalls and the server's TCP listener."
        ),
        tcp,
    )
}

fn lame_delegation(u: &Unreachable) -> Diagnosis {
    let (zone, parent) = (u.zone, &u.parent);
    let lame = u.list(ServerFailure::is_lame);
    let others = u.list(|f| !f.is_lame());
    let refused_only = u.all(|f| f == ServerFailure::Refused);
    diagnosis(
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
        u.evidence(),
        format!(
            "Load {zone} on the servers {parent} delegates to and let them answer queries \
             for it, or change the NS set for {zone} at {parent} to servers that serve it."
        ),
        u.checks(),
    )
}

fn servers_failing(u: &Unreachable) -> Diagnosis {
    let zone = u.zone;
    diagnosis(
        Cause::ServersFailing,
        format!(
            "The servers of {zone} hold the zone but cannot serve it: {}",
            u.list(|_| true).join("; ")
        ),
        u.evidence(),
        format!(
            "Check the logs of the servers of {zone}: a zone file that failed to load, a \
             secondary whose copy expired (SOA expire) after losing its primary, or a \
             failing backend."
        ),
        u.checks(),
    )
}

fn servers_unreachable(u: &Unreachable) -> Diagnosis {
    let (zone, parent) = (u.zone, &u.parent);
    diagnosis(
        Cause::ServersUnreachable,
        format!(
            "No server of {zone} answered: {}",
            u.list(|_| true).join("; ")
        ),
        u.evidence(),
        format!(
            "Check that the servers of {zone} are running and reachable on UDP and TCP \
             port 53 (firewall, routing); if their addresses changed, update the glue \
             and NS records at {parent}."
        ),
        u.checks(),
    )
}

fn servers_broken(u: &Unreachable) -> Diagnosis {
    let zone = u.zone;
    diagnosis(
        Cause::ServersBroken,
        format!(
            "The servers of {zone} gave no usable answer: {}",
            u.list(|_| true).join("; ")
        ),
        u.evidence(),
        format!(
            "Fix or upgrade the server software of {zone} (EDNS, response format), and check \
             for middleboxes that rewrite or drop DNS."
        ),
        u.checks(),
    )
}
