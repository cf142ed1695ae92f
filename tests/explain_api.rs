//! The explanation log from the outside, against a whydns server recursing through the shared
//! lab: the HTTP control API (filters, JSON and text, errors, the allow list), `/metrics`, the
//! JSON-lines file, EDE shedding under a 512-byte UDP limit, and the log's bounds under
//! 100 000 failing queries.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::{query_message, tcp_exchange, tcp_query, udp_exchange, Ask, TcpOutcome};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::explain::diagnosis::Cause;
use whydns::explain::log::{Explanation, ExplanationList, ExplanationLog};
use whydns::resolver::Resolver;
use whydns::server::Server;

const T: Duration = Duration::from_secs(10);

struct Running {
    dns: SocketAddr,
    control: Option<SocketAddr>,
    log: Arc<ExplanationLog>,
}

/// Starts a server for `config`, running until the test binary exits.
fn start(config: Config) -> Running {
    let server = common::runtime().block_on(async {
        let resolver = Resolver::new(&config, Arc::new(SystemClock)).unwrap();
        Server::bind(&config, resolver).await.unwrap()
    });
    let running = Running {
        dns: server.local_addrs()[0],
        control: server.control_addr(),
        log: server.explanations(),
    };
    common::runtime().spawn(server.run(std::future::pending()));
    running
}

/// The server most tests share: control API on, default log bounds.
fn shared() -> &'static Running {
    static SERVER: OnceLock<Running> = OnceLock::new();
    SERVER.get_or_init(|| {
        start(Config {
            control: Some("127.0.0.1:0".parse().unwrap()),
            ..common::lab_config()
        })
    })
}

fn ask(dns: SocketAddr, name: &str, rtype: RecordType, ask: Ask) -> Message {
    let mut q = query_message(name, rtype, ask);
    q.metadata.recursion_desired = true;
    udp_exchange(dns, &q, T).unwrap_or_else(|| panic!("no answer for {name}"))
}

