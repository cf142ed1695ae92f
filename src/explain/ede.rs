//! Extended DNS Errors (RFC 8914): the codes whydns emits, their wire form (EDNS option 15:
//! a 16-bit INFO-CODE, then EXTRA-TEXT in UTF-8), and the one place they are chosen.
//!
//! [`derive`] turns a finished resolution (outcome, DNSSEC verdict, trace) into its codes,
//! with the precedence written once; [`refusal`] gives the code of a query the server
//! answers without resolving. No other code in the crate builds an [`Ede`] from a reason;
//! docs/ede.md lists every code these can reach, and `tests/ede_doc.rs` checks the two agree.

use serde::{Deserialize, Serialize};

use super::diagnose::{edns_fallbacks, failed_over};
use super::event::{cycle_text, key_tag_list, Limit, SentinelKind, ServerFailure, Trace};
use super::outcome::{Failure, Outcome};
use super::verdict::{number_list, BogusReason, InsecureReason, Security, SignatureFailure};

/// EDNS option code of Extended DNS Errors.
pub const EDE_OPTION: u16 = 15;

/// The INFO-CODEs whydns emits (IANA registry, RFC 8914 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u16)]
pub enum EdeCode {
    OtherError = 0,
    UnsupportedDnskeyAlgorithm = 1,
    UnsupportedDsDigestType = 2,
    DnssecIndeterminate = 5,
    DnssecBogus = 6,
    SignatureExpired = 7,
    SignatureNotYetValid = 8,
    DnskeyMissing = 9,
    RrsigsMissing = 10,
    NoZoneKeyBitSet = 11,
    NsecMissing = 12,
    Prohibited = 18,
    NotAuthoritative = 20,
    NoReachableAuthority = 22,
    NetworkError = 23,
    SignatureExpiredBeforeValid = 25,
    UnsupportedNsec3Iterations = 27,
}

impl EdeCode {
    /// Every code whydns emits (docs/ede.md must list exactly these; a test checks).
    pub const ALL: [EdeCode; 17] = [
        EdeCode::OtherError,
        EdeCode::UnsupportedDnskeyAlgorithm,
        EdeCode::UnsupportedDsDigestType,
        EdeCode::DnssecIndeterminate,
        EdeCode::DnssecBogus,
        EdeCode::SignatureExpired,
        EdeCode::SignatureNotYetValid,
        EdeCode::DnskeyMissing,
        EdeCode::RrsigsMissing,
        EdeCode::NoZoneKeyBitSet,
        EdeCode::NsecMissing,
        EdeCode::Prohibited,
        EdeCode::NotAuthoritative,
        EdeCode::NoReachableAuthority,
        EdeCode::NetworkError,
        EdeCode::SignatureExpiredBeforeValid,
        EdeCode::UnsupportedNsec3Iterations,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EdeCode::OtherError => "Other Error",
            EdeCode::UnsupportedDnskeyAlgorithm => "Unsupported DNSKEY Algorithm",
            EdeCode::UnsupportedDsDigestType => "Unsupported DS Digest Type",
            EdeCode::DnssecIndeterminate => "DNSSEC Indeterminate",
            EdeCode::DnssecBogus => "DNSSEC Bogus",
            EdeCode::SignatureExpired => "Signature Expired",
            EdeCode::SignatureNotYetValid => "Signature Not Yet Valid",
            EdeCode::DnskeyMissing => "DNSKEY Missing",
            EdeCode::RrsigsMissing => "RRSIGs Missing",
            EdeCode::NoZoneKeyBitSet => "No Zone Key Bit Set",
            EdeCode::NsecMissing => "NSEC Missing",
            EdeCode::Prohibited => "Prohibited",
            EdeCode::NotAuthoritative => "Not Authoritative",
            EdeCode::NoReachableAuthority => "No Reachable Authority",
            EdeCode::NetworkError => "Network Error",
            EdeCode::SignatureExpiredBeforeValid => "Signature Expired before Valid",
            EdeCode::UnsupportedNsec3Iterations => "Unsupported NSEC3 Iterations Value",
        }
    }
}

