//! Configuration: a TOML file (every field optional) overlaid by command-line flags, with
//! defaults an operator would expect: loopback listeners, loopback-only clients, QNAME
//! minimisation on, IANA root hints built in, and bounds on the work one query may cause.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Addresses `whydns serve` listens on (UDP and TCP).
    pub listen: Vec<SocketAddr>,
    /// Root hints file (named.root format); None: the built-in IANA hints.
    pub root_hints: Option<PathBuf>,
    /// Trust anchor files (DS or DNSKEY lines, or BIND `trust-anchors` / `managed-keys` /
    /// `trusted-keys` clauses); empty: the built-in IANA root anchors.
    pub trust_anchors: Vec<PathBuf>,
    /// DNSSEC validation (RFC 4035 §5); off only for debugging (`--no-validate`).
    pub validate: bool,
    /// How validation treats costly proofs.
    pub dnssec: DnssecConfig,
    /// RFC 9156 QNAME minimisation (relaxed: falls back to the full name on NXDOMAIN).
    pub qname_minimisation: bool,
    /// Source addresses for upstream queries (None: chosen by the kernel).
    pub source_v4: Option<IpAddr>,
    pub source_v6: Option<IpAddr>,
    /// Whether upstream queries may use IPv4 / IPv6.
    pub ipv4: bool,
    pub ipv6: bool,
    /// Port of authoritative servers. 53 everywhere but in a lab run on another port.
    pub upstream_port: u16,
    /// Send query names upstream in random letter case (0x20) and require it echoed; a
    /// server that does not echo it is asked without for an hour.
    pub randomize_case: bool,
    /// Bounds applied to every TTL cached.
    pub min_ttl: u32,
    pub max_ttl: u32,
    pub cache: CacheConfig,
    pub limits: Limits,
    /// Clients allowed to query; everyone else gets REFUSED with EDE 18.
    pub allow: Vec<IpNet>,
    pub explain: ExplainConfig,
    /// The HTTP control API (explanations, metrics); None: off. `whydns lab` turns it on at
    /// 127.0.0.1:8053. It has no authentication: keep it on loopback or behind a proxy.
    pub control: Option<SocketAddr>,
    /// Clients allowed to use the control API (it shows every client's questions), apart
    /// from the DNS `allow` list. Default: loopback only.
    pub control_allow: Vec<IpNet>,
    /// Clients allowed to read `/metrics` on the control API; its own list, so that a
    /// Prometheus server is not thereby allowed to read explanations. Default: loopback.
    pub metrics_allow: Vec<IpNet>,
    /// Names the control API accepts in an HTTP Host header besides its own address,
    /// IP literals and `localhost` (against DNS rebinding). Default: none.
    pub control_hosts: Vec<String>,
    /// Bounds on client TCP connections (RFC 7766).
    pub tcp: TcpConfig,
    /// Response rate limiting of error answers over UDP, and of failure log lines.
    pub rate_limit: RateLimitConfig,
}

/// Client TCP connections: how many, how many per client, how long they may idle or take to
/// send one message. Clients outside `allow` never take one of these slots.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpConfig {
    /// Connections open at once, from clients in `allow`.
    pub connections: usize,
    /// Connections open at once from one client (an IPv4 address, an IPv6 /64).
    pub connections_per_client: usize,
    /// How long a connection may wait for the first byte of its next message (RFC 7766
    /// §6.2.3); shortened to `read_timeout_ms` while more than half the slots are taken.
    pub idle_timeout_ms: u64,
    /// How long one message may take to arrive once its first byte has (slowloris).
    pub read_timeout_ms: u64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            connections: 256,
            connections_per_client: 32,
            idle_timeout_ms: 10_000,
            read_timeout_ms: 2_000,
        }
    }
}

/// Response rate limiting for error answers (REFUSED, SERVFAIL, FORMERR, NOTIMP...) over
/// UDP, per client prefix, as BIND's RRL does for errors; and failure log lines per 10 s.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Error answers per second to one client prefix; 0 turns the limit off.
    pub errors_per_second: u32,
    /// Every `slip`-th answer over the limit is sent as an empty TC=1 answer (the client
    /// retries over TCP, which is not limited); the others are dropped. 0: drop all.
    pub slip: u32,
    /// The prefix lengths that make one client for the limit.
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    /// Clients never limited. Default: loopback.
    pub exempt: Vec<IpNet>,
    /// Failure log lines of one kind per 10 s; the rest are counted and summarised.
    /// 0: no limit.
    pub log_lines_per_10s: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            errors_per_second: 10,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            log_lines_per_10s: 20,
        }
    }
}

