//! Pure response classification: (question, zone asked, response) -> what the response *is*,
//! before the resolver acts on it (unbound's iter_resptype, made exhaustive).
//!
//! RFC 1034 §5.3.3 (answer, referral, name error), RFC 2308 (NODATA/NXDOMAIN with SOA),
//! RFC 2181 §5.4.1 (only data within the queried zone's bailiwick is believed), RFC 6672
//! (DNAME with a synthesised CNAME), and lameness: a delegated server that refers upwards
//! or sideways, denies names outside its zone, or answers NOERROR without data or authority.
//!
//! A positive answer without AA, in bailiwick, is an answer: load balancers, GSLB front ends
//! and old servers omit the bit. RFC 2181 §5.4.1 ranks such data below authoritative data
//! without forbidding it; the cache keeps it at that lower rank and it is validated as usual.
//! The caller sees the AA bit in the response and records it.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::explain::event::{GlueEntry, GlueRejection, ResponseKind, ServerFailure};

#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    /// The RRset asked for, after any in-bailiwick CNAME chain (`chain`, in order).
    Answer {
        chain: Vec<Record>,
        rrset: Vec<Record>,
    },
    /// An alias whose target lies outside what this response may answer: follow `target`.
    Alias {
        chain: Vec<Record>,
        target: Name,
    },
    Referral {
        cut: Name,
        ns: Vec<Record>,
        glue: Vec<GlueEntry>,
    },
    NoData {
        chain: Vec<Record>,
        soa: Option<Record>,
    },
    NxDomain {
        chain: Vec<Record>,
        soa: Option<Record>,
    },
    /// FORMERR/NOTIMP: maybe the server does not speak EDNS.
    FormErr(ServerFailure),
    Unusable(ServerFailure),
}

impl Classified {
    pub fn kind(&self) -> ResponseKind {
        match self {
            Classified::Answer { .. } => ResponseKind::Answer,
            Classified::Alias { .. } => ResponseKind::Cname,
            Classified::Referral { .. } => ResponseKind::Referral,
            Classified::NoData { .. } => ResponseKind::NoData,
            Classified::NxDomain { .. } => ResponseKind::NxDomain,
            Classified::FormErr(_) => ResponseKind::Failure,
            Classified::Unusable(f) if f.is_lame() => ResponseKind::Lame,
            Classified::Unusable(_) => ResponseKind::Failure,
        }
    }
}

/// The records of class IN (the only class whydns resolves).
fn in_class(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN)
        .cloned()
        .collect()
}

/// Is `name` at or below `zone`?
fn within(zone: &Name, name: &Name) -> bool {
    zone.zone_of(name)
}

/// Classifies `response` to the question (`qname`, `qtype`) sent to a server of `zone`.
pub fn classify(qname: &Name, qtype: RecordType, zone: &Name, response: &Message) -> Classified {
    if let Some(unusable) = unusable_header(response) {
        return unusable;
    }
    let rcode = response.metadata.response_code;
    let aa = response.metadata.authoritative;
    // Records of another class than the question's (IN) are not data about it.
    let answers = in_class(&response.answers);
    let authorities = in_class(&response.authorities);

    // Walk the answer section from qname through any CNAME/DNAME chain (in-bailiwick only).
    let (chain, current, rrset) = follow_chain(qname, qtype, zone, &answers);
    let has_data = !rrset.is_empty() || !chain.is_empty();
    if !aa && has_data {
        // A server that offers recursion and answers without authority is an open
        // resolver standing in for the zone: its data is from its own cache. Lame.
        if response.metadata.recursion_available {
            return Classified::Unusable(ServerFailure::NotAuthoritative);
        }
        // Data beside a referral to a cut below the zone is the parent's copy (glue sent
        // in the answer section): the referral is what this server can vouch for.
        if let Some(referral) = referral_below(qname, zone, &authorities, response) {
            return referral;
        }
    }
    if !rrset.is_empty() {
        return Classified::Answer { chain, rrset };
    }
    if !chain.is_empty() {
        // The chain left the zone, or ended inside it with a denial for the target.
        if !within(zone, &current) {
            return Classified::Alias {
                chain,
                target: current,
            };
        }
    }

    let without_data = WithoutData {
        qname,
        zone,
        aa,
        response,
        authorities: &authorities,
    };
    if rcode == ResponseCode::NXDomain {
        return without_data.name_error(chain, &current);
    }
    without_data.no_error(chain, current)
}

