//! Every lab scenario through a running whydns server, as a stub or `dig` sees it: one UDP
//! query with DO (TCP when truncated), then the RCODE, the AD bit and the EDE options on the
//! wire must be the scenario's; a bogus answer must come back with CD set.
//!
//! Then the explanation: the id at the end of every EXTRA-TEXT (or, for an answer without
//! EDE, the log's entry for the name) is fetched over DNS (CH TXT), over HTTP (the control
//! API, JSON and text) and with the `whydns explain` CLI. The three texts must be the same,
//! the diagnosis must give the scenario's cause and name what its file blames, and the JSON
//! trace must hold the events the file lists under `expect.trace`.
//!
//! Every question is then asked again, and the repeat must be the first answer (RCODE, AD,
//! EDE codes, answer records) served from the caches: no new explanation in the log and no
//! query to the scenario's own servers (the lab counts them). The wildcard, DNAME and CNAME
//! controls are asked four times: with DO, without DO, with CD, and with DO again. The
//! follow-up questions of a scenario (`[[then]]`) get the same treatment, and no answer may
//! hold the attacker's data (`expect.never`).

mod common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use common::{query_message, tcp_query, udp_exchange, Ask, TcpOutcome};
use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, RData, RecordType};
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::resolver::Resolver;
use whydns::server::Server;

include!(concat!(env!("OUT_DIR"), "/serve_scenario_tests.rs"));

/// The server's DNS address.
fn server() -> SocketAddr {
    addresses().0
}

/// The server's control API (HTTP) address.
fn control() -> SocketAddr {
    addresses().1
}

/// One server for the binary, recursing through the shared lab with the lab's anchor; it
/// keeps every resolution in its explanation log and serves the control API.
fn addresses() -> (SocketAddr, SocketAddr) {
    static ADDRESS: OnceLock<(SocketAddr, SocketAddr)> = OnceLock::new();
    *ADDRESS.get_or_init(|| {
        let config = Config {
            control: Some("127.0.0.1:0".parse().unwrap()),
            explain: whydns::config::ExplainConfig {
                keep_all: true,
                ..Default::default()
            },
            ..common::lab_config()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let resolver = Resolver::new(&config, std::sync::Arc::new(SystemClock)).unwrap();
                let server = Server::bind(&config, resolver).await.unwrap();
                tx.send((server.local_addrs()[0], server.control_addr().unwrap()))
                    .unwrap();
                let _ = server.run(std::future::pending::<()>()).await;
            });
        });
        rx.recv().unwrap()
    })
}

/// Asks like `dig +dnssec`: UDP first, TCP when truncated.
fn ask(name: &str, rtype: RecordType, checking_disabled: bool) -> Message {
    ask_as(name, rtype, checking_disabled, true)
}

/// Asks like `dig` (AD set, as dig does), with or without DO.
fn ask_as(name: &str, rtype: RecordType, checking_disabled: bool, dnssec_ok: bool) -> Message {
    let ask = Ask {
        dnssec_ok,
        ..Ask::default()
    };
    let mut query = query_message(name, rtype, ask);
    query.metadata.recursion_desired = true;
    query.metadata.authentic_data = true;
    query.metadata.checking_disabled = checking_disabled;
    let wait = Duration::from_secs(15);
    let reply =
        udp_exchange(server(), &query, wait).unwrap_or_else(|| panic!("no answer for {name}"));
    if !reply.metadata.truncation {
        return reply;
    }
    match tcp_query(server(), &query, wait) {
        TcpOutcome::Answer(reply) => reply,
        other => panic!("{name}: TCP after TC: {other:?}"),
    }
}

fn http_get(path: &str) -> String {
    let url = format!("http://{}{path}", control());
    ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// The explanation's lines as `dig <id>.explain.whydns. CH TXT` returns them (over TCP:
/// explanations are longer than a UDP answer).
fn explanation_over_dns(id: &str) -> Vec<String> {
    let mut query = query_message(
        &format!("{id}.explain.whydns."),
        RecordType::TXT,
        Ask::default(),
    );
    query.queries[0].set_query_class(DNSClass::CH);
    let TcpOutcome::Answer(reply) = tcp_query(server(), &query, Duration::from_secs(10)) else {
        panic!("{id}: no TCP answer to the explanation query")
    };
    assert!(
        !reply.answers.is_empty(),
        "{id}: no explanation over DNS: {reply}"
    );
    reply
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::TXT(txt) => txt
                .txt_data
                .iter()
                .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                .collect::<String>(),
            other => panic!("{id}: not TXT: {other:?}"),
        })
        .collect()
}

