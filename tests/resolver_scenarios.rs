//! The resolver against the lab: every scenario is resolved over real sockets, validating
//! against the lab's trust anchor, and must give the scenario's RCODE, EDE codes, AD bit, an
//! answer where one is expected, and the key events its file lists under `expect.trace`.

mod common;

use std::sync::{Arc, OnceLock};

use hickory_proto::rr::{Name, RecordType};
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::resolver::{Resolution, Resolver};

include!(concat!(env!("OUT_DIR"), "/resolver_scenario_tests.rs"));

/// One resolver for the whole binary, pointed at the shared lab (caches shared, as in life).
fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| {
        let lab = common::lab();
        let hints = std::env::temp_dir().join(format!("whydns-hints-{}", std::process::id()));
        std::fs::write(&hints, whydns::lab::lab_root_hints(&lab.lab)).unwrap();
        let config = Config {
            root_hints: Some(hints),
            trust_anchors: vec![common::lab_anchor_file()],
            upstream_port: lab.running.port,
            ..Config::default()
        };
        Resolver::new(&config, Arc::new(SystemClock)).expect("resolver")
    })
}

pub fn resolve(name: &str, rtype: RecordType) -> Resolution {
    resolve_with(name, rtype, false)
}

pub fn resolve_with(name: &str, rtype: RecordType, checking_disabled: bool) -> Resolution {
    let resolver = resolver().clone();
    let name = Name::from_ascii(name).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move { resolver.resolve_with(&name, rtype, checking_disabled).await })
}

/// True when the trace holds an event with this tag whose fields contain `detail`.
fn trace_has(resolution: &Resolution, wanted: &str) -> bool {
    let (tag, detail) = wanted.split_once(':').unwrap_or((wanted, ""));
    resolution.trace.entries.iter().any(|entry| {
        let json = serde_json::to_value(entry).unwrap();
        json["event"] == tag && (detail.is_empty() || json.to_string().contains(detail))
    })
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
    if scenario.expect.rcode == "NOERROR" && scenario.id != "nodata" {
        assert!(
            resolution.answers.iter().any(|r| r.record_type() == rtype),
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
    for wanted in &scenario.expect.trace {
        assert!(
            trace_has(&resolution, wanted),
            "{id}: trace lacks {wanted:?}:\n{story}"
        );
    }
    let diagnosis = resolution.diagnose();
    common::assert_diagnosis(id, &diagnosis, &scenario.expect, &diagnosis.render());
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
