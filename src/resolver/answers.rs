//! Finished resolutions kept whole (unbound's message cache beside its RRset cache), keyed by
//! the question and the CD bit, so a repeated question gets exactly the first answer: the same
//! RCODE, AD bit, records, EDE and explanation id, with no upstream traffic and no validation.
//!
//! Every outcome is kept, for as long as its least-lived part: answers for their smallest TTL
//! (already capped by the signatures and keys that validated them), denials for the negative
//! TTL (RFC 2308 §5), bogus answers for at most [`BOGUS_TTL`] and failures for
//! [`FAILURE_TTL`] (RFC 9520 §3.2: resolution failures MUST be cached, for 1 s to 5 min).
//! A hit is the stored resolution with its TTLs aged, `cached` set and a `cache-hit` event
//! ("resolution") at the end of its trace: its story is the one that produced it.
//!
//! Bounded in entries (LRU) and in estimated bytes.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use lru::LruCache;

use super::cache::BOGUS_TTL;
use super::{Failure, Outcome, Resolution};
use crate::explain::event::Event;

/// How long a failed resolution is remembered: long enough that a stub's retries and a
/// client's burst meet it, short enough that a server coming back is noticed soon.
pub const FAILURE_TTL: u64 = 5;

/// Estimated bytes of one trace event in memory.
const EVENT_BYTES: usize = 256;

type Key = (Name, RecordType, bool);

struct Stored {
    resolution: Resolution,
    stored: u64,
    expires: u64,
    bytes: usize,
}

struct Entries {
    lru: LruCache<Key, Stored>,
    bytes: usize,
}

pub struct AnswerCache {
    entries: Mutex<Entries>,
    max_bytes: usize,
    max_ttl: u32,
}

impl AnswerCache {
    /// None when `entries` is 0 (the cache is off).
    pub fn new(entries: usize, max_bytes: usize, max_ttl: u32) -> Option<AnswerCache> {
        let capacity = NonZeroUsize::new(entries)?;
        Some(AnswerCache {
            entries: Mutex::new(Entries {
                lru: LruCache::new(capacity),
                bytes: 0,
            }),
            max_bytes,
            max_ttl,
        })
    }

    /// The resolution stored for this question, aged to `now`.
    pub fn get(&self, name: &Name, rtype: RecordType, cd: bool, now: u64) -> Option<Resolution> {
        let key = (name.to_lowercase(), rtype, cd);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let stored = entries.lru.get(&key)?;
        if stored.expires <= now {
            let bytes = stored.bytes;
            entries.lru.pop(&key);
            entries.bytes -= bytes;
            return None;
        }
        let elapsed = (now - stored.stored) as u32;
        let mut resolution = stored.resolution.clone();
        drop(entries);
        for record in records_mut(&mut resolution) {
            record.ttl = record.ttl.saturating_sub(elapsed);
        }
        resolution.cached = true;
        resolution.trace.record(
            0,
            Event::CacheHit {
                name: resolution.name.clone(),
                rtype: resolution.rtype.clone(),
                what: "resolution".into(),
            },
        );
        Some(resolution)
    }

    /// Keeps `resolution` (asked with CD = `cd`) for as long as its parts live.
    pub fn put(&self, name: &Name, rtype: RecordType, cd: bool, resolution: &Resolution, now: u64) {
        let ttl = lifetime(resolution).min(u64::from(self.max_ttl));
        if ttl == 0 {
            return;
        }
        let bytes = size_of(resolution);
        if bytes > self.max_bytes {
            return;
        }
        let key = (name.to_lowercase(), rtype, cd);
        let stored = Stored {
            resolution: resolution.clone(),
            stored: now,
            expires: now + ttl,
            bytes,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old)) = entries.lru.push(key, stored) {
            entries.bytes -= old.bytes;
        }
        entries.bytes += bytes;
        while entries.bytes > self.max_bytes {
            match entries.lru.pop_lru() {
                Some((_, old)) => entries.bytes -= old.bytes,
                None => break,
            }
        }
    }
}

fn records_mut(r: &mut Resolution) -> impl std::iter::Iterator<Item = &mut Record> {
    r.answers
        .iter_mut()
        .chain(r.authority.iter_mut())
        .chain(r.dnssec_answers.iter_mut())
        .chain(r.dnssec_authority.iter_mut())
}

fn records(r: &Resolution) -> impl std::iter::Iterator<Item = &Record> {
    r.answers
        .iter()
        .chain(&r.authority)
        .chain(&r.dnssec_answers)
        .chain(&r.dnssec_authority)
}

/// Seconds a resolution may be repeated for.
fn lifetime(r: &Resolution) -> u64 {
    if let Outcome::Failed { failure } = &r.outcome {
        return match failure {
            Failure::Overloaded => 0,
            _ => FAILURE_TTL,
        };
    }
    // RFC 2308 §5: a denial lives for min(SOA TTL, SOA MINIMUM).
    let ttl = records(r)
        .map(|record| match &record.data {
            RData::SOA(soa) if !matches!(r.outcome, Outcome::Answer) => record.ttl.min(soa.minimum),
            _ => record.ttl,
        })
        .min()
        .map(u64::from)
        .unwrap_or(0);
    if r.security.is_failure() {
        ttl.clamp(1, BOGUS_TTL)
    } else {
        ttl
    }
}

/// Estimated bytes a stored resolution takes.
fn size_of(r: &Resolution) -> usize {
    let records: usize = records(r)
        .map(|record| record.to_bytes().map(|b| b.len()).unwrap_or(64) + 64)
        .sum();
    512 + records + r.trace.entries.len() * EVENT_BYTES
}
