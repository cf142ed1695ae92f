//! Bounded caches (LRU) for RRsets, negative answers (RFC 2308) and delegations. Server
//! health lives apart, in `servers.rs`. TTLs are clamped to [min_ttl, max_ttl] and aged
//! against the resolver's clock.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use lru::LruCache;

use super::delegation::Delegation;
use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeKind {
    NxDomain,
    NoData,
}

struct Entry {
    records: Vec<Record>,
    evidence: Evidence,
    expires: u64,
}

struct Negative {
    kind: NegativeKind,
    soa: Option<Record>,
    evidence: Evidence,
    expires: u64,
}

/// Splits records into RRsets (same owner and type), keeping their order.
pub fn rrsets(records: &[Record]) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    for r in records {
        match sets
            .iter_mut()
            .find(|s| s[0].name == r.name && s[0].record_type() == r.record_type())
        {
            Some(set) => set.push(r.clone()),
            None => sets.push(vec![r.clone()]),
        }
    }
    sets
}

/// What a validator needs besides the records: the zone that served them and the DNSSEC
/// records that came with them (RRSIGs over them; NSEC/NSEC3 proofs and their RRSIGs).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub zone: Option<Name>,
    pub dnssec: Vec<Record>,
}

impl Evidence {
    /// The RRSIGs over `owner`/`rtype` among the evidence.
    pub fn signatures_over(&self, owner: &Name, rtype: RecordType) -> Vec<Record> {
        self.dnssec
            .iter()
            .filter(|r| &r.name == owner)
            .filter(|r| {
                matches!(&r.data, RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig))
                    if sig.input().type_covered == rtype)
            })
            .cloned()
            .collect()
    }
}

pub struct Cache {
    records: Mutex<LruCache<(Name, RecordType), Entry>>,
    negative: Mutex<LruCache<(Name, RecordType), Negative>>,
    delegations: Mutex<LruCache<Name, (Delegation, u64)>>,
    min_ttl: u32,
    max_ttl: u32,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

fn capacity(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n.max(1)).expect("at least 1")
}

/// The key NXDOMAIN is stored under: it denies every type at the name.
const ANY_TYPE: RecordType = RecordType::ANY;

impl Cache {
    pub fn new(config: &Config) -> Cache {
        Cache {
            records: Mutex::new(LruCache::new(capacity(config.cache.records))),
            negative: Mutex::new(LruCache::new(capacity(config.cache.negative))),
            delegations: Mutex::new(LruCache::new(capacity(config.cache.delegations))),
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn clamp(&self, ttl: u32) -> u32 {
        ttl.clamp(self.min_ttl, self.max_ttl)
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A cached RRset with TTLs aged to `now`.
    pub fn rrset(
        &self,
        name: &Name,
        rtype: RecordType,
        now: u64,
    ) -> Option<(Vec<Record>, Evidence)> {
        let key = (name.to_lowercase(), rtype);
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let found = match records.get(&key) {
            Some(entry) if entry.expires > now => {
                let left = (entry.expires - now) as u32;
                let age = |records: &[Record]| -> Vec<Record> {
                    records
                        .iter()
                        .map(|r| {
                            let mut r = r.clone();
                            r.ttl = r.ttl.min(left);
                            r
                        })
                        .collect()
                };
                let evidence = Evidence {
                    zone: entry.evidence.zone.clone(),
                    dnssec: age(&entry.evidence.dnssec),
                };
                let mut records = age(&entry.records);
                records.iter_mut().for_each(|r| r.ttl = left);
                Some((records, evidence))
            }
            Some(_) => {
                records.pop(&key);
                None
            }
            None => None,
        };
        self.count(found.is_some());
        found
    }

    /// Stores one RRset (all records share owner and type) with the RRSIGs over it.
    pub fn store_rrset(&self, rrset: &[Record], evidence: &Evidence, now: u64) {
        let Some(first) = rrset.first() else { return };
        let ttl = self.clamp(rrset.iter().map(|r| r.ttl).min().unwrap_or(0));
        if ttl == 0 {
            return;
        }
        let key = (first.name.to_lowercase(), first.record_type());
        let entry = Entry {
            records: rrset.to_vec(),
            evidence: Evidence {
                zone: evidence.zone.clone(),
                dnssec: evidence.signatures_over(&first.name, first.record_type()),
            },
            expires: now + ttl as u64,
        };
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, entry);
    }

    /// Groups `records` by owner and type and stores each RRset.
    pub fn store_all(&self, records: &[Record], evidence: &Evidence, now: u64) {
        for set in rrsets(records) {
            self.store_rrset(&set, evidence, now);
        }
    }

    pub fn negative(
        &self,
        name: &Name,
        rtype: RecordType,
        now: u64,
    ) -> Option<(NegativeKind, Option<Record>, Evidence)> {
        let mut negative = self.negative.lock().unwrap_or_else(|e| e.into_inner());
        for key in [
            (name.to_lowercase(), ANY_TYPE),
            (name.to_lowercase(), rtype),
        ] {
            if let Some(entry) = negative.get(&key) {
                if entry.expires > now {
                    let mut soa = entry.soa.clone();
                    if let Some(s) = soa.as_mut() {
                        s.ttl = (entry.expires - now) as u32;
                    }
                    return Some((entry.kind, soa, entry.evidence.clone()));
                }
                negative.pop(&key);
            }
        }
        None
    }

    /// RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM).
    pub fn store_negative(
        &self,
        name: &Name,
        rtype: RecordType,
        kind: NegativeKind,
        soa: Option<Record>,
        evidence: &Evidence,
        now: u64,
    ) {
        let ttl = soa
            .as_ref()
            .map(|s| match &s.data {
                RData::SOA(data) => s.ttl.min(data.minimum),
                _ => s.ttl,
            })
            .unwrap_or(0);
        let ttl = self.clamp(ttl).min(3 * 3600); // RFC 2308 §5: a few hours at most
        if ttl == 0 {
            return;
        }
        let key_type = if kind == NegativeKind::NxDomain {
            ANY_TYPE
        } else {
            rtype
        };
        self.negative.lock().unwrap_or_else(|e| e.into_inner()).put(
            (name.to_lowercase(), key_type),
            Negative {
                kind,
                soa,
                evidence: evidence.clone(),
                expires: now + ttl as u64,
            },
        );
    }

    pub fn store_delegation(&self, delegation: &Delegation, ttl: u32, now: u64) {
        let ttl = self.clamp(ttl);
        if ttl == 0 {
            return;
        }
        self.delegations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(
                delegation.zone.to_lowercase(),
                (delegation.clone(), now + ttl as u64),
            );
    }

    /// The deepest cached delegation at or above `name`.
    pub fn closest_delegation(&self, name: &Name, now: u64) -> Option<Delegation> {
        let mut delegations = self.delegations.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = name.to_lowercase();
        loop {
            if let Some((delegation, expires)) = delegations.get(&n) {
                if *expires > now {
                    return Some(delegation.clone());
                }
                delegations.pop(&n);
            }
            if n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }
}
