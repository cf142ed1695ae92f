//! Response rate limiting for error answers over UDP, per client prefix, as BIND's RRL does
//! for its `errors-per-second` class: a UDP source address can be forged, so a resolver that
//! answers every packet can be made to send REFUSED or SERVFAIL floods at a victim.
//!
//! Each client prefix (`rate_limit.ipv4_prefix`, default /24; `rate_limit.ipv6_prefix`,
//! default /56) has a token bucket of `rate_limit.errors_per_second` answers a second, with
//! one second's worth of burst. An error answer over the limit is dropped, except every
//! `rate_limit.slip`-th one (default 2), which is sent as a "slip": the header and question
//! only, TC=1 and NOERROR, never larger than the query. A real client behind a limited
//! prefix retries over TCP, which cannot be forged and is not limited; a victim of forged
//! queries receives at most one small packet for every two sent in its name.
//!
//! Error answers are those whose header RCODE is neither NOERROR nor NXDOMAIN (REFUSED,
//! SERVFAIL, FORMERR, NOTIMP...). Answers and denials are not limited: the packet cache
//! serves them, and they are what clients came for. Clients in `rate_limit.exempt` (default
//! loopback) are never limited.
//!
//! Limitations: the table holds at most [`SHARDS`] × [`PER_SHARD`] prefixes (LRU); a flood
//! from more prefixes than that forgets the oldest, which then start with a full bucket.
//! BADVERS is NOERROR in the header (its upper bits are in the OPT) and is not limited.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Instant;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use lru::LruCache;

use crate::config::RateLimitConfig;

/// Shards of the prefix table, so receive loops on several threads rarely share a lock.
pub const SHARDS: usize = 16;
/// Prefixes remembered per shard.
pub const PER_SHARD: usize = 4096;

/// What to do with one error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Send the TC=1 slip instead ([`slip`]).
    Slip,
    Drop,
}

struct Bucket {
    /// Thousandths of an answer, so that refills below one answer per millisecond add up.
    milli_tokens: u64,
    refilled_ms: u64,
    /// Answers over the limit so far, for the slip count.
    over: u64,
}

pub struct RateLimiter {
    per_second: u64,
    slip: u64,
    ipv4_prefix: u8,
    ipv6_prefix: u8,
    exempt: Vec<IpNet>,
    shards: Vec<Mutex<LruCache<IpAddr, Bucket>>>,
    started: Instant,
}

