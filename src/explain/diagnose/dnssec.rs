//! Diagnoses of DNSSEC verdicts: bogus answers (signatures, keys, DS, denial proofs, work
//! limits) and answers that are insecure for a reason an operator should hear about.

use super::{
    cd_check, diagnose_answer, diagnosis, evidence, is_dnssec_trouble, server_check, Names,
};
use crate::explain::diagnosis::{Cause, Diagnosis, Evidence};
use crate::explain::outcome::Resolution;
use crate::explain::verdict::{number_list, BogusReason, InsecureReason, SignatureFailure};

pub(super) fn diagnose_bogus(r: &Resolution, reason: &BogusReason, names: &Names) -> Diagnosis {
    let ev = evidence(&r.trace, is_dnssec_trouble);
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
            vec![cd_check(r), server_check(r, owner, rtype)],
        ),
        BogusReason::SignerMismatch {
            owner,
            rtype,
            signer,
            zone,
        } => signer_mismatch(r, ev, owner, rtype, signer, zone),
        BogusReason::SignatureFailed {
            owner,
            rtype,
            failure,
            signature: detail,
        } => {
            let (cause, summary, remedy) =
                signature_words(*failure, owner, rtype, &detail.to_string());
            let checks = vec![cd_check(r), server_check(r, owner, rtype)];
            diagnosis(cause, summary, ev, remedy.into(), checks)
        }
        BogusReason::DnskeyMissing { zone, keys } => {
            dnskey_missing(r, ev, names, zone, &keys.to_string())
        }
        BogusReason::DsDigestMismatch { zone, key_tag } => {
            ds_digest_mismatch(r, ev, names, zone, *key_tag)
        }
        BogusReason::NsecMissing { name, absent } => nsec_missing(r, ev, name, &absent.to_string()),
        BogusReason::DenialFailed { name, denial } => {
            denial_invalid(r, ev, name, &denial.to_string())
        }
        BogusReason::Nsec3IterationsRefused {
            zone,
            iterations,
            limit,
        } => diagnosis(
            Cause::Nsec3IterationsRefused,
            format!(
                "NSEC3 in {zone} uses {iterations} iterations, above this resolver's limit of {limit} (dnssec.nsec3_bogus_above): the answer is refused as too costly to check (RFC 9276 §3.2)"
            ),
            ev,
            format!("Re-sign {zone} with NSEC3 iterations 0 and an empty salt (RFC 9276 §3.1)."),
            vec![format!("dig +norec {zone} NSEC3PARAM {}", names.at(zone))],
        ),
        BogusReason::BudgetExhausted { work } => budget_exhausted(r, ev, &work.to_string()),
        BogusReason::AllowanceSpent { per_second, work } => {
            allowance_spent(r, ev, *per_second, &work.to_string())
        }
    }
}

fn signer_mismatch(
    r: &Resolution,
    ev: Vec<Evidence>,
    owner: &str,
    rtype: &str,
    signer: &str,
    zone: &str,
) -> Diagnosis {
    diagnosis(
        Cause::SignerMismatch,
        format!(
            "{owner} {rtype} came from the servers of {zone}, but its only RRSIGs are signed by {signer}, which may not sign it: the data is forged, or a server or middlebox mixed up another zone's signatures"
        ),
        ev,
        format!(
            "Ask the servers of {zone} directly (with +dnssec) and compare the RRSIG's signer with the zone; if they serve the right one, something on the path rewrites answers. If the zone was moved or renamed, re-sign it with its own keys."
        ),
        vec![cd_check(r), server_check(r, owner, rtype)],
    )
}

