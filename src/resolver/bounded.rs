//! An LRU map bounded in bytes: each value is weighed when stored, and the least recently
//! used entries go first whenever the total exceeds the bound. The caches are bounded this
//! way because one entry can hold anything from a 40-byte A record to a 64 KB RRset: a
//! bound in entries would allow gigabytes.

use std::hash::Hash;

use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinEncodable;
use lru::LruCache;

/// Bytes a cached record is taken to occupy: its wire form (for what RDATA holds on the
/// heap) plus the in-memory size of a `Record` (280 bytes with hickory-proto 0.26: owner
/// name, RDATA enum, TTL, class) and allocator slack.
pub fn record_bytes(record: &Record) -> usize {
    const OVERHEAD: usize = 320;
    record.to_bytes().map(|b| b.len()).unwrap_or(64) + OVERHEAD
}

/// Bytes of a list of records.
pub fn records_bytes<'a>(records: impl IntoIterator<Item = &'a Record>) -> usize {
    records.into_iter().map(record_bytes).sum()
}

/// Bytes an entry takes besides its records: the key, the LRU links, the entry's fields.
pub const ENTRY_OVERHEAD: usize = 192;

pub struct BytesLru<K: Hash + Eq, V> {
    lru: LruCache<K, (V, usize)>,
    bytes: usize,
    max_bytes: usize,
}

impl<K: Hash + Eq, V> BytesLru<K, V> {
    pub fn new(max_bytes: usize) -> Self {
        BytesLru {
            lru: LruCache::unbounded(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Stores `value`, weighing `bytes`, and evicts the least recently used entries until
    /// the total fits. A value larger than the whole bound is not stored.
    pub fn put(&mut self, key: K, value: V, bytes: usize) {
        if bytes > self.max_bytes {
            if let Some((_, old)) = self.lru.pop(&key) {
                self.bytes -= old;
            }
            return;
        }
        if let Some((_, (_, old))) = self.lru.push(key, (value, bytes)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        while self.bytes > self.max_bytes {
            match self.lru.pop_lru() {
                Some((_, (_, old))) => self.bytes -= old,
                None => break,
            }
        }
    }

    /// The value, marked as recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.lru.get(key).map(|(v, _)| v)
    }

    /// The value, without touching its recency.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.lru.peek(key).map(|(v, _)| v)
    }

    /// Changes the value in place (its weight stays as stored).
    pub fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        self.lru.peek_mut(key).map(|(v, _)| v)
    }

    pub fn pop(&mut self, key: &K) -> Option<V> {
        let (value, bytes) = self.lru.pop(key)?;
        self.bytes -= bytes;
        Some(value)
    }

    /// Drops the least recently used entry.
    pub fn pop_lru(&mut self) -> Option<(K, V)> {
        let (key, (value, bytes)) = self.lru.pop_lru()?;
        self.bytes -= bytes;
        Some((key, value))
    }

    pub fn len(&self) -> usize {
        self.lru.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_never_exceeds_the_bound_and_the_oldest_go_first() {
        let mut lru: BytesLru<u32, ()> = BytesLru::new(1000);
        for i in 0..100 {
            lru.put(i, (), 100);
            assert!(lru.bytes() <= 1000);
        }
        assert_eq!(lru.len(), 10);
        assert!(lru.peek(&89).is_none() && lru.peek(&99).is_some());
        lru.put(7, (), 5000);
        assert!(
            lru.peek(&7).is_none(),
            "a value larger than the bound is not kept"
        );
        lru.put(99, (), 300);
        assert!(lru.bytes() <= 1000);
        assert_eq!(lru.pop(&99), Some(()));
    }
}
