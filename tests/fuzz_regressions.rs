//! The fuzz targets' inputs replayed on stable, by plain `cargo test` (docs/fuzzing.md).
//!
//! Every file under `fuzz/regressions/<target>/` (a crash input the fuzzer found) goes
//! through the target's own entry point (the `fuzz/src` crate, compiled here as the module
//! `fuzz`), and so does every seed under `fuzz/seeds/<target>/`. A finding that needed a fix
//! in whydns also has a test of its own, named after it, that says what was wrong.
//!
//! `record_seeds` (ignored: run it with `--ignored`) writes the seed corpora: real query and
//! response packets of the lab's scenarios, and the lab's own files.
//!
//! Including `fuzz/src/lib.rs` brings in `src/server/packet_cache.rs`,
//! `src/resolver/classify.rs` and `src/server/rrl.rs` as modules of this test (see
//! fuzz/src/lib.rs); their own unit tests are compiled here too and run a second time.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};

// The included packet_cache.rs, classify.rs and rrl.rs name these as `crate::config`,
// `crate::explain` and `crate::rdata`.
use whydns::{config, explain, rdata};

#[allow(dead_code, unused_imports)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none if the directory does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Runs `entry` on every regression and seed of `target`, and fails naming every input that
/// panicked.
fn replay(target: &str, entry: fn(&[u8])) {
    let mut failed = Vec::new();
    let mut count = 0;
    for kind in ["regressions", "seeds"] {
        for path in inputs(kind, target) {
            let data = std::fs::read(&path).expect("read input");
            count += 1;
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: inputs that panic: {failed:#?}"
    );
    eprintln!("{target}: {count} inputs replayed");
}

/// Runs `entry` on one regression input.
fn replay_one(target: &str, file: &str, entry: fn(&[u8])) {
    let path = fuzz_dir().join("regressions").join(target).join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    entry(&data);
}

#[test]
fn screen() {
    replay("screen", fuzz::screen);
}

/// A query with opcode 6 and 17 questions, no EDNS: the NOTIMP answer echoed every question
/// (`Reply::to` copied them all, and only the QUERY path cleared several), 541 bytes, and
/// `Reply::encode`'s last fallback (TC set, sections emptied) sent it over UDP above the
/// client's 512. Now NOTIMP echoes one question only, and a reply whose question alone does
/// not fit goes as the bare header.
#[test]
fn screen_notimp_echoes_17_questions() {
    replay_one("screen", "notimp-echoes-17-questions", fuzz::screen);
}

#[test]
fn packet_cache() {
    replay("packet_cache", fuzz::packet_cache);
}

#[test]
fn classify() {
    replay("classify", fuzz::classify);
}

#[test]
fn dnssec_signatures() {
    replay("dnssec_signatures", fuzz::dnssec_signatures);
}

#[test]
fn trust_anchor() {
    replay("trust_anchor", fuzz::trust_anchor);
}

#[test]
fn denial() {
    replay("denial", fuzz::denial);
}

#[test]
fn ede() {
    replay("ede", fuzz::ede);
}

#[test]
fn config() {
    replay("config", fuzz::config);
}

#[test]
fn root_hints() {
    replay("root_hints", fuzz::root_hints);
}

#[test]
fn lab_zone() {
    replay("lab_zone", fuzz::lab_zone);
}

/// A zone file for `child.ds-rrsig-exp-soon.lab.` with the line `.  IN DNAME n`: the lab
/// reads DNAME lines itself (hickory rejects them) and inserted them without the check every
/// other record gets ("… is outside the zone …"), so the zone held a DNAME at the root,
/// which its NSEC chain then named. The DNAME reader now makes the same check.
#[test]
fn lab_zone_dname_owner_outside_zone() {
    replay_one("lab_zone", "dname-owner-outside-zone", fuzz::lab_zone);
}

#[test]
fn lab_scenario() {
    replay("lab_scenario", fuzz::lab_scenario);
}

/// A signature time `now+1Ў`: the lab's duration reader split the spec one byte before its
/// end, inside the two-byte character, and panicked (src/lab/time.rs). Found by a 10-minute
/// run. The unit is now the last character, and relative times wrap as RRSIG serials.
#[test]
fn lab_scenario_time_unit_not_ascii() {
    replay_one("lab_scenario", "time-unit-not-ascii", fuzz::lab_scenario);
}

#[test]
fn rrl() {
    replay("rrl", fuzz::rrl);
}

/// `errors_per_second` 4294967295 and a prefix checked again after 8.6 million seconds
/// (another prefix checked in between): the refill, elapsed milliseconds times the rate,
/// overflowed u64 (src/server/rrl.rs). CI's 20 s smoke run found it. The refill saturates.
#[test]
fn rrl_refill_overflow() {
    replay_one("rrl", "refill-overflow", fuzz::rrl);
}

/// `TrustAnchors::parse("()")`: an entry made of parentheses only has no tokens, and
/// `parse` indexes its first one (src/dnssec/anchor.rs:85, `tokens[0]`).
#[test]
fn trust_anchor_entry_of_parentheses_only() {
    replay_one(
        "trust_anchor",
        "entry-of-parentheses-only",
        fuzz::trust_anchor,
    );
}

/// `packet_cache::query_key` accepts a question name of 256 octets (one over RFC 1035's
/// 255): it checks the length before the root label is added. hickory rejects the query,
/// so the screen answers FORMERR; the key can never hit, but the fast path must accept only
/// what the screen resolves.
#[test]
fn packet_cache_qname_256_octets() {
    replay_one("packet_cache", "qname-256-octets", fuzz::packet_cache);
}

/// An answer with opcode UPDATE: hickory decodes a record with RDLENGTH 0 in an UPDATE
/// message as `RData::Update0` (an RFC 2136 prerequisite), and nothing in whydns checked the
/// response's opcode against the query's, so the empty record became the answer and
/// `respond::answer` sent clients a message no parser takes ("unexpected record with length
/// 0 in non-update message"). The ede target found it (the built answer did not parse back).
/// The transport now discards a reply of another opcode, and `classify` rejects one; the
/// target takes records only from QUERY responses, as the resolver does.
#[test]
fn ede_update_opcode_empty_rdata() {
    replay_one("ede", "update-opcode-empty-rdata", fuzz::ede);
}

/// The same finding over real sockets: an authoritative server that answers every query
/// with opcode UPDATE, AA and a zero-length A record. The resolver must not take that as the
/// answer, and whatever it answers must parse.
#[test]
fn upstream_update_opcode_answer_is_not_believed() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            let Some(end) = question_end(&buf[..len]) else {
                continue;
            };
            // QR, opcode 5 (UPDATE), AA; one question, one answer.
            let mut reply = vec![
                buf[0],
                buf[1],
                0x80 | (5 << 3) | 0x04,
                0x00,
                0,
                1,
                0,
                1,
                0,
                0,
            ];
            reply.extend([0, 0]);
            reply.extend(&buf[12..end]);
            // The question's name, type A, class IN, TTL 300, RDLENGTH 0.
            reply.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 0]);
            let _ = socket.send_to(&reply, from);
        }
    });
    let hints = std::env::temp_dir().join(format!("whydns-fuzz-update-{}", std::process::id()));
    std::fs::write(
        &hints,
        ". 3600 NS a.root.fuzz.\na.root.fuzz. 3600 A 127.0.0.1\n",
    )
    .unwrap();
    let config = whydns::config::Config {
        root_hints: Some(hints.clone()),
        upstream_port: port,
        validate: false,
        qname_minimisation: false,
        ipv6: false,
        ..whydns::config::Config::default()
    };
    let resolver =
        whydns::resolver::Resolver::new(&config, std::sync::Arc::new(whydns::clock::SystemClock))
            .unwrap();
    let qname = Name::from_ascii("www.example.").unwrap();
    let resolution = common::runtime().block_on(resolver.resolve(&qname, RecordType::A));
    let _ = std::fs::remove_file(&hints);
    let empty: Vec<_> = resolution
        .answers
        .iter()
        .filter(|r| matches!(r.data, hickory_proto::rr::RData::Update0(_)))
        .collect();
    assert!(
        empty.is_empty(),
        "zero-length records from an UPDATE response believed: {empty:?}"
    );
    let query = query(&qname, RecordType::A, true, false).to_vec().unwrap();
    let client = "127.0.0.1".parse().unwrap();
    let allow = fuzz::loopback();
    let whydns::server::respond::Screened::Resolve(request) =
        whydns::server::respond::screen(&query, client, &allow)
    else {
        panic!("the query is resolved");
    };
    let reply = whydns::server::respond::answer(&request, &resolution, &resolution.finish());
    let wire = reply
        .encode(whydns::server::respond::Transport::Udp)
        .unwrap();
    Message::from_vec(&wire).expect("the answer sent to the client parses");
}