/// The cause, summary and remedy of an RRset none of whose signatures verified.
fn signature_words(
    failure: SignatureFailure,
    owner: &str,
    rtype: &str,
    detail: &str,
) -> (Cause, String, &'static str) {
    match failure {
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
        SignatureFailure::UnsupportedAlgorithm => (
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
    }
}

fn dnskey_missing(
    r: &Resolution,
    ev: Vec<Evidence>,
    names: &Names,
    zone: &str,
    detail: &str,
) -> Diagnosis {
    let parent = names.parent(zone);
    diagnosis(
        Cause::DsKeyMismatch,
        format!(
            "No DNSKEY of {zone} matches its DS at {parent} ({detail}): the chain of trust breaks at the delegation"
        ),
        ev,
        format!(
            "Make the DS for {zone} at {parent} match the zone's current KSK, or publish the key \
             it names again; in a KSK rollover, keep the old key until the new DS has \
             propagated."
        ),
        vec![
            cd_check(r),
            format!("dig +norec {zone} DS {}", names.at(&parent)),
            dsfromkey_check(names, zone),
        ],
    )
}

fn ds_digest_mismatch(
    r: &Resolution,
    ev: Vec<Evidence>,
    names: &Names,
    zone: &str,
    key_tag: u16,
) -> Diagnosis {
    let parent = names.parent(zone);
    diagnosis(
        Cause::DsDigestMismatch,
        format!(
            "The DS for {zone} at {parent} names key {key_tag}, which {zone} publishes, but its digest does not match that key"
        ),
        ev,
        format!(
            "Recompute the DS from the current KSK of {zone} (dnssec-dsfromkey) and \
             replace the one at {parent} (the registrar)."
        ),
        vec![cd_check(r), dsfromkey_check(names, zone)],
    )
}

fn nsec_missing(r: &Resolution, ev: Vec<Evidence>, name: &str, detail: &str) -> Diagnosis {
    diagnosis(
        Cause::DenialMissing,
        format!("The negative answer for {name} carries no NSEC/NSEC3 proof ({detail})"),
        ev,
        "Serve the zone's NSEC/NSEC3 records: re-sign the zone and check that its servers \
         return them with DO set."
            .into(),
        vec![cd_check(r), server_check(r, name, &r.rtype)],
    )
}

fn denial_invalid(r: &Resolution, ev: Vec<Evidence>, name: &str, detail: &str) -> Diagnosis {
    diagnosis(
        Cause::DenialInvalid,
        format!("The NSEC/NSEC3 records for {name} do not prove the denial ({detail})"),
        ev,
        "Re-sign the zone so that its NSEC/NSEC3 chain is complete and matches its \
         content; check that every server serves the same signed copy."
            .into(),
        vec![cd_check(r), server_check(r, name, &r.rtype)],
    )
}

/// The per-query work limit ran out (KeyTrap-shaped data).
fn budget_exhausted(r: &Resolution, ev: Vec<Evidence>, detail: &str) -> Diagnosis {
    diagnosis(
        Cause::ValidationWorkLimit,
        format!(
            "Validation stopped at the per-query work limit ({detail}): the zone's keys and signatures are shaped like a KeyTrap attack (CVE-2023-50387)"
        ),
        ev,
        "If the zone is yours: publish few keys with distinct key tags and one signature \
         per key and RRset."
            .into(),
        vec![server_check(r, &r.name, "DNSKEY")],
    )
}

/// The resolver's allowance of signature checks per second was spent: load, not data.
fn allowance_spent(r: &Resolution, ev: Vec<Evidence>, per_second: u32, detail: &str) -> Diagnosis {
    diagnosis(
        Cause::Overloaded,
        format!(
            "The resolver's allowance of {per_second} signature checks per second was spent when this answer needed one ({detail}): many expensive validations at once, perhaps a KeyTrap-style flood; nothing is known to be wrong with the data"
        ),
        ev,
        "Ask again in a second. If it keeps happening, find the zones whose validation \
         costs most (the signatures-checked events of other explanations) or raise \
         `limits.validations_per_second`."
            .into(),
        vec![cd_check(r)],
    )
}

pub(super) fn diagnose_insecure(
    r: &Resolution,
    reason: &InsecureReason,
    names: &Names,
) -> Diagnosis {
    let ev = evidence(&r.trace, is_dnssec_trouble);
    match reason {
        InsecureReason::UnsupportedAlgorithm { zone, algorithms } => diagnosis(
            Cause::UnsupportedAlgorithm,
            format!(
                "The chain of trust to {zone} names only algorithm {}, which whydns does not validate (RFC 8624): the answer is treated as insecure",
                number_list(algorithms)
            ),
            ev,
            format!(
                "If {zone} is signed with a supported algorithm, publish the DS of that key at \
                 {} (a DS naming another algorithm than its key is an error); otherwise re-sign \
                 {zone} with algorithm 13 (ECDSAP256SHA256) or 15 (Ed25519) and replace its DS.",
                names.parent(zone)
            ),
            vec![
                format!("dig +norec {zone} DS {}", names.at(&names.parent(zone))),
                format!("dig +norec {zone} DNSKEY {}  (compare the algorithms)", names.at(zone)),
            ],
        ),
        InsecureReason::UnsupportedDigest { zone, digest_types } => diagnosis(
            Cause::UnsupportedDigest,
            format!(
                "The DS for {zone} uses only digest type {}, which whydns does not support: the answer is treated as insecure",
                number_list(digest_types)
            ),
            ev,
            format!(
                "Publish a DS with digest type 2 (SHA-256) for {zone} at {}.",
                names.parent(zone)
            ),
            vec![format!("dig +norec {zone} DS {}", names.at(&names.parent(zone)))],
        ),
        InsecureReason::Nsec3Iterations {
            zone,
            iterations,
            limit,
        } => diagnosis(
            Cause::Nsec3IterationsHigh,
            format!(
                "NSEC3 in {zone} uses {iterations} iterations, above this resolver's limit of {limit} (dnssec.nsec3_insecure_above): the denial is not checked and is treated as insecure (RFC 9276 §3.2)"
            ),
            ev,
            format!("Re-sign {zone} with NSEC3 iterations 0 and an empty salt (RFC 9276 §3.1)."),
            vec![format!("dig +norec {zone} NSEC3PARAM {}", names.at(zone))],
        ),
        InsecureReason::NoTrustAnchor
        | InsecureReason::NoDs { .. }
        | InsecureReason::ValidationDisabled
        | InsecureReason::RrsigsNotSigned => diagnose_answer(r, names),
    }
}

/// The command that shows which DS the zone's published keys call for, to compare with the
/// parent's.
fn dsfromkey_check(names: &Names, zone: &str) -> String {
    format!(
        "dig +norec {zone} DNSKEY {} | dnssec-dsfromkey -f - {zone}",
        names.at(zone)
    )
}
