//! The lab server as a DNS server: UDP size limits and TC, TCP with pipelining, EDNS
//! versions, and hostile input (garbage, truncated headers, odd classes) over real sockets.

mod common;

use std::time::Duration;

use common::{
    ask, lab, query_message, tcp_exchange, tcp_query, udp_exchange, udp_raw, Ask, TcpOutcome,
};
use hickory_proto::op::{Edns, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

const T: Duration = Duration::from_secs(2);

#[test]
fn answer_over_512_bytes_truncates_on_udp_and_completes_over_tcp() {
    let shared = lab();
    let addr = shared.addr("ns1.big-response.lab.");
    for ask_with in [
        Ask {
            payload: 512,
            ..Ask::default()
        },
        Ask {
            edns: false,
            ..Ask::default()
        },
    ] {
        let query = query_message("big-response.lab.", RecordType::TXT, ask_with);
        let udp = udp_exchange(addr, &query, T).expect("UDP answer");
        assert!(
            udp.metadata.truncation,
            "TC not set for a {}-byte limit",
            ask_with.payload
        );
        assert!(udp.to_vec().unwrap().len() <= 512);
        let TcpOutcome::Answer(tcp) = tcp_query(addr, &query, T) else {
            panic!("no TCP answer")
        };
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 12, "all TXT records over TCP");
        assert!(tcp.to_vec().unwrap().len() > 512);
    }
    // A large enough buffer gets the whole answer over UDP.
    let full = ask(
        addr,
        "big-response.lab.",
        RecordType::TXT,
        Ask {
            payload: 4096,
            ..Ask::default()
        },
    );
    assert!(!full.metadata.truncation);
    assert_eq!(full.answers.len(), 12);
}

