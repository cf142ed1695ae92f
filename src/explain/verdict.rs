//! What the validator concludes, and why: [`Security`] with typed reasons, the counters and
//! per-signature verdicts of an RRSIG check ([`SignatureCheck`]), and what a denial proof
//! established ([`DenialVerdict`]). `dnssec` produces these; `ede` and `diagnose` read them.
//!
//! RFCs: 4035 §4.3 (secure, insecure, bogus, indeterminate), 4035 §5.2 and 6840 §5.2 (a
//! zone whose DS lists only unsupported algorithms or digests is insecure, not bogus),
//! 9276 §3.2 (NSEC3 iteration limits).

use std::fmt;

use hickory_proto::rr::Name;
use serde::{Deserialize, Serialize};

use super::outcome::Failure;
pub use super::proof::DenialHow;
use super::proof::{Absent, DenialFailure, Fault, Proof};

/// The DNSSEC status of an answer (RFC 4035 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        reason: IndeterminateReason,
    },
}

/// Why validation could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum IndeterminateReason {
    /// No zone is known for `owner`/`rtype`, so there are no keys to check it with.
    NoZone { owner: String, rtype: String },
    /// The chain of trust to `zone` is deeper than the sub-resolution limit allows.
    ChainTooDeep { zone: String },
    /// The DS query for `zone` met a CNAME or DNAME.
    DsAlias { zone: String },
    /// The DS of `zone` could not be fetched.
    DsUnavailable { zone: String, failure: Failure },
}

impl fmt::Display for IndeterminateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndeterminateReason::NoZone { owner, rtype } => {
                write!(f, "no zone known for {owner} {rtype}")
            }
            IndeterminateReason::ChainTooDeep { zone } => {
                write!(f, "chain of trust to {zone} too deep")
            }
            IndeterminateReason::DsAlias { zone } => {
                write!(f, "the DS query for {zone} met an alias")
            }
            IndeterminateReason::DsUnavailable { zone, failure } => write!(
                f,
                "the DS of {zone} could not be fetched: {}",
                failure.token()
            ),
        }
    }
}

/// Why data is insecure: nothing is wrong, but nothing proves it either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Every RRSIG over the RRset failed; `failure` is the most telling verdict, `signature`
    /// the RRSIG that showed it (key tag, algorithm and times).
    SignatureFailed {
        owner: String,
        rtype: String,
        failure: SignatureFailure,
        signature: Box<SignatureDetail>,
    },
    /// No DNSKEY of `zone` matches its DS set (tag and algorithm), or the DNSKEY set is absent.
    DnskeyMissing { zone: String, keys: KeysSeen },
    /// A DNSKEY matches a DS by tag and algorithm, but the digest differs.
    DsDigestMismatch { zone: String, key_tag: u16 },
    /// A negative answer came without any NSEC/NSEC3 record.
    NsecMissing { name: String, absent: Box<Absent> },
    /// NSEC/NSEC3 records were there but do not prove what the answer claims.
    DenialFailed {
        name: String,
        denial: Box<FailedProof>,
    },
    /// NSEC3 iterations so high that the answer is refused: above `limit`,
    /// `dnssec.nsec3_bogus_above` (RFC 9276 §3.2).
    Nsec3IterationsRefused {
        zone: String,
        iterations: u16,
        limit: u16,
    },
    /// The per-query budget of signature checks or NSEC3 hashes ran out (KeyTrap,
    /// CVE-2023-50387 / CVE-2023-50868).
    BudgetExhausted { work: BudgetWork },
    /// The resolver's allowance of signature checks per second is spent (a flood of
    /// expensive validations): nothing is wrong with the data as far as is known.
    AllowanceSpent { per_second: u32, work: BudgetWork },
}

/// A DNSKEY by key tag and algorithm, as a DS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyId {
    pub key_tag: u16,
    pub algorithm: u8,
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.key_tag, self.algorithm)
    }
}

/// The keys a DS set names and the DNSKEYs the zone publishes (`None`: no DNSKEY RRset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysSeen {
    pub ds: Vec<KeyId>,
    pub dnskeys: Option<Vec<KeyId>>,
}

impl fmt::Display for KeysSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |keys: &[KeyId]| keys.iter().map(KeyId::to_string).collect::<Vec<_>>();
        match &self.dnskeys {
            None => f.write_str("the zone has no DNSKEY RRset"),
            Some(dnskeys) => write!(
                f,
                "no DNSKEY matches DS {} (DNSKEYs: {})",
                list(&self.ds).join(", "),
                if dnskeys.is_empty() {
                    "none".to_string()
                } else {
                    list(dnskeys).join(", ")
                }
            ),
        }
    }
}

