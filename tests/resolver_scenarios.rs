//! The resolver against the lab: every scenario is resolved over real sockets, validating
//! against the lab's trust anchor, and must give the scenario's RCODE, EDE codes, AD bit, an
//! answer where one is expected, none of the attacker's data (`expect.never`), and the typed
//! events its file lists under `expect.trace`; then its follow-up questions (`[[then]]`).
//! Every question is asked twice: the repeat must be the same answer, from the answer cache,
//! whose trace is the first one's and so holds the same events.
//! A second resolver without the answer cache checks that the record cache alone repeats
//! the control answers (wildcard, DNAME, CNAME, ANY, denials) identically, with no query.

mod common;

use std::sync::{Arc, OnceLock};

use hickory_proto::rr::{Name, RecordType};
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::explain::event::{Event, Limit};
use whydns::explain::outcome::Resolution;
use whydns::lab::spec::{check_trace, TraceItem};
use whydns::lab::Expectation;
use whydns::resolver::Resolver;

include!(concat!(env!("OUT_DIR"), "/resolver_scenario_tests.rs"));

/// One resolver for the whole binary, pointed at the shared lab (caches shared, as in life).
fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| make_resolver(true))
}

/// A resolver whose only memory is the record cache (no answer cache).
fn records_only() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| make_resolver(false))
}

fn make_resolver(answer_cache: bool) -> Resolver {
    make_resolver_with(answer_cache, |_| {})
}

fn make_resolver_with(answer_cache: bool, adjust: impl FnOnce(&mut Config)) -> Resolver {
    let lab = common::lab();
    // One file per resolver: tests build resolvers in parallel, and a file rewritten under
    // a reader reads empty.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hints = std::env::temp_dir().join(format!(
        "whydns-hints-{}-{answer_cache}-{n}",
        std::process::id()
    ));
    std::fs::write(&hints, whydns::lab::lab_root_hints(&lab.lab)).unwrap();
    let mut config = Config {
        root_hints: Some(hints),
        trust_anchors: vec![common::lab_anchor_file()],
        upstream_port: lab.running.port,
        ..Config::default()
    };
    if !answer_cache {
        config.cache.answers = 0;
    }
    adjust(&mut config);
    Resolver::new(&config, Arc::new(SystemClock)).expect("resolver")
}

pub fn resolve(name: &str, rtype: RecordType) -> Resolution {
    resolve_with(name, rtype, false)
}

fn resolve_fresh(name: &str, rtype: RecordType) -> Resolution {
    resolve_on(records_only(), name, rtype, false)
}

pub fn resolve_with(name: &str, rtype: RecordType, checking_disabled: bool) -> Resolution {
    resolve_on(resolver(), name, rtype, checking_disabled)
}

fn resolve_on(
    resolver: &Resolver,
    name: &str,
    rtype: RecordType,
    checking_disabled: bool,
) -> Resolution {
    let resolver = resolver.clone();
    let name = Name::from_ascii(name).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move { resolver.resolve_with(&name, rtype, checking_disabled).await })
}

/// What a client sees of a resolution: RCODE, AD, EDE codes and the answer records' data.
fn seen(r: &Resolution) -> (String, bool, Vec<u16>, Vec<String>) {
    (
        whydns::explain::event::rcode_name(r.rcode()),
        r.authenticated(),
        r.ede().iter().map(|e| e.code as u16).collect(),
        r.answers
            .iter()
            .map(|a| format!("{} {} {}", a.name, a.record_type(), a.data))
            .collect(),
    )
}

fn queries_sent(r: &Resolution) -> usize {
    r.trace
        .events()
        .filter(|e| matches!(e, Event::QuerySent { .. }))
        .count()
}

/// Asks again: the same answer, served whole from the answer cache, with the first
/// resolution's story (and so its expected events).
fn assert_repeated(id: &str, first: &Resolution, rtype: RecordType, expect: &Expectation) {
    let again = resolve(&first.name, rtype);
    assert!(
        again.cached,
        "{id}: {} {rtype} asked again was not cached",
        first.name
    );
    assert!(
        matches!(again.trace.events().last(), Some(Event::CacheHit { what, .. }) if what == "resolution"),
        "{id}: the repeat's trace does not end with the answer-cache hit"
    );
    assert_eq!(seen(&again), seen(first), "{id}: the repeat differs");
    assert_eq!(
        again.trace.id, first.trace.id,
        "{id}: the repeat has another id"
    );
    assert_trace(&format!("{id}, from the cache"), &again, &expect.trace);
}

