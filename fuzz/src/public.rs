//! Fuzz entry points that use whydns's public API only. `tests/fuzz_regressions.rs` includes
//! this file as a module (`#[path]`), so a saved crash input is replayed through exactly the
//! function the fuzzer called. Every function takes the fuzzer's bytes and panics only on a
//! bug: a panic inside whydns, or a property stated here that does not hold.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS};
use hickory_proto::dnssec::PublicKey;
use hickory_proto::op::{Message, OpCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ipnet::IpNet;
use whydns::dnssec::{self, DenialLimits, TrustAnchors, VerificationBudget};
use whydns::explain::event::{Limit, ServerFailure};
use whydns::explain::outcome::{Failure, Outcome, Resolution};
use whydns::explain::proof::{Fault, NameRole, Proof, ProofRecord, ProofStep};
use whydns::explain::verdict::{
    BogusReason, FailedProof, IndeterminateReason, InsecureReason, Security,
};
use whydns::explain::{Ede, EdeCode, Trace};
use whydns::server::respond::{self, Screened, Transport};

/// The allow list of the fuzzed server: loopback, as whydns's default.
pub fn loopback() -> Vec<IpNet> {
    vec![
        "127.0.0.0/8".parse().expect("net"),
        "::1/128".parse().expect("net"),
    ]
}

/// `u16 length | first | rest`; a short input gives what there is.
pub fn split_u16(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let rest = &data[2..];
    rest.split_at(len.min(rest.len()))
}

/// An ancestor of `name` (itself included), chosen by `selector`.
pub fn ancestor(name: &Name, selector: u8) -> Name {
    let labels = usize::from(name.num_labels());
    name.trim_to(usize::from(selector) % (labels + 1))
}

/// The UDP limit a reply to `query` must respect: 512 without EDNS, else the client's
/// payload between 512 and the 1232 whydns advertises.
fn udp_limit(query: Option<&Message>) -> usize {
    match query.and_then(|q| q.edns.as_ref()) {
        Some(edns) => usize::from(edns.max_payload()).clamp(512, 1232),
        None => 512,
    }
}

/// Encodes `reply` for both transports: it must encode, parse back, carry the query's ID,
/// be a response, and fit the client's UDP buffer.
fn check_reply(reply: &respond::Reply, id: u16, limit: usize) {
    for transport in [Transport::Udp, Transport::Tcp] {
        let wire = reply
            .encode(transport)
            .unwrap_or_else(|| panic!("reply cannot be encoded: {:?}", reply.message));
        if transport == Transport::Udp {
            assert!(
                wire.len() <= limit,
                "UDP reply of {} bytes over the limit {limit}",
                wire.len()
            );
        }
        assert!(wire.len() <= usize::from(u16::MAX));
        let parsed = Message::from_vec(&wire)
            .unwrap_or_else(|e| panic!("reply does not parse back ({e}): {wire:02x?}"));
        assert_eq!(parsed.metadata.id, id);
        assert_eq!(
            parsed.metadata.message_type,
            hickory_proto::op::MessageType::Response
        );
    }
}

/// `screen`: one datagram from a client, screened as an allowed client (loopback, IPv4 and
/// IPv4-mapped IPv6) and as one outside `allow`. Every reply must encode, parse and fit;
/// a client outside `allow` never gets past the screen.
pub fn screen(data: &[u8]) {
    let allow = loopback();
    let parsed = Message::from_vec(data).ok();
    let limit = match &parsed {
        Some(q) => udp_limit(Some(q)),
        None => 512,
    };
    let clients = [
        (IpAddr::V4(Ipv4Addr::LOCALHOST), true),
        (IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()), true),
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), false),
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            false,
        ),
    ];
    for (client, allowed) in clients {
        assert_eq!(respond::is_allowed(client, &allow), allowed);
        match respond::screen(data, client, &allow) {
            Screened::Drop => {}
            Screened::Reply(reply) => {
                let id = u16::from_be_bytes([data[0], data[1]]);
                check_reply(&reply, id, limit);
            }
            Screened::Explain(request, reply) => {
                assert!(allowed, "explanation for a client outside allow");
                assert_eq!(request.client, client);
                check_reply(&reply, request.query.metadata.id, limit);
            }
            Screened::Resolve(request) => {
                assert!(allowed, "resolution for a client outside allow");
                let query = parsed.as_ref().expect("resolved, so it parses");
                assert_eq!(query.queries.len(), 1);
                assert_eq!(request.name, *query.queries[0].name());
                let overloaded = respond::overloaded(&request, 1);
                check_reply(&overloaded, request.query.metadata.id, limit);
                check_sentinel(&request.name);
            }
        }
    }
}

