//! One zone's data as the lab serves it: RRsets by owner and type, the RRSIGs over them, and
//! the NSEC3 chain kept apart (its owner names are not names a client can query, RFC 5155 §7.2.8).
//!
//! Zones are read from master files (RFC 1035 §5) with hickory-proto's parser and held in
//! canonical order (RFC 4034 §6.1), lowercased, so signing and NSEC chains need no re-sorting.

use std::collections::BTreeMap;
use std::path::Path;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

use super::LabError;

/// An RRset: the records of one owner and type.
pub type RrSet = Vec<Record>;

#[derive(Debug, Clone)]
pub struct Zone {
    pub apex: Name,
    /// Authoritative data, delegation NS/DS and glue, NSEC, DNSKEY: owner -> type -> RRset.
    pub records: BTreeMap<Name, BTreeMap<RecordType, RrSet>>,
    /// Signatures: owner -> covered type -> RRSIG records (NSEC3 owners included).
    pub rrsigs: BTreeMap<Name, BTreeMap<RecordType, RrSet>>,
    /// NSEC3 records by owner (hash label + apex), in hash order.
    pub nsec3: BTreeMap<Name, Record>,
    /// NSEC3 parameters when the zone is signed with NSEC3.
    pub nsec3_params: Option<Nsec3Params>,
    pub signed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3Params {
    pub iterations: u16,
    pub salt: Vec<u8>,
}

impl Zone {
    /// Reads a master file. A parse error names the file and, where it can be found, the line.
    pub fn read(apex: &Name, path: &Path) -> Result<Zone, LabError> {
        let text = std::fs::read_to_string(path).map_err(|e| LabError::io(path, e))?;
        let (text, dnames) = extract_dnames(&text, apex, path)?;
        let parsed = Parser::new(text.as_str(), Some(path.to_path_buf()), Some(apex.clone()))
            .parse()
            .map_err(|e| LabError::Parse {
                file: path.to_path_buf(),
                line: first_failing_line(&text, path, apex),
                message: e.to_string(),
            })?;
        let mut zone = Zone::empty(apex.clone());
        for record in dnames {
            zone.insert(record);
        }
        for rrset in parsed.1.values() {
            for record in rrset.records_without_rrsigs() {
                let mut record = record.clone();
                record.name = record.name.to_lowercase();
                record.data = lowercase_rdata(record.data);
                if !zone.apex.zone_of(&record.name) {
                    return Err(LabError::invalid(
                        path,
                        format!("{} is outside the zone {}", record.name, zone.apex),
                    ));
                }
                zone.insert(record);
            }
        }
        zone.check(path)?;
        Ok(zone)
    }

    pub fn empty(apex: Name) -> Zone {
        Zone {
            apex,
            records: BTreeMap::new(),
            rrsigs: BTreeMap::new(),
            nsec3: BTreeMap::new(),
            nsec3_params: None,
            signed: false,
        }
    }

    fn check(&self, path: &Path) -> Result<(), LabError> {
        let apex = self.records.get(&self.apex);
        if apex.and_then(|t| t.get(&RecordType::SOA)).is_none() {
            return Err(LabError::invalid(
                path,
                format!("no SOA at the apex {}", self.apex),
            ));
        }
        if apex.and_then(|t| t.get(&RecordType::NS)).is_none() {
            return Err(LabError::invalid(
                path,
                format!("no NS at the apex {}", self.apex),
            ));
        }
        for (name, types) in &self.records {
            if types.contains_key(&RecordType::CNAME) && types.len() > 1 {
                return Err(LabError::invalid(
                    path,
                    format!("{name} has a CNAME and other data (RFC 1034 §3.6.2)"),
                ));
            }
        }
        Ok(())
    }

