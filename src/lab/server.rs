//! The lab's listeners: one UDP socket and (unless a fault removes it) one TCP listener per
//! nameserver, each on its own loopback address, with transport faults applied here.
//!
//! RFC 1035 §4.2 (UDP, TCP with two-byte length prefix), RFC 7766 (TCP pipelining: several
//! queries on one connection), RFC 6891 (EDNS: payload size, DO, BADVERS for version > 0).
//! Every queue is bounded: in-flight UDP answers, TCP connections, TCP message size, idle time.
//! Each server counts the queries it receives, so tests can tell a cached answer from an
//! upstream query.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::answer::{is_dnssec_record, ServerView};
use super::build::{Lab, LabServer};
use super::forge::Forgery;
use super::spec::{LameAnswer, ServerFault};
use super::LabError;

const MAX_UDP_IN_FLIGHT: usize = 512;
const MAX_TCP_CONNECTIONS: usize = 64;
const TCP_IDLE: Duration = Duration::from_secs(10);
/// The payload size the lab advertises (RFC 9715 / DNS flag day 2020).
const ADVERTISED_PAYLOAD: u16 = 1232;

/// How to start the lab.
#[derive(Debug, Clone, Copy)]
pub struct StartOptions {
    /// The port every lab server listens on; 0 picks one free port for all of them.
    pub port: u16,
}

/// A started lab; dropping it (or [`RunningLab::stop`]) closes every socket.
pub struct RunningLab {
    pub port: u16,
    /// (server name, listening address, listening at all) in plan order.
    pub listeners: Vec<(Name, SocketAddr, bool)>,
    /// Per server, in plan order: the scenario that declared it and its query counter.
    counters: Vec<ServerCounter>,
    tasks: Vec<JoinHandle<()>>,
}

struct ServerCounter {
    address: SocketAddr,
    scenario: Option<String>,
    queries: Arc<AtomicU64>,
}

impl RunningLab {
    pub fn stop(self) {}

    /// The socket address of the named server.
    pub fn address_of(&self, name: &Name) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, a, _)| *a)
    }

    /// How many queries the server at `addr` has received so far, over UDP and TCP: every
    /// message counted on arrival, before any fault acts, so dropped and unparsable ones
    /// count too. 0 for a `down` server and for an address no lab server has.
    pub fn queries_to(&self, addr: SocketAddr) -> u64 {
        self.counters
            .iter()
            .filter(|c| c.address == addr)
            .map(|c| c.queries.load(Ordering::Relaxed))
            .sum()
    }

    /// The socket addresses of the servers scenario `id` declared, in declaration order.
    pub fn scenario_servers(&self, id: &str) -> Vec<SocketAddr> {
        self.counters
            .iter()
            .filter(|c| c.scenario.as_deref() == Some(id))
            .map(|c| c.address)
            .collect()
    }

    /// The queries all servers of scenario `id` have received so far.
    pub fn scenario_queries(&self, id: &str) -> u64 {
        self.scenario_servers(id)
            .into_iter()
            .map(|a| self.queries_to(a))
            .sum()
    }
}

impl Drop for RunningLab {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// Transport-independent behaviour of one server: its answers and its faults.
struct Behaviour {
    view: ServerView,
    faults: Vec<ServerFault>,
    /// The answer rewrites among its faults.
    forgery: Arc<Forgery>,
    /// Queries received, UDP and TCP.
    queries: Arc<AtomicU64>,
}

impl Behaviour {
    fn has(&self, probe: impl Fn(&ServerFault) -> bool) -> bool {
        self.faults.iter().any(probe)
    }

    fn delay(&self) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            ServerFault::Delay { ms } => Some(Duration::from_millis(*ms)),
            _ => None,
        })
    }
}

