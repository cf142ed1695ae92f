//! The authoritative answer: what one lab server says to one question, before transport faults.
//!
//! RFC 1034 §4.3.2 (the algorithm: zone cut -> referral, exact match, CNAME, wildcard, NXDOMAIN),
//! RFC 6672 (DNAME), RFC 2308 (negative answers with SOA), RFC 4035 §3.1 (RRSIGs, DS at the
//! parent, NSEC proofs when DO is set) and RFC 5155 §7.2 (NSEC3 proofs). Pure: no I/O.
//!
//! Limitations: no opt-out NSEC3; a CNAME chain is followed only through zones this same
//! server serves (as BIND and NSD do), at most 8 links.

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::signer::{negative_ttl, nsec3_hash, nsec3_owner};
use super::spec::LameAnswer;
use super::zone::{dname_target, label_count, RrSet, Zone};

const MAX_CHASE: usize = 8;

/// What a server knows: its zones, and what it says about names outside them.
#[derive(Clone)]
pub struct ServerView {
    pub zones: Vec<Arc<Zone>>,
    /// None: REFUSED (RFC 8906 §3.1.2 lets a server refuse names it does not serve).
    pub lame: Option<LameAnswer>,
    /// The root's NS set and addresses, for an upward referral.
    pub root_ns: Vec<(Name, IpAddr)>,
}

/// The sections of an answer, before it is put on the wire.
#[derive(Debug, Default, Clone)]
pub struct Reply {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
}

enum Step {
    /// Answer records, and authority records (a wildcard expansion's denial proof).
    Answer(Vec<Record>, Vec<Record>),
    Alias(Vec<Record>, Name),
    Referral(Reply),
    NoData(Vec<Record>),
    NxDomain(Vec<Record>),
}

impl ServerView {
    pub fn answer(&self, qname: &Name, qtype: RecordType, dnssec_ok: bool) -> Reply {
        let qname = qname.to_lowercase();
        let Some(mut zone) = self.best_zone(&qname, qtype) else {
            return self.lame_answer();
        };
        let mut reply = Reply {
            authoritative: true,
            ..Reply::default()
        };
        let mut name = qname;
        let mut seen = vec![name.clone()];
        for _ in 0..MAX_CHASE {
            match lookup(&zone, &name, qtype, dnssec_ok) {
                Step::Answer(records, authority) => {
                    reply.additionals = additional_for(&zone, &records, dnssec_ok);
                    reply.answers.extend(records);
                    reply.authorities.extend(authority);
                    return reply;
                }
                Step::Alias(records, target) => {
                    // A DNAME whose target is below its owner rewrites its own results
                    // without end (RFC 6672 §4): one step, as servers answer it.
                    let looping = records
                        .iter()
                        .any(|r| dname_target(r).is_some_and(|target| r.name.zone_of(&target)));
                    reply.answers.extend(records);
                    if qtype == RecordType::CNAME || seen.contains(&target) || looping {
                        return reply;
                    }
                    seen.push(target.clone());
                    match self.best_zone(&target, qtype) {
                        Some(z) => zone = z,
                        None => return reply,
                    }
                    name = target;
                }
                Step::Referral(referral) => {
                    reply.authoritative = !reply.answers.is_empty();
                    reply.authorities = referral.authorities;
                    reply.additionals = referral.additionals;
                    return reply;
                }
                Step::NoData(authority) => {
                    reply.authorities = authority;
                    return reply;
                }
                Step::NxDomain(authority) => {
                    reply.rcode = ResponseCode::NXDomain;
                    reply.authorities = authority;
                    return reply;
                }
            }
        }
        reply
    }

    /// The deepest zone served here that holds `qname`; for DS at a zone apex, the parent side
    /// when this server also serves the parent (RFC 4035 §3.1.4.1).
    fn best_zone(&self, qname: &Name, qtype: RecordType) -> Option<Arc<Zone>> {
        let mut candidates: Vec<&Arc<Zone>> = self
            .zones
            .iter()
            .filter(|z| z.apex.zone_of(qname))
            .collect();
        candidates.sort_by_key(|z| std::cmp::Reverse(label_count(&z.apex)));
        let best = candidates.first()?;
        if qtype == RecordType::DS && &best.apex == qname && !qname.is_root() {
            if let Some(parent) = candidates.get(1) {
                return Some((*parent).clone());
            }
        }
        Some((*best).clone())
    }

    fn lame_answer(&self) -> Reply {
        match self.lame {
            None => Reply {
                rcode: ResponseCode::Refused,
                ..Reply::default()
            },
            Some(LameAnswer::Nxdomain) => Reply {
                rcode: ResponseCode::NXDomain,
                ..Reply::default()
            },
            Some(LameAnswer::UpwardReferral) => {
                let mut reply = Reply::default();
                for (ns, addr) in &self.root_ns {
                    let data = RData::NS(hickory_proto::rr::rdata::NS(ns.clone()));
                    reply
                        .authorities
                        .push(Record::from_rdata(Name::root(), 518400, data));
                    reply.additionals.push(address_record(ns, *addr));
                }
                reply
            }
        }
    }
}

