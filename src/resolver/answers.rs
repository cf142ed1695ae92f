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

use std::sync::Mutex;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::bounded::{records_bytes, BytesLru, ENTRY_OVERHEAD};
use super::cache::BOGUS_TTL;
use crate::explain::event::{CacheHitKind, Event};
use crate::explain::outcome::{Failure, Outcome, Resolution};

/// How long a failed resolution is remembered: long enough that a stub's retries and a
/// client's burst meet it, short enough that a server coming back is noticed soon.
pub const FAILURE_TTL: u64 = 5;

/// Bytes of one trace entry in memory beyond what its JSON measures (the enum's own size).
const EVENT_BYTES: usize = std::mem::size_of::<crate::explain::event::TraceEntry>();

type Key = (Name, RecordType, bool);

struct Stored {
    resolution: Resolution,
    stored: u64,
    expires: u64,
}

pub struct AnswerCache {
    entries: Mutex<BytesLru<Key, Stored>>,
    max_entries: usize,
    max_ttl: u32,
}

impl AnswerCache {
    /// None when `entries` is 0 (the cache is off).
    pub fn new(entries: usize, max_bytes: usize, max_ttl: u32) -> Option<AnswerCache> {
        if entries == 0 {
            return None;
        }
        Some(AnswerCache {
            entries: Mutex::new(BytesLru::new(max_bytes)),
            max_entries: entries,
            max_ttl,
        })
    }

    /// (entries, estimated bytes) held now.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        (entries.len(), entries.bytes())
    }

    /// The resolution stored for this question, aged to `now`.
    pub fn get(&self, name: &Name, rtype: RecordType, cd: bool, now: u64) -> Option<Resolution> {
        let key = (name.to_lowercase(), rtype, cd);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let stored = entries.get(&key)?;
        if stored.expires <= now {
            entries.pop(&key);
            return None;
        }
        // A clock stepped back (or a `now` read before another task stored) ages nothing.
        let elapsed = u32::try_from(now.saturating_sub(stored.stored)).unwrap_or(u32::MAX);
        let mut resolution = stored.resolution.clone();
        drop(entries);
        for record in records_mut(&mut resolution) {
            record.ttl = record.ttl.saturating_sub(elapsed);
        }
        resolution.cached = true;
        resolution.trace.record(
            0,
            Event::CacheHit {
                // The name as the stored resolution spelt it (its letter case).
                name: Name::from_ascii(&resolution.name).unwrap_or_else(|_| name.clone()),
                rtype: rtype.into(),
                what: CacheHitKind::Resolution,
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
        let key = (name.to_lowercase(), rtype, cd);
        let stored = Stored {
            resolution: resolution.clone(),
            stored: now,
            expires: now + ttl,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.put(key, stored, bytes);
        while entries.len() > self.max_entries {
            entries.pop_lru();
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
        match failure {
            // A sentinel's SERVFAIL stands for a secure answer: it lives as that answer would.
            Failure::RootKeySentinel { .. } => {}
            _ => return FAILURE_TTL,
        }
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
    if r.security.is_transient() {
        1
    } else if r.security.is_failure() {
        ttl.clamp(1, BOGUS_TTL)
    } else {
        ttl
    }
}

/// Estimated bytes a stored resolution takes: its records, and its trace at twice its JSON
/// size (the events' strings and values on the heap, with their containers) plus a fixed
/// size per event for the enum itself.
fn size_of(r: &Resolution) -> usize {
    let trace = r.trace.bytes() * 2 + r.trace.entries.len() * EVENT_BYTES;
    ENTRY_OVERHEAD + records_bytes(records(r)) + trace
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::verdict::{BogusReason, Security};
    use crate::explain::Trace;
    use hickory_proto::rr::rdata::{A, SOA};

    fn resolution(outcome: Outcome, records: Vec<Record>, security: Security) -> Resolution {
        let (answers, authority) = match outcome {
            Outcome::Answer => (records, Vec::new()),
            _ => (Vec::new(), records),
        };
        Resolution {
            name: "x.lab.".into(),
            rtype: "A".into(),
            outcome,
            answers,
            authority,
            dnssec_answers: Vec::new(),
            dnssec_authority: Vec::new(),
            security,
            checking_disabled: false,
            cached: false,
            trace: Trace::new("0000abcd".into(), 100),
        }
    }

    fn a(ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii("x.lab.").unwrap(),
            ttl,
            RData::A(A::new(192, 0, 2, 1)),
        )
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        let name = Name::from_ascii("lab.").unwrap();
        let data = SOA::new(name.clone(), name.clone(), 1, 1, 1, 1, minimum);
        Record::from_rdata(name, ttl, RData::SOA(data))
    }

    #[test]
    fn each_outcome_lives_as_long_as_its_least_lived_part() {
        let failed = Outcome::Failed {
            failure: Failure::AliasLoop { chain: Vec::new() },
        };
        assert_eq!(
            lifetime(&resolution(failed, Vec::new(), Security::Secure)),
            FAILURE_TTL
        );
        let sentinel = Outcome::Failed {
            failure: Failure::RootKeySentinel {
                kind: crate::explain::event::SentinelKind::IsTa,
                tag: 12345,
                trusted: vec![2371],
            },
        };
        assert_eq!(
            lifetime(&resolution(
                sentinel,
                vec![a(3600), a(120)],
                Security::Secure
            )),
            120,
            "a sentinel's SERVFAIL lives as long as the answer it withholds"
        );
        let answer = resolution(Outcome::Answer, vec![a(3600), a(120)], Security::Secure);
        assert_eq!(lifetime(&answer), 120);
        let denial = resolution(Outcome::NxDomain, vec![soa(3600, 300)], Security::Secure);
        assert_eq!(lifetime(&denial), 300, "RFC 2308 §5: min(SOA TTL, MINIMUM)");
        let bogus = Security::Bogus {
            reason: BogusReason::RrsigsMissing {
                owner: "x.lab.".into(),
                rtype: "A".into(),
            },
        };
        assert_eq!(
            lifetime(&resolution(Outcome::Answer, vec![a(3600)], bogus)),
            BOGUS_TTL
        );
        assert_eq!(
            lifetime(&resolution(Outcome::Answer, vec![a(0)], Security::Secure)),
            0
        );
    }

    #[test]
    fn hits_are_aged_marked_and_bounded_in_bytes() {
        let name = Name::from_ascii("x.lab.").unwrap();
        let one = resolution(Outcome::Answer, vec![a(300)], Security::Secure);
        let size = size_of(&one);
        let cache = AnswerCache::new(100, size * 2, 86_400).unwrap();
        cache.put(&name, RecordType::A, false, &one, 1000);
        let hit = cache.get(&name, RecordType::A, false, 1100).unwrap();
        assert!(hit.cached);
        assert_eq!(hit.answers[0].ttl, 200);
        assert_eq!(hit.trace.id, one.trace.id);
        assert!(
            cache.get(&name, RecordType::A, true, 1100).is_none(),
            "CD is its own key"
        );
        assert!(
            cache.get(&name, RecordType::A, false, 1300).is_none(),
            "expired"
        );
        for i in 0..5 {
            let other = Name::from_ascii(format!("n{i}.lab.")).unwrap();
            cache.put(&other, RecordType::A, false, &one, 2000);
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= size * 2 && entries <= 2);
    }
}
