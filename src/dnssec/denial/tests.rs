use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::RData;

use super::*;

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

/// The verdict's kind and detail, for terse assertions.
fn kind(verdict: &DenialVerdict) -> (&'static str, &str) {
    match verdict {
        DenialVerdict::Proven {
            how: DenialHow::Nsec,
            detail,
        } => ("nsec", detail),
        DenialVerdict::Proven {
            how: DenialHow::Nsec3,
            detail,
        } => ("nsec3", detail),
        DenialVerdict::OptOut { detail } => ("opt-out", detail),
        DenialVerdict::Missing { detail } => ("missing", detail),
        DenialVerdict::Bogus { detail } => ("bogus", detail),
        DenialVerdict::IterationsTooHigh { .. } => ("iterations", ""),
        DenialVerdict::BudgetExhausted => ("budget", ""),
    }
}

#[track_caller]
fn assert_verdict(verdict: DenialVerdict, expected: &str, detail: &str) {
    let (got, text) = kind(&verdict);
    assert_eq!(got, expected, "{verdict:?}");
    assert!(text.contains(detail), "{text:?} lacks {detail:?}");
}

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
    let proven = nx("b.nsec.lab.", NSEC_ZONE, &[a_nsec(), apex_nsec()]);
    assert_verdict(
        proven.clone(),
        "nsec",
        "NSEC a.nsec.lab.->b.c.nsec.lab. covers b.nsec.lab.",
    );
    assert_verdict(
        proven,
        "nsec",
        "NSEC nsec.lab.->a.nsec.lab. covers *.nsec.lab.",
    );
    let verdict = nx("b.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    assert_verdict(
        verdict,
        "missing",
        "no NSEC covers the wildcard *.nsec.lab.",
    );
}

