//! A packet cache for the UDP fast path: finished answers kept as wire bytes, keyed by the
//! question and the flags that shape an answer, served by patching the ID, the question's
//! letter case (so 0x20 randomisation still matches) and the aged TTLs.
//!
//! Only plain successes are kept: NOERROR or NXDOMAIN, not truncated, no EDE option, every
//! TTL above zero. Anything else (failures, refusals, odd queries) goes to the resolver, whose
//! answer cache repeats a failure with the id of the resolution that explained it (RFC 9520
//! §3.2 caching of failures). A hit produces no trace: its story is the one of
//! the resolution that filled the entry.
//!
//! Bounded in bytes (`cache.packets_mib`): each entry counts its key, its wire bytes, its
//! TTL offsets and a fixed overhead; the least recently used go first.
//!
//! Limitations: UDP only; a query with EDNS options other than the basic OPT, or any
//! compression in its question, is not looked up.

use std::sync::Mutex;

use lru::LruCache;

struct Entry {
    wire: Vec<u8>,
    /// (offset, TTL as stored) of every record's TTL field (OPT excluded).
    ttls: Vec<(usize, u32)>,
    stored: u64,
    expires: u64,
}

/// Bytes an entry takes besides its key, wire and TTL offsets: the LRU node, the entry and
/// the vectors' headers.
const ENTRY_OVERHEAD: usize = 128;

impl Entry {
    fn bytes(&self, key: &[u8]) -> usize {
        ENTRY_OVERHEAD + key.len() + self.wire.len() + self.ttls.len() * 16
    }
}

struct Entries {
    lru: LruCache<Vec<u8>, Entry>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, key: &[u8]) {
        if let Some(old) = self.lru.pop(key) {
            self.bytes -= old.bytes(key);
        }
    }
}

pub struct PacketCache {
    entries: Mutex<Entries>,
    max_bytes: usize,
}

fn u16_at(wire: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*wire.get(at)?, *wire.get(at + 1)?]))
}

/// The cache key of a query that may be served from the cache, or None.
pub fn query_key(packet: &[u8]) -> Option<Vec<u8>> {
    let has_opt = cacheable_header(packet)?;
    let mut key = Vec::with_capacity(64);
    let mut pos = push_lowercase_name(packet, 12, &mut key)?;
    key.extend(packet.get(pos..pos + 4)?); // QTYPE, QCLASS
    pos += 4;
    key.push(packet[3] & 0x30); // AD and CD change the answer (RFC 6840 §5.7, §5.9)
    if has_opt {
        push_opt(packet, pos, &mut key)?;
    } else {
        if pos != packet.len() {
            return None;
        }
        key.push(0);
    }
    Some(key)
}

/// A query (QR=0), opcode QUERY, not truncated, RD set; one question and nothing else but
/// an optional OPT record. Some(whether the OPT is there).
#[inline]
fn cacheable_header(packet: &[u8]) -> Option<bool> {
    if packet.len() < 12 {
        return None;
    }
    let b2 = packet[2];
    if b2 & 0x80 != 0 || (b2 >> 3) & 0x0f != 0 || b2 & 0x02 != 0 || b2 & 0x01 == 0 {
        return None;
    }
    let counts = (
        u16_at(packet, 4)?,
        u16_at(packet, 6)?,
        u16_at(packet, 8)?,
        u16_at(packet, 10)?,
    );
    if counts.0 != 1 || counts.1 != 0 || counts.2 != 0 || counts.3 > 1 {
        return None;
    }
    Some(counts.3 == 1)
}

/// Appends the uncompressed QNAME at `pos`, lowercased, to `key`; the position after it.
#[inline]
fn push_lowercase_name(packet: &[u8], mut pos: usize, key: &mut Vec<u8>) -> Option<usize> {
    loop {
        let len = *packet.get(pos)? as usize;
        if len & 0xc0 != 0 {
            return None;
        }
        key.push(len as u8);
        pos += 1;
        if len == 0 {
            break;
        }
        key.extend(
            packet
                .get(pos..pos + len)?
                .iter()
                .map(u8::to_ascii_lowercase),
        );
        pos += len;
        if key.len() > 255 {
            return None;
        }
    }
    // RFC 1035 §2.3.4: 255 octets at most, the root label included (the loop above let a
    // 255-octet name through before its root label).
    (key.len() <= 255).then_some(pos)
}

