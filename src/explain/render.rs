//! The trace as text for an operator: one event per line, top to bottom in the order they
//! happened, indented by sub-resolution depth, like `dig +trace` but complete (every query,
//! response, failure, referral with its glue, alias, limit and cache hit).
//!
//! The match over [`Event`] has no catch-all arm, so a new event does not compile until it
//! has a rendering. Tests assert on events, not on this wording; the wording may change.
//!
//! Limitations: plain text only (no colour); very long NS or glue lists stay on one line.

use std::fmt::Write as _;
use std::net::SocketAddr;

use hickory_proto::rr::Name;

use super::event::{
    cycle_text, key_tag_list, Event, GlueEntry, GlueRejection, Limit, ResponseKind, SentinelKind,
    ServerFailure, Trace, TraceEntry,
};
use super::verdict::{Security, SignatureCheck};

/// The whole trace as an indented tree, one line per event, ending in a newline.
pub fn render_tree(trace: &Trace) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ";; trace {} ({} events)",
        trace.id,
        trace.entries.len()
    );
    for entry in &trace.entries {
        let _ = writeln!(out, "{}", render_line(entry));
    }
    if trace.dropped > 0 {
        let _ = writeln!(
            out,
            ";; {} further events not kept: the trace was full",
            trace.dropped
        );
    }
    out
}

/// One entry: time since the start, indentation for its depth, then the event. What a
/// server said or did in reply to a query is indented one step further, under that query.
pub fn render_line(entry: &TraceEntry) -> String {
    let nested = matches!(
        entry.event,
        Event::ResponseReceived { .. }
            | Event::ServerFailed { .. }
            | Event::AnsweredWithoutAa { .. }
            | Event::SpoofDiscarded { .. }
            | Event::TcpFallback { .. }
            | Event::EdnsFallback { .. }
    );
    format!(
        "{:>6} ms  {}{}",
        entry.at_ms,
        "  ".repeat(entry.depth as usize + usize::from(nested)),
        describe(&entry.event)
    )
}

/// RCODE mnemonics (one implementation, in `event`).
pub use super::event::rcode_name as rcode_mnemonic;

/// One event in words. Every variant is routed here, without a catch-all, to the words of
/// its kind of step; each of those matches only the variants routed to it.
pub fn describe(event: &Event) -> String {
    match event {
        Event::ResolutionStarted { .. }
        | Event::CacheHit { .. }
        | Event::DelegationCached { .. }
        | Event::RootPrimed { .. }
        | Event::QnameMinimised { .. }
        | Event::LimitReached { .. }
        | Event::SentinelChecked { .. }
        | Event::ResolutionFinished { .. } => lookup_words(event),
        Event::QuerySent { .. }
        | Event::ResponseReceived { .. }
        | Event::ServerFailed { .. }
        | Event::AnsweredWithoutAa { .. }
        | Event::SpoofDiscarded { .. }
        | Event::TcpFallback { .. }
        | Event::QueryShared { .. }
        | Event::CaseNotEchoed { .. }
        | Event::EdnsFallback { .. }
        | Event::ServerSkipped { .. }
        | Event::ZoneUnreachable { .. } => server_words(event),
        Event::ReferralFollowed { .. }
        | Event::GlueMissing { .. }
        | Event::SubResolutionStarted { .. }
        | Event::SubResolutionFinished { .. }
        | Event::CycleDetected { .. }
        | Event::CnameFollowed { .. }
        | Event::DnameFollowed { .. }
        | Event::DnameLoop { .. } => delegation_words(event),
        Event::SignaturesChecked { .. }
        | Event::SignatureIgnored { .. }
        | Event::CnameRejected { .. }
        | Event::DenialChecked { .. }
        | Event::ZoneSecurity { .. }
        | Event::AnswerSecurity { .. } => dnssec_words(event),
    }
}