/// A name read as an RFC 8509 sentinel is one: its first label, lowercased, is the label
/// the sentinel writes back.
fn check_sentinel(name: &hickory_proto::rr::Name) {
    if let Some(sentinel) = whydns::resolver::sentinel_label(name) {
        let first = name.iter().next().expect("a sentinel has a first label");
        assert_eq!(
            first.to_ascii_lowercase(),
            sentinel.kind.label(sentinel.tag).into_bytes(),
            "{name} read as {sentinel:?}"
        );
    }
}

/// The records of every section of `message`.
fn all_records(message: &Message) -> Vec<Record> {
    message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals)
        .cloned()
        .collect()
}

fn dnskey_of(record: &Record) -> Option<&DNSKEY> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(key)) => Some(key),
        _ => None,
    }
}

fn ds_of(record: &Record) -> Option<&DS> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds),
        _ => None,
    }
}

/// `dnssec_signatures`: `u32 now | message`. Every RRset of the message (at most 16) is
/// checked against the RRSIGs and DNSKEYs anywhere in it, in the zone of the first RRSIG
/// over it (else its owner); every DS is compared with every DNSKEY. The per-query budget
/// is never overspent.
pub fn dnssec_signatures(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let now = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let Ok(message) = Message::from_vec(&data[4..]) else {
        return;
    };
    let records = all_records(&message);
    let rrsigs: Vec<Record> = records
        .iter()
        .filter(|r| r.record_type() == RecordType::RRSIG)
        .cloned()
        .collect();
    let mut sets: Vec<(Name, RecordType)> = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
    {
        let id = (record.name.clone(), record.record_type());
        if !sets.contains(&id) && sets.len() < 16 {
            sets.push(id);
        }
    }
    let mut budget = VerificationBudget::new(64);
    for (owner, rtype) in &sets {
        let rrset: Vec<Record> = records
            .iter()
            .filter(|r| r.name == *owner && r.record_type() == *rtype)
            .cloned()
            .collect();
        let covering = dnssec::rrsig::covering(&rrsigs, *rtype);
        let zone = covering
            .iter()
            .find_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().signer_name.clone()),
                _ => None,
            })
            .unwrap_or_else(|| owner.clone());
        let before = budget.remaining();
        let check = dnssec::check_signatures(&rrset, &rrsigs, &records, &zone, now, &mut budget);
        assert!(budget.remaining() <= before);
        let _ = check.is_valid();
        for record in &covering {
            if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &record.data {
                let _ = dnssec::signed_data(sig.input(), &rrset);
            }
        }
        let keys = dnssec::KeySet::new(&records, &zone);
        for (tag, key) in keys.iter() {
            assert_eq!(dnssec::key_tag(key), tag);
            assert!(
                keys.matching(tag, u8::from(key.public_key().algorithm()))
                    .count()
                    > 0
            );
        }
    }
    let ds: Vec<&DS> = records.iter().filter_map(ds_of).collect();
    for key_record in records.iter().filter(|r| dnskey_of(r).is_some()) {
        let key = dnskey_of(key_record).expect("filtered");
        for d in &ds {
            let _ = dnssec::ds_matches(&key_record.name, key, d);
        }
    }
    let strongest = dnssec::strongest_digests(ds.clone());
    assert!(strongest.len() <= ds.len());
}

/// `trust_anchor`: a trust-anchor file, read as it is and again wrapped in a BIND
/// `trust-anchors { ... };` clause, so that the named.conf entry reader is reached without the
/// fuzzer having to find the keyword. Every warning and error names a line of the text; what
/// parses is usable (a supported algorithm and digest, a digest of its type's length, a zone
/// key not revoked), is looked up and compared (DS against DNSKEY) as the chain of trust does.
pub fn trust_anchor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_anchor_file(text);
    check_anchor_file(&format!("trust-anchors {{\n{text}\n}};\n"));
}