fn address_record(name: &Name, addr: IpAddr) -> Record {
    let data = match addr {
        IpAddr::V4(v4) => RData::A(v4.into()),
        IpAddr::V6(v6) => RData::AAAA(v6.into()),
    };
    Record::from_rdata(name.clone(), 518400, data)
}

fn with_sigs(zone: &Zone, records: &[Record], dnssec_ok: bool) -> Vec<Record> {
    let mut out = records.to_vec();
    if dnssec_ok {
        if let Some(first) = records.first() {
            out.extend_from_slice(zone.signatures(&first.name, first.record_type()));
        }
    }
    out
}

fn lookup(zone: &Zone, name: &Name, qtype: RecordType, dnssec_ok: bool) -> Step {
    if let Some(cut) = zone.cut_above(name) {
        if !(qtype == RecordType::DS && cut == name) {
            return Step::Referral(referral(zone, cut, dnssec_ok));
        }
    }
    if let Some(step) = dname_step(zone, name, dnssec_ok) {
        return step;
    }
    if let Some(types) = zone.records.get(name) {
        return at_name(zone, name, types, qtype, dnssec_ok);
    }
    if zone.name_exists(name) {
        // An empty non-terminal: NODATA (RFC 4035 §3.1.3.2, RFC 5155 §7.2.3).
        return Step::NoData(negative(zone, dnssec_ok, |p| p.nodata(name)));
    }
    let encloser = closest_encloser(zone, name);
    let wildcard = encloser
        .prepend_label("*")
        .expect("a label fits under an existing name");
    if let Some(types) = zone.records.get(&wildcard) {
        let source = types.get(&qtype).or_else(|| types.get(&RecordType::CNAME));
        return match source {
            Some(rrset) => expanded(zone, name, &encloser, rrset, qtype, dnssec_ok),
            None => Step::NoData(negative(zone, dnssec_ok, |p| {
                p.wildcard_nodata(name, &encloser, &wildcard)
            })),
        };
    }
    Step::NxDomain(negative(zone, dnssec_ok, |p| p.nxdomain(name, &encloser)))
}

/// The answer at a name that owns records: the RRset asked for (every RRset for ANY, every
/// signature for RRSIG), else its CNAME, else NODATA.
fn at_name(
    zone: &Zone,
    name: &Name,
    types: &std::collections::BTreeMap<RecordType, RrSet>,
    qtype: RecordType,
    dnssec_ok: bool,
) -> Step {
    if qtype == RecordType::ANY {
        let mut out = Vec::new();
        for rrset in types.values() {
            out.extend(with_sigs(zone, rrset, dnssec_ok));
        }
        return Step::Answer(out, Vec::new());
    }
    if let Some(rrset) = types.get(&qtype) {
        return Step::Answer(with_sigs(zone, rrset, dnssec_ok), Vec::new());
    }
    if qtype == RecordType::RRSIG {
        // Every signature at the name, as authoritative servers answer (RRSIGs are
        // not an RRset of their own: RFC 4035 §3.2.1, and none signs them).
        let sigs: Vec<Record> = types
            .keys()
            .chain(&[RecordType::NSEC])
            .flat_map(|covered| zone.signatures(name, *covered).iter().cloned())
            .collect();
        if !sigs.is_empty() {
            return Step::Answer(sigs, Vec::new());
        }
    }
    if let Some(cname) = types.get(&RecordType::CNAME) {
        let target = cname_target(&cname[0]);
        return Step::Alias(with_sigs(zone, cname, dnssec_ok), target);
    }
    Step::NoData(negative(zone, dnssec_ok, |p| p.nodata(name)))
}

/// A wildcard's `rrset` expanded to `name`. RFC 4035 §3.1.3.3: the expanded answer plus
/// proof that `name` itself is absent.
fn expanded(
    zone: &Zone,
    name: &Name,
    encloser: &Name,
    rrset: &[Record],
    qtype: RecordType,
    dnssec_ok: bool,
) -> Step {
    let records: Vec<Record> = with_sigs(zone, rrset, dnssec_ok)
        .into_iter()
        .map(|mut r| {
            r.name = name.clone();
            r
        })
        .collect();
    let mut proof_records = Vec::new();
    if dnssec_ok {
        proof_records = Proofs { zone }.wildcard_answer(name, encloser);
    }
    let target = (rrset[0].record_type() == RecordType::CNAME && qtype != RecordType::CNAME)
        .then(|| cname_target(&rrset[0]));
    match target {
        Some(target) => Step::Alias(records, target),
        None => Step::Answer(records, proof_records),
    }
}

