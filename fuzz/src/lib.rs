//! The entry points of whydns's fuzz targets, one function per target (docs/fuzzing.md).
//!
//! Each `fuzz_targets/<target>.rs` calls the function of the same name here, and
//! `tests/fuzz_regressions.rs` (which compiles this file as its module `fuzz`) calls the
//! same functions on the saved crash inputs under `fuzz/regressions/<target>/`.
//!
//! Three targets reach code that whydns does not export: the packet-cache key parser
//! (`server::packet_cache`), the response classifier (`resolver::classify`) and the error
//! answer rate limiter (`server::rrl`). Their source files are compiled into this crate as
//! modules of its own (`#[path]`), so the fuzzer runs exactly the code the server runs; they
//! depend only on std, hickory-proto, ipnet, lru and the public `whydns::config`,
//! `whydns::explain`, `whydns::rdata` and `whydns::server::respond`, found here under the
//! paths the files use (`crate::config`, `crate::explain`, `crate::rdata`,
//! `super::respond`), plus `super::wire_rcode`, copied below.

mod public;

pub use public::*;

// `crate::config::…`, `crate::explain::event::…` and `crate::rdata::…` in the included
// files resolve to these.
pub use whydns::{config, explain, rdata};

#[allow(dead_code)]
#[path = "../../src/server/packet_cache.rs"]
mod packet_cache;

#[allow(dead_code)]
#[path = "../../src/resolver/classify.rs"]
mod classify;

// `server::rrl` refers to its siblings as `super::respond` (imported below) and
// `super::wire_rcode`.
#[allow(dead_code)]
#[path = "../../src/server/rrl.rs"]
mod rrl;

/// A copy of `server::wire_rcode` (private, one line), for `rrl`: the header RCODE.
fn wire_rcode(message: &[u8]) -> u8 {
    message.get(3).map(|b| b & 0x0f).unwrap_or(0)
}

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use whydns::server::respond::{self, Screened};

/// `packet_cache`: `u16 query length | query | response`. The key parser sees every UDP
/// packet from an allowed client before `respond::screen` does (the fast path in
/// `Shared::admit`), so whatever it accepts must be a question the screen would resolve;
/// then the response is stored under the key and served back for the query.
pub fn packet_cache(data: &[u8]) {
    let (query, response) = public::split_u16(data);
    let Some(key) = packet_cache::query_key(query) else {
        return;
    };
    // Letter case in the question never changes the key (0x20 randomisation still hits).
    let mut upper = query.to_vec();
    let mut pos = 12;
    while let Some(&len) = upper.get(pos) {
        if len == 0 {
            break;
        }
        let end = (pos + 1 + len as usize).min(upper.len());
        upper[pos + 1..end].make_ascii_uppercase();
        pos = end;
    }
    assert_eq!(
        packet_cache::query_key(&upper).as_deref(),
        Some(key.as_slice()),
        "the key depends on letter case"
    );
    let allow = public::loopback();
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    match respond::screen(query, client, &allow) {
        Screened::Resolve(request) => {
            // The key names the question the screen accepted.
            let parsed = Message::from_vec(query).expect("screened, so it parses");
            assert_eq!(parsed.queries.len(), 1);
            assert_eq!(request.rtype, parsed.queries[0].query_type());
        }
        Screened::Explain(request, _) => {
            assert_eq!(request.rtype, RecordType::TXT);
        }
        Screened::Reply(reply) => {
            // Only questions the resolver refuses by class or type may have a key: their
            // answers are never stored, so the key can never hit.
            let question = reply.message.queries.first().unwrap_or_else(|| {
                panic!("packet-cache key for a query the screen rejects: {reply:?}")
            });
            assert!(
                question.query_class() != DNSClass::IN
                    || matches!(question.query_type(), RecordType::AXFR | RecordType::IXFR),
                "packet-cache key for a query the screen refuses: {:?}",
                reply.message
            );
        }
        Screened::Drop => panic!("packet-cache key for a query the screen drops"),
    }
    // A 2 KiB bound: an entry larger than that is not kept, and none leaves it exceeded.
    let bound = 2 * 1024;
    let cache = packet_cache::PacketCache::new(bound);
    cache.store(key.clone(), response, 1_000);
    assert!(cache.size().1 <= bound, "over the byte bound");
    for now in [1_000, 1_001, 1_000 + u64::from(u32::MAX)] {
        if let Some(hit) = cache.lookup(&key, query, now) {
            assert_eq!(hit.len(), response.len());
            assert_eq!(&hit[..2], &query[..2], "the client's ID");
        }
    }
}

