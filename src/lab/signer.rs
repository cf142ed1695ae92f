//! Signs a lab zone from its fixed keys and applies the scenario's DNSSEC faults.
//!
//! Implements RFC 4034 (DNSKEY, RRSIG, NSEC, DS), RFC 4035 §2 (what is signed: authoritative
//! RRsets and DS at cuts, never delegation NS or glue), RFC 5155 §7.1 (NSEC3 chain with empty
//! non-terminals, NSEC3PARAM) and RFC 9077 (negative TTL). Faults are applied where a real
//! operator's mistake would sit: key faults before signing (so RRSIGs carry the published
//! key's tag and algorithm), signature faults after.

use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf, TBS};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, SerialNumber};

use super::keys::{self, SigningKey};
use super::spec::{Denial, KeyRole, SigningSpec, ZoneFault};
use super::time;
use super::zone::Zone;

/// Default signature window around the lab's start (RFC 4035 §5.3.1 checks it against "now").
const INCEPTION_BEFORE_NOW: i64 = 3600;
const EXPIRATION_AFTER_NOW: i64 = 30 * 86400;

/// The two keys of a zone, as loaded and as published.
pub struct ZoneKeys {
    pub ksk: SigningKey,
    pub zsk: SigningKey,
}

/// A DS record's fields, for the parent zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsFields {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    pub digest: Vec<u8>,
}

/// One key as it appears in the DNSKEY RRset (or would, when a fault drops it).
struct PublishedKey {
    flags: u16,
    algorithm: u8,
    public_key: Vec<u8>,
    published: bool,
}

impl PublishedKey {
    fn rdata_bytes(&self) -> Vec<u8> {
        let mut out = self.flags.to_be_bytes().to_vec();
        out.push(3);
        out.push(self.algorithm);
        out.extend(&self.public_key);
        out
    }

    fn tag(&self) -> u16 {
        keys::key_tag(&self.rdata_bytes())
    }

    fn record(&self, apex: &Name, ttl: u32) -> Record {
        let key = PublicKeyBuf::new(self.public_key.clone(), Algorithm::from_u8(self.algorithm));
        let dnskey = DNSKEY::with_flags(self.flags, key);
        Record::from_rdata(
            apex.clone(),
            ttl,
            RData::DNSSEC(DNSSECRData::DNSKEY(dnskey)),
        )
    }
}

/// Signs `zone` in place and returns the DS set its parent should publish.
pub fn sign_zone(
    zone: &mut Zone,
    spec: &SigningSpec,
    keys: &ZoneKeys,
    faults: &[ZoneFault],
    now: u64,
) -> Result<Vec<DsFields>, String> {
    let apex = zone.apex.clone();
    let key_ttl = zone.soa().ttl;
    let ksk = publish(&keys.ksk, 257, KeyRole::Ksk, faults);
    let zsk = publish(&keys.zsk, 256, KeyRole::Zsk, faults);
    for key in [&ksk, &zsk] {
        if key.published {
            zone.insert(key.record(&apex, key_ttl));
        }
    }
    let keytrap = faults.iter().find_map(|f| match f {
        ZoneFault::Keytrap { keys, signatures } => Some((*keys, *signatures)),
        _ => None,
    });
    if let Some((keys, _)) = keytrap {
        for junk in colliding_keys(&zsk, keys) {
            zone.insert(junk.record(&apex, key_ttl));
        }
    }

    match spec.denial {
        Denial::Nsec => add_nsec_chain(zone),
        Denial::Nsec3 => {
            let salt = decode_hex(&spec.nsec3_salt)
                .ok_or_else(|| format!("nsec3_salt {:?} is not hex", spec.nsec3_salt))?;
            add_nsec3_chain(zone, spec.nsec3_iterations, salt, faults)?;
        }
    }

    let signers = Signers {
        ksk: (&keys.ksk, ksk.tag(), ksk.algorithm),
        zsk: (&keys.zsk, zsk.tag(), zsk.algorithm),
    };
    sign_rrsets(zone, &signers, faults, now)?;
    apply_signature_faults(zone, faults);
    if let Some((_, signatures)) = keytrap {
        replace_with_junk_signatures(zone, signatures);
    }
    zone.signed = true;

    Ok(ds_for_parent(&apex, &ksk, faults))
}

