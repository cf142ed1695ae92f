//! Test support: one lab per test binary (on a free port), and a small blocking DNS client
//! that talks to it over real UDP and TCP sockets.

#![allow(dead_code)]

pub mod verify;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use whydns::lab::{Lab, RunningLab, StartOptions};

pub struct SharedLab {
    pub lab: Lab,
    pub running: RunningLab,
    _runtime: tokio::runtime::Runtime,
}

pub fn testzones() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testzones")
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The lab shared by every test in this binary, started on the first call.
pub fn lab() -> &'static SharedLab {
    static LAB: OnceLock<SharedLab> = OnceLock::new();
    LAB.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = Lab::load(&testzones(), now()).expect("testzones load");
        let running = runtime
            .block_on(whydns::lab::start(&lab, StartOptions { port: 0 }))
            .expect("lab starts");
        SharedLab {
            lab,
            running,
            _runtime: runtime,
        }
    })
}

impl SharedLab {
    pub fn addr(&self, server: &str) -> SocketAddr {
        let name = Name::from_ascii(server).unwrap();
        self.running
            .address_of(&name)
            .unwrap_or_else(|| panic!("no lab server {server}"))
    }
}

/// How to ask.
#[derive(Clone, Copy)]
pub struct Ask {
    pub edns: bool,
    pub dnssec_ok: bool,
    pub payload: u16,
    pub timeout: Duration,
}

impl Default for Ask {
    fn default() -> Self {
        Ask {
            edns: true,
            dnssec_ok: true,
            payload: 1232,
            timeout: Duration::from_millis(1500),
        }
    }
}

pub fn query_message(name: &str, rtype: RecordType, ask: Ask) -> Message {
    let mut msg = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if ask.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(ask.payload);
        edns.set_dnssec_ok(ask.dnssec_ok);
        msg.set_edns(edns);
    }
    msg
}

fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() as u16
}

/// Sends `query` over UDP; None on timeout or when the port is closed.
pub fn udp_exchange(addr: SocketAddr, query: &Message, timeout: Duration) -> Option<Message> {
    let bind: SocketAddr = if addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .unwrap();
    let socket = UdpSocket::bind(bind).unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket.send_to(&query.to_vec().unwrap(), addr).ok()?;
    let mut buf = vec![0u8; 65535];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let (len, from) = socket.recv_from(&mut buf).ok()?;
        if from != addr {
            continue;
        }
        let reply = Message::from_vec(&buf[..len]).expect("lab replies parse");
        if reply.metadata.id == query.metadata.id {
            return Some(reply);
        }
    }
    None
}

pub fn udp_raw(addr: SocketAddr, packet: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket.send_to(packet, addr).ok()?;
    let mut buf = vec![0u8; 65535];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    Some(buf[..len].to_vec())
}

/// What happened to a TCP exchange.
#[derive(Debug)]
pub enum TcpOutcome {
    Refused,
    NoAnswer,
    Answer(Message),
}

pub fn tcp_exchange(addr: SocketAddr, queries: &[Message], timeout: Duration) -> Vec<TcpOutcome> {
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(_) => return vec![TcpOutcome::Refused],
    };
    stream.set_read_timeout(Some(timeout)).unwrap();
    // RFC 7766 pipelining: all queries go out before any answer is read.
    for query in queries {
        let wire = query.to_vec().unwrap();
        let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
        framed.extend(wire);
        if stream.write_all(&framed).is_err() {
            return vec![TcpOutcome::Refused];
        }
    }
    let mut out = Vec::new();
    for _ in queries {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            out.push(TcpOutcome::NoAnswer);
            break;
        }
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).unwrap();
        out.push(TcpOutcome::Answer(
            Message::from_vec(&body).expect("lab replies parse"),
        ));
    }
    out
}

pub fn tcp_query(addr: SocketAddr, query: &Message, timeout: Duration) -> TcpOutcome {
    tcp_exchange(addr, std::slice::from_ref(query), timeout)
        .into_iter()
        .next()
        .unwrap()
}

/// Asks over UDP and insists on an answer.
pub fn ask(addr: SocketAddr, name: &str, rtype: RecordType, ask: Ask) -> Message {
    let query = query_message(name, rtype, ask);
    udp_exchange(addr, &query, ask.timeout)
        .unwrap_or_else(|| panic!("no answer from {addr} for {name} {rtype}"))
}

/// The shared lab's trust anchor (its root DS), written once to a file for resolvers.
pub fn lab_anchor_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("whydns-lab-anchor-{}", std::process::id()));
        std::fs::write(&path, whydns::lab::lab_trust_anchor(&lab().lab)).unwrap();
        path
    })
    .clone()
}

