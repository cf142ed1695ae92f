//! The TCP listener (RFC 1035 §4.2.2, RFC 7766): two-byte length framing, pipelining (the
//! queries of one connection are resolved concurrently and answered as each completes,
//! RFC 7766 §6.2.1.1), and bounds that keep any client from holding the connections:
//!
//! - the ACL is checked when a connection is accepted, before a slot is taken: a client
//!   outside `allow` gets one of [`REFUSAL_CONNECTIONS`] slots of its own, in which one
//!   query is answered REFUSED (minimal, as over UDP) within `tcp.read_timeout_ms`, and is
//!   closed at once when those are taken;
//! - allowed clients share `tcp.connections` slots (default 256), at most
//!   `tcp.connections_per_client` (default 32) per client, an IPv4 address or an IPv6 /64;
//! - a connection waits at most `tcp.idle_timeout_ms` (default 10 s, RFC 7766 §6.2.3) for
//!   the first byte of its next message, and only `tcp.read_timeout_ms` (default 2 s) while
//!   more than half the slots are taken;
//! - once a message's first byte has arrived, the whole message must follow within
//!   `tcp.read_timeout_ms`: a slowloris client that sends a length and then a byte a second
//!   is closed after 2 s, not when the idle timeout would have been reached.
//!
//! A connection stops reading at any of these timeouts, when the client closes its side, or
//! at shutdown; answers still being resolved are then written before the connection closes.
//!
//! Limitations: no EDNS keepalive option (RFC 7828); a client that stops reading holds its
//! connection for at most [`WRITE_TIMEOUT`] per answer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use super::respond::{self, Transport};
use super::{Admission, Shared};
use crate::config::TcpConfig;

/// Queries of one connection being resolved at once; the connection is not read further
/// until one completes (back-pressure instead of an unbounded queue).
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 32;
/// Connections from clients outside `allow` served at once (one REFUSED each).
pub const REFUSAL_CONNECTIONS: usize = 16;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const ERROR_PAUSE: Duration = Duration::from_millis(5);

/// The TCP bounds in effect, and the connections each client holds.
pub(super) struct Bounds {
    pub connections: u32,
    per_client: usize,
    idle: Duration,
    read: Duration,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    refusals: Arc<Semaphore>,
}

/// One client's share of the connections, given back when the connection ends.
pub(super) struct ClientSlot {
    client: IpAddr,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.client);
            }
        }
    }
}

impl Bounds {
    pub fn new(config: &TcpConfig) -> Bounds {
        Bounds {
            connections: u32::try_from(config.connections)
                .unwrap_or(u32::MAX)
                .min(Semaphore::MAX_PERMITS as u32),
            per_client: config.connections_per_client,
            idle: Duration::from_millis(config.idle_timeout_ms),
            read: Duration::from_millis(config.read_timeout_ms),
            held: Arc::default(),
            refusals: Arc::new(Semaphore::new(REFUSAL_CONNECTIONS)),
        }
    }

    /// A connection slot for `client`, unless it already holds its share.
    fn enter(&self, client: IpAddr) -> Option<ClientSlot> {
        let client = client_key(client);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(client).or_insert(0);
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            client,
            held: self.held.clone(),
        })
    }
}

/// What counts as one client: an IPv4 address, or an IPv6 /64 (one host's usual share).
fn client_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

pub(super) async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: wait rather than spin.
                tracing::debug!(error = %e, "TCP accept error");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        // The ACL first: a client outside `allow` never takes a slot meant for clients.
        if !respond::is_allowed(peer.ip(), &shared.allow) {
            match shared.tcp.refusals.clone().try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(refuse(shared.clone(), stream, peer, permit));
                }
                Err(_) => tracing::debug!(%peer, "TCP client outside allow; closed at once"),
            }
            continue; // dropping the stream closes it
        }
        let Some(client) = shared.tcp.enter(peer.ip()) else {
            tracing::debug!(%peer, "client holds its share of TCP connections; closing a new one");
            continue;
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many TCP connections; closing a new one");
            continue;
        };
        tokio::spawn(connection(shared.clone(), stream, peer, (permit, client)));
    }
}

/// A client outside `allow`: one message read within the read timeout, answered (REFUSED,
/// no larger than the query) and the connection closed.
async fn refuse(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
) {
    let (mut reader, mut writer) = stream.into_split();
    let read = shared.tcp.read;
    let Frame::Message(frame) = read_frame(&mut reader, read, read).await else {
        return;
    };
    if let Admission::Immediate(Some(reply)) = shared.admit(&frame, peer.ip(), Transport::Tcp) {
        let _ = tokio::time::timeout(read, writer.write_all(&framed(reply))).await;
        let _ = writer.shutdown().await;
    }
}

async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    _slots: (OwnedSemaphorePermit, ClientSlot),
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (answers, outbox) = mpsc::channel(MAX_IN_FLIGHT_PER_CONNECTION);
    let written = tokio::spawn(write_answers(writer, outbox));
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT_PER_CONNECTION));
    let mut stopping = shared.stopping.clone();
    loop {
        let slot = tokio::select! {
            slot = in_flight.clone().acquire_owned() => slot,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = slot else { break };
        let Some(frame) = next_frame(&shared, &mut reader, &mut stopping, peer).await else {
            break;
        };
        if !handle(&shared, &frame, peer, &answers, slot).await {
            break;
        }
    }
    // The writer ends once every in-flight task has sent its answer and dropped its sender.
    drop(answers);
    let _ = written.await;
}

