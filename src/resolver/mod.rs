//! The iterative resolver (RFC 1034 §5.3.3): prime the root, follow referrals from the closest
//! known zone cut, classify every response before acting on it, and record each step.
//!
//! Public surface: [`Resolver::resolve`] returns a [`Resolution`]: the outcome, the records
//! for the client and the [`Trace`]. Negative answers are outcomes, not errors; `Failed`
//! carries the typed reason that picks the RCODE and EDE.
//!
//! Every answer, denial and referral chain is validated against the trust anchors
//! (`validate`, `chain`) unless the client set CD or validation is off; the verdict and its
//! reason travel with the resolution and pick AD and EDE.
//!
//! Limitations: class IN only; an unsigned child served by its signed parent's servers
//! without a referral is bogus, not insecure (no DS walk between the cut and the owner).

mod addresses;
mod answers;
mod ask;
mod bounded;
mod budget;
mod cache;
mod chain;
mod classify;
mod delegation;
mod diagnose;
mod iterate;
mod recall;
mod sentinel;
mod servers;
mod upstream;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::dnssec::{Security, TrustAnchors};
use crate::explain::event::{key_tag_list, Limit, SentinelKind, ServerFailure};
use crate::explain::log::Explanation;
use crate::explain::{Ede, EdeCode, Trace};

pub use delegation::{builtin_root_hints, parse_root_hints, RootHint};
pub use diagnose::{edns_fallbacks, failed_over, FailedOver};
pub use sentinel::{sentinel_label, SentinelLabel};

/// How a resolution ended. Negative answers are answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Answer,
    NoData,
    NxDomain,
    Failed { failure: Failure },
}

/// Why a resolution failed: each variant is a root cause an operator can act on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "failure", rename_all = "kebab-case")]
pub enum Failure {
    /// Every server of `zone` failed or is lame.
    NoReachableAuthority {
        zone: String,
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// No address could be found for any of the zone's NS names.
    NoServerAddress { zone: String, ns: Vec<String> },
    /// Resolving the zone's servers needs the zone itself: zone -> NS name -> zone ...
    CircularDependency { path: Vec<String> },
    /// A bound on the work of one query was hit.
    LimitReached { limit: Limit },
    /// A CNAME/DNAME chain came back to a name already seen.
    AliasLoop { chain: Vec<String> },
    /// Too many client queries in flight.
    Overloaded,
    /// Not a fault: the question is an RFC 8509 root key sentinel whose label contradicts
    /// the root trust anchors (`is-ta` of a key not in `trusted`, `not-ta` of one in it), so
    /// the secure answer is withheld by design.
    RootKeySentinel {
        kind: SentinelKind,
        tag: u16,
        trusted: Vec<u16>,
    },
}

impl Failure {
    /// The one exhaustive mapping from a failure to Extended DNS Errors, most specific first.
    pub fn ede(&self, trace_id: &str) -> Vec<Ede> {
        let tag = format!(" [trace {trace_id}]");
        match self {
            Failure::NoReachableAuthority { zone, servers } => {
                let detail: Vec<String> = servers
                    .iter()
                    .take(4)
                    .map(|(addr, f)| format!("{} {}", addr.ip(), f.describe()))
                    .collect();
                let mut out = Vec::new();
                // RFC 8914 §4.24: a network error reaching the authority is worth its own code.
                if let Some((addr, _)) = servers
                    .iter()
                    .find(|(_, f)| *f == ServerFailure::TruncatedNoTcp)
                {
                    out.push(Ede::new(
                        EdeCode::NetworkError,
                        format!(
                            "{} truncated over UDP and refused TCP for {zone}{tag}",
                            addr.ip()
                        ),
                    ));
                }
                out.push(Ede::new(
                    EdeCode::NoReachableAuthority,
                    format!(
                        "no reachable authority for {zone}: {}{tag}",
                        detail.join("; ")
                    ),
                ));
                out
            }
            Failure::NoServerAddress { zone, ns } => vec![Ede::new(
                EdeCode::NoReachableAuthority,
                format!(
                    "no address for any nameserver of {zone} ({}){tag}",
                    ns.join(", ")
                ),
            )],
            Failure::CircularDependency { path } => vec![Ede::new(
                EdeCode::NoReachableAuthority,
                format!("circular dependency: {}{tag}", path.join(" -> ")),
            )],
            Failure::LimitReached { limit } => vec![Ede::new(
                EdeCode::OtherError,
                format!(
                    "resolution stopped: {} limit reached{tag}",
                    limit_name(*limit)
                ),
            )],
            Failure::AliasLoop { chain } => vec![Ede::new(
                EdeCode::OtherError,
                format!("CNAME/DNAME loop: {}{tag}", chain.join(" -> ")),
            )],
            Failure::Overloaded => vec![Ede::new(
                EdeCode::OtherError,
                format!("resolver overloaded: too many queries in flight{tag}"),
            )],
            // EDE 0, not a DNSSEC code: the answer validated, nothing in the zone is wrong,
            // and a code such as 6 or 9 would send its operator looking for a fault.
            Failure::RootKeySentinel {
                kind,
                tag: key,
                trusted,
            } => vec![Ede::new(
                EdeCode::OtherError,
                format!(
                    "root key sentinel (RFC 8509): {}: key {key} {} a root trust anchor of this resolver, which trusts {}{tag}",
                    kind.label(*key),
                    SentinelKind::trust_words(trusted.contains(key)),
                    key_tag_list(trusted)
                ),
            )],
        }
    }
}

fn limit_name(limit: Limit) -> &'static str {
    match limit {
        Limit::UpstreamQueries => "upstream query",
        Limit::ReferralDepth => "referral depth",
        Limit::NsNamesPerDelegation => "NS names per delegation",
        Limit::CnameChain => "CNAME chain",
        Limit::SubResolutionDepth => "sub-resolution depth",
        Limit::Deadline => "deadline",
        Limit::SignatureChecks => "signature check",
        Limit::Nsec3Hashes => "NSEC3 hash",
        Limit::ValidationAllowance => "validation allowance",
    }
}

