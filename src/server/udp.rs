//! The UDP listener (RFC 1035 §4.2.1): one receive loop per socket. The loop itself answers
//! only what costs the same whatever the question: packet-cache hits (a copy and a few
//! patched bytes) and the screen's own answers (FORMERR, NOTIMP, BADVERS, REFUSED, and
//! SERVFAIL when every slot is taken), each bounded by the size of the query. Everything
//! else, record-cache hits included (a hit may still need validating, and validation can
//! cost milliseconds), and explanation answers, runs in a task holding a slot of
//! `limits.concurrent_queries`, so the number of tasks is bounded and one costly answer
//! never delays the clients behind it on the same socket.
//!
//! Error answers pass the response rate limiter ([`super::rrl`]) before they are sent.
//!
//! Limitations: replies are sent from the receiving socket, so a wildcard listen address
//! answers from the kernel's chosen source address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::respond::Transport;
use super::{Admission, Shared};

/// Pause after a receive error, so a persistent error cannot spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(5);

pub(super) async fn serve(shared: Arc<Shared>, socket: UdpSocket) {
    // One receive loop per worker thread on the same socket, so reading and screening
    // queries is not serialised on a single task.
    let loops = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let mut sockets = vec![socket];
    if let Ok(local) = sockets[0].local_addr() {
        for _ in 1..loops {
            match bind_shared(local) {
                Ok(extra) => sockets.push(extra),
                Err(e) => {
                    tracing::debug!(error = %e, "no extra SO_REUSEPORT socket; fewer receive loops");
                    break;
                }
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for socket in sockets {
        tasks.spawn(receive_loop(shared.clone(), Arc::new(socket)));
    }
    while tasks.join_next().await.is_some() {}
}

/// A UDP socket with SO_REUSEPORT, so one listen address can have a socket (and a receive
/// loop) per worker thread and the kernel spreads clients across them (as unbound's
/// so-reuseport does).
pub(super) fn bind_shared(address: std::net::SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// Linux: batches of datagrams per system call (recvmmsg/sendmmsg).
#[cfg(target_os = "linux")]
async fn receive_loop(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    use super::mmsg::{self, BATCH, MAX_QUERY};
    let mut bufs: Vec<Vec<u8>> = (0..BATCH).map(|_| vec![0u8; MAX_QUERY]).collect();
    let mut replies: Vec<(Vec<u8>, SocketAddr)> = Vec::with_capacity(BATCH);
    loop {
        let received = match mmsg::recv_batch(&socket, &mut bufs) {
            Ok(received) => received,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if socket.readable().await.is_err() {
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
                continue;
            }
            Err(e) => {
                // ICMP errors from earlier sends surface here on Linux; they are not fatal.
                tracing::debug!(error = %e, "UDP receive error");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        for (buf, (len, peer)) in bufs.iter().zip(received) {
            // Length 0: empty or larger than a buffer; neither is a query worth an answer.
            if len == 0 {
                continue;
            }
            if let Some(reply) = handle(&shared, &socket, &buf[..len], peer) {
                replies.push((reply, peer));
            }
        }
        while !replies.is_empty() {
            match mmsg::send_batch(&socket, &replies) {
                Ok(sent) => {
                    replies.drain(..sent.max(1).min(replies.len()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if socket.writable().await.is_err() {
                        replies.clear();
                    }
                }
                Err(_) => {
                    // The first datagram could not be sent (e.g. no route): skip it.
                    replies.remove(0);
                }
            }
        }
    }
}

/// Elsewhere: one datagram per system call.
#[cfg(not(target_os = "linux"))]
async fn receive_loop(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                tracing::debug!(error = %e, "UDP receive error");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        if let Some(reply) = handle(&shared, &socket, &buf[..len], peer) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// Screens one datagram. Returns the reply to send now (packet-cache hits and the screen's
/// own answers); anything else gets its own task, which sends its reply itself.
fn handle(
    shared: &Arc<Shared>,
    socket: &Arc<UdpSocket>,
    packet: &[u8],
    peer: SocketAddr,
) -> Option<Vec<u8>> {
    match shared.admit(packet, peer.ip(), Transport::Udp) {
        Admission::Immediate(reply) => shared.rate_limited(reply?, peer.ip()),
        Admission::Resolve(request, permit, key) => {
            let (shared, socket) = (shared.clone(), socket.clone());
            tokio::spawn(async move {
                let (reply, recording) = shared.resolve(&request, Transport::Udp, key).await;
                // The resolution slot is free once resolved, as over TCP: what is left (the
                // send, the metrics and the log line) costs about the same for every query.
                drop(permit);
                send(&shared, &socket, reply, peer).await;
                shared.record(recording);
            });
            None
        }
        Admission::Explain(work, permit) => {
            let (shared, socket) = (shared.clone(), socket.clone());
            tokio::spawn(async move {
                let (request, reply) = *work;
                let reply = shared.explain(&request, reply, Transport::Udp);
                drop(permit);
                send(&shared, &socket, reply, peer).await;
            });
            None
        }
    }
}

/// Sends a task's reply, through the rate limiter.
async fn send(shared: &Shared, socket: &UdpSocket, reply: Option<Vec<u8>>, peer: SocketAddr) {
    if let Some(reply) = reply.and_then(|r| shared.rate_limited(r, peer.ip())) {
        let _ = socket.send_to(&reply, peer).await;
    }
}
