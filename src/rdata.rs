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