/// The result of resolving one question.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    pub name: String,
    pub rtype: String,
    pub outcome: Outcome,
    /// CNAME/DNAME chain then the final RRset, as the client should see them.
    pub answers: Vec<Record>,
    /// SOA of the zone that denied, for negative answers (RFC 2308).
    pub authority: Vec<Record>,
    /// RRSIGs over the answer records, for clients that set DO.
    pub dnssec_answers: Vec<Record>,
    /// NSEC/NSEC3 proofs and RRSIGs for the authority section, for clients that set DO.
    pub dnssec_authority: Vec<Record>,
    /// The DNSSEC verdict on the answer.
    pub security: Security,
    /// The client set CD: the data is returned whatever the verdict.
    pub checking_disabled: bool,
    /// Served whole from the answer cache: the trace is the one of the resolution that
    /// produced it (ending with a `cache-hit` event), and it was already explained.
    pub cached: bool,
    pub trace: Trace,
}

impl Resolution {
    pub fn rcode(&self) -> ResponseCode {
        // RFC 4035 §5.5: bogus data is not returned (unless the client asked with CD).
        if self.security.is_failure() && !self.checking_disabled {
            return ResponseCode::ServFail;
        }
        match &self.outcome {
            Outcome::Answer | Outcome::NoData => ResponseCode::NoError,
            Outcome::NxDomain => ResponseCode::NXDomain,
            Outcome::Failed { .. } => ResponseCode::ServFail,
        }
    }

    /// Extended DNS Errors for the client, most specific first.
    pub fn ede(&self) -> Vec<Ede> {
        let tag = format!(" [trace {}]", self.trace.id);
        match &self.outcome {
            Outcome::Failed { failure } => failure.ede(&self.trace.id),
            _ => {
                let mut out = self.security.ede(&tag);
                // A noteworthy success: a server of a zone on the path failed and another
                // carried the answer. The operator of that zone wants to know.
                if out.is_empty() {
                    let failed = failed_over(&self.trace);
                    if let Some(first) = failed.first() {
                        out.push(Ede::new(
                            EdeCode::OtherError,
                            format!(
                                "answered after failover: {} {} for {}{}{tag}",
                                first.server.ip(),
                                first.failure.describe(),
                                first.zone,
                                match failed.len() {
                                    1 => String::new(),
                                    n => format!(" (and {} more)", n - 1),
                                }
                            ),
                        ));
                    } else if let Some(server) = edns_fallbacks(&self.trace).first() {
                        out.push(Ede::new(
                            EdeCode::OtherError,
                            format!(
                                "answered without EDNS: {} rejects EDNS queries{tag}",
                                server.ip()
                            ),
                        ));
                    }
                }
                out
            }
        }
    }

    /// The explanation of this resolution as the log keeps it (EDE and diagnosis computed).
    pub fn explanation(&self, client: Option<std::net::IpAddr>, time: u64) -> Explanation {
        self.explanation_with(client, time, self.ede(), self.diagnose())
    }

    /// As [`Resolution::explanation`], with the EDE and diagnosis already computed.
    pub fn explanation_with(
        &self,
        client: Option<std::net::IpAddr>,
        time: u64,
        ede: Vec<Ede>,
        diagnosis: crate::explain::diagnosis::Diagnosis,
    ) -> Explanation {
        Explanation {
            id: self.trace.id.clone(),
            time,
            client,
            name: self.name.clone(),
            rtype: self.rtype.clone(),
            rcode: crate::explain::event::rcode_name(self.rcode()),
            ede: ede.into_iter().map(|e| (e.code as u16, e.text)).collect(),
            duration_ms: self.trace.elapsed_ms(),
            diagnosis,
            trace: self.trace.clone(),
        }
    }

