//! Batched UDP I/O on Linux: `recvmmsg(2)` and `sendmmsg(2)` move up to [`BATCH`] datagrams
//! per system call, which is where a caching resolver under load spends most of its time.
//! The unsafe code is confined here, behind two safe functions used through tokio's
//! readiness (`try_io`), so a socket with nothing to read parks the task as usual.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use socket2::SockAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Largest query accepted over UDP (EDNS clients rarely send more than a few hundred bytes).
pub const MAX_QUERY: usize = 4096;

/// Receives up to `bufs.len()` datagrams without blocking. Returns (length, sender) for each;
/// datagrams larger than a buffer are reported with length 0 (to be dropped).
pub fn recv_batch(
    socket: &UdpSocket,
    bufs: &mut [Vec<u8>],
) -> io::Result<Vec<(usize, SocketAddr)>> {
    socket.try_io(Interest::READABLE, || {
        let count = bufs.len().min(BATCH);
        // SAFETY: zeroed sockaddr_storage/mmsghdr are valid initial values for these C structs.
        let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for i in 0..count {
            iovs[i] = libc::iovec {
                iov_base: bufs[i].as_mut_ptr().cast(),
                iov_len: bufs[i].len(),
            };
            msgs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every pointer in `msgs` refers to live locals or to `bufs`, which outlive
        // the call; `count` entries are initialised.
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::with_capacity(received as usize);
        for i in 0..received as usize {
            let truncated = msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let len = if truncated {
                0
            } else {
                msgs[i].msg_len as usize
            };
            match socket_addr(&addrs[i]) {
                Some(peer) => out.push((len, peer)),
                None => out.push((0, SocketAddr::from(([0, 0, 0, 0], 0)))),
            }
        }
        Ok(out)
    })
}

/// Sends as many of `packets` as the kernel takes in one call without blocking; returns how
/// many went out (the caller sends the rest one by one).
pub fn send_batch(socket: &UdpSocket, packets: &[(Vec<u8>, SocketAddr)]) -> io::Result<usize> {
    socket.try_io(Interest::WRITABLE, || {
        let count = packets.len().min(BATCH);
        let addrs: Vec<SockAddr> = packets[..count]
            .iter()
            .map(|(_, a)| SockAddr::from(*a))
            .collect();
        // SAFETY: as in recv_batch; the kernel only reads through these pointers.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for i in 0..count {
            iovs[i] = libc::iovec {
                iov_base: packets[i].0.as_ptr() as *mut libc::c_void,
                iov_len: packets[i].0.len(),
            };
            msgs[i].msg_hdr.msg_name = addrs[i].as_ptr() as *mut libc::c_void;
            msgs[i].msg_hdr.msg_namelen = addrs[i].len();
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: pointers refer to `packets`, `addrs` and locals, all alive for the call.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sent as usize)
    })
}

/// The sender's address as the kernel wrote it.
fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in, which it is large
            // enough and suitably aligned for.
            let v4 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let v6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = std::net::Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