fn check_anchor_file(text: &str) {
    let lines = text.matches('\n').count() + 1;
    let in_file = |line: usize| {
        assert!(
            (1..=lines).contains(&line),
            "line {line} of a {lines}-line file"
        )
    };
    let anchors = match TrustAnchors::parse(text) {
        Ok(parsed) => {
            for warning in &parsed.skipped {
                in_file(warning.line);
                assert!(!warning.to_string().is_empty());
            }
            parsed.anchors
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
            match error {
                dnssec::AnchorError::Unreadable { line, .. } => in_file(line),
                dnssec::AnchorError::NoUsableAnchor { skipped } => {
                    skipped.iter().for_each(|w| in_file(w.line))
                }
            }
            return;
        }
    };
    assert!(!anchors.is_empty());
    let mut count = 0;
    for (owner, list) in anchors.iter() {
        count += list.len();
        assert!(owner.is_fqdn());
        assert!(anchors.get(owner).is_some());
        assert!(anchors.closest(owner).is_some());
        list.iter().for_each(assert_usable);
        let keys: Vec<&DNSKEY> = list
            .iter()
            .filter_map(|a| match a {
                dnssec::Anchor::Dnskey(k) => Some(k),
                dnssec::Anchor::Ds(_) => None,
            })
            .collect();
        for anchor in list {
            if let dnssec::Anchor::Ds(ds) = anchor {
                for key in &keys {
                    let _ = dnssec::ds_matches(owner, key, ds);
                }
            }
        }
    }
    assert_eq!(count, anchors.len());
}

/// What `TrustAnchors::parse` keeps is an anchor the validator can use.
fn assert_usable(anchor: &dnssec::Anchor) {
    match anchor {
        dnssec::Anchor::Ds(ds) => {
            assert!(dnssec::algorithm_supported(u8::from(ds.algorithm())));
            let digest_type = u8::from(ds.digest_type());
            assert!(dnssec::digest_supported(digest_type));
            let length = match digest_type {
                1 => 20,
                2 => 32,
                _ => 48,
            };
            assert_eq!(ds.digest().len(), length);
        }
        dnssec::Anchor::Dnskey(key) => {
            assert!(dnssec::algorithm_supported(u8::from(
                key.public_key().algorithm()
            )));
            assert_eq!(key.flags() & 0x0180, 0x0100, "a zone key, not revoked");
        }
    }
}

/// `denial`: `selector | message`. The question is the message's; the zone is the owner of
/// its SOA when that is above the name, else an ancestor chosen by the selector's low
/// nibble; the wildcard a source of synthesis chosen by its high nibble. Every proof runs
/// on the records of all sections, with the default limits and one shared budget.
pub fn denial(data: &[u8]) {
    let Some((&selector, wire)) = data.split_first() else {
        return;
    };
    let Ok(message) = Message::from_vec(wire) else {
        return;
    };
    let (qname, qtype) = match message.queries.first() {
        Some(q) => (q.name().clone(), q.query_type()),
        None => return,
    };
    let records = all_records(&message);
    let zone = records
        .iter()
        .find(|r| r.record_type() == RecordType::SOA && r.name.zone_of(&qname))
        .map(|r| r.name.clone())
        .unwrap_or_else(|| ancestor(&qname, selector & 0x0f));
    let limits = DenialLimits::default();
    let mut budget = limits.budget();
    let _ = dnssec::prove_nxdomain(&qname, &zone, &records, &limits, &mut budget);
    let _ = dnssec::prove_nodata(&qname, qtype, &zone, &records, &limits, &mut budget);
    let _ = dnssec::prove_no_ds(&qname, &zone, &records, &limits, &mut budget);
    let encloser = ancestor(&qname, selector >> 4);
    if let Ok(source) = Name::from_ascii("*").and_then(|star| star.append_name(&encloser)) {
        let _ = dnssec::prove_wildcard_expansion(
            &qname,
            &source,
            &zone,
            &records,
            &limits,
            &mut budget,
        );
    }
    assert!(budget.remaining() <= limits.max_hashes);
    // A fresh budget per proof too: each proof alone must also stay within it.
    let mut fresh = limits.budget();
    let _ = dnssec::prove_nodata(&qname, qtype, &zone, &records, &limits, &mut fresh);
}