/// The resolution's own steps: start, cache, priming, minimisation, limits, the end.
fn lookup_words(event: &Event) -> String {
    match event {
        Event::ResolutionStarted { name, rtype } => format!("resolve {name} {rtype}"),
        Event::CacheHit { name, rtype, what } => format!("cache hit: {name} {rtype} ({what})"),
        Event::DelegationCached { zone, servers } => {
            let list: Vec<String> = servers
                .iter()
                .map(|(ns, addresses)| {
                    if addresses.is_empty() {
                        ns.to_string()
                    } else {
                        let addresses: Vec<String> =
                            addresses.iter().map(|a| a.to_string()).collect();
                        format!("{ns} {}", addresses.join(" "))
                    }
                })
                .collect();
            format!("cache hit: {zone} NS (delegation): {}", list.join(", "))
        }
        Event::RootPrimed { servers } => format!("root primed: {servers} server(s)"),
        Event::QnameMinimised { zone, sent, rtype } => {
            format!("QNAME minimisation: asking the servers of {zone} for {sent} {rtype}")
        }
        Event::LimitReached { limit, value } => {
            format!("limit reached: {} ({value})", limit_label(*limit))
        }
        Event::SentinelChecked {
            kind,
            tag,
            trusted,
            servfail,
        } => format!(
            "root key sentinel {}: key {tag} {} a root trust anchor here (trusted: {}): {}",
            kind.label(*tag),
            SentinelKind::trust_words(trusted.contains(tag)),
            key_tag_list(trusted),
            if *servfail {
                "SERVFAIL by design (RFC 8509)"
            } else {
                "answered"
            }
        ),
        Event::ResolutionFinished {
            rcode,
            answers,
            elapsed_ms,
        } => format!("finished: {rcode}, {answers} answer record(s), {elapsed_ms} ms"),
        _ => String::new(),
    }
}

/// What was asked of a server and what it did.
fn server_words(event: &Event) -> String {
    match event {
        Event::QuerySent {
            server,
            zone,
            name,
            rtype,
            tcp,
            edns,
        } => format!(
            "query {server} (zone {zone}): {name} {rtype} over {}, {}",
            if *tcp { "TCP" } else { "UDP" },
            match edns {
                Some(payload) => format!("EDNS {payload}"),
                None => "no EDNS".to_string(),
            }
        ),
        Event::ResponseReceived {
            server,
            rcode,
            aa,
            tc,
            size,
            kind,
            elapsed_ms,
        } => {
            let flags: Vec<&str> = [(*aa, "aa"), (*tc, "tc")]
                .into_iter()
                .filter_map(|(set, flag)| set.then_some(flag))
                .collect();
            format!(
                "response {server}: {rcode}, flags [{}], {size} bytes in {elapsed_ms} ms -> {}",
                flags.join(" "),
                kind_label(*kind)
            )
        }
        Event::ServerFailed {
            server,
            zone,
            failure,
        } => {
            let what = if failure.is_lame() {
                "lame server"
            } else {
                "server failed"
            };
            format!("{what} {server} for {zone}: {}", failure.describe())
        }
        Event::AnsweredWithoutAa { server, zone } => format!(
            "{server} answered for {zone} without AA: its data is used, ranked below authoritative data"
        ),
        Event::ZoneUnreachable { zone, servers } => unreachable_words(zone, servers),
        _ => server_aside_words(event),
    }
}

/// The asides of an exchange: discarded datagrams, fallbacks, sharing, skipping.
fn server_aside_words(event: &Event) -> String {
    match event {
        Event::SpoofDiscarded { server, reason } => {
            format!("discarded a response claiming to come from {server}: {reason}")
        }
        Event::TcpFallback { server } => format!("truncated: retrying {server} over TCP"),
        Event::QueryShared { server } => {
            format!("the same query to {server} was in flight: its reply is shared")
        }
        Event::CaseNotEchoed { server } => {
            format!("{server} did not echo the question's letter case (0x20): asking it without")
        }
        Event::EdnsFallback { server } => format!("retrying {server} without EDNS"),
        Event::ServerSkipped {
            server,
            zone,
            reason,
        } => format!("skipped {server} for {zone}: {reason}"),
        _ => String::new(),
    }
}

fn unreachable_words(zone: &Name, servers: &[(SocketAddr, ServerFailure)]) -> String {
    format!(
        "no reachable authority for {zone}: {}",
        if servers.is_empty() {
            "no servers".to_string()
        } else {
            servers
                .iter()
                .map(|(server, failure)| format!("{server} {}", failure.describe()))
                .collect::<Vec<_>>()
                .join("; ")
        }
    )
}