fn explanation_over_cli(id: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_whydns"))
        .args(["explain", id, "--server", &format!("http://{}", control())])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "whydns explain {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Fetches the explanation `id` three ways; they agree; the diagnosis is the scenario's.
fn check_explanation(scenario: &whydns::lab::Scenario, id: &str, codes: &[u16]) {
    let sid = &scenario.id;
    let json: serde_json::Value =
        serde_json::from_str(&http_get(&format!("/api/explanations/{id}"))).unwrap();
    assert_eq!(json["id"], id, "{sid}");
    assert_eq!(json["name"], scenario.query.name.as_str(), "{sid}");
    assert_eq!(json["rcode"], scenario.expect.rcode.as_str(), "{sid}");
    let logged: Vec<u16> = json["ede"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[0].as_u64().unwrap() as u16)
        .collect();
    assert_eq!(logged, codes, "{sid}: the log holds the EDE the client got");
    let entries = json["trace"]["entries"].as_array().unwrap();
    if let Err(message) = whydns::lab::spec::check_trace(&scenario.expect.trace, entries) {
        panic!("{sid}: the explanation's trace: {message}");
    }
    let diagnosis: whydns::explain::diagnosis::Diagnosis =
        serde_json::from_value(json["diagnosis"].clone()).unwrap();
    let text = http_get(&format!("/api/explanations/{id}.txt"));
    common::assert_diagnosis(sid, &diagnosis, &scenario.expect, &text);
    assert!(
        text.contains(&format!("diagnosis: {}", diagnosis.summary))
            && text.contains(&format!("remedy: {}", diagnosis.remedy)),
        "{sid}: the text shows the diagnosis and remedy:\n{text}"
    );
    let dns = explanation_over_dns(id);
    let http: Vec<&str> = text.lines().collect();
    assert_eq!(dns, http, "{sid}: DNS and HTTP tell the same explanation");
    assert_eq!(
        explanation_over_cli(id),
        text,
        "{sid}: the CLI prints what HTTP serves"
    );
}

/// How many explanations the log holds for `name`.
fn logged(name: &str) -> usize {
    let list: serde_json::Value = serde_json::from_str(&http_get(&format!(
        "/api/explanations?name={name}&limit=1000"
    )))
    .unwrap();
    list["explanations"].as_array().map_or(0, |a| a.len())
}

/// RFC 4035 §5.3.3: no record on the wire outlives the signature that validated it.
fn assert_max_ttl(what: &str, reply: &Message, max: Option<u32>) {
    let Some(max) = max else { return };
    for record in &reply.answers {
        assert!(
            record.ttl <= max,
            "{what}: TTL {} above {max}: {record}",
            record.ttl
        );
    }
}

/// No answer record holds the attacker's data.
fn assert_never(what: &str, reply: &Message, never: &[String]) {
    for record in reply.answers.iter().chain(&reply.authorities) {
        let text = format!("{} {}", record.name, record.data);
        for forbidden in never {
            assert!(
                !text.contains(forbidden.as_str()),
                "{what}: the answer holds the attacker's {forbidden:?}: {text}"
            );
        }
    }
}

/// Asks `name` again in each of `asks` (CD, DO): each answer must be `first` as that client
/// sees it, with no query to the scenario's servers, and no new resolution logged (but for a
/// CD question asked the first time, which the record cache answers).
fn assert_repeats(id: &str, name: &str, rtype: RecordType, first: &Message, asks: &[(bool, bool)]) {
    let lab = common::lab();
    let queries = lab.running.scenario_queries(id);
    let expected = common::seen(first);
    for &(checking_disabled, dnssec_ok) in asks {
        let what = format!("{id}: {name} {rtype} again (CD={checking_disabled}, DO={dnssec_ok})");
        let explained = logged(name);
        let again = ask_as(name, rtype, checking_disabled, dnssec_ok);
        let got = common::seen(&again);
        assert_eq!(
            lab.running.scenario_queries(id),
            queries,
            "{what}: reached the scenario's servers"
        );
        if checking_disabled {
            // Unvalidated data never carries AD (nor a DNSSEC code); the rest is the same.
            assert_eq!(
                (&got.0, &got.3),
                (&expected.0, &expected.3),
                "{what}\n{again}"
            );
            assert!(!got.1, "{what}: AD with CD\n{again}");
            assert!(
                logged(name) <= explained + 1,
                "{what}: resolved more than once"
            );
            continue;
        }
        assert_eq!(logged(name), explained, "{what}: resolved again");
        assert_eq!(got, expected, "{what}\n{again}");
        let rrsigs = again
            .answers
            .iter()
            .any(|r| r.record_type() == RecordType::RRSIG);
        if !dnssec_ok {
            assert!(!rrsigs, "{what}: RRSIGs without DO");
        } else if first
            .answers
            .iter()
            .any(|r| r.record_type() == RecordType::RRSIG)
        {
            assert!(rrsigs, "{what}: the RRSIGs are gone");
            assert_eq!(
                again.authorities.len(),
                first.authorities.len(),
                "{what}: the authority section (proofs) differs\n{again}"
            );
        }
    }
}

/// The controls whose cached answers once differed from fresh ones.
const ALIAS_CONTROLS: &[&str] = &["wildcard", "dname", "cname-chain"];

fn run_scenario(id: &str) {
    let scenario = common::scenario(id);
    let rtype: RecordType = scenario.query.rtype.parse().unwrap();
    let reply = ask(&scenario.query.name, rtype, false);
    assert_never(id, &reply, &scenario.expect.never);
    assert_max_ttl(id, &reply, scenario.expect.max_ttl);
    let rcode = whydns::explain::event::rcode_name(reply.metadata.response_code);
    assert_eq!(rcode, scenario.expect.rcode, "{id}: RCODE\n{reply}");
    assert_eq!(
        reply.metadata.authentic_data, scenario.expect.ad,
        "{id}: AD\n{reply}"
    );
    let options = common::ede(&reply);
    let codes: Vec<u16> = options.iter().map(|(code, _)| *code).collect();
    common::assert_ede(id, &codes, &scenario.expect.ede, &reply.to_string());
    let explanation = match options.first() {
        Some((_, text)) => {
            let trace = common::trace_id(text);
            for (_, text) in &options {
                assert_eq!(
                    common::trace_id(text),
                    trace,
                    "{id}: one id in every EXTRA-TEXT"
                );
            }
            trace
        }
        // No EDE: the server keeps every resolution here, so the log has this one by name.
        None => {
            let list: serde_json::Value = serde_json::from_str(&http_get(&format!(
                "/api/explanations?name={}&limit=1",
                scenario.query.name
            )))
            .unwrap();
            list["explanations"][0]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: not in the log: {list}"))
                .to_string()
        }
    };
    // Soon, while even a failure is still cached (RFC 9520: 5 s here).
    let repeats: &[(bool, bool)] = if ALIAS_CONTROLS.contains(&id) {
        &[(false, false), (true, true), (false, true)]
    } else {
        &[(false, true)]
    };
    assert_repeats(id, &scenario.query.name, rtype, &reply, repeats);
    check_explanation(scenario, &explanation, &codes);
    for step in &scenario.then {
        let rtype: RecordType = step.query.rtype.parse().unwrap();
        let what = format!("{id}, then {} {rtype}", step.query.name);
        let next = ask(&step.query.name, rtype, false);
        let (rcode, ad, codes, _) = common::seen(&next);
        assert_eq!(rcode, step.expect.rcode, "{what}: RCODE\n{next}");
        assert_eq!(ad, step.expect.ad, "{what}: AD\n{next}");
        common::assert_ede(&what, &codes, &step.expect.ede, &next.to_string());
        assert_never(&what, &next, &step.expect.never);
        assert_max_ttl(&what, &next, step.expect.max_ttl);
        assert_repeats(id, &step.query.name, rtype, &next, &[(false, true)]);
    }
    if scenario.category == whydns::lab::Category::Dnssec && scenario.expect.rcode == "SERVFAIL" {
        let unchecked = ask(&scenario.query.name, rtype, true);
        let rcode = whydns::explain::event::rcode_name(unchecked.metadata.response_code);
        assert!(
            rcode == "NOERROR" || rcode == "NXDOMAIN",
            "{id}: +cd gave {rcode}"
        );
        assert!(!unchecked.metadata.authentic_data, "{id}: +cd with AD");
    }
}
