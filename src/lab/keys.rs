//! The lab's fixed signing keys: PKCS#8 PEM files in `testzones/keys/`, one KSK and one ZSK per
//! signed zone, so key tags and DS records are the same on every run.
//!
//! Signing is ring's for RSASHA256/RSASHA512 (ring signs no SHA-1), ECDSA P-256/P-384 and Ed25519. The
//! algorithms ring lacks come from RustCrypto: Ed448 (a valid zone every validator must
//! accept), and RSAMD5 and DSA (RFC 8624 forbids validating them; the lab still signs them
//! for real so a validator's "unsupported algorithm" verdict is not an artefact of bad data).
//! Public keys are in DNSKEY wire form: RFC 3110 (RSA), RFC 2536 (DSA), RFC 6605 (ECDSA),
//! RFC 8080 (EdDSA).

use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{self as rs, KeyPair};

use super::spec::KeyRole;
use super::LabError;

/// DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers").
pub mod alg {
    pub const RSAMD5: u8 = 1;
    pub const DSA: u8 = 3;
    pub const RSASHA256: u8 = 8;
    pub const RSASHA512: u8 = 10;
    pub const ECDSAP256SHA256: u8 = 13;
    pub const ECDSAP384SHA384: u8 = 14;
    pub const ED25519: u8 = 15;
    pub const ED448: u8 = 16;
}

/// Maps a mnemonic from a scenario file to its algorithm number.
pub fn algorithm_number(name: &str) -> Option<u8> {
    Some(match name.to_ascii_uppercase().as_str() {
        "RSAMD5" => alg::RSAMD5,
        "DSA" => alg::DSA,
        "RSASHA256" => alg::RSASHA256,
        "RSASHA512" => alg::RSASHA512,
        "ECDSAP256SHA256" => alg::ECDSAP256SHA256,
        "ECDSAP384SHA384" => alg::ECDSAP384SHA384,
        "ED25519" => alg::ED25519,
        "ED448" => alg::ED448,
        _ => return None,
    })
}

enum Material {
    Rsa(rs::RsaKeyPair, &'static dyn rs::RsaEncoding),
    Ecdsa(rs::EcdsaKeyPair),
    Ed25519(rs::Ed25519KeyPair),
    RsaMd5(Box<rsa::RsaPrivateKey>),
    Dsa(Box<dsa::SigningKey>),
    Ed448(Box<ed448_goldilocks::SigningKey>),
}

/// A private key and its DNSKEY public-key field.
pub struct SigningKey {
    pub algorithm: u8,
    pub role: KeyRole,
    pub public_key: Vec<u8>,
    material: Material,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(alg {}, {:?})", self.algorithm, self.role)
    }
}

/// Where the key for `zone` and `role` lives: `keys/<zone>.<role>.pem` ("root" for ".").
pub fn key_path(dir: &Path, zone: &str, role: KeyRole) -> PathBuf {
    let stem = zone.trim_end_matches('.');
    let stem = if stem.is_empty() { "root" } else { stem };
    let role = match role {
        KeyRole::Ksk => "ksk",
        KeyRole::Zsk => "zsk",
    };
    dir.join("keys").join(format!("{stem}.{role}.pem"))
}

/// The signing material in a PKCS#8 `der` for `algorithm`, and the DNSKEY public key field
/// it gives (RFC 3110, 6605 §4, 8080 §3, 2536). `Err` says why the key cannot be used.
fn key_material(der: &[u8], algorithm: u8) -> Result<(Material, Vec<u8>), String> {
    let pair = match algorithm {
        alg::RSASHA256 | alg::RSASHA512 => {
            let key = rs::RsaKeyPair::from_pkcs8(der).map_err(|e| e.to_string())?;
            let parts = rs::RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
            let public = rsa_dnskey(&parts.e, &parts.n);
            let encoding: &'static dyn rs::RsaEncoding = match algorithm {
                alg::RSASHA256 => &rs::RSA_PKCS1_SHA256,
                _ => &rs::RSA_PKCS1_SHA512,
            };
            (Material::Rsa(key, encoding), public)
        }
        alg::ECDSAP256SHA256 | alg::ECDSAP384SHA384 => {
            let curve = if algorithm == alg::ECDSAP256SHA256 {
                &rs::ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &rs::ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let key = rs::EcdsaKeyPair::from_pkcs8(curve, der, &SystemRandom::new())
                .map_err(|e| e.to_string())?;
            // RFC 6605 §4: the public key is X | Y, without the 0x04 point-format octet.
            let public = key.public_key().as_ref()[1..].to_vec();
            (Material::Ecdsa(key), public)
        }
        alg::ED25519 => {
            let key =
                rs::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| e.to_string())?;
            let public = key.public_key().as_ref().to_vec();
            (Material::Ed25519(key), public)
        }
        alg::ED448 => {
            // PKCS#8 for Ed448 (RFC 8410) ends in the 57-byte private key.
            if der.len() < 57 {
                return Err("too short for Ed448".into());
            }
            let raw = &der[der.len() - 57..];
            let key = ed448_goldilocks::SigningKey::try_from(raw).map_err(|e| e.to_string())?;
            let public = key.verifying_key().to_bytes().to_vec();
            (Material::Ed448(Box::new(key)), public)
        }
        alg::RSAMD5 => {
            use rsa::pkcs8::DecodePrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| e.to_string())?;
            let public = rsa_dnskey(&key.e().to_bytes_be(), &key.n().to_bytes_be());
            (Material::RsaMd5(Box::new(key)), public)
        }
        alg::DSA => {
            use dsa::pkcs8::DecodePrivateKey;
            let key = dsa::SigningKey::from_pkcs8_der(der).map_err(|e| e.to_string())?;
            let public = dsa_dnskey(&key)?;
            (Material::Dsa(Box::new(key)), public)
        }
        other => return Err(format!("the lab cannot sign with algorithm {other}")),
    };
    Ok(pair)
}