/// A tiny reader over the fuzzer's bytes: zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn text(&mut self) -> String {
        let n = usize::from(self.byte());
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
}

/// `ede`: `choices (4 bytes) | u16 length | query | response`, then extra EDE options
/// (code, length, text). The query is screened as from loopback; if it is to be resolved,
/// a resolution is built from the choices (outcome, failure, DNSSEC verdict) with the
/// response's records as its answer and authority, its EDE computed, the extra EDEs (any
/// UTF-8 text, any length) appended, and the answer built and encoded: it must fit the
/// client's UDP buffer (EXTRA-TEXT, EDE, additional shed, then TC), parse back and keep
/// the query's ID. The diagnosis and explanation are rendered too.
pub fn ede(data: &[u8]) {
    let mut bytes = Bytes(data);
    let choices = [bytes.byte(), bytes.byte(), bytes.byte(), bytes.byte()];
    let (query, rest) = split_u16(bytes.0);
    let (response, extra) = split_u16(rest);
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Screened::Resolve(request) = respond::screen(query, client, &loopback()) else {
        return;
    };
    // Only what the resolver would take as a response: transport.rs and classify.rs drop
    // any opcode but QUERY (an UPDATE message's zero-length records parse as RData::Update0
    // and would make the built answer unparseable; tests/fuzz_regressions.rs
    // `upstream_update_opcode_answer_is_not_believed` checks that drop over sockets).
    let records = Message::from_vec(response)
        .ok()
        .filter(|m| m.metadata.op_code == OpCode::Query);
    let names: Vec<String> = records
        .iter()
        .flat_map(all_records)
        .map(|r| r.name.to_string())
        .chain(std::iter::once(request.name.to_string()))
        .collect();
    let name = |i: u8| names[usize::from(i) % names.len()].clone();
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 53, 0, choices[3])), 53);
    let failures = [
        ServerFailure::Timeout,
        ServerFailure::Refused,
        ServerFailure::NotAuthoritative,
        ServerFailure::UpwardReferral,
    ];
    let outcome = match choices[0] % 10 {
        0 | 1 => Outcome::Answer,
        2 => Outcome::NoData,
        3 => Outcome::NxDomain,
        n => Outcome::Failed {
            failure: match n {
                4 => Failure::NoReachableAuthority {
                    zone: name(choices[1]),
                    servers: (0..choices[2] % 8)
                        .map(|i| (server, failures[usize::from(i) % failures.len()]))
                        .collect(),
                },
                5 => Failure::NoServerAddress {
                    zone: name(choices[1]),
                    ns: names.clone(),
                },
                6 => Failure::CircularDependency {
                    path: records
                        .iter()
                        .flat_map(all_records)
                        .map(|r| whydns::explain::event::CycleStep {
                            zone: r.name.clone(),
                            ns: request.name.clone(),
                        })
                        .collect(),
                },
                7 => Failure::LimitReached {
                    limit: Limit::UpstreamQueries,
                },
                8 => Failure::AliasLoop {
                    chain: names.clone(),
                },
                _ => Failure::RootKeySentinel {
                    kind: whydns::explain::event::SentinelKind::IsTa,
                    tag: u16::from(choices[2]),
                    trusted: vec![20326],
                },
            },
        },
    };
    let security = match choices[1] % 6 {
        0 => Security::Secure,
        1 => Security::Insecure {
            reason: InsecureReason::NoTrustAnchor,
        },
        2 => Security::Insecure {
            reason: InsecureReason::NoDs {
                zone: name(choices[2]),
            },
        },
        3 => Security::Bogus {
            reason: BogusReason::RrsigsMissing {
                owner: name(choices[2]),
                rtype: request.rtype.to_string(),
            },
        },
        4 => Security::Bogus {
            reason: BogusReason::DenialFailed {
                name: name(choices[2]),
                denial: Box::new(failed_proof(&names)),
            },
        },
        _ => Security::Indeterminate {
            reason: IndeterminateReason::DsAlias {
                zone: names.join(", "),
            },
        },
    };
    let (answers, authority) = match &records {
        Some(m) => (m.answers.clone(), m.authorities.clone()),
        None => (Vec::new(), Vec::new()),
    };
    let (dnssec_answers, answers): (Vec<Record>, Vec<Record>) = answers
        .into_iter()
        .partition(|r| r.record_type() == RecordType::RRSIG);
    let resolution = Resolution {
        name: request.name.to_string(),
        rtype: request.rtype.to_string(),
        outcome,
        answers,
        authority,
        dnssec_answers,
        dnssec_authority: Vec::new(),
        security,
        checking_disabled: request.query.metadata.checking_disabled,
        cached: choices[2] & 0x80 != 0,
        trace: Trace::new(format!("{:08x}", choices[3]), 16),
    };
    let mut edes = resolution.ede();
    let mut extra = Bytes(extra);
    while !extra.0.is_empty() && edes.len() < 64 {
        let code = EdeCode::ALL[usize::from(extra.byte()) % EdeCode::ALL.len()];
        let text = if extra.byte() & 1 == 0 {
            extra.text()
        } else {
            // Long texts: what a detailed diagnosis can produce.
            extra.text().repeat(usize::from(extra.byte()))
        };
        edes.push(Ede::new(code, text));
    }
    for e in &edes {
        let bytes = e.to_option_bytes(true);
        assert_eq!(&bytes[..2], &(e.code as u16).to_be_bytes());
        assert_eq!(&bytes[2..], e.text.as_bytes());
        assert_eq!(e.to_option_bytes(false).len(), 2);
    }
    let mut finished = resolution.finish();
    finished.ede = edes;
    let reply = respond::answer(&request, &resolution, &finished);
    check_reply(
        &reply,
        request.query.metadata.id,
        udp_limit(Some(&request.query)),
    );
    let _ = resolution.rcode();
    let _ = resolution.authenticated();
    let explanation = resolution.explanation(Some(client), 0);
    let _ = explanation.render();
}

