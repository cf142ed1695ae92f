//! The one network seam: sends a query to an authoritative server over UDP (falling back to
//! TCP on TC) and returns the matching response.
//!
//! Anti-spoofing (RFC 5452): a fresh socket, so a kernel-random source port, per query; a
//! random ID from a CSPRNG; over UDP, the query name in random letter case (draft-vixie-
//! dnsext-dns0x20) when the server is known to echo it; the response must come from the
//! server queried and echo the ID and the question (name, type and class; the exact case
//! when it was randomised), else it is discarded (recorded) and the wait goes on until the
//! timeout, whatever junk arrives meanwhile (at most [`MAX_DATAGRAMS`] datagrams are read).
//! A reply that differs only in letter case ends the exchange with
//! [`TransportError::CaseNotEchoed`], so the caller can ask that server without 0x20.
//! RFC 7766: TCP with the two-byte length prefix.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::explain::reasons::{Question, SpoofReason};

/// What to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: Name,
    pub rtype: RecordType,
    /// None: plain DNS (after a FORMERR to EDNS); Some(payload): EDNS0 with that UDP size.
    pub edns: Option<u16>,
    pub dnssec_ok: bool,
    pub timeout: Duration,
    pub tcp: bool,
    /// Send the name in random letter case (UDP only) and require it echoed exactly.
    pub randomize_case: bool,
}

/// At most this many datagrams are read while waiting for the reply to one UDP query.
pub const MAX_DATAGRAMS: usize = 256;
/// Reasons kept per exchange for the datagrams discarded; the rest are counted.
const DISCARDED_KEPT: usize = 16;

/// A response that matched the query.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub response: Message,
    pub size: usize,
    pub tcp: bool,
    pub elapsed: Duration,
    /// Datagrams thrown away while waiting (wrong ID, question or source).
    pub discarded: Vec<SpoofReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out")]
    Timeout { discarded: Vec<SpoofReason> },
    /// The reply echoed the question in other letter case than sent (0x20 not supported).
    #[error("the question came back in other letter case")]
    CaseNotEchoed,
    #[error("unreachable")]
    Unreachable,
    #[error("TCP connection refused")]
    TcpRefused,
    #[error("malformed response")]
    Malformed,
    #[error("{0}")]
    Io(String),
}

/// Source addresses for upstream queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sources {
    pub v4: Option<IpAddr>,
    pub v6: Option<IpAddr>,
}

pub fn random_id() -> u16 {
    let mut b = [0u8; 2];
    // SystemRandom only fails when the OS has no entropy source at all.
    let _ = SystemRandom::new().fill(&mut b);
    u16::from_be_bytes(b)
}

fn build_query(request: &Request) -> Message {
    let mut msg = Message::new(random_id(), MessageType::Query, OpCode::Query);
    // Iterative queries to authorities: RD clear (RFC 1034 §5.3.1).
    msg.metadata.recursion_desired = false;
    let name = if request.randomize_case && !request.tcp {
        mixed_case(&request.name)
    } else {
        request.name.clone()
    };
    msg.add_query(Query::query(name, request.rtype));
    if let Some(payload) = request.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        edns.set_dnssec_ok(request.dnssec_ok);
        msg.set_edns(edns);
    }
    msg
}

/// `name` with each letter's case drawn from the CSPRNG (0x20 bits).
fn mixed_case(name: &Name) -> Name {
    let mut bits = [0u8; 32];
    let _ = SystemRandom::new().fill(&mut bits);
    let mut index = 0usize;
    let labels: Vec<Vec<u8>> = name
        .iter()
        .map(|label| {
            label
                .iter()
                .map(|&b| {
                    let flip = bits[(index / 8) % bits.len()] >> (index % 8) & 1 == 1;
                    index += 1;
                    match (b.is_ascii_alphabetic(), flip) {
                        (true, true) => b.to_ascii_uppercase(),
                        (true, false) => b.to_ascii_lowercase(),
                        _ => b,
                    }
                })
                .collect()
        })
        .collect();
    Name::from_labels(labels)
        .map(|mut n| {
            n.set_fqdn(name.is_fqdn());
            n
        })
        .unwrap_or_else(|_| name.clone())
}

/// Why a datagram is not the answer to a query.
#[derive(Debug, PartialEq, Eq)]
enum Mismatch {
    /// The question matches but for letter case.
    Case,
    Other(SpoofReason),
}

/// Why a datagram is not the answer to `query`, if it is not.
fn mismatch(query: &Message, response: &Message, exact_case: bool) -> Option<Mismatch> {
    if response.metadata.message_type != MessageType::Response {
        return Some(Mismatch::Other(SpoofReason::NotAResponse));
    }
    if response.metadata.id != query.metadata.id {
        return Some(Mismatch::Other(SpoofReason::Id {
            received: response.metadata.id,
            sent: query.metadata.id,
        }));
    }
    if response.metadata.op_code != query.metadata.op_code {
        return Some(Mismatch::Other(SpoofReason::Opcode {
            received: response.metadata.op_code,
            sent: query.metadata.op_code,
        }));
    }
    let asked = &query.queries[0];
    // RFC 5452 §9.1: the question must be echoed (case-insensitively, or exactly for 0x20).
    match response.queries.first() {
        Some(q)
            if q.name() == asked.name()
                && q.query_type() == asked.query_type()
                && q.query_class() == asked.query_class() =>
        {
            let same_case = q.name().iter().eq(asked.name().iter());
            (exact_case && !same_case).then_some(Mismatch::Case)
        }
        Some(q) => Some(Mismatch::Other(SpoofReason::Question {
            received: question(q),
            sent: question(asked),
        })),
        None if response.metadata.truncation => None,
        None => Some(Mismatch::Other(SpoofReason::NoQuestion)),
    }
}

