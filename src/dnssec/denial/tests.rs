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

// --- NSEC3: nsec3.lab., the same names, hashed.

const NSEC3_ZONE: &str = "nsec3.lab.";

fn hash(owner: &str, salt: &[u8], iterations: u16) -> Vec<u8> {
    let digest = Nsec3HashAlgorithm::SHA1.hash(salt, &name(owner), iterations);
    digest.unwrap().as_ref().to_vec()
}

fn hashed_owner(hash: &[u8]) -> Name {
    name(&format!("{}.{NSEC3_ZONE}", BASE32_DNSSEC.encode(hash)))
}

fn nsec3(
    owner: &[u8],
    next: Vec<u8>,
    opt_out: bool,
    iterations: u16,
    salt: &[u8],
    types: Vec<RecordType>,
) -> Record {
    let rdata = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        opt_out,
        iterations,
        salt.to_vec(),
        next,
        types,
    );
    Record::from_rdata(
        hashed_owner(owner),
        300,
        RData::DNSSEC(DNSSECRData::NSEC3(rdata)),
    )
}

/// The whole NSEC3 chain of nsec3.lab., in hash order.
fn chain_with(iterations: u16, salt: &[u8], opt_out: bool) -> Vec<Record> {
    let nodes: [(&str, &[RecordType]); 7] = [
        ("", &[SOA, NS, DNSKEY, RRSIG, NSEC3PARAM]),
        ("a.", &[A, RRSIG]),
        ("c.", &[]),
        ("b.c.", &[A, RRSIG]),
        ("d.", &[NS]),
        ("w.", &[A, RRSIG]),
        ("*.w.", &[A, RRSIG]),
    ];
    let mut hashed: Vec<_> = nodes
        .iter()
        .map(|(prefix, types)| {
            (
                hash(&format!("{prefix}{NSEC3_ZONE}"), salt, iterations),
                types.to_vec(),
            )
        })
        .collect();
    hashed.sort();
    let nexts: Vec<Vec<u8>> = hashed
        .iter()
        .cycle()
        .skip(1)
        .take(hashed.len())
        .map(|(hash, _)| hash.clone())
        .collect();
    let chain = hashed.into_iter().zip(nexts);
    chain
        .map(|((owner, types), next)| nsec3(&owner, next, opt_out, iterations, salt, types))
        .collect()
}

fn chain() -> Vec<Record> {
    chain_with(0, &[], false)
}

fn nsec3_of(record: &Record) -> &NSEC3 {
    match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => nsec3,
        _ => panic!("not an NSEC3"),
    }
}

fn owner_hash(record: &Record) -> Vec<u8> {
    let label = record.name.iter().next().unwrap().to_ascii_lowercase();
    BASE32_DNSSEC.decode(&label).unwrap()
}

/// The record of a plain chain (no salt, no extra iterations) matching `owner`.
fn matching(chain: &[Record], owner: &str) -> Record {
    let wanted = hash(owner, &[], 0);
    chain
        .iter()
        .find(|record| owner_hash(record) == wanted)
        .unwrap()
        .clone()
}

/// The record of a plain chain covering `owner`.
fn covering(chain: &[Record], owner: &str) -> Record {
    let wanted = hash(owner, &[], 0);
    let covers = |record: &&Record| {
        let (start, next) = (
            owner_hash(record),
            nsec3_of(record).next_hashed_owner_name().to_vec(),
        );
        (start < wanted && wanted < next) || (next <= start && (start < wanted || wanted < next))
    };
    chain.iter().find(covers).unwrap().clone()
}

/// A name below the apex whose NXDOMAIN proof takes three distinct records: the apex match,
/// the next closer cover and the wildcard cover.
fn nxdomain_case() -> (String, [Record; 3]) {
    let chain = chain();
    let candidates = (0..100).map(|n| format!("nx{n}.{NSEC3_ZONE}"));
    let cases = candidates.map(|qname| {
        let records = [
            matching(&chain, NSEC3_ZONE),
            covering(&chain, &qname),
            covering(&chain, "*.nsec3.lab."),
        ];
        (qname, records)
    });
    let mut distinct = cases.filter(|(_, [a, b, c])| a != b && b != c && a != c);
    distinct.next().unwrap()
}

#[test]
fn nsec3_nxdomain_in_three_hashes_and_missing_wildcard_cover() {
    let (qname, records) = nxdomain_case();
    let mut budget = HashBudget::new(3);
    let verdict = prove_nxdomain(
        &name(&qname),
        &name(NSEC3_ZONE),
        &records,
        &DenialLimits::default(),
        &mut budget,
    );
    let encloser = [
        matches(&records[0], NSEC3_ZONE, ClosestEncloser),
        covers(&records[1], &qname, NextCloser),
    ];
    let wildcard_covered = covers(&records[2], "*.nsec3.lab.", Wildcard);
    let all = encloser.iter().cloned().chain([wildcard_covered]);
    assert_eq!(verdict, proven(Nsec3, all));
    assert_eq!(budget.remaining(), 0);
    let verdict = nx(&qname, NSEC3_ZONE, &records[..2]);
    let absent = no_cover(Nsec3, "*.nsec3.lab.", Wildcard);
    assert_eq!(verdict, missing(encloser, absent));
}

