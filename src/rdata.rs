//! RDATA that hickory-proto 0.26 does not type: DNAME (RFC 6672) arrives as generic RDATA
//! (`RData::Unknown`), both from the wire and from the lab's own zone reader.

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// The target of a DNAME record, or None if the record is not a DNAME or its RDATA is not a
/// name. RFC 6672 §2.5 forbids compressing it, so the RDATA alone decodes.
pub fn dname_target(record: &Record) -> Option<Name> {
    match &record.data {
        RData::Unknown {
            code: RecordType::DNAME,
            rdata,
        } => Name::read(&mut BinDecoder::new(&rdata.anything)).ok(),
        _ => None,
    }
}

/// The CNAME a DNAME synthesises for `name` (RFC 6672 §2.2): `name` with the DNAME's owner
/// replaced by its target, with the DNAME's TTL. None when `name` is not strictly below the
/// owner, the record is not a DNAME, or the result would exceed 255 octets (RFC 6672 §2.2:
/// YXDOMAIN).
pub fn synthesise_cname(dname: &Record, name: &Name) -> Option<Record> {
    let target = dname_target(dname)?;
    let owner = &dname.name;
    if !owner.zone_of(name) || owner.num_labels() >= name.num_labels() {
        return None;
    }
    let keep = usize::from(name.num_labels() - owner.num_labels());
    let prefix: Vec<&[u8]> = name.iter().take(keep).collect();
    let synthesised = Name::from_labels(prefix).ok()?.append_name(&target).ok()?;
    let mut record = Record::from_rdata(
        name.clone(),
        dname.ttl,
        RData::CNAME(hickory_proto::rr::rdata::CNAME(synthesised)),
    );
    record.dns_class = dname.dns_class;
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dname(owner: &str, target: &str) -> Record {
        let target = Name::from_ascii(target).unwrap();
        let mut bytes = Vec::new();
        let mut encoder = hickory_proto::serialize::binary::BinEncoder::new(&mut bytes);
        hickory_proto::serialize::binary::BinEncodable::emit(&target, &mut encoder).unwrap();
        Record::from_rdata(
            Name::from_ascii(owner).unwrap(),
            300,
            RData::Unknown {
                code: RecordType::DNAME,
                rdata: hickory_proto::rr::rdata::NULL::with(bytes),
            },
        )
    }

    #[test]
    fn synthesis_replaces_the_owner_with_the_target() {
        let d = dname("old.example.", "new.example.net.");
        let name = Name::from_ascii("www.a.old.example.").unwrap();
        let cname = synthesise_cname(&d, &name).unwrap();
        assert_eq!(cname.name, name);
        assert_eq!(
            cname.data,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(
                Name::from_ascii("www.a.new.example.net.").unwrap()
            ))
        );
        assert_eq!(cname.ttl, 300);
        // The owner itself and names elsewhere are not redirected.
        assert!(synthesise_cname(&d, &Name::from_ascii("old.example.").unwrap()).is_none());
        assert!(synthesise_cname(&d, &Name::from_ascii("www.other.example.").unwrap()).is_none());
    }

    #[test]
    fn synthesis_longer_than_255_octets_is_refused() {
        let long = format!("{}.example.", vec!["a".repeat(60); 4].join("."));
        let d = dname("o.example.", &long);
        let name = Name::from_ascii(format!("{}.o.example.", "b".repeat(60))).unwrap();
        assert!(synthesise_cname(&d, &name).is_none());
    }
}
