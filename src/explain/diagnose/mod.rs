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

use hickory_proto::rr::Name;

mod answer;
mod delegation;
mod dnssec;
mod sentinel;

use super::outcome::{Outcome, Resolution};
use crate::explain::diagnosis::{Cause, Diagnosis, Evidence};
use crate::explain::event::{Event, Limit, ResponseKind, ServerFailure, Trace, TraceEntry};
use crate::explain::render::render_line;
use crate::explain::verdict::{DenialVerdict, Security};
use answer::diagnose_answer;
use delegation::diagnose_failure;
use dnssec::{diagnose_bogus, diagnose_insecure};

/// Evidence lines kept per diagnosis: enough to prove the cause, short enough to read.
const MAX_EVIDENCE: usize = 8;

/// A server that failed for a zone during a resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedOver {
    pub server: SocketAddr,
    pub zone: Name,
    pub failure: ServerFailure,
}

/// Every server that failed for a zone (once per server and zone), split by whether it gave
/// a usable answer later in the same resolution: (never answered, answered when asked again).
fn server_failures(trace: &Trace) -> (Vec<FailedOver>, Vec<FailedOver>) {
    let mut never = Vec::new();
    let mut later = Vec::new();
    for (i, entry) in trace.entries.iter().enumerate() {
        let Event::ServerFailed {
            server,
            zone,
            failure,
        } = &entry.event
        else {
            continue;
        };
        let seen = |list: &Vec<FailedOver>| {
            list.iter()
                .any(|f: &FailedOver| f.server == *server && f.zone == *zone)
        };
        if seen(&never) || seen(&later) {
            continue;
        }
        let answered = trace.entries[i + 1..].iter().any(|e| {
            matches!(&e.event, Event::ResponseReceived { server: s, kind, .. }
                if s == server && usable(*kind))
        });
        let failed = FailedOver {
            server: *server,
            zone: zone.clone(),
            failure: *failure,
        };
        if answered {
            later.push(failed);
        } else {
            never.push(failed);
        }
    }
    (never, later)
}

/// Servers that failed while another server of their zone carried the resolution: what
/// makes a successful answer noteworthy (EDE 0 with the server named).
pub fn failed_over(trace: &Trace) -> Vec<FailedOver> {
    server_failures(trace).0
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
    servers: HashMap<IpAddr, Name>,
    parents: HashMap<String, String>,
    /// Addresses of each zone's servers, from referral glue and cached delegations.
    zone_servers: HashMap<String, Vec<IpAddr>>,
    /// The port authoritative servers were asked on (53 but in a lab on another port).
    port: Option<u16>,
}

impl Names {
    fn from(trace: &Trace) -> Names {
        let mut servers = HashMap::new();
        let mut parents = HashMap::new();
        let mut zone_servers: HashMap<String, Vec<IpAddr>> = HashMap::new();
        let mut port = None;
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
                    parents.insert(to_zone.to_string(), from_zone.to_string());
                    let usable = glue.iter().filter(|g| g.rejected.is_none());
                    zone_servers
                        .entry(to_zone.to_string())
                        .or_default()
                        .extend(usable.map(|g| g.address));
                }
                Event::SubResolutionFinished { ns, addresses } => {
                    for a in addresses {
                        servers.entry(*a).or_insert_with(|| ns.clone());
                    }
                }
                Event::DelegationCached {
                    zone,
                    servers: cached,
                } => {
                    for (ns, addresses) in cached {
                        for a in addresses {
                            servers.entry(*a).or_insert_with(|| ns.clone());
                        }
                        zone_servers
                            .entry(zone.to_string())
                            .or_default()
                            .extend(addresses.iter().copied());
                    }
                }
                Event::QuerySent { server, .. } => {
                    port.get_or_insert(server.port());
                }
                _ => {}
            }
        }
        Names {
            servers,
            parents,
            zone_servers,
            port,
        }
    }

    /// `@address [-p port]` of a server of `zone` the trace knows, for a dig command line;
    /// a placeholder when it knows none.
    fn at(&self, zone: &str) -> String {
        match self.zone_servers.get(zone).and_then(|a| a.first()) {
            Some(address) => match self.port {
                Some(port) if port != 53 => format!("@{address} -p {port}"),
                _ => format!("@{address}"),
            },
            None => format!("@<a server of {zone}>"),
        }
    }

    /// "ns1.example.lab. (127.0.0.1)", or the address alone when no name is known.
    fn who(&self, server: &SocketAddr) -> String {
        match self.servers.get(&server.ip()) {
            Some(name) => format!("{name} ({})", server.ip()),
            None => server.ip().to_string(),
        }
    }

    /// The zone that delegates `zone`, as this trace saw it (a delegation found in the cache
    /// does not say who made it).
    fn parent(&self, zone: &str) -> String {
        self.parents
            .get(zone)
            .cloned()
            .unwrap_or_else(|| format!("the parent of {zone}"))
    }
}

/// Collects evidence: the trace entries whose event matches, rendered as the tree shows them.
fn evidence(trace: &Trace, wanted: impl Fn(&Event) -> bool) -> Vec<Evidence> {
    evidence_entries(trace, |t| wanted(&t.event))
}

/// As [`evidence`], choosing on the whole entry (its depth too).
fn evidence_entries(trace: &Trace, wanted: impl Fn(&TraceEntry) -> bool) -> Vec<Evidence> {
    trace
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| wanted(e))
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
            } if wanted.is_none_or(|w| w.eq_ignore_ascii_case(&n.to_string())) => Some(*server),
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
    // Sentences that end in a domain name would end in "..".
    let tidy = |mut text: String| {
        while text.ends_with("..") {
            text.pop();
        }
        text
    };
    Diagnosis {
        cause,
        summary: tidy(summary),
        evidence,
        remedy: tidy(remedy),
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
                Security::Indeterminate { reason: detail } => diagnosis(
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
            "; the data itself arrived ({} record(s), which dig +cd returns): only validation fails",
            r.answers.len()
        ),
        Outcome::NxDomain => {
            "; the server did deny the name: only the proof of the denial fails".to_string()
        }
        Outcome::NoData => {
            "; the server did deny the type: only the proof of the denial fails".to_string()
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
        Event::SignatureIgnored { .. } | Event::CnameRejected { .. } => true,
        Event::DenialChecked { verdict, .. } => !matches!(verdict, DenialVerdict::Proven { .. }),
        Event::ZoneSecurity { security, .. } | Event::AnswerSecurity { security } => {
            !security.is_secure()
        }
        Event::LimitReached { limit, .. } => {
            matches!(limit, Limit::SignatureChecks | Limit::Nsec3Hashes)
        }
        _ => false,
    }
}

/// Servers that rejected EDNS (FORMERR or NOTIMP to an EDNS query) in this resolution,
/// so whydns asked them again without it: a noteworthy success (EDE 0).
pub fn edns_fallbacks(trace: &Trace) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for event in trace.events() {
        if let Event::EdnsFallback { server } = event {
            if !out.contains(server) {
                out.push(*server);
            }
        }
    }
    out
}