/// Where the first question of a message ends, if it has one without compression.
fn question_end(message: &[u8]) -> Option<usize> {
    let mut pos = 12;
    loop {
        let len = usize::from(*message.get(pos)?);
        if len & 0xc0 != 0 {
            return None;
        }
        pos += 1 + len;
        if len == 0 {
            break;
        }
    }
    (pos + 4 <= message.len()).then_some(pos + 4)
}

// ---- Seed corpora --------------------------------------------------------------------

/// At most this many seeds per target, evenly spread over the scenarios, each at most
/// `MAX_SEED_BYTES` (libFuzzer's default input size): the corpus stays a few hundred KB.
const MAX_SEEDS: usize = 80;
const MAX_SEED_BYTES: usize = 4096;

/// One query to a lab server over UDP (TCP after TC), as raw bytes: (query, response).
fn exchange(addr: SocketAddr, query: &Message) -> Option<(Vec<u8>, Vec<u8>)> {
    let wire = query.to_vec().ok()?;
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .ok()?;
    socket.send_to(&wire, addr).ok()?;
    let mut buf = vec![0u8; 65535];
    let response = loop {
        let (len, from) = socket.recv_from(&mut buf).ok()?;
        if from == addr && len >= 2 && buf[..2] == wire[..2] {
            break buf[..len].to_vec();
        }
    };
    if response.len() > 2 && response[2] & 0x02 != 0 {
        if let Some(tcp) = tcp_exchange(addr, &wire) {
            return Some((wire, tcp));
        }
    }
    Some((wire, response))
}

