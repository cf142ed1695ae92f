//! Checks the RRSIGs over one RRset against the zone's DNSKEYs and says, signature by signature,
//! what held and what did not: counters and per-signature verdicts, never a bare boolean.
//!
//! RFCs: 4034 §3 and §6 (RRSIG fields, canonical form and order), 4035 §5.3 (checking an
//! RRSIG, rebuilding the signed data, wildcards), 1982 (serial-number time comparison),
//! 5011 §2.1 (revoked keys), 6840 §5.1 (canonical names in RDATA), 8624 (algorithms).
//! KeyTrap (CVE-2023-50387): every signature verification is paid for from a per-query
//! [`VerificationBudget`] (and the resolver's allowance per second), at most
//! [`MAX_KEYS_PER_SIGNATURE`] keys are tried per RRSIG, at most [`MAX_SIGNATURES_PER_RRSET`]
//! RRSIGs are looked at per RRset, and key tags are computed once per DNSKEY set
//! ([`KeySet`]), so RRSIGs that match no key cost a comparison, not an encoding.
//!
//! # Limitations
//! - Pure: no clock, no I/O. The caller supplies `now`, the zone name and its DNSKEY RRset,
//!   and decides what the counters mean (secure, bogus, insecure) and which EDE they give.
//! - TTL capping by the signature (RFC 4035 §5.3.3) and the wildcard denial proof (RFC 4035
//!   §5.3.4) are the caller's; a wildcard expansion is reported in [`SignatureCheck::wildcard`].
//! - Checking stops at the first valid signature (one is enough, RFC 4035 §5.3.3); the RRSIGs
//!   after it are counted as `unchecked`.

use crate::explain::verdict::{SignatureCheck, SignatureDetail, SignatureVerdict};
use hickory_proto::dnssec::rdata::{DNSSECRData, SigInput, DNSKEY, RRSIG};
use hickory_proto::dnssec::PublicKey;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::crypto::{algorithm_supported, verify_signature, CryptoFailure};
use super::ds::{canonical_name_wire, key_tag, push_label};

/// At most this many DNSKEYs (same key tag and algorithm) are tried for one RRSIG.
pub const MAX_KEYS_PER_SIGNATURE: usize = 4;

/// At most this many RRSIGs are looked at for one RRset; the rest are counted as capped.
/// A zone in an algorithm rollover signs with two or three keys; 32 leaves room for any
/// honest zone and, with [`MAX_KEYS_PER_SIGNATURE`], still exceeds the per-query budget.
pub const MAX_SIGNATURES_PER_RRSET: usize = 32;

/// A DNSKEY RRset with each key's tag computed once (RFC 4034 Appendix B), so checking many
/// RRSIGs against many keys never re-encodes a key.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<(u16, DNSKEY)>,
}