/// RFC 4035 §5.3.3: no record outlives the signature that validated it.
fn assert_max_ttl(id: &str, r: &Resolution, expect: &Expectation) {
    let Some(max) = expect.max_ttl else { return };
    for record in r.answers.iter().chain(&r.dnssec_answers) {
        assert!(
            record.ttl <= max,
            "{id}: {} {} has TTL {} above {max}",
            record.name,
            record.record_type(),
            record.ttl
        );
    }
}

/// No answer record a client gets carries the attacker's data (a SERVFAIL carries none;
/// the resolution keeps bogus records only for CD clients).
fn assert_never(id: &str, r: &Resolution, expect: &Expectation) {
    if r.rcode() == hickory_proto::op::ResponseCode::ServFail {
        return;
    }
    for record in r.answers.iter().chain(&r.authority) {
        let text = format!("{} {}", record.name, record.data);
        for forbidden in &expect.never {
            assert!(
                !text.contains(forbidden.as_str()),
                "{id}: the answer holds the attacker's {forbidden:?}: {text}"
            );
        }
    }
}

/// The trace holds an event matching each of `items` (`expect.trace`).
fn assert_trace(what: &str, r: &Resolution, items: &[TraceItem]) {
    if let Err(message) = check_trace(items, &r.trace.entries) {
        panic!("{what}: {message}");
    }
}

fn run_scenario(id: &str) {
    let scenario = common::scenario(id);
    let rtype: RecordType = scenario.query.rtype.parse().unwrap();
    let resolution = resolve(&scenario.query.name, rtype);
    let story = serde_json::to_string_pretty(&resolution.trace).unwrap();
    if std::env::var_os("WHYDNS_PRINT_TRACE").is_some() {
        eprintln!("{id}:\n{story}");
    }

    assert_eq!(
        whydns::explain::event::rcode_name(resolution.rcode()),
        scenario.expect.rcode,
        "{id}: RCODE; trace:\n{story}"
    );
    let codes: Vec<u16> = resolution.ede().iter().map(|e| e.code as u16).collect();
    common::assert_ede(id, &codes, &scenario.expect.ede, &story);
    for ede in resolution.ede() {
        assert!(
            ede.text.contains(&resolution.trace.id),
            "{id}: EXTRA-TEXT lacks the trace id"
        );
    }
    assert_eq!(
        resolution.authenticated(),
        scenario.expect.ad,
        "{id}: AD; security {:?}\n{story}",
        resolution.security
    );
    // NODATA, and an answer cut at a DNAME loop, end without the type asked for.
    let chain_only = matches!(
        scenario.expect.cause.as_deref(),
        Some("no-data" | "dname-loop")
    );
    if scenario.expect.rcode == "NOERROR" && !chain_only {
        assert!(
            resolution
                .answers
                .iter()
                .any(|r| r.record_type() == rtype || rtype == RecordType::ANY),
            "{id}: no {rtype} in the answer: {:?}",
            resolution.answers
        );
    }
    if scenario.expect.rcode == "NXDOMAIN" {
        assert!(
            resolution
                .authority
                .iter()
                .any(|r| r.record_type() == RecordType::SOA),
            "{id}: NXDOMAIN without SOA"
        );
    }
    // "+cd makes it work -> it is DNSSEC": every bogus answer comes back with CD set.
    if scenario.category == whydns::lab::Category::Dnssec && scenario.expect.rcode == "SERVFAIL" {
        let unchecked = resolve_with(&scenario.query.name, rtype, true);
        let rcode = whydns::explain::event::rcode_name(unchecked.rcode());
        assert!(
            rcode == "NOERROR" || rcode == "NXDOMAIN",
            "{id}: with CD: {rcode}"
        );
        assert!(!unchecked.authenticated(), "{id}: AD with CD");
        assert!(
            unchecked.ede().is_empty(),
            "{id}: EDE with CD: {:?}",
            unchecked.ede()
        );
    }
    assert_trace(id, &resolution, &scenario.expect.trace);
    assert_never(id, &resolution, &scenario.expect);
    assert_max_ttl(id, &resolution, &scenario.expect);
    let diagnosis = resolution.diagnose();
    common::assert_diagnosis(id, &diagnosis, &scenario.expect, &diagnosis.render());
    assert_repeated(id, &resolution, rtype, &scenario.expect);
    for step in &scenario.then {
        let rtype: RecordType = step.query.rtype.parse().unwrap();
        let next = resolve(&step.query.name, rtype);
        let story = serde_json::to_string_pretty(&next.trace).unwrap();
        let what = format!("{id}, then {} {rtype}", step.query.name);
        assert_eq!(
            whydns::explain::event::rcode_name(next.rcode()),
            step.expect.rcode,
            "{what}: RCODE\n{story}"
        );
        let codes: Vec<u16> = next.ede().iter().map(|e| e.code as u16).collect();
        common::assert_ede(&what, &codes, &step.expect.ede, &story);
        assert_eq!(next.authenticated(), step.expect.ad, "{what}: AD\n{story}");
        if rtype != RecordType::ANY {
            assert!(
                next.answers.iter().all(|r| matches!(
                    r.record_type(),
                    t if t == rtype || t == RecordType::CNAME || t == RecordType::DNAME
                )),
                "{what}: records of other types in the answer: {:?}",
                next.answers
            );
        }
        assert_never(&what, &next, &step.expect);
        assert_max_ttl(&what, &next, &step.expect);
        assert_trace(&what, &next, &step.expect.trace);
        assert_repeated(&what, &next, rtype, &step.expect);
    }
    // A failure asked again meets the resolver's memory (cached delegation, servers marked
    // lame or dead) instead of the wire: the diagnosis must not get vaguer.
    if scenario.expect.rcode == "SERVFAIL" {
        let again = resolve(&scenario.query.name, rtype);
        let second = again.diagnose();
        common::assert_diagnosis(
            id,
            &second,
            &scenario.expect,
            &format!("asked again:\n{}", second.render()),
        );
    }
}

