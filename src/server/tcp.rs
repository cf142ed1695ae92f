//! The TCP listener (RFC 1035 §4.2.2, RFC 7766): two-byte length framing, pipelining (the
//! queries of one connection are resolved concurrently and answered as each completes,
//! RFC 7766 §6.2.1.1), an idle timeout, and bounds on connections and on queries in flight
//! per connection.
//!
//! A connection stops reading when it has been idle for [`IDLE_TIMEOUT`] (RFC 7766 §6.2.3),
//! when the client closes its side, or at shutdown; answers still being resolved are then
//! written before the connection closes.
//!
//! Limitations: no EDNS keepalive option (RFC 7828); a client that stops reading holds its
//! connection for at most [`WRITE_TIMEOUT`] per answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::respond::Transport;
use super::{Admission, Shared};

/// Queries of one connection being resolved at once; the connection is not read further
/// until one completes (back-pressure instead of an unbounded queue).
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 32;
/// RFC 7766 §6.2.3 suggests a timeout "of the order of seconds"; 10 s is unbound's default.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const ERROR_PAUSE: Duration = Duration::from_millis(5);

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
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many TCP connections; closing a new one");
            continue; // dropping the stream closes it
        };
        tokio::spawn(connection(shared.clone(), stream, peer, permit));
    }
}

async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
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
        // Cancelling a read mid-frame loses framing, but every path that cancels also stops
        // reading for good, so that never matters.
        let frame = tokio::select! {
            frame = tokio::time::timeout(IDLE_TIMEOUT, read_frame(&mut reader)) => frame,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let frame = match frame {
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => break, // the client closed its side
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TCP read error");
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, "TCP connection idle; closing");
                break;
            }
        };
        match shared.admit(&frame, peer.ip(), Transport::Tcp) {
            Admission::Immediate(None) => {}
            Admission::Immediate(Some(reply)) => {
                if answers.send(reply).await.is_err() {
                    break;
                }
            }
            Admission::Resolve(request, permit, _) => {
                let (shared, answers) = (shared.clone(), answers.clone());
                tokio::spawn(async move {
                    let reply = shared.resolve(&request, Transport::Tcp, None).await;
                    // The resolution slot is free once resolved: a client slow to read its
                    // answers holds only its own connection's slots, not the resolver's.
                    drop(permit);
                    if let Some(reply) = reply {
                        let _ = answers.send(reply).await;
                    }
                    drop(slot);
                });
            }
        }
    }
    // The writer ends once every in-flight task has sent its answer and dropped its sender.
    drop(answers);
    let _ = written.await;
}

/// Reads one length-prefixed message; None at a clean end of stream.
async fn read_frame(reader: &mut OwnedReadHalf) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut frame = vec![0u8; u16::from_be_bytes(len) as usize];
    reader.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

/// Writes answers in completion order, each with its length prefix in one write.
async fn write_answers(mut writer: OwnedWriteHalf, mut outbox: mpsc::Receiver<Vec<u8>>) {
    while let Some(answer) = outbox.recv().await {
        let Ok(len) = u16::try_from(answer.len()) else {
            continue; // cannot happen: answers are encoded for at most 65535 bytes
        };
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend(len.to_be_bytes());
        framed.extend(answer);
        match tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(&framed)).await {
            Ok(Ok(())) => {}
            _ => return, // the client is gone or not reading; remaining answers are dropped
        }
    }
    let _ = writer.shutdown().await;
}
