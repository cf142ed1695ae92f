//! Hostile authoritative servers, scripted in the test on their own loopback addresses
//! (127.54.x.y): poisoning glue, spoofed responses, endless referrals, endless CNAME chains,
//! and a referral naming more NS names than the resolver will chase. The resolver must stay
//! within its bounds and say which one stopped it.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::explain::event::{Event, Limit, SpoofReason};
use whydns::explain::outcome::{Failure, Outcome, Resolution};
use whydns::resolver::Resolver;

type Handler = Arc<dyn Fn(&Message) -> Vec<Message> + Send + Sync>;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn reply_to(query: &Message) -> Message {
    let mut m = Message::response(query.metadata.id, query.metadata.op_code);
    m.add_queries(query.queries.iter().cloned());
    m
}

fn a(owner: &str, addr: [u8; 4]) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::A(A::new(addr[0], addr[1], addr[2], addr[3])),
    )
}

fn ns(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::NS(NS(name(target))))
}

fn soa(owner: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::SOA(SOA::new(name("ns."), name("h."), 1, 60, 60, 60, 60)),
    )
}

/// A tiny world of scripted servers on one free port.
struct World {
    runtime: tokio::runtime::Runtime,
    port: u16,
    hints: std::path::PathBuf,
}

impl World {
    /// `servers`: (address, handler). The first one is the root.
    fn new(tag: &str, servers: Vec<(IpAddr, Handler)>) -> World {
        World::new_on(tag, None, servers)
    }

    /// As [`World::new`], on `port` when given (a server outside the world listens there).
    fn new_on(tag: &str, port: Option<u16>, servers: Vec<(IpAddr, Handler)>) -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let port = runtime.block_on(async {
            'attempt: for _ in 0..20 {
                let mut sockets = Vec::new();
                let mut port = port.unwrap_or(0);
                for (addr, _) in &servers {
                    match tokio::net::UdpSocket::bind(SocketAddr::new(*addr, port)).await {
                        Ok(s) => {
                            port = s.local_addr().unwrap().port();
                            sockets.push(s);
                        }
                        Err(_) => continue 'attempt,
                    }
                }
                for (socket, (_, handler)) in sockets.into_iter().zip(servers.iter()) {
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 4096];
                        loop {
                            let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                                continue;
                            };
                            let Ok(query) = Message::from_vec(&buf[..len]) else {
                                continue;
                            };
                            for response in handler(&query) {
                                let _ = socket.send_to(&response.to_vec().unwrap(), peer).await;
                            }
                        }
                    });
                }
                return port;
            }
            panic!("no free port for the hostile world");
        });
        let root = servers[0].0;
        let hints =
            std::env::temp_dir().join(format!("whydns-hostile-{tag}-{}", std::process::id()));
        std::fs::write(
            &hints,
            format!(". 3600 NS a.root.\na.root. 3600 A {root}\n"),
        )
        .unwrap();
        World {
            runtime,
            port,
            hints,
        }
    }

    fn resolver(&self, adjust: impl FnOnce(&mut Config)) -> Resolver {
        self.resolver_with_clock(Arc::new(SystemClock), adjust)
    }

    fn resolver_with_clock(
        &self,
        clock: Arc<dyn whydns::clock::Clock>,
        adjust: impl FnOnce(&mut Config),
    ) -> Resolver {
        let mut config = Config {
            root_hints: Some(self.hints.clone()),
            upstream_port: self.port,
            ..Config::default()
        };
        config.limits.query_timeout_ms = 300;
        // These worlds are unsigned and have no anchor: they test iteration, not validation.
        config.validate = false;
        adjust(&mut config);
        Resolver::new(&config, clock).unwrap()
    }

    fn resolve(&self, resolver: &Resolver, qname: &str, rtype: RecordType) -> Resolution {
        let qname = name(qname);
        self.runtime.block_on(resolver.resolve(&qname, rtype))
    }
}

