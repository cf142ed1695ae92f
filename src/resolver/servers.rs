//! What the resolver remembers about upstream servers, apart from record data: smoothed RTT
//! (for selection), EDNS support, and lame marks per zone with the reason (so a later query
//! still explains why a server was skipped).

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::rr::Name;
use lru::LruCache;

use crate::explain::event::ServerFailure;

/// How long a lame mark lasts (unbound's infra-lame-ttl is 900 s).
const LAME_TTL: u64 = 600;
/// RTT assumed for a server never heard from: low enough that new servers get tried.
const UNKNOWN_RTT_MS: u32 = 300;

#[derive(Debug, Clone, Default)]
struct Info {
    srtt_ms: Option<u32>,
    edns_broken: bool,
    lame: Vec<(Name, ServerFailure, u64)>,
}

pub struct ServerHealth {
    servers: Mutex<LruCache<IpAddr, Info>>,
}

impl ServerHealth {
    pub fn new(capacity: usize) -> ServerHealth {
        ServerHealth {
            servers: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("non-zero"),
            )),
        }
    }

    fn with<T>(&self, addr: IpAddr, f: impl FnOnce(&mut Info) -> T) -> T {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        if !servers.contains(&addr) {
            servers.put(addr, Info::default());
        }
        f(servers.get_mut(&addr).expect("just inserted"))
    }

    /// RFC 6298-style smoothing: srtt = 7/8 srtt + 1/8 sample.
    pub fn record_rtt(&self, addr: IpAddr, ms: u32) {
        self.with(addr, |i| {
            i.srtt_ms = Some(match i.srtt_ms {
                Some(s) => (s * 7 + ms) / 8,
                None => ms,
            })
        });
    }

    /// A timeout makes the server look slow, so others are preferred next time.
    pub fn record_timeout(&self, addr: IpAddr, timeout_ms: u32) {
        self.with(addr, |i| {
            i.srtt_ms = Some(
                i.srtt_ms
                    .unwrap_or(UNKNOWN_RTT_MS)
                    .max(timeout_ms)
                    .saturating_mul(2)
                    .min(120_000),
            )
        });
    }

    pub fn srtt(&self, addr: IpAddr) -> u32 {
        self.with(addr, |i| i.srtt_ms.unwrap_or(UNKNOWN_RTT_MS))
    }

    pub fn edns_broken(&self, addr: IpAddr) -> bool {
        self.with(addr, |i| i.edns_broken)
    }

    pub fn set_edns_broken(&self, addr: IpAddr) {
        self.with(addr, |i| i.edns_broken = true);
    }

    pub fn mark_lame(&self, addr: IpAddr, zone: &Name, failure: ServerFailure, now: u64) {
        self.with(addr, |i| {
            i.lame.retain(|(z, _, expires)| z != zone && *expires > now);
            i.lame.push((zone.clone(), failure, now + LAME_TTL));
        });
    }

    /// Why `addr` is known to be lame for `zone`, if it is.
    pub fn lame_reason(&self, addr: IpAddr, zone: &Name, now: u64) -> Option<ServerFailure> {
        self.with(addr, |i| {
            i.lame
                .iter()
                .find(|(z, _, expires)| z == zone && *expires > now)
                .map(|(_, f, _)| *f)
        })
    }
}