impl KeySet {
    /// The DNSKEYs among `records` owned by `zone`.
    pub fn new(records: &[Record], zone: &Name) -> KeySet {
        let keys = records
            .iter()
            .filter(|record| record.name == *zone)
            .filter_map(|record| match &record.data {
                RData::DNSSEC(DNSSECRData::DNSKEY(key)) => Some((key_tag(key), key.clone())),
                _ => None,
            })
            .collect();
        KeySet { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys with this tag and algorithm.
    pub fn matching(&self, tag: u16, algorithm: u8) -> impl Iterator<Item = &DNSKEY> {
        self.keys
            .iter()
            .filter(move |(t, key)| {
                *t == tag && u8::from(key.public_key().algorithm()) == algorithm
            })
            .map(|(_, key)| key)
    }

    /// Every key with its tag.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &DNSKEY)> {
        self.keys.iter().map(|(tag, key)| (*tag, key))
    }
}

const ZONE_KEY_FLAG: u16 = 0x0100;
const REVOKE_FLAG: u16 = 0x0080;

/// Signature verifications still allowed for one client query, shared by every check it makes.
pub type VerificationBudget = super::budget::WorkBudget;

/// Checks every RRSIG in `rrsigs` (other records are ignored) over `rrset` (records of one
/// owner, class and type) against the DNSKEY records of `zone` in `dnskeys`, at time `now`
/// (seconds since the epoch, modulo 2^32). Builds the [`KeySet`] each call: a caller that
/// checks many RRsets against one zone keeps a `KeySet` and calls [`check_signatures_with`].
pub fn check_signatures(
    rrset: &[Record],
    rrsigs: &[Record],
    dnskeys: &[Record],
    zone: &Name,
    now: u32,
    budget: &mut VerificationBudget,
) -> SignatureCheck {
    check_signatures_with(
        rrset,
        rrsigs,
        &KeySet::new(dnskeys, zone),
        zone,
        now,
        budget,
    )
}

/// As [`check_signatures`], against the zone's keys with their tags already computed.
pub fn check_signatures_with(
    rrset: &[Record],
    rrsigs: &[Record],
    keys: &KeySet,
    zone: &Name,
    now: u32,
    budget: &mut VerificationBudget,
) -> SignatureCheck {
    let mut check = SignatureCheck::default();
    let Some(first) = rrset.first() else {
        return check;
    };
    let signatures: Vec<(&Record, &RRSIG)> = rrsigs
        .iter()
        .filter_map(|record| match &record.data {
            RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => Some((record, rrsig)),
            _ => None,
        })
        .collect();
    let beyond = signatures.len().saturating_sub(MAX_SIGNATURES_PER_RRSET);
    check.signatures_capped = u16::try_from(beyond).unwrap_or(u16::MAX);
    for (record, rrsig) in signatures.into_iter().take(MAX_SIGNATURES_PER_RRSET) {
        if check.is_valid() {
            check.unchecked = check.unchecked.saturating_add(1);
            continue;
        }
        let input = rrsig.input();
        let mut detail = SignatureDetail {
            key_tag: input.key_tag,
            algorithm: u8::from(input.algorithm),
            signer: input.signer_name.clone(),
            labels: input.num_labels,
            inception: input.sig_inception.get(),
            expiration: input.sig_expiration.get(),
            keys_tried: 0,
            verdict: SignatureVerdict::Valid,
        };
        let verdict = match precheck(first, record, input, zone, now) {
            Some(verdict) => verdict,
            None => verify_with_keys(rrset, rrsig, keys, budget, &mut detail, &mut check),
        };
        detail.verdict = verdict;
        check.count(verdict);
        if verdict == SignatureVerdict::Valid && input.num_labels < first.name.num_labels() {
            check.wildcard = Some(wildcard_name(&first.name, input.num_labels));
        }
        check.signatures.push(detail);
        if check.budget_exhausted {
            if budget.exhausted() == Some(super::budget::Exhausted::Resolver) {
                check.allowance_spent = budget.allowance_per_second();
            }
            break;
        }
    }
    check
}

/// The RFC 4035 §5.3.1 checks that need no key, in its order; `None` when all pass.
fn precheck(
    first: &Record,
    record: &Record,
    input: &SigInput,
    zone: &Name,
    now: u32,
) -> Option<SignatureVerdict> {
    // "The RRSIG RR and the RRset MUST have the same owner name and the same class."
    if record.name != first.name || record.dns_class != first.dns_class {
        return Some(SignatureVerdict::WrongOwner);
    }
    // "The RRSIG RR's Signer's Name field MUST be the name of the zone that contains the RRset."
    if input.signer_name != *zone {
        return Some(SignatureVerdict::WrongSigner);
    }
    // "The RRSIG RR's Type Covered field MUST equal the RRset's type."
    if input.type_covered != first.record_type() {
        return Some(SignatureVerdict::WrongTypeCovered);
    }
    // "The number of labels in the RRset owner name MUST be greater than or equal to the value
    // in the RRSIG RR's Labels field." (hickory's count leaves out a leading `*`, as RFC 4034
    // §3.1.3 does.)
    if input.num_labels > first.name.num_labels() {
        return Some(SignatureVerdict::BadLabels);
    }
    // RFC 8624 §3.1: algorithms a validator does not implement cannot make data bogus.
    if !algorithm_supported(u8::from(input.algorithm)) {
        return Some(SignatureVerdict::UnsupportedAlgorithm);
    }
    // RFC 4034 §3.1.5: the times are compared with RFC 1982 serial-number arithmetic.
    let inception = input.sig_inception.get();
    let expiration = input.sig_expiration.get();
    if serial_less(expiration, inception) {
        return Some(SignatureVerdict::ExpiredBeforeValid);
    }
    // "The validator's notion of the current time MUST be less than or equal to the time
    // listed in the RRSIG RR's Expiration field."
    if serial_less(expiration, now) {
        return Some(SignatureVerdict::Expired);
    }
    // "The validator's notion of the current time MUST be greater than or equal to the time
    // listed in the RRSIG RR's Inception field."
    if serial_less(now, inception) {
        return Some(SignatureVerdict::NotYetValid);
    }
    None
}

/// Finds the RRSIG's keys and tries at most [`MAX_KEYS_PER_SIGNATURE`] of them.
fn verify_with_keys(
    rrset: &[Record],
    rrsig: &RRSIG,
    keys: &KeySet,
    budget: &mut VerificationBudget,
    detail: &mut SignatureDetail,
    check: &mut SignatureCheck,
) -> SignatureVerdict {
    let input = rrsig.input();
    // "The RRSIG RR's Signer's Name, Algorithm, and Key Tag fields MUST match the owner name,
    // algorithm, and key tag for some DNSKEY RR in the zone's apex DNSKEY RRset."
    let matching: Vec<&DNSKEY> = keys
        .matching(input.key_tag, u8::from(input.algorithm))
        .collect();
    if matching.is_empty() {
        return SignatureVerdict::NoMatchingKey;
    }
    // "The matching DNSKEY RR MUST be present in the zone's apex DNSKEY RRset, and MUST have
    // the Zone Flag bit (DNSKEY RDATA Flag bit 7) set."
    let zone_keys: Vec<&DNSKEY> = matching
        .into_iter()
        .filter(|key| key.flags() & ZONE_KEY_FLAG != 0)
        .collect();
    if zone_keys.is_empty() {
        return SignatureVerdict::NoZoneKeyBit;
    }
    // RFC 5011 §2.1, in substance: a key with the REVOKE bit is no longer used, save to check
    // the self-signature that announces its revocation; whydns uses it for nothing here.
    let usable: Vec<&DNSKEY> = zone_keys
        .into_iter()
        .filter(|key| key.flags() & REVOKE_FLAG == 0)
        .collect();
    if usable.is_empty() {
        return SignatureVerdict::RevokedKey;
    }
    if usable.len() > MAX_KEYS_PER_SIGNATURE {
        check.key_tries_capped = check.key_tries_capped.saturating_add(1);
    }
    let Ok(message) = signed_data(input, rrset) else {
        return SignatureVerdict::BadCrypto;
    };
    let mut verdict = SignatureVerdict::MalformedKey;
    for key in usable.into_iter().take(MAX_KEYS_PER_SIGNATURE) {
        if !budget.spend() {
            return SignatureVerdict::BudgetExhausted;
        }
        detail.keys_tried += 1;
        let algorithm = u8::from(key.public_key().algorithm());
        let public_key = key.public_key().public_bytes();
        match verify_signature(algorithm, public_key, &message, rrsig.sig()) {
            Ok(()) => return SignatureVerdict::Valid,
            Err(CryptoFailure::BadSignature) => verdict = SignatureVerdict::BadCrypto,
            Err(CryptoFailure::MalformedKey) => {}
            Err(CryptoFailure::UnsupportedAlgorithm) => {
                return SignatureVerdict::UnsupportedAlgorithm
            }
        }
    }
    verdict
}

/// The data an RRSIG signs (RFC 4034 §3.1.8.1, RFC 4035 §5.3.2):
/// `RRSIG_RDATA | RR(1) | RR(2)...`, the RRSIG RDATA without the signature, then every RR of
/// the RRset in canonical form and order, each with the RRSIG's Original TTL.
///
/// Built here rather than with hickory's `TBS`, which sorts records with their TTL before their
/// RDATA, compares RDATA in non-canonical form and keeps duplicates.
pub fn signed_data(input: &SigInput, rrset: &[Record]) -> Result<Vec<u8>, SignedDataError> {
    let first = rrset.first().ok_or(SignedDataError::EmptyRrset)?;
    let class = first.dns_class;
    // RFC 4034 §6.3: RDATA in canonical form, sorted as left-justified octet strings.
    let mut rdatas = Vec::with_capacity(rrset.len());
    for record in rrset.iter().filter(|record| {
        record.name == first.name
            && record.dns_class == class
            && record.record_type() == input.type_covered
    }) {
        rdatas.push(canonical_rdata(&record.data)?);
    }
    rdatas.sort();
    // RFC 4034 §6.3: duplicates must be removed "for the purposes of calculating the canonical
    // form of the RRset".
    rdatas.dedup();

    let mut buf = Vec::new();
    {
        let mut encoder = BinEncoder::new(&mut buf);
        encoder.set_canonical_form(true);
        encoder.set_name_encoding(NameEncoding::Uncompressed);
        // The signer's name is written lower-case in canonical form (RFC 4034 §3.1.8.1).
        input
            .emit(&mut encoder)
            .map_err(|_| SignedDataError::Encoding)?;
    }
    let owner = signed_owner(&first.name, input.num_labels)?;
    for rdata in rdatas {
        let length = u16::try_from(rdata.len()).map_err(|_| SignedDataError::Encoding)?;
        buf.extend_from_slice(&owner);
        buf.extend_from_slice(&u16::from(input.type_covered).to_be_bytes());
        buf.extend_from_slice(&u16::from(class).to_be_bytes());
        buf.extend_from_slice(&input.original_ttl.to_be_bytes());
        buf.extend_from_slice(&length.to_be_bytes());
        buf.extend_from_slice(&rdata);
    }
    Ok(buf)
}

/// Why [`signed_data`] could not build the signed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignedDataError {
    #[error("the RRset is empty")]
    EmptyRrset,
    #[error("the RRSIG's Labels field exceeds the owner name's labels")]
    TooManyLabels,
    #[error("a record cannot be encoded")]
    Encoding,
}

