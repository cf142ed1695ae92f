//! The lab's denial chains: NSEC (RFC 4034 §4) and NSEC3 with empty non-terminals and
//! NSEC3PARAM (RFC 5155 §7.1), their type bitmaps, and the negative TTL (RFC 9077). Split
//! from the signer, which calls it after the zone's records are in place.

use std::collections::BTreeSet;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3, NSEC3PARAM};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::lab::spec::ZoneFault;
use crate::lab::zone::{Nsec3Params, Zone};

/// RFC 9077: the negative-caching TTL is min(SOA TTL, SOA MINIMUM).
pub fn negative_ttl(zone: &Zone) -> u32 {
    let soa = zone.soa();
    match &soa.data {
        RData::SOA(s) => soa.ttl.min(s.minimum),
        _ => soa.ttl,
    }
}

/// Types present at `name` as the NSEC/NSEC3 bitmap shows them (RFC 4034 §4.1.2).
fn bitmap_types(zone: &Zone, name: &Name, signed_here: bool) -> Vec<RecordType> {
    let is_cut = name != &zone.apex
        && zone
            .records
            .get(name)
            .is_some_and(|t| t.contains_key(&RecordType::NS));
    let mut types: BTreeSet<RecordType> = zone
        .records
        .get(name)
        .map(|t| {
            t.keys()
                .copied()
                .filter(|rt| !is_cut || matches!(rt, RecordType::NS | RecordType::DS))
                .collect()
        })
        .unwrap_or_default();
    if signed_here {
        types.insert(RecordType::RRSIG);
    }
    types.remove(&RecordType::NSEC);
    types.into_iter().collect()
}

pub(super) fn add_nsec_chain(zone: &mut Zone) {
    let names: Vec<Name> = zone
        .chain_names()
        .into_iter()
        .filter(|n| zone.records.contains_key(n))
        .collect();
    let ttl = negative_ttl(zone);
    for (i, name) in names.iter().enumerate() {
        let next = names[(i + 1) % names.len()].clone();
        let mut types = bitmap_types(zone, name, true);
        types.push(RecordType::NSEC);
        let nsec = NSEC::new(next, types);
        zone.insert(Record::from_rdata(
            name.clone(),
            ttl,
            RData::DNSSEC(DNSSECRData::NSEC(nsec)),
        ));
    }
}

pub(super) fn add_nsec3_chain(
    zone: &mut Zone,
    iterations: u16,
    salt: Vec<u8>,
    faults: &[ZoneFault],
) -> Result<(), String> {
    let ttl = negative_ttl(zone);
    let param = NSEC3PARAM::new(Nsec3HashAlgorithm::SHA1, false, iterations, salt.clone());
    let apex = zone.apex.clone();
    zone.insert(Record::from_rdata(
        apex.clone(),
        0,
        RData::DNSSEC(DNSSECRData::NSEC3PARAM(param)),
    ));
    let mut hashed: Vec<(Vec<u8>, Name)> = Vec::new();
    for name in zone.chain_names() {
        hashed.push((nsec3_hash(&name, &salt, iterations)?, name));
    }
    hashed.sort();
    let owner_corrupt = faults.contains(&ZoneFault::Nsec3OwnerCorrupt);
    let next_corrupt = faults.contains(&ZoneFault::Nsec3NextCorrupt);
    for (i, (hash, name)) in hashed.iter().enumerate() {
        let mut next = hashed[(i + 1) % hashed.len()].0.clone();
        if next_corrupt {
            // Each NSEC3 then spans only (hash, hash+1): it covers no name at all, so every
            // denial that needs a covering NSEC3 fails, whatever the hashes happen to be.
            next = increment(hash);
        }
        let signed_here = zone.records.get(name).is_some_and(|t| {
            !t.contains_key(&RecordType::NS) || name == &apex || t.contains_key(&RecordType::DS)
        });
        let types = bitmap_types(zone, name, signed_here);
        let nsec3 = NSEC3::new(
            Nsec3HashAlgorithm::SHA1,
            false,
            iterations,
            salt.clone(),
            next,
            types,
        );
        let mut owner_hash = hash.clone();
        if owner_corrupt {
            owner_hash[0] ^= 0x40;
        }
        let owner = nsec3_owner(&owner_hash, &apex)?;
        let record =
            Record::from_rdata(owner.clone(), ttl, RData::DNSSEC(DNSSECRData::NSEC3(nsec3)));
        zone.nsec3.insert(owner, record);
    }
    zone.nsec3_params = Some(Nsec3Params { iterations, salt });
    Ok(())
}

/// The big-endian successor of a hash value.
fn increment(hash: &[u8]) -> Vec<u8> {
    let mut out = hash.to_vec();
    for byte in out.iter_mut().rev() {
        let (value, carry) = byte.overflowing_add(1);
        *byte = value;
        if !carry {
            break;
        }
    }
    out
}

/// RFC 5155 §5: the iterated SHA-1 hash of the canonical owner name.
pub fn nsec3_hash(name: &Name, salt: &[u8], iterations: u16) -> Result<Vec<u8>, String> {
    Nsec3HashAlgorithm::SHA1
        .hash(salt, name, iterations)
        .map(|d| d.as_ref().to_vec())
        .map_err(|e| format!("hashing {name}: {e}"))
}

/// The NSEC3 owner: Base32hex (no padding, lowercase) of the hash, prepended to the apex.
pub fn nsec3_owner(hash: &[u8], apex: &Name) -> Result<Name, String> {
    let label = data_encoding::BASE32HEX_NOPAD
        .encode(hash)
        .to_ascii_lowercase();
    apex.prepend_label(label.as_str())
        .map_err(|e| e.to_string())
}

pub(super) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() || text == "-" {
        return Some(Vec::new());
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}