/// (status, content type, body) of a GET; HTTP errors are answers here, not failures.
fn get(control: SocketAddr, path: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(format!("http://{control}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, response.body_mut().read_to_string().unwrap())
}

fn get_json(control: SocketAddr, path: &str) -> serde_json::Value {
    let (status, kind, body) = get(control, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    assert!(kind.starts_with("application/json"), "GET {path}: {kind}");
    serde_json::from_str(&body).unwrap()
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list["explanations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn http_api_filters_by_name_rcode_ede_time_and_limit() {
    let s = shared();
    let control = s.control.unwrap();
    let expired = ask(s.dns, "rrsig-exp-a.lab.", RecordType::A, Ask::default());
    let expired_id = common::trace_id(&common::ede(&expired)[0].1);
    let lame = ask(
        s.dns,
        "stale-delegation.lab.",
        RecordType::A,
        Ask::default(),
    );
    let lame_id = common::trace_id(&common::ede(&lame)[0].1);
    let nx = ask(
        s.dns,
        "nx.nxdomain-nsec3.lab.",
        RecordType::A,
        Ask::default(),
    );
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);

    let by_name = get_json(control, "/api/explanations?name=STALE-delegation.lab");
    assert!(ids(&by_name).contains(&lame_id), "{by_name}");
    assert!(!ids(&by_name).contains(&expired_id));
    let entry = &by_name["explanations"][0];
    assert_eq!(entry["cause"], "lame-delegation");
    assert!(entry["diagnosis"].as_str().unwrap().contains("127.53.61.1"));
    assert!(entry.get("trace").is_none(), "lists carry summaries only");

    let by_ede = ids(&get_json(control, "/api/explanations?ede=7"));
    assert!(by_ede.contains(&expired_id) && !by_ede.contains(&lame_id));
    let nxdomain = get_json(control, "/api/explanations?rcode=nxdomain");
    assert!(nxdomain["explanations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["rcode"] == "NXDOMAIN" && e["cause"] == "name-does-not-exist"));
    assert!(
        !ids(&nxdomain).is_empty(),
        "a denial is kept: not a plain success"
    );
    let future = common::now() + 3600;
    assert!(ids(&get_json(
        control,
        &format!("/api/explanations?since={future}")
    ))
    .is_empty());
    assert_eq!(
        ids(&get_json(control, "/api/explanations?limit=1")).len(),
        1
    );

    // One in full: JSON with the diagnosis and trace; text with the same diagnosis.
    let full = get_json(control, &format!("/api/explanations/{expired_id}"));
    assert_eq!(full["diagnosis"]["cause"], "signature-expired");
    assert!(!full["trace"]["entries"].as_array().unwrap().is_empty());
    let (status, kind, text) = get(control, &format!("/api/explanations/{expired_id}.txt"));
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert!(
        text.starts_with(&format!("explanation {expired_id} at ")),
        "{text}"
    );
    assert!(text.contains("cause: signature-expired"), "{text}");
}

#[test]
fn http_api_errors_are_json_with_the_right_status() {
    let control = shared().control.unwrap();
    let (status, _, body) = get(control, "/api/explanations/0badc0de");
    assert_eq!(status, 404);
    assert!(body.contains("no explanation"), "{body}");
    let (status, _, body) = get(control, "/api/explanations?ede=notanumber");
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = get(control, "/api/explanations?colour=red");
    assert_eq!(status, 400, "unknown parameters are refused: {body}");
    let (status, _, body) = get(control, "/nowhere");
    assert_eq!(status, 404);
    assert!(body.contains("/api/explanations"), "{body}");
}

#[test]
fn control_api_answers_only_its_own_allow_list_and_checks_it_first() {
    // DNS open to loopback (the default), the control API and the metrics to another
    // network only.
    let s = start(Config {
        control: Some("127.0.0.1:0".parse().unwrap()),
        control_allow: vec!["192.0.2.0/24".parse().unwrap()],
        metrics_allow: vec!["192.0.2.0/24".parse().unwrap()],
        ..common::lab_config()
    });
    let reply = ask(s.dns, "valid.lab.", RecordType::A, Ask::default());
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    for (path, list) in [
        ("/metrics", "the metrics allow list (metrics_allow)"),
        (
            "/api/explanations?ede=notanumber",
            "the control API's allow list",
        ),
        ("/nowhere", "the control API's allow list"),
    ] {
        let (status, _, body) = get(s.control.unwrap(), path);
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body.contains(&format!("127.0.0.1 is not in {list}")),
            "{body}"
        );
    }
}

/// (status, body) of `GET path` sent from `source` (any 127.x.y.z) with `host` as the Host
/// header, over a plain HTTP/1.1 connection.
fn raw_get(source: &str, control: SocketAddr, path: &str, host: &str) -> (u16, String) {
    use socket2::{Domain, Socket, Type};
    use std::io::{Read, Write};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let from: SocketAddr = (source.parse::<std::net::IpAddr>().unwrap(), 0).into();
    socket.bind(&from.into()).unwrap();
    socket.connect_timeout(&control.into(), T).unwrap();
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(T)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn a_host_header_naming_another_host_is_refused_against_dns_rebinding() {
    let control = shared().control.unwrap();
    let port = control.port();
    // What a browser sends for a page of rebound.example that now resolves to 127.0.0.1.
    for host in [format!("rebound.example:{port}"), "rebound.example".into()] {
        for path in ["/api/explanations", "/metrics", "/nowhere"] {
            let (status, body) = raw_get("127.0.0.1", control, path, &host);
            assert_eq!(status, 403, "{host} {path}: {body}");
            assert!(body.contains("DNS rebinding"), "{body}");
        }
    }
    // Its own address, localhost and names below localhost are this server.
    for host in [
        control.to_string(),
        format!("localhost:{port}"),
        "LocalHost".into(),
        format!("whydns.localhost:{port}"),
    ] {
        let (status, body) = raw_get("127.0.0.1", control, "/api/explanations", &host);
        assert_eq!(status, 200, "{host}: {body}");
    }
    // Another IP literal is not this server's address either.
    let (status, _) = raw_get(
        "127.0.0.1",
        control,
        "/metrics",
        &format!("127.0.0.9:{port}"),
    );
    assert_eq!(status, 403);
}

#[test]
fn a_name_in_control_hosts_is_accepted_in_the_host_header() {
    let s = start(Config {
        control: Some("127.0.0.1:0".parse().unwrap()),
        control_hosts: vec!["whydns.internal.example".into()],
        ..common::lab_config()
    });
    let control = s.control.unwrap();
    let (status, body) = raw_get(
        "127.0.0.1",
        control,
        "/metrics",
        "WHYDNS.internal.example:80",
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = raw_get("127.0.0.1", control, "/metrics", "other.internal.example");
    assert_eq!(status, 403);
}

#[test]
fn metrics_have_an_allow_list_of_their_own() {
    // A Prometheus server at 127.0.0.2 may scrape; only 127.0.0.1 may read explanations.
    let s = start(Config {
        control: Some("127.0.0.1:0".parse().unwrap()),
        control_allow: vec!["127.0.0.1/32".parse().unwrap()],
        metrics_allow: vec!["127.0.0.2/32".parse().unwrap()],
        ..common::lab_config()
    });
    let control = s.control.unwrap();
    let host = control.to_string();
    let (status, body) = raw_get("127.0.0.2", control, "/metrics", &host);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("whydns_answers_total"), "{body}");
    for path in ["/api/explanations", "/api/explanations/0badc0de.txt"] {
        let (status, body) = raw_get("127.0.0.2", control, path, &host);
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body.contains("127.0.0.2 is not in the control API's allow list"),
            "{body}"
        );
    }
    // And the other way round.
    let (status, _) = raw_get("127.0.0.1", control, "/api/explanations", &host);
    assert_eq!(status, 200);
    let (status, body) = raw_get("127.0.0.1", control, "/metrics", &host);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("metrics_allow"), "{body}");
}

#[test]
fn explanation_ids_are_found_in_any_case() {
    let s = shared();
    let reply = ask(s.dns, "no-ksk.lab.", RecordType::A, Ask::default());
    let id = common::trace_id(&common::ede(&reply)[0].1);
    let upper = id.to_ascii_uppercase();
    let json = get_json(s.control.unwrap(), &format!("/api/explanations/{upper}"));
    assert_eq!(json["id"], id.as_str());
    let (status, _, text) = get(
        s.control.unwrap(),
        &format!("/api/explanations/{upper}.txt"),
    );
    assert_eq!(status, 200, "{text}");
}

/// The value of the sample `line_start` ("name{labels}") in an exposition text.
fn sample(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_start) && l[line_start.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {line_start} in:\n{text}"))
}

#[test]
fn metrics_count_answers_ede_lame_servers_timeouts_and_latency() {
    let s = start(Config {
        control: Some("127.0.0.1:0".parse().unwrap()),
        ..common::lab_config()
    });
    for name in [
        "not-auth.lab.",
        "rrsig-exp-a.lab.",
        "one-ns-down.lab.",
        "valid.lab.",
    ] {
        ask(s.dns, name, RecordType::A, Ask::default());
    }
    ask(s.dns, "valid.lab.", RecordType::A, Ask::default()); // a packet-cache hit
    let (status, kind, text) = get(s.control.unwrap(), "/metrics");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    assert_eq!(
        sample(&text, "whydns_answers_total{rcode=\"SERVFAIL\"}"),
        2.0
    );
    assert_eq!(
        sample(&text, "whydns_answers_total{rcode=\"NOERROR\"}"),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            "whydns_ede_total{code=\"7\",name=\"Signature Expired\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "whydns_ede_total{code=\"22\",name=\"No Reachable Authority\"}"
        ),
        1.0
    );
    assert!(sample(&text, "whydns_lame_servers_total{zone=\"not-auth.lab.\"}") >= 1.0);
    assert!(
        sample(
            &text,
            "whydns_upstream_timeouts_total{zone=\"one-ns-down.lab.\"}"
        ) >= 1.0
    );
    assert_eq!(
        sample(&text, "whydns_cache_hits_total{cache=\"packets\"}"),
        1.0
    );
    // What was resolved is held, within the default bounds (MiB).
    for (cache, mib) in [("records", 64.0), ("keys", 8.0), ("packets", 16.0)] {
        let held = sample(&text, &format!("whydns_cache_bytes{{cache=\"{cache}\"}}"));
        assert!(held > 0.0 && held <= mib * 1048576.0, "{cache}: {held}");
    }
    assert_eq!(
        sample(&text, "whydns_resolution_duration_seconds_count"),
        4.0
    );
    assert_eq!(
        sample(
            &text,
            "whydns_resolution_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        4.0
    );
    // Every sample line is `name{labels} number`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
}

#[test]
fn explanations_are_appended_to_the_json_lines_file() {
    let path = std::env::temp_dir().join(format!("whydns-explain-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut config = common::lab_config();
    config.explain.file = Some(path.clone());
    let s = start(config);
    let reply = ask(s.dns, "no-rrsig-a.lab.", RecordType::A, Ask::default());
    let id = common::trace_id(&common::ede(&reply)[0].1);
    let mut found = None;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        found = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).expect("one JSON object per line")
            })
            .find(|v| v["id"] == id.as_str());
        if found.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let line = found.unwrap_or_else(|| panic!("{id} not in {}", path.display()));
    assert_eq!(line["diagnosis"]["cause"], "signatures-missing");
    assert_eq!(line["rcode"], "SERVFAIL");
    let _ = std::fs::remove_file(&path);
}

/// Every scenario, asked over UDP with a 512-byte limit: the answer fits, and what is shed is
/// shed in order — EDE text first, then the EDE, then the data (TC).
#[test]
fn ede_text_then_ede_then_data_are_shed_to_fit_512_bytes() {
    let s = shared();
    let small = Ask {
        payload: 512,
        ..Ask::default()
    };
    let mut text_shed = 0;
    let mut whole = 0;
    for scenario in &common::lab().lab.spec.scenarios {
        // Other types only where the zone is signed: that is where answers grow.
        let rtypes: &[RecordType] = if scenario.category == whydns::lab::Category::Dnssec {
            &[RecordType::A, RecordType::TXT, RecordType::DNSKEY]
        } else {
            &[RecordType::A]
        };
        for &rtype in rtypes {
            let name = &scenario.query.name;
            let mut q = query_message(name, rtype, Ask::default());
            q.metadata.recursion_desired = true;
            let TcpOutcome::Answer(full) = tcp_query(s.dns, &q, T) else {
                panic!("{name} {rtype}: no TCP answer")
            };
            let full_ede = common::ede(&full);
            // Failover (EDE 0 on an answer) is reported only by the resolution that failed
            // over; the next one is answered from the cache without it.
            let failover = full.metadata.response_code == ResponseCode::NoError
                && full_ede.iter().any(|(c, _)| *c == 0);
            if full_ede.is_empty() || failover {
                continue;
            }
            let mut q = query_message(name, rtype, small);
            q.metadata.recursion_desired = true;
            let wire = common::udp_raw(s.dns, &q.to_vec().unwrap(), T)
                .unwrap_or_else(|| panic!("{name} {rtype}: no UDP answer"));
            assert!(wire.len() <= 512, "{name} {rtype}: {} bytes", wire.len());
            let reply = Message::from_vec(&wire).unwrap();
            assert_eq!(reply.metadata.response_code, full.metadata.response_code);
            let got = common::ede(&reply);
            let full_size = full.to_vec().unwrap().len();
            // Each resolution has its own id: compare the texts without it.
            let untagged = |list: &[(u16, String)]| -> Vec<(u16, String)> {
                list.iter()
                    .map(|(c, t)| {
                        (
                            *c,
                            t.rsplit_once(" [trace ")
                                .map_or(t.as_str(), |(a, _)| a)
                                .to_string(),
                        )
                    })
                    .collect()
            };
            if full_size <= 512 {
                assert_eq!(
                    untagged(&got),
                    untagged(&full_ede),
                    "{name} {rtype}: fits whole"
                );
                whole += 1;
            } else if reply.metadata.truncation {
                assert!(reply.answers.is_empty(), "{name} {rtype}: TC with data");
            } else {
                // Data kept whole; EDE shed (text first): codes kept are a prefix, texts gone.
                assert_eq!(reply.answers.len(), full.answers.len(), "{name} {rtype}");
                assert!(got.len() <= full_ede.len());
                for ((code, text), (full_code, _)) in got.iter().zip(&full_ede) {
                    assert_eq!(code, full_code, "{name} {rtype}");
                    assert!(
                        text.is_empty(),
                        "{name} {rtype}: text kept over 512: {text}"
                    );
                }
                text_shed += usize::from(!got.is_empty());
            }
        }
    }
    assert!(whole > 0, "no EDE answer fitted whole");
    assert!(
        text_shed > 0,
        "no answer needed its EDE text shed: the lab no longer exercises that step"
    );
}

/// 100 000 failing queries through one server with a small log: the log never holds more
/// than its bounds, and the newest failure is there.
#[test]
fn the_log_stays_within_its_bounds_under_100_000_failing_queries() {
    let mut config = common::lab_config();
    config.explain.max_entries = 500;
    config.explain.max_mib = 1;
    let s = start(config);
    let (mut answered, mut last_id) = (0usize, String::new());
    for batch in 0..100 {
        // Pipelined over TCP, 1 000 at a time: all distinct names under a lame delegation.
        let queries: Vec<Message> = (0..1000)
            .map(|i| {
                let mut q = query_message(
                    &format!("q{batch}-{i}.not-auth.lab."),
                    RecordType::A,
                    Ask::default(),
                );
                q.metadata.recursion_desired = true;
                q
            })
            .collect();
        for outcome in tcp_exchange(s.dns, &queries, Duration::from_secs(60)) {
            let TcpOutcome::Answer(reply) = outcome else {
                panic!("batch {batch}: an unanswered query")
            };
            assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
            if let Some((_, text)) = common::ede(&reply).first() {
                last_id = common::trace_id(text);
            }
            answered += 1;
        }
        let (entries, bytes) = s.log.size();
        assert!(
            entries <= 500 && bytes <= 1024 * 1024,
            "{entries} entries, {bytes} bytes"
        );
    }
    assert_eq!(answered, 100_000);
    assert!(s.log.get(&last_id).is_some(), "the newest failure is kept");
    assert_eq!(s.log.size().0, 500, "full, not over");
}

#[test]
fn explanations_read_back_as_the_types_they_were_written_from() {
    let s = shared();
    let control = s.control.unwrap();
    // A bogus answer (signature checks, zone security), a lame delegation (server failures)
    // and a denial (denial checks): between them most kinds of event.
    let questions = [
        "rrsig-exp-a.lab.",
        "stale-delegation.lab.",
        "nx.nxdomain-nsec3.lab.",
    ];
    for name in questions {
        ask(s.dns, name, RecordType::A, Ask::default());
        // Newest first: the one just asked (or an earlier one of the same question).
        let id = ids(&get_json(
            control,
            &format!("/api/explanations?name={name}"),
        ))[0]
            .clone();
        let kept = s.log.get(&id).expect("the explanation is in the log");
        let json = get_json(control, &format!("/api/explanations/{id}"));
        let back: Explanation = serde_json::from_value(json.clone()).expect("an Explanation");
        assert_eq!(back.trace.entries, kept.trace.entries, "{name}");
        assert_eq!(back.diagnosis, kept.diagnosis, "{name}");
        assert_eq!(serde_json::to_value(&back).unwrap(), json, "{name}");
    }
    let list: ExplanationList =
        serde_json::from_value(get_json(control, "/api/explanations?name=rrsig-exp-a.lab"))
            .expect("an ExplanationList");
    assert!(list
        .explanations
        .iter()
        .all(|e| e.name == "rrsig-exp-a.lab." && e.cause == Cause::SignatureExpired));
}