/// Following the delegations and aliases, and finding the servers' addresses.
fn delegation_words(event: &Event) -> String {
    match event {
        Event::ReferralFollowed {
            from_zone,
            to_zone,
            ns,
            glue,
        } => format!(
            "referral {from_zone} -> {to_zone}: NS {}; glue: {}",
            if ns.is_empty() {
                "-".to_string()
            } else {
                join(ns)
            },
            glue_list(glue)
        ),
        Event::GlueMissing { zone, ns } => {
            format!("no glue for {ns} (NS of {zone}): its address must be resolved")
        }
        Event::SubResolutionStarted { ns, zone } => {
            format!("sub-resolution: address of {ns} (NS of {zone})")
        }
        Event::SubResolutionFinished { ns, addresses } => format!(
            "sub-resolution done: {ns} -> {}",
            if addresses.is_empty() {
                "no address".to_string()
            } else {
                join(addresses)
            }
        ),
        Event::CycleDetected { path } => format!("cycle detected: {}", cycle_text(path)),
        Event::CnameFollowed { from, to } => format!("CNAME {from} -> {to}"),
        Event::DnameFollowed { owner, target } => format!("DNAME {owner} -> {target}"),
        Event::DnameLoop { owner, target } => format!(
            "DNAME {owner} -> {target} points below itself (RFC 6672 §4): the chain stops after the first synthesised CNAME"
        ),
        _ => String::new(),
    }
}

/// The validator's steps: signatures, denials, zone and answer verdicts.
fn dnssec_words(event: &Event) -> String {
    match event {
        Event::SignaturesChecked {
            owner,
            rtype,
            zone,
            valid,
            check,
        } => format!(
            "signatures over {owner} {rtype} with the keys of {zone}: {} {}",
            if *valid { "valid" } else { "NOT valid" },
            summarise_check(check)
        ),
        Event::SignatureIgnored {
            owner,
            rtype,
            signer,
            zone,
            key_tag,
        } => format!(
            "RRSIG over {owner} {rtype} (key {key_tag}) ignored: signed by {signer}, not by the zone {zone}"
        ),
        Event::CnameRejected {
            owner,
            received,
            synthesised,
        } => format!(
            "CNAME {owner} -> {received} ignored: the DNAME above it synthesises {owner} -> {synthesised}"
        ),
        Event::DenialChecked {
            name,
            claim,
            verdict,
        } => format!("denial check ({claim}) for {name}: {}", summarise(verdict)),
        Event::ZoneSecurity {
            zone,
            security,
            keys,
        } => format!("zone {zone}: {}", summarise_security(security, *keys)),
        Event::AnswerSecurity { security } => {
            format!("answer: {}", summarise_security(security, None))
        }
        _ => String::new(),
    }
}

fn glue_list(glue: &[GlueEntry]) -> String {
    if glue.is_empty() {
        return "none".to_string();
    }
    glue.iter()
        .map(|g| {
            let fate = match (g.rejected, g.used) {
                (Some(reason), _) => format!("rejected: {}", rejection_label(reason)),
                (None, true) => "used".to_string(),
                (None, false) => "not used".to_string(),
            };
            format!("{} {} ({fate})", g.ns, g.address)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_label(kind: ResponseKind) -> &'static str {
    match kind {
        ResponseKind::Answer => "answer",
        ResponseKind::Cname => "CNAME",
        ResponseKind::Referral => "referral",
        ResponseKind::NoData => "NODATA",
        ResponseKind::NxDomain => "NXDOMAIN",
        ResponseKind::Lame => "lame",
        ResponseKind::Truncated => "truncated",
        ResponseKind::Failure => "failure",
    }
}

fn rejection_label(reason: GlueRejection) -> &'static str {
    match reason {
        GlueRejection::OutOfBailiwick => "out of bailiwick",
        GlueRejection::NotAnNsName => "not an NS name of the referral",
        GlueRejection::AddressNotAllowed => "address not allowed",
    }
}

fn limit_label(limit: Limit) -> &'static str {
    match limit {
        Limit::UpstreamQueries => "upstream queries per client query",
        Limit::ReferralDepth => "referral depth",
        Limit::NsNamesPerDelegation => "NS names resolved per delegation",
        Limit::CnameChain => "CNAME chain length",
        Limit::SubResolutionDepth => "sub-resolution depth",
        Limit::Deadline => "deadline",
        Limit::SignatureChecks => "signature checks",
        Limit::Nsec3Hashes => "NSEC3 hashes",
        Limit::ValidationAllowance => "signature checks per second for the whole resolver",
    }
}

