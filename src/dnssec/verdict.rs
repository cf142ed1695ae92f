//! What the validator concludes about an answer, and why: [`Security`] with typed reasons,
//! and the one exhaustive mapping from a reason to Extended DNS Errors (RFC 8914 §4),
//! most specific code first.
//!
//! RFCs: 4035 §4.3 (secure, insecure, bogus, indeterminate), 4035 §5.2 and 6840 §5.2 (a
//! zone whose DS lists only unsupported algorithms or digests is insecure, not bogus),
//! 9276 §3.2 (NSEC3 iteration limits), 8914 (the codes).
//!
//! # Limitations
//! Pure types: the chain of trust that produces them is built on top (issue 4, in progress).

use serde::Serialize;

use super::rrsig::{SignatureCheck, SignatureDetail, SignatureVerdict};
use crate::explain::{Ede, EdeCode};

/// The DNSSEC status of an answer (RFC 4035 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "security", rename_all = "kebab-case")]
pub enum Security {
    Secure,
    Insecure {
        reason: InsecureReason,
    },
    Bogus {
        reason: BogusReason,
    },
    /// Validation could not be completed (e.g. the keys could not be fetched).
    Indeterminate {
        detail: String,
    },
}

/// Why data is insecure: nothing is wrong, but nothing proves it either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum InsecureReason {
    /// No trust anchor covers the name.
    NoTrustAnchor,
    /// The parent proved there is no DS for `zone` (an unsigned delegation).
    NoDs { zone: String },
    /// Every DS (or DNSKEY) of `zone` uses an algorithm whydns does not validate (RFC 8624).
    UnsupportedAlgorithm { zone: String, algorithms: Vec<u8> },
    /// Every DS of `zone` uses a digest type whydns does not support.
    UnsupportedDigest { zone: String, digest_types: Vec<u8> },
    /// An NSEC3 proof used more iterations than `limit`, `dnssec.nsec3_insecure_above`
    /// (RFC 9276 §3.2).
    Nsec3Iterations {
        zone: String,
        iterations: u16,
        limit: u16,
    },
    /// Validation is off (`--no-validate`).
    ValidationDisabled,
    /// The answer is RRSIG records, which are not signed (RFC 4035 §3.2.1; RFC 4034 §3):
    /// passed on as the authority sent them.
    RrsigsNotSigned,
}

/// Why data is bogus: what check failed, where, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum BogusReason {
    /// `owner`/`rtype` came without any RRSIG in a zone that is signed.
    RrsigsMissing { owner: String, rtype: String },
    /// The only RRSIGs over `owner`/`rtype` name `signer`, which may not sign data received
    /// from the servers of `zone` (RFC 4035 §5.3.1: the signer is the zone holding the RRset).
    SignerMismatch {
        owner: String,
        rtype: String,
        signer: String,
        zone: String,
    },
    /// Every RRSIG over the RRset failed; `failure` is the most telling verdict, `detail`
    /// names the key tag, algorithm and times.
    SignatureFailed {
        owner: String,
        rtype: String,
        failure: SignatureFailure,
        detail: String,
    },
    /// No DNSKEY of `zone` matches its DS set (tag and algorithm), or the DNSKEY set is absent.
    DnskeyMissing { zone: String, detail: String },
    /// A DNSKEY matches a DS by tag and algorithm, but the digest differs.
    DsDigestMismatch { zone: String, key_tag: u16 },
    /// A negative answer came without any NSEC/NSEC3 record.
    NsecMissing { name: String, detail: String },
    /// NSEC/NSEC3 records were there but do not prove what the answer claims.
    DenialFailed { name: String, detail: String },
    /// NSEC3 iterations so high that the answer is refused: above `limit`,
    /// `dnssec.nsec3_bogus_above` (RFC 9276 §3.2).
    Nsec3IterationsRefused {
        zone: String,
        iterations: u16,
        limit: u16,
    },
    /// The per-query budget of signature checks or NSEC3 hashes ran out (KeyTrap,
    /// CVE-2023-50387 / CVE-2023-50868).
    BudgetExhausted { detail: String },
    /// The resolver's allowance of signature checks per second is spent (a flood of
    /// expensive validations): nothing is wrong with the data as far as is known.
    AllowanceSpent { per_second: u32, detail: String },
}