fn tcp_exchange(addr: SocketAddr, wire: &[u8]) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
    framed.extend(wire);
    stream.write_all(&framed).ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut response = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut response).ok()?;
    Some(response)
}

/// A query as a resolver sends it upstream (RD=0, EDNS with DO) or, with `client`, as a
/// stub sends it to whydns (RD=1).
fn query(name: &Name, rtype: RecordType, client: bool, dnssec_ok: bool) -> Message {
    let mut message = Message::new(0x2b2b, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = client;
    message.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(dnssec_ok);
    message.set_edns(edns);
    message
}

/// Seeds of one target, deduplicated, written as `<n>-<label>` files.
struct Seeds {
    target: &'static str,
    files: Vec<(String, Vec<u8>)>,
    seen: BTreeSet<Vec<u8>>,
}

impl Seeds {
    fn new(target: &'static str) -> Seeds {
        Seeds {
            target,
            files: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    fn add(&mut self, label: &str, data: Vec<u8>) {
        if data.len() <= MAX_SEED_BYTES && self.seen.insert(data.clone()) {
            let label: String = label
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            self.files.push((label, data));
        }
    }

    fn write(&self) {
        let dir = fuzz_dir().join("seeds").join(self.target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("seed dir");
        let total = self.files.len();
        let kept = total.min(MAX_SEEDS);
        for n in 0..kept {
            let (label, data) = &self.files[n * total / kept];
            std::fs::write(dir.join(format!("{n:03}-{label}")), data).expect("write seed");
        }
        eprintln!("{}: {kept} seeds of {total}", self.target);
    }
}

fn with_u16_len(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 < parts.len() {
            out.extend((part.len() as u16).to_be_bytes());
        }
        out.extend(*part);
    }
    out
}

/// Writes `fuzz/seeds/<target>/` for every target from the lab: the queries and responses
/// of each scenario's question at the root, the TLD and the scenario's own servers, its
/// zones' DNSKEY and DS, a name and a type that do not exist (NSEC/NSEC3 proofs), and the
/// lab's files (scenarios, zones, trust anchor, root hints).
#[test]
#[ignore = "writes fuzz/seeds/: run `cargo test --test fuzz_regressions -- --ignored record_seeds` to refresh the seed corpora"]
fn record_seeds() {
    let shared = common::lab();
    let lab = &shared.lab;
    let running = &shared.running;
    let root = running
        .address_of(&Name::from_ascii("a.root-servers.lab.").unwrap())
        .expect("root server");
    let tld = |name: &Name| {
        let server = if Name::from_ascii("test.").unwrap().zone_of(name) {
            "ns1.nic.test."
        } else {
            "ns1.nic.lab."
        };
        running.address_of(&Name::from_ascii(server).unwrap())
    };

    let mut screen = Seeds::new("screen");
    let mut packet_cache = Seeds::new("packet_cache");
    let mut classify = Seeds::new("classify");
    let mut dnssec = Seeds::new("dnssec_signatures");
    let mut denial = Seeds::new("denial");
    let mut ede = Seeds::new("ede");
    let now = (lab.signed_at as u32).wrapping_add(60).to_be_bytes();

    for (index, scenario) in lab.spec.scenarios.iter().enumerate() {
        let id = scenario.id.as_str();
        let Ok(qname) = Name::from_ascii(&scenario.query.name) else {
            continue;
        };
        let qtype: RecordType = scenario.query.rtype.parse().unwrap_or(RecordType::A);
        let servers = running.scenario_servers(id);
        let zones: Vec<Name> = lab
            .servers_of(id)
            .iter()
            .flat_map(|s| s.zones.iter().map(|z| z.apex.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let zone = zones
            .iter()
            .filter(|z| z.zone_of(&qname))
            .max_by_key(|z| z.num_labels())
            .cloned()
            .unwrap_or_else(|| qname.trim_to(2));
        let labels = zone.num_labels();

        // What a stub sends to whydns.
        let stub = query(&qname, qtype, true, index % 2 == 0);
        let stub_wire = stub.to_vec().unwrap();
        screen.add(id, stub_wire.clone());

        // The resolver's questions and the servers' answers.
        let upstream = query(&qname, qtype, false, true);
        if let Some((_, response)) = exchange(root, &upstream) {
            classify.add(&format!("{id}-root"), [&[0u8][..], &response].concat());
        }
        if let Some((_, response)) = tld(&qname).and_then(|a| exchange(a, &upstream)) {
            classify.add(&format!("{id}-tld"), [&[1u8][..], &response].concat());
            denial.add(&format!("{id}-tld"), [&[1u8][..], &response].concat());
        }
        let Some(&server) = servers.first() else {
            continue;
        };
        let Some((_, answer)) = exchange(server, &upstream) else {
            continue;
        };
        classify.add(id, [&[labels][..], &answer].concat());
        packet_cache.add(id, with_u16_len(&[&stub_wire, &answer]));
        ede.add(
            id,
            [
                &[
                    index as u8,
                    (index * 7) as u8,
                    (index * 13) as u8,
                    index as u8,
                ][..],
                &with_u16_len(&[&stub_wire, &answer, &[6, 0, 8, b'f', b'u', b'z', b'z'][..]]),
            ]
            .concat(),
        );

        // DNSKEY and DS of the scenario's zone, merged with the answer for the validator.
        let dnskey = exchange(server, &query(&zone, RecordType::DNSKEY, false, true))
            .and_then(|(_, r)| Message::from_vec(&r).ok());
        let ds = tld(&zone)
            .and_then(|a| exchange(a, &query(&zone, RecordType::DS, false, true)))
            .and_then(|(_, r)| Message::from_vec(&r).ok());
        if let Ok(mut merged) = Message::from_vec(&answer) {
            if let Some(keys) = &dnskey {
                merged.authorities = keys.answers.clone();
            }
            if let Some(ds) = &ds {
                merged.additionals = ds.answers.clone();
            }
            if let Ok(wire) = merged.to_vec() {
                dnssec.add(id, [&now[..], &wire].concat());
            }
        }
        if let Some(keys) = dnskey.and_then(|m| m.to_vec().ok()) {
            dnssec.add(&format!("{id}-dnskey"), [&now[..], &keys].concat());
        }
        if let Some(ds) = ds.and_then(|m| m.to_vec().ok()) {
            denial.add(&format!("{id}-ds"), [&[1u8][..], &ds].concat());
        }

        // Denials: a name and a type that do not exist.
        let selector = (labels << 4) | labels;
        for (label, name, rtype) in [
            (
                "nx",
                Name::from_ascii("fuzz-nx").unwrap().append_name(&zone),
                RecordType::A,
            ),
            ("nodata", Ok(zone.clone()), RecordType::NULL),
        ] {
            let Ok(name) = name else { continue };
            if let Some((_, response)) = exchange(server, &query(&name, rtype, false, true)) {
                denial.add(
                    &format!("{id}-{label}"),
                    [&[selector][..], &response].concat(),
                );
                classify.add(
                    &format!("{id}-{label}"),
                    [&[labels][..], &response].concat(),
                );
            }
        }
    }

    // Client queries the screen treats apart.
    let name = Name::from_ascii("valid.lab.").unwrap();
    let mut odd = Vec::new();
    let mut plain = Message::new(7, MessageType::Query, OpCode::Query);
    plain.metadata.recursion_desired = true;
    plain.add_query(Query::query(name.clone(), RecordType::A));
    odd.push(("no-edns", plain.clone()));
    let mut m = query(&name, RecordType::A, false, false);
    odd.push(("rd0", m.clone()));
    m.metadata.recursion_desired = true;
    m.metadata.checking_disabled = true;
    m.metadata.authentic_data = true;
    odd.push(("cd-ad", m));
    let mut explain = Query::query(
        Name::from_ascii("last.explain.whydns.").unwrap(),
        RecordType::TXT,
    );
    explain.set_query_class(DNSClass::CH);
    let mut m = plain.clone();
    m.queries = vec![explain];
    odd.push(("explain", m));
    let mut m = plain.clone();
    m.queries[0].set_query_type(RecordType::AXFR);
    odd.push(("axfr", m));
    let mut m = plain.clone();
    m.add_query(Query::query(name.clone(), RecordType::AAAA));
    odd.push(("two-questions", m));
    let mut m = plain.clone();
    m.metadata.op_code = OpCode::Notify;
    odd.push(("notify", m));
    let mut m = query(&name, RecordType::A, true, true);
    if let Some(edns) = m.edns.as_mut() {
        edns.set_version(1);
    }
    odd.push(("edns-version-1", m));
    let mut m = query(&name, RecordType::TXT, true, true);
    if let Some(edns) = m.edns.as_mut() {
        edns.set_max_payload(512);
    }
    odd.push(("payload-512", m));
    for (label, message) in odd {
        let wire = message.to_vec().unwrap();
        screen.add(label, wire.clone());
        packet_cache.add(label, with_u16_len(&[&wire, &[]]));
    }
    screen.add("short", vec![0x12, 0x34, 0x01, 0x00, 0, 1]);

    // The rate limiter: a configuration, a query from `screen`, then bursts from a few
    // clients with gaps of 0 ms, 100 ms and a second.
    let mut rrl = Seeds::new("rrl");
    for (n, (label, query)) in screen.files.iter().enumerate().step_by(4) {
        let per_second: u32 = [1, 5, 10, 1000][n % 4];
        let mut events = Vec::new();
        for i in 0..24u8 {
            let gap: u32 = match i % 8 {
                7 => 1000,
                5 => 100,
                _ => 0,
            };
            events.push(i % 3 + (n as u8 % 2) * 3);
            events.extend(gap.to_be_bytes());
        }
        let head = [&per_second.to_be_bytes()[..], &[2, 24, 56]].concat();
        rrl.add(
            label,
            [&head[..], &with_u16_len(&[query, &events])].concat(),
        );
    }

    for seeds in [
        &screen,
        &packet_cache,
        &classify,
        &dnssec,
        &denial,
        &ede,
        &rrl,
    ] {
        seeds.write();
    }

    // The lab's files.
    let mut anchors = Seeds::new("trust_anchor");
    anchors.add("lab-ds", whydns::lab::lab_trust_anchor(lab).into_bytes());
    anchors.add("lab-dnskey", whydns::lab::lab_root_dnskey(lab).into_bytes());
    anchors.add(
        "origin-multiline",
        b"$ORIGIN lab.\n$TTL 3600\nvalid 3600 IN DS ( 12345 13 2\n  0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef ) ; comment\n  DNSKEY 257 3 13 ( mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )\n"
            .to_vec(),
    );
    anchors.write();

    let mut hints = Seeds::new("root_hints");
    hints.add("lab", whydns::lab::lab_root_hints(lab).into_bytes());
    hints.add(
        "named-root",
        b";       This file holds the information on root name servers\n.                        3600000      NS    A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET.      3600000      A     198.41.0.4\nA.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30\n"
            .to_vec(),
    );
    hints.write();

    let mut config = Seeds::new("config");
    for (label, text) in [
        ("empty", ""),
        (
            "listen-allow",
            "listen = [\"127.0.0.1:5353\", \"[::1]:5353\"]\nallow = [\"127.0.0.0/8\", \"::1/128\", \"192.0.2.0/24\"]\nvalidate = true\nqname_minimisation = true\nupstream_port = 53\nmin_ttl = 0\nmax_ttl = 86400\n",
        ),
        (
            "sections",
            "ipv6 = false\ncontrol = \"127.0.0.1:8053\"\ncontrol_allow = [\"127.0.0.1/32\"]\n\n[cache]\npackets = 10000\nanswers = 10000\n\n[limits]\nupstream_queries = 64\nreferral_depth = 16\ndeadline_ms = 10000\nquery_timeout_ms = 400\n\n[explain]\nkeep_all = true\nmax_entries = 100\n",
        ),
        ("bad", "min_ttl = 10\nmax_ttl = 5\n[limits]\nnope = 1\n"),
        (
            "dnssec",
            "[dnssec]\nnsec3_insecure_above = 100\nnsec3_bogus_above = 150\n",
        ),
    ] {
        config.add(label, text.as_bytes().to_vec());
    }
    config.write();

    // Scenario and zone files, the smaller ones (the corpus stays small).
    let testzones = common::testzones();
    let mut scenarios = Seeds::new("lab_scenario");
    let mut zones = Seeds::new("lab_zone");
    for scenario in &lab.spec.scenarios {
        let path = testzones
            .join("scenarios")
            .join(format!("{}.toml", scenario.id));
        if let Ok(text) = std::fs::read(&path) {
            if text.len() <= 2_500 {
                scenarios.add(&scenario.id, text);
            }
        }
    }
    for (spec, _) in lab.spec.zones() {
        if let Ok(text) = std::fs::read(testzones.join(&spec.file)) {
            if text.len() <= 2_000 {
                zones.add(&spec.name, [spec.name.as_bytes(), b"\n", &text].concat());
            }
        }
    }
    scenarios.write();
    zones.write();
}
