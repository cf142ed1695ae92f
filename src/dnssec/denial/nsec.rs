//! NSEC proofs: an NSEC whose owner is the name shows what exists there (its type bitmap), an
//! NSEC that covers the name shows the name absent, and the covering NSEC's owner and next
//! names give the closest encloser, whose wildcard must then be denied or matched.
//!
//! RFCs: 4035 §3.1.3 (the proofs a response carries: no data, name error, wildcards, empty
//! non-terminals), §5.3.4 (wildcard expansion), §5.4 (the checks), 6840 §4.1 (an NSEC at a
//! zone cut or DNAME proves nothing below it) and §4.4 (an insecure delegation needs NS).
//!
//! # Limitations
//! - The closest encloser comes from the covering NSEC's owner and next names (RFC 4035 §5.4
//!   in substance); nothing checks that the zone's chain is complete or consistent.
//! - The first NSEC in record order that matches or covers a name is the one judged; other
//!   NSECs for the same name are not consulted.
//! - Names compare in hickory's `Name` order, the canonical order of RFC 4034 §6.1.

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::rr::{Name, RData, Record, RecordType, RecordTypeSet};

use super::{
    bitmap_step, bitmap_verdict, bogus, label_count, missing, no_ds_verdict, proven,
    source_encloser, strictly_below, wildcard_of, Absent, Claim, DenialHow, DenialVerdict, Denier,
    Fault, NameRole, Proof, ProofRecord, ProofStep, Step,
};

pub(super) struct NsecEntry<'a> {
    owner: &'a Name,
    nsec: &'a NSEC,
}

impl Denier for NsecEntry<'_> {
    const HOW: DenialHow = DenialHow::Nsec;
    fn record(&self) -> ProofRecord {
        ProofRecord::Nsec {
            owner: self.owner.clone(),
            next: self.next().clone(),
        }
    }
    fn types(&self) -> &RecordTypeSet {
        self.nsec.type_set()
    }
}

impl NsecEntry<'_> {
    fn next(&self) -> &Name {
        self.nsec.next_domain_name()
    }

    /// RFC 4035 §5.4: the owner sorts before the name and the next name after it; the last
    /// NSEC of the zone, whose next name is the apex, covers everything after its owner.
    fn covers(&self, name: &Name) -> bool {
        let next = self.next();
        if self.owner < next {
            self.owner < name && name < next
        } else {
            self.owner < name || name < next
        }
    }
}

/// The NSEC records of `zone` among `records`.
pub(super) fn entries<'a>(zone: &Name, records: &'a [Record]) -> Vec<NsecEntry<'a>> {
    let entries = records.iter().filter(|record| zone.zone_of(&record.name));
    let entries = entries.filter_map(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some(NsecEntry {
            owner: &record.name,
            nsec,
        }),
        _ => None,
    });
    entries.collect()
}

struct Nsecs<'e, 'a>(&'e [NsecEntry<'a>]);

impl<'e, 'a> Nsecs<'e, 'a> {
    fn matching(&self, name: &Name) -> Option<&'e NsecEntry<'a>> {
        self.0.iter().find(|entry| entry.owner == name)
    }

    /// The NSEC covering `name` (which is `role` to the proof), if one may be used for it.
    fn covering(&self, name: &Name, role: NameRole) -> Step<&'e NsecEntry<'a>> {
        let found = self.0.iter().find(|entry| entry.covers(name));
        let entry = found.ok_or_else(|| {
            let how = DenialHow::Nsec;
            let name = name.clone();
            missing(Proof::default(), Absent::Cover { how, name, role })
        })?;
        // RFC 6840 §4.1: at a zone cut (NS without SOA) or a DNAME the NSEC says nothing
        // about the names below its owner.
        if entry.nsec.is_ancestor_delegation() && strictly_below(name, entry.owner) {
            let fault = Fault::AncestorCut {
                record: entry.record(),
                at: entry.owner.clone(),
                name: name.clone(),
            };
            return Err(bogus(Proof::default(), fault));
        }
        Ok(entry)
    }
}

/// The longest common ancestor of `a` and `b`.
fn common_ancestor(a: &Name, b: &Name) -> Name {
    let pairs = a.iter().rev().zip(b.iter().rev());
    a.trim_to(pairs.take_while(|(x, y)| x.eq_ignore_ascii_case(y)).count())
}

/// RFC 4035 §5.4 (in substance): the closest encloser is the longest common ancestor of the
/// name and the covering NSEC's owner or next name, never above the zone.
fn closest_encloser(name: &Name, entry: &NsecEntry<'_>, zone: &Name) -> Name {
    let by_owner = common_ancestor(name, entry.owner);
    let by_next = common_ancestor(name, entry.next());
    let deeper = if label_count(&by_next) > label_count(&by_owner) {
        by_next
    } else {
        by_owner
    };
    if zone.zone_of(&deeper) {
        deeper
    } else {
        zone.clone()
    }
}

/// The NSEC covering a name no NSEC matches, and what follows from it.
struct Cover<'e, 'a> {
    record: &'e NsecEntry<'a>,
    /// "NSEC owner->next covers qname", the start of every proof.
    covered: Proof,
    closest: Name,
}