/// The root: authoritative for ".", refers every TLD to `tlds` (label -> server address).
fn root_handler(root: IpAddr, tlds: Vec<(&'static str, IpAddr)>) -> Handler {
    Arc::new(move |q: &Message| {
        let qname = q.queries[0].name().to_lowercase();
        let mut m = reply_to(q);
        if qname.is_root() {
            m.metadata.authoritative = true;
            m.add_answer(ns(".", "a.root."));
            let IpAddr::V4(v4) = root else { unreachable!() };
            m.add_additional(a("a.root.", v4.octets()));
            return vec![m];
        }
        let tld = qname.trim_to(1);
        match tlds.iter().find(|(label, _)| name(label) == tld) {
            Some((label, IpAddr::V4(addr))) => {
                let host = format!("ns.{label}");
                m.add_authority(ns(label, &host));
                m.add_additional(a(&host, addr.octets()));
            }
            _ => {
                m.metadata.authoritative = true;
                m.metadata.response_code = ResponseCode::NXDomain;
                m.add_authority(soa("."));
            }
        }
        vec![m]
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn events(r: &Resolution) -> Vec<&Event> {
    r.trace.events().collect()
}

#[test]
fn out_of_bailiwick_glue_is_neither_used_nor_cached() {
    let poisoned = Arc::new(AtomicUsize::new(0));
    let hits = poisoned.clone();
    // evil. answers its own name and slips in a delegation and glue for victim.
    let evil: Handler = Arc::new(|q: &Message| {
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        m.add_answer(a("www.evil.", [192, 0, 2, 66]));
        m.add_authority(ns("victim.", "ns.victim."));
        m.add_additional(a("ns.victim.", [127, 54, 1, 66]));
        vec![m]
    });
    let victim: Handler = Arc::new(|q: &Message| {
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        m.add_answer(a("www.victim.", [192, 0, 2, 10]));
        vec![m]
    });
    let trap: Handler = Arc::new(move |q: &Message| {
        hits.fetch_add(1, Ordering::SeqCst);
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        m.add_answer(a("www.victim.", [192, 0, 2, 99]));
        vec![m]
    });
    let world = World::new(
        "glue",
        vec![
            (
                ip("127.54.1.1"),
                root_handler(
                    ip("127.54.1.1"),
                    vec![("evil.", ip("127.54.1.2")), ("victim.", ip("127.54.1.3"))],
                ),
            ),
            (ip("127.54.1.2"), evil),
            (ip("127.54.1.3"), victim),
            (ip("127.54.1.66"), trap),
        ],
    );
    let resolver = world.resolver(|_| {});
    let first = world.resolve(&resolver, "www.evil.", RecordType::A);
    assert_eq!(first.outcome, Outcome::Answer);
    assert_eq!(
        first.answers.len(),
        1,
        "only the answer RRset is kept: {:?}",
        first.answers
    );
    let second = world.resolve(&resolver, "www.victim.", RecordType::A);
    assert_eq!(second.outcome, Outcome::Answer);
    assert_eq!(second.answers[0].data, RData::A(A::new(192, 0, 2, 10)));
    assert_eq!(
        poisoned.load(Ordering::SeqCst),
        0,
        "the poisoned address was queried"
    );
    assert!(events(&second).iter().all(
        |e| !matches!(e, Event::QuerySent { server, .. } if server.ip() == ip("127.54.1.66"))
    ));
}

#[test]
fn spoofed_responses_are_discarded() {
    // Sends a wrong-ID and a wrong-question response before the real one.
    let spoofer: Handler = Arc::new(|q: &Message| {
        let mut wrong_id = reply_to(q);
        wrong_id.metadata.id = q.metadata.id.wrapping_add(1);
        wrong_id.metadata.authoritative = true;
        wrong_id.add_answer(a("www.spoof.", [192, 0, 2, 66]));
        let mut wrong_question = Message::response(q.metadata.id, q.metadata.op_code);
        wrong_question.add_query(hickory_proto::op::Query::query(
            name("other.spoof."),
            RecordType::A,
        ));
        wrong_question.metadata.authoritative = true;
        wrong_question.add_answer(a("other.spoof.", [192, 0, 2, 67]));
        let mut real = reply_to(q);
        real.metadata.authoritative = true;
        real.add_answer(a("www.spoof.", [192, 0, 2, 1]));
        vec![wrong_id, wrong_question, real]
    });
    let world = World::new(
        "spoof",
        vec![
            (
                ip("127.54.2.1"),
                root_handler(ip("127.54.2.1"), vec![("spoof.", ip("127.54.2.2"))]),
            ),
            (ip("127.54.2.2"), spoofer),
        ],
    );
    let resolver = world.resolver(|c| c.qname_minimisation = false);
    let r = world.resolve(&resolver, "www.spoof.", RecordType::A);
    assert_eq!(r.outcome, Outcome::Answer);
    assert_eq!(
        r.answers[0].data,
        RData::A(A::new(192, 0, 2, 1)),
        "a spoofed answer was accepted"
    );
    let discarded: Vec<SpoofReason> = events(&r)
        .iter()
        .filter_map(|e| match e {
            Event::SpoofDiscarded { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert!(
        discarded
            .iter()
            .any(|d| matches!(d, SpoofReason::Id { received, sent } if received != sent)),
        "{discarded:?}"
    );
    assert!(
        discarded
            .iter()
            .any(|d| matches!(d, SpoofReason::Question { .. })),
        "{discarded:?}"
    );
}

#[test]
fn answers_of_another_class_are_not_believed() {
    // First a reply whose question is echoed in class CH (same ID, name and type), then an
    // IN reply whose answer section holds a CH record before the genuine IN one.
    let mixer: Handler = Arc::new(|q: &Message| {
        let mut chaos_question = Message::response(q.metadata.id, q.metadata.op_code);
        let mut question = q.queries[0].clone();
        question.set_query_class(hickory_proto::rr::DNSClass::CH);
        chaos_question.add_query(question);
        chaos_question.metadata.authoritative = true;
        chaos_question.add_answer(a("www.mixed.", [192, 0, 2, 66]));
        let mut real = reply_to(q);
        real.metadata.authoritative = true;
        let mut chaos = a("www.mixed.", [192, 0, 2, 67]);
        chaos.dns_class = hickory_proto::rr::DNSClass::CH;
        real.add_answer(chaos);
        real.add_answer(a("www.mixed.", [192, 0, 2, 1]));
        vec![chaos_question, real]
    });
    let world = World::new(
        "class",
        vec![
            (
                ip("127.54.7.1"),
                root_handler(ip("127.54.7.1"), vec![("mixed.", ip("127.54.7.2"))]),
            ),
            (ip("127.54.7.2"), mixer),
        ],
    );
    let resolver = world.resolver(|c| c.qname_minimisation = false);
    for ask in ["first", "again"] {
        let r = world.resolve(&resolver, "www.mixed.", RecordType::A);
        assert_eq!(r.outcome, Outcome::Answer, "{ask}");
        let data: Vec<&RData> = r.answers.iter().map(|r| &r.data).collect();
        assert_eq!(
            data,
            vec![&RData::A(A::new(192, 0, 2, 1))],
            "{ask}: a record of another class was believed"
        );
    }
    // The repeat comes from the answer cache with the first resolution's story.
    let story = world.resolve(&resolver, "www.mixed.", RecordType::A);
    let discarded: Vec<SpoofReason> = events(&story)
        .iter()
        .filter_map(|e| match e {
            Event::SpoofDiscarded { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert!(
        discarded
            .iter()
            .any(|d| matches!(d, SpoofReason::Question { received, .. }
            if received.class == DNSClass::CH)),
        "the CH question was not discarded: {discarded:?}"
    );
}

#[test]
fn a_nodata_for_any_denies_only_any() {
    // RFC 8482 lets a server answer ANY minimally; this one says NODATA, yet has an A.
    let minimal: Handler = Arc::new(|q: &Message| {
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        if q.queries[0].query_type() == RecordType::A {
            m.add_answer(a("www.minimal.", [192, 0, 2, 1]));
        } else {
            m.add_authority(soa("minimal."));
        }
        vec![m]
    });
    let world = World::new(
        "any",
        vec![
            (
                ip("127.54.8.1"),
                root_handler(ip("127.54.8.1"), vec![("minimal.", ip("127.54.8.2"))]),
            ),
            (ip("127.54.8.2"), minimal),
        ],
    );
    let resolver = world.resolver(|c| {
        c.qname_minimisation = false;
        // The record cache alone: the answer cache would hide what it holds.
        c.cache.answers = 0;
    });
    let any = world.resolve(&resolver, "www.minimal.", RecordType::ANY);
    assert_eq!(any.outcome, Outcome::NoData);
    for ask in ["first", "again"] {
        let r = world.resolve(&resolver, "www.minimal.", RecordType::A);
        assert_eq!(
            r.outcome,
            Outcome::Answer,
            "{ask}: the NODATA for ANY denied A"
        );
        assert_eq!(r.answers[0].data, RData::A(A::new(192, 0, 2, 1)), "{ask}");
    }
    let again = world.resolve(&resolver, "www.minimal.", RecordType::ANY);
    assert_eq!(
        again.outcome,
        Outcome::NoData,
        "the ANY denial itself is kept"
    );
}

#[test]
fn random_subzone_referrals_leave_the_lame_table_bounded() {
    // rnd. refers every xN.rnd. to one shared server, which refuses them all: one lame mark
    // per (server, zone), for as many zones as a hostile zone cares to invent.
    let tld: Handler = Arc::new(|q: &Message| {
        let qname = q.queries[0].name().to_lowercase();
        let mut m = reply_to(q);
        let cut = qname.trim_to(2).to_string();
        m.add_authority(ns(&cut, "ns.pool.rnd."));
        m.add_additional(a("ns.pool.rnd.", [127, 54, 9, 3]));
        vec![m]
    });
    let refuser: Handler = Arc::new(|q: &Message| {
        let mut m = reply_to(q);
        m.metadata.response_code = ResponseCode::Refused;
        vec![m]
    });
    let world = World::new(
        "lame",
        vec![
            (
                ip("127.54.9.1"),
                root_handler(ip("127.54.9.1"), vec![("rnd.", ip("127.54.9.2"))]),
            ),
            (ip("127.54.9.2"), tld),
            (ip("127.54.9.3"), refuser),
        ],
    );
    let resolver = world.resolver(|c| c.cache.servers = 8);
    for i in 0..300 {
        let r = world.resolve(&resolver, &format!("www.x{i}.rnd."), RecordType::A);
        assert!(matches!(r.outcome, Outcome::Failed { .. }), "x{i}");
    }
    let (servers, lame) = resolver.server_health_sizes();
    assert!(servers <= 16, "{servers} servers remembered");
    assert!(lame <= 32, "{lame} lame marks kept for 8 servers");
    // The newest mark is kept: asked again, the refusing server is skipped with its reason.
    let again = world.resolve(&resolver, "www.x299.rnd.", RecordType::A);
    assert!(matches!(again.outcome, Outcome::Failed { .. }));
}

#[test]
fn a_server_marked_without_edns_is_probed_with_edns_again_an_hour_later() {
    // FORMERR to any query with OPT, answers without.
    let old: Handler = Arc::new(|q: &Message| {
        let mut m = reply_to(q);
        if q.edns.is_some() {
            m.metadata.response_code = ResponseCode::FormErr;
            return vec![m];
        }
        m.metadata.authoritative = true;
        let owner = q.queries[0].name().to_string();
        m.add_answer(a(&owner, [192, 0, 2, 1]));
        vec![m]
    });
    let world = World::new(
        "edns",
        vec![
            (
                ip("127.54.10.1"),
                root_handler(ip("127.54.10.1"), vec![("old.", ip("127.54.10.2"))]),
            ),
            (ip("127.54.10.2"), old),
        ],
    );
    let clock = whydns::clock::FixedClock::at(1_800_000_000);
    let resolver =
        world.resolver_with_clock(Arc::new(clock.clone()), |c| c.qname_minimisation = false);
    let fell_back = |r: &Resolution| {
        events(r).iter().any(
            |e| matches!(e, Event::EdnsFallback { server } if server.ip() == ip("127.54.10.2")),
        )
    };
    let first = world.resolve(&resolver, "a.old.", RecordType::A);
    assert_eq!(first.outcome, Outcome::Answer);
    assert!(fell_back(&first), "the first query meets the FORMERR");
    clock.advance(60);
    let marked = world.resolve(&resolver, "b.old.", RecordType::A);
    assert_eq!(marked.outcome, Outcome::Answer);
    assert!(
        !fell_back(&marked),
        "within the hour the server is asked without EDNS at once"
    );
    clock.advance(3600);
    let probed = world.resolve(&resolver, "c.old.", RecordType::A);
    assert_eq!(probed.outcome, Outcome::Answer);
    assert!(fell_back(&probed), "an hour later EDNS is tried again");
}

#[test]
fn junk_datagrams_do_not_end_the_wait_for_the_real_reply() {
    // 40 datagrams that do not parse, then the genuine answer: the resolver must keep
    // waiting (an attacker can send junk cheaply) and take the answer.
    let junk: Handler = Arc::new(|q: &Message| {
        let mut replies: Vec<Message> = Vec::new();
        let mut real = reply_to(q);
        real.metadata.authoritative = true;
        real.add_answer(a("www.junk.", [192, 0, 2, 1]));
        replies.push(real);
        replies
    });
    // The World sends Messages; junk needs raw bytes, so this server is a plain socket on
    // the world's port.
    let server = std::net::UdpSocket::bind("127.54.11.2:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let world = World::new_on(
        "junk",
        Some(port),
        vec![(
            ip("127.54.11.1"),
            root_handler(ip("127.54.11.1"), vec![("junk.", ip("127.54.11.2"))]),
        )],
    );
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((len, peer)) = server.recv_from(&mut buf) {
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            for i in 0..40u8 {
                let _ = server.send_to(&[query.metadata.id as u8, i, 0xff], peer);
            }
            for reply in junk(&query) {
                let _ = server.send_to(&reply.to_vec().unwrap(), peer);
            }
        }
    });
    let resolver = world.resolver(|c| c.qname_minimisation = false);
    let r = world.resolve(&resolver, "www.junk.", RecordType::A);
    assert_eq!(r.outcome, Outcome::Answer, "{:?}", events(&r));
    assert_eq!(r.answers[0].data, RData::A(A::new(192, 0, 2, 1)));
    let discarded = events(&r)
        .iter()
        .filter(|e| matches!(e, Event::SpoofDiscarded { .. }))
        .count();
    assert!(
        discarded <= 17,
        "{discarded} discard events: the trace is bounded"
    );
}

#[test]
fn query_names_go_out_in_random_case_and_a_server_that_does_not_echo_it_is_still_used() {
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen_by_echo = seen.clone();
    // Echoes the question exactly.
    let echo: Handler = Arc::new(move |q: &Message| {
        seen_by_echo
            .lock()
            .unwrap()
            .push(q.queries[0].name().to_string());
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        m.add_answer(a(
            &q.queries[0].name().to_lowercase().to_string(),
            [192, 0, 2, 1],
        ));
        vec![m]
    });
    let seen_by_lower = seen.clone();
    // Lower-cases the question in its reply, as some old servers and middleboxes do.
    let lower: Handler = Arc::new(move |q: &Message| {
        seen_by_lower
            .lock()
            .unwrap()
            .push(q.queries[0].name().to_string());
        let mut m = Message::response(q.metadata.id, q.metadata.op_code);
        let mut question = q.queries[0].clone();
        question.set_name(q.queries[0].name().to_lowercase());
        m.add_query(question);
        m.metadata.authoritative = true;
        m.add_answer(a(
            &q.queries[0].name().to_lowercase().to_string(),
            [192, 0, 2, 2],
        ));
        vec![m]
    });
    let world = World::new(
        "case",
        vec![
            (
                ip("127.54.12.1"),
                root_handler(
                    ip("127.54.12.1"),
                    vec![("echo.", ip("127.54.12.2")), ("lower.", ip("127.54.12.3"))],
                ),
            ),
            (ip("127.54.12.2"), echo),
            (ip("127.54.12.3"), lower),
        ],
    );
    let resolver = world.resolver(|c| c.qname_minimisation = false);
    let long = "abcdefghijklmnopqrstuvwxyz.echo.";
    let r = world.resolve(&resolver, long, RecordType::A);
    assert_eq!(r.outcome, Outcome::Answer);
    let sent = seen.lock().unwrap().clone();
    assert!(
        sent.iter()
            .any(|n| n.to_lowercase() == long && n.as_str() != long),
        "the name went out in one case: {sent:?}"
    );
    let r = world.resolve(&resolver, "www.lower.", RecordType::A);
    assert_eq!(r.outcome, Outcome::Answer, "{:?}", events(&r));
    assert!(events(&r)
        .iter()
        .any(|e| matches!(e, Event::CaseNotEchoed { .. })));
    seen.lock().unwrap().clear();
    let r = world.resolve(&resolver, "other.lower.", RecordType::A);
    assert_eq!(r.outcome, Outcome::Answer);
    assert!(
        !events(&r)
            .iter()
            .any(|e| matches!(e, Event::CaseNotEchoed { .. })),
        "the fallback is remembered"
    );
    let sent = seen.lock().unwrap().clone();
    assert!(sent.iter().all(|n| n == "other.lower."), "{sent:?}");
}

#[test]
fn identical_queries_in_flight_are_sent_once() {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let slow: Handler = Arc::new(move |q: &Message| {
        if q.queries[0].name().to_lowercase().to_string() == "same.slow." {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        m.add_answer(a(
            &q.queries[0].name().to_lowercase().to_string(),
            [192, 0, 2, 1],
        ));
        vec![m]
    });
    let world = World::new(
        "coalesce",
        vec![
            (
                ip("127.54.13.1"),
                root_handler(ip("127.54.13.1"), vec![("slow.", ip("127.54.13.2"))]),
            ),
            (ip("127.54.13.2"), slow),
        ],
    );
    let resolver = world.resolver(|c| {
        c.qname_minimisation = false;
        c.limits.query_timeout_ms = 2000;
    });
    // Prime the root and the delegation first, so both questions go straight to slow.
    world.resolve(&resolver, "warm.slow.", RecordType::A);
    let (one, two) = world.runtime.block_on(async {
        let qname = name("same.slow.");
        tokio::join!(
            resolver.resolve(&qname, RecordType::A),
            resolver.resolve(&qname, RecordType::A)
        )
    });
    assert_eq!(one.outcome, Outcome::Answer);
    assert_eq!(two.outcome, Outcome::Answer);
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "the identical queries were not coalesced"
    );
    let shared = |r: &Resolution| {
        events(r)
            .iter()
            .any(|e| matches!(e, Event::QueryShared { .. }))
    };
    assert!(
        shared(&one) || shared(&two),
        "neither trace says the reply was shared"
    );
}

#[test]
fn endless_referrals_stop_at_the_referral_depth() {
    // Every query gets a referral one label deeper, to the same server.
    let deep: Handler = Arc::new(|q: &Message| {
        let qname = q.queries[0].name().to_lowercase();
        let mut m = reply_to(q);
        let cut = qname.to_string();
        m.add_authority(ns(&cut, &format!("ns.{cut}")));
        m.add_additional(a(&format!("ns.{cut}"), [127, 54, 3, 2]));
        vec![m]
    });
    let world = World::new(
        "deep",
        vec![
            (
                ip("127.54.3.1"),
                root_handler(ip("127.54.3.1"), vec![("deep.", ip("127.54.3.2"))]),
            ),
            (ip("127.54.3.2"), deep),
        ],
    );
    let resolver = world.resolver(|c| c.limits.referral_depth = 8);
    let labels: Vec<String> = (0..40).map(|i| format!("l{i}")).collect();
    let qname = format!("{}.deep.", labels.join("."));
    let r = world.resolve(&resolver, &qname, RecordType::A);
    assert_eq!(
        r.outcome,
        Outcome::Failed {
            failure: Failure::LimitReached {
                limit: Limit::ReferralDepth
            }
        }
    );
    assert!(events(&r).iter().any(|e| matches!(
        e,
        Event::LimitReached {
            limit: Limit::ReferralDepth,
            ..
        }
    )));
    let queries = events(&r)
        .iter()
        .filter(|e| matches!(e, Event::QuerySent { .. }))
        .count();
    assert!(queries <= 12, "{queries} queries for a bounded walk");
}

#[test]
fn endless_cname_chains_and_loops_stop() {
    // nK.chain. CNAME n(K+1).chain.; a.loop. -> b.loop. -> a.loop.
    let chain: Handler = Arc::new(|q: &Message| {
        let qname = q.queries[0].name().to_lowercase().to_string();
        let mut m = reply_to(q);
        m.metadata.authoritative = true;
        let target = if let Some(rest) = qname.strip_prefix('n') {
            let k: u32 = rest.split('.').next().unwrap().parse().unwrap_or(0);
            format!("n{}.chain.", k + 1)
        } else if qname.starts_with("a.") {
            "b.chain.".to_string()
        } else {
            "a.chain.".to_string()
        };
        m.add_answer(Record::from_rdata(
            name(&qname),
            300,
            RData::CNAME(CNAME(name(&target))),
        ));
        vec![m]
    });
    let world = World::new(
        "cname",
        vec![
            (
                ip("127.54.4.1"),
                root_handler(ip("127.54.4.1"), vec![("chain.", ip("127.54.4.2"))]),
            ),
            (ip("127.54.4.2"), chain),
        ],
    );
    let resolver = world.resolver(|_| {});
    let r = world.resolve(&resolver, "n0.chain.", RecordType::A);
    assert_eq!(
        r.outcome,
        Outcome::Failed {
            failure: Failure::LimitReached {
                limit: Limit::CnameChain
            }
        }
    );
    let r = world.resolve(&resolver, "a.chain.", RecordType::A);
    assert!(
        matches!(
            r.outcome,
            Outcome::Failed {
                failure: Failure::AliasLoop { .. }
            }
        ),
        "{:?}",
        r.outcome
    );
}

#[test]
fn too_many_glueless_ns_names_are_not_all_chased() {
    // A referral with 30 NS names in a TLD that denies them all (an NXNSAttack shape).
    let nxns: Handler = Arc::new(|q: &Message| {
        let mut m = reply_to(q);
        for i in 0..30 {
            m.add_authority(ns("www.nxns.", &format!("ns{i}.victim.")));
        }
        vec![m]
    });
    let world = World::new(
        "nxns",
        vec![
            (
                ip("127.54.5.1"),
                root_handler(ip("127.54.5.1"), vec![("nxns.", ip("127.54.5.2"))]),
            ),
            (ip("127.54.5.2"), nxns),
        ],
    );
    let resolver = world.resolver(|c| c.limits.ns_names_per_delegation = 3);
    let r = world.resolve(&resolver, "www.nxns.", RecordType::A);
    assert!(matches!(r.outcome, Outcome::Failed { .. }));
    assert!(events(&r).iter().any(|e| matches!(
        e,
        Event::LimitReached {
            limit: Limit::NsNamesPerDelegation,
            ..
        }
    )));
    let chased = events(&r)
        .iter()
        .filter(|e| matches!(e, Event::SubResolutionStarted { .. }))
        .count();
    assert!(chased <= 3, "{chased} NS names chased");
}

#[test]
fn the_query_budget_bounds_total_work() {
    let resolver_budget = 5;
    let silent: Handler = Arc::new(|_q: &Message| Vec::new());
    let world = World::new(
        "budget",
        vec![
            (
                ip("127.54.6.1"),
                root_handler(ip("127.54.6.1"), vec![("silent.", ip("127.54.6.2"))]),
            ),
            (ip("127.54.6.2"), silent),
        ],
    );
    let resolver = world.resolver(|c| {
        c.limits.upstream_queries = resolver_budget;
        c.limits.rounds = 10;
        c.limits.query_timeout_ms = 50;
    });
    let r = world.resolve(&resolver, "www.silent.", RecordType::A);
    assert_eq!(
        r.outcome,
        Outcome::Failed {
            failure: Failure::LimitReached {
                limit: Limit::UpstreamQueries
            }
        }
    );
    let sent = events(&r)
        .iter()
        .filter(|e| matches!(e, Event::QuerySent { .. }))
        .count();
    assert_eq!(sent, resolver_budget as usize);
    let _ = MessageType::Response;
}
