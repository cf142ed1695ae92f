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
fn refusals_to_clients_outside_allow_are_never_larger_than_their_query() {
    let address = start(Config {
        allow: vec!["::1/128".parse().unwrap()],
        ..common::lab_config()
    });
    // An OPT query without options (as most stubs send): EDE 18 would make the answer
    // larger than the query, so the REFUSED carries none.
    let plain_opt = query("valid.lab.", RecordType::A, Ask::default());
    let wire = plain_opt.to_vec().unwrap();
    let reply = udp_raw(address, &wire, T).expect("an answer");
    assert!(
        reply.len() <= wire.len(),
        "{} > {} bytes",
        reply.len(),
        wire.len()
    );
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(!reply.metadata.recursion_available);
    assert!(common::ede(&reply).is_empty(), "{reply}");
    // With a cookie (as dig sends) there is room for EDE 18, without EXTRA-TEXT.
    let cookie = with_cookie(query("valid.lab.", RecordType::A, Ask::default()));
    let wire = cookie.to_vec().unwrap();
    let reply = udp_raw(address, &wire, T).expect("an answer");
    assert!(
        reply.len() <= wire.len(),
        "{} > {} bytes",
        reply.len(),
        wire.len()
    );
    let codes = common::ede(&Message::from_vec(&reply).unwrap());
    assert_eq!(codes, vec![(18, String::new())]);
    // Over TCP too; without OPT there is no EDE (and no OPT).
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
    assert!(reply.to_vec().unwrap().len() <= plain.to_vec().unwrap().len());
}

/// `message` with an 8-byte client COOKIE option (RFC 7873), as dig sends by default.
fn with_cookie(mut message: Message) -> Message {
    use hickory_proto::rr::rdata::opt::EdnsOption;
    message
        .edns
        .as_mut()
        .expect("an OPT query")
        .options_mut()
        .insert(EdnsOption::Unknown(10, vec![0x5a; 8]));
    message
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
                    // Each TCP client from an address of its own, as real clients are (one
                    // address holds at most `tcp.connections_per_client` connections).
                    let source = format!("127.0.{}.{}", 20 + i / 200, 1 + i % 200);
                    let mut stream = tcp_from(&source, address).unwrap();
                    tcp_ask(&mut stream, &q).unwrap_or_else(|| panic!("client {i}: no answer"))
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
    assert!(
        !text.contains("from 127.0.0.1"),
        "no client address over DNS: {text}"
    );
    // An unknown id.
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

/// A UDP socket on `source` (any 127.x.y.z: a client of its own), answers awaited up to T.
fn udp_from(source: &str) -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind((source, 0)).unwrap();
    socket.set_read_timeout(Some(T)).unwrap();
    socket
}

/// Receives on `socket` until the answer with `id` arrives; other answers are skipped.
fn receive_id(socket: &std::net::UdpSocket, id: u16) -> Message {
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, _) = socket.recv_from(&mut buf).expect("an answer in time");
        let reply = Message::from_vec(&buf[..len]).unwrap();
        if reply.metadata.id == id {
            return reply;
        }
    }
}

fn ask_from(socket: &std::net::UdpSocket, address: SocketAddr, message: &Message) -> Message {
    socket.send_to(&message.to_vec().unwrap(), address).unwrap();
    receive_id(socket, message.metadata.id)
}

/// A TCP connection to `address` from `source` (any 127.x.y.z).
fn tcp_from(source: &str, address: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let source: SocketAddr = (source.parse::<std::net::IpAddr>().unwrap(), 0).into();
    socket.bind(&source.into())?;
    socket.connect_timeout(&address.into(), T)?;
    Ok(socket.into())
}

/// One query on an open TCP connection; None when the server closed it instead.
fn tcp_ask(stream: &mut std::net::TcpStream, message: &Message) -> Option<Message> {
    use std::io::{Read, Write};
    stream.set_read_timeout(Some(T)).unwrap();
    let wire = message.to_vec().unwrap();
    let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
    framed.extend(wire);
    stream.write_all(&framed).ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Message::from_vec(&body).ok()
}