#[test]
fn nsec3_corrupted_next_covers_nothing() {
    let (qname, mut records) = nxdomain_case();
    let types = nsec3_of(&records[1]).type_bit_maps().collect();
    let mut next = owner_hash(&records[1]);
    *next.last_mut().unwrap() = next.last().unwrap().wrapping_add(1);
    records[1] = nsec3(&owner_hash(&records[1]), next, false, 0, &[], types);
    let verdict = nx(&qname, NSEC3_ZONE, &records);
    let encloser_matched = matches(&records[0], NSEC3_ZONE, ClosestEncloser);
    let absent = no_cover(Nsec3, &qname, NextCloser);
    assert_eq!(verdict, missing([encloser_matched], absent));
}

#[test]
fn nsec3_wrong_owner_hash_gives_no_closest_encloser() {
    let (qname, mut records) = nxdomain_case();
    records[0].name = hashed_owner(&hash("bad-nsec3-hash.lab.", &[], 0));
    let verdict = nx(&qname, NSEC3_ZONE, &records);
    let (qname, zone) = (name(&qname), name(NSEC3_ZONE));
    assert_eq!(
        verdict,
        missing([], Absent::ClosestEncloser { qname, zone })
    );
}

#[test]
fn nsec3_nxdomain_for_existing_names_is_bogus() {
    let chain = chain();
    let verdict = nx("c.nsec3.lab.", NSEC3_ZONE, &chain);
    let c = matching(&chain, "c.nsec3.lab.");
    assert_eq!(verdict, bogus([], exists(&c, "c.nsec3.lab.", Qname)));
    let verdict = nx("x.w.nsec3.lab.", NSEC3_ZONE, &chain);
    let star_w = matching(&chain, "*.w.nsec3.lab.");
    let fault = exists(&star_w, "*.w.nsec3.lab.", Wildcard);
    assert_eq!(verdict, bogus([], fault));
    let verdict = nx("x.d.nsec3.lab.", NSEC3_ZONE, &chain);
    let fault = Fault::AncestorCut {
        record: fact(&matching(&chain, "d.nsec3.lab.")),
        at: name("d.nsec3.lab."),
        name: name("x.d.nsec3.lab."),
    };
    assert_eq!(verdict, bogus([], fault));
}

#[test]
fn nsec3_nodata_and_empty_non_terminal() {
    let a = matching(&chain(), "a.nsec3.lab.");
    let verdict = nodata("a.nsec3.lab.", TXT, NSEC3_ZONE, from_ref(&a));
    assert_eq!(verdict, proven(Nsec3, [lacks(&a, "a.nsec3.lab.", TXT)]));
    let verdict = nodata("a.nsec3.lab.", A, NSEC3_ZONE, from_ref(&a));
    let fault = Fault::HasType {
        record: fact(&a),
        name: name("a.nsec3.lab."),
        rtype: A,
    };
    assert_eq!(verdict, bogus([], fault));
    let c = matching(&chain(), "c.nsec3.lab.");
    let verdict = nodata("c.nsec3.lab.", A, NSEC3_ZONE, from_ref(&c));
    assert_eq!(verdict, proven(Nsec3, [lacks(&c, "c.nsec3.lab.", A)]));
}

#[test]
fn nsec3_wildcard_nodata_and_expansion() {
    let chain = chain();
    let records = [
        matching(&chain, "w.nsec3.lab."),
        covering(&chain, "y.w.nsec3.lab."),
        matching(&chain, "*.w.nsec3.lab."),
    ];
    let verdict = nodata("y.w.nsec3.lab.", MX, NSEC3_ZONE, &records);
    let steps = [
        matches(&records[0], "w.nsec3.lab.", ClosestEncloser),
        covers(&records[1], "y.w.nsec3.lab.", NextCloser),
        lacks(&records[2], "*.w.nsec3.lab.", MX),
    ];
    assert_eq!(verdict, proven(Nsec3, steps));
    let x_cover = covering(&chain, "x.w.nsec3.lab.");
    let verdict = expansion(
        "x.w.nsec3.lab.",
        "*.w.nsec3.lab.",
        NSEC3_ZONE,
        from_ref(&x_cover),
    );
    let source = name("*.w.nsec3.lab.");
    let steps = [
        covers(&x_cover, "x.w.nsec3.lab.", NextCloser),
        ProofStep::WildcardApplies { source },
    ];
    assert_eq!(verdict, proven(Nsec3, steps));
    // Expanding *.nsec3.lab. for x.w.nsec3.lab. is wrong: w.nsec3.lab. exists.
    let verdict = expansion("x.w.nsec3.lab.", "*.nsec3.lab.", NSEC3_ZONE, &chain);
    let w = matching(&chain, "w.nsec3.lab.");
    assert_eq!(verdict, bogus([], exists(&w, "w.nsec3.lab.", NextCloser)));
}