/// The most telling way every signature over an RRset failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureFailure {
    ExpiredBeforeValid,
    Expired,
    NotYetValid,
    NoZoneKeyBit,
    NoMatchingKey,
    /// Every signature uses an algorithm whydns does not validate, in a zone that is secure
    /// through another algorithm (RFC 6840 §5.11 wants each DS algorithm to sign everything).
    UnsupportedAlgorithm,
    BadSignature,
}

impl BogusReason {
    /// Picks the reason for an RRset none of whose signatures validated, from the counters:
    /// time problems first (an operator fixes those by re-signing), then key problems, then
    /// cryptographic failure.
    pub fn from_check(owner: &str, rtype: &str, check: &SignatureCheck) -> BogusReason {
        if let Some(per_second) = check.allowance_spent {
            return BogusReason::AllowanceSpent {
                per_second,
                detail: format!("signature checks for {owner} {rtype}"),
            };
        }
        if check.budget_exhausted {
            return BogusReason::BudgetExhausted {
                detail: format!("signature checks for {owner} {rtype}"),
            };
        }
        if check.signatures.is_empty() {
            return BogusReason::RrsigsMissing {
                owner: owner.into(),
                rtype: rtype.into(),
            };
        }
        let (failure, verdict) = if check.expired_before_valid > 0 {
            (
                SignatureFailure::ExpiredBeforeValid,
                SignatureVerdict::ExpiredBeforeValid,
            )
        } else if check.expired > 0 {
            (SignatureFailure::Expired, SignatureVerdict::Expired)
        } else if check.not_yet_valid > 0 {
            (SignatureFailure::NotYetValid, SignatureVerdict::NotYetValid)
        } else if check.no_zone_key_bit > 0 {
            (
                SignatureFailure::NoZoneKeyBit,
                SignatureVerdict::NoZoneKeyBit,
            )
        } else if check.no_matching_key > 0 {
            (
                SignatureFailure::NoMatchingKey,
                SignatureVerdict::NoMatchingKey,
            )
        } else if check.unsupported_algorithm > 0 && check.bad_crypto == 0 {
            (
                SignatureFailure::UnsupportedAlgorithm,
                SignatureVerdict::UnsupportedAlgorithm,
            )
        } else {
            (SignatureFailure::BadSignature, SignatureVerdict::BadCrypto)
        };
        let detail = check
            .signatures
            .iter()
            .find(|d| d.verdict == verdict)
            .or(check.signatures.first())
            .map(describe)
            .unwrap_or_default();
        BogusReason::SignatureFailed {
            owner: owner.into(),
            rtype: rtype.into(),
            failure,
            detail,
        }
    }
}