/// Whether the server has closed `stream` (a read sees the end of the stream at once).
fn closed_by_server(stream: &std::net::TcpStream) -> bool {
    use std::io::Read;
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let closed = match (&*stream).read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

#[test]
fn costly_or_slow_resolutions_never_delay_a_packet_cache_hit_or_another_name() {
    let address = start(common::lab_config());
    let socket = udp_from("127.0.0.1");
    let cached = query("valid.lab.", RecordType::A, Ask::default());
    assert_eq!(rcode(&ask_from(&socket, address, &cached)), 0);
    // keytrap-large.lab.: its keys validated, and its A RRset (400 bad signatures) in the
    // record cache unvalidated (asked with CD=1; over TCP, it is large). Each validating ask
    // is then a record-cache hit that must be validated again.
    let keys = query("keytrap-large.lab.", RecordType::DNSKEY, Ask::default());
    assert!(matches!(
        tcp_query(address, &keys, T),
        TcpOutcome::Answer(_)
    ));
    let mut unchecked = query("keytrap-large.lab.", RecordType::A, Ask::default());
    unchecked.metadata.checking_disabled = true;
    assert!(matches!(
        tcp_query(address, &unchecked, T),
        TcpOutcome::Answer(_)
    ));
    // On one socket: costly cache hits, a slow name (its server answers after 1.5 s), then
    // a packet-cache hit and another name to resolve.
    for _ in 0..24 {
        let costly = query("keytrap-large.lab.", RecordType::A, Ask::default());
        socket.send_to(&costly.to_vec().unwrap(), address).unwrap();
    }
    let slow = query("slow-server.lab.", RecordType::A, Ask::default());
    socket.send_to(&slow.to_vec().unwrap(), address).unwrap();
    let fast = query("valid.lab.", RecordType::A, Ask::default());
    let other = query("mx.lab.", RecordType::MX, Ask::default());
    let sent = std::time::Instant::now();
    for message in [&fast, &other] {
        socket.send_to(&message.to_vec().unwrap(), address).unwrap();
    }
    let mut arrived = std::collections::HashMap::new();
    let mut buf = vec![0u8; 65535];
    while arrived.len() < 3 {
        let (len, _) = socket.recv_from(&mut buf).expect("answers in time");
        let reply = Message::from_vec(&buf[..len]).unwrap();
        let id = reply.metadata.id;
        if [fast.metadata.id, other.metadata.id, slow.metadata.id].contains(&id) {
            assert_eq!(rcode(&reply), 0, "{reply}");
            arrived.insert(id, sent.elapsed());
        }
    }
    let fast_after = arrived[&fast.metadata.id];
    let other_after = arrived[&other.metadata.id];
    assert!(
        fast_after < Duration::from_millis(300),
        "the packet-cache hit waited {fast_after:?} behind costly or slow answers"
    );
    assert!(
        other_after < Duration::from_millis(1000),
        "another name waited {other_after:?} behind costly or slow answers"
    );
    assert!(arrived[&slow.metadata.id] > other_after);
}

#[test]
fn an_off_acl_tcp_flood_leaves_allowed_clients_served() {
    // Only 127.0.0.1 may query; 300 connections from 127.0.1.x and 127.0.2.x, outside
    // `allow`, are opened and held without a word.
    let address = start(Config {
        allow: vec!["127.0.0.1/32".parse().unwrap()],
        ..common::lab_config()
    });
    let flood: Vec<std::net::TcpStream> = (0..300)
        .filter_map(|i| tcp_from(&format!("127.0.{}.{}", 1 + i / 200, 1 + i % 200), address).ok())
        .collect();
    assert!(flood.len() >= 250, "only {} flood connections", flood.len());
    std::thread::sleep(Duration::from_millis(300));
    let mut allowed = tcp_from("127.0.0.1", address).unwrap();
    let reply = tcp_ask(
        &mut allowed,
        &query("valid.lab.", RecordType::A, Ask::default()),
    )
    .expect("an allowed client is served over TCP during the flood");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    // Most flood connections were closed at once; the few kept for a REFUSED are too, once
    // the read timeout is over.
    let open = flood.iter().filter(|s| !closed_by_server(s)).count();
    assert!(open <= 16, "{open} off-ACL connections still open");
    // A flood connection that asks is told REFUSED, no larger than its query.
    let mut outsider = tcp_from("127.0.3.1", address).unwrap();
    let refused = tcp_ask(
        &mut outsider,
        &query("valid.lab.", RecordType::A, Ask::default()),
    );
    if let Some(refused) = refused {
        assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    }
}

#[test]
fn one_client_cannot_hold_every_tcp_connection() {
    let address = start(common::lab_config());
    let hog: Vec<std::net::TcpStream> = (0..300)
        .filter_map(|_| tcp_from("127.0.0.7", address).ok())
        .collect();
    assert!(hog.len() >= 250, "only {} connections", hog.len());
    std::thread::sleep(Duration::from_millis(300));
    let open = hog.iter().filter(|s| !closed_by_server(s)).count();
    let share = Config::default().tcp.connections_per_client;
    assert!(
        open <= share,
        "{open} connections held by one client (share {share})"
    );
    let mut other = tcp_from("127.0.0.8", address).unwrap();
    let reply = tcp_ask(
        &mut other,
        &query("valid.lab.", RecordType::A, Ask::default()),
    )
    .expect("another client is served over TCP");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
}

/// Sends `prefix`, then one byte a second, until the server closes the connection; returns
/// how long that took (None: still open after 15 s).
fn slowloris(address: SocketAddr, prefix: &[u8]) -> Option<Duration> {
    use std::io::{Read, Write};
    let mut stream = tcp_from("127.0.0.1", address).unwrap();
    let started = std::time::Instant::now();
    stream.write_all(prefix).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0u8; 64];
    while started.elapsed() < Duration::from_secs(15) {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if !prefix.is_empty() && stream.write_all(&[0]).is_err() {
                    return Some(started.elapsed());
                }
            }
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[test]
fn slow_and_idle_tcp_connections_are_closed_within_their_bounds() {
    // A length prefix for 40 bytes, then a byte a second: closed at the 2 s read timeout.
    let took = slowloris(server(), &[0, 40]).expect("the slowloris connection is closed");
    assert!(
        took < Duration::from_millis(4500),
        "a slowloris connection was held {took:?}"
    );
    // A silent connection is closed at the idle timeout.
    let mut config = common::lab_config();
    config.tcp.idle_timeout_ms = 1000;
    let took = slowloris(start(config), &[]).expect("the idle connection is closed");
    assert!(
        took < Duration::from_secs(3),
        "an idle connection was held {took:?}"
    );
}

#[test]
fn error_answers_are_rate_limited_per_client_prefix_with_slips() {
    let mut config = common::lab_config();
    config.allow = vec!["127.0.0.1/32".parse().unwrap()];
    // Loopback is exempt by default; here only 127.0.0.1 is, so 127.0.9.0/24 is limited.
    config.rate_limit.exempt = vec!["127.0.0.1/32".parse().unwrap()];
    config.rate_limit.errors_per_second = 5;
    let address = start(config);
    let socket = udp_from("127.0.9.1");
    socket
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let asked: Vec<Message> = (0..40)
        .map(|_| with_cookie(query("valid.lab.", RecordType::A, Ask::default())))
        .collect();
    for message in &asked {
        socket.send_to(&message.to_vec().unwrap(), address).unwrap();
    }
    let query_len = asked[0].to_vec().unwrap().len();
    let (mut refused, mut slips) = (0, 0);
    let mut buf = vec![0u8; 65535];
    while let Ok((len, _)) = socket.recv_from(&mut buf) {
        assert!(len <= query_len, "{len} > {query_len} bytes");
        let reply = Message::from_vec(&buf[..len]).unwrap();
        if reply.metadata.truncation {
            assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
            assert!(reply.answers.is_empty() && reply.edns.is_none());
            assert_eq!(reply.queries, asked[0].queries);
            slips += 1;
        } else {
            assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
            refused += 1;
        }
    }
    assert!(
        refused <= 8,
        "{refused} REFUSED sent to one prefix at 5 a second"
    );
    assert!(
        (10..=20).contains(&slips),
        "every second answer over the limit slips: {slips} slips, {refused} refused"
    );
    // Another prefix has its own allowance, and TCP is not limited.
    let elsewhere = ask_from(
        &udp_from("127.0.10.1"),
        address,
        &query("valid.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(elsewhere.metadata.response_code, ResponseCode::Refused);
    let mut tcp = tcp_from("127.0.9.1", address).unwrap();
    let over_tcp = tcp_ask(
        &mut tcp,
        &query("valid.lab.", RecordType::A, Ask::default()),
    )
    .expect("a TCP answer");
    assert_eq!(over_tcp.metadata.response_code, ResponseCode::Refused);
}

/// `CH TXT <qname>` asked from `socket` over UDP (the explanation fits: only its first
/// line is read here) or, when truncated, over TCP from the same address.
fn explanation_from(source: &str, address: SocketAddr, qname: &str) -> Message {
    let mut ask = query(qname, RecordType::TXT, Ask::default());
    ask.queries[0].set_query_class(DNSClass::CH);
    let mut stream = tcp_from(source, address).unwrap();
    tcp_ask(&mut stream, &ask).expect("an answer over TCP")
}

fn text_of(message: &Message) -> String {
    message
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn explanations_over_dns_go_to_their_client_by_id_only_and_never_show_addresses() {
    let address = start(Config {
        control_allow: vec!["127.0.0.1/32".parse().unwrap()],
        ..common::lab_config()
    });
    // 127.0.0.2 (may query, not in control_allow) asks a failing name.
    let failed = ask_from(
        &udp_from("127.0.0.2"),
        address,
        &query("stale-delegation.lab.", RecordType::A, Ask::default()),
    );
    let id = common::trace_id(&common::ede(&failed)[0].1);
    let qname = format!("{id}.explain.whydns.");
    // Its own explanation, without its address.
    let own = explanation_from("127.0.0.2", address, &qname);
    assert_eq!(own.metadata.response_code, ResponseCode::NoError);
    let text = text_of(&own);
    assert!(text.contains("stale-delegation.lab."), "{text}");
    assert!(
        !text.contains("127.0.0.2"),
        "a client address over DNS: {text}"
    );
    // Another client outside control_allow gets nothing: NXDOMAIN, as for an unknown id.
    let other = explanation_from("127.0.0.3", address, &qname);
    assert_eq!(other.metadata.response_code, ResponseCode::NXDomain);
    assert!(other.answers.is_empty(), "{other}");
    // A client in control_allow reads it, still without the address.
    let operator = explanation_from("127.0.0.1", address, &qname);
    assert_eq!(operator.metadata.response_code, ResponseCode::NoError);
    assert!(!text_of(&operator).contains("127.0.0.2"));
    // The latest explanation and searches by name are gone from DNS, even for an operator.
    for gone in [
        "last.explain.whydns.",
        "stale-delegation.lab.name.explain.whydns.",
    ] {
        let reply = explanation_from("127.0.0.1", address, gone);
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{gone}"
        );
        assert!(reply.answers.is_empty(), "{gone}: {reply}");
    }
    // A client that got the same id in an answer repeated from the cache may read it.
    let repeated = ask_from(
        &udp_from("127.0.0.3"),
        address,
        &query("stale-delegation.lab.", RecordType::A, Ask::default()),
    );
    assert_eq!(common::trace_id(&common::ede(&repeated)[0].1), id);
    let now_shared = explanation_from("127.0.0.3", address, &qname);
    assert_eq!(now_shared.metadata.response_code, ResponseCode::NoError);
}