fn publish(key: &SigningKey, flags: u16, role: KeyRole, faults: &[ZoneFault]) -> PublishedKey {
    let mut published = PublishedKey {
        flags,
        algorithm: key.algorithm,
        public_key: key.public_key.clone(),
        published: true,
    };
    for fault in faults {
        match fault {
            ZoneFault::DnskeyDrop { role: r } if *r == role => published.published = false,
            ZoneFault::DnskeyCorrupt { role: r } if *r == role => {
                let mid = published.public_key.len() / 2;
                published.public_key[mid] ^= 0x5a;
                published.public_key[mid + 1] ^= 0xa5;
            }
            ZoneFault::DnskeyFlags { role: r, flags } if *r == role => published.flags = *flags,
            ZoneFault::DnskeyAlgorithm { role: r, value } if *r == role => {
                published.algorithm = *value
            }
            _ => {}
        }
    }
    published
}

struct Signers<'a> {
    ksk: (&'a SigningKey, u16, u8),
    zsk: (&'a SigningKey, u16, u8),
}

/// RFC 4035 §2.2: every authoritative RRset gets an RRSIG; delegation NS and glue do not.
fn sign_rrsets(
    zone: &mut Zone,
    signers: &Signers,
    faults: &[ZoneFault],
    now: u64,
) -> Result<(), String> {
    let mut jobs: Vec<(Name, RecordType, Vec<Record>)> = Vec::new();
    for (name, types) in &zone.records {
        if zone.is_below_cut(name) {
            continue;
        }
        let is_cut = name != &zone.apex && types.contains_key(&RecordType::NS);
        for (rtype, rrset) in types {
            if is_cut && !matches!(rtype, RecordType::DS | RecordType::NSEC) {
                continue;
            }
            jobs.push((name.clone(), *rtype, rrset.clone()));
        }
    }
    for (name, record) in &zone.nsec3 {
        jobs.push((name.clone(), RecordType::NSEC3, vec![record.clone()]));
    }
    for (_, rtype, rrset) in jobs {
        let (key, tag, algorithm) = if rtype == RecordType::DNSKEY {
            signers.ksk
        } else {
            signers.zsk
        };
        let window = window_for(rtype, faults, now)?.unwrap_or(default_window(now));
        let signer = Signer {
            key,
            key_tag: tag,
            algorithm,
            name: &zone.apex,
        };
        let rrsig = signer.rrsig(&rrset, window)?;
        zone.insert(rrsig);
    }
    Ok(())
}

/// The normal signature window, (inception, expiration), around the signing moment `now`.
pub fn default_window(now: u64) -> (u32, u32) {
    (
        (now as i64 - INCEPTION_BEFORE_NOW) as u32,
        (now as i64 + EXPIRATION_AFTER_NOW) as u32,
    )
}

/// A key as it signs: its private half, the key tag and algorithm the RRSIG claims, and
/// the Signer's Name it writes.
pub struct Signer<'a> {
    pub key: &'a SigningKey,
    pub key_tag: u16,
    pub algorithm: u8,
    pub name: &'a Name,
}

impl Signer<'_> {
    /// The RRSIG over `rrset` (one owner and type) for the window (inception, expiration):
    /// labels = the owner's labels without a leading `*`, original TTL = the RRset's TTL,
    /// signature over the RFC 4034 §3.1.8.1 signed data.
    pub fn rrsig(&self, rrset: &[Record], window: (u32, u32)) -> Result<Record, String> {
        let first = rrset.first().ok_or("signing an empty RRset")?;
        let (name, rtype, ttl) = (&first.name, first.record_type(), first.ttl);
        let (inception, expiration) = window;
        let input = SigInput {
            type_covered: rtype,
            algorithm: Algorithm::from_u8(self.algorithm),
            num_labels: name.num_labels(),
            original_ttl: ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.key_tag,
            signer_name: self.name.clone(),
        };
        let tbs = TBS::from_input(name, DNSClass::IN, &input, rrset.iter())
            .map_err(|e| format!("building signed data for {name} {rtype}: {e}"))?;
        let signature = self.key.sign(tbs.as_ref())?;
        let rrsig = RRSIG::from_sig(input, signature);
        Ok(Record::from_rdata(
            name.clone(),
            ttl,
            RData::DNSSEC(DNSSECRData::RRSIG(rrsig)),
        ))
    }
}

fn type_matches(types: &Option<Vec<String>>, rtype: RecordType) -> bool {
    match types {
        None => true,
        Some(list) => list
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&rtype.to_string())),
    }
}