/// Judges `claim` for `qname` with the NSEC records of `zone`: the one matching `qname`
/// if any, else the one covering it.
pub(super) fn prove(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    entries: &[NsecEntry<'_>],
) -> Step<DenialVerdict> {
    let nsecs = Nsecs(entries);
    if let Some(entry) = nsecs.matching(qname) {
        return match claim {
            Claim::NoData(qtype) => bitmap_verdict(entry, qname, qtype),
            Claim::NoDs => no_ds_verdict(entry, qname),
            Claim::NxDomain | Claim::WildcardExpansion(_) => {
                Err(entry.exists(qname, NameRole::Qname))
            }
        };
    }
    let record = nsecs.covering(qname, NameRole::Qname)?;
    // RFC 4035 §3.1.3.2: a covering NSEC whose next name is below qname shows that qname is
    // an empty non-terminal: it exists, without data.
    if strictly_below(record.next(), qname) {
        let (record_fact, name) = (record.record(), qname.clone());
        return match claim {
            Claim::NoData(_) => {
                let step = ProofStep::EmptyNonTerminal {
                    record: record_fact,
                    name,
                };
                proven(record, Proof::of([step]))
            }
            _ => Err(bogus(
                Proof::default(),
                Fault::EmptyNonTerminal {
                    record: record_fact,
                    name,
                },
            )),
        };
    }
    let cover = Cover {
        record,
        covered: Proof::of([record.covers_step(qname, NameRole::Qname)]),
        closest: closest_encloser(qname, record, zone),
    };
    match claim {
        Claim::NxDomain => nxdomain(&nsecs, &cover),
        Claim::NoData(qtype) => wildcard_nodata(&nsecs, &cover, qtype),
        Claim::NoDs => {
            let (name, zone) = (qname.clone(), zone.clone());
            Err(bogus(cover.covered, Fault::NoDelegation { name, zone }))
        }
        Claim::WildcardExpansion(source) => wildcard_expansion(&cover, qname, source, zone),
    }
}

/// Name error: `qname` is covered, and so must be the wildcard at its closest encloser.
fn nxdomain(nsecs: &Nsecs<'_, '_>, cover: &Cover<'_, '_>) -> Step<DenialVerdict> {
    // RFC 4035 §5.4: "The validator MUST also check ... that there is no wildcard
    // RRset" that could have answered: an NSEC must cover *.closest-encloser.
    let wildcard = wildcard_of(&cover.closest)?;
    if let Some(entry) = nsecs.matching(&wildcard) {
        return Err(entry.exists(&wildcard, NameRole::Wildcard));
    }
    let wild_cover =
        nsecs
            .covering(&wildcard, NameRole::Wildcard)
            .map_err(|verdict| match *verdict {
                DenialVerdict::Missing { absent, .. } => missing(cover.covered.clone(), absent),
                other => Box::new(other),
            })?;
    let step = wild_cover.covers_step(&wildcard, NameRole::Wildcard);
    proven(cover.record, cover.covered.and(step))
}

/// No data at a wildcard: `qname` is covered and the wildcard that would match it lacks the
/// type.
fn wildcard_nodata(
    nsecs: &Nsecs<'_, '_>,
    cover: &Cover<'_, '_>,
    qtype: RecordType,
) -> Step<DenialVerdict> {
    // RFC 4035 §3.1.3.4: wildcard NODATA is an NSEC covering qname and one at the wildcard.
    let wildcard = wildcard_of(&cover.closest)?;
    if let Some(entry) = nsecs.matching(&wildcard) {
        let step = bitmap_step(entry, &wildcard, qtype)?;
        return proven(cover.record, cover.covered.and(step));
    }
    if let Ok(wild_cover) = nsecs.covering(&wildcard, NameRole::Wildcard) {
        let proof = (cover.covered).and(wild_cover.covers_step(&wildcard, NameRole::Wildcard));
        return Err(bogus(proof, Fault::NxDomainNotNoData));
    }
    let absent = Absent::Match {
        how: DenialHow::Nsec,
        name: wildcard,
        role: NameRole::Wildcard,
    };
    Err(missing(cover.covered.clone(), absent))
}

/// Wildcard expansion: `qname` is covered and its closest encloser is the one `source`
/// (`*.` + encloser) was expanded at.
fn wildcard_expansion(
    cover: &Cover<'_, '_>,
    qname: &Name,
    source: &Name,
    zone: &Name,
) -> Step<DenialVerdict> {
    let expected = source_encloser(qname, source, zone)?;
    // RFC 4035 §5.3.4: the NSEC must prove "that there is no closer match for the QNAME".
    if cover.closest != expected {
        let fault = Fault::WrongEncloser {
            closest: cover.closest.clone(),
            source: source.clone(),
        };
        return Err(bogus(cover.covered.clone(), fault));
    }
    let step = ProofStep::WildcardApplies {
        source: source.clone(),
    };
    proven(cover.record, cover.covered.and(step))
}