/// The explanation log: which resolutions are kept, and how many.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExplainConfig {
    /// Keep every resolution, not only those that are not a plain success.
    pub keep_all: bool,
    pub max_entries: usize,
    /// MiB the entries may take together (their serialised size).
    pub max_mib: usize,
    /// Also append every kept entry to this file as one JSON line.
    pub file: Option<PathBuf>,
}

impl Default for ExplainConfig {
    fn default() -> Self {
        ExplainConfig {
            keep_all: false,
            max_entries: 10_000,
            max_mib: 64,
            file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// MiB the record cache may hold: RRsets with their signatures, proofs and verdicts.
    pub records_mib: usize,
    /// MiB of negative answers (NXDOMAIN, NODATA) with their SOA and proofs.
    pub negative_mib: usize,
    /// MiB of zone cuts (NS names and their addresses).
    pub delegations_mib: usize,
    /// MiB of zones' key verdicts (authenticated DNSKEY sets, or why a zone is not secure).
    pub keys_mib: usize,
    /// Upstream servers whose health (RTT, EDNS, lameness) is remembered.
    pub servers: usize,
    /// MiB of finished UDP answers kept as wire bytes for the fast path.
    pub packets_mib: usize,
    /// Finished resolutions kept whole (every outcome: answers, denials, failures), so a
    /// repeated question gets the same answer, EDE and explanation id; 0 turns it off.
    pub answers: usize,
    /// MiB the kept resolutions may take (estimated: records and traces).
    pub answers_mib: usize,
}

impl CacheConfig {
    /// A size in MiB as bytes.
    pub fn bytes(mib: usize) -> usize {
        mib.saturating_mul(1 << 20)
    }
}

/// Bounds on the work one client query may cause (each hit is recorded in the trace).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub upstream_queries: u32,
    pub referral_depth: u32,
    /// NS names without glue resolved per delegation (NXNSAttack, CVE-2020-12662).
    pub ns_names_per_delegation: usize,
    pub cname_chain: u32,
    pub sub_resolution_depth: u8,
    /// Overall deadline for one client query.
    pub deadline_ms: u64,
    /// First timeout for an upstream query; doubled on the second round.
    pub query_timeout_ms: u64,
    /// Rounds over a zone's servers before giving up on it.
    pub rounds: u32,
    /// Client queries being resolved at once; more are answered SERVFAIL.
    pub concurrent_queries: usize,
    /// Events kept per trace.
    pub trace_events: usize,
    /// KiB of events (as JSON) kept per trace; later events are counted as dropped.
    pub trace_kib: usize,
    /// Signature verifications per client query (KeyTrap, CVE-2023-50387).
    pub signature_checks: u32,
    /// Signature checks and DS digests the whole resolver may spend per second (a flood of
    /// KeyTrap-style queries cannot starve the others); beyond it, SERVFAIL with EDE 0.
    pub validations_per_second: u32,
    /// NSEC3 hash computations per client query (CVE-2023-50868).
    pub nsec3_hashes: u32,
}

/// `[dnssec]`: what validation does with NSEC3 proofs too costly to check (RFC 9276 §3.2:
/// a validator MAY answer them as insecure, or MAY answer SERVFAIL; EDE 27 either way).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnssecConfig {
    /// Above this many NSEC3 iterations no hash is computed and the answer is insecure.
    /// 50, as BIND 9.20, Knot Resolver 5.7.1 and PowerDNS Recursor 5.0 (docs/ede.md). At most
    /// [`NSEC3_ITERATIONS_COMPUTED_MAX`].
    pub nsec3_insecure_above: u16,
    /// Above this many, SERVFAIL instead; at least `nsec3_insecure_above`. 65535, the most
    /// the field holds: never, as in those resolvers.
    pub nsec3_bogus_above: u16,
}

impl Default for DnssecConfig {
    fn default() -> Self {
        DnssecConfig {
            nsec3_insecure_above: 50,
            nsec3_bogus_above: u16::MAX,
        }
    }
}

