//! Counters for `GET /metrics` (Prometheus text exposition format 0.0.4): answers by RCODE
//! and by EDE code, cache hits, upstream timeouts and lame servers by zone, a histogram of
//! resolution time, and error answers the rate limiter slipped or dropped.
//!
//! Counting is a relaxed atomic add on the answer path; the per-zone maps take a lock only
//! when a resolution saw a server fail. Zones are bounded: past [`MAX_ZONES`] distinct zones,
//! further ones are counted under `zone="(other)"`, so a hostile client cannot grow them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::explain::event::{Event, ServerFailure};
use crate::explain::outcome::Resolution;
use crate::explain::EdeCode;

/// Distinct zones tracked per per-zone counter.
pub const MAX_ZONES: usize = 1_000;
/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
/// RCODEs 0..=15 each get a slot; the header's RCODE field is four bits.
const RCODES: usize = 16;

#[derive(Default)]
pub struct Metrics {
    rcodes: [AtomicU64; RCODES],
    ede: [AtomicU64; 32],
    packet_cache_hits: AtomicU64,
    timeouts: Mutex<BTreeMap<String, u64>>,
    lame: Mutex<BTreeMap<String, u64>>,
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
    /// Error answers the rate limiter replaced by a slip, or dropped.
    slipped: AtomicU64,
    dropped: AtomicU64,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, zone: &str) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(count) = map.get_mut(zone) {
        *count += 1;
    } else if map.len() < MAX_ZONES {
        map.insert(zone.to_string(), 1);
    } else {
        *map.entry("(other)".to_string()).or_insert(0) += 1;
    }
}

impl Metrics {
    /// An answer sent, by its header RCODE (the low four bits).
    pub fn answered(&self, rcode: u8) {
        self.rcodes[usize::from(rcode & 0x0f)].fetch_add(1, Ordering::Relaxed);
    }

    /// An answer served whole from the packet cache.
    pub fn packet_cache_hit(&self, rcode: u8) {
        self.packet_cache_hits.fetch_add(1, Ordering::Relaxed);
        self.answered(rcode);
    }