impl SigningKey {
    pub fn load(path: &Path, algorithm: u8, role: KeyRole) -> Result<SigningKey, LabError> {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            LabError::invalid(
                path,
                format!(
                    "{e}; create the lab's missing keys with `python3 testzones/keys/make-keys.py`"
                ),
            )
        })?;
        let der = pem_to_der(&pem).ok_or_else(|| LabError::invalid(path, "not a PEM file"))?;
        let (material, public_key) = key_material(&der, algorithm).map_err(|what| {
            LabError::invalid(
                path,
                format!("not a usable key for algorithm {algorithm}: {what}"),
            )
        })?;
        Ok(SigningKey {
            algorithm,
            role,
            public_key,
            material,
        })
    }

    /// Signs `data` (the RFC 4034 §3.1.8.1 signed data) and returns the RRSIG signature field.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        match &self.material {
            Material::Rsa(key, encoding) => {
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(*encoding, &SystemRandom::new(), data, &mut sig)
                    .map_err(|e| e.to_string())?;
                Ok(sig)
            }
            Material::Ecdsa(key) => key
                .sign(&SystemRandom::new(), data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| e.to_string()),
            Material::Ed25519(key) => Ok(key.sign(data).as_ref().to_vec()),
            Material::Ed448(key) => Ok(key.sign_raw(data).to_bytes().to_vec()),
            Material::RsaMd5(key) => {
                use md5::Digest;
                let digest = md5::Md5::digest(data);
                key.sign(rsa::Pkcs1v15Sign::new::<md5::Md5>(), &digest)
                    .map_err(|e| e.to_string())
            }
            Material::Dsa(key) => {
                use dsa::signature::DigestSigner;
                use sha1::Digest;
                let sig: dsa::Signature = key
                    .try_sign_digest(sha1::Sha1::new_with_prefix(data))
                    .map_err(|e| e.to_string())?;
                // RFC 2536 §3: T | R (20 octets) | S (20 octets).
                let mut out = vec![self.public_key[0]];
                out.extend(left_pad(&sig.r().to_bytes_be(), 20));
                out.extend(left_pad(&sig.s().to_bytes_be(), 20));
                Ok(out)
            }
        }
    }
}

/// RFC 3110 §2: exponent length (1 octet, or 0 then 2 octets), exponent, modulus.
fn rsa_dnskey(e: &[u8], n: &[u8]) -> Vec<u8> {
    let e = strip_zeros(e);
    let n = strip_zeros(n);
    let mut out = Vec::with_capacity(3 + e.len() + n.len());
    if e.len() < 256 {
        out.push(e.len() as u8);
    } else {
        out.push(0);
        out.extend((e.len() as u16).to_be_bytes());
    }
    out.extend(e);
    out.extend(n);
    out
}

/// RFC 2536 §2: T | Q (20) | P | G | Y, each of P, G, Y 64 + T*8 octets.
fn dsa_dnskey(key: &dsa::SigningKey) -> Result<Vec<u8>, String> {
    let verifying = key.verifying_key();
    let components = verifying.components();
    let p = components.p().to_bytes_be();
    let t = p.len().checked_sub(64).map(|x| x / 8).filter(|t| *t <= 8);
    let t = t.ok_or_else(|| format!("DSA prime of {} bytes is not 512..1024 bits", p.len()))?;
    let width = 64 + t * 8;
    let mut out = vec![t as u8];
    out.extend(left_pad(&components.q().to_bytes_be(), 20));
    out.extend(left_pad(&p, width));
    out.extend(left_pad(&components.g().to_bytes_be(), width));
    out.extend(left_pad(&verifying.y().to_bytes_be(), width));
    Ok(out)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

fn left_pad(b: &[u8], width: usize) -> Vec<u8> {
    let b = strip_zeros(b);
    let mut out = vec![0u8; width.saturating_sub(b.len())];
    out.extend(b);
    out
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
}

/// RFC 4034 Appendix B key tag over DNSKEY RDATA (flags, protocol, algorithm, key).
pub fn key_tag(rdata: &[u8]) -> u16 {
    if rdata.len() > 3 && rdata[3] == alg::RSAMD5 {
        // Appendix B.1: for RSA/MD5 the tag is the most significant 16 of the low 24 bits.
        let n = rdata.len();
        return if n >= 3 {
            u16::from_be_bytes([rdata[n - 3], rdata[n - 2]])
        } else {
            0
        };
    }
    let mut acc: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        acc += if i & 1 == 1 {
            *b as u32
        } else {
            (*b as u32) << 8
        };
    }
    acc += (acc >> 16) & 0xffff;
    (acc & 0xffff) as u16
}
