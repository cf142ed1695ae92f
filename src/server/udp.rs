//! The UDP listener (RFC 1035 §4.2.1): one receive loop per socket. Screening and refusals
//! happen inline (cheap, and bounded by the socket itself); only admitted questions get a
//! task, and each holds a resolution slot, so the number of tasks is bounded too.
//!
//! Limitations: no response rate limiting; replies are sent from the receiving socket, so a
//! wildcard listen address answers from the kernel's chosen source address.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::respond::Transport;
use super::{Admission, Shared};

/// Pause after a receive error, so a persistent error cannot spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(5);

pub(super) async fn serve(shared: Arc<Shared>, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // ICMP errors from earlier sends surface here on Linux; they are not fatal.
                tracing::debug!(error = %e, "UDP receive error");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        match shared.admit(&buf[..len], peer.ip(), Transport::Udp) {
            Admission::Immediate(None) => {}
            Admission::Immediate(Some(reply)) => {
                let _ = socket.send_to(&reply, peer).await;
            }
            Admission::Resolve(request, permit) => {
                let (shared, socket) = (shared.clone(), socket.clone());
                tokio::spawn(async move {
                    if let Some(reply) = shared.resolve(&request, Transport::Udp).await {
                        let _ = socket.send_to(&reply, peer).await;
                    }
                    drop(permit);
                });
            }
        }
    }
}