/// A fresh path under the temporary directory for one input (tests run in parallel).
fn scratch(what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "whydns-fuzz-{}-{what}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// `config`: a configuration file. Read as `whydns serve --config` reads it; a
/// configuration it accepts must also build a resolver (with the built-in root hints and
/// anchors instead of any files it names, and no JSON-lines file).
pub fn config(data: &[u8]) {
    let path = scratch("config.toml");
    retry(|| std::fs::write(&path, data));
    let loaded = whydns::config::Config::from_file(&path);
    let _ = std::fs::remove_file(&path);
    let Ok(mut config) = loaded else {
        return;
    };
    config.root_hints = None;
    config.trust_anchors.clear();
    config.explain.file = None;
    let clock: Arc<dyn whydns::clock::Clock> = Arc::new(whydns::clock::SystemClock);
    whydns::resolver::Resolver::new(&config, clock)
        .unwrap_or_else(|e| panic!("accepted configuration builds no resolver: {e}"));
}

/// `root_hints`: a root hints file (named.root format).
pub fn root_hints(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(hints) = whydns::resolver::parse_root_hints(text) {
        assert!(!hints.is_empty());
        for hint in &hints {
            assert!(!hint.addresses.is_empty(), "root hint without an address");
        }
    }
}

/// `lab_zone`: `apex line | master file`. Read as the lab reads a zone file (the first line
/// names the apex; a line that is no name gives `fuzz.lab.`); a zone that loads is walked
/// (every name of its NSEC chain, the SOA, the cuts) and exported as a master file.
pub fn lab_zone(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (first, text) = input.split_once('\n').unwrap_or((input, ""));
    let apex = Name::from_ascii(first.trim())
        .ok()
        .filter(Name::is_fqdn)
        .unwrap_or_else(|| Name::from_ascii("fuzz.lab.").expect("apex"));
    let path = scratch("zone");
    retry(|| std::fs::write(&path, text));
    let loaded = whydns::lab::Zone::read(&apex, &path);
    let _ = std::fs::remove_file(&path);
    let Ok(zone) = loaded else {
        return;
    };
    let _ = zone.soa();
    let names = zone.chain_names();
    for name in names {
        assert!(apex.zone_of(&name), "{name} outside the zone {apex} loaded");
        let _ = zone.name_exists(&name);
        let _ = zone.is_below_cut(&name);
        let _ = zone.cut_above(&name);
    }
    // The export other tools read (RFC 3597 generic RDATA, which the lab's own reader does
    // not take back).
    let written = whydns::lab::zone_master_file(&zone);
    assert!(written.lines().count() >= 1, "the SOA at least");
}

/// Runs a file-system step of a harness, again if a signal interrupted it.
fn retry(mut step: impl FnMut() -> std::io::Result<()>) {
    for _ in 0..100 {
        match step() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            result => return result.expect("scratch files"),
        }
    }
    panic!("scratch files: interrupted 100 times");
}

