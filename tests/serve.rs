//! `whydns serve` on the wire: a whydns server on 127.0.0.1 (free port) recursing through the
//! shared lab, asked over real UDP and TCP sockets: flags and echoes, refusals with EDE,
//! EDNS and EDE only for OPT queries, truncation then TCP, pipelining, hostile input, many
//! clients at once, overload, and graceful shutdown.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use common::{tcp_exchange, tcp_query, udp_exchange, udp_raw, Ask, TcpOutcome};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::resolver::Resolver;
use whydns::server::Server;

const T: Duration = Duration::from_secs(8);

/// Binds a server for `config`; the caller decides how long it runs.
fn bind(config: Config) -> Server {
    common::runtime().block_on(async {
        let resolver = Resolver::new(&config, std::sync::Arc::new(SystemClock)).unwrap();
        Server::bind(&config, resolver).await.unwrap()
    })
}

/// Starts a server for `config` that runs until the test binary exits.
fn start(config: Config) -> SocketAddr {
    let server = bind(config);
    let address = server.local_addrs()[0];
    common::runtime().spawn(server.run(std::future::pending()));
    address
}

/// The server most tests share.
fn server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| start(common::lab_config()))
}

/// A recursive query (RD=1), as a stub resolver sends it.
fn query(name: &str, rtype: RecordType, ask: Ask) -> Message {
    let mut message = common::query_message(name, rtype, ask);
    message.metadata.recursion_desired = true;
    message
}

fn ask_udp(address: SocketAddr, message: &Message) -> Message {
    udp_exchange(address, message, T).unwrap_or_else(|| panic!("no answer to {message}"))
}

fn rcode(message: &Message) -> u16 {
    u16::from(message.metadata.response_code)
}

#[test]
fn valid_name_resolves_with_recursion_flags_and_echoes() {
    let q = query("valid.lab.", RecordType::A, Ask::default());
    let reply = ask_udp(server(), &q);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.metadata.id, q.metadata.id);
    assert_eq!(reply.queries, q.queries);
    assert!(reply.metadata.recursion_available, "RA must be set");
    assert!(reply.metadata.recursion_desired, "RD must be copied");
    assert!(!reply.metadata.authoritative, "AA must be clear");
    assert!(reply
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::A && r.data.to_string() == "192.0.2.1"));
    let edns = reply.edns.as_ref().expect("OPT answered with OPT");
    assert_eq!(edns.max_payload(), 1232);
    assert!(edns.flags().dnssec_ok, "DO must be echoed");
    assert!(common::ede(&reply).is_empty());
}