/// The counters of a signature check that are set, as `key=value` in the order of their
/// names (as the JSON keys sort), without the per-signature list.
fn summarise_check(check: &SignatureCheck) -> String {
    let count = |n: u16| (n > 0).then(|| n.to_string());
    let fields = [
        (
            "allowance_spent",
            check.allowance_spent.map(|n| n.to_string()),
        ),
        ("bad_crypto", count(check.bad_crypto)),
        ("bad_labels", count(check.bad_labels)),
        (
            "budget_exhausted",
            check.budget_exhausted.then(|| "true".into()),
        ),
        ("expired", count(check.expired)),
        ("expired_before_valid", count(check.expired_before_valid)),
        ("key_tries_capped", count(check.key_tries_capped)),
        ("malformed_key", count(check.malformed_key)),
        ("matched", count(check.matched)),
        ("no_matching_key", count(check.no_matching_key)),
        ("no_zone_key_bit", count(check.no_zone_key_bit)),
        ("not_yet_valid", count(check.not_yet_valid)),
        ("revoked_key", count(check.revoked_key)),
        ("signatures_capped", count(check.signatures_capped)),
        ("unchecked", count(check.unchecked)),
        ("unsupported_algorithm", count(check.unsupported_algorithm)),
        ("wildcard", check.wildcard.as_ref().map(Name::to_string)),
        ("wrong_owner", count(check.wrong_owner)),
        ("wrong_signer", count(check.wrong_signer)),
        ("wrong_type_covered", count(check.wrong_type_covered)),
    ];
    fields
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A security verdict in one line: its reason's fields, then the verdict (and the number of
/// keys a secure zone has).
fn summarise_security(security: &Security, keys: Option<usize>) -> String {
    let verdict = match security {
        Security::Secure => "secure",
        Security::Insecure { .. } => "insecure",
        Security::Bogus { .. } => "bogus",
        Security::Indeterminate { .. } => "indeterminate",
    };
    let detail = match security {
        Security::Secure => String::new(),
        Security::Insecure { reason } => format!("reason=({}) ", summarise(reason)),
        Security::Bogus { reason } => format!("reason=({}) ", summarise(reason)),
        Security::Indeterminate { reason } => format!("detail={reason} "),
    };
    let keys = keys.map(|k| format!("keys={k} ")).unwrap_or_default();
    format!("{detail}{keys}security={verdict}")
}

/// A compact one-line form of a verdict's reason: its short fields, as `key=value`. The
/// reasons' fields are read generically, through their serialised form, so that a field
/// added to a reason shows here without a change.
fn summarise(value: &impl serde::Serialize) -> String {
    compact(&serde_json::to_value(value).unwrap_or_default())
}

fn compact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| {
                !matches!(v, serde_json::Value::Null | serde_json::Value::Bool(false))
                    && v.as_u64() != Some(0)
            })
            .map(|(key, v)| match v {
                serde_json::Value::String(s) => format!("{key}={s}"),
                serde_json::Value::Object(_) => format!("{key}=({})", compact(v)),
                other => format!("{key}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::event::ServerFailure;
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RecordType;

    fn n(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn renders_one_indented_line_per_event() {
        let mut trace = Trace::new("t1".into(), 3);
        trace.record(
            0,
            Event::QuerySent {
                server: "127.53.0.1:53".parse().unwrap(),
                zone: n("."),
                name: n("lab."),
                rtype: RecordType::NS.into(),
                tcp: false,
                edns: Some(1232),
            },
        );
        trace.record(
            1,
            Event::ReferralFollowed {
                from_zone: n("."),
                to_zone: n("lab."),
                ns: vec![n("ns1.nic.lab.")],
                glue: vec![GlueEntry {
                    ns: n("ns1.nic.lab."),
                    address: "127.53.1.1".parse().unwrap(),
                    used: false,
                    rejected: Some(GlueRejection::OutOfBailiwick),
                }],
            },
        );
        trace.record(
            0,
            Event::ServerFailed {
                server: "127.53.58.1:53".parse().unwrap(),
                zone: n("x.lab."),
                failure: ServerFailure::Refused,
            },
        );
        trace.record(0, Event::RootPrimed { servers: 1 });
        let text = render_tree(&trace);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[1].contains("query 127.53.0.1:53 (zone .): lab. NS over UDP, EDNS 1232"));
        assert!(lines[2].contains("    referral . -> lab."), "{text}");
        assert!(lines[2].contains("rejected: out of bailiwick"), "{text}");
        assert!(
            lines[3].contains("    lame server 127.53.58.1:53"),
            "{text}"
        );
        assert!(lines[4].contains("1 further events not kept"), "{text}");
    }

    #[test]
    fn rcodes_read_like_dig() {
        assert_eq!(rcode_mnemonic(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode_mnemonic(ResponseCode::from(1, 0)), "BADVERS");
        assert_eq!(rcode_mnemonic(ResponseCode::from(1, 1)), "RCODE17");
    }
}