fn window_for(
    rtype: RecordType,
    faults: &[ZoneFault],
    now: u64,
) -> Result<Option<(u32, u32)>, String> {
    for fault in faults {
        if let ZoneFault::RrsigWindow {
            types,
            inception,
            expiration,
        } = fault
        {
            if type_matches(types, rtype) {
                return Ok(Some((
                    time::resolve(inception, now)?,
                    time::resolve(expiration, now)?,
                )));
            }
        }
    }
    Ok(None)
}

fn apply_signature_faults(zone: &mut Zone, faults: &[ZoneFault]) {
    for fault in faults {
        match fault {
            ZoneFault::RrsigStrip { types } => {
                for by_type in zone.rrsigs.values_mut() {
                    by_type.retain(|rtype, _| !type_matches(types, *rtype));
                }
                zone.rrsigs.retain(|_, by_type| !by_type.is_empty());
            }
            ZoneFault::RrsigCorrupt { types } => {
                for by_type in zone.rrsigs.values_mut() {
                    for (rtype, sigs) in by_type.iter_mut() {
                        if type_matches(types, *rtype) {
                            sigs.iter_mut().for_each(corrupt_signature);
                        }
                    }
                }
            }
            ZoneFault::DenialStrip => {
                for types in zone.records.values_mut() {
                    types.remove(&RecordType::NSEC);
                }
                zone.records.retain(|_, t| !t.is_empty());
                for by_type in zone.rrsigs.values_mut() {
                    by_type.remove(&RecordType::NSEC);
                    by_type.remove(&RecordType::NSEC3);
                }
                zone.rrsigs.retain(|_, by_type| !by_type.is_empty());
                zone.nsec3.clear();
            }
            _ => {}
        }
    }
}

/// Public keys of the ZSK's length, algorithm and key tag, each different: a validator
/// that finds an RRSIG with that tag has `count` more candidates to try.
fn colliding_keys(zsk: &PublishedKey, count: u16) -> Vec<PublishedKey> {
    let target = zsk.tag();
    let mut out = Vec::new();
    let mut seed: u32 = 0x9e37_79b9;
    while out.len() < usize::from(count) {
        let mut public_key: Vec<u8> = (0..zsk.public_key.len())
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let n = public_key.len();
        // The key tag is a 16-bit sum with the carry folded in: two trailing bytes can steer
        // it to any value, and the difference from the tag with zeros there is (up to a carry
        // or two) the value they need, so the search starts there.
        public_key[n - 2..].copy_from_slice(&[0, 0]);
        let zeroed = PublishedKey {
            flags: zsk.flags,
            algorithm: zsk.algorithm,
            public_key: public_key.clone(),
            published: true,
        };
        let guess = target.wrapping_sub(zeroed.tag());
        for offset in 0..=u16::MAX {
            let last = guess.wrapping_sub(2).wrapping_add(offset);
            public_key[n - 2..].copy_from_slice(&last.to_be_bytes());
            let candidate = PublishedKey {
                flags: zsk.flags,
                algorithm: zsk.algorithm,
                public_key: public_key.clone(),
                published: true,
            };
            if candidate.tag() == target {
                out.push(candidate);
                break;
            }
        }
    }
    out
}

/// Replaces the apex A RRset's signatures by `count` copies claiming the same key but
/// carrying garbage, so none verifies with any key.
fn replace_with_junk_signatures(zone: &mut Zone, count: u16) {
    let apex = zone.apex.clone();
    let Some(genuine) = zone.signatures(&apex, RecordType::A).first().cloned() else {
        return;
    };
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &genuine.data else {
        return;
    };
    let junk: Vec<Record> = (0..count)
        .map(|i| {
            let bytes: Vec<u8> = (0..sig.sig().len())
                .map(|j| (i as usize * 31 + j * 7) as u8)
                .collect();
            let mut record = genuine.clone();
            record.data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
                sig.input().clone(),
                bytes,
            )));
            record
        })
        .collect();
    if let Some(by_type) = zone.rrsigs.get_mut(&apex) {
        by_type.insert(RecordType::A, junk);
    }
}

fn corrupt_signature(record: &mut Record) {
    if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &record.data {
        let mut bytes = sig.sig().to_vec();
        let mid = bytes.len() / 2;
        if let Some(b) = bytes.get_mut(mid) {
            *b ^= 0xff;
        }
        let rrsig = RRSIG::from_sig(sig.input().clone(), bytes);
        record.data = RData::DNSSEC(DNSSECRData::RRSIG(rrsig));
    }
}

