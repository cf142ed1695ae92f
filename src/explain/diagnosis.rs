//! The diagnosis of one resolution: the root cause in one sentence, the trace events that
//! prove it, the remedy an operator applies, and commands that confirm it — the DNS
//! troubleshooting runbook, built in.
//!
//! This module holds the data and its text form; the reasoning that produces it from a
//! resolution lives in [`super::diagnose`].

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The root cause, as a stable kebab-case token (lab scenarios name the one they expect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    // Answers.
    /// Resolved, nothing remarkable.
    Resolved,
    /// Resolved, but a server of a zone on the way failed and another one answered.
    ResolvedAfterFailover,
    /// The answer is a DNAME whose target lies below its owner, and the one CNAME it
    /// synthesises: following further would never end (RFC 6672 §4).
    DnameLoop,
    /// Resolved, but a server failed (timed out) before answering when asked again.
    ResolvedAfterRetry,
    /// Resolved, but a server rejected EDNS and was asked again without it.
    EdnsNotSupported,
    /// The name does not exist (NXDOMAIN).
    NameDoesNotExist,
    /// The name exists, without data of the asked type.
    NoData,
    /// Resolved insecurely: the zone is signed only with algorithms not validated.
    UnsupportedAlgorithm,
    /// Resolved insecurely: the DS uses only digest types not supported.
    UnsupportedDigest,
    /// Resolved insecurely: NSEC3 iterations above the limit.
    Nsec3IterationsHigh,
    // Delegation and transport.
    /// Every server of the zone says it does not serve it.
    LameDelegation,
    /// No server of the zone answered at all.
    ServersUnreachable,
    /// The zone's servers answered SERVFAIL.
    ServersFailing,
    /// The answer needs TCP and the server refused TCP.
    TcpRefused,
    /// The zone's servers sent answers that could not be used (FORMERR, malformed, ...).
    ServersBroken,
    /// No address could be found for any NS name of the zone.
    NoServerAddress,
    /// The zone's NS names can only be resolved through the zone itself.
    CircularDependency,
    /// A bound on the work of one query was reached.
    LimitReached,
    /// A CNAME/DNAME chain loops.
    AliasLoop,
    /// The resolver had too many queries in flight.
    Overloaded,
    /// Not a fault: an RFC 8509 root key sentinel question answered SERVFAIL by design.
    RootKeySentinel,
    // DNSSEC.
    SignaturesMissing,
    SignatureExpired,
    SignatureWindowInverted,
    SignatureNotYetValid,
    SignatureInvalid,
    /// The only RRSIGs over an RRset name a signer that may not sign it: another zone, or
    /// the child for a DS (RFC 4035 §5.3.1). Forged, or mixed up by a server or middlebox.
    SignerMismatch,
    /// No DNSKEY matches the key tag/algorithm of the RRSIGs.
    SigningKeyMissing,
    /// The signing DNSKEY lacks the zone-key flag.
    ZoneKeyFlagMissing,
    /// RRSIGs made with an algorithm the resolver cannot verify, in a zone whose chain of
    /// trust runs through a supported one (RFC 6840 §5.11: sign with every DS algorithm).
    AlgorithmMismatch,
    /// No DNSKEY of the zone matches its DS at the parent.
    DsKeyMismatch,
    /// A DNSKEY matches the DS by tag, but not by digest.
    DsDigestMismatch,
    /// A negative answer without NSEC/NSEC3.
    DenialMissing,
    /// NSEC/NSEC3 records do not prove the negative answer.
    DenialInvalid,
    /// NSEC3 iterations so high the answer is refused.
    Nsec3IterationsRefused,
    /// The validation work budget ran out (KeyTrap-shaped data).
    ValidationWorkLimit,
    /// Validation could not be completed.
    ValidationIndeterminate,
}

impl Cause {
    /// The kebab-case token, as its JSON writes it.
    pub fn token(self) -> &'static str {
        match self {
            Cause::Resolved => "resolved",
            Cause::ResolvedAfterFailover => "resolved-after-failover",
            Cause::DnameLoop => "dname-loop",
            Cause::ResolvedAfterRetry => "resolved-after-retry",
            Cause::EdnsNotSupported => "edns-not-supported",
            Cause::NameDoesNotExist => "name-does-not-exist",
            Cause::NoData => "no-data",
            Cause::UnsupportedAlgorithm => "unsupported-algorithm",
            Cause::UnsupportedDigest => "unsupported-digest",
            Cause::Nsec3IterationsHigh => "nsec3-iterations-high",
            Cause::LameDelegation => "lame-delegation",
            Cause::ServersUnreachable => "servers-unreachable",
            Cause::ServersFailing => "servers-failing",
            Cause::TcpRefused => "tcp-refused",
            Cause::ServersBroken => "servers-broken",
            Cause::NoServerAddress => "no-server-address",
            Cause::CircularDependency => "circular-dependency",
            Cause::LimitReached => "limit-reached",
            Cause::AliasLoop => "alias-loop",
            Cause::Overloaded => "overloaded",
            Cause::RootKeySentinel => "root-key-sentinel",
            Cause::SignaturesMissing => "signatures-missing",
            Cause::SignatureExpired => "signature-expired",
            Cause::SignatureWindowInverted => "signature-window-inverted",
            Cause::SignatureNotYetValid => "signature-not-yet-valid",
            Cause::SignatureInvalid => "signature-invalid",
            Cause::SignerMismatch => "signer-mismatch",
            Cause::SigningKeyMissing => "signing-key-missing",
            Cause::ZoneKeyFlagMissing => "zone-key-flag-missing",
            Cause::AlgorithmMismatch => "algorithm-mismatch",
            Cause::DsKeyMismatch => "ds-key-mismatch",
            Cause::DsDigestMismatch => "ds-digest-mismatch",
            Cause::DenialMissing => "denial-missing",
            Cause::DenialInvalid => "denial-invalid",
            Cause::Nsec3IterationsRefused => "nsec3-iterations-refused",
            Cause::ValidationWorkLimit => "validation-work-limit",
            Cause::ValidationIndeterminate => "validation-indeterminate",
        }
    }
}

/// One trace event that supports the diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Index into the trace's entries.
    pub event: usize,
    /// The event as the trace tree renders it.
    pub text: String,
}

/// What broke, how we know, and what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub cause: Cause,
    /// The root cause in one sentence, naming the server, zone or record.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// What an operator of the failing zone or server should change.
    pub remedy: String,
    /// Commands that confirm the cause from a shell.
    pub checks: Vec<String>,
}

impl Diagnosis {
    /// The diagnosis as text: cause, summary, evidence, remedy, checks; ends in a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "cause: {}", self.cause.token());
        let _ = writeln!(out, "diagnosis: {}", self.summary);
        for e in &self.evidence {
            let _ = writeln!(out, "evidence #{}: {}", e.event, e.text.trim_start());
        }
        let _ = writeln!(out, "remedy: {}", self.remedy);
        for check in &self.checks {
            let _ = writeln!(out, "check: {check}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Cause;

    #[test]
    fn tokens_are_what_the_json_writes() {
        for cause in [
            Cause::Resolved,
            Cause::ResolvedAfterFailover,
            Cause::Nsec3IterationsHigh,
            Cause::Nsec3IterationsRefused,
            Cause::DsKeyMismatch,
            Cause::ValidationIndeterminate,
        ] {
            let json = serde_json::to_value(cause).unwrap();
            assert_eq!(json.as_str(), Some(cause.token()));
        }
    }
}