/// One EDE option: a code and a short, specific EXTRA-TEXT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ede {
    pub code: EdeCode,
    pub text: String,
}

impl Ede {
    pub fn new(code: EdeCode, text: impl Into<String>) -> Ede {
        Ede {
            code,
            text: text.into(),
        }
    }

    /// The option's payload: INFO-CODE then EXTRA-TEXT (RFC 8914 §2).
    pub fn to_option_bytes(&self, with_text: bool) -> Vec<u8> {
        let mut out = (self.code as u16).to_be_bytes().to_vec();
        if with_text {
            out.extend(self.text.as_bytes());
        }
        out
    }
}

/// The EDE options of a finished resolution, most specific first.
///
/// Precedence: a failed resolution speaks of its failure alone; otherwise the DNSSEC
/// verdict's code; otherwise, on an answer that carries no code, the noteworthy success of a
/// failover (a server on the path failed and another answered), then of an EDNS fallback.
/// Every EXTRA-TEXT ends with the trace id, so the full story can be looked up.
pub fn derive(outcome: &Outcome, security: &Security, trace: &Trace) -> Vec<Ede> {
    let tag = format!(" [trace {}]", trace.id);
    let with_tag = |list: Vec<(EdeCode, String)>| -> Vec<Ede> {
        list.into_iter()
            .map(|(code, text)| Ede::new(code, format!("{text}{tag}")))
            .collect()
    };
    if let Outcome::Failed { failure } = outcome {
        return with_tag(failure_codes(failure));
    }
    if let Some(code) = security_code(security) {
        return with_tag(vec![code]);
    }
    with_tag(success_note(trace).into_iter().collect())
}

/// Why the server answered a query without resolving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The client is outside `allow` (REFUSED). No EXTRA-TEXT: the answer must stay no larger
    /// than the query, so the server cannot amplify a forged-source flood.
    NotAllowed,
    /// RD=0 outside `explain.whydns.`: whydns is authoritative for no zone (REFUSED).
    RecursionNotDesired,
    /// Too many queries are being resolved already (SERVFAIL). No resolution, and so no
    /// trace id, exists for a query that was never started.
    Overloaded { in_flight: usize },
    /// An explanation asked for by name over DNS: only ids are served there.
    ExplanationByIdOnly,
    /// The answer is larger than a DNS message can be (65,535 octets, RFC 1035 §4.2.2):
    /// SERVFAIL over TCP rather than a partial answer.
    TooLarge,
}

/// The EDE option of a query the server answers without resolving.
pub fn refusal(refusal: Refusal) -> Ede {
    match refusal {
        Refusal::NotAllowed => Ede::new(EdeCode::Prohibited, ""),
        Refusal::RecursionNotDesired => Ede::new(
            EdeCode::NotAuthoritative,
            "recursion not desired (RD=0) and whydns is authoritative for no zone",
        ),
        Refusal::Overloaded { in_flight } => Ede::new(
            EdeCode::OtherError,
            format!("resolver overloaded: {in_flight} queries already being resolved"),
        ),
        Refusal::TooLarge => Ede::new(
            EdeCode::OtherError,
            "the answer is larger than 65,535 octets, the most a DNS message can hold: not sent",
        ),
        Refusal::ExplanationByIdOnly => Ede::new(
            EdeCode::OtherError,
            "over DNS explanations are looked up by id only (<id>.explain.whydns.); the latest ones and searches by name are on the control API (GET /api/explanations, whydns explain)",
        ),
    }
}

/// The note on an answer that needed a failover or an EDNS fallback (EDE 0): nothing failed
/// for the client, but the operator of the zone on the path wants to know.
fn success_note(trace: &Trace) -> Option<(EdeCode, String)> {
    let failed = failed_over(trace);
    if let Some(first) = failed.first() {
        let more = match failed.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Some((
            EdeCode::OtherError,
            format!(
                "answered after failover: {} {} for {}{more}",
                first.server.ip(),
                first.failure.describe(),
                first.zone,
            ),
        ));
    }
    edns_fallbacks(trace).first().map(|server| {
        (
            EdeCode::OtherError,
            format!(
                "answered without EDNS: {} rejects EDNS queries",
                server.ip()
            ),
        )
    })
}