#[test]
fn cname_chain_and_nxdomain_come_back_whole() {
    let chain = ask_udp(
        server(),
        &query("www.cname-chain.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(chain.metadata.response_code, ResponseCode::NoError);
    // DO was set, so RRSIGs come along; the chain itself is CNAME, CNAME, A.
    let types: Vec<RecordType> = chain
        .answers
        .iter()
        .map(|r| r.record_type())
        .filter(|t| *t != RecordType::RRSIG)
        .collect();
    assert_eq!(
        types,
        [RecordType::CNAME, RecordType::CNAME, RecordType::A],
        "{chain}"
    );
    let nx = ask_udp(
        server(),
        &query("nx.valid.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        nx.authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA),
        "NXDOMAIN carries the SOA: {nx}"
    );
}

#[test]
fn rd_clear_is_refused_with_ede_20() {
    let mut q = query("valid.lab.", RecordType::A, Ask::default());
    q.metadata.recursion_desired = false;
    let reply = ask_udp(server(), &q);
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert_eq!(
        common::ede(&reply).iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![20]
    );
    assert!(reply.answers.is_empty());
}

#[test]
fn client_outside_allow_is_refused_with_ede_18() {
    let address = start(Config {
        allow: vec!["::1/128".parse().unwrap()],
        ..common::lab_config()
    });
    let reply = ask_udp(address, &query("valid.lab.", RecordType::A, Ask::default()));
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(!reply.metadata.recursion_available);
    let codes = common::ede(&reply);
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].0, 18);
    assert!(codes[0].1.contains("127.0.0.1"), "{codes:?}");
    // Over TCP too, and without OPT there is no EDE (and no OPT).
    let plain = query(
        "valid.lab.",
        RecordType::A,
        Ask {
            edns: false,
            ..Ask::default()
        },
    );
    let TcpOutcome::Answer(reply) = tcp_query(address, &plain, T) else {
        panic!("no TCP answer")
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(reply.edns.is_none());
}

#[test]
fn failing_scenario_carries_ede_22_only_when_asked_with_opt() {
    let reply = ask_udp(
        server(),
        &query("allow-query-none.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    let codes = common::ede(&reply);
    assert!(codes.iter().any(|(code, _)| *code == 22), "{codes:?}");
    assert!(
        codes.iter().all(|(_, text)| text.contains("trace")),
        "{codes:?}"
    );

    let plain = query(
        "allow-query-none.lab.",
        RecordType::A,
        Ask {
            edns: false,
            ..Ask::default()
        },
    );
    let reply = ask_udp(server(), &plain);
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert!(reply.edns.is_none(), "no OPT (so no EDE) without OPT");
}

#[test]
fn big_answer_truncates_at_512_and_completes_over_tcp() {
    for ask in [
        Ask {
            payload: 512,
            ..Ask::default()
        },
        Ask {
            edns: false,
            ..Ask::default()
        },
    ] {
        let q = query("big-response.lab.", RecordType::TXT, ask);
        let wire = common::udp_raw(server(), &q.to_vec().unwrap(), T).expect("UDP answer");
        assert!(wire.len() <= 512, "{} bytes over UDP", wire.len());
        let udp = Message::from_vec(&wire).unwrap();
        assert!(udp.metadata.truncation, "TC for payload {}", ask.payload);
        assert!(udp.answers.is_empty());
        assert_eq!(udp.queries, q.queries);
        let TcpOutcome::Answer(tcp) = tcp_query(server(), &q, T) else {
            panic!("no TCP answer")
        };
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 12, "every TXT record over TCP");
    }
    // A 1232-byte buffer holds the ~900-byte answer.
    let full = ask_udp(
        server(),
        &query("big-response.lab.", RecordType::TXT, Ask::default()),
    );
    assert!(!full.metadata.truncation);
    assert_eq!(full.answers.len(), 12);
}

#[test]
fn tcp_pipelined_queries_are_all_answered() {
    let names = ["valid.lab.", "www.cname-chain.lab.", "nx.valid.lab."];
    let queries: Vec<Message> = names
        .iter()
        .map(|name| query(name, RecordType::A, Ask::default()))
        .collect();
    let answers = tcp_exchange(server(), &queries, T);
    assert_eq!(answers.len(), 3, "{answers:?}");
    // Answers come as each resolution completes, so match them by id.
    let mut ids = HashSet::new();
    for outcome in &answers {
        let TcpOutcome::Answer(reply) = outcome else {
            panic!("missing answer: {outcome:?}")
        };
        let q = queries
            .iter()
            .find(|q| q.metadata.id == reply.metadata.id)
            .expect("answer to one of the queries");
        assert_eq!(reply.queries, q.queries);
        let expected = if q.queries[0].name().to_string() == "nx.valid.lab." {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        assert_eq!(reply.metadata.response_code, expected);
        ids.insert(reply.metadata.id);
    }
    assert_eq!(ids.len(), 3);
}

#[test]
fn protocol_errors_get_the_rcode_the_rfcs_ask_for() {
    // EDNS version 1: BADVERS (extended RCODE 16), OPT version 0.
    let mut q = query("valid.lab.", RecordType::A, Ask::default());
    q.edns.as_mut().unwrap().set_version(1);
    let reply = ask_udp(server(), &q);
    assert_eq!(rcode(&reply), 16);
    assert_eq!(reply.edns.unwrap().version(), 0);
    // Not a QUERY: NOTIMP.
    let mut q = query("valid.lab.", RecordType::SOA, Ask::default());
    q.metadata.op_code = OpCode::Notify;
    assert_eq!(
        ask_udp(server(), &q).metadata.response_code,
        ResponseCode::NotImp
    );
    // Two questions: FORMERR.
    let mut q = query("valid.lab.", RecordType::A, Ask::default());
    q.add_query(q.queries[0].clone());
    assert_eq!(
        ask_udp(server(), &q).metadata.response_code,
        ResponseCode::FormErr
    );
    // CHAOS class and zone transfers: REFUSED.
    let mut q = query("version.bind.", RecordType::TXT, Ask::default());
    q.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(
        ask_udp(server(), &q).metadata.response_code,
        ResponseCode::Refused
    );
    let q = query("valid.lab.", RecordType::AXFR, Ask::default());
    let TcpOutcome::Answer(reply) = tcp_query(server(), &q, T) else {
        panic!("no TCP answer")
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn garbage_gets_formerr_or_silence_and_the_server_keeps_answering() {
    let short = Duration::from_millis(300);
    // Header, then nonsense: FORMERR with the id.
    let mut packet = vec![0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    packet.extend([0xc0, 0xff, 0xee, 0x00]);
    let reply = udp_raw(server(), &packet, T).expect("FORMERR");
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, 0xbeef);
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    // Too short for a header, or a response: silence.
    assert!(udp_raw(server(), &[1, 2, 3], short).is_none());
    let mut response = query("valid.lab.", RecordType::A, Ask::default());
    response.metadata.message_type = hickory_proto::op::MessageType::Response;
    assert!(udp_raw(server(), &response.to_vec().unwrap(), short).is_none());
    // Garbage on TCP, then a real query on the same connection.
    let mut stream = std::net::TcpStream::connect(server()).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let good = query("valid.lab.", RecordType::A, Ask::default());
    let good_wire = good.to_vec().unwrap();
    let mut frames = vec![0, 3, 9, 9, 9];
    frames.extend((good_wire.len() as u16).to_be_bytes());
    frames.extend(&good_wire);
    use std::io::{Read, Write};
    stream.write_all(&frames).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).unwrap();
    let reply = Message::from_vec(&body).unwrap();
    assert_eq!(reply.metadata.id, good.metadata.id);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    // And UDP still works.
    let after = ask_udp(
        server(),
        &query("valid.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(after.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn two_hundred_clients_at_once_all_get_correct_answers() {
    let address = server();
    let cases = [
        ("valid.lab.", ResponseCode::NoError, 1),
        ("www.valid.lab.", ResponseCode::NoError, 1),
        ("www.cname-chain.lab.", ResponseCode::NoError, 3),
        ("nx.valid.lab.", ResponseCode::NXDomain, 0),
        ("allow-query-none.lab.", ResponseCode::ServFail, 0),
    ];
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let (name, expected, answers) = cases[i % cases.len()];
            std::thread::spawn(move || {
                let q = query(name, RecordType::A, Ask::default());
                let reply = if i % 4 == 0 {
                    match tcp_query(address, &q, T) {
                        TcpOutcome::Answer(reply) => reply,
                        other => panic!("client {i}: {other:?}"),
                    }
                } else {
                    // A stub retries a lost datagram; loopback under load may drop one.
                    (0..3)
                        .find_map(|_| udp_exchange(address, &q, T))
                        .unwrap_or_else(|| panic!("client {i}: no answer"))
                };
                assert_eq!(reply.metadata.id, q.metadata.id, "client {i}");
                assert_eq!(reply.queries, q.queries, "client {i}");
                assert_eq!(reply.metadata.response_code, expected, "client {i} {name}");
                let data = reply
                    .answers
                    .iter()
                    .filter(|r| r.record_type() != RecordType::RRSIG)
                    .count();
                assert_eq!(data, answers, "client {i} {name}");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

/// Asks `valid.lab.` until the server says it is overloaded (true) or `busy` has finished
/// without that ever happening (false).
fn saw_overload(address: SocketAddr, busy: &std::thread::JoinHandle<Message>) -> bool {
    while !busy.is_finished() {
        let reply = ask_udp(address, &query("valid.lab.", RecordType::A, Ask::default()));
        if reply.metadata.response_code == ResponseCode::ServFail {
            let codes = common::ede(&reply);
            assert_eq!(codes.len(), 1, "{codes:?}");
            assert_eq!(codes[0].0, 0);
            assert!(codes[0].1.contains("overloaded"), "{codes:?}");
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Starts a slow resolution (the lab's slow server answers after 1.5 s) in a thread. If a
/// probe holds the only slot at that moment, the slow query is turned away: it tries again.
fn slow_query(address: SocketAddr) -> std::thread::JoinHandle<Message> {
    std::thread::spawn(move || loop {
        let q = query("slow-server.lab.", RecordType::A, Ask::default());
        let TcpOutcome::Answer(reply) = tcp_query(address, &q, Duration::from_secs(20)) else {
            panic!("no answer to the slow query")
        };
        if !common::ede(&reply)
            .iter()
            .any(|(_, text)| text.contains("overloaded"))
        {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(20));
    })
}

#[test]
fn over_the_concurrency_bound_answers_servfail_with_ede_0() {
    let mut config = common::lab_config();
    config.limits.concurrent_queries = 1;
    let address = start(config);
    let busy = slow_query(address);
    std::thread::sleep(Duration::from_millis(100));
    if !saw_overload(address, &busy) {
        panic!(
            "a second query while one resolves must be turned away; slow answer: {:?}",
            busy.join()
        );
    }
    let slow = busy.join().unwrap();
    assert_eq!(slow.metadata.response_code, ResponseCode::NoError);
    // The slot is free again.
    let reply = ask_udp(address, &query("valid.lab.", RecordType::A, Ask::default()));
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn shutdown_finishes_answers_in_flight_then_stops_listening() {
    let mut config = common::lab_config();
    config.limits.concurrent_queries = 1;
    let server = bind(config);
    let address = server.local_addrs()[0];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = common::runtime().spawn(server.run(async {
        let _ = stopped.await;
    }));
    let busy = slow_query(address);
    std::thread::sleep(Duration::from_millis(100));
    // The overload answer proves the slow query is being resolved right now.
    assert!(saw_overload(address, &busy));
    stop.send(()).unwrap();
    let slow = busy.join().unwrap();
    assert_eq!(slow.metadata.response_code, ResponseCode::NoError);
    common::runtime()
        .block_on(running)
        .expect("run task")
        .expect("run returns Ok");
    let q = query("valid.lab.", RecordType::A, Ask::default());
    assert!(udp_exchange(address, &q, Duration::from_millis(300)).is_none());
    assert!(matches!(tcp_query(address, &q, T), TcpOutcome::Refused));
}

#[test]
fn repeated_answers_and_failures_are_answered_again_from_the_caches() {
    let address = start(common::lab_config());
    let first = ask_udp(address, &query("mx.lab.", RecordType::MX, Ask::default()));
    assert_eq!(first.metadata.response_code, ResponseCode::NoError);
    // Same question in another letter case: same records, this query's ID and spelling.
    let again = query("Mx.LaB.", RecordType::MX, Ask::default());
    let second = ask_udp(address, &again);
    assert_eq!(second.metadata.id, again.metadata.id);
    assert_eq!(second.queries[0].name().to_string(), "Mx.LaB.");
    assert_eq!(second.answers.len(), first.answers.len());
    for (a, b) in first.answers.iter().zip(&second.answers) {
        assert_eq!(a.data, b.data);
        assert!(b.ttl <= a.ttl, "TTL went up: {} -> {}", a.ttl, b.ttl);
    }
    // RFC 9520 §3.2: a failure is cached too. Asked again at once, it is the same answer with
    // the same explanation id.
    let text_of = |m: &Message| {
        common::ede(m)
            .first()
            .map(|(_, text)| text.clone())
            .unwrap_or_default()
    };
    let one = ask_udp(
        address,
        &query("allow-query-none.lab.", RecordType::A, Ask::default()),
    );
    let two = ask_udp(
        address,
        &query("allow-query-none.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(rcode(&one), 2);
    assert_eq!(rcode(&two), 2);
    assert!(
        !text_of(&one).is_empty(),
        "the failure carries an EDE: {one}"
    );
    assert_eq!(
        text_of(&one),
        text_of(&two),
        "a repeated failure is the same answer, with the same explanation id"
    );
}

#[test]
fn dnssec_flags_ad_do_and_cd_behave_as_rfc_4035_says() {
    let address = server();
    // Secure data with DO: AD set, RRSIGs included.
    let secure = ask_udp(address, &query("valid.lab.", RecordType::A, Ask::default()));
    assert_eq!(secure.metadata.response_code, ResponseCode::NoError);
    assert!(secure.metadata.authentic_data, "{secure}");
    assert!(secure
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::RRSIG));
    // Without DO (and without AD in the query): no AD, no RRSIG.
    let plain = ask_udp(
        address,
        &query(
            "valid.lab.",
            RecordType::A,
            Ask {
                dnssec_ok: false,
                ..Ask::default()
            },
        ),
    );
    assert!(!plain.metadata.authentic_data);
    assert!(plain
        .answers
        .iter()
        .all(|r| r.record_type() == RecordType::A));
    // Insecure data: no AD even with DO.
    let insecure = ask_udp(
        address,
        &query("unsigned.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(insecure.metadata.response_code, ResponseCode::NoError);
    assert!(!insecure.metadata.authentic_data);
    // Bogus data: SERVFAIL with the specific EDE; with CD the data comes back, without AD.
    let bogus = ask_udp(
        address,
        &query("rrsig-exp-a.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(bogus.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(common::ede(&bogus)[0].0, 7, "{:?}", common::ede(&bogus));
    assert!(bogus.answers.is_empty());
    let mut cd = query("rrsig-exp-a.lab.", RecordType::A, Ask::default());
    cd.metadata.checking_disabled = true;
    let unchecked = ask_udp(address, &cd);
    assert_eq!(unchecked.metadata.response_code, ResponseCode::NoError);
    assert!(unchecked.metadata.checking_disabled);
    assert!(!unchecked.metadata.authentic_data);
    assert!(unchecked
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::A));
}

#[test]
fn failures_are_kept_in_the_explanation_log_under_the_id_in_their_ede() {
    let server = bind(common::lab_config());
    let address = server.local_addrs()[0];
    let log = server.explanations();
    common::runtime().spawn(server.run(std::future::pending()));
    let reply = ask_udp(
        address,
        &query("rrsig-exp-a.lab.", RecordType::A, Ask::default()),
    );
    let (code, text) = common::ede(&reply)[0].clone();
    assert_eq!(code, 7);
    let id = text
        .rsplit_once("[trace ")
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("no trace id in {text:?}"));
    let explanation = log.get(id).expect("the failure is in the log");
    assert_eq!(explanation.name, "rrsig-exp-a.lab.");
    assert_eq!(explanation.rcode, "SERVFAIL");
    assert_eq!(explanation.ede[0].0, 7);
    assert_eq!(explanation.client, Some("127.0.0.1".parse().unwrap()));
    assert!(!explanation.trace.entries.is_empty());
    // A plain success is not kept (by default).
    let ok = ask_udp(address, &query("valid.lab.", RecordType::A, Ask::default()));
    assert_eq!(ok.metadata.response_code, ResponseCode::NoError);
    let filter = whydns::explain::log::Filter {
        name: Some("valid.lab.".into()),
        ..Default::default()
    };
    assert!(log.find(&filter).is_empty());
}

#[test]
fn explanations_answer_over_dns_as_ch_txt() {
    let address = server();
    let reply = ask_udp(
        address,
        &query("allow-query-none.lab.", RecordType::A, Ask::default()),
    );
    let id = common::trace_id(&common::ede(&reply)[0].1);
    let mut ask = query(
        &format!("{id}.explain.whydns."),
        RecordType::TXT,
        Ask::default(),
    );
    ask.queries[0].set_query_class(DNSClass::CH);
    let TcpOutcome::Answer(story) = tcp_query(address, &ask, T) else {
        panic!("no TCP answer")
    };
    assert_eq!(story.metadata.response_code, ResponseCode::NoError);
    let text: String = story
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("allow-query-none.lab."), "{text}");
    assert!(
        text.contains("SERVFAIL") && text.contains("EDE 22"),
        "{text}"
    );
    assert!(
        text.contains("REFUSED"),
        "the trace shows the refusing server: {text}"
    );
    // By name (and subdomains), and an unknown id.
    let mut by_name = query(
        "allow-query-none.lab.name.explain.whydns.",
        RecordType::TXT,
        Ask::default(),
    );
    by_name.queries[0].set_query_class(DNSClass::CH);
    let TcpOutcome::Answer(named) = tcp_query(address, &by_name, T) else {
        panic!("no TCP answer")
    };
    assert!(!named.answers.is_empty());
    let mut unknown = query("nosuchid.explain.whydns.", RecordType::TXT, Ask::default());
    unknown.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(
        ask_udp(address, &unknown).metadata.response_code,
        ResponseCode::NXDomain
    );
}

#[test]
fn real_dig_shows_the_ede_line_and_fetches_the_explanation() {
    let address = server();
    let port = address.port().to_string();
    let dig = |args: &[&str]| {
        let out = std::process::Command::new("dig")
            .args(["@127.0.0.1", "-p", &port, "+time=10", "+tries=1"])
            .args(args)
            .output()
            .expect("dig (bind9-dnsutils) must be installed: scripts/test.sh installs it");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = dig(&["rrsig-exp-a.lab.", "A", "+dnssec"]);
    assert!(out.contains("status: SERVFAIL"), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("; EDE: 7 (Signature Expired)"))
        .unwrap_or_else(|| panic!("no EDE line:\n{out}"));
    assert!(line.contains("rrsig-exp-a.lab. A expired"), "{line}");
    let id = common::trace_id(line.trim_end_matches(')'));
    // (dig 9.18 reads `-c CH TXT name` as two names; the class and type go after the name.)
    let story = dig(&[&format!("{id}.explain.whydns."), "CH", "TXT", "+short"]);
    assert!(
        story.contains("rrsig-exp-a.lab.") && story.contains("EDE 7"),
        "{story}"
    );
}