/// Binds every server of `lab`. With port 0, one free port is found for all of them.
pub async fn start(lab: &Lab, options: StartOptions) -> Result<RunningLab, LabError> {
    let attempts = if options.port == 0 { 20 } else { 1 };
    let mut last_error = None;
    for _ in 0..attempts {
        match try_start(lab, options.port).await {
            Ok(running) => return Ok(running),
            Err(e @ LabError::Bind { .. }) if options.port == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.expect("at least one attempt"))
}

async fn try_start(lab: &Lab, port: u16) -> Result<RunningLab, LabError> {
    let root_ns = root_ns(lab);
    let mut port = port;
    let mut bound = Vec::new();
    let mut listeners = Vec::new();
    let mut counters = Vec::new();
    for server in &lab.servers {
        let address = SocketAddr::new(server.address, port);
        let queries = Arc::new(AtomicU64::new(0));
        counters.push(ServerCounter {
            address,
            scenario: server.scenario.clone(),
            queries: queries.clone(),
        });
        let down = server.has_fault(|f| matches!(f, ServerFault::Down));
        if down {
            listeners.push((server.name.clone(), address, false));
            continue;
        }
        let (udp, tcp) = bind_server(address, server).await?;
        let address = udp.local_addr().map_err(|source| LabError::Bind {
            address,
            transport: "UDP",
            source,
        })?;
        port = address.port();
        listeners.push((server.name.clone(), address, true));
        bound.push((behaviour(server, &root_ns, queries), udp, tcp));
    }
    // Servers declared "down" before the port was known get the final port too.
    for entry in listeners.iter_mut() {
        entry.1.set_port(port);
    }
    for counter in counters.iter_mut() {
        counter.address.set_port(port);
    }
    let mut tasks = Vec::new();
    for (behaviour, udp, tcp) in bound {
        let behaviour = Arc::new(behaviour);
        tasks.push(tokio::spawn(serve_udp(behaviour.clone(), udp)));
        if let Some(tcp) = tcp {
            tasks.push(tokio::spawn(serve_tcp(behaviour, tcp)));
        }
    }
    Ok(RunningLab {
        port,
        listeners,
        counters,
        tasks,
    })
}

/// One server's sockets on `address` (port 0: any free one), TCP unless `no-tcp`.
async fn bind_server(
    address: SocketAddr,
    server: &LabServer,
) -> Result<(UdpSocket, Option<TcpListener>), LabError> {
    let bind_error = |transport| {
        move |source| LabError::Bind {
            address,
            transport,
            source,
        }
    };
    let udp = UdpSocket::bind(address).await.map_err(bind_error("UDP"))?;
    if server.has_fault(|f| matches!(f, ServerFault::NoTcp)) {
        return Ok((udp, None));
    }
    // TCP on the port UDP got, so one port serves both.
    let bound = udp.local_addr().map_err(bind_error("UDP"))?;
    let tcp = TcpListener::bind(bound).await.map_err(bind_error("TCP"))?;
    Ok((udp, Some(tcp)))
}

fn root_ns(lab: &Lab) -> Vec<(Name, std::net::IpAddr)> {
    lab.root_servers()
        .iter()
        .map(|s| (s.name.clone(), s.address))
        .collect()
}

fn behaviour(
    server: &LabServer,
    root_ns: &[(Name, std::net::IpAddr)],
    queries: Arc<AtomicU64>,
) -> Behaviour {
    let lame = server.faults.iter().find_map(|f| match f {
        ServerFault::NotAuth { answer } => Some(*answer),
        _ => None,
    });
    Behaviour {
        view: ServerView {
            zones: server.zones.clone(),
            lame,
            root_ns: if lame == Some(LameAnswer::UpwardReferral) {
                root_ns.to_vec()
            } else {
                Vec::new()
            },
        },
        faults: server.faults.clone(),
        forgery: server.forgery.clone(),
        queries,
    }
}

async fn serve_udp(behaviour: Arc<Behaviour>, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let in_flight = Arc::new(Semaphore::new(MAX_UDP_IN_FLIGHT));
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        behaviour.queries.fetch_add(1, Ordering::Relaxed);
        // Over the bound: shed load by dropping, as a busy server would.
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            continue;
        };
        let packet = buf[..len].to_vec();
        let (behaviour, socket) = (behaviour.clone(), socket.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Some(delay) = behaviour.delay() {
                tokio::time::sleep(delay).await;
            }
            if let Some(reply) = respond(&behaviour, &packet, false) {
                let _ = socket.send_to(&reply, peer).await;
            }
        });
    }
}

async fn serve_tcp(behaviour: Arc<Behaviour>, listener: TcpListener) {
    let connections = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            continue; // dropping the stream closes it
        };
        let behaviour = behaviour.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = serve_connection(&behaviour, stream).await;
        });
    }
}

/// RFC 7766 §6.2.1: answer each length-prefixed query on the connection, in order.
async fn serve_connection(behaviour: &Behaviour, mut stream: TcpStream) -> std::io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        let mut packet = vec![0u8; u16::from_be_bytes(len) as usize];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut packet))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        behaviour.queries.fetch_add(1, Ordering::Relaxed);
        if let Some(delay) = behaviour.delay() {
            tokio::time::sleep(delay).await;
        }
        if let Some(reply) = respond(behaviour, &packet, true) {
            let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
            framed.extend(reply);
            stream.write_all(&framed).await?;
        }
    }
}