#[test]
fn nsec_nxdomain_contradicted() {
    // x.w is covered by the last NSEC, but the wildcard *.w exists.
    let verdict = nx("x.w.nsec.lab.", NSEC_ZONE, &[star_w_nsec()]);
    assert_verdict(verdict, "bogus", "shows the wildcard *.w.nsec.lab. exists");
    let verdict = nx("c.nsec.lab.", NSEC_ZONE, &[a_nsec(), apex_nsec()]);
    assert_verdict(verdict, "bogus", "empty non-terminal");
    let verdict = nx("a.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    assert_verdict(verdict, "bogus", "shows that a.nsec.lab. exists");
}

#[test]
fn nsec_at_a_delegation_proves_nothing_below_it() {
    // RFC 6840 §4.1: d->w covers x.d in canonical order, but d is a zone cut.
    let verdict = nx("x.d.nsec.lab.", NSEC_ZONE, &[d_nsec(), apex_nsec()]);
    assert_verdict(verdict, "bogus", "is a delegation or DNAME");
    let verdict = nodata("d.nsec.lab.", A, NSEC_ZONE, &[d_nsec()]);
    assert_verdict(verdict, "bogus", "proves only DS absence");
}

#[test]
fn nsec_nodata() {
    assert_verdict(
        nodata("a.nsec.lab.", TXT, NSEC_ZONE, &[a_nsec()]),
        "nsec",
        "lacks TXT",
    );
    let verdict = nodata("A.NSEC.lab.", A, NSEC_ZONE, &[a_nsec()]);
    assert_verdict(verdict, "bogus", "lists A");
    let cname = [nsec("a.nsec.lab.", "b.c.nsec.lab.", &[CNAME])];
    assert_verdict(
        nodata("a.nsec.lab.", TXT, NSEC_ZONE, &cname),
        "bogus",
        "lists CNAME",
    );
    let verdict = nodata("c.nsec.lab.", A, NSEC_ZONE, &[a_nsec()]);
    assert_verdict(verdict, "nsec", "an empty non-terminal");
    assert_verdict(
        nodata("e.nsec.lab.", A, NSEC_ZONE, &[]),
        "missing",
        "no NSEC or NSEC3",
    );
}

#[test]
fn nsec_wildcard_nodata_and_expansion() {
    let records = [star_w_nsec()];
    let verdict = nodata("y.w.nsec.lab.", MX, NSEC_ZONE, &records);
    assert_verdict(verdict, "nsec", "at *.w.nsec.lab. lacks MX");
    let verdict = expansion("x.w.nsec.lab.", "*.w.nsec.lab.", NSEC_ZONE, &records);
    assert_verdict(verdict, "nsec", "covers x.w.nsec.lab.");
    // *.nsec.lab. cannot have answered x.w.nsec.lab.: w.nsec.lab. exists.
    let verdict = expansion("x.w.nsec.lab.", "*.nsec.lab.", NSEC_ZONE, &records);
    assert_verdict(verdict, "bogus", "closest encloser is w.nsec.lab.");
    let verdict = expansion("a.nsec.lab.", "*.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    assert_verdict(verdict, "bogus", "exists");
}

#[test]
fn nsec_no_ds_at_delegation() {
    assert_verdict(
        no_ds("d.nsec.lab.", NSEC_ZONE, &[d_nsec()]),
        "nsec",
        "lists NS but not DS",
    );
    let with_ds = [nsec("d.nsec.lab.", "w.nsec.lab.", &[NS, DS])];
    assert_verdict(
        no_ds("d.nsec.lab.", NSEC_ZONE, &with_ds),
        "bogus",
        "lists DS",
    );
    // RFC 6840 §4.4: a.nsec.lab. has no NS, so it is no delegation.
    assert_verdict(
        no_ds("a.nsec.lab.", NSEC_ZONE, &[a_nsec()]),
        "bogus",
        "lacks NS",
    );
    let child = [nsec("d.nsec.lab.", "x.d.nsec.lab.", &[SOA, NS])];
    assert_verdict(
        no_ds("d.nsec.lab.", NSEC_ZONE, &child),
        "bogus",
        "child's apex",
    );
    let verdict = no_ds("b.nsec.lab.", NSEC_ZONE, &[a_nsec()]);
    assert_verdict(verdict, "bogus", "there is no delegation b.nsec.lab.");
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
    assert_verdict(verdict, "nsec3", "matches the closest encloser nsec3.lab.");
    assert_eq!(budget.remaining(), 0);
    let verdict = nx(&qname, NSEC3_ZONE, &records[..2]);
    assert_verdict(
        verdict,
        "missing",
        "no NSEC3 covers the wildcard *.nsec3.lab.",
    );
}

#[test]
fn nsec3_corrupted_next_covers_nothing() {
    let (qname, mut records) = nxdomain_case();
    let types = nsec3_of(&records[1]).type_bit_maps().collect();
    let mut next = owner_hash(&records[1]);
    *next.last_mut().unwrap() = next.last().unwrap().wrapping_add(1);
    records[1] = nsec3(&owner_hash(&records[1]), next, false, 0, &[], types);
    let verdict = nx(&qname, NSEC3_ZONE, &records);
    assert_verdict(verdict, "missing", "no NSEC3 covers the next closer");
}

#[test]
fn nsec3_wrong_owner_hash_gives_no_closest_encloser() {
    let (qname, mut records) = nxdomain_case();
    records[0].name = hashed_owner(&hash("bad-nsec3-hash.lab.", &[], 0));
    let verdict = nx(&qname, NSEC3_ZONE, &records);
    assert_verdict(
        verdict,
        "missing",
        "no NSEC3 matches the closest encloser of",
    );
}

#[test]
fn nsec3_nxdomain_for_existing_names_is_bogus() {
    let verdict = nx("c.nsec3.lab.", NSEC3_ZONE, &chain());
    assert_verdict(verdict, "bogus", "matches c.nsec3.lab.: the name exists");
    let verdict = nx("x.w.nsec3.lab.", NSEC3_ZONE, &chain());
    assert_verdict(verdict, "bogus", "matches the wildcard *.w.nsec3.lab.");
    let verdict = nx("x.d.nsec3.lab.", NSEC3_ZONE, &chain());
    assert_verdict(verdict, "bogus", "at d.nsec3.lab. is a delegation");
}

#[test]
fn nsec3_nodata_and_empty_non_terminal() {
    let a = [matching(&chain(), "a.nsec3.lab.")];
    assert_verdict(
        nodata("a.nsec3.lab.", TXT, NSEC3_ZONE, &a),
        "nsec3",
        "lacks TXT",
    );
    assert_verdict(
        nodata("a.nsec3.lab.", A, NSEC3_ZONE, &a),
        "bogus",
        "lists A",
    );
    let c = [matching(&chain(), "c.nsec3.lab.")];
    assert_verdict(
        nodata("c.nsec3.lab.", A, NSEC3_ZONE, &c),
        "nsec3",
        "lacks A",
    );
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
    assert_verdict(verdict, "nsec3", "at *.w.nsec3.lab. lacks MX");
    let records = [covering(&chain, "x.w.nsec3.lab.")];
    let verdict = expansion("x.w.nsec3.lab.", "*.w.nsec3.lab.", NSEC3_ZONE, &records);
    assert_verdict(verdict, "nsec3", "covers the next closer x.w.nsec3.lab.");
    // Expanding *.nsec3.lab. for x.w.nsec3.lab. is wrong: w.nsec3.lab. exists.
    let verdict = expansion("x.w.nsec3.lab.", "*.nsec3.lab.", NSEC3_ZONE, &chain);
    assert_verdict(verdict, "bogus", "a closer name than *.nsec3.lab. exists");
}

#[test]
fn nsec3_no_ds_matching_and_opt_out() {
    let records = [matching(&chain(), "d.nsec3.lab.")];
    assert_verdict(
        no_ds("d.nsec3.lab.", NSEC3_ZONE, &records),
        "nsec3",
        "lists NS but not DS",
    );
    // u.nsec3.lab. is an unsigned delegation left out of an opt-out chain.
    let opt_out = chain_with(0, &[], true);
    let records = [
        matching(&opt_out, NSEC3_ZONE),
        covering(&opt_out, "u.nsec3.lab."),
    ];
    let verdict = no_ds("u.nsec3.lab.", NSEC3_ZONE, &records);
    assert_verdict(
        verdict,
        "opt-out",
        "over the next closer u.nsec3.lab. has opt-out",
    );
    // Without opt-out the same span says u does not exist: no delegation to be insecure.
    let records = [
        matching(&chain(), NSEC3_ZONE),
        covering(&chain(), "u.nsec3.lab."),
    ];
    let verdict = no_ds("u.nsec3.lab.", NSEC3_ZONE, &records);
    assert_verdict(verdict, "bogus", "without opt-out");
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
    assert_verdict(
        nodata("a.nsec3.lab.", TXT, NSEC3_ZONE, &chain),
        "nsec3",
        "lacks TXT",
    );
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
fn verdicts_serialise_by_kind() {
    let json = serde_json::to_value(nx("x.nsec3.lab.", NSEC3_ZONE, &[])).unwrap();
    assert!(json["missing"]["detail"].is_string(), "{json}");
}