#[test]
fn tcp_pipelined_queries_are_all_answered_in_order() {
    let shared = lab();
    let addr = shared.addr("ns1.valid.lab.");
    let names = ["valid.lab.", "www.valid.lab.", "nx.valid.lab."];
    let queries: Vec<_> = names
        .iter()
        .map(|n| query_message(n, RecordType::A, Ask::default()))
        .collect();
    let answers = tcp_exchange(addr, &queries, T);
    assert_eq!(answers.len(), 3);
    for (query, outcome) in queries.iter().zip(&answers) {
        let TcpOutcome::Answer(reply) = outcome else {
            panic!("missing answer: {outcome:?}")
        };
        assert_eq!(reply.metadata.id, query.metadata.id);
        assert_eq!(reply.queries, query.queries);
    }
    let TcpOutcome::Answer(last) = &answers[2] else {
        unreachable!()
    };
    assert_eq!(last.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn dnssec_records_only_with_do() {
    let shared = lab();
    let addr = shared.addr("ns1.valid.lab.");
    let with = ask(addr, "valid.lab.", RecordType::A, Ask::default());
    assert!(with
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::RRSIG));
    let without = ask(
        addr,
        "valid.lab.",
        RecordType::A,
        Ask {
            dnssec_ok: false,
            ..Ask::default()
        },
    );
    assert!(without
        .answers
        .iter()
        .all(|r| r.record_type() == RecordType::A));
    let nx = ask(
        addr,
        "nx.valid.lab.",
        RecordType::A,
        Ask {
            dnssec_ok: false,
            ..Ask::default()
        },
    );
    assert!(nx
        .authorities
        .iter()
        .all(|r| r.record_type() == RecordType::SOA));
}

#[test]
fn referral_from_root_carries_ds_and_glue_without_aa() {
    let shared = lab();
    let root = shared.addr("a.root-servers.lab.");
    let reply = ask(root, "valid.lab.", RecordType::A, Ask::default());
    assert!(!reply.metadata.authoritative);
    assert!(reply.answers.is_empty());
    let types: Vec<RecordType> = reply.authorities.iter().map(|r| r.record_type()).collect();
    assert!(
        types.contains(&RecordType::NS)
            && types.contains(&RecordType::DS)
            && types.contains(&RecordType::RRSIG),
        "{types:?}"
    );
    assert!(
        reply
            .additionals
            .iter()
            .any(|r| r.record_type() == RecordType::A),
        "glue missing"
    );
}

#[test]
fn edns_version_1_gets_badvers() {
    let shared = lab();
    let addr = shared.addr("ns1.valid.lab.");
    let mut query = query_message("valid.lab.", RecordType::A, Ask::default());
    let mut edns = Edns::new();
    edns.set_version(1);
    query.set_edns(edns);
    let reply = udp_exchange(addr, &query, T).expect("answer");
    // BADVERS is extended RCODE 16 (high bits in the OPT record); hickory names 16 BADSIG.
    assert_eq!(u16::from(reply.metadata.response_code), 16);
    assert!(reply.edns.is_some(), "BADVERS must carry OPT");
}

#[test]
fn chaos_class_and_zone_transfers_are_refused() {
    let shared = lab();
    let addr = shared.addr("ns1.valid.lab.");
    let mut chaos = query_message("valid.lab.", RecordType::TXT, Ask::default());
    chaos.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(
        udp_exchange(addr, &chaos, T)
            .unwrap()
            .metadata
            .response_code,
        ResponseCode::Refused
    );
    let axfr = query_message("valid.lab.", RecordType::AXFR, Ask::default());
    let TcpOutcome::Answer(reply) = tcp_query(addr, &axfr, T) else {
        panic!("no answer")
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn garbage_gets_formerr_or_silence_and_the_server_keeps_answering() {
    let shared = lab();
    let addr = shared.addr("ns1.valid.lab.");
    // A header claiming one question, followed by a name that runs off the end.
    let mut broken = vec![0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    broken.extend([0x3f, b'a', b'b']);
    let reply = udp_raw(addr, &broken, T).expect("FORMERR for a parseable header");
    assert_eq!(&reply[..2], &[0x12, 0x34], "id echoed");
    assert_eq!(reply[3] & 0x0f, 1, "FORMERR");
    // Too short for a header, and a packet that claims to be a response: no reply.
    assert!(udp_raw(addr, &[1, 2, 3], Duration::from_millis(400)).is_none());
    let mut response_bit = broken.clone();
    response_bit[2] |= 0x80;
    assert!(udp_raw(addr, &response_bit, Duration::from_millis(400)).is_none());
    // Random bytes of every length up to 300 (fixed seed), then a normal query still works.
    let mut state: u32 = 0x2545_f491;
    for len in 0..300usize {
        let packet: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let _ = udp_raw(addr, &packet, Duration::from_millis(5));
    }
    // A TCP length prefix that promises more than is sent, then a hang-up.
    if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
        use std::io::Write;
        let _ = stream.write_all(&[0x01, 0x00, 0xde, 0xad]);
    }
    let reply = ask(addr, "valid.lab.", RecordType::A, Ask::default());
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn nsec3_nxdomain_carries_a_closest_encloser_proof() {
    use hickory_proto::dnssec::rdata::DNSSECRData;
    use hickory_proto::dnssec::Nsec3HashAlgorithm;
    use hickory_proto::rr::{Name, RData};
    let shared = lab();
    let addr = shared.addr("ns1.nxdomain-nsec3.lab.");
    let reply = ask(
        addr,
        "a.b.nxdomain-nsec3.lab.",
        RecordType::A,
        Ask::default(),
    );
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(reply
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA));
    // (owner hash, next hash) of every NSEC3 served.
    let ranges: Vec<(Vec<u8>, Vec<u8>)> = reply
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                let label = r.name.iter().next().unwrap().to_ascii_uppercase();
                let owner = data_encoding::BASE32HEX_NOPAD.decode(&label).unwrap();
                Some((owner, n.next_hashed_owner_name().to_vec()))
            }
            _ => None,
        })
        .collect();
    let hash = |n: &str| {
        Nsec3HashAlgorithm::SHA1
            .hash(&[], &Name::from_ascii(n).unwrap(), 0)
            .unwrap()
            .as_ref()
            .to_vec()
    };
    let matches = |h: &[u8]| ranges.iter().any(|(o, _)| o == h);
    let covers = |h: &Vec<u8>| {
        ranges.iter().any(|(o, n)| {
            if o < n {
                o < h && h < n
            } else {
                h > o || h < n
            }
        })
    };
    // RFC 5155 §7.2.2: the closest encloser matches, the next closer name and the wildcard
    // at the closest encloser are covered.
    assert!(
        matches(&hash("nxdomain-nsec3.lab.")),
        "no NSEC3 matches the closest encloser"
    );
    assert!(
        covers(&hash("b.nxdomain-nsec3.lab.")),
        "next closer name not covered"
    );
    assert!(
        covers(&hash("*.nxdomain-nsec3.lab.")),
        "wildcard not covered"
    );
}