/// The most `dnssec.nsec3_insecure_above` may be: RFC 5155 §10.3 never allowed more
/// iterations (for 4096-bit keys), and each NSEC3 hash computed costs that many SHA-1 runs.
pub const NSEC3_ITERATIONS_COMPUTED_MAX: u16 = 2500;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec!["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()],
            root_hints: None,
            trust_anchors: Vec::new(),
            validate: true,
            dnssec: DnssecConfig::default(),
            qname_minimisation: true,
            source_v4: None,
            source_v6: None,
            ipv4: true,
            ipv6: true,
            upstream_port: 53,
            randomize_case: true,
            min_ttl: 0,
            max_ttl: 86400,
            cache: CacheConfig::default(),
            limits: Limits::default(),
            allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            explain: ExplainConfig::default(),
            control: None,
            control_allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            metrics_allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            control_hosts: Vec::new(),
            tcp: TcpConfig::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            records_mib: 64,
            negative_mib: 16,
            delegations_mib: 8,
            keys_mib: 8,
            servers: 10_000,
            packets_mib: 16,
            answers: 20_000,
            answers_mib: 32,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            upstream_queries: 64,
            referral_depth: 16,
            ns_names_per_delegation: 5,
            cname_chain: 12,
            sub_resolution_depth: 6,
            deadline_ms: 10_000,
            query_timeout_ms: 1000,
            rounds: 2,
            concurrent_queries: 2000,
            trace_events: 2000,
            trace_kib: 512,
            signature_checks: 64,
            validations_per_second: 20_000,
            nsec3_hashes: 64,
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Rejects settings that cannot work, with the reason.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if !self.ipv4 && !self.ipv6 {
            return bad("ipv4 and ipv6 are both off: no upstream server can be reached".into());
        }
        if self.min_ttl > self.max_ttl {
            return bad(format!(
                "min_ttl {} exceeds max_ttl {}",
                self.min_ttl, self.max_ttl
            ));
        }
        if let Some(name) = self.zero_bound() {
            return bad(format!("{name} must be greater than 0"));
        }
        if self.upstream_port == 0 {
            return bad("upstream_port must not be 0".into());
        }
        let r = &self.rate_limit;
        if r.ipv4_prefix > 32 || r.ipv6_prefix > 128 {
            return bad(format!(
                "rate_limit.ipv4_prefix {} or rate_limit.ipv6_prefix {} is longer than an address",
                r.ipv4_prefix, r.ipv6_prefix
            ));
        }
        self.dnssec.check()
    }

    /// The first bound set to 0, which would make the resolver refuse all work (or none of
    /// its caches hold anything): every one of them must be at least 1.
    fn zero_bound(&self) -> Option<&'static str> {
        let l = &self.limits;
        let bounds: &[(&'static str, u64)] = &[
            ("limits.upstream_queries", l.upstream_queries as u64),
            ("limits.referral_depth", l.referral_depth as u64),
            (
                "limits.ns_names_per_delegation",
                l.ns_names_per_delegation as u64,
            ),
            ("limits.deadline_ms", l.deadline_ms),
            ("limits.query_timeout_ms", l.query_timeout_ms),
            ("limits.rounds", l.rounds as u64),
            ("limits.concurrent_queries", l.concurrent_queries as u64),
            ("limits.trace_events", l.trace_events as u64),
            ("limits.trace_kib", l.trace_kib as u64),
            ("limits.signature_checks", l.signature_checks as u64),
            (
                "limits.validations_per_second",
                l.validations_per_second as u64,
            ),
            ("limits.nsec3_hashes", l.nsec3_hashes as u64),
            ("cache.records_mib", self.cache.records_mib as u64),
            ("cache.negative_mib", self.cache.negative_mib as u64),
            ("cache.delegations_mib", self.cache.delegations_mib as u64),
            ("cache.keys_mib", self.cache.keys_mib as u64),
            ("cache.servers", self.cache.servers as u64),
            ("cache.packets_mib", self.cache.packets_mib as u64),
            ("cache.answers_mib", self.cache.answers_mib as u64),
            ("explain.max_entries", self.explain.max_entries as u64),
            ("explain.max_mib", self.explain.max_mib as u64),
            ("tcp.connections", self.tcp.connections as u64),
            (
                "tcp.connections_per_client",
                self.tcp.connections_per_client as u64,
            ),
            ("tcp.idle_timeout_ms", self.tcp.idle_timeout_ms),
            ("tcp.read_timeout_ms", self.tcp.read_timeout_ms),
        ];
        bounds
            .iter()
            .find(|(_, value)| *value == 0)
            .map(|(name, _)| *name)
    }
}

impl DnssecConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let (insecure, bogus) = (self.nsec3_insecure_above, self.nsec3_bogus_above);
        if insecure > NSEC3_ITERATIONS_COMPUTED_MAX {
            return Err(ConfigError::Invalid(format!(
                "dnssec.nsec3_insecure_above {insecure} exceeds {NSEC3_ITERATIONS_COMPUTED_MAX}: \
                 every NSEC3 hash up to it would be computed (RFC 5155 §10.3 never allowed more)"
            )));
        }
        if bogus < insecure {
            return Err(ConfigError::Invalid(format!(
                "dnssec.nsec3_bogus_above {bogus} is below dnssec.nsec3_insecure_above \
                 {insecure}: a proof between them would be checked, not refused"
            )));
        }
        Ok(())
    }
}
