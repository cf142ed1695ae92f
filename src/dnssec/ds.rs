//! Does a DS record (from the parent, or a trust anchor) describe this DNSKEY?
//!
//! RFCs: 4034 §5.1.4 (the digest), 4509 (SHA-256), 6605 §2 (SHA-384), 8624 §3.3 (which digest
//! types a validator implements).
//!
//! # Limitations
//! GOST R 34.11-94 (digest type 3) is not implemented; RFC 8624 §3.3 lets validators leave it out.

use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::PublicKey;
use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::BinEncodable;
use serde::Serialize;

/// The outcome of comparing one DS record with one DNSKEY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DsMatch {
    /// The digest over the owner and the DNSKEY equals the DS digest.
    Match,
    /// Key tag and algorithm agree, but the digest differs.
    Mismatch,
    /// The DS uses a digest type whydns does not compute.
    UnsupportedDigest,
    /// The DS names another key: its key tag or algorithm differ from the DNSKEY's.
    WrongKey,
}

/// Whether whydns computes DS digests of this type.
///
/// RFC 8624 §3.3, validation column: SHA-1 (1) "MUST", SHA-256 (2) "MUST", GOST (3) "MAY",
/// SHA-384 (4) "RECOMMENDED".
pub fn digest_supported(digest_type: u8) -> bool {
    matches!(digest_type, 1 | 2 | 4)
}

/// The key tag of a DNSKEY (RFC 4034 Appendix B), as hickory computes it.
pub fn key_tag(dnskey: &DNSKEY) -> u16 {
    // Encoding a DNSKEY into a growable buffer cannot fail; 0 stands in for the impossible.
    dnskey.calculate_key_tag().unwrap_or(0)
}

/// Compares a DS record with a DNSKEY owned by `owner`.
pub fn ds_matches(owner: &Name, dnskey: &DNSKEY, ds: &DS) -> DsMatch {
    // RFC 4035 §5.2, in substance: the DS's Algorithm and Key Tag must be those of the DNSKEY
    // before its digest says anything about it.
    let algorithm = u8::from(dnskey.public_key().algorithm());
    if ds.key_tag() != key_tag(dnskey) || u8::from(ds.algorithm()) != algorithm {
        return DsMatch::WrongKey;
    }
    let digest_algorithm = match u8::from(ds.digest_type()) {
        1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        2 => &ring::digest::SHA256,
        4 => &ring::digest::SHA384,
        _ => return DsMatch::UnsupportedDigest,
    };
    // RFC 4034 §5.1.4: "digest = digest_algorithm( DNSKEY owner name | DNSKEY RDATA)"
    // with the owner name in canonical form: uncompressed, lower case.
    let mut data = canonical_name_wire(owner);
    match dnskey.to_bytes() {
        Ok(rdata) => data.extend_from_slice(&rdata),
        Err(_) => return DsMatch::Mismatch,
    }
    let digest = ring::digest::digest(digest_algorithm, &data);
    if digest.as_ref() == ds.digest() {
        DsMatch::Match
    } else {
        DsMatch::Mismatch
    }
}

/// A name in RFC 4034 §6.2 canonical wire form: every label lower-cased, no compression,
/// ending in the root label.
pub(crate) fn canonical_name_wire(name: &Name) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        push_label(&mut wire, label);
    }
    wire.push(0);
    wire
}

pub(crate) fn push_label(wire: &mut Vec<u8>, label: &[u8]) {
    // Labels are at most 63 octets, which hickory's Name already guarantees.
    wire.push(label.len() as u8);
    wire.extend(label.iter().map(u8::to_ascii_lowercase));
}

/// RFC 4509 §3: "Validator implementations SHOULD ignore DS RRs containing SHA-1 digests if
/// DS RRs with SHA-256 digests are present in the DS RRset." Applied per key (tag and
/// algorithm), and to SHA-384 (RFC 6605 §4) as well: a SHA-1 DS is dropped when the same key
/// has a DS with a stronger digest among `ds` (which should hold supported digests only).
pub fn strongest_digests(ds: Vec<&DS>) -> Vec<&DS> {
    let stronger = |d: &DS| {
        ds.iter().any(|other| {
            matches!(u8::from(other.digest_type()), 2 | 4)
                && other.key_tag() == d.key_tag()
                && other.algorithm() == d.algorithm()
        })
    };
    ds.iter()
        .copied()
        .filter(|d| u8::from(d.digest_type()) != 1 || !stronger(d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::{Algorithm, DigestType};

    fn ds(tag: u16, digest: DigestType) -> DS {
        DS::new(tag, Algorithm::ECDSAP256SHA256, digest, vec![0; 32])
    }

    #[test]
    fn sha1_is_ignored_beside_a_stronger_digest_of_the_same_key() {
        let sha1 = ds(1, DigestType::SHA1);
        let sha256 = ds(1, DigestType::SHA256);
        let other_key_sha1 = ds(2, DigestType::SHA1);
        let kept = strongest_digests(vec![&sha1, &sha256, &other_key_sha1]);
        assert_eq!(kept, vec![&sha256, &other_key_sha1]);
        assert_eq!(strongest_digests(vec![&sha1]), vec![&sha1]);
    }
}