    /// Adds a record to its RRset (RRSIGs go to the signature map).
    pub fn insert(&mut self, record: Record) {
        let name = record.name.clone();
        if let RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) = &record.data {
            let covered = sig.input().type_covered;
            self.rrsigs
                .entry(name)
                .or_default()
                .entry(covered)
                .or_default()
                .push(record);
            return;
        }
        let set = self
            .records
            .entry(name)
            .or_default()
            .entry(record.record_type())
            .or_default();
        // RFC 2181 §5.2: all records of an RRset share one TTL.
        if let Some(first) = set.first() {
            let ttl = first.ttl.min(record.ttl);
            set.iter_mut().for_each(|r| r.ttl = ttl);
        }
        if !set.iter().any(|r| r.data == record.data) {
            set.push(record);
        }
    }

    pub fn rrset(&self, name: &Name, rtype: RecordType) -> Option<&RrSet> {
        self.records.get(name).and_then(|t| t.get(&rtype))
    }

    pub fn signatures(&self, name: &Name, covered: RecordType) -> &[Record] {
        self.rrsigs
            .get(name)
            .and_then(|t| t.get(&covered))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn soa(&self) -> &Record {
        &self
            .rrset(&self.apex, RecordType::SOA)
            .expect("checked at load")[0]
    }

    /// The zone cut at or above `name` and below the apex, if any (RFC 1034 §4.3.2 step 3b).
    pub fn cut_above(&self, name: &Name) -> Option<&Name> {
        let mut candidates: Vec<Name> = Vec::new();
        let mut n = name.clone();
        while label_count(&n) > label_count(&self.apex) {
            candidates.push(n.clone());
            n = n.base_name();
        }
        candidates.reverse();
        candidates.into_iter().find_map(|c| {
            self.records
                .get_key_value(&c)
                .filter(|(_, types)| types.contains_key(&RecordType::NS))
                .map(|(k, _)| k)
        })
    }

    /// True when `name` is below a delegation (glue or occluded data): not authoritative.
    pub fn is_below_cut(&self, name: &Name) -> bool {
        self.cut_above(name).is_some_and(|cut| cut != name)
    }

    /// True when `name` owns data or has descendants (empty non-terminal, RFC 5155 §7.1).
    pub fn name_exists(&self, name: &Name) -> bool {
        self.records
            .range(name.clone()..)
            .next()
            .is_some_and(|(n, _)| name.zone_of(n))
    }

    /// Authoritative owner names plus empty non-terminals, in canonical order: the names an
    /// NSEC or NSEC3 chain must cover. Glue below a cut is excluded (RFC 4035 §2.3).
    pub fn chain_names(&self) -> Vec<Name> {
        let mut names: std::collections::BTreeSet<Name> = std::collections::BTreeSet::new();
        for name in self.records.keys() {
            if self.is_below_cut(name) {
                continue;
            }
            let mut n = name.clone();
            loop {
                names.insert(n.clone());
                if label_count(&n) <= label_count(&self.apex) {
                    break;
                }
                n = n.base_name();
            }
        }
        names.into_iter().collect()
    }
}

/// Domain names inside RDATA are lowercased too, so canonical form (RFC 4034 §6.2) is the
/// stored form.
pub(crate) fn lowercase_rdata(data: RData) -> RData {
    use hickory_proto::rr::rdata::{CNAME, MX, NS, PTR, SOA, SRV};
    match data {
        RData::NS(ns) => RData::NS(NS(ns.0.to_lowercase())),
        RData::CNAME(c) => RData::CNAME(CNAME(c.0.to_lowercase())),
        RData::PTR(p) => RData::PTR(PTR(p.0.to_lowercase())),
        RData::MX(mx) => RData::MX(MX::new(mx.preference, mx.exchange.to_lowercase())),
        RData::SRV(s) => RData::SRV(SRV::new(
            s.priority,
            s.weight,
            s.port,
            s.target.to_lowercase(),
        )),
        RData::SOA(soa) => RData::SOA(SOA::new(
            soa.mname.to_lowercase(),
            soa.rname.to_lowercase(),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum,
        )),
        other => other,
    }
}

/// hickory's parse errors carry no position; find the first line whose prefix already fails.
fn first_failing_line(text: &str, path: &Path, apex: &Name) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut prefix = String::new();
    for (i, line) in lines.iter().enumerate() {
        prefix.push_str(line);
        prefix.push('\n');
        let depth: i32 = prefix.matches('(').count() as i32 - prefix.matches(')').count() as i32;
        if depth > 0 {
            continue;
        }
        let parsed = Parser::new(
            prefix.as_str(),
            Some(path.to_path_buf()),
            Some(apex.clone()),
        )
        .parse();
        if parsed.is_err() {
            return Some(i + 1);
        }
    }
    None
}