/// The header checks: an opcode other than QUERY, or an RCODE other than NOERROR and
/// NXDOMAIN, makes the response unusable whatever it holds.
fn unusable_header(response: &Message) -> Option<Classified> {
    // RFC 1035 §4.1.1: a response copies the query's opcode. whydns asks QUERY only; any
    // other opcode (UPDATE's sections mean prerequisites and updates, with zero-length
    // RDATA) says nothing about the question.
    if response.metadata.op_code != OpCode::Query {
        return Some(Classified::Unusable(ServerFailure::Malformed));
    }
    match response.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => None,
        ResponseCode::Refused => Some(Classified::Unusable(ServerFailure::Refused)),
        ResponseCode::ServFail => Some(Classified::Unusable(ServerFailure::ServFail)),
        ResponseCode::FormErr => Some(Classified::FormErr(ServerFailure::FormErr)),
        ResponseCode::NotImp => Some(Classified::FormErr(ServerFailure::NotImp)),
        _ => Some(Classified::Unusable(ServerFailure::BadRcode)),
    }
}

/// A response that did not carry the data asked for (a chain may lead to the name it
/// ends at, `current`): a denial, a referral, or lame.
struct WithoutData<'a> {
    qname: &'a Name,
    zone: &'a Name,
    aa: bool,
    response: &'a Message,
    authorities: &'a [Record],
}

impl WithoutData<'_> {
    /// The zone's own SOA, owning `current` or one of its ancestors, if the response has it.
    fn credible_soa(&self, current: &Name) -> Option<Record> {
        self.authorities
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)
            .filter(|s| within(self.zone, &s.name) && within(&s.name, current))
            .cloned()
    }

    /// RFC 2308 §2.1: an authoritative name error, with the SOA of the zone that denies.
    fn name_error(&self, chain: Vec<Record>, current: &Name) -> Classified {
        let soa = self.credible_soa(current);
        if self.aa || soa.is_some() {
            return Classified::NxDomain { chain, soa };
        }
        Classified::Unusable(ServerFailure::OutOfZoneNegative)
    }

    /// NOERROR without the data: a referral, NODATA, or lame.
    fn no_error(&self, chain: Vec<Record>, current: Name) -> Classified {
        let soa = self.credible_soa(&current);
        if !chain.is_empty() {
            // The chain ends inside the zone without the data: NODATA only when the server
            // says so with the zone's SOA; otherwise it simply did not chase, so the target
            // is asked.
            return match soa {
                Some(soa) => Classified::NoData {
                    chain,
                    soa: Some(soa),
                },
                None => Classified::Alias {
                    chain,
                    target: current,
                },
            };
        }
        let has_ns = self
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NS);
        if has_ns && !self.aa {
            if let Some(referral) =
                referral_below(self.qname, self.zone, self.authorities, self.response)
            {
                return referral;
            }
            // NS for the zone itself, an ancestor, or a name off the query's path.
            return Classified::Unusable(ServerFailure::UpwardReferral);
        }
        if self.aa || soa.is_some() {
            return Classified::NoData { chain, soa };
        }
        Classified::Unusable(ServerFailure::NotAuthoritative)
    }
}

/// A referral: NS records (the first one's owner is the cut) for a cut strictly below `zone`
/// and at or above `qname`, with the glue the zone may give for them.
fn referral_below(
    qname: &Name,
    zone: &Name,
    authorities: &[Record],
    response: &Message,
) -> Option<Classified> {
    let first = authorities
        .iter()
        .find(|r| r.record_type() == RecordType::NS)?;
    let cut = first.name.to_lowercase();
    if !(within(zone, &cut) && cut != *zone && within(&cut, qname)) {
        return None;
    }
    let ns: Vec<Record> = authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS && r.name == cut)
        .cloned()
        .collect();
    let glue = glue_for(zone, &ns, &in_class(&response.additionals));
    Some(Classified::Referral { cut, ns, glue })
}