/// Appends what of the OPT record at `pos` changes the answer: DO and the payload size.
/// Only a bare version-0 OPT that ends the packet is cacheable.
#[inline]
fn push_opt(packet: &[u8], pos: usize, key: &mut Vec<u8>) -> Option<()> {
    // OPT: root name, type 41, class = payload, TTL = ext-RCODE, version, flags.
    if packet.get(pos) != Some(&0) || u16_at(packet, pos + 1)? != 41 {
        return None;
    }
    let payload = u16_at(packet, pos + 3)?;
    let version = *packet.get(pos + 6)?;
    let dnssec_ok = packet.get(pos + 7)? & 0x80;
    let rdlen = u16_at(packet, pos + 9)? as usize;
    if version != 0 || rdlen != 0 || pos + 11 != packet.len() {
        return None;
    }
    key.push(1);
    key.push(dnssec_ok);
    key.extend(payload.max(512).to_be_bytes());
    Some(())
}

fn skip_name(wire: &[u8], mut pos: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *wire.get(pos)?;
        match len & 0xc0 {
            0xc0 => return Some(pos + 2),
            0 if len == 0 => return Some(pos + 1),
            0 => pos += 1 + len as usize,
            _ => return None,
        }
    }
    None
}

/// TTL fields of a response, or None when it must not be cached (EDE present, TTL 0, TC,
/// an RCODE other than NOERROR/NXDOMAIN, or anything that does not parse).
fn cacheable_ttls(wire: &[u8]) -> Option<Vec<(usize, u32)>> {
    if wire.len() < 12 || wire[2] & 0x02 != 0 || !matches!(wire[3] & 0x0f, 0 | 3) {
        return None;
    }
    let questions = u16_at(wire, 4)?;
    let records =
        u16_at(wire, 6)? as usize + u16_at(wire, 8)? as usize + u16_at(wire, 10)? as usize;
    let mut pos = 12;
    for _ in 0..questions {
        pos = skip_name(wire, pos)? + 4;
    }
    let mut ttls = Vec::with_capacity(records);
    for _ in 0..records {
        pos = skip_name(wire, pos)?;
        let rtype = u16_at(wire, pos)?;
        let ttl_at = pos + 4;
        let rdlen = u16_at(wire, pos + 8)? as usize;
        let rdata = pos + 10;
        let end = rdata + rdlen;
        if end > wire.len() {
            return None;
        }
        if rtype == 41 {
            // An EDE option means the answer has something to say: never serve it blindly.
            let mut opt = rdata;
            while opt + 4 <= end {
                if u16_at(wire, opt)? == 15 {
                    return None;
                }
                opt += 4 + u16_at(wire, opt + 2)? as usize;
            }
        } else {
            let ttl = u32::from_be_bytes(wire.get(ttl_at..ttl_at + 4)?.try_into().ok()?);
            if ttl == 0 {
                return None;
            }
            ttls.push((ttl_at, ttl));
        }
        pos = end;
    }
    (pos == wire.len()).then_some(ttls)
}

impl PacketCache {
    /// A cache of at most `max_bytes` (as [`Entry::bytes`] counts them).
    pub fn new(max_bytes: usize) -> PacketCache {
        PacketCache {
            entries: Mutex::new(Entries {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            max_bytes,
        }
    }

    /// (entries, bytes) held now.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        (entries.lru.len(), entries.bytes)
    }

    /// The cached answer to `packet` (whose key is `key`), patched for this query.
    pub fn lookup(&self, key: &[u8], packet: &[u8], now: u64) -> Option<Vec<u8>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.lru.get(key)?;
        if now >= entry.expires {
            entries.remove(key);
            return None;
        }
        let age = (now - entry.stored) as u32;
        let mut wire = entry.wire.clone();
        for &(at, ttl) in &entry.ttls {
            wire[at..at + 4].copy_from_slice(&ttl.saturating_sub(age).to_be_bytes());
        }
        drop(entries);
        wire[..2].copy_from_slice(&packet[..2]);
        // The question as the client wrote it (same length: only letter case may differ).
        let qname_len = skip_name(packet, 12)? - 12;
        wire.get_mut(12..12 + qname_len)?
            .copy_from_slice(&packet[12..12 + qname_len]);
        Some(wire)
    }