impl RateLimiter {
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        let capacity = NonZeroUsize::new(PER_SHARD).expect("non-zero");
        RateLimiter {
            per_second: u64::from(config.errors_per_second),
            slip: u64::from(config.slip),
            ipv4_prefix: config.ipv4_prefix.min(32),
            ipv6_prefix: config.ipv6_prefix.min(128),
            exempt: config.exempt.clone(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(capacity)))
                .collect(),
            started: Instant::now(),
        }
    }

    /// The prefix `client` is counted under.
    fn prefix(&self, client: IpAddr) -> IpAddr {
        match client.to_canonical() {
            IpAddr::V4(v4) => Ipv4Net::new(v4, self.ipv4_prefix)
                .map(|n| IpAddr::V4(n.network()))
                .unwrap_or(IpAddr::V4(v4)),
            IpAddr::V6(v6) => Ipv6Net::new(v6, self.ipv6_prefix)
                .map(|n| IpAddr::V6(n.network()))
                .unwrap_or(IpAddr::V6(v6)),
        }
    }

    /// Whether the error answer `reply` may go to `client` now.
    pub fn check(&self, client: IpAddr, now: Instant) -> Verdict {
        if self.per_second == 0 || super::respond::is_allowed(client, &self.exempt) {
            return Verdict::Send;
        }
        let prefix = self.prefix(client);
        let shard = {
            use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
            BuildHasherDefault::<DefaultHasher>::default().hash_one(prefix) as usize % SHARDS
        };
        let now_ms = now.saturating_duration_since(self.started).as_millis() as u64;
        let full = self.per_second.saturating_mul(1000);
        let mut table = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        let bucket = table.get_or_insert_mut(prefix, || Bucket {
            milli_tokens: full,
            refilled_ms: now_ms,
            over: 0,
        });
        let elapsed = now_ms.saturating_sub(bucket.refilled_ms);
        // Saturating: a long idle gap times a large configured rate must fill the bucket, not wrap.
        let refill = elapsed.saturating_mul(self.per_second);
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(refill).min(full);
        bucket.refilled_ms = now_ms;
        if bucket.milli_tokens >= 1000 {
            bucket.milli_tokens -= 1000;
            return Verdict::Send;
        }
        bucket.over += 1;
        if self.slip > 0 && bucket.over.is_multiple_of(self.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

/// Whether a wire answer is an error answer (RCODE neither NOERROR nor NXDOMAIN).
pub fn is_error_answer(wire: &[u8]) -> bool {
    !matches!(super::wire_rcode(wire), 0 | 3)
}

/// The slip for an answer: its header (ID, opcode, RD, CD kept) with QR and TC set, RCODE
/// NOERROR, and its question only, so never larger than the answer nor than the query the
/// answer echoes. A question that cannot be walked is left out.
pub fn slip(reply: &[u8]) -> Vec<u8> {
    let Some(header) = reply.get(..12) else {
        return reply.to_vec();
    };
    let mut out = header.to_vec();
    out[2] = (out[2] & 0x79) | 0x80 | 0x02; // QR, opcode and RD kept, AA cleared, TC set
    out[3] &= 0x90; // RA and CD kept; Z and AD cleared; RCODE 0
    out[6..12].fill(0);
    let question = (u16::from_be_bytes([reply[4], reply[5]]) == 1)
        .then(|| question_end(reply))
        .flatten();
    match question {
        Some(end) => {
            out[4..6].copy_from_slice(&1u16.to_be_bytes());
            out.extend(&reply[12..end]);
        }
        None => out[4..6].fill(0),
    }
    out
}

/// Where the first question of a message ends (name, QTYPE, QCLASS), if it can be walked.
fn question_end(message: &[u8]) -> Option<usize> {
    let mut pos = 12;
    loop {
        let len = *message.get(pos)? as usize;
        if len & 0xc0 == 0xc0 {
            pos += 2;
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        pos += 1 + len;
        if len == 0 {
            break;
        }
    }
    (pos + 4 <= message.len()).then_some(pos + 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(per_second: u32, slip: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            errors_per_second: per_second,
            slip,
            exempt: vec!["127.0.0.0/8".parse().unwrap()],
            ..RateLimitConfig::default()
        })
    }

    #[test]
    fn a_prefix_gets_its_rate_then_every_second_answer_slips() {
        let rrl = limiter(5, 2);
        let now = Instant::now();
        let verdicts: Vec<Verdict> = (0..9)
            .map(|i| rrl.check(format!("192.0.2.{i}").parse().unwrap(), now))
            .collect();
        // One /24: 5 sent, then drop, slip, drop, slip.
        use Verdict::*;
        assert_eq!(
            verdicts,
            [Send, Send, Send, Send, Send, Drop, Slip, Drop, Slip]
        );
        // Another prefix has its own bucket; the first refills with time.
        assert_eq!(rrl.check("198.51.100.1".parse().unwrap(), now), Send);
        let later = now + Duration::from_millis(400);
        assert_eq!(rrl.check("192.0.2.1".parse().unwrap(), later), Send);
        assert_eq!(rrl.check("192.0.2.1".parse().unwrap(), later), Send);
        assert_ne!(rrl.check("192.0.2.1".parse().unwrap(), later), Send);
    }

    #[test]
    fn exempt_clients_and_a_zero_rate_are_never_limited() {
        let rrl = limiter(1, 2);
        let now = Instant::now();
        assert!((0..100).all(|_| rrl.check("127.0.0.1".parse().unwrap(), now) == Verdict::Send));
        let off = limiter(0, 2);
        assert!((0..100).all(|_| off.check("192.0.2.1".parse().unwrap(), now) == Verdict::Send));
    }

    #[test]
    fn ipv6_clients_share_a_56() {
        let rrl = limiter(1, 0);
        let now = Instant::now();
        assert_eq!(
            rrl.check("2001:db8:0:1::1".parse().unwrap(), now),
            Verdict::Send
        );
        assert_eq!(
            rrl.check("2001:db8:0:ff::2".parse().unwrap(), now),
            Verdict::Drop
        );
        assert_eq!(
            rrl.check("2001:db8:1::1".parse().unwrap(), now),
            Verdict::Send
        );
    }

    #[test]
    fn a_slip_is_the_header_and_question_with_tc() {
        // id 0x1234, RD, RCODE REFUSED, one question (a. A IN), one additional (OPT).
        let mut reply = vec![0x12, 0x34, 0x81, 0x85, 0, 1, 0, 0, 0, 0, 0, 1];
        reply.extend([1, b'a', 0, 0, 1, 0, 1]);
        reply.extend([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
        let s = slip(&reply);
        assert_eq!(s.len(), 12 + 7);
        assert_eq!(&s[..2], &[0x12, 0x34]);
        assert_eq!(s[2], 0x83, "QR, RD and TC");
        assert_eq!(s[3] & 0x0f, 0, "NOERROR");
        assert_eq!(&s[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert!(is_error_answer(&reply) && !is_error_answer(&s));
        // A header alone stays a header.
        assert_eq!(slip(&reply[..12]).len(), 12);
    }
}