/// The control answers whose cached form once differed from the fresh one (a wildcard
/// without its proof, a DNAME's CNAME without the DNAME, an ANY stored as one RRset).
const RECORD_CACHE_REPEATS: &[(&str, &str)] = &[
    ("anything.wildcard.lab.", "A"),
    ("www.old.dname.lab.", "A"),
    ("other.old.dname.lab.", "A"),
    ("www.cname-chain.lab.", "A"),
    ("valid.lab.", "A"),
    ("mx.lab.", "MX"),
    ("nx.nxdomain-nsec.lab.", "A"),
    ("nx.nxdomain-nsec3.lab.", "A"),
    ("nodata.lab.", "AAAA"),
    ("unsigned.lab.", "A"),
    ("no-ds.lab.", "A"),
    // After an ANY (asked upstream each time, RFC 8482): the A and a NODATA type.
    ("any-then-a.lab.", "A"),
    ("any-then-a.lab.", "TXT"),
];

#[test]
fn the_record_cache_alone_repeats_answers_identically_without_queries() {
    let any = resolve_fresh("any-then-a.lab.", RecordType::ANY);
    assert!(any.authenticated(), "ANY: {:?}", any.security);
    for (name, rtype) in RECORD_CACHE_REPEATS {
        let rtype: RecordType = rtype.parse().unwrap();
        let first = resolve_fresh(name, rtype);
        // With CD in between: the cached data unvalidated, then validated again without it.
        let unchecked = resolve_on(records_only(), name, rtype, true);
        assert_eq!(
            queries_sent(&unchecked),
            0,
            "{name} {rtype}: CD asked upstream"
        );
        assert_eq!(
            (seen(&unchecked).0, seen(&unchecked).3),
            (seen(&first).0, seen(&first).3),
            "{name} {rtype}: CD changed the answer"
        );
        let second = resolve_fresh(name, rtype);
        let story = serde_json::to_string_pretty(&second.trace).unwrap();
        assert!(!second.cached, "{name}: no answer cache here");
        assert_eq!(
            seen(&second),
            seen(&first),
            "{name} {rtype}: the repeat differs\n{story}"
        );
        assert_eq!(
            queries_sent(&second),
            0,
            "{name} {rtype}: asked upstream again\n{story}"
        );
        let checked = second
            .trace
            .events()
            .filter(|e| {
                matches!(
                    e,
                    Event::SignaturesChecked { .. } | Event::DenialChecked { .. }
                )
            })
            .count();
        assert_eq!(
            checked, 0,
            "{name} {rtype}: the cached verdict was not reused\n{story}"
        );
        let proofs = |r: &Resolution| r.dnssec_authority.len();
        assert_eq!(
            proofs(&second),
            proofs(&first),
            "{name} {rtype}: the DO records of the authority section differ"
        );
        assert_eq!(
            second.dnssec_answers.len(),
            first.dnssec_answers.len(),
            "{name} {rtype}: the RRSIGs of the answer differ"
        );
        if *name == "anything.wildcard.lab." {
            assert!(
                proofs(&second) > 0,
                "the wildcard expansion lost its NSEC proof"
            );
        }
        if rtype == RecordType::A {
            assert!(
                second.answers.iter().all(|r| matches!(
                    r.record_type(),
                    RecordType::A | RecordType::CNAME | RecordType::DNAME
                )),
                "{name}: an A answer holds other types: {:?}",
                second.answers
            );
        }
    }
}

