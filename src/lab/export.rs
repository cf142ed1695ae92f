//! Files that let any resolver use the lab: the trust anchor (DS and DNSKEY of the lab's root
//! KSK), root hints, and signed zones as master files for independent checks (dnssec-verify).
//!
//! Zones are written in RFC 3597 generic form (`TYPE \# len hex`) for every record: exact
//! bytes, no presentation-format ambiguity, and every DNS tool reads it.

use std::fmt::Write as _;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::PublicKey;
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::build::Lab;
use super::zone::Zone;

/// The lab's trust anchor in master-file syntax: the DS set of the root KSK, plus the KSK
/// itself as a DNSKEY line (for tools that read only DNSKEY anchors).
pub fn lab_trust_anchor(lab: &Lab) -> String {
    let mut out = String::from("; whydns lab trust anchor: the lab root's KSK and its DS\n");
    for ds in &lab.root_ds {
        let _ = writeln!(
            out,
            ". 3600 IN DS {} {} {} {}",
            ds.key_tag,
            ds.algorithm,
            ds.digest_type,
            hex(&ds.digest)
        );
    }
    out
}

/// The lab root's KSK as DNSKEY master-file lines (flags 257).
pub fn lab_root_dnskey(lab: &Lab) -> String {
    use base64::Engine;
    let mut out = String::new();
    if let Some(root) = lab.zones.get(&hickory_proto::rr::Name::root()) {
        for record in root
            .rrset(&root.apex, RecordType::DNSKEY)
            .into_iter()
            .flatten()
        {
            if let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &record.data {
                if key.flags() & 1 == 1 {
                    let _ = writeln!(
                        out,
                        ". 3600 IN DNSKEY {} 3 {} {}",
                        key.flags(),
                        u8::from(key.public_key().algorithm()),
                        base64::engine::general_purpose::STANDARD
                            .encode(key.public_key().public_bytes())
                    );
                }
            }
        }
    }
    out
}

/// Root hints (named.root format) listing the lab's root servers.
pub fn lab_root_hints(lab: &Lab) -> String {
    let mut out = String::from("; whydns lab root hints\n");
    for server in lab.root_servers() {
        let _ = writeln!(out, ".\t3600000\tNS\t{}", server.name);
    }
    for server in lab.root_servers() {
        let rtype = if server.address.is_ipv4() {
            "A"
        } else {
            "AAAA"
        };
        let _ = writeln!(out, "{}\t3600000\t{rtype}\t{}", server.name, server.address);
    }
    out
}

/// Every record of a zone, signatures and NSEC3 chain included, as a master file.
pub fn zone_master_file(zone: &Zone) -> String {
    let mut out = String::new();
    let mut all: Vec<&Record> = Vec::new();
    for types in zone.records.values() {
        all.extend(types.values().flatten());
    }
    all.extend(zone.nsec3.values());
    for types in zone.rrsigs.values() {
        all.extend(types.values().flatten());
    }
    for record in all {
        let _ = writeln!(out, "{}", generic_line(record));
    }
    out
}

fn generic_line(record: &Record) -> String {
    let mut bytes = Vec::new();
    {
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_canonical_form(true);
        encoder.set_name_encoding(NameEncoding::Uncompressed);
        // A record's RDATA always encodes; a failure here would be a bug in the zone model.
        let _ = record.data.emit(&mut encoder);
    }
    format!(
        "{} {} IN {} \\# {} {}",
        record.name,
        record.ttl,
        record.record_type(),
        bytes.len(),
        if bytes.is_empty() {
            String::new()
        } else {
            hex(&bytes)
        }
    )
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