/// Labels in a name, counting a leading `*` (hickory's `num_labels` discounts it, as the
/// RRSIG labels field wants).
pub fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// hickory-proto's parser rejects DNAME (RFC 6672), so the lab reads those lines itself:
/// `owner [ttl] [IN] DNAME target` on one line, names relative to the zone apex. Each is
/// blanked in the text handed to hickory, keeping line numbers, and returned as a record
/// with the target in uncompressed wire form.
fn extract_dnames(text: &str, apex: &Name, path: &Path) -> Result<(String, Vec<Record>), LabError> {
    let mut kept = String::with_capacity(text.len());
    let mut records = Vec::new();
    let mut default_ttl = 3600u32;
    for (number, line) in text.lines().enumerate() {
        let code = line.split(';').next().unwrap_or("");
        let tokens: Vec<&str> = code.split_whitespace().collect();
        if tokens.first() == Some(&"$TTL") {
            default_ttl = tokens
                .get(1)
                .and_then(|t| t.parse().ok())
                .unwrap_or(default_ttl);
        }
        // The type is the first token after the owner that is neither a TTL nor a class.
        let type_at = tokens.iter().skip(1).position(|t| {
            !t.chars().all(|c| c.is_ascii_digit())
                && !["IN", "CH", "HS"].contains(&t.to_ascii_uppercase().as_str())
        });
        let at = type_at.map(|i| i + 1).filter(|&i| {
            !line.starts_with(char::is_whitespace) && tokens[i].eq_ignore_ascii_case("DNAME")
        });
        let Some(at) = at else {
            kept.push_str(line);
            kept.push('\n');
            continue;
        };
        let bad = |message: &str| LabError::Parse {
            file: path.to_path_buf(),
            line: Some(number + 1),
            message: message.to_string(),
        };
        if tokens.len() != at + 2 {
            return Err(bad(
                "DNAME lines must read `owner [ttl] [IN] DNAME target` on one line",
            ));
        }
        let ttl = tokens[1..at]
            .iter()
            .find_map(|t| t.parse::<u32>().ok())
            .unwrap_or(default_ttl);
        let owner = resolve_name(tokens[0], apex).map_err(|e| bad(&e))?;
        if !apex.zone_of(&owner) {
            return Err(bad(&format!("{owner} is outside the zone {apex}")));
        }
        let target = resolve_name(tokens[at + 1], apex).map_err(|e| bad(&e))?;
        let mut wire = Vec::new();
        for label in target.iter() {
            wire.push(label.len() as u8);
            wire.extend(label);
        }
        wire.push(0);
        let data = RData::Unknown {
            code: RecordType::DNAME,
            rdata: hickory_proto::rr::rdata::NULL::with(wire),
        };
        records.push(Record::from_rdata(owner, ttl, data));
        kept.push('\n');
    }
    Ok((kept, records))
}

fn resolve_name(text: &str, apex: &Name) -> Result<Name, String> {
    if text == "@" {
        return Ok(apex.clone());
    }
    Name::parse(text, Some(apex))
        .map(|n| n.to_lowercase())
        .map_err(|e| format!("bad name {text:?}: {e}"))
}

pub use crate::rdata::dname_target;
