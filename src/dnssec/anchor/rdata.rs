//! The DS and DNSKEY fields of an anchor entry, shared by both file forms: numbers or
//! mnemonics, hex or base64 split over tokens, and the checks that make an anchor usable.
//!
//! RFCs: 4034 §2.1–2.2, §5.1–5.3 and Appendix A.1; 4509 §2.2 and 6605 §2 (digest sizes);
//! 5011 §2.1; 6605 §4 and 8080 §3 (key sizes); 8624 via `algorithm_supported` and
//! `digest_supported`.

use base64::Engine;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};

use super::{AnchorField, SkipReason};
use crate::dnssec::{algorithm_supported, digest_supported};

/// RFC 4034 Appendix A.1 and the IANA "DNS Security Algorithm Numbers" registry.
const ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

/// The IANA "Delegation Signer (DS) Resource Record Digest Algorithms" registry, with the
/// spellings tools print (`SHA-256` and `SHA256`); the first of each number is its name.
const DIGESTS: &[(u8, &str)] = &[
    (1, "SHA-1"),
    (1, "SHA1"),
    (2, "SHA-256"),
    (2, "SHA256"),
    (3, "GOST"),
    (4, "SHA-384"),
    (4, "SHA384"),
];

/// The mnemonic of a DNSSEC algorithm number, if it has one.
pub fn algorithm_mnemonic(algorithm: u8) -> Option<&'static str> {
    ALGORITHMS
        .iter()
        .find(|(number, _)| *number == algorithm)
        .map(|(_, name)| *name)
}

/// The name of a DS digest type number, if it has one.
pub fn digest_mnemonic(digest_type: u8) -> Option<&'static str> {
    DIGESTS
        .iter()
        .find(|(number, _)| *number == digest_type)
        .map(|(_, name)| *name)
}

/// A number, or a mnemonic of `table` in any letter case.
fn number_or_mnemonic(
    tokens: &[&str],
    index: usize,
    field: AnchorField,
    table: &[(u8, &str)],
) -> Result<u8, SkipReason> {
    let token = *tokens.get(index).ok_or(SkipReason::Missing { field })?;
    if let Ok(number) = token.parse() {
        return Ok(number);
    }
    table
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(token))
        .map(|(number, _)| *number)
        .ok_or_else(|| unreadable(field, token))
}

fn number<T: std::str::FromStr>(
    tokens: &[&str],
    index: usize,
    field: AnchorField,
) -> Result<T, SkipReason> {
    let token = *tokens.get(index).ok_or(SkipReason::Missing { field })?;
    token.parse().map_err(|_| unreadable(field, token))
}

pub(super) fn unreadable(field: AnchorField, text: &str) -> SkipReason {
    SkipReason::Unreadable {
        field,
        text: cut(text),
    }
}

/// `text`, cut to 40 characters so that a warning stays one readable line.
pub(super) fn cut(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The tokens from `index` on as one string without white space (hex and base64 may be split
/// over tokens, lines and, in BIND files, inside one quoted string).
fn joined(tokens: &[&str], index: usize, field: AnchorField) -> Result<String, SkipReason> {
    let text: String = tokens
        .get(index..)
        .unwrap_or_default()
        .iter()
        .flat_map(|token| token.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    if text.is_empty() {
        return Err(SkipReason::Missing { field });
    }
    Ok(text)
}

fn check_algorithm(algorithm: u8) -> Result<(), SkipReason> {
    if algorithm_supported(algorithm) {
        Ok(())
    } else {
        Err(SkipReason::UnsupportedAlgorithm { algorithm })
    }
}

/// RFC 4034 §5.3: `key-tag algorithm digest-type digest`, the digest in hex, maybe split.
pub(super) fn ds(tokens: &[&str]) -> Result<DS, SkipReason> {
    let key_tag: u16 = number(tokens, 0, AnchorField::KeyTag)?;
    let algorithm = number_or_mnemonic(tokens, 1, AnchorField::Algorithm, ALGORITHMS)?;
    let digest_type = number_or_mnemonic(tokens, 2, AnchorField::DigestType, DIGESTS)?;
    let hex = joined(tokens, 3, AnchorField::Digest)?;
    let digest = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .map_err(|_| unreadable(AnchorField::Digest, &hex))?;
    check_algorithm(algorithm)?;
    // RFC 4034 §5.1.4 (SHA-1), RFC 4509 §2.2 (SHA-256) and RFC 6605 §2 (SHA-384) fix the
    // digest sizes: 20, 32 and 48 octets. Any other length can never match a key.
    let expected = match digest_type {
        1 => 20,
        2 => 32,
        4 => 48,
        _ => 0,
    };
    if expected == 0 || !digest_supported(digest_type) {
        return Err(SkipReason::UnsupportedDigest { digest_type });
    }
    if digest.len() != expected {
        return Err(SkipReason::DigestLength {
            digest_type,
            expected,
            found: digest.len(),
        });
    }
    Ok(DS::new(
        key_tag,
        Algorithm::from_u8(algorithm),
        DigestType::from(digest_type),
        digest,
    ))
}

/// The Zone Key flag (bit 7) and the REVOKE flag (bit 8) of RFC 4034 §2.1.1 / RFC 5011 §2.1.
const ZONE_KEY: u16 = 0x0100;
const REVOKE: u16 = 0x0080;

/// RFC 4034 §2.2: `flags protocol algorithm public-key`, the key in base64, maybe split.
pub(super) fn dnskey(tokens: &[&str]) -> Result<DNSKEY, SkipReason> {
    let flags: u16 = number(tokens, 0, AnchorField::Flags)?;
    let protocol: u8 = number(tokens, 1, AnchorField::Protocol)?;
    let algorithm = number_or_mnemonic(tokens, 2, AnchorField::Algorithm, ALGORITHMS)?;
    let text = joined(tokens, 3, AnchorField::PublicKey)?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| unreadable(AnchorField::PublicKey, &text))?;
    // RFC 4034 §2.1.2: "The Protocol AnchorField MUST have value 3".
    if protocol != 3 {
        return Err(SkipReason::Protocol { protocol });
    }
    // RFC 4034 §2.1.1: "If bit 7 has value 0, then the DNSKEY record holds some other type
    // of DNS public key and MUST NOT be used to verify RRSIGs that cover RRsets."
    if flags & ZONE_KEY == 0 {
        return Err(SkipReason::NotAZoneKey { flags });
    }
    // RFC 5011 §2.1: a key with the REVOKE bit set must not be used as a trust anchor.
    if flags & REVOKE != 0 {
        return Err(SkipReason::Revoked { flags });
    }
    check_algorithm(algorithm)?;
    check_key_length(algorithm, key.len())?;
    Ok(DNSKEY::with_flags(
        flags,
        PublicKeyBuf::new(key, Algorithm::from_u8(algorithm)),
    ))
}

/// RFC 6605 §4 (ECDSA P-256: 64 octets, P-384: 96) and RFC 8080 §3 (Ed25519: 32, Ed448:
/// 57). RSA keys have no fixed size; the signature check judges them.
fn check_key_length(algorithm: u8, found: usize) -> Result<(), SkipReason> {
    let expected = match algorithm {
        13 => 64,
        14 => 96,
        15 => 32,
        16 => 57,
        _ => return Ok(()),
    };
    if found == expected {
        return Ok(());
    }
    Err(SkipReason::KeyLength {
        algorithm,
        expected,
        found,
    })
}
