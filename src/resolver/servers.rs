//! What the resolver remembers about upstream servers, apart from record data: smoothed RTT
//! (for selection), EDNS support, and lame marks per (server, zone) with the reason (so a
//! later query still explains why a server was skipped).
//!
//! Every table is a bounded LRU split into shards by key hash, so concurrent queries about
//! different servers rarely meet on one lock, and a hostile zone that refers random
//! subzones to a shared server can only recycle lame marks, never grow them. Marks expire:
//! a lame mark after [`LAME_TTL`], a "does not speak EDNS" mark after [`EDNS_RETRY`], after
//! which the server is probed with EDNS again.

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::rr::Name;
use lru::LruCache;

use crate::explain::event::ServerFailure;

/// How long a lame mark lasts (unbound's infra-lame-ttl is 900 s).
const LAME_TTL: u64 = 600;
/// How long a server that rejected EDNS is asked without it before EDNS is tried again
/// (RFC 6891 §7 leaves the period to the implementation; about an hour, like BIND's).
pub const EDNS_RETRY: u64 = 3600;
/// RTT assumed for a server never heard from: low enough that new servers get tried.
const UNKNOWN_RTT_MS: u32 = 300;
/// Shards per table.
const SHARDS: usize = 16;

#[derive(Debug, Clone, Copy, Default)]
struct Info {
    srtt_ms: Option<u32>,
    /// Until when the server is asked without EDNS.
    edns_broken_until: Option<u64>,
    /// Until when the server is asked without 0x20 (it did not echo the letter case).
    case_broken_until: Option<u64>,
}

/// A bounded LRU map split into shards by key hash.
struct Sharded<K, V> {
    shards: Vec<Mutex<LruCache<K, V>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl<K: Hash + Eq + Clone, V> Sharded<K, V> {
    fn new(capacity: usize) -> Self {
        let per_shard = NonZeroUsize::new(capacity.div_ceil(SHARDS).max(1)).expect("non-zero");
        Sharded {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per_shard)))
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, LruCache<K, V>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

pub struct ServerHealth {
    servers: Sharded<IpAddr, Info>,
    lame: Sharded<(IpAddr, Name), (ServerFailure, u64)>,
}

impl ServerHealth {
    /// Remembers at most `capacity` servers and `4 × capacity` lame marks.
    pub fn new(capacity: usize) -> ServerHealth {
        ServerHealth {
            servers: Sharded::new(capacity),
            lame: Sharded::new(capacity.saturating_mul(4)),
        }
    }

    fn update(&self, addr: IpAddr, f: impl FnOnce(&mut Info)) {
        let mut shard = self.servers.shard(&addr);
        match shard.get_mut(&addr) {
            Some(info) => f(info),
            None => {
                let mut info = Info::default();
                f(&mut info);
                shard.put(addr, info);
            }
        }
    }

    fn info(&self, addr: IpAddr) -> Info {
        self.servers
            .shard(&addr)
            .peek(&addr)
            .copied()
            .unwrap_or_default()
    }

    /// RFC 6298-style smoothing: srtt = 7/8 srtt + 1/8 sample.
    pub fn record_rtt(&self, addr: IpAddr, ms: u32) {
        self.update(addr, |i| {
            i.srtt_ms = Some(match i.srtt_ms {
                Some(s) => (s.saturating_mul(7).saturating_add(ms)) / 8,
                None => ms,
            })
        });
    }

    /// A timeout makes the server look slow, so others are preferred next time.
    pub fn record_timeout(&self, addr: IpAddr, timeout_ms: u32) {
        self.update(addr, |i| {
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
        self.info(addr).srtt_ms.unwrap_or(UNKNOWN_RTT_MS)
    }

    /// Whether `addr` is to be asked without EDNS at `now`.
    pub fn edns_broken(&self, addr: IpAddr, now: u64) -> bool {
        self.info(addr).edns_broken_until.is_some_and(|t| t > now)
    }

    pub fn set_edns_broken(&self, addr: IpAddr, now: u64) {
        self.update(addr, |i| i.edns_broken_until = Some(now + EDNS_RETRY));
    }

    /// Whether `addr` is to be asked with the query name in random letter case at `now`.
    pub fn echoes_case(&self, addr: IpAddr, now: u64) -> bool {
        self.info(addr).case_broken_until.is_none_or(|t| t <= now)
    }

    /// `addr` answered with the question in other letter case: ask it without 0x20 for
    /// [`EDNS_RETRY`] seconds.
    pub fn set_case_broken(&self, addr: IpAddr, now: u64) {
        self.update(addr, |i| i.case_broken_until = Some(now + EDNS_RETRY));
    }

    pub fn mark_lame(&self, addr: IpAddr, zone: &Name, failure: ServerFailure, now: u64) {
        let key = (addr, zone.to_lowercase());
        self.lame.shard(&key).put(key, (failure, now + LAME_TTL));
    }

    /// Why `addr` is known to be lame for `zone`, if it is.
    pub fn lame_reason(&self, addr: IpAddr, zone: &Name, now: u64) -> Option<ServerFailure> {
        let key = (addr, zone.to_lowercase());
        let mut shard = self.lame.shard(&key);
        match shard.get(&key) {
            Some((failure, expires)) if *expires > now => Some(*failure),
            Some(_) => {
                shard.pop(&key);
                None
            }
            None => None,
        }
    }

    /// (servers remembered, lame marks held), for the metrics and the tests.
    pub fn sizes(&self) -> (usize, usize) {
        (self.servers.len(), self.lame.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lame_marks_are_bounded_and_expire() {
        let health = ServerHealth::new(16);
        let server: IpAddr = "127.0.0.9".parse().unwrap();
        for i in 0..10_000 {
            let zone = Name::from_ascii(format!("z{i}.lab.")).unwrap();
            health.mark_lame(server, &zone, ServerFailure::Refused, 0);
        }
        let (_, marks) = health.sizes();
        assert!(marks <= 64 + SHARDS, "{marks} lame marks kept");
        let last = Name::from_ascii("z9999.lab.").unwrap();
        assert_eq!(
            health.lame_reason(server, &last, 1),
            Some(ServerFailure::Refused)
        );
        assert_eq!(
            health.lame_reason(server, &last, LAME_TTL + 1),
            None,
            "expired"
        );
    }

    #[test]
    fn an_edns_mark_expires_and_edns_is_tried_again() {
        let health = ServerHealth::new(16);
        let server: IpAddr = "127.0.0.9".parse().unwrap();
        health.set_edns_broken(server, 100);
        assert!(health.edns_broken(server, 100 + EDNS_RETRY - 1));
        assert!(!health.edns_broken(server, 100 + EDNS_RETRY));
    }
}