/// "1", "1 and 3", "1, 3 and 5": algorithm or digest numbers as a sentence lists them
/// (EXTRA-TEXT and diagnoses), without Rust's list brackets.
pub fn number_list(numbers: &[u8]) -> String {
    let text: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    match text.split_last() {
        None => "(none)".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn describe(d: &SignatureDetail) -> String {
    format!(
        "key {} alg {} valid {}..{}",
        d.key_tag,
        d.algorithm,
        crate::clock::format_utc(i64::from(d.inception)),
        crate::clock::format_utc(i64::from(d.expiration))
    )
}

impl Security {
    pub fn is_secure(&self) -> bool {
        matches!(self, Security::Secure)
    }

    /// Bogus and indeterminate answers are SERVFAIL unless the client set CD.
    /// A failure that says nothing about the data, only about the resolver's load: held
    /// for the shortest time (RFC 9520 §3.2: at least 1 s).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Security::Bogus {
                reason: BogusReason::AllowanceSpent { .. }
            }
        )
    }

    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Security::Bogus { .. } | Security::Indeterminate { .. }
        )
    }

    /// The one exhaustive mapping to Extended DNS Errors, most specific first; `tag` is
    /// appended to every EXTRA-TEXT (the explanation id).
    pub fn ede(&self, tag: &str) -> Vec<Ede> {
        let e = |code, text: String| vec![Ede::new(code, format!("{text}{tag}"))];
        match self {
            Security::Secure => Vec::new(),
            Security::Indeterminate { detail } => e(EdeCode::DnssecIndeterminate, detail.clone()),
            Security::Insecure { reason } => match reason {
                InsecureReason::NoTrustAnchor
                | InsecureReason::NoDs { .. }
                | InsecureReason::ValidationDisabled
                | InsecureReason::RrsigsNotSigned => Vec::new(),
                InsecureReason::UnsupportedAlgorithm { zone, algorithms } => e(
                    EdeCode::UnsupportedDnskeyAlgorithm,
                    format!("{zone} is signed only with algorithm(s) {}, not validated (RFC 8624): treated as insecure", number_list(algorithms)),
                ),
                InsecureReason::UnsupportedDigest { zone, digest_types } => e(
                    EdeCode::UnsupportedDsDigestType,
                    format!("the DS of {zone} uses only digest type(s) {}: treated as insecure", number_list(digest_types)),
                ),
                InsecureReason::Nsec3Iterations { zone, iterations, limit } => e(
                    EdeCode::UnsupportedNsec3Iterations,
                    format!("NSEC3 in {zone} uses {iterations} iterations, above this resolver's limit of {limit}: not checked, treated as insecure (RFC 9276)"),
                ),
            },
            Security::Bogus { reason } => match reason {
                BogusReason::RrsigsMissing { owner, rtype } => {
                    e(EdeCode::RrsigsMissing, format!("no RRSIG over {owner} {rtype}"))
                }
                BogusReason::SignerMismatch { owner, rtype, signer, zone } => e(
                    EdeCode::DnssecBogus,
                    format!("RRSIG over {owner} {rtype} is signed by {signer}, not by the zone {zone}"),
                ),
                BogusReason::SignatureFailed { owner, rtype, failure, detail } => {
                    let (code, what) = match failure {
                        SignatureFailure::ExpiredBeforeValid => {
                            (EdeCode::SignatureExpiredBeforeValid, "expires before it is valid")
                        }
                        SignatureFailure::Expired => (EdeCode::SignatureExpired, "expired"),
                        SignatureFailure::NotYetValid => (EdeCode::SignatureNotYetValid, "not yet valid"),
                        SignatureFailure::NoZoneKeyBit => (EdeCode::NoZoneKeyBitSet, "made by a key without the zone-key bit"),
                        SignatureFailure::NoMatchingKey => (EdeCode::DnskeyMissing, "made by a key that is not published"),
                        SignatureFailure::UnsupportedAlgorithm => (EdeCode::DnssecBogus, "uses an algorithm whydns does not validate, though the zone is secure through another"),
                        SignatureFailure::BadSignature => (EdeCode::DnssecBogus, "does not verify"),
                    };
                    e(code, format!("RRSIG over {owner} {rtype} {what} ({detail})"))
                }
                BogusReason::DnskeyMissing { zone, detail } => {
                    e(EdeCode::DnskeyMissing, format!("no DNSKEY of {zone} matches its DS: {detail}"))
                }
                BogusReason::DsDigestMismatch { zone, key_tag } => e(
                    EdeCode::DnssecBogus,
                    format!("DS digest for key {key_tag} of {zone} does not match the DNSKEY"),
                ),
                BogusReason::NsecMissing { name, detail } => {
                    e(EdeCode::NsecMissing, format!("no NSEC/NSEC3 proves the denial of {name}: {detail}"))
                }
                BogusReason::DenialFailed { name, detail } => {
                    e(EdeCode::DnssecBogus, format!("denial of {name} does not hold: {detail}"))
                }
                BogusReason::Nsec3IterationsRefused { zone, iterations, limit } => e(
                    EdeCode::UnsupportedNsec3Iterations,
                    format!("NSEC3 in {zone} uses {iterations} iterations, above this resolver's limit of {limit} for refusing: SERVFAIL (RFC 9276)"),
                ),
                BogusReason::BudgetExhausted { detail } => {
                    e(EdeCode::OtherError, format!("validation work limit reached: {detail}"))
                }
                BogusReason::AllowanceSpent { per_second, detail } => e(
                    EdeCode::OtherError,
                    format!("resolver busy: its allowance of {per_second} signature checks per second is spent ({detail})"),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_with(verdicts: &[SignatureVerdict]) -> SignatureCheck {
        let mut check = SignatureCheck::default();
        for v in verdicts {
            check.signatures.push(SignatureDetail {
                key_tag: 31337,
                algorithm: 13,
                signer: hickory_proto::rr::Name::from_ascii("x.lab.").unwrap(),
                labels: 2,
                inception: 1_733_011_200,
                expiration: 1_735_689_600,
                keys_tried: 1,
                verdict: *v,
            });
            match v {
                SignatureVerdict::Expired => check.expired += 1,
                SignatureVerdict::ExpiredBeforeValid => check.expired_before_valid += 1,
                SignatureVerdict::NotYetValid => check.not_yet_valid += 1,
                SignatureVerdict::NoMatchingKey => check.no_matching_key += 1,
                SignatureVerdict::NoZoneKeyBit => check.no_zone_key_bit += 1,
                _ => check.bad_crypto += 1,
            }
        }
        check
    }

    fn code(reason: BogusReason) -> u16 {
        Security::Bogus { reason }.ede("")[0].code as u16
    }

    #[test]
    fn counters_pick_the_most_specific_code() {
        let cases = [
            (vec![], 10),
            (vec![SignatureVerdict::Expired], 7),
            (
                vec![SignatureVerdict::BadCrypto, SignatureVerdict::Expired],
                7,
            ),
            (vec![SignatureVerdict::NotYetValid], 8),
            (
                vec![
                    SignatureVerdict::ExpiredBeforeValid,
                    SignatureVerdict::Expired,
                ],
                25,
            ),
            (vec![SignatureVerdict::NoZoneKeyBit], 11),
            (vec![SignatureVerdict::NoMatchingKey], 9),
            (vec![SignatureVerdict::BadCrypto], 6),
        ];
        for (verdicts, expected) in cases {
            let reason = BogusReason::from_check("x.lab.", "A", &check_with(&verdicts));
            assert_eq!(code(reason), expected, "{verdicts:?}");
        }
    }

    #[test]
    fn expired_text_names_key_and_times() {
        let reason =
            BogusReason::from_check("www.x.lab.", "A", &check_with(&[SignatureVerdict::Expired]));
        let ede = Security::Bogus { reason }.ede(" [explain abc123]");
        assert_eq!(
            ede[0].text,
            "RRSIG over www.x.lab. A expired (key 31337 alg 13 valid 2024-12-01T00:00:00Z..2025-01-01T00:00:00Z) [explain abc123]"
        );
    }

    #[test]
    fn insecure_answers_carry_a_code_only_when_something_is_unsupported() {
        let none = Security::Insecure {
            reason: InsecureReason::NoDs {
                zone: "u.lab.".into(),
            },
        };
        assert!(none.ede("").is_empty());
        let alg = Security::Insecure {
            reason: InsecureReason::UnsupportedAlgorithm {
                zone: "dsa.lab.".into(),
                algorithms: vec![3],
            },
        };
        assert_eq!(alg.ede("")[0].code as u16, 1);
        let digest = Security::Insecure {
            reason: InsecureReason::UnsupportedDigest {
                zone: "d.lab.".into(),
                digest_types: vec![100],
            },
        };
        assert_eq!(digest.ede("")[0].code as u16, 2);
        let iterations = Security::Insecure {
            reason: InsecureReason::Nsec3Iterations {
                zone: "n.lab.".into(),
                iterations: 200,
                limit: 50,
            },
        };
        assert_eq!(iterations.ede("")[0].code as u16, 27);
    }
}
