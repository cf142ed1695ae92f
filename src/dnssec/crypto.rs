//! Signature verification for the DNSSEC algorithms a validator must or may support, and the
//! predicates that say which algorithms and digests whydns validates.
//!
//! RFCs: 3110 (RSA keys), 5702 (RSA/SHA-2), 6605 (ECDSA), 8080 (EdDSA), 8624 (which algorithms
//! a validator implements), 8032 (Ed448).
//!
//! # Limitations
//! - RSA moduli of 1024 bits and more are checked with `ring`; 512–1023-bit moduli (still legal
//!   for algorithms 5, 7 and 8) go through the `rsa` crate, because `ring` refuses them.
//! - RSAMD5, DSA, DSA-NSEC3-SHA1 and ECC-GOST are never validated (RFC 8624 §3.1): a signature
//!   with one of them is reported as unsupported, which makes the data insecure, not bogus.

use ring::signature::{self as rs, UnparsedPublicKey};

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoFailure {
    /// The algorithm is not one whydns validates.
    UnsupportedAlgorithm,
    /// The DNSKEY's public key field cannot be a key of its algorithm (wrong length, bad
    /// encoding, modulus outside the allowed sizes).
    MalformedKey,
    /// The signature does not match the data under this key.
    BadSignature,
}

/// Whether whydns validates signatures of this DNSSEC algorithm number.
///
/// RFC 8624 §3.1, validation column: RSASHA1 (5), RSASHA1-NSEC3-SHA1 (7), RSASHA256 (8),
/// RSASHA512 (10) and ECDSAP256SHA256 (13) "MUST"; ECDSAP384SHA384 (14), ED25519 (15) and
/// ED448 (16) "RECOMMENDED"; ECC-GOST (12) "MAY" and left out; RSAMD5 (1), DSA (3) and
/// DSA-NSEC3-SHA1 (6) "MUST NOT".
pub fn algorithm_supported(algorithm: u8) -> bool {
    matches!(algorithm, 5 | 7 | 8 | 10 | 13 | 14 | 15 | 16)
}

/// Checks `signature` over `message` with a DNSKEY public key field of `algorithm`.
pub fn verify_signature(
    algorithm: u8,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoFailure> {
    match algorithm {
        5 | 7 => verify_rsa(RsaHash::Sha1, public_key, message, signature),
        8 => verify_rsa(RsaHash::Sha256, public_key, message, signature),
        10 => verify_rsa(RsaHash::Sha512, public_key, message, signature),
        13 => verify_ecdsa(
            &rs::ECDSA_P256_SHA256_FIXED,
            64,
            public_key,
            message,
            signature,
        ),
        14 => verify_ecdsa(
            &rs::ECDSA_P384_SHA384_FIXED,
            96,
            public_key,
            message,
            signature,
        ),
        15 => verify_ed25519(public_key, message, signature),
        16 => verify_ed448(public_key, message, signature),
        _ => Err(CryptoFailure::UnsupportedAlgorithm),
    }
}

#[derive(Debug, Clone, Copy)]
enum RsaHash {
    Sha1,
    Sha256,
    Sha512,
}

/// An RSA public key split out of its RFC 3110 §2 encoding.
struct RsaKey<'a> {
    exponent: &'a [u8],
    modulus: &'a [u8],
}

/// RFC 3110 §2: a one-octet exponent length (or a zero octet and a two-octet length), the
/// exponent, then the modulus. Leading zero octets are dropped from both numbers.
fn parse_rsa_key(key: &[u8]) -> Option<RsaKey<'_>> {
    let (&first, rest) = key.split_first()?;
    let (exponent_len, rest) = if first == 0 {
        if rest.len() < 2 {
            return None;
        }
        (
            usize::from(u16::from_be_bytes([rest[0], rest[1]])),
            &rest[2..],
        )
    } else {
        (usize::from(first), rest)
    };
    if exponent_len == 0 || rest.len() <= exponent_len {
        return None;
    }
    let (exponent, modulus) = rest.split_at(exponent_len);
    let exponent = strip_leading_zeros(exponent);
    let modulus = strip_leading_zeros(modulus);
    if exponent.is_empty() || modulus.is_empty() {
        return None;
    }
    Some(RsaKey { exponent, modulus })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    &bytes[zeros..]
}