/// Follows CNAMEs (and DNAME-synthesised CNAMEs) from `qname` through the answer section while
/// the owners stay inside `zone`. Returns the chain, the last name reached and the final RRset.
///
/// RFC 6672 §3.2: a DNAME above the name is applied here, by synthesising the CNAME from the
/// DNAME itself; a CNAME the server sent along is not believed (it carries no signature, so
/// nothing else proves it), and [`rejected_cnames`] names one that differs.
fn follow_chain(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    answers: &[Record],
) -> (Vec<Record>, Name, Vec<Record>) {
    let mut chain: Vec<Record> = Vec::new();
    let mut current = qname.clone();
    let mut seen = vec![qname.to_lowercase()];
    for _ in 0..16 {
        if !within(zone, &current) {
            break;
        }
        let rrset: Vec<Record> = answers
            .iter()
            .filter(|r| r.name == current && answers_type(r.record_type(), qtype))
            .cloned()
            .collect();
        if !rrset.is_empty() {
            return (chain, current, rrset);
        }
        let step = match dname_above(zone, &current, answers) {
            Some(dname) => {
                let Some(cname) = crate::rdata::synthesise_cname(dname, &current) else {
                    break;
                };
                if !chain.contains(dname) {
                    chain.push(dname.clone());
                }
                cname
            }
            None => match answers
                .iter()
                .find(|r| r.name == current && r.record_type() == RecordType::CNAME)
            {
                Some(cname) => cname.clone(),
                None => break,
            },
        };
        let RData::CNAME(target) = &step.data else {
            break;
        };
        let target = target.0.to_lowercase();
        chain.push(step);
        if seen.contains(&target) {
            // A loop inside one response: stop here; the caller sees the repeated name.
            current = target;
            break;
        }
        seen.push(target.clone());
        current = target;
    }
    (chain, current, Vec::new())
}

/// Whether a record of type `rtype` answers a question for `qtype`. RFC 8482 leaves an ANY
/// answer to the server; its RRSIGs are evidence, not data of their own.
fn answers_type(rtype: RecordType, qtype: RecordType) -> bool {
    rtype == qtype || (qtype == RecordType::ANY && rtype != RecordType::RRSIG)
}

/// The deepest in-bailiwick DNAME of `answers` strictly above `name`.
fn dname_above<'a>(zone: &Name, name: &Name, answers: &'a [Record]) -> Option<&'a Record> {
    answers
        .iter()
        .filter(|r| r.record_type() == RecordType::DNAME)
        .filter(|d| within(&d.name, name) && d.name != *name && within(zone, &d.name))
        .max_by_key(|d| d.name.num_labels())
}

/// CNAMEs of `answers` that a DNAME of `chain` contradicts: (the CNAME received, the one the
/// DNAME synthesises). RFC 6672 §3.2: the synthesised one is used.
pub fn rejected_cnames(chain: &[Record], answers: &[Record]) -> Vec<(Record, Record)> {
    let dnames: Vec<&Record> = chain
        .iter()
        .filter(|r| r.record_type() == RecordType::DNAME)
        .collect();
    let mut out = Vec::new();
    for synthesised in chain
        .iter()
        .filter(|r| r.record_type() == RecordType::CNAME)
    {
        let from_dname = dnames
            .iter()
            .any(|d| within(&d.name, &synthesised.name) && d.name != synthesised.name);
        if !from_dname {
            continue;
        }
        for received in answers.iter().filter(|r| {
            r.record_type() == RecordType::CNAME
                && r.name == synthesised.name
                && r.data != synthesised.data
        }) {
            out.push((received.clone(), synthesised.clone()));
        }
    }
    out
}

