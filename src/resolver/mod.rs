//! The iterative resolver (RFC 1034 §5.3.3): prime the root, follow referrals from the closest
//! known zone cut, classify every response before acting on it, and record each step.
//!
//! Public surface: [`Resolver::resolve`] returns a [`Resolution`]: the outcome, the records
//! for the client and the [`Trace`]. Negative answers are outcomes, not errors; `Failed`
//! carries the typed reason that picks the RCODE and EDE.
//!
//! Every answer, denial and referral chain is validated by the [`crate::dnssec::Validator`]
//! the `Recursor` owns, unless the client set CD or validation is off; the validator fetches
//! DS and DNSKEY through the `Fetch` trait the `Recursor` implements (`fetch.rs`). The
//! verdict and its reason travel with the resolution and pick AD and EDE.
//!
//! Limitations: class IN only; an unsigned child served by its signed parent's servers
//! without a referral is bogus, not insecure (no DS walk between the cut and the owner).

mod addresses;
mod alias;
mod answers;
mod ask;
mod bounded;
mod budget;
mod cache;
mod classify;
mod delegation;
mod fetch;
mod iterate;
mod recall;
mod sentinel;
mod servers;
mod upstream;

use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::dnssec::TrustAnchors;
use crate::explain::Resolution;

pub use delegation::{builtin_root_hints, parse_root_hints, RootHint};
pub use sentinel::{sentinel_label, SentinelLabel};

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
    inner: Arc<iterate::Recursor>,
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
            inner: Arc::new(iterate::Recursor::new(
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
            keys: self.inner.validator.key_cache_bytes(),
            answers: self.answers.as_ref().map_or(0, |a| a.size().1),
        }
    }

    /// What the server-health tables hold: (servers remembered, lame marks).
    pub fn server_health_sizes(&self) -> (usize, usize) {
        self.inner.servers.sizes()
    }
}