fn canonical_rdata(data: &RData) -> Result<Vec<u8>, SignedDataError> {
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    // In canonical form hickory lower-cases the names inside RDATA exactly for the types
    // RFC 4034 §6.2 lists as amended by RFC 6840 §5.1.
    encoder.set_canonical_form(true);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    data.emit(&mut encoder)
        .map_err(|_| SignedDataError::Encoding)?;
    Ok(bytes)
}

/// RFC 4035 §5.3.2: the owner as signed. "if rrsig_labels < fqdn_labels, name = "*." | the
/// rightmost rrsig_label labels of the fqdn"; equal, the owner itself; greater, unusable.
fn signed_owner(owner: &Name, labels: u8) -> Result<Vec<u8>, SignedDataError> {
    let owner_labels = owner.num_labels();
    if labels > owner_labels {
        return Err(SignedDataError::TooManyLabels);
    }
    if labels == owner_labels {
        return Ok(canonical_name_wire(owner));
    }
    let all: Vec<&[u8]> = owner.iter().collect();
    let mut wire = Vec::new();
    push_label(&mut wire, b"*");
    for label in &all[all.len() - usize::from(labels)..] {
        push_label(&mut wire, label);
    }
    wire.push(0);
    Ok(wire)
}

/// The wildcard a signature with `labels` labels was made for.
fn wildcard_name(owner: &Name, labels: u8) -> Name {
    let base = owner.trim_to(usize::from(labels));
    Name::from_labels([b"*" as &[u8]])
        .and_then(|star| star.append_name(&base))
        .unwrap_or(base)
}

/// RFC 1982 §3.2: `a` is less than `b` in serial-number arithmetic (32 bits). Values exactly
/// 2^31 apart are neither.
pub fn serial_less(a: u32, b: u32) -> bool {
    let distance = b.wrapping_sub(a);
    distance != 0 && distance < 0x8000_0000
}

/// The records of `rrsigs` that cover `rtype`; a convenience for callers holding a section.
pub fn covering(rrsigs: &[Record], rtype: RecordType) -> Vec<Record> {
    rrsigs
        .iter()
        .filter(|record| match &record.data {
            RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => rrsig.input().type_covered == rtype,
            _ => false,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
#[path = "rrsig_tests.rs"]
mod tests;