/// RFC 2181 §5.4.1: glue is believed only for the referral's NS names and only when it lies
/// within the zone that sent the referral.
fn glue_for(zone: &Name, ns: &[Record], additionals: &[Record]) -> Vec<GlueEntry> {
    let ns_names: Vec<Name> = ns
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(n.0.to_lowercase()),
            _ => None,
        })
        .collect();
    additionals
        .iter()
        .filter_map(|r| {
            let address = match &r.data {
                RData::A(a) => std::net::IpAddr::V4(a.0),
                RData::AAAA(a) => std::net::IpAddr::V6(a.0),
                _ => return None,
            };
            let owner = r.name.to_lowercase();
            let rejected = if !ns_names.contains(&owner) {
                Some(GlueRejection::NotAnNsName)
            } else if !within(zone, &owner) {
                Some(GlueRejection::OutOfBailiwick)
            } else {
                None
            };
            Some(GlueEntry {
                ns: owner.clone(),
                address,
                used: rejected.is_none(),
                rejected,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::MessageType;
    use hickory_proto::rr::rdata::{A, NS, SOA};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn response(aa: bool, rcode: ResponseCode) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = aa;
        m.metadata.response_code = rcode;
        m
    }

    fn soa(owner: &str) -> Record {
        Record::from_rdata(
            name(owner),
            300,
            RData::SOA(SOA::new(name("ns."), name("h."), 1, 1, 1, 1, 300)),
        )
    }

    #[test]
    fn a_response_of_another_opcode_is_unusable() {
        let mut m = response(true, ResponseCode::NoError);
        m.metadata.op_code = OpCode::Update;
        m.add_answer(Record::from_rdata(
            name("www.ex.lab."),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        let got = classify(&name("www.ex.lab."), RecordType::A, &name("ex.lab."), &m);
        assert_eq!(got, Classified::Unusable(ServerFailure::Malformed));
    }

    #[test]
    fn referral_with_in_and_out_of_bailiwick_glue() {
        let mut m = response(false, ResponseCode::NoError);
        m.add_authority(Record::from_rdata(
            name("ex.lab."),
            60,
            RData::NS(NS(name("ns1.ex.lab."))),
        ));
        m.add_authority(Record::from_rdata(
            name("ex.lab."),
            60,
            RData::NS(NS(name("ns.other."))),
        ));
        m.add_additional(Record::from_rdata(
            name("ns1.ex.lab."),
            60,
            RData::A(A::new(127, 0, 0, 1)),
        ));
        m.add_additional(Record::from_rdata(
            name("ns.other."),
            60,
            RData::A(A::new(127, 0, 0, 2)),
        ));
        m.add_additional(Record::from_rdata(
            name("victim.other."),
            60,
            RData::A(A::new(127, 0, 0, 3)),
        ));
        let Classified::Referral { cut, glue, .. } =
            classify(&name("www.ex.lab."), RecordType::A, &name("lab."), &m)
        else {
            panic!("not a referral")
        };
        assert_eq!(cut, name("ex.lab."));
        assert_eq!(glue.len(), 3);
        assert!(glue[0].used);
        assert_eq!(glue[1].rejected, Some(GlueRejection::OutOfBailiwick));
        assert_eq!(glue[2].rejected, Some(GlueRejection::NotAnNsName));
    }

    #[test]
    fn upward_referral_and_unauthoritative_denials_are_lame() {
        let mut up = response(false, ResponseCode::NoError);
        up.add_authority(Record::from_rdata(
            Name::root(),
            60,
            RData::NS(NS(name("a.root."))),
        ));
        assert_eq!(
            classify(&name("x.lab."), RecordType::A, &name("x.lab."), &up),
            Classified::Unusable(ServerFailure::UpwardReferral)
        );
        let nx = response(false, ResponseCode::NXDomain);
        assert_eq!(
            classify(&name("x.lab."), RecordType::A, &name("x.lab."), &nx),
            Classified::Unusable(ServerFailure::OutOfZoneNegative)
        );
        let mut answer = response(false, ResponseCode::NoError);
        answer.add_answer(Record::from_rdata(
            name("x.lab."),
            60,
            RData::A(A::new(1, 2, 3, 4)),
        ));
        // Data without AA, in bailiwick, is an answer (of lower rank: the cache's concern).
        assert!(matches!(
            classify(&name("x.lab."), RecordType::A, &name("x.lab."), &answer),
            Classified::Answer { .. }
        ));
        // Out of bailiwick it is not, with or without AA.
        assert_eq!(
            classify(&name("x.lab."), RecordType::A, &name("y.lab."), &answer),
            Classified::Unusable(ServerFailure::NotAuthoritative)
        );
        // NOERROR without data, SOA or AA says nothing: lame.
        let empty = response(false, ResponseCode::NoError);
        assert_eq!(
            classify(&name("x.lab."), RecordType::A, &name("x.lab."), &empty),
            Classified::Unusable(ServerFailure::NotAuthoritative)
        );
    }

    #[test]
    fn data_without_aa_beside_a_referral_or_from_a_recursor_is_not_an_answer() {
        // A parent's server sends the child's glue in the answer section with the
        // referral: the referral is followed, the glue is not the answer.
        let mut m = response(false, ResponseCode::NoError);
        m.add_answer(Record::from_rdata(
            name("ns1.x.lab."),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        m.add_authority(Record::from_rdata(
            name("x.lab."),
            60,
            RData::NS(NS(name("ns1.x.lab."))),
        ));
        assert!(matches!(
            classify(&name("ns1.x.lab."), RecordType::A, &name("lab."), &m),
            Classified::Referral { .. }
        ));
        // RA=1 without AA: an open resolver answering for the zone from its cache.
        let mut open = response(false, ResponseCode::NoError);
        open.metadata.recursion_available = true;
        open.add_answer(Record::from_rdata(
            name("www.x.lab."),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        assert_eq!(
            classify(&name("www.x.lab."), RecordType::A, &name("x.lab."), &open),
            Classified::Unusable(ServerFailure::NotAuthoritative)
        );
    }

    #[test]
    fn negative_answers_need_authority() {
        let mut nx = response(true, ResponseCode::NXDomain);
        nx.add_authority(soa("x.lab."));
        assert!(matches!(
            classify(&name("a.x.lab."), RecordType::A, &name("x.lab."), &nx),
            Classified::NxDomain { .. }
        ));
        let mut nodata = response(true, ResponseCode::NoError);
        nodata.add_authority(soa("x.lab."));
        assert!(matches!(
            classify(&name("x.lab."), RecordType::AAAA, &name("x.lab."), &nodata),
            Classified::NoData { .. }
        ));
        // An SOA from another zone does not make a denial credible.
        let mut foreign = response(false, ResponseCode::NXDomain);
        foreign.add_authority(soa("other."));
        assert_eq!(
            classify(&name("a.x.lab."), RecordType::A, &name("x.lab."), &foreign),
            Classified::Unusable(ServerFailure::OutOfZoneNegative)
        );
    }

    #[test]
    fn cname_chain_leaving_the_zone_is_an_alias() {
        let mut m = response(true, ResponseCode::NoError);
        m.add_answer(Record::from_rdata(
            name("www.x.lab."),
            60,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(name("a.x.lab."))),
        ));
        m.add_answer(Record::from_rdata(
            name("a.x.lab."),
            60,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(name("b.other."))),
        ));
        m.add_answer(Record::from_rdata(
            name("b.other."),
            60,
            RData::A(A::new(6, 6, 6, 6)),
        ));
        let Classified::Alias { chain, target } =
            classify(&name("www.x.lab."), RecordType::A, &name("x.lab."), &m)
        else {
            panic!("not an alias")
        };
        assert_eq!(chain.len(), 2);
        assert_eq!(
            target,
            name("b.other."),
            "out-of-bailiwick A must not be accepted"
        );
    }
}
