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
    bitmap_verdict, label_count, no_ds_verdict, proven, source_encloser, strictly_below,
    wildcard_of, Claim, DenialHow, DenialVerdict, Denier, Step,
};

pub(super) struct NsecEntry<'a> {
    owner: &'a Name,
    nsec: &'a NSEC,
}

impl Denier for NsecEntry<'_> {
    const HOW: DenialHow = DenialHow::Nsec;
    fn describe(&self) -> String {
        format!("NSEC {}->{}", self.owner, self.next())
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

    /// The NSEC covering `name`, if one may be used for it.
    fn covering(&self, name: &Name) -> Step<&'e NsecEntry<'a>> {
        let found = self.0.iter().find(|entry| entry.covers(name));
        let entry = found.ok_or_else(|| missing!("no NSEC covers {name}"))?;
        // RFC 6840 §4.1: at a zone cut (NS without SOA) or a DNAME the NSEC says nothing
        // about the names below its owner.
        if entry.nsec.is_ancestor_delegation() && strictly_below(name, entry.owner) {
            let text = entry.describe();
            return Err(bogus!(
                "{text} is a delegation or DNAME: it cannot deny {name}"
            ));
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
    /// "NSEC owner->next covers qname", the start of every detail.
    text: String,
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
                Err(bogus!("{} shows that {qname} exists", entry.describe()))
            }
        };
    }
    let record = nsecs.covering(qname)?;
    let cover = Cover {
        record,
        text: format!("{} covers {qname}", record.describe()),
        closest: closest_encloser(qname, record, zone),
    };
    // RFC 4035 §3.1.3.2: a covering NSEC whose next name is below qname shows that qname is
    // an empty non-terminal: it exists, without data.
    if strictly_below(record.next(), qname) {
        return match claim {
            Claim::NoData(_) => proven(record, format!("{}, an empty non-terminal", cover.text)),
            _ => Err(bogus!(
                "{}, but it is an empty non-terminal: it exists",
                cover.text
            )),
        };
    }
    match claim {
        Claim::NxDomain => nxdomain(&nsecs, &cover),
        Claim::NoData(qtype) => wildcard_nodata(&nsecs, &cover, qtype),
        Claim::NoDs => Err(bogus!(
            "{}: there is no delegation {qname} in {zone}",
            cover.text
        )),
        Claim::WildcardExpansion(source) => wildcard_expansion(&cover, qname, source, zone),
    }
}

/// Name error: `qname` is covered, and so must be the wildcard at its closest encloser.
fn nxdomain(nsecs: &Nsecs<'_, '_>, cover: &Cover<'_, '_>) -> Step<DenialVerdict> {
    let covered = &cover.text;
    // RFC 4035 §5.4: "The validator MUST also check ... that there is no wildcard
    // RRset" that could have answered: an NSEC must cover *.closest-encloser.
    let wildcard = wildcard_of(&cover.closest)?;
    if let Some(entry) = nsecs.matching(&wildcard) {
        return Err(bogus!(
            "{} shows the wildcard {wildcard} exists",
            entry.describe()
        ));
    }
    let wild_cover = nsecs.covering(&wildcard).map_err(|verdict| match verdict {
        DenialVerdict::Missing { .. } => {
            missing!("{covered}, but no NSEC covers the wildcard {wildcard}")
        }
        other => other,
    })?;
    proven(
        cover.record,
        format!("{covered}; {} covers {wildcard}", wild_cover.describe()),
    )
}

/// No data at a wildcard: `qname` is covered and the wildcard that would match it lacks the
/// type.
fn wildcard_nodata(
    nsecs: &Nsecs<'_, '_>,
    cover: &Cover<'_, '_>,
    qtype: RecordType,
) -> Step<DenialVerdict> {
    let covered = &cover.text;
    // RFC 4035 §3.1.3.4: wildcard NODATA is an NSEC covering qname and one at the wildcard.
    let wildcard = wildcard_of(&cover.closest)?;
    if let Some(entry) = nsecs.matching(&wildcard) {
        let DenialVerdict::Proven { detail, .. } = bitmap_verdict(entry, &wildcard, qtype)? else {
            unreachable!("bitmap_verdict proves or fails");
        };
        return proven(cover.record, format!("{covered}; {detail}"));
    }
    if nsecs.covering(&wildcard).is_ok() {
        return Err(bogus!(
            "{covered} and {wildcard} is covered: NXDOMAIN, not NODATA"
        ));
    }
    Err(missing!(
        "{covered}, but no NSEC at the wildcard {wildcard}"
    ))
}

/// Wildcard expansion: `qname` is covered and its closest encloser is the one `source`
/// (`*.` + encloser) was expanded at.
fn wildcard_expansion(
    cover: &Cover<'_, '_>,
    qname: &Name,
    source: &Name,
    zone: &Name,
) -> Step<DenialVerdict> {
    let (covered, closest) = (&cover.text, &cover.closest);
    let expected = source_encloser(qname, source, zone)?;
    // RFC 4035 §5.3.4: the NSEC must prove "that there is no closer match for the QNAME".
    if *closest != expected {
        return Err(bogus!(
            "{covered}, so its closest encloser is {closest}, not that of {source}"
        ));
    }
    proven(
        cover.record,
        format!("{covered}; {source} is its closest wildcard"),
    )
}