/// The next message of a connection, or `None` when it is to be closed: shutdown, the
/// client closed it, idle too long, too slow to send a whole message, or a read error.
async fn next_frame(
    shared: &Shared,
    reader: &mut OwnedReadHalf,
    stopping: &mut watch::Receiver<bool>,
    peer: SocketAddr,
) -> Option<Vec<u8>> {
    // Under pressure, idle connections make room sooner.
    let crowded = (shared.connections.available_permits() as u32) < shared.tcp.connections / 2;
    let idle = if crowded {
        shared.tcp.idle.min(shared.tcp.read)
    } else {
        shared.tcp.idle
    };
    // Cancelling a read mid-frame loses framing, but every path that cancels also stops
    // reading for good, so that never matters.
    let frame = tokio::select! {
        frame = read_frame(reader, idle, shared.tcp.read) => frame,
        _ = stopping.wait_for(|stop| *stop) => return None,
    };
    match frame {
        Frame::Message(frame) => Some(frame),
        Frame::Closed => None,
        Frame::Idle => {
            tracing::debug!(%peer, "TCP connection idle; closing");
            None
        }
        Frame::Slow => {
            tracing::debug!(%peer, "TCP message not complete within the read timeout; closing");
            None
        }
        Frame::Failed(e) => {
            tracing::debug!(%peer, error = %e, "TCP read error");
            None
        }
    }
}

/// Answers one message of a connection, holding `slot` (one of the connection's in-flight
/// answers) until its answer is handed to the writer. False when the writer is gone.
async fn handle(
    shared: &Arc<Shared>,
    frame: &[u8],
    peer: SocketAddr,
    answers: &mpsc::Sender<Vec<u8>>,
    slot: OwnedSemaphorePermit,
) -> bool {
    match shared.admit(frame, peer.ip(), Transport::Tcp) {
        Admission::Immediate(None) => true,
        Admission::Immediate(Some(reply)) => answers.send(reply).await.is_ok(),
        Admission::Resolve(request, permit, _) => {
            let (shared, answers) = (shared.clone(), answers.clone());
            tokio::spawn(async move {
                let (reply, recording) = shared.resolve(&request, Transport::Tcp, None).await;
                // The resolution slot is free once resolved: a client slow to read its
                // answers holds only its own connection's slots, not the resolver's.
                drop(permit);
                if let Some(reply) = reply {
                    let _ = answers.send(reply).await;
                }
                // After the hand-off to the writer, within the connection's slot.
                shared.record(recording);
                drop(slot);
            });
            true
        }
        Admission::Explain(work, permit) => {
            let (request, reply) = *work;
            let reply = shared.explain(&request, reply, Transport::Tcp);
            drop(permit);
            match reply {
                Some(reply) => answers.send(reply).await.is_ok(),
                None => true,
            }
        }
    }
}

/// What reading one message gave.
enum Frame {
    Message(Vec<u8>),
    /// A clean end of stream (or one inside a message).
    Closed,
    /// Nothing arrived within the idle timeout.
    Idle,
    /// A message began but did not complete within the read timeout.
    Slow,
    Failed(std::io::Error),
}

/// Reads one length-prefixed message: its first byte within `idle`, all of it within `read`
/// of that first byte.
async fn read_frame(reader: &mut OwnedReadHalf, idle: Duration, read: Duration) -> Frame {
    let mut len = [0u8; 2];
    match tokio::time::timeout(idle, reader.read(&mut len[..1])).await {
        Err(_) => return Frame::Idle,
        Ok(Ok(0)) => return Frame::Closed,
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Frame::Failed(e),
    }
    let rest = async {
        reader.read_exact(&mut len[1..]).await?;
        let mut frame = vec![0u8; u16::from_be_bytes(len) as usize];
        reader.read_exact(&mut frame).await?;
        Ok::<_, std::io::Error>(frame)
    };
    match tokio::time::timeout(read, rest).await {
        Err(_) => Frame::Slow,
        Ok(Ok(frame)) => Frame::Message(frame),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Frame::Closed,
        Ok(Err(e)) => Frame::Failed(e),
    }
}

/// An answer with its two-byte length prefix, for one write.
fn framed(answer: Vec<u8>) -> Vec<u8> {
    let mut framed = Vec::with_capacity(answer.len() + 2);
    // Answers are encoded for at most 65535 bytes.
    framed.extend((answer.len().min(u16::MAX as usize) as u16).to_be_bytes());
    framed.extend(answer);
    framed
}

/// Writes answers in completion order, each with its length prefix in one write.
async fn write_answers(mut writer: OwnedWriteHalf, mut outbox: mpsc::Receiver<Vec<u8>>) {
    while let Some(answer) = outbox.recv().await {
        if answer.len() > u16::MAX as usize {
            continue; // cannot happen: answers are encoded for at most 65535 bytes
        }
        match tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(&framed(answer))).await {
            Ok(Ok(())) => {}
            _ => return, // the client is gone or not reading; remaining answers are dropped
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_share_and_gets_it_back() {
        let bounds = Bounds::new(&TcpConfig {
            connections_per_client: 2,
            ..TcpConfig::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = bounds.enter(a).unwrap();
        let _second = bounds.enter(a).unwrap();
        assert!(bounds.enter(a).is_none());
        assert!(bounds.enter("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        let _third = bounds.enter(a).unwrap();
        // One IPv6 /64 is one client; a mapped IPv4 address is that address.
        let _x = bounds.enter("2001:db8::1".parse().unwrap()).unwrap();
        let _y = bounds.enter("2001:db8::ffff:2".parse().unwrap()).unwrap();
        assert!(bounds.enter("2001:db8::3".parse().unwrap()).is_none());
        assert!(bounds.enter("::ffff:192.0.2.1".parse().unwrap()).is_none());
    }
}