#[test]
fn a_spent_resolver_allowance_fails_fast_and_briefly() {
    // Two signature checks per second for the whole resolver: a cold validation of a signed
    // name needs more (root, lab., valid.lab. keys and the answer).
    let busy = make_resolver_with(true, |c| c.limits.validations_per_second = 2);
    let r = resolve_on(&busy, "valid.lab.", RecordType::A, false);
    let story = serde_json::to_string_pretty(&r.trace).unwrap();
    assert_eq!(
        r.rcode(),
        hickory_proto::op::ResponseCode::ServFail,
        "{story}"
    );
    let ede = r.ede();
    assert_eq!(ede.len(), 1, "{ede:?}");
    assert_eq!(ede[0].code as u16, 0);
    assert!(
        r.trace.events().any(|e| matches!(
            e,
            Event::LimitReached {
                limit: Limit::ValidationAllowance,
                ..
            }
        )),
        "no allowance event:\n{story}"
    );
    assert_eq!(r.diagnose().cause.token(), "overloaded");
    // Held for a second at most (the load, not the data, failed): asked after that, the
    // answer is not the cached failure.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let again = resolve_on(&busy, "valid.lab.", RecordType::A, false);
    assert!(!again.cached, "a transient failure was held past a second");
}

#[test]
fn the_caches_stay_within_their_byte_bounds_under_many_distinct_names() {
    // 1 MiB for records and for whole answers; 3,000 distinct signed wildcard answers (each
    // with its RRSIG and NSEC proof) need more than that.
    let small = make_resolver_with(true, |c| {
        c.cache.records_mib = 1;
        c.cache.answers_mib = 1;
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for batch in 0..10 {
            let resolver = small.clone();
            tasks.spawn(async move {
                for i in 0..300 {
                    let name = Name::from_ascii(format!("n{batch}-{i}.wildcard.lab.")).unwrap();
                    let r = resolver.resolve(&name, RecordType::A).await;
                    assert!(r.authenticated(), "{name}: {:?}", r.security);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    });
    let bytes = small.cache_bytes();
    assert!(bytes.records <= 1 << 20, "{bytes:?}");
    assert!(bytes.answers <= 1 << 20, "{bytes:?}");
    assert!(
        bytes.records > 1 << 19,
        "the bound was never approached: {bytes:?}"
    );
}

#[test]
fn a_trace_is_bounded_in_bytes_and_the_answer_is_unchanged() {
    // 2 KiB of events: a cold resolution of a signed name records more (every query, key
    // and signature check on the way down), and the excess is counted, not kept.
    let tight = make_resolver_with(false, |c| c.limits.trace_kib = 2);
    let r = resolve_on(&tight, "valid.lab.", RecordType::A, false);
    let json = serde_json::to_vec(&r.trace.entries).unwrap();
    assert!(
        json.len() <= 2048 + r.trace.entries.len() + 2,
        "{} bytes",
        json.len()
    );
    assert!(r.trace.dropped > 0, "the bound was never reached");
    assert_eq!(r.rcode(), hickory_proto::op::ResponseCode::NoError);
    assert!(r.authenticated(), "{:?}", r.security);
    let full = resolve_fresh("valid.lab.", RecordType::A);
    assert_eq!(seen(&r), seen(&full));
}
