//! Bounded caches (LRU) for RRsets, negative answers (RFC 2308) and delegations. Server
//! health lives apart, in `servers.rs`. TTLs are clamped to [min_ttl, max_ttl] and aged
//! against the resolver's clock.
//!
//! Each RRset is stored under (owner, type) with the RRSIGs over it and, once validated, its
//! verdict (`security`), as unbound keeps a sec_status: a later hit reuses the verdict instead
//! of checking signatures again, and is never served at a trust level it has not earned (an
//! entry stored by a CD=1 resolution carries no verdict, so the next validating lookup
//! validates it). A verdict lowers the entry's expiry: to the signature's expiration, the
//! Original TTL and the keys' own expiry (RFC 4035 §5.3.3) when secure; to
//! [`BOGUS_TTL`] when bogus (RFC 9520 §3.2). A wildcard expansion keeps the NSEC/NSEC3 proof
//! that came with it (RFC 4035 §5.3.4), so a cached expansion can still be shown to DO clients.
//! Negative entries keep NXDOMAIN (the whole name) and NODATA (one type) apart.
//!
//! Every table is bounded in bytes (`cache.records_mib`, `negative_mib`, `delegations_mib`):
//! each entry is weighed by its records' wire size plus its overhead when stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::bounded::{records_bytes, BytesLru, ENTRY_OVERHEAD};
use super::delegation::Delegation;
use crate::config::{CacheConfig, Config};
use crate::explain::verdict::Security;
use hickory_proto::rr::{Name, RData, Record, RecordType};

pub use crate::dnssec::fetch::{is_wildcard_expansion, rrsets, Evidence, NegativeKind, BOGUS_TTL};

/// What a negative entry denies: the whole name, or one type at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denied {
    Name,
    Type(RecordType),
}

impl Denied {
    pub fn of(kind: NegativeKind, rtype: RecordType) -> Denied {
        match kind {
            NegativeKind::NxDomain => Denied::Name,
            NegativeKind::NoData => Denied::Type(rtype),
        }
    }
}

struct Entry {
    records: Vec<Record>,
    evidence: Evidence,
    security: Option<Security>,
    expires: u64,
}

impl Entry {
    /// The records and their evidence (with the verdict) as a hit at `now` returns them:
    /// every TTL aged to what is left of the entry.
    fn served(&self, key: &(Name, RecordType), now: u64) -> (Vec<Record>, Evidence) {
        let left = (self.expires - now) as u32;
        let mut records = aged(&self.records, left);
        records.iter_mut().for_each(|r| r.ttl = left);
        let evidence = Evidence {
            zone: self.evidence.zone.clone(),
            dnssec: aged(&self.evidence.dnssec, left),
            settled: self
                .security
                .iter()
                .map(|s| (key.0.clone(), key.1, s.clone(), self.expires))
                .collect(),
            denial: None,
            non_authoritative: self.evidence.non_authoritative,
        };
        (records, evidence)
    }
}

struct Negative {
    kind: NegativeKind,
    soa: Option<Record>,
    evidence: Evidence,
    expires: u64,
}

pub struct Cache {
    records: Mutex<BytesLru<(Name, RecordType), Entry>>,
    negative: Mutex<BytesLru<(Name, Denied), Negative>>,
    delegations: Mutex<BytesLru<Name, (Delegation, u64)>>,
    min_ttl: u32,
    max_ttl: u32,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

/// Records with their TTL lowered to what is left of `left` seconds.
fn aged(records: &[Record], left: u32) -> Vec<Record> {
    records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.ttl = r.ttl.min(left);
            r
        })
        .collect()
}