    /// Keeps `reply` for `key` if it is a plain success.
    pub fn store(&self, key: Vec<u8>, reply: &[u8], now: u64) {
        let Some(ttls) = cacheable_ttls(reply) else {
            return;
        };
        let Some(min_ttl) = ttls.iter().map(|(_, t)| *t).min() else {
            return;
        };
        let entry = Entry {
            wire: reply.to_vec(),
            ttls,
            stored: now,
            expires: now + u64::from(min_ttl),
        };
        let bytes = entry.bytes(&key);
        if bytes > self.max_bytes {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&key);
        entries.bytes += bytes;
        entries.lru.put(key, entry);
        while entries.bytes > self.max_bytes {
            let Some((old_key, old)) = entries.lru.pop_lru() else {
                break;
            };
            entries.bytes -= old.bytes(&old_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], opt: bool) -> Vec<u8> {
        let mut q = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(opt)];
        q.extend(name);
        q.extend([0, 1, 0, 1]);
        if opt {
            q.extend([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        }
        q
    }

    #[test]
    fn keys_ignore_case_and_separate_flags() {
        let a = query(b"\x03WwW\x03lab\x00", true);
        let b = query(b"\x03www\x03lab\x00", true);
        let c = query(b"\x03www\x03lab\x00", false);
        assert_eq!(query_key(&a), query_key(&b));
        assert_ne!(query_key(&b), query_key(&c));
        let mut no_rd = b.clone();
        no_rd[2] = 0;
        assert!(
            query_key(&no_rd).is_none(),
            "RD=0 queries take the full path"
        );
        assert!(query_key(&b[..10]).is_none());
    }

    #[test]
    fn serves_with_new_id_case_and_aged_ttl() {
        let q = query(b"\x03www\x03lab\x00", false);
        // Response: header, question, one A record with TTL 300.
        let mut r = vec![0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        r.extend(b"\x03www\x03lab\x00");
        r.extend([
            0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1,
        ]);
        let cache = PacketCache::new(4096);
        let key = query_key(&q).unwrap();
        cache.store(key.clone(), &r, 1000);
        let mut q2 = query(b"\x03WWW\x03lab\x00", false);
        q2[0] = 0x12;
        let hit = cache.lookup(&query_key(&q2).unwrap(), &q2, 1100).unwrap();
        assert_eq!(&hit[..2], &[0x12, 0xcd]);
        assert_eq!(&hit[12..16], b"\x03WWW");
        let ttl_at = hit.len() - 10;
        assert_eq!(
            u32::from_be_bytes(hit[ttl_at..ttl_at + 4].try_into().unwrap()),
            200
        );
        assert!(cache.lookup(&key, &q, 1300).is_none(), "expired");
        // A SERVFAIL is never kept.
        let mut fail = r.clone();
        fail[3] = 0x82;
        cache.store(key.clone(), &fail, 1000);
        assert!(cache.lookup(&key, &q, 1001).is_none());
    }

    #[test]
    fn the_cache_holds_no_more_bytes_than_its_bound() {
        let mut r = vec![0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        r.extend(b"\x03www\x03lab\x00");
        r.extend([
            0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1,
        ]);
        let cache = PacketCache::new(2000);
        for i in 0..100u8 {
            let q = query(&[3, b'w', b'w', i, 3, b'l', b'a', b'b', 0], false);
            cache.store(query_key(&q).unwrap(), &r, 1000);
            let (entries, bytes) = cache.size();
            assert!(bytes <= 2000, "{entries} entries, {bytes} bytes");
        }
        let (entries, _) = cache.size();
        assert!(entries > 5, "only {entries} entries kept");
        // The newest is there, the oldest went first.
        let newest = query(&[3, b'w', b'w', 99, 3, b'l', b'a', b'b', 0], false);
        assert!(cache
            .lookup(&query_key(&newest).unwrap(), &newest, 1001)
            .is_some());
        let oldest = query(&[3, b'w', b'w', 0, 3, b'l', b'a', b'b', 0], false);
        assert!(cache
            .lookup(&query_key(&oldest).unwrap(), &oldest, 1001)
            .is_none());
    }

    #[test]
    fn a_question_name_over_255_octets_has_no_key() {
        // Found by fuzzing (fuzz/regressions/packet_cache/qname-256-octets). Three labels of
        // 63 octets and one of `last`, with their length octets and the root label, make
        // 192 + 1 + `last` + 1 octets.
        let question = |last: usize| {
            let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
            for len in [63, 63, 63, last] {
                packet.push(len as u8);
                packet.extend(std::iter::repeat_n(b'a', len));
            }
            packet.extend([0, 0, 1, 0, 1]);
            packet
        };
        assert!(query_key(&question(61)).is_some(), "255 octets fit");
        assert!(query_key(&question(62)).is_none(), "256 octets do not");
    }
}
