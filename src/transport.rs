//! The one network seam: sends a query to an authoritative server over UDP (falling back to
//! TCP on TC) and returns the matching response.
//!
//! Anti-spoofing (RFC 5452): a fresh socket, so a kernel-random source port, per query; a
//! random ID from a CSPRNG; the response must come from the server queried and echo the ID
//! and the question, else it is discarded (recorded) and the wait goes on until the timeout.
//! RFC 7766: TCP with the two-byte length prefix.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

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
}

/// A response that matched the query.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub response: Message,
    pub size: usize,
    pub tcp: bool,
    pub elapsed: Duration,
    /// Datagrams thrown away while waiting (wrong ID, question or source).
    pub discarded: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out")]
    Timeout { discarded: Vec<String> },
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
    msg.add_query(Query::query(request.name.clone(), request.rtype));
    if let Some(payload) = request.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        edns.set_dnssec_ok(request.dnssec_ok);
        msg.set_edns(edns);
    }
    msg
}

/// Why a datagram is not the answer to `query`, if it is not.
fn mismatch(query: &Message, response: &Message) -> Option<String> {
    if response.metadata.message_type != MessageType::Response {
        return Some("not a response".into());
    }
    if response.metadata.id != query.metadata.id {
        return Some(format!(
            "ID {} instead of {}",
            response.metadata.id, query.metadata.id
        ));
    }
    // RFC 5452 §9.1: the question must be echoed (case-insensitively).
    match response.queries.first() {
        Some(q)
            if q.name() == query.queries[0].name()
                && q.query_type() == query.queries[0].query_type()
                && q.query_class() == query.queries[0].query_class() =>
        {
            None
        }
        Some(q) => Some(format!(
            "question {} {} {} instead of {} {} {}",
            q.name(),
            q.query_class(),
            q.query_type(),
            query.queries[0].name(),
            query.queries[0].query_class(),
            query.queries[0].query_type()
        )),
        None if response.metadata.truncation => None,
        None => Some("no question section".into()),
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
        udp_exchange(server, &query, &wire, request.timeout, sources).await
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
    let mut discarded = Vec::new();
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let len = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Err(TransportError::Timeout { discarded }),
            Ok(Err(e)) => return Err(io_error(e)),
            Ok(Ok(len)) => len,
        };
        let Ok(response) = Message::from_vec(&buf[..len]) else {
            // A datagram that does not parse could be an attacker's: keep waiting for the
            // real one, but if nothing better arrives this server sent garbage.
            discarded.push("unparseable datagram".into());
            if discarded.len() > 16 {
                return Err(TransportError::Malformed);
            }
            continue;
        };
        if let Some(reason) = mismatch(query, &response) {
            discarded.push(reason);
            continue;
        }
        return Ok(Exchange {
            response,
            size: len,
            tcp: false,
            elapsed: started.elapsed(),
            discarded,
        });
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
        if let Some(reason) = mismatch(query, &response) {
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