    /// Whether the answer is authenticated (the AD bit, RFC 4035 §3.2.3).
    pub fn authenticated(&self) -> bool {
        self.security.is_secure() && !matches!(self.outcome, Outcome::Failed { .. })
    }
}

/// Estimated bytes held by each cache (see `CacheConfig` for the bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheBytes {
    pub records: usize,
    pub negative: usize,
    pub delegations: usize,
    pub keys: usize,
    pub answers: usize,
}

/// Reads one trust-anchor file. Each entry skipped is logged as a warning naming the file
/// and line; a file with no usable anchor stops the resolver being built, since validation
/// would silently lose the zones it was meant to anchor.
fn load_trust_anchors(path: &std::path::Path) -> Result<TrustAnchors, ResolverError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ResolverError::TrustAnchor {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let parsed = TrustAnchors::parse(&text).map_err(|error| ResolverError::TrustAnchorFile {
        path: shown.clone(),
        error,
    })?;
    for skipped in &parsed.skipped {
        tracing::warn!(
            path = %shown,
            line = skipped.line,
            reason = %skipped.reason,
            "trust anchor entry skipped"
        );
    }
    Ok(parsed.anchors)
}

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    #[error("root hints {path}: {message}")]
    RootHints { path: String, message: String },
    /// The file could not be read.
    #[error("trust anchor {path}: {message}")]
    TrustAnchor { path: String, message: String },
    /// The file was read but gives no usable anchor, or its structure is broken.
    #[error("trust anchor {path}: {error}")]
    TrustAnchorFile {
        path: String,
        error: crate::dnssec::AnchorError,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// A recursive resolver; cheap to clone, shared by every client task.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<iterate::Iterator>,
    answers: Option<Arc<answers::AnswerCache>>,
}

impl Resolver {
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> Result<Resolver, ResolverError> {
        config.check()?;
        let hints = match &config.root_hints {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ResolverError::RootHints {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                parse_root_hints(&text).map_err(|message| ResolverError::RootHints {
                    path: path.display().to_string(),
                    message,
                })?
            }
            None => builtin_root_hints(),
        };
        let anchors = if config.trust_anchors.is_empty() {
            TrustAnchors::iana_root()
        } else {
            let mut anchors = TrustAnchors::default();
            for path in &config.trust_anchors {
                for (owner, list) in load_trust_anchors(path)?.iter() {
                    for anchor in list {
                        anchors.insert(owner.clone(), anchor.clone());
                    }
                }
            }
            anchors
        };
        let answers = answers::AnswerCache::new(
            config.cache.answers,
            crate::config::CacheConfig::bytes(config.cache.answers_mib),
            config.max_ttl,
        )
        .map(Arc::new);
        Ok(Resolver {
            answers,
            inner: Arc::new(iterate::Iterator::new(
                config.clone(),
                hints,
                anchors,
                clock,
            )),
        })
    }

    /// Resolves `name`/`rtype` from the cache or by iteration. Never fails: failures are
    /// outcomes with their reason.
    pub async fn resolve(&self, name: &Name, rtype: RecordType) -> Resolution {
        self.resolve_with(name, rtype, false).await
    }

    /// As [`Resolver::resolve`], with the client's CD bit: when set, the data comes back
    /// unvalidated (RFC 4035 §3.2.2), the first step of every DNSSEC troubleshooting.
    pub async fn resolve_with(
        &self,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
    ) -> Resolution {
        let Some(answers) = &self.answers else {
            return self.inner.resolve(name, rtype, checking_disabled).await;
        };
        if let Some(hit) = answers.get(name, rtype, checking_disabled, self.now()) {
            return hit;
        }
        let resolution = self.inner.resolve(name, rtype, checking_disabled).await;
        answers.put(name, rtype, checking_disabled, &resolution, self.now());
        resolution
    }

    /// Now, by the resolver's clock (seconds since the epoch).
    pub fn now(&self) -> u64 {
        self.inner.clock.now()
    }

    /// Cache statistics: (hits, misses).
    pub fn cache_stats(&self) -> (u64, u64) {
        self.inner.cache_stats()
    }

    /// Estimated bytes each cache holds now, against the configured bounds.
    pub fn cache_bytes(&self) -> CacheBytes {
        let (records, negative, delegations) = self.inner.cache.bytes();
        CacheBytes {
            records,
            negative,
            delegations,
            keys: self
                .inner
                .keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .bytes(),
            answers: self.answers.as_ref().map_or(0, |a| a.size().1),
        }
    }

    /// What the server-health tables hold: (servers remembered, lame marks).
    pub fn server_health_sizes(&self) -> (usize, usize) {
        self.inner.servers.sizes()
    }
}