/// The whole server side of one exchange: parse, apply faults, answer, fit to the transport.
/// None means "send nothing".
fn respond(behaviour: &Behaviour, packet: &[u8], tcp: bool) -> Option<Vec<u8>> {
    if behaviour.has(|f| matches!(f, ServerFault::Drop)) {
        return None;
    }
    let query = match Message::from_vec(packet) {
        Ok(query) => query,
        Err(_) => return format_error(packet),
    };
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(query.metadata.id, query.metadata.op_code);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.checking_disabled = query.metadata.checking_disabled;
    response.metadata.recursion_available =
        behaviour.has(|f| matches!(f, ServerFault::RecursionAvailable));
    response.add_queries(query.queries.iter().cloned());

    let dnssec_ok = query.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
    if !screen(behaviour, &query, &mut response, dnssec_ok) {
        return response.to_vec().ok();
    }
    let question = &query.queries[0];
    let mut reply = behaviour
        .view
        .answer(question.name(), question.query_type(), dnssec_ok);
    if !behaviour.forgery.is_empty() {
        behaviour.forgery.apply(&mut reply, dnssec_ok);
    }
    response.metadata.response_code = reply.rcode;
    response.metadata.authoritative =
        reply.authoritative && !behaviour.has(|f| matches!(f, ServerFault::NoAa));
    let keep = |r: &hickory_proto::rr::Record| dnssec_ok || !is_dnssec_record(r);
    response.add_answers(reply.answers.into_iter().filter(keep));
    response.add_authorities(reply.authorities.into_iter().filter(keep));
    response.add_additionals(reply.additionals.into_iter().filter(keep));

    let client_payload = query.edns.as_ref().map(|e| e.max_payload().max(512));
    fit(behaviour, response, client_payload, tcp)
}

/// The checks before the question is looked up, with the faults that act there: the reply's
/// OPT and the RCODE. False when `response` is already the whole answer.
fn screen(behaviour: &Behaviour, query: &Message, response: &mut Message, dnssec_ok: bool) -> bool {
    if behaviour.has(|f| matches!(f, ServerFault::FormerrOnEdns)) && query.edns.is_some() {
        // An old middlebox or server that does not know OPT: FORMERR, no OPT in the reply.
        response.metadata.response_code = ResponseCode::FormErr;
        return false;
    }
    if let Some(edns) = &query.edns {
        let mut reply_edns = Edns::new();
        reply_edns.set_max_payload(ADVERTISED_PAYLOAD);
        reply_edns.set_dnssec_ok(dnssec_ok);
        response.set_edns(reply_edns);
        if edns.version() > 0 {
            response.metadata.response_code = ResponseCode::BADVERS;
            return false;
        }
    }
    response.metadata.response_code = if query.metadata.op_code != OpCode::Query {
        ResponseCode::NotImp
    } else if query.queries.len() != 1 {
        ResponseCode::FormErr
    } else if behaviour.has(|f| matches!(f, ServerFault::Refuse)) {
        ResponseCode::Refused
    } else if behaviour.has(|f| matches!(f, ServerFault::Servfail)) {
        ResponseCode::ServFail
    } else {
        ResponseCode::NoError
    };
    if response.metadata.response_code != ResponseCode::NoError {
        return false;
    }
    let question = &query.queries[0];
    if question.query_class() != DNSClass::IN
        || matches!(question.query_type(), RecordType::AXFR | RecordType::IXFR)
    {
        response.metadata.response_code = ResponseCode::Refused;
        return false;
    }
    true
}

/// Fits the answer to the transport: whole over TCP; over UDP within the client's payload,
/// the additional section dropped first, then TC.
fn fit(
    behaviour: &Behaviour,
    mut response: Message,
    client_payload: Option<u16>,
    tcp: bool,
) -> Option<Vec<u8>> {
    if tcp {
        return response.to_vec().ok();
    }
    if behaviour.has(|f| matches!(f, ServerFault::TruncateAlways)) {
        return truncated(response);
    }
    let limit = client_payload.unwrap_or(512) as usize;
    let wire = response.to_vec().ok()?;
    if wire.len() <= limit {
        return Some(wire);
    }
    // RFC 2181 §9: drop the additional section first; TC only when the answer itself is cut.
    response.additionals.clear();
    match response.to_vec() {
        Ok(wire) if wire.len() <= limit => Some(wire),
        _ => truncated(response),
    }
}

fn truncated(mut response: Message) -> Option<Vec<u8>> {
    response.metadata.truncation = true;
    response.answers.clear();
    response.authorities.clear();
    response.additionals.clear();
    response.to_vec().ok()
}

/// RFC 1035 §4.1.1: a query we cannot parse gets FORMERR when it at least has a header.
fn format_error(packet: &[u8]) -> Option<Vec<u8>> {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return None;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let mut response = Message::response(id, OpCode::Query);
    response.metadata.response_code = ResponseCode::FormErr;
    response.to_vec().ok()
}