    /// An error answer the rate limiter replaced by a slip (`true`) or dropped.
    pub fn rate_limited(&self, slipped: bool) {
        let counter = if slipped {
            &self.slipped
        } else {
            &self.dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A resolution that ran: its EDE codes, its servers' failures and its duration.
    pub fn resolved(&self, resolution: &Resolution, ede: &[EdeCode], elapsed_ms: u64) {
        for code in ede {
            if let Some(slot) = self.ede.get(*code as usize) {
                slot.fetch_add(1, Ordering::Relaxed);
            }
        }
        for event in resolution.trace.events() {
            if let Event::ServerFailed { zone, failure, .. } = event {
                if *failure == ServerFailure::Timeout {
                    bump(&self.timeouts, &zone.to_string());
                } else if failure.is_lame() {
                    bump(&self.lame, &zone.to_string());
                }
            }
        }
        let seconds = elapsed_ms as f64 / 1000.0;
        let slot = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.latency[slot].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(elapsed_ms * 1000, Ordering::Relaxed);
    }

    /// The exposition text; `cache` is the resolver's record cache (hits, misses), and
    /// `cache_bytes` what each cache holds, by name. `explanations` is (entries, bytes) held
    /// and lines dropped from the JSON-lines file.
    pub fn render(
        &self,
        cache: (u64, u64),
        cache_bytes: &[(&str, usize)],
        explanations: (usize, usize, u64),
    ) -> String {
        let mut out = String::new();
        render_cache_bytes(&mut out, cache_bytes);
        self.render_answers(&mut out);
        self.render_cache_hits(&mut out, cache);
        self.render_zones(&mut out);
        self.render_latency(&mut out);
        self.render_limits_and_log(&mut out, explanations);
        out
    }

    /// Answers by RCODE and EDE by code.
    fn render_answers(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP whydns_answers_total Answers sent to clients, by RCODE.\n# TYPE whydns_answers_total counter"
        );
        for (code, count) in self.rcodes.iter().enumerate() {
            let count = load(count);
            if count > 0 || code <= 5 {
                let rcode = crate::explain::event::rcode_name(
                    hickory_proto::op::ResponseCode::from_low(code as u8),
                );
                let _ = writeln!(out, "whydns_answers_total{{rcode=\"{rcode}\"}} {count}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP whydns_ede_total Extended DNS Errors concluded per resolution (sent to clients that asked with OPT), by INFO-CODE.\n# TYPE whydns_ede_total counter"
        );
        for code in EdeCode::ALL {
            let _ = writeln!(
                out,
                "whydns_ede_total{{code=\"{}\",name=\"{}\"}} {}",
                code as u16,
                code.name(),
                self.ede.get(code as usize).map(load).unwrap_or(0)
            );
        }
    }

    fn render_cache_hits(&self, out: &mut String, cache: (u64, u64)) {
        let (hits, misses) = cache;
        let packet = load(&self.packet_cache_hits);
        let _ = writeln!(
            out,
            "# HELP whydns_cache_hits_total Lookups answered from a cache (record cache, or whole answers from the packet cache).\n# TYPE whydns_cache_hits_total counter"
        );
        let _ = writeln!(out, "whydns_cache_hits_total{{cache=\"records\"}} {hits}");
        let _ = writeln!(out, "whydns_cache_hits_total{{cache=\"packets\"}} {packet}");
        let _ = writeln!(
            out,
            "# HELP whydns_cache_misses_total Record-cache lookups that missed.\n# TYPE whydns_cache_misses_total counter\nwhydns_cache_misses_total{{cache=\"records\"}} {misses}"
        );
        let ratio = if hits + misses == 0 {
            0.0
        } else {
            hits as f64 / (hits + misses) as f64
        };
        let _ = writeln!(
            out,
            "# HELP whydns_cache_hit_ratio Record-cache hits over lookups since start (for a rate, use the _total counters).\n# TYPE whydns_cache_hit_ratio gauge\nwhydns_cache_hit_ratio {ratio:.4}"
        );
    }

    /// Upstream timeouts and lame servers, by zone.
    fn render_zones(&self, out: &mut String) {
        for (name, help, map) in [
            (
                "whydns_upstream_timeouts_total",
                "Upstream queries that timed out, by the zone asked about.",
                &self.timeouts,
            ),
            (
                "whydns_lame_servers_total",
                "Servers found lame (REFUSED, not authoritative, upward referral), by zone.",
                &self.lame,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let map = map.lock().unwrap_or_else(|e| e.into_inner());
            for (zone, count) in map.iter() {
                let _ = writeln!(out, "{name}{{zone=\"{}\"}} {count}", escape(zone));
            }
        }
    }

    fn render_latency(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP whydns_resolution_duration_seconds Time to resolve a client query (packet-cache hits excluded).\n# TYPE whydns_resolution_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += load(&self.latency[i]);
            let _ = writeln!(
                out,
                "whydns_resolution_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += load(&self.latency[BUCKETS.len()]);
        let _ = writeln!(
            out,
            "whydns_resolution_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "whydns_resolution_duration_seconds_sum {}",
            load(&self.latency_sum_us) as f64 / 1e6
        );
        // The count is the +Inf bucket itself, so a scrape never sees the two disagree.
        let _ = writeln!(out, "whydns_resolution_duration_seconds_count {cumulative}");
    }

    /// The rate limiter's slips and drops, and the explanation log's size.
    fn render_limits_and_log(&self, out: &mut String, explanations: (usize, usize, u64)) {
        let _ = writeln!(
            out,
            "# HELP whydns_rate_limited_total Error answers over UDP over their client prefix's rate: sent as a TC=1 slip, or dropped.\n# TYPE whydns_rate_limited_total counter\nwhydns_rate_limited_total{{action=\"slip\"}} {}\nwhydns_rate_limited_total{{action=\"drop\"}} {}",
            load(&self.slipped),
            load(&self.dropped)
        );
        let (entries, bytes, file_dropped) = explanations;
        let _ = writeln!(
            out,
            "# HELP whydns_explanations Explanations held in memory.\n# TYPE whydns_explanations gauge\nwhydns_explanations {entries}\n# HELP whydns_explanations_bytes Serialised size of the explanations held.\n# TYPE whydns_explanations_bytes gauge\nwhydns_explanations_bytes {bytes}\n# HELP whydns_explanation_file_dropped_total Explanations not written to the JSON-lines file because its queue was full.\n# TYPE whydns_explanation_file_dropped_total counter\nwhydns_explanation_file_dropped_total {file_dropped}"
        );
    }
}

fn render_cache_bytes(out: &mut String, cache_bytes: &[(&str, usize)]) {
    let _ = writeln!(
            out,
            "# HELP whydns_cache_bytes Bytes each cache holds (as counted against its configured MiB).\n# TYPE whydns_cache_bytes gauge"
        );
    for (name, bytes) in cache_bytes {
        let _ = writeln!(out, "whydns_cache_bytes{{cache=\"{name}\"}} {bytes}");
    }
}

/// A counter's value; relaxed, as every counter here is read on its own.
fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Label values escape backslash, quote and newline (exposition format).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_bounded_and_overflow_into_other() {
        let m = Metrics::default();
        for i in 0..(MAX_ZONES + 50) {
            bump(&m.lame, &format!("z{i}.lab."));
        }
        let map = m.lame.lock().unwrap();
        assert_eq!(map.len(), MAX_ZONES + 1);
        assert_eq!(map["(other)"], 50);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
