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

mod delegation;
mod dnssec;

use super::{Outcome, Resolution};
use crate::dnssec::{InsecureReason, Security};
use crate::explain::diagnosis::{Cause, Diagnosis, Evidence};
use crate::explain::event::{Event, Limit, ResponseKind, ServerFailure, Trace};
use crate::explain::render::render_line;
use delegation::diagnose_failure;
use dnssec::{diagnose_bogus, diagnose_insecure};

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

/// The last server asked about `name` (else the last one asked anything), if any.
fn answering_server(trace: &Trace, name: &str) -> Option<SocketAddr> {
    let asked = |wanted: Option<&str>| {
        trace.entries.iter().rev().find_map(|e| match &e.event {
            Event::QuerySent {
                server, name: n, ..
            } if wanted.is_none_or(|w| w.eq_ignore_ascii_case(n)) => Some(*server),
            _ => None,
        })
    };
    asked(Some(name)).or_else(|| asked(None))
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
                Security::Bogus { reason } => {
                    with_data_note(self, diagnose_bogus(self, reason, &names))
                }
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

/// "+cd makes it work, so it is DNSSEC": a bogus answer whose data did arrive says so.
fn with_data_note(r: &Resolution, mut d: Diagnosis) -> Diagnosis {
    let note = match r.outcome {
        Outcome::Answer if !r.answers.is_empty() => format!(
            "; the data itself is there ({} record(s) came back, as dig +cd shows): only validation fails",
            r.answers.len()
        ),
        Outcome::NxDomain | Outcome::NoData => {
            "; the server did deny the name: only the proof of the denial fails".to_string()
        }
        _ => String::new(),
    };
    d.summary.push_str(&note);
    d
}

fn cd_check(r: &Resolution) -> String {
    format!(
        "dig @this-resolver +cd {} {}  (the data comes back: it exists, only validation fails)",
        r.name, r.rtype
    )
}

fn server_check(r: &Resolution, name: &str, rtype: &str) -> String {
    match answering_server(&r.trace, name) {
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