fn question(q: &Query) -> Question {
    Question {
        name: q.name().clone(),
        class: q.query_class(),
        rtype: q.query_type().into(),
    }
}

/// Sends `request` to `server` and waits for the matching response.
pub async fn exchange(
    server: SocketAddr,
    request: &Request,
    sources: Sources,
) -> Result<Exchange, TransportError> {
    let query = build_query(request);
    let wire = query
        .to_vec()
        .map_err(|e| TransportError::Io(e.to_string()))?;
    if request.tcp {
        tcp_exchange(server, &query, &wire, request.timeout, sources).await
    } else {
        let exact_case = request.randomize_case;
        udp_exchange(server, &query, &wire, request.timeout, sources, exact_case).await
    }
}

fn bind_address(server: SocketAddr, sources: Sources) -> SocketAddr {
    match server {
        SocketAddr::V4(_) => SocketAddr::new(sources.v4.unwrap_or(IpAddr::from([0, 0, 0, 0])), 0),
        SocketAddr::V6(_) => SocketAddr::new(sources.v6.unwrap_or(IpAddr::from([0u16; 8])), 0),
    }
}

async fn udp_exchange(
    server: SocketAddr,
    query: &Message,
    wire: &[u8],
    timeout: Duration,
    sources: Sources,
    exact_case: bool,
) -> Result<Exchange, TransportError> {
    let started = Instant::now();
    let socket = UdpSocket::bind(bind_address(server, sources))
        .await
        .map_err(|e| TransportError::Io(e.to_string()))?;
    // connect(): the kernel then drops datagrams from other sources and reports ICMP errors.
    socket
        .connect(server)
        .await
        .map_err(|e| TransportError::Io(e.to_string()))?;
    socket.send(wire).await.map_err(io_error)?;
    let mut discarded = Discarded::default();
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + timeout;
    for _ in 0..MAX_DATAGRAMS {
        let len = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Err(discarded.at_deadline()),
            Ok(Err(e)) => return Err(io_error(e)),
            Ok(Ok(len)) => len,
        };
        let Ok(response) = Message::from_vec(&buf[..len]) else {
            // A datagram that does not parse could be an attacker's: keep waiting for the
            // real one, but if nothing better arrives this server sent garbage.
            discarded.unparseable += 1;
            discarded.push(SpoofReason::Unparseable);
            continue;
        };
        match mismatch(query, &response, exact_case) {
            Some(Mismatch::Case) => return Err(TransportError::CaseNotEchoed),
            Some(Mismatch::Other(reason)) => discarded.push(reason),
            None => {
                return Ok(Exchange {
                    response,
                    size: len,
                    tcp: false,
                    elapsed: started.elapsed(),
                    discarded: discarded.reasons(),
                })
            }
        }
    }
    Err(discarded.at_deadline())
}

/// The datagrams thrown away while waiting for one reply.
#[derive(Default)]
struct Discarded {
    reasons: Vec<SpoofReason>,
    more: usize,
    unparseable: usize,
}

impl Discarded {
    fn push(&mut self, reason: SpoofReason) {
        if self.reasons.len() < DISCARDED_KEPT {
            self.reasons.push(reason);
        } else {
            self.more += 1;
        }
    }

    fn reasons(self) -> Vec<SpoofReason> {
        let mut reasons = self.reasons;
        if self.more > 0 {
            reasons.push(SpoofReason::MoreDatagrams { count: self.more });
        }
        reasons
    }

    /// No reply came: garbage from the server's address means it is broken, anything
    /// else a timeout (with what was thrown away).
    fn at_deadline(self) -> TransportError {
        if self.unparseable > 0 {
            TransportError::Malformed
        } else {
            TransportError::Timeout {
                discarded: self.reasons(),
            }
        }
    }
}

async fn tcp_exchange(
    server: SocketAddr,
    query: &Message,
    wire: &[u8],
    timeout: Duration,
    sources: Sources,
) -> Result<Exchange, TransportError> {
    let started = Instant::now();
    let work = async {
        let socket = match server {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .map_err(io_error)?;
        let bind = bind_address(server, sources);
        if !bind.ip().is_unspecified() {
            socket.bind(bind).map_err(io_error)?;
        }
        let mut stream: TcpStream = socket.connect(server).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => TransportError::TcpRefused,
            _ => io_error(e),
        })?;
        let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
        framed.extend(wire);
        stream.write_all(&framed).await.map_err(io_error)?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.map_err(io_error)?;
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).await.map_err(io_error)?;
        let response = Message::from_vec(&body).map_err(|_| TransportError::Malformed)?;
        if let Some(Mismatch::Other(reason)) = mismatch(query, &response, false) {
            // On TCP nobody else can inject: a mismatch is the server's own fault.
            return Err(TransportError::Io(format!(
                "mismatched TCP response: {reason}"
            )));
        }
        Ok(Exchange {
            response,
            size: body.len(),
            tcp: true,
            elapsed: started.elapsed(),
            discarded: Vec::new(),
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout {
            discarded: Vec::new(),
        }),
    }
}

fn io_error(e: std::io::Error) -> TransportError {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => TransportError::Unreachable,
        _ => TransportError::Io(e.to_string()),
    }
}