fn cname_target(record: &Record) -> Name {
    match &record.data {
        RData::CNAME(c) => c.0.clone(),
        _ => record.name.clone(),
    }
}

/// RFC 6672 §2.2: a DNAME at a strict ancestor of `name` synthesises a CNAME.
fn dname_step(zone: &Zone, name: &Name, dnssec_ok: bool) -> Option<Step> {
    let mut ancestor = name.base_name();
    while zone.apex.zone_of(&ancestor) {
        if let Some(dname) = zone.rrset(&ancestor, RecordType::DNAME) {
            let target_root = dname_target(&dname[0])?;
            let keep = label_count(name) - label_count(&ancestor);
            let labels: Vec<Vec<u8>> = name.iter().take(keep).map(|l| l.to_vec()).collect();
            let target = Name::from_labels(labels)
                .ok()
                .and_then(|p| p.append_name(&target_root).ok())?;
            let mut records = with_sigs(zone, dname, dnssec_ok);
            records.push(Record::from_rdata(
                name.clone(),
                dname[0].ttl,
                RData::CNAME(CNAME(target.clone())),
            ));
            return Some(Step::Alias(records, target));
        }
        if ancestor.is_root() {
            break;
        }
        ancestor = ancestor.base_name();
    }
    None
}

fn closest_encloser(zone: &Zone, name: &Name) -> Name {
    let mut n = name.clone();
    while !zone.name_exists(&n) && n != zone.apex {
        n = n.base_name();
    }
    n
}

fn referral(zone: &Zone, cut: &Name, dnssec_ok: bool) -> Reply {
    let ns = zone.rrset(cut, RecordType::NS).cloned().unwrap_or_default();
    let mut reply = Reply {
        authorities: ns.clone(),
        ..Reply::default()
    };
    if dnssec_ok {
        match zone.rrset(cut, RecordType::DS) {
            Some(ds) => reply.authorities.extend(with_sigs(zone, ds, true)),
            // RFC 4035 §3.1.4: no DS -> prove its absence (NSEC or NSEC3 matching the cut).
            None => reply.authorities.extend(Proofs { zone }.nodata(cut)),
        }
    }
    for record in &ns {
        if let RData::NS(target) = &record.data {
            reply.additionals.extend(addresses_in_zone(zone, &target.0));
        }
    }
    reply
}

/// A and AAAA records for `host` held in this zone (authoritative or glue).
fn addresses_in_zone(zone: &Zone, host: &Name) -> Vec<Record> {
    if !zone.apex.zone_of(host) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rtype in [RecordType::A, RecordType::AAAA] {
        if let Some(rrset) = zone.rrset(host, rtype) {
            out.extend(rrset.iter().cloned());
        }
    }
    out
}

/// RFC 1035 §3.3.9/§3.3.11 additional section processing for MX and NS answers.
fn additional_for(zone: &Zone, answers: &[Record], dnssec_ok: bool) -> Vec<Record> {
    let mut out = Vec::new();
    for record in answers {
        let host = match &record.data {
            RData::MX(mx) => &mx.exchange,
            RData::NS(ns) => &ns.0,
            RData::SRV(srv) => &srv.target,
            _ => continue,
        };
        if zone.apex.zone_of(host) && !zone.is_below_cut(host) {
            for rtype in [RecordType::A, RecordType::AAAA] {
                if let Some(rrset) = zone.rrset(host, rtype) {
                    out.extend(with_sigs(zone, rrset, dnssec_ok));
                }
            }
        } else {
            out.extend(addresses_in_zone(zone, host));
        }
    }
    out
}

fn negative(zone: &Zone, dnssec_ok: bool, proofs: impl Fn(&Proofs) -> Vec<Record>) -> Vec<Record> {
    let mut soa = zone.soa().clone();
    soa.ttl = negative_ttl(zone);
    let mut out = vec![soa.clone()];
    if dnssec_ok {
        out.extend_from_slice(zone.signatures(&zone.apex, RecordType::SOA));
        let mut seen: Vec<Name> = Vec::new();
        for record in proofs(&Proofs { zone }) {
            if record.record_type() != RecordType::RRSIG && seen.contains(&record.name) {
                continue;
            }
            if record.record_type() != RecordType::RRSIG {
                seen.push(record.name.clone());
            }
            if !out.contains(&record) {
                out.push(record);
            }
        }
    }
    out
}

/// Denial-of-existence records, NSEC or NSEC3 depending on how the zone was signed.
struct Proofs<'a> {
    zone: &'a Zone,
}

