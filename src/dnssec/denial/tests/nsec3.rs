//! NSEC3 proofs over nsec3.lab.: the names of the NSEC tests, hashed.

use super::*;

pub(super) const NSEC3_ZONE: &str = "nsec3.lab.";

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
pub(super) fn nxdomain_case() -> (String, [Record; 3]) {
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