/// The codes of a failed resolution, most specific first. One exhaustive match: a new
/// failure does not compile until it has a code.
fn failure_codes(failure: &Failure) -> Vec<(EdeCode, String)> {
    match failure {
        Failure::NoReachableAuthority { zone, servers } => unreachable_codes(zone, servers),
        Failure::NoServerAddress { zone, ns } => vec![(
            EdeCode::NoReachableAuthority,
            format!("no address for any nameserver of {zone} ({})", ns.join(", ")),
        )],
        Failure::CircularDependency { path } => vec![(
            EdeCode::NoReachableAuthority,
            format!("circular dependency: {}", cycle_text(path)),
        )],
        Failure::LimitReached { limit } => vec![(
            EdeCode::OtherError,
            format!("resolution stopped: {} limit reached", limit_name(*limit)),
        )],
        Failure::AliasLoop { chain } => vec![(
            EdeCode::OtherError,
            format!("CNAME/DNAME loop: {}", chain.join(" -> ")),
        )],
        // EDE 0, not a DNSSEC code: the answer validated, nothing in the zone is wrong,
        // and a code such as 6 or 9 would send its operator looking for a fault.
        Failure::RootKeySentinel { kind, tag, trusted } => vec![(
            EdeCode::OtherError,
            format!(
                "root key sentinel (RFC 8509): {}: key {tag} {} a root trust anchor of this resolver, which trusts {}",
                kind.label(*tag),
                SentinelKind::trust_words(trusted.contains(tag)),
                key_tag_list(trusted)
            ),
        )],
    }
}

fn unreachable_codes(
    zone: &str,
    servers: &[(std::net::SocketAddr, ServerFailure)],
) -> Vec<(EdeCode, String)> {
    let detail: Vec<String> = servers
        .iter()
        .take(4)
        .map(|(addr, f)| format!("{} {}", addr.ip(), f.describe()))
        .collect();
    let mut out = Vec::new();
    // RFC 8914 §4.24: a network error reaching the authority is worth its own code.
    if let Some((addr, _)) = servers
        .iter()
        .find(|(_, f)| *f == ServerFailure::TruncatedNoTcp)
    {
        out.push((
            EdeCode::NetworkError,
            format!(
                "{} truncated over UDP and refused TCP for {zone}",
                addr.ip()
            ),
        ));
    }
    out.push((
        EdeCode::NoReachableAuthority,
        format!("no reachable authority for {zone}: {}", detail.join("; ")),
    ));
    out
}

/// The words a limit goes by in EXTRA-TEXT.
pub fn limit_name(limit: Limit) -> &'static str {
    match limit {
        Limit::UpstreamQueries => "upstream query",
        Limit::ReferralDepth => "referral depth",
        Limit::NsNamesPerDelegation => "NS names per delegation",
        Limit::CnameChain => "CNAME chain",
        Limit::SubResolutionDepth => "sub-resolution depth",
        Limit::Deadline => "deadline",
        Limit::SignatureChecks => "signature check",
        Limit::Nsec3Hashes => "NSEC3 hash",
        Limit::ValidationAllowance => "validation allowance",
    }
}

/// The code of a DNSSEC verdict, if it carries one. One exhaustive match per reason kind:
/// a new reason does not compile until it has a code (or says why it has none).
fn security_code(security: &Security) -> Option<(EdeCode, String)> {
    match security {
        Security::Secure => None,
        Security::Indeterminate { reason } => {
            Some((EdeCode::DnssecIndeterminate, reason.to_string()))
        }
        Security::Insecure { reason } => insecure_code(reason),
        Security::Bogus { reason } => Some(bogus_code(reason)),
    }
}