#[test]
fn nsec3_no_ds_matching_and_opt_out() {
    let d = matching(&chain(), "d.nsec3.lab.");
    let verdict = no_ds("d.nsec3.lab.", NSEC3_ZONE, from_ref(&d));
    let step = ProofStep::NoDsAtCut {
        record: fact(&d),
        name: name("d.nsec3.lab."),
    };
    assert_eq!(verdict, proven(Nsec3, [step]));
    // u.nsec3.lab. is an unsigned delegation left out of an opt-out chain.
    let opt_out = chain_with(0, &[], true);
    let records = [
        matching(&opt_out, NSEC3_ZONE),
        covering(&opt_out, "u.nsec3.lab."),
    ];
    let verdict = no_ds("u.nsec3.lab.", NSEC3_ZONE, &records);
    let steps = [
        matches(&records[0], NSEC3_ZONE, ClosestEncloser),
        covers(&records[1], "u.nsec3.lab.", NextCloser),
    ];
    let proof = Proof::of(steps);
    assert!(matches!(
        &proof.0[1],
        ProofStep::Covers {
            record: ProofRecord::Nsec3 { opt_out: true, .. },
            ..
        }
    ));
    assert_eq!(verdict, DenialVerdict::OptOut { proof });
    // Without opt-out the same span says u does not exist: no delegation to be insecure.
    let records = [
        matching(&chain(), NSEC3_ZONE),
        covering(&chain(), "u.nsec3.lab."),
    ];
    let verdict = no_ds("u.nsec3.lab.", NSEC3_ZONE, &records);
    let steps = [
        matches(&records[0], NSEC3_ZONE, ClosestEncloser),
        covers(&records[1], "u.nsec3.lab.", NextCloser),
    ];
    let fault = Fault::NoOptOut {
        name: name("u.nsec3.lab."),
    };
    assert_eq!(verdict, bogus(steps, fault));
}

#[test]
fn nsec3_iterations_checked_before_hashing() {
    let defaults = DenialLimits::default();
    let refusing = DenialLimits {
        insecure_above: 150,
        bogus_above: 500,
        ..DenialLimits::default()
    };
    // (limits, iterations, the threshold exceeded, SERVFAIL?)
    let cases = [
        (&defaults, 51, 50, false),
        (&defaults, 2500, 50, false),
        (&defaults, u16::MAX, 50, false),
        (&refusing, 200, 150, false),
        (&refusing, 500, 150, false),
        (&refusing, 501, 500, true),
        (&refusing, 2500, 500, true),
    ];
    for (limits, iterations, limit, servfail) in cases {
        let mut budget = limits.budget();
        let chain = chain_with(iterations, b"\xab\xcd", false);
        let verdict = prove_nxdomain(
            &name("nx.nsec3.lab."),
            &name(NSEC3_ZONE),
            &chain,
            limits,
            &mut budget,
        );
        assert_eq!(
            verdict,
            DenialVerdict::IterationsTooHigh {
                iterations,
                limit,
                servfail
            },
            "{iterations} iterations"
        );
        assert_eq!(budget.remaining(), limits.max_hashes, "no hash computed");
    }
    // At the limit the proof is computed.
    let chain = chain_with(50, b"\xab\xcd", false);
    let verdict = nodata("a.nsec3.lab.", TXT, NSEC3_ZONE, &chain);
    let DenialVerdict::Proven { how: Nsec3, proof } = verdict else {
        panic!("{verdict:?}");
    };
    let [ProofStep::LacksType {
        name: at, rtype, ..
    }] = proof.0.as_slice()
    else {
        panic!("{proof:?}");
    };
    assert_eq!((at, *rtype), (&name("a.nsec3.lab."), TXT));
}

#[test]
fn nsec3_hash_budget_runs_out() {
    let mut budget = HashBudget::new(4);
    let deep = name("a.b.c.e.f.g.h.nsec3.lab.");
    let verdict = prove_nxdomain(
        &deep,
        &name(NSEC3_ZONE),
        &chain(),
        &DenialLimits::default(),
        &mut budget,
    );
    assert_eq!(verdict, DenialVerdict::BudgetExhausted);
    assert_eq!(budget.remaining(), 0);
}

#[test]
fn verdicts_serialise_by_kind_and_read_back() {
    let verdict = nx("x.nsec3.lab.", NSEC3_ZONE, &[]);
    let json = serde_json::to_value(&verdict).unwrap();
    assert_eq!(json["missing"]["absent"]["absent"], "records", "{json}");
    assert_eq!(json["missing"]["absent"]["zone"], NSEC3_ZONE, "{json}");
    let back: DenialVerdict = serde_json::from_value(json).unwrap();
    assert_eq!(back, verdict);
    let (qname, records) = nxdomain_case();
    let verdict = nx(&qname, NSEC3_ZONE, &records);
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
