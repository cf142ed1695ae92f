//! The NSEC proofs over nsec.lab. and the helpers both proof kinds' tests use; the NSEC3
//! proofs are in `tests/nsec3.rs`.

use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::RData;

use std::slice::from_ref;

use super::*;
use crate::explain::proof::DenialFailure;

use RecordType::{A, CNAME, DNSKEY, DS, MX, NS, NSEC3PARAM, RRSIG, SOA, TXT};

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn nx(qname: &str, zone: &str, records: &[Record]) -> DenialVerdict {
    let limits = DenialLimits::default();
    prove_nxdomain(
        &name(qname),
        &name(zone),
        records,
        &limits,
        &mut limits.budget(),
    )
}

fn nodata(qname: &str, qtype: RecordType, zone: &str, records: &[Record]) -> DenialVerdict {
    let limits = DenialLimits::default();
    let mut budget = limits.budget();
    prove_nodata(
        &name(qname),
        qtype,
        &name(zone),
        records,
        &limits,
        &mut budget,
    )
}

fn no_ds(delegation: &str, zone: &str, records: &[Record]) -> DenialVerdict {
    let limits = DenialLimits::default();
    prove_no_ds(
        &name(delegation),
        &name(zone),
        records,
        &limits,
        &mut limits.budget(),
    )
}

fn expansion(qname: &str, source: &str, zone: &str, records: &[Record]) -> DenialVerdict {
    let limits = DenialLimits::default();
    let mut budget = limits.budget();
    let (qname, source, zone) = (name(qname), name(source), name(zone));
    prove_wildcard_expansion(&qname, &source, &zone, records, &limits, &mut budget)
}

/// The record as a proof names it.
fn fact(record: &Record) -> ProofRecord {
    match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC(nsec)) => ProofRecord::Nsec {
            owner: record.name.clone(),
            next: nsec.next_domain_name().clone(),
        },
        RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => ProofRecord::Nsec3 {
            owner: record.name.clone(),
            next_hashed: BASE32_DNSSEC.encode(nsec3.next_hashed_owner_name()),
            opt_out: nsec3.opt_out(),
        },
        _ => panic!("not an NSEC or NSEC3"),
    }
}

fn covers(record: &Record, covered: &str, role: NameRole) -> ProofStep {
    let (record, name) = (fact(record), name(covered));
    ProofStep::Covers { record, name, role }
}

fn matches(record: &Record, matched: &str, role: NameRole) -> ProofStep {
    let (record, name) = (fact(record), name(matched));
    ProofStep::Matches { record, name, role }
}

fn lacks(record: &Record, at: &str, rtype: RecordType) -> ProofStep {
    let (record, name) = (fact(record), name(at));
    ProofStep::LacksType {
        record,
        name,
        rtype,
    }
}

fn proven(how: DenialHow, steps: impl IntoIterator<Item = ProofStep>) -> DenialVerdict {
    let proof = Proof::of(steps);
    DenialVerdict::Proven { how, proof }
}

fn missing(steps: impl IntoIterator<Item = ProofStep>, absent: Absent) -> DenialVerdict {
    let proof = Proof::of(steps);
    DenialVerdict::Missing { proof, absent }
}

fn bogus(steps: impl IntoIterator<Item = ProofStep>, fault: Fault) -> DenialVerdict {
    let proof = Proof::of(steps);
    DenialVerdict::Bogus { proof, fault }
}

/// No `how` record covers (or matches) `text`, which is `role` to the proof.
fn no_cover(how: DenialHow, text: &str, role: NameRole) -> Absent {
    let name = name(text);
    Absent::Cover { how, name, role }
}

fn exists(record: &Record, text: &str, role: NameRole) -> Fault {
    let (record, name) = (fact(record), name(text));
    Fault::Exists { record, name, role }
}

use DenialHow::{Nsec, Nsec3};
use NameRole::{ClosestEncloser, NextCloser, Qname, Wildcard};

// --- NSEC: nsec.lab. with a, the empty non-terminal c (b.c), the unsigned delegation d, w
// and the wildcard *.w.

const NSEC_ZONE: &str = "nsec.lab.";

fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
    let types = types.iter().copied().chain([RecordType::NSEC]);
    let rdata = RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(name(next), types)));
    Record::from_rdata(name(owner), 300, rdata)
}

fn apex_nsec() -> Record {
    nsec("nsec.lab.", "a.nsec.lab.", &[SOA, NS, DNSKEY, RRSIG])
}
fn a_nsec() -> Record {
    nsec("a.nsec.lab.", "b.c.nsec.lab.", &[A, RRSIG])
}
fn d_nsec() -> Record {
    nsec("d.nsec.lab.", "w.nsec.lab.", &[NS])
}
fn star_w_nsec() -> Record {
    nsec("*.w.nsec.lab.", "nsec.lab.", &[A, RRSIG])
}