fn insecure_code(reason: &InsecureReason) -> Option<(EdeCode, String)> {
    match reason {
        // Nothing is wrong and nothing unsupported: an unsigned zone carries no code.
        InsecureReason::NoTrustAnchor
        | InsecureReason::NoDs { .. }
        | InsecureReason::ValidationDisabled
        | InsecureReason::RrsigsNotSigned => None,
        InsecureReason::UnsupportedAlgorithm { zone, algorithms } => Some((
            EdeCode::UnsupportedDnskeyAlgorithm,
            format!("{zone} is signed only with algorithm(s) {}, not validated (RFC 8624): treated as insecure", number_list(algorithms)),
        )),
        InsecureReason::UnsupportedDigest { zone, digest_types } => Some((
            EdeCode::UnsupportedDsDigestType,
            format!("the DS of {zone} uses only digest type(s) {}: treated as insecure", number_list(digest_types)),
        )),
        InsecureReason::Nsec3Iterations { zone, iterations, limit } => Some((
            EdeCode::UnsupportedNsec3Iterations,
            format!("NSEC3 in {zone} uses {iterations} iterations, above this resolver's limit of {limit}: not checked, treated as insecure (RFC 9276)"),
        )),
    }
}

fn bogus_code(reason: &BogusReason) -> (EdeCode, String) {
    match reason {
        BogusReason::RrsigsMissing { owner, rtype } => {
            (EdeCode::RrsigsMissing, format!("no RRSIG over {owner} {rtype}"))
        }
        BogusReason::SignerMismatch { owner, rtype, signer, zone } => (
            EdeCode::DnssecBogus,
            format!("RRSIG over {owner} {rtype} is signed by {signer}, not by the zone {zone}"),
        ),
        BogusReason::SignatureFailed { owner, rtype, failure, signature } => {
            let (code, what) = signature_failure_code(*failure);
            (code, format!("RRSIG over {owner} {rtype} {what} ({signature})"))
        }
        BogusReason::DnskeyMissing { zone, keys } => {
            (EdeCode::DnskeyMissing, format!("no DNSKEY of {zone} matches its DS: {keys}"))
        }
        BogusReason::DsDigestMismatch { zone, key_tag } => (
            EdeCode::DnssecBogus,
            format!("DS digest for key {key_tag} of {zone} does not match the DNSKEY"),
        ),
        BogusReason::NsecMissing { name, absent } => {
            (EdeCode::NsecMissing, format!("no NSEC/NSEC3 proves the denial of {name}: {absent}"))
        }
        BogusReason::DenialFailed { name, denial } => {
            (EdeCode::DnssecBogus, format!("denial of {name} does not hold: {denial}"))
        }
        BogusReason::Nsec3IterationsRefused { zone, iterations, limit } => (
            EdeCode::UnsupportedNsec3Iterations,
            format!("NSEC3 in {zone} uses {iterations} iterations, above this resolver's limit of {limit} for refusing: SERVFAIL (RFC 9276)"),
        ),
        BogusReason::BudgetExhausted { work } => {
            (EdeCode::OtherError, format!("validation work limit reached: {work}"))
        }
        BogusReason::AllowanceSpent { per_second, work } => (
            EdeCode::OtherError,
            format!("resolver busy: its allowance of {per_second} signature checks per second is spent ({work})"),
        ),
    }
}

/// The code of each way every signature over an RRset failed, and its words.
fn signature_failure_code(failure: SignatureFailure) -> (EdeCode, &'static str) {
    match failure {
        SignatureFailure::ExpiredBeforeValid => (
            EdeCode::SignatureExpiredBeforeValid,
            "expires before it is valid",
        ),
        SignatureFailure::Expired => (EdeCode::SignatureExpired, "expired"),
        SignatureFailure::NotYetValid => (EdeCode::SignatureNotYetValid, "not yet valid"),
        SignatureFailure::NoZoneKeyBit => (
            EdeCode::NoZoneKeyBitSet,
            "made by a key without the zone-key bit",
        ),
        SignatureFailure::NoMatchingKey => (
            EdeCode::DnskeyMissing,
            "made by a key that is not published",
        ),
        SignatureFailure::UnsupportedAlgorithm => (
            EdeCode::DnssecBogus,
            "uses an algorithm whydns does not validate, though the zone is secure through another",
        ),
        SignatureFailure::BadSignature => (EdeCode::DnssecBogus, "does not verify"),
    }
}

#[cfg(test)]
mod tests;