impl Cache {
    pub fn new(config: &Config) -> Cache {
        Cache {
            records: Mutex::new(BytesLru::new(CacheConfig::bytes(config.cache.records_mib))),
            negative: Mutex::new(BytesLru::new(CacheConfig::bytes(config.cache.negative_mib))),
            delegations: Mutex::new(BytesLru::new(CacheConfig::bytes(
                config.cache.delegations_mib,
            ))),
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

    /// A cached RRset with TTLs aged to `now`; its evidence carries the verdict, if any.
    pub fn rrset(
        &self,
        name: &Name,
        rtype: RecordType,
        now: u64,
    ) -> Option<(Vec<Record>, Evidence)> {
        let key = (name.to_lowercase(), rtype);
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let found = match records.get(&key) {
            Some(entry) if entry.expires > now => Some(entry.served(&key, now)),
            Some(_) => {
                records.pop(&key);
                None
            }
            None => None,
        };
        self.count(found.is_some());
        found
    }

    /// Stores one RRset (all records share owner and type) with the RRSIGs over it, and the
    /// NSEC/NSEC3 proof when the signatures show a wildcard expansion. A verdict the same data
    /// already earned is kept.
    pub fn store_rrset(&self, rrset: &[Record], evidence: &Evidence, now: u64) {
        let Some(first) = rrset.first() else { return };
        let ttl = self.clamp(rrset.iter().map(|r| r.ttl).min().unwrap_or(0));
        if ttl == 0 {
            return;
        }
        let key = (first.name.to_lowercase(), first.record_type());
        let mut dnssec = evidence.signatures_over(&first.name, first.record_type());
        if is_wildcard_expansion(&dnssec, &first.name) {
            dnssec.extend(evidence.proofs().cloned());
        }
        let mut entries = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = entries.peek(&key) {
            if old.expires > now && same_data(&old.records, rrset) && old.security.is_some() {
                return;
            }
            if old.expires > now && evidence.non_authoritative && !old.evidence.non_authoritative {
                return;
            }
        }
        let entry = Entry {
            records: rrset.to_vec(),
            evidence: Evidence {
                zone: evidence.zone.clone(),
                dnssec,
                settled: Vec::new(),
                denial: None,
                non_authoritative: evidence.non_authoritative,
            },
            security: None,
            expires: now + ttl as u64,
        };
        let bytes =
            ENTRY_OVERHEAD + records_bytes(&entry.records) + records_bytes(&entry.evidence.dnssec);
        entries.put(key, entry, bytes);
    }

    /// Groups `records` by owner and type and stores each RRset.
    pub fn store_all(&self, records: &[Record], evidence: &Evidence, now: u64) {
        for set in rrsets(records) {
            self.store_rrset(&set, evidence, now);
        }
    }

    /// The DNAME RRset cached at the closest strict ancestor of `name` that has one (RFC 6672
    /// §2.3: a DNAME redirects every name below its owner), without counting hits or misses.
    pub fn dname_above(&self, name: &Name, now: u64) -> Option<(Vec<Record>, Evidence)> {
        let mut owner = name.to_lowercase();
        while !owner.is_root() {
            owner = owner.base_name();
            let key = (owner.clone(), RecordType::DNAME);
            let mut entries = self.records.lock().unwrap_or_else(|e| e.into_inner());
            let Some(entry) = entries.get(&key) else {
                continue;
            };
            if entry.expires > now {
                return Some(entry.served(&key, now));
            }
        }
        None
    }

    /// Records the verdict on a cached RRset, if the cache still holds this very data, and
    /// lowers its expiry to `until`.
    pub fn settle(&self, rrset: &[Record], security: &Security, until: u64) {
        let Some(first) = rrset.first() else { return };
        let key = (first.name.to_lowercase(), first.record_type());
        let mut entries = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.peek_mut(&key) {
            if same_data(&entry.records, rrset) {
                entry.security = Some(security.clone());
                entry.expires = entry.expires.min(until);
            }
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
            (name.to_lowercase(), Denied::Name),
            (name.to_lowercase(), Denied::Type(rtype)),
        ] {
            if let Some(entry) = negative.get(&key) {
                if entry.expires > now {
                    let left = (entry.expires - now) as u32;
                    let mut soa = entry.soa.clone();
                    if let Some(s) = soa.as_mut() {
                        s.ttl = left;
                    }
                    let mut evidence = entry.evidence.clone();
                    evidence.dnssec = aged(&evidence.dnssec, left);
                    return Some((entry.kind, soa, evidence));
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
        let mut evidence = evidence.clone();
        evidence.settled.clear();
        evidence.denial = None;
        let bytes = ENTRY_OVERHEAD + records_bytes(soa.iter()) + records_bytes(&evidence.dnssec);
        self.negative.lock().unwrap_or_else(|e| e.into_inner()).put(
            (name.to_lowercase(), Denied::of(kind, rtype)),
            Negative {
                kind,
                soa,
                evidence,
                expires: now + ttl as u64,
            },
            bytes,
        );
    }

    /// Records the verdict on a cached denial, if the cache still holds this very denial
    /// (the same SOA and proofs), and lowers its expiry to `until`.
    pub fn settle_negative(
        &self,
        name: &Name,
        denied: Denied,
        soa: Option<&Record>,
        evidence: &Evidence,
        security: &Security,
        until: u64,
    ) {
        let key = (name.to_lowercase(), denied);
        let mut negative = self.negative.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = negative.peek_mut(&key) {
            let same_soa = match (&entry.soa, soa) {
                (Some(a), Some(b)) => same_data(std::slice::from_ref(a), std::slice::from_ref(b)),
                (None, None) => true,
                _ => false,
            };
            if same_soa && same_data(&entry.evidence.dnssec, &evidence.dnssec) {
                entry.evidence.denial = Some(security.clone());
                entry.expires = entry.expires.min(until);
            }
        }
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
                delegation.bytes(),
            );
    }

    /// Estimated bytes held: (records, negative answers, delegations).
    pub fn bytes(&self) -> (usize, usize, usize) {
        fn bytes_of<K: std::hash::Hash + Eq, V>(table: &Mutex<BytesLru<K, V>>) -> usize {
            table.lock().unwrap_or_else(|e| e.into_inner()).bytes()
        }
        (
            bytes_of(&self.records),
            bytes_of(&self.negative),
            bytes_of(&self.delegations),
        )
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

/// The same records, whatever their TTLs (the cache ages them).
fn same_data(a: &[Record], b: &[Record]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.name == y.name && x.dns_class == y.dns_class && x.data == y.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::A;

    fn a(last: u8) -> Vec<Record> {
        let name = Name::from_ascii("www.x.lab.").unwrap();
        vec![Record::from_rdata(
            name,
            300,
            RData::A(A::new(192, 0, 2, last)),
        )]
    }

    fn ranked(non_authoritative: bool) -> Evidence {
        Evidence {
            zone: Some(Name::from_ascii("x.lab.").unwrap()),
            non_authoritative,
            ..Evidence::default()
        }
    }

    fn held(cache: &Cache, now: u64) -> (Vec<Record>, bool) {
        let name = Name::from_ascii("www.x.lab.").unwrap();
        let (records, evidence) = cache.rrset(&name, RecordType::A, now).unwrap();
        (records, evidence.non_authoritative)
    }

    #[test]
    fn data_without_aa_never_replaces_authoritative_data() {
        let cache = Cache::new(&Config::default());
        cache.store_rrset(&a(1), &ranked(false), 1000);
        cache.store_rrset(&a(2), &ranked(true), 1001);
        let (records, non_authoritative) = held(&cache, 1002);
        assert_eq!(records[0].data, a(1)[0].data);
        assert!(!non_authoritative);
        // Authoritative data replaces data without AA, which keeps its rank until then.
        let cache = Cache::new(&Config::default());
        cache.store_rrset(&a(2), &ranked(true), 1000);
        assert!(held(&cache, 1001).1);
        cache.store_rrset(&a(1), &ranked(false), 1001);
        let (records, non_authoritative) = held(&cache, 1002);
        assert_eq!(records[0].data, a(1)[0].data);
        assert!(!non_authoritative);
        // Once the authoritative entry expired, data without AA is taken.
        cache.store_rrset(&a(3), &ranked(true), 1400);
        assert_eq!(held(&cache, 1401).0[0].data, a(3)[0].data);
    }
}