/// A configuration whose resolver recurses through the shared lab with the lab's anchor,
/// listening on a free loopback port.
pub fn lab_config() -> whydns::config::Config {
    let lab = lab();
    // Written once: tests run in parallel and must not read a half-written file.
    static HINTS: OnceLock<PathBuf> = OnceLock::new();
    let hints = HINTS.get_or_init(|| {
        let hints = std::env::temp_dir().join(format!("whydns-lab-hints-{}", std::process::id()));
        std::fs::write(&hints, whydns::lab::lab_root_hints(&lab.lab)).unwrap();
        hints
    });
    whydns::config::Config {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        root_hints: Some(hints.clone()),
        trust_anchors: vec![lab_anchor_file()],
        upstream_port: lab.running.port,
        ..whydns::config::Config::default()
    }
}

/// The scenario with this id from the shared lab.
pub fn scenario(id: &str) -> &'static whydns::lab::Scenario {
    lab()
        .lab
        .spec
        .scenarios
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no scenario {id}"))
}

/// The EDE codes a resolver gave match the scenario's: none when none are expected, else the
/// same most specific (first) code and every expected code present.
pub fn assert_ede(id: &str, got: &[u16], expected: &[u16], context: &str) {
    assert_eq!(
        got.first(),
        expected.first(),
        "{id}: most specific EDE; got {got:?}\n{context}"
    );
    if expected.is_empty() {
        assert!(got.is_empty(), "{id}: unexpected EDE {got:?}");
    }
    for code in expected {
        assert!(got.contains(code), "{id}: EDE {code} missing from {got:?}");
    }
}

/// The diagnosis names the scenario's cause and blames what its file says: the failing
/// server, zone or record. Every committed scenario declares both.
pub fn assert_diagnosis(
    id: &str,
    diagnosis: &whydns::explain::diagnosis::Diagnosis,
    expect: &whydns::lab::Expectation,
    context: &str,
) {
    let cause = expect
        .cause
        .as_deref()
        .unwrap_or_else(|| panic!("{id}: the scenario declares no expect.cause"));
    assert!(
        !expect.blame.is_empty(),
        "{id}: the scenario declares no expect.blame"
    );
    assert_eq!(diagnosis.cause.token(), cause, "{id}: cause\n{context}");
    for wanted in &expect.blame {
        assert!(
            diagnosis.summary.contains(wanted.as_str()),
            "{id}: diagnosis does not name {wanted:?}: {}",
            diagnosis.summary
        );
    }
    assert!(!diagnosis.remedy.is_empty(), "{id}: no remedy");
    if cause != "resolved" && cause != "name-does-not-exist" && cause != "no-data" {
        assert!(
            !diagnosis.evidence.is_empty(),
            "{id}: a {cause} diagnosis without evidence\n{context}"
        );
    }
}

/// (INFO-CODE, EXTRA-TEXT) of every Extended DNS Error option in `message`.
pub fn ede(message: &Message) -> Vec<(u16, String)> {
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    let Some(edns) = &message.edns else {
        return Vec::new();
    };
    edns.options()
        .get_all(EdnsCode::Unknown(15))
        .into_iter()
        .filter_map(|option| match option {
            EdnsOption::Unknown(15, bytes) if bytes.len() >= 2 => Some((
                u16::from_be_bytes([bytes[0], bytes[1]]),
                String::from_utf8_lossy(&bytes[2..]).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// The explanation id ending an EXTRA-TEXT: "... [trace 1a2b3c4d]".
pub fn trace_id(text: &str) -> String {
    let start = text
        .rfind("[trace ")
        .unwrap_or_else(|| panic!("no trace id in {text:?}"));
    text[start + 7..]
        .trim_end_matches(']')
        .trim_end_matches(')')
        .to_string()
}

/// A multi-threaded runtime for servers under test (the lab has its own).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Starts `whydns serve` for `config` (on the shared runtime, until the test binary exits)
/// and returns its DNS address.
pub fn serve(config: whydns::config::Config) -> SocketAddr {
    runtime().block_on(async {
        let clock = std::sync::Arc::new(whydns::clock::SystemClock);
        let resolver = whydns::resolver::Resolver::new(&config, clock).unwrap();
        let server = whydns::server::Server::bind(&config, resolver)
            .await
            .unwrap();
        let address = server.local_addrs()[0];
        tokio::spawn(server.run(std::future::pending()));
        address
    })
}

/// Asks `server` like `dig +dnssec` (RD, AD and DO set), CD as given, over UDP.
pub fn ask_recursive(server: SocketAddr, name: &str, rtype: RecordType, cd: bool) -> Message {
    let mut query = query_message(name, rtype, Ask::default());
    query.metadata.recursion_desired = true;
    query.metadata.authentic_data = true;
    query.metadata.checking_disabled = cd;
    udp_exchange(server, &query, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no answer for {name} {rtype}"))
}

/// What a client sees: RCODE, AD, EDE codes and the data records (no RRSIGs), sorted.
pub fn seen(reply: &Message) -> (String, bool, Vec<u16>, Vec<String>) {
    let mut records: Vec<String> = reply
        .answers
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect();
    records.sort();
    (
        whydns::explain::event::rcode_name(reply.metadata.response_code),
        reply.metadata.authentic_data,
        ede(reply).iter().map(|(code, _)| *code).collect(),
        records,
    )
}