/// RFC 4034 §5.1.4: digest = SHA-256(owner name | DNSKEY RDATA), digest type 2, with the
/// `ds-*` faults applied to it; `ds-add-sha1` adds the correct SHA-1 DS (digest type 1)
/// of the same published KSK beside it, untouched by the other faults.
fn ds_for_parent(apex: &Name, ksk: &PublishedKey, faults: &[ZoneFault]) -> Vec<DsFields> {
    let mut data = name_wire(apex);
    data.extend(ksk.rdata_bytes());
    let digest_of = |algorithm| ring::digest::digest(algorithm, &data).as_ref().to_vec();
    let mut ds = DsFields {
        key_tag: ksk.tag(),
        algorithm: ksk.algorithm,
        digest_type: 2,
        digest: digest_of(&ring::digest::SHA256),
    };
    for fault in faults {
        match fault {
            ZoneFault::DsKeyTag { value } => {
                ds.key_tag = value.unwrap_or(ds.key_tag.wrapping_add(1))
            }
            ZoneFault::DsAlgorithm { value } => ds.algorithm = *value,
            ZoneFault::DsDigestType { value } => ds.digest_type = *value,
            ZoneFault::DsDigestCorrupt => {
                let mid = ds.digest.len() / 2;
                ds.digest[mid] ^= 0xff;
            }
            _ => {}
        }
    }
    // `ds-absent` removes the zone's DS; with `ds-add-sha1` the SHA-1 DS is then the only one.
    let main = (!faults.contains(&ZoneFault::DsAbsent)).then_some(ds);
    let sha1 = faults.contains(&ZoneFault::DsAddSha1).then(|| DsFields {
        key_tag: ksk.tag(),
        algorithm: ksk.algorithm,
        digest_type: 1,
        digest: digest_of(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY),
    });
    main.into_iter().chain(sha1).collect()
}

impl DsFields {
    pub fn record(&self, owner: &Name, ttl: u32) -> Record {
        let ds = DS::new(
            self.key_tag,
            Algorithm::from_u8(self.algorithm),
            DigestType::from(self.digest_type),
            self.digest.clone(),
        );
        Record::from_rdata(owner.clone(), ttl, RData::DNSSEC(DNSSECRData::DS(ds)))
    }
}

/// Uncompressed, lowercase wire form of a name (RFC 4034 §6.2).
pub fn name_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.to_lowercase().iter() {
        out.push(label.len() as u8);
        out.extend(label);
    }
    out.push(0);
    out
}

mod denial;

use denial::{add_nsec3_chain, add_nsec_chain, decode_hex};
pub use denial::{negative_ttl, nsec3_hash, nsec3_owner};

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::Digest as _;

    fn ksk() -> PublishedKey {
        PublishedKey {
            flags: 257,
            algorithm: 13,
            public_key: (0..64).collect(),
            published: true,
        }
    }

    #[test]
    fn ds_add_sha1_adds_a_correct_sha1_ds_beside_the_faulted_sha256_one() {
        let apex = Name::from_ascii("x.lab.").unwrap();
        let key = ksk();
        let clean = ds_for_parent(&apex, &key, &[]);
        let faults = [ZoneFault::DsDigestCorrupt, ZoneFault::DsAddSha1];
        let ds = ds_for_parent(&apex, &key, &faults);
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].digest_type, 2);
        assert_ne!(ds[0].digest, clean[0].digest, "the SHA-256 DS is corrupted");
        let mut data = name_wire(&apex);
        data.extend(key.rdata_bytes());
        let expected = DsFields {
            key_tag: key.tag(),
            algorithm: 13,
            digest_type: 1,
            digest: sha1::Sha1::digest(&data).to_vec(),
        };
        assert_eq!(ds[1], expected);
        // Other DS faults leave the SHA-1 DS alone; ds-absent leaves only it.
        let faults = [
            ZoneFault::DsAddSha1,
            ZoneFault::DsKeyTag { value: Some(7) },
            ZoneFault::DsAlgorithm { value: 8 },
        ];
        let ds = ds_for_parent(&apex, &key, &faults);
        assert_eq!((ds[0].key_tag, ds[0].algorithm), (7, 8));
        assert_eq!(ds[1], expected);
        let ds = ds_for_parent(&apex, &key, &[ZoneFault::DsAbsent, ZoneFault::DsAddSha1]);
        assert_eq!(ds, [expected]);
    }
}
