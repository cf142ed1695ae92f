//! The validator's key-verdict cache: per zone, the authenticated DNSKEY RRset or the reason
//! there is none (unbound's key cache keeps *why* a key went bad, and so does this one), with
//! when the verdict expires. Bounded in bytes like the resolver's caches (`cache.keys_mib`),
//! least recently used first out.
//!
//! Limitations: entries are weighed by an estimate (160 bytes a key, 256 a failure), not
//! measured; this is the resolver's `bounded::BytesLru` policy, kept here because `dnssec`
//! may not depend on the resolver.

use hickory_proto::rr::Name;
use lru::LruCache;

use super::chain::KeyVerdict;

/// Bytes an entry takes besides its keys: the name, the LRU links, the fields.
const ENTRY_OVERHEAD: usize = 192;

pub(super) struct KeyCache {
    lru: LruCache<Name, (KeyVerdict, u64, usize)>,
    bytes: usize,
    max_bytes: usize,
}

impl KeyCache {
    pub(super) fn new(max_bytes: usize) -> KeyCache {
        KeyCache {
            lru: LruCache::unbounded(),
            bytes: 0,
            max_bytes,
        }
    }

    /// The verdict on `zone` while it holds at `now`; an expired one is dropped.
    pub(super) fn get(&mut self, zone: &Name, now: u64) -> Option<KeyVerdict> {
        match self.lru.get(zone) {
            Some((verdict, expires, _)) if *expires > now => Some(verdict.clone()),
            Some(_) => {
                if let Some((_, _, bytes)) = self.lru.pop(zone) {
                    self.bytes -= bytes;
                }
                None
            }
            None => None,
        }
    }

    /// Stores the verdict on `zone` until `expires`, evicting the least recently used
    /// entries until the total fits. A verdict larger than the whole bound is not stored.
    pub(super) fn put(&mut self, zone: Name, verdict: KeyVerdict, expires: u64) {
        let bytes = ENTRY_OVERHEAD
            + match &verdict {
                KeyVerdict::Secure { keys, .. } => keys.len() * 160,
                KeyVerdict::NotSecure(_) => 256,
            };
        if bytes > self.max_bytes {
            if let Some((_, _, old)) = self.lru.pop(&zone) {
                self.bytes -= old;
            }
            return;
        }
        if let Some((_, (_, _, old))) = self.lru.push(zone, (verdict, expires, bytes)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        while self.bytes > self.max_bytes {
            match self.lru.pop_lru() {
                Some((_, (_, _, old))) => self.bytes -= old,
                None => break,
            }
        }
    }

    /// Estimated bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}