#[test]
fn nsec_nxdomain_needs_the_wildcard_cover() {
    let verdict = nx("b.nsec.lab.", NSEC_ZONE, &[a_nsec(), apex_nsec()]);
    let qname_covered = covers(&a_nsec(), "b.nsec.lab.", Qname);
    let wildcard_covered = covers(&apex_nsec(), "*.nsec.lab.", Wildcard);
    assert_eq!(
        verdict,
        proven(Nsec, [qname_covered.clone(), wildcard_covered])
    );
    let verdict = nx("b.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    let absent = no_cover(Nsec, "*.nsec.lab.", Wildcard);
    assert_eq!(verdict, missing([qname_covered], absent));
}

#[test]
fn nsec_nxdomain_contradicted() {
    // x.w is covered by the last NSEC, but the wildcard *.w exists.
    let verdict = nx("x.w.nsec.lab.", NSEC_ZONE, &[star_w_nsec()]);
    let fault = exists(&star_w_nsec(), "*.w.nsec.lab.", Wildcard);
    assert_eq!(verdict, bogus([], fault));
    let verdict = nx("c.nsec.lab.", NSEC_ZONE, &[a_nsec(), apex_nsec()]);
    let fault = Fault::EmptyNonTerminal {
        record: fact(&a_nsec()),
        name: name("c.nsec.lab."),
    };
    assert_eq!(verdict, bogus([], fault));
    let verdict = nx("a.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    assert_eq!(verdict, bogus([], exists(&a_nsec(), "a.nsec.lab.", Qname)));
}

#[test]
fn nsec_at_a_delegation_proves_nothing_below_it() {
    // RFC 6840 §4.1: d->w covers x.d in canonical order, but d is a zone cut.
    let verdict = nx("x.d.nsec.lab.", NSEC_ZONE, &[d_nsec(), apex_nsec()]);
    let fault = Fault::AncestorCut {
        record: fact(&d_nsec()),
        at: name("d.nsec.lab."),
        name: name("x.d.nsec.lab."),
    };
    assert_eq!(verdict, bogus([], fault));
    let verdict = nodata("d.nsec.lab.", A, NSEC_ZONE, &[d_nsec()]);
    let record = fact(&d_nsec());
    assert_eq!(verdict, bogus([], Fault::Delegation { record }));
}

#[test]
fn nsec_nodata() {
    let verdict = nodata("a.nsec.lab.", TXT, NSEC_ZONE, &[a_nsec()]);
    assert_eq!(
        verdict,
        proven(Nsec, [lacks(&a_nsec(), "a.nsec.lab.", TXT)])
    );
    let has = |record: &Record, rtype| Fault::HasType {
        record: fact(record),
        name: name("a.nsec.lab."),
        rtype,
    };
    let verdict = nodata("A.NSEC.lab.", A, NSEC_ZONE, &[a_nsec()]);
    assert_eq!(verdict, bogus([], has(&a_nsec(), A)));
    let cname = nsec("a.nsec.lab.", "b.c.nsec.lab.", &[CNAME]);
    let verdict = nodata("a.nsec.lab.", TXT, NSEC_ZONE, from_ref(&cname));
    assert_eq!(verdict, bogus([], has(&cname, CNAME)));
    let verdict = nodata("c.nsec.lab.", A, NSEC_ZONE, &[a_nsec()]);
    let step = ProofStep::EmptyNonTerminal {
        record: fact(&a_nsec()),
        name: name("c.nsec.lab."),
    };
    assert_eq!(verdict, proven(Nsec, [step]));
    let zone = name(NSEC_ZONE);
    let verdict = nodata("e.nsec.lab.", A, NSEC_ZONE, &[]);
    assert_eq!(verdict, missing([], Absent::Records { zone }));
}

#[test]
fn nsec_wildcard_nodata_and_expansion() {
    let star_w = star_w_nsec();
    let verdict = nodata("y.w.nsec.lab.", MX, NSEC_ZONE, from_ref(&star_w));
    let y_covered = covers(&star_w, "y.w.nsec.lab.", Qname);
    let wildcard_lacks = lacks(&star_w, "*.w.nsec.lab.", MX);
    assert_eq!(verdict, proven(Nsec, [y_covered, wildcard_lacks]));
    let verdict = expansion(
        "x.w.nsec.lab.",
        "*.w.nsec.lab.",
        NSEC_ZONE,
        from_ref(&star_w),
    );
    let x_covered = covers(&star_w, "x.w.nsec.lab.", Qname);
    let source = name("*.w.nsec.lab.");
    let applies = ProofStep::WildcardApplies { source };
    assert_eq!(verdict, proven(Nsec, [x_covered.clone(), applies]));
    // *.nsec.lab. cannot have answered x.w.nsec.lab.: w.nsec.lab. exists.
    let verdict = expansion("x.w.nsec.lab.", "*.nsec.lab.", NSEC_ZONE, &[star_w]);
    let fault = Fault::WrongEncloser {
        closest: name("w.nsec.lab."),
        source: name("*.nsec.lab."),
    };
    assert_eq!(verdict, bogus([x_covered], fault));
    let verdict = expansion("a.nsec.lab.", "*.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    assert_eq!(verdict, bogus([], exists(&a_nsec(), "a.nsec.lab.", Qname)));
}

#[test]
fn nsec_no_ds_at_delegation() {
    let at_d = |record: &Record| (fact(record), name("d.nsec.lab."));
    let (record, name_d) = at_d(&d_nsec());
    let step = ProofStep::NoDsAtCut {
        record,
        name: name_d,
    };
    let verdict = no_ds("d.nsec.lab.", NSEC_ZONE, &[d_nsec()]);
    assert_eq!(verdict, proven(Nsec, [step]));
    let with_ds = nsec("d.nsec.lab.", "w.nsec.lab.", &[NS, DS]);
    let verdict = no_ds("d.nsec.lab.", NSEC_ZONE, from_ref(&with_ds));
    let (record, name_d) = at_d(&with_ds);
    let fault = Fault::HasType {
        record,
        name: name_d,
        rtype: DS,
    };
    assert_eq!(verdict, bogus([], fault));
    // RFC 6840 §4.4: a.nsec.lab. has no NS, so it is no delegation.
    let verdict = no_ds("a.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    let fault = Fault::NoNsBit {
        record: fact(&a_nsec()),
        name: name("a.nsec.lab."),
    };
    assert_eq!(verdict, bogus([], fault));
    let child = nsec("d.nsec.lab.", "x.d.nsec.lab.", &[SOA, NS]);
    let verdict = no_ds("d.nsec.lab.", NSEC_ZONE, from_ref(&child));
    let record = fact(&child);
    assert_eq!(verdict, bogus([], Fault::ChildApex { record }));
    let verdict = no_ds("b.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    let fault = Fault::NoDelegation {
        name: name("b.nsec.lab."),
        zone: name(NSEC_ZONE),
    };
    let b_covered = covers(&a_nsec(), "b.nsec.lab.", Qname);
    assert_eq!(verdict, bogus([b_covered], fault));
}

mod nsec3;

#[test]
fn verdicts_serialise_by_kind_and_read_back() {
    let verdict = nx("x.nsec3.lab.", nsec3::NSEC3_ZONE, &[]);
    let json = serde_json::to_value(&verdict).unwrap();
    assert_eq!(json["missing"]["absent"]["absent"], "records", "{json}");
    assert_eq!(
        json["missing"]["absent"]["zone"],
        nsec3::NSEC3_ZONE,
        "{json}"
    );
    let back: DenialVerdict = serde_json::from_value(json).unwrap();
    assert_eq!(back, verdict);
    let (qname, records) = nsec3::nxdomain_case();
    let verdict = nx(&qname, nsec3::NSEC3_ZONE, &records);
    let json = serde_json::to_value(&verdict).unwrap();
    assert_eq!(json["proven"]["proof"][0]["step"], "matches", "{json}");
    assert_eq!(
        json["proven"]["proof"][0]["record"]["type"], "NSEC3",
        "{json}"
    );
    assert_eq!(
        serde_json::from_value::<DenialVerdict>(json).unwrap(),
        verdict
    );
}

/// The text EXTRA-TEXT quotes names every record and name the proof used.
#[test]
fn the_text_names_the_records_and_names() {
    let verdict = nx("b.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    let text = verdict.to_string();
    for named in ["a.nsec.lab.", "b.c.nsec.lab.", "b.nsec.lab.", "*.nsec.lab."] {
        assert!(text.contains(named), "{text:?} lacks {named}");
    }
    let failed = verdict.failure().unwrap();
    assert_eq!(failed.to_string(), text);
    let DenialFailure::Missing(absent) = failed.failure else {
        panic!("{failed:?}");
    };
    assert_eq!(absent, no_cover(Nsec, "*.nsec.lab.", Wildcard));
}
