//! Interoperating with the servers that exist (issue 11): answers without AA (priming
//! included), over real packets against labs started here.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use serde_json::Value;
use whydns::config::Config;
use whydns::explain::outcome::Resolution;
use whydns::lab::{Lab, RunningLab, ServerFault, StartOptions};
use whydns::resolver::Resolver;

/// A lab whose root servers clear AA on every answer, the priming reply included; started
/// once for this binary, on its own port.
struct NoAaRoot {
    running: RunningLab,
    hints: PathBuf,
}

fn no_aa_root() -> &'static NoAaRoot {
    static LAB: OnceLock<NoAaRoot> = OnceLock::new();
    LAB.get_or_init(|| {
        let mut lab = Lab::load(&common::testzones(), common::now()).expect("testzones load");
        for server in lab.servers.iter_mut() {
            if server.zones.iter().any(|z| z.apex.is_root()) {
                server.faults.push(ServerFault::NoAa);
            }
        }
        let running = common::runtime()
            .block_on(whydns::lab::start(&lab, StartOptions { port: 0 }))
            .expect("lab starts");
        let hints = std::env::temp_dir().join(format!("whydns-no-aa-hints-{}", std::process::id()));
        std::fs::write(&hints, whydns::lab::lab_root_hints(&lab)).unwrap();
        NoAaRoot { running, hints }
    })
}

fn events(r: &Resolution) -> Vec<Value> {
    r.trace
        .entries
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn a_priming_reply_without_aa_is_taken_and_said() {
    let lab = no_aa_root();
    let config = Config {
        root_hints: Some(lab.hints.clone()),
        trust_anchors: vec![common::lab_anchor_file()],
        upstream_port: lab.running.port,
        ..Config::default()
    };
    let resolver = Resolver::new(&config, std::sync::Arc::new(whydns::clock::SystemClock)).unwrap();
    let name = Name::from_ascii("valid.lab.").unwrap();
    for ask in ["first", "again"] {
        let r = common::runtime().block_on(resolver.resolve(&name, RecordType::A));
        let story = serde_json::to_string_pretty(&r.trace).unwrap();
        assert_eq!(r.rcode(), ResponseCode::NoError, "{ask}:\n{story}");
        assert!(r.authenticated(), "{ask}: {:?}", r.security);
        assert!(r.ede().is_empty(), "{ask}: {:?}", r.ede());
        if ask == "first" {
            let said = events(&r)
                .iter()
                .any(|e| e["event"] == "answered-without-aa" && e["zone"] == ".");
            assert!(
                said,
                "the priming reply without AA is not in the trace:\n{story}"
            );
        }
    }
}

/// RRSIG RRsets are not signed (RFC 4035 §3.2.1): a question for type RRSIG gets what the
/// authority holds, unvalidated, without AD, and the same when asked again.
#[test]
fn a_question_for_rrsig_is_answered_unvalidated() {
    let config = common::lab_config();
    let resolver = Resolver::new(&config, std::sync::Arc::new(whydns::clock::SystemClock)).unwrap();
    let name = Name::from_ascii("valid.lab.").unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = common::runtime().block_on(resolver.resolve(&name, RecordType::RRSIG));
        let story = serde_json::to_string_pretty(&r.trace).unwrap();
        assert_eq!(r.rcode(), ResponseCode::NoError, "{story}");
        assert!(!r.authenticated(), "AD on RRSIGs: {:?}", r.security);
        assert!(r.ede().is_empty(), "{:?}\n{story}", r.ede());
        assert!(
            !r.answers.is_empty()
                && r.answers
                    .iter()
                    .all(|a| a.record_type() == RecordType::RRSIG),
            "{:?}",
            r.answers
        );
        let mut data: Vec<String> = r.answers.iter().map(|a| a.data.to_string()).collect();
        data.sort();
        seen.push((r.rcode(), r.authenticated(), r.ede().len(), data));
    }
    assert_eq!(seen[0], seen[1], "asked again");
}

/// The questions a resolution sent upstream, as (name, type).
fn sent(r: &Resolution) -> Vec<(String, String)> {
    events(r)
        .iter()
        .filter(|e| e["event"] == "query-sent")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["rtype"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Below a cut proven insecure nothing is authenticated: no DS is asked for a zone under
/// it; and the root is primed once, not again while the priming answer is fresh.
#[test]
fn no_ds_below_an_insecure_cut_and_one_priming() {
    let config = common::lab_config();
    let resolver = Resolver::new(&config, std::sync::Arc::new(whydns::clock::SystemClock)).unwrap();
    let mut all = Vec::new();
    for name in [
        "www.child.insecure-grandchild.lab.",
        "www2.child.insecure-grandchild.lab.",
        "hoster.test.",
        "nowhere-tld.",
        "valid.lab.",
    ] {
        let qname = Name::from_ascii(name).unwrap();
        let r = common::runtime().block_on(resolver.resolve(&qname, RecordType::A));
        assert!(
            !r.answers.is_empty() || name == "nowhere-tld.",
            "{name}: {:?}",
            r.outcome
        );
        all.extend(sent(&r));
    }
    let ds_below: Vec<_> = all
        .iter()
        .filter(|(n, t)| t == "DS" && n == "child.insecure-grandchild.lab.")
        .collect();
    assert!(
        ds_below.is_empty(),
        "DS asked below the insecure cut: {ds_below:?}"
    );
    assert!(
        all.iter()
            .any(|(n, t)| t == "DS" && n == "insecure-grandchild.lab."),
        "the unsigned cut itself is proven: {all:?}"
    );
    let primings = all.iter().filter(|(n, t)| n == "." && t == "NS").count();
    assert_eq!(primings, 1, "{all:?}");
}