/// `classify`: `zone selector | response`. The question is the response's own (as the
/// transport has checked); the zone asked is an ancestor of it chosen by the first byte.
/// The bailiwick rules must hold: an answer, its chain and a referral's cut lie within the
/// zone asked, a cut strictly below it and above the name, glue used only for NS names in
/// the zone.
pub fn classify(data: &[u8]) {
    let Some((&selector, wire)) = data.split_first() else {
        return;
    };
    let Ok(response) = Message::from_vec(wire) else {
        return;
    };
    let (qname, qtype) = match response.queries.first() {
        Some(q) => (q.name().clone(), q.query_type()),
        None => (Name::root(), RecordType::A),
    };
    let zone = public::ancestor(&qname, selector);
    let classified = classify::classify(&qname, qtype, &zone, &response);
    let _ = classified.kind();
    match &classified {
        classify::Classified::Answer { chain, rrset } => {
            for record in chain.iter().chain(rrset) {
                assert!(
                    zone.zone_of(&record.name),
                    "{} outside zone {zone} believed",
                    record.name
                );
            }
            let _ = classify::rejected_cnames(chain, &response.answers);
        }
        classify::Classified::Alias { chain, .. }
        | classify::Classified::NoData { chain, .. }
        | classify::Classified::NxDomain { chain, .. } => {
            for record in chain {
                assert!(zone.zone_of(&record.name), "{} outside {zone}", record.name);
            }
            let _ = classify::rejected_cnames(chain, &response.answers);
        }
        classify::Classified::Referral { cut, ns, glue } => {
            assert!(
                zone.zone_of(cut) && *cut != zone,
                "cut {cut} not below {zone}"
            );
            assert!(cut.zone_of(&qname), "cut {cut} not above {qname}");
            assert!(ns.iter().all(|r| r.name == *cut));
            // A glue entry names its owner (lowercased): find the records it came from.
            for entry in glue.iter().filter(|g| g.used) {
                let owners: Vec<&Name> = response
                    .additionals
                    .iter()
                    .map(|r| &r.name)
                    .filter(|n| n.to_lowercase() == entry.ns)
                    .collect();
                assert!(!owners.is_empty(), "glue {} from no record", entry.ns);
                for owner in owners {
                    assert!(zone.zone_of(owner), "glue {owner} outside {zone} used");
                }
            }
        }
        classify::Classified::FormErr(_) | classify::Classified::Unusable(_) => {}
    }
}

/// `rrl`: `u32 errors per second | slip | IPv4 prefix | IPv6 prefix | u16 length | query |
/// events`. The query is screened as from a client outside `allow` and as from loopback;
/// every error answer's slip (what an over-limit client gets) must be no larger than the
/// answer, parse, keep the ID and set QR and TC. Then each 5-byte event (client selector,
/// u32 milliseconds later) asks the limiter: exempt clients and a zero rate always send, a
/// prefix's first answer is sent, and nothing panics however long the gaps.
pub fn rrl(data: &[u8]) {
    if data.len() < 7 {
        return;
    }
    let per_second = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let config = whydns::config::RateLimitConfig {
        errors_per_second: per_second,
        slip: u32::from(data[4] % 8),
        ipv4_prefix: data[5] % 33,
        ipv6_prefix: data[6] % 129,
        ..whydns::config::RateLimitConfig::default()
    };
    let (query, events) = public::split_u16(&data[7..]);

    let mut replies = Vec::new();
    for client in [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    ] {
        if let Screened::Reply(reply) = respond::screen(query, client, &public::loopback()) {
            if let Some(wire) = reply.encode(respond::Transport::Udp) {
                replies.push(wire);
            }
        }
    }
    for reply in &replies {
        if !rrl::is_error_answer(reply) {
            continue;
        }
        let slip = rrl::slip(reply);
        assert!(slip.len() <= reply.len(), "slip larger than the answer");
        let parsed = Message::from_vec(&slip)
            .unwrap_or_else(|e| panic!("slip does not parse ({e}): {slip:02x?}"));
        assert_eq!(&slip[..2], &reply[..2]);
        assert!(parsed.metadata.truncation);
        assert_eq!(
            parsed.metadata.message_type,
            hickory_proto::op::MessageType::Response
        );
    }
    // Whatever bytes: no panic.
    let _ = rrl::slip(query);
    let _ = rrl::is_error_answer(query);

    let limiter = rrl::RateLimiter::new(&config);
    let clients = [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0xff, 0, 0, 0, 2)),
        IpAddr::V6(Ipv4Addr::new(192, 0, 2, 9).to_ipv6_mapped()),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    let start = Instant::now();
    let mut elapsed = Duration::ZERO;
    let mut seen = Vec::new();
    for event in events.chunks_exact(5).take(256) {
        let client = clients[usize::from(event[0]) % clients.len()];
        let ms = u32::from_be_bytes([event[1], event[2], event[3], event[4]]);
        elapsed = elapsed.saturating_add(Duration::from_millis(u64::from(ms)));
        let Some(now) = start.checked_add(elapsed) else {
            break;
        };
        let verdict = limiter.check(client, now);
        let exempt = client.to_canonical().is_loopback();
        if per_second == 0 || exempt {
            assert_eq!(verdict, rrl::Verdict::Send, "{client} limited");
        }
        let first = !seen.contains(&client);
        seen.push(client);
        if first && per_second > 0 && config.ipv4_prefix == 32 && config.ipv6_prefix == 128 {
            // A prefix of one address starts with a full bucket.
            let mapped_twin =
                client.to_canonical() != client && seen.contains(&client.to_canonical());
            if !mapped_twin {
                assert_eq!(verdict, rrl::Verdict::Send, "first answer to {client}");
            }
        }
    }
}
