//! Just enough signature checking for lab tests to tell a good RRSIG from a corrupted one.
//! (The resolver's validator is separate; this only checks the lab's own output.)

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, RRSIG};
use hickory_proto::dnssec::{PublicKey, TBS};
use hickory_proto::rr::{DNSClass, RData, Record};
use ring::signature as rs;

pub fn dnskeys(records: &[Record]) -> Vec<&DNSKEY> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
            _ => None,
        })
        .collect()
}

pub fn rrsigs(records: &[Record]) -> Vec<&RRSIG> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s),
            _ => None,
        })
        .collect()
}

pub fn key_tag(key: &DNSKEY) -> u16 {
    key.calculate_key_tag().unwrap()
}

/// True when `sig` over `rrset` verifies with `key` (ECDSA, Ed25519 and RSA/SHA-2 only).
pub fn verifies(sig: &RRSIG, rrset: &[Record], key: &DNSKEY) -> bool {
    let Some(first) = rrset.first() else {
        return false;
    };
    let Ok(tbs) = TBS::from_input(&first.name, DNSClass::IN, sig.input(), rrset.iter()) else {
        return false;
    };
    let public = key.public_key().public_bytes();
    let algorithm = u8::from(key.public_key().algorithm());
    let verify = |alg: &'static dyn rs::VerificationAlgorithm, public: &[u8]| {
        rs::UnparsedPublicKey::new(alg, public)
            .verify(tbs.as_ref(), sig.sig())
            .is_ok()
    };
    match algorithm {
        13 | 14 => {
            let mut point = vec![4u8];
            point.extend(public);
            let alg: &'static dyn rs::VerificationAlgorithm = if algorithm == 13 {
                &rs::ECDSA_P256_SHA256_FIXED
            } else {
                &rs::ECDSA_P384_SHA384_FIXED
            };
            verify(alg, &point)
        }
        15 => verify(&rs::ED25519, public),
        8 | 10 => {
            let (e_len, rest) = if public[0] == 0 {
                (
                    u16::from_be_bytes([public[1], public[2]]) as usize,
                    &public[3..],
                )
            } else {
                (public[0] as usize, &public[1..])
            };
            let (e, n) = rest.split_at(e_len);
            let components = rs::RsaPublicKeyComponents { n, e };
            let params = if algorithm == 8 {
                &rs::RSA_PKCS1_2048_8192_SHA256
            } else {
                &rs::RSA_PKCS1_2048_8192_SHA512
            };
            components.verify(params, tbs.as_ref(), sig.sig()).is_ok()
        }
        _ => false,
    }
}