#[test]
fn query_counters_count_every_query_on_arrival() {
    let shared = lab();
    let running = &shared.running;
    // Servers no other test in this binary talks to, so the counts are exact.
    let addr = shared.addr("ns1.nodata-then-a.lab.");
    assert_eq!(running.scenario_servers("nodata-then-a"), vec![addr]);
    let start = running.queries_to(addr);
    ask(
        addr,
        "www.nodata-then-a.lab.",
        RecordType::A,
        Ask::default(),
    );
    assert_eq!(running.queries_to(addr), start + 1, "one UDP query");
    let queries: Vec<_> = ["www.nodata-then-a.lab.", "nx.nodata-then-a.lab."]
        .iter()
        .map(|n| query_message(n, RecordType::A, Ask::default()))
        .collect();
    assert_eq!(tcp_exchange(addr, &queries, T).len(), 2);
    assert_eq!(
        running.queries_to(addr),
        start + 3,
        "two pipelined TCP queries"
    );
    // Refused, malformed and unparsable messages are queries received too.
    let mut chaos = query_message("nodata-then-a.lab.", RecordType::TXT, Ask::default());
    chaos.queries[0].set_query_class(DNSClass::CH);
    udp_exchange(addr, &chaos, T).expect("REFUSED");
    assert!(udp_raw(addr, &[1, 2, 3], Duration::from_millis(300)).is_none());
    assert_eq!(running.queries_to(addr), start + 5);
    assert_eq!(running.scenario_queries("nodata-then-a"), start + 5);

    // A dropping server counts what it drops; a down server never receives anything.
    let dropping = shared.addr("ns1.one-ns-down.lab.");
    let before = running.queries_to(dropping);
    let query = query_message("one-ns-down.lab.", RecordType::A, Ask::default());
    assert!(udp_exchange(dropping, &query, Duration::from_millis(300)).is_none());
    assert_eq!(running.queries_to(dropping), before + 1);
    let down = shared.addr("ns1.all-ns-down.lab.");
    assert!(udp_exchange(down, &query, Duration::from_millis(300)).is_none());
    assert_eq!(running.queries_to(down), 0);
    // Two servers for a scenario with a parent and a child zone; none for an unknown id.
    assert_eq!(running.scenario_servers("ds-signer-relabelled").len(), 2);
    assert!(running.scenario_servers("no-such-scenario").is_empty());
    assert_eq!(running.queries_to("127.0.0.1:9".parse().unwrap()), 0);
}

#[test]
fn forged_answers_are_the_same_over_udp_and_tcp_with_and_without_do() {
    let shared = lab();
    let addr = shared.addr("ns1.rrsig-foreign-key.lab.");
    let query = query_message("www.rrsig-foreign-key.lab.", RecordType::A, Ask::default());
    let udp = udp_exchange(addr, &query, T).expect("UDP answer");
    let TcpOutcome::Answer(tcp) = tcp_query(addr, &query, T) else {
        panic!("no TCP answer")
    };
    for reply in [&udp, &tcp] {
        let data: Vec<String> = reply
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::A)
            .map(|r| r.data.to_string())
            .collect();
        assert_eq!(data, ["192.0.2.66"]);
        let signers: Vec<String> = reply
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                hickory_proto::rr::RData::DNSSEC(
                    hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(s),
                ) => Some(s.input().signer_name.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(signers, ["valid.lab."]);
    }
    // The apex A and the nameserver's address are not among the forged names.
    let apex = ask(
        addr,
        "rrsig-foreign-key.lab.",
        RecordType::A,
        Ask::default(),
    );
    assert!(apex
        .answers
        .iter()
        .any(|r| r.data.to_string() == "192.0.2.1"));
    // Without EDNS: the forged address, no signatures.
    let plain = ask(
        addr,
        "www.rrsig-foreign-key.lab.",
        RecordType::A,
        Ask {
            edns: false,
            ..Ask::default()
        },
    );
    assert_eq!(plain.answers.len(), 1);
    assert_eq!(plain.answers[0].data.to_string(), "192.0.2.66");
}