/// What the validator was doing when its work budget ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "work", rename_all = "kebab-case")]
pub enum BudgetWork {
    SignatureChecks { owner: String, rtype: String },
    DsDigests { zone: String },
    Nsec3Hashes { name: String },
}

impl fmt::Display for BudgetWork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetWork::SignatureChecks { owner, rtype } => {
                write!(f, "signature checks for {owner} {rtype}")
            }
            BudgetWork::DsDigests { zone } => write!(f, "DS digests for the DNSKEYs of {zone}"),
            BudgetWork::Nsec3Hashes { name } => {
                write!(f, "NSEC3 hashes while proving the denial of {name}")
            }
        }
    }
}

/// A refused denial: what the records established, then what was absent or wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedProof {
    pub proof: Proof,
    pub failure: DenialFailure,
}

impl FailedProof {
    pub fn missing(proof: &Proof, absent: &Absent) -> Self {
        FailedProof {
            proof: proof.clone(),
            failure: DenialFailure::Missing(absent.clone()),
        }
    }

    pub fn bogus(proof: &Proof, fault: &Fault) -> Self {
        FailedProof {
            proof: proof.clone(),
            failure: DenialFailure::Bogus(fault.clone()),
        }
    }
}

/// "A; B, but C" for a missing record, "A; B; C" for a fault, or only the failure when
/// nothing was established.
impl fmt::Display for FailedProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proof = &self.proof;
        match (proof.is_empty(), &self.failure) {
            (true, failure) => write!(f, "{failure}"),
            (false, DenialFailure::Missing(absent)) => write!(f, "{proof}, but {absent}"),
            (false, DenialFailure::Bogus(fault)) => write!(f, "{proof}; {fault}"),
        }
    }
}

/// The most telling way every signature over an RRset failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
        let work = || BudgetWork::SignatureChecks {
            owner: owner.into(),
            rtype: rtype.into(),
        };
        if let Some(per_second) = check.allowance_spent {
            return BogusReason::AllowanceSpent {
                per_second,
                work: work(),
            };
        }
        if check.budget_exhausted {
            return BogusReason::BudgetExhausted { work: work() };
        }
        let Some(first) = check.signatures.first() else {
            return BogusReason::RrsigsMissing {
                owner: owner.into(),
                rtype: rtype.into(),
            };
        };
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
        let signature = check.signatures.iter().find(|d| d.verdict == verdict);
        BogusReason::SignatureFailed {
            owner: owner.into(),
            rtype: rtype.into(),
            failure,
            signature: Box::new(signature.unwrap_or(first).clone()),
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

/// "key {tag} alg {algorithm} valid {inception}..{expiration}", as EXTRA-TEXT quotes it.
impl fmt::Display for SignatureDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key {} alg {} valid {}..{}",
            self.key_tag,
            self.algorithm,
            crate::clock::format_utc(i64::from(self.inception)),
            crate::clock::format_utc(i64::from(self.expiration))
        )
    }
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
}

/// What became of one RRSIG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureVerdict {
    Valid,
    /// Owner name or class differ from the RRset's.
    WrongOwner,
    /// The signer is not the zone the RRset belongs to.
    WrongSigner,
    /// The RRSIG covers another type.
    WrongTypeCovered,
    /// The Labels field exceeds the owner name's label count.
    BadLabels,
    /// The algorithm is not one whydns validates (RFC 8624).
    UnsupportedAlgorithm,
    /// The expiration lies before the inception.
    ExpiredBeforeValid,
    Expired,
    NotYetValid,
    /// No DNSKEY has the RRSIG's key tag and algorithm.
    NoMatchingKey,
    /// The only matching DNSKEYs lack the Zone Key flag.
    NoZoneKeyBit,
    /// The only matching zone keys carry the REVOKE flag.
    RevokedKey,
    /// The matching DNSKEYs' public keys cannot be keys of their algorithm.
    MalformedKey,
    /// A matching key was tried and the signature did not verify.
    BadCrypto,
    /// The query's verification budget ran out before this RRSIG was verified.
    BudgetExhausted,
}

/// One RRSIG as the trace carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDetail {
    pub key_tag: u16,
    pub algorithm: u8,
    pub signer: Name,
    pub labels: u8,
    pub inception: u32,
    pub expiration: u32,
    /// Keys tried (each one a verification paid from the budget).
    pub keys_tried: u8,
    pub verdict: SignatureVerdict,
}