impl Proofs<'_> {
    fn nsec3(&self) -> bool {
        self.zone.nsec3_params.is_some()
    }

    /// NODATA: the NSEC at the name, or the NSEC3 matching it (RFC 5155 §7.2.3).
    fn nodata(&self, name: &Name) -> Vec<Record> {
        if self.nsec3() {
            return self.nsec3_matching(name).unwrap_or_default();
        }
        match self.zone.rrset(name, RecordType::NSEC) {
            Some(nsec) => with_sigs(self.zone, nsec, true),
            None => self.nsec_covering(name),
        }
    }

    /// NXDOMAIN: qname covered, and the wildcard at the closest encloser covered
    /// (RFC 4035 §3.1.3.2; RFC 5155 §7.2.2 closest encloser proof).
    fn nxdomain(&self, name: &Name, encloser: &Name) -> Vec<Record> {
        let wildcard = encloser.prepend_label("*").expect("fits");
        if self.nsec3() {
            let mut out = self.closest_encloser_proof(name, encloser);
            out.extend(self.nsec3_covering(&wildcard));
            return out;
        }
        let mut out = self.nsec_covering(name);
        out.extend(self.nsec_covering(&wildcard));
        out
    }

    /// Wildcard answer: proof that the qname itself does not exist (RFC 5155 §7.2.6).
    fn wildcard_answer(&self, name: &Name, encloser: &Name) -> Vec<Record> {
        if self.nsec3() {
            return self.nsec3_covering(&next_closer(name, encloser));
        }
        self.nsec_covering(name)
    }

    /// Wildcard NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5).
    fn wildcard_nodata(&self, name: &Name, encloser: &Name, wildcard: &Name) -> Vec<Record> {
        if self.nsec3() {
            let mut out = self.closest_encloser_proof(name, encloser);
            out.extend(self.nsec3_matching(wildcard).unwrap_or_default());
            return out;
        }
        let mut out = self.nsec_covering(name);
        if let Some(nsec) = self.zone.rrset(wildcard, RecordType::NSEC) {
            out.extend(with_sigs(self.zone, nsec, true));
        }
        out
    }

    fn closest_encloser_proof(&self, name: &Name, encloser: &Name) -> Vec<Record> {
        let mut out = self.nsec3_matching(encloser).unwrap_or_default();
        out.extend(self.nsec3_covering(&next_closer(name, encloser)));
        out
    }

    /// The NSEC whose owner precedes `name` in canonical order (wrapping to the last).
    fn nsec_covering(&self, name: &Name) -> Vec<Record> {
        let zone = self.zone;
        let has_nsec = |types: &std::collections::BTreeMap<RecordType, Vec<Record>>| {
            types.contains_key(&RecordType::NSEC)
        };
        let found = zone
            .records
            .range(..name.clone())
            .rev()
            .find(|(_, t)| has_nsec(t))
            .or_else(|| zone.records.iter().rev().find(|(_, t)| has_nsec(t)));
        match found {
            Some((_, types)) => with_sigs(zone, &types[&RecordType::NSEC], true),
            None => Vec::new(),
        }
    }

    fn nsec3_owner_of(&self, name: &Name) -> Option<Name> {
        let params = self.zone.nsec3_params.as_ref()?;
        let hash = nsec3_hash(name, &params.salt, params.iterations).ok()?;
        nsec3_owner(&hash, &self.zone.apex).ok()
    }

    fn nsec3_matching(&self, name: &Name) -> Option<Vec<Record>> {
        let owner = self.nsec3_owner_of(name)?;
        let record = self.zone.nsec3.get(&owner)?;
        Some(self.nsec3_with_sig(record))
    }

    fn nsec3_covering(&self, name: &Name) -> Vec<Record> {
        let Some(owner) = self.nsec3_owner_of(name) else {
            return Vec::new();
        };
        let chain = &self.zone.nsec3;
        let found = chain
            .range(..owner)
            .next_back()
            .or_else(|| chain.iter().next_back());
        found
            .map(|(_, r)| self.nsec3_with_sig(r))
            .unwrap_or_default()
    }

    fn nsec3_with_sig(&self, record: &Record) -> Vec<Record> {
        let mut out = vec![record.clone()];
        out.extend_from_slice(self.zone.signatures(&record.name, RecordType::NSEC3));
        out
    }
}

/// The next closer name: the closest encloser plus one more label of `name`.
fn next_closer(name: &Name, encloser: &Name) -> Name {
    name.trim_to(label_count(encloser) + 1)
}

/// True when a record is DNSSEC metadata a non-DO client should not see (RFC 4035 §3.2.1).
pub fn is_dnssec_record(record: &Record) -> bool {
    matches!(&record.data, RData::DNSSEC(DNSSECRData::RRSIG(_)))
        || matches!(record.record_type(), RecordType::NSEC | RecordType::NSEC3)
}