fn bit_length(number: &[u8]) -> usize {
    match number.first() {
        Some(&top) => (number.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

fn verify_rsa(
    hash: RsaHash,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoFailure> {
    let key = parse_rsa_key(public_key).ok_or(CryptoFailure::MalformedKey)?;
    let bits = bit_length(key.modulus);
    // RFC 3110 §2 and RFC 5702 §2 allow 512 to 4096-bit moduli; RFC 5702 §3 raises the floor
    // to 1024 bits for RSA/SHA-512.
    let minimum = match hash {
        RsaHash::Sha512 => 1024,
        RsaHash::Sha1 | RsaHash::Sha256 => 512,
    };
    if !(minimum..=4096).contains(&bits) {
        return Err(CryptoFailure::MalformedKey);
    }
    if bits >= 1024 {
        let params = match hash {
            RsaHash::Sha1 => &rs::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            RsaHash::Sha256 => &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            RsaHash::Sha512 => &rs::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        };
        let components = rs::RsaPublicKeyComponents {
            n: key.modulus,
            e: key.exponent,
        };
        return components
            .verify(params, message, signature)
            .map_err(|_| CryptoFailure::BadSignature);
    }
    verify_small_rsa(hash, &key, message, signature)
}

/// 512–1023-bit moduli, which `ring` will not take, through the `rsa` crate.
fn verify_small_rsa(
    hash: RsaHash,
    key: &RsaKey<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoFailure> {
    use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
    let public = RsaPublicKey::new(
        BigUint::from_bytes_be(key.modulus),
        BigUint::from_bytes_be(key.exponent),
    )
    .map_err(|_| CryptoFailure::MalformedKey)?;
    // RFC 8017 §9.2 note 1: the DER DigestInfo prefix of each hash.
    let (digest_algorithm, prefix): (_, &[u8]) = match hash {
        RsaHash::Sha1 => (
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
        ),
        RsaHash::Sha256 => (
            &ring::digest::SHA256,
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
        ),
        RsaHash::Sha512 => (
            &ring::digest::SHA512,
            &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        ),
    };
    let scheme = Pkcs1v15Sign {
        hash_len: Some(digest_algorithm.output_len()),
        prefix: prefix.into(),
    };
    let digest = ring::digest::digest(digest_algorithm, message);
    public
        .verify(scheme, digest.as_ref(), signature)
        .map_err(|_| CryptoFailure::BadSignature)
}

/// RFC 6605 §4: the public key is the point's X and Y, the signature r and s, each as many
/// octets as the curve's size (32 for P-256, 48 for P-384).
fn verify_ecdsa(
    algorithm: &'static rs::EcdsaVerificationAlgorithm,
    key_len: usize,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoFailure> {
    if public_key.len() != key_len {
        return Err(CryptoFailure::MalformedKey);
    }
    if signature.len() != key_len {
        return Err(CryptoFailure::BadSignature);
    }
    let mut point = Vec::with_capacity(key_len + 1);
    point.push(0x04);
    point.extend_from_slice(public_key);
    UnparsedPublicKey::new(algorithm, &point)
        .verify(message, signature)
        .map_err(|_| CryptoFailure::BadSignature)
}

/// RFC 8080 §3: the Ed25519 public key is 32 octets, the signature 64.
fn verify_ed25519(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoFailure> {
    if public_key.len() != 32 {
        return Err(CryptoFailure::MalformedKey);
    }
    UnparsedPublicKey::new(&rs::ED25519, public_key)
        .verify(message, signature)
        .map_err(|_| CryptoFailure::BadSignature)
}

/// RFC 8080 §3: the Ed448 public key is 57 octets, the signature 114; plain Ed448 (RFC 8032
/// §5.2) with an empty context.
fn verify_ed448(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoFailure> {
    let key_bytes: &[u8; 57] = public_key
        .try_into()
        .map_err(|_| CryptoFailure::MalformedKey)?;
    let key = ed448_goldilocks::VerifyingKey::from_bytes(key_bytes)
        .map_err(|_| CryptoFailure::MalformedKey)?;
    let signature = ed448_goldilocks::Signature::from_slice(signature)
        .map_err(|_| CryptoFailure::BadSignature)?;
    key.verify_raw(&signature, message)
        .map_err(|_| CryptoFailure::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3110_key_with_long_exponent_length() {
        // A zero first octet means a two-octet exponent length follows.
        let key = [0, 0, 3, 1, 0, 1, 0xc1, 0x5c, 0x1a];
        let parsed = parse_rsa_key(&key).expect("parses");
        assert_eq!(parsed.exponent, &[1, 0, 1]);
        assert_eq!(parsed.modulus, &[0xc1, 0x5c, 0x1a]);
        assert_eq!(bit_length(parsed.modulus), 24);
    }

    #[test]
    fn truncated_rsa_keys_are_malformed() {
        assert!(parse_rsa_key(&[]).is_none());
        assert!(parse_rsa_key(&[3, 1, 0, 1]).is_none());
        assert!(parse_rsa_key(&[0, 0]).is_none());
        assert_eq!(
            verify_signature(8, &[3, 1, 0, 1, 0xff], b"m", b"s"),
            Err(CryptoFailure::MalformedKey)
        );
    }

    #[test]
    fn wrong_length_curve_keys_are_malformed() {
        for algorithm in [13, 14, 15, 16] {
            assert_eq!(
                verify_signature(algorithm, &[4; 10], b"m", &[0; 64]),
                Err(CryptoFailure::MalformedKey),
                "algorithm {algorithm}"
            );
        }
    }

    #[test]
    fn rfc8624_algorithms() {
        for unsupported in [0, 1, 3, 6, 12, 17, 253, 254] {
            assert!(!algorithm_supported(unsupported));
            assert_eq!(
                verify_signature(unsupported, b"k", b"m", b"s"),
                Err(CryptoFailure::UnsupportedAlgorithm)
            );
        }
        for supported in [5, 7, 8, 10, 13, 14, 15, 16] {
            assert!(algorithm_supported(supported));
        }
    }
}