/// Whether every string in a TOML value stays inside the lab directory (no absolute paths,
/// no `..`): the lab's files are trusted, and a fuzzer-made `file = "/dev/zero"` would only
/// test the machine.
fn paths_stay_inside(value: &toml::Value) -> bool {
    match value {
        toml::Value::String(s) => !s.starts_with('/') && !s.contains(".."),
        toml::Value::Array(items) => items.iter().all(paths_stay_inside),
        toml::Value::Table(table) => table.values().all(paths_stay_inside),
        _ => true,
    }
}

/// The testzones directory of the whydns checkout this file was built from: the manifest
/// is `fuzz/Cargo.toml` for the fuzz targets, the root one for tests/fuzz_regressions.rs.
pub fn testzones() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = manifest.join("testzones");
    if here.is_dir() {
        here
    } else {
        manifest.join("..").join("testzones")
    }
}

/// `lab_scenario`: a scenario file, loaded into a lab made of the real `testzones/lab.toml`
/// infrastructure (its zones and keys, and every scenario's zone files and keys, are there
/// to refer to) and that one scenario: parsed, checked, its zones signed and its servers
/// planned, as `whydns lab` does. Strings naming files outside the lab are skipped.
pub fn lab_scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let id = match text.parse::<toml::Table>() {
        Ok(table) => {
            if !table.values().all(paths_stay_inside) {
                return;
            }
            table
                .get("id")
                .and_then(|v| v.as_str())
                .filter(|id| {
                    !id.is_empty()
                        && id.len() <= 64
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                })
                .unwrap_or("fuzz")
                .to_string()
        }
        Err(_) => "fuzz".to_string(),
    };
    static INFRA: OnceLock<String> = OnceLock::new();
    let source = testzones();
    let infra = INFRA.get_or_init(|| {
        std::fs::read_to_string(source.join("lab.toml")).expect("testzones/lab.toml")
    });
    let dir = scratch("lab");
    let scenarios = dir.join("scenarios");
    // libFuzzer's timers interrupt system calls: retried, as they are no finding.
    retry(|| std::fs::create_dir_all(&scenarios));
    retry(|| std::fs::write(dir.join("lab.toml"), infra));
    for sub in ["zones", "keys"] {
        retry(
            || match std::os::unix::fs::symlink(source.join(sub), dir.join(sub)) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            },
        );
    }
    retry(|| std::fs::write(scenarios.join(format!("{id}.toml")), text));
    // Signed as of a fixed time, so an input behaves the same on every run.
    let loaded = whydns::lab::Lab::load(&dir, 1_800_000_000);
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(lab) = loaded {
        let _ = whydns::lab::lab_trust_anchor(&lab);
        let _ = whydns::lab::lab_root_hints(&lab);
        for zone in lab.zones.values() {
            let _ = whydns::lab::zone_master_file(zone);
        }
    }
}

/// A refused denial whose proof names every one of `names`: long EXTRA-TEXT.
fn failed_proof(names: &[String]) -> FailedProof {
    let as_name = |text: &String| Name::from_ascii(text).unwrap_or_else(|_| Name::root());
    let steps = names.iter().map(|text| ProofStep::Covers {
        record: ProofRecord::Nsec {
            owner: as_name(text),
            next: Name::root(),
        },
        name: as_name(text),
        role: NameRole::Qname,
    });
    let fault = Fault::NoDelegation {
        name: Name::root(),
        zone: Name::root(),
    };
    FailedProof::bogus(&Proof::of(steps), &fault)
}