/// The checks of every RRSIG over one RRset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    pub matched: u16,
    pub wrong_owner: u16,
    pub wrong_signer: u16,
    pub wrong_type_covered: u16,
    pub bad_labels: u16,
    pub unsupported_algorithm: u16,
    pub expired_before_valid: u16,
    pub expired: u16,
    pub not_yet_valid: u16,
    pub no_matching_key: u16,
    pub no_zone_key_bit: u16,
    pub revoked_key: u16,
    pub malformed_key: u16,
    pub bad_crypto: u16,
    /// RRSIGs left alone because an earlier one already validated the RRset.
    pub unchecked: u16,
    /// RRSIGs with more candidate keys than `dnssec::MAX_KEYS_PER_SIGNATURE`.
    pub key_tries_capped: u16,
    /// RRSIGs beyond `dnssec::MAX_SIGNATURES_PER_RRSET`, not looked at.
    pub signatures_capped: u16,
    /// The verification budget ran out; the check stopped there.
    pub budget_exhausted: bool,
    /// What ran out was the resolver's allowance (this many checks per second), not the
    /// query's own budget.
    pub allowance_spent: Option<u32>,
    /// The validating signature's Labels field showed a wildcard expansion: the name it was
    /// expanded from (`*.` + the rightmost labels), which the caller must prove by denial.
    pub wildcard: Option<Name>,
    pub signatures: Vec<SignatureDetail>,
}

impl SignatureCheck {
    /// At least one RRSIG validated the RRset.
    pub fn is_valid(&self) -> bool {
        self.matched > 0
    }

    /// Counts one RRSIG's verdict.
    pub fn count(&mut self, verdict: SignatureVerdict) {
        let counter = match verdict {
            SignatureVerdict::Valid => &mut self.matched,
            SignatureVerdict::WrongOwner => &mut self.wrong_owner,
            SignatureVerdict::WrongSigner => &mut self.wrong_signer,
            SignatureVerdict::WrongTypeCovered => &mut self.wrong_type_covered,
            SignatureVerdict::BadLabels => &mut self.bad_labels,
            SignatureVerdict::UnsupportedAlgorithm => &mut self.unsupported_algorithm,
            SignatureVerdict::ExpiredBeforeValid => &mut self.expired_before_valid,
            SignatureVerdict::Expired => &mut self.expired,
            SignatureVerdict::NotYetValid => &mut self.not_yet_valid,
            SignatureVerdict::NoMatchingKey => &mut self.no_matching_key,
            SignatureVerdict::NoZoneKeyBit => &mut self.no_zone_key_bit,
            SignatureVerdict::RevokedKey => &mut self.revoked_key,
            SignatureVerdict::MalformedKey => &mut self.malformed_key,
            SignatureVerdict::BadCrypto => &mut self.bad_crypto,
            SignatureVerdict::BudgetExhausted => {
                self.budget_exhausted = true;
                return;
            }
        };
        *counter = counter.saturating_add(1);
    }
}

/// What the records prove, and from which facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialVerdict {
    /// The denial holds.
    Proven { how: DenialHow, proof: Proof },
    /// An NSEC3 opt-out span covers the next closer name: an unsigned delegation may exist
    /// there, so the answer can be at best insecure. `proof` ends with that cover.
    OptOut { proof: Proof },
    /// A record the proof needs is absent (EDE 12); `proof` is what was established first.
    Missing { proof: Proof, absent: Absent },
    /// The records present contradict the denial or may not be used for it (EDE 6).
    Bogus { proof: Proof, fault: Fault },
    /// The NSEC3 iterations exceed `DenialLimits::insecure_above` (EDE 27): insecure, or
    /// SERVFAIL when `servfail` (above `DenialLimits::bogus_above`); `limit` is the
    /// threshold exceeded, for the explanation.
    IterationsTooHigh {
        iterations: u16,
        limit: u16,
        servfail: bool,
    },
    /// The query's `HashBudget` ran out.
    BudgetExhausted,
}

impl DenialVerdict {
    /// A verdict that refuses the denial: what was established and how it failed.
    pub fn failure(&self) -> Option<FailedProof> {
        match self {
            DenialVerdict::Missing { proof, absent } => Some(FailedProof::missing(proof, absent)),
            DenialVerdict::Bogus { proof, fault } => Some(FailedProof::bogus(proof, fault)),
            _ => None,
        }
    }
}

/// The short text that names the records and names involved.
impl fmt::Display for DenialVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenialVerdict::Proven { proof, .. } => write!(f, "{proof}"),
            DenialVerdict::OptOut { proof } => {
                write!(f, "{proof}, with opt-out: an unsigned delegation may exist")
            }
            DenialVerdict::Missing { proof, absent } => {
                write!(f, "{}", FailedProof::missing(proof, absent))
            }
            DenialVerdict::Bogus { proof, fault } => {
                write!(f, "{}", FailedProof::bogus(proof, fault))
            }
            DenialVerdict::IterationsTooHigh {
                iterations, limit, ..
            } => write!(
                f,
                "NSEC3 with {iterations} iterations, above the limit of {limit}"
            ),
            DenialVerdict::BudgetExhausted => f.write_str("the NSEC3 hash budget ran out"),
        }
    }
}
