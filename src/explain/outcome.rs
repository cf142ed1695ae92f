//! How a resolution ended ([`Outcome`], [`Failure`]) and the finished result of one
//! ([`Resolution`]): what the resolver produces and the server, the log and the diagnosis read.
//! Negative answers are outcomes, not errors; `Failed` carries the typed root cause.

use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Record;
use serde::{Deserialize, Serialize};

use super::event::{CycleStep, Limit, SentinelKind, ServerFailure, Trace};
use super::log::Explanation;
use super::verdict::Security;
use super::Ede;

/// How a resolution ended. Negative answers are answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Answer,
    NoData,
    NxDomain,
    Failed { failure: Failure },
}

/// Why a resolution failed: each variant is a root cause an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    CircularDependency { path: Vec<CycleStep> },
    /// A bound on the work of one query was hit.
    LimitReached { limit: Limit },
    /// A CNAME/DNAME chain came back to a name already seen.
    AliasLoop { chain: Vec<String> },
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
    /// The failure's kebab-case token, as its JSON `failure` tag writes it.
    pub fn token(&self) -> &'static str {
        match self {
            Failure::NoReachableAuthority { .. } => "no-reachable-authority",
            Failure::NoServerAddress { .. } => "no-server-address",
            Failure::CircularDependency { .. } => "circular-dependency",
            Failure::LimitReached { .. } => "limit-reached",
            Failure::AliasLoop { .. } => "alias-loop",
            Failure::RootKeySentinel { .. } => "root-key-sentinel",
        }
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

/// The facts every reader of a finished resolution needs (the answer, the metrics, the log,
/// the explanation), computed once when it is finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub rcode: ResponseCode,
    pub ede: Vec<Ede>,
    /// The AD bit may be set (RFC 4035 §3.2.3).
    pub authenticated: bool,
}

impl Resolution {
    /// The RCODE, EDE and AD of this resolution, computed once.
    pub fn finish(&self) -> Finished {
        Finished {
            rcode: self.rcode(),
            ede: self.ede(),
            authenticated: self.authenticated(),
        }
    }

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

    /// Extended DNS Errors for the client, most specific first (see [`super::ede::derive`]).
    pub fn ede(&self) -> Vec<Ede> {
        super::ede::derive(&self.outcome, &self.security, &self.trace)
    }

    /// The explanation of this resolution as the log keeps it (EDE and diagnosis computed).
    pub fn explanation(&self, client: Option<std::net::IpAddr>, time: u64) -> Explanation {
        self.explanation_with(client, time, &self.finish(), self.diagnose())
    }

    /// As [`Resolution::explanation`], with the finished facts and diagnosis already computed.
    pub fn explanation_with(
        &self,
        client: Option<std::net::IpAddr>,
        time: u64,
        finished: &Finished,
        diagnosis: crate::explain::diagnosis::Diagnosis,
    ) -> Explanation {
        Explanation {
            id: self.trace.id.clone(),
            time,
            client,
            name: self.name.clone(),
            rtype: self.rtype.clone(),
            rcode: crate::explain::event::rcode_name(finished.rcode),
            ede: finished
                .ede
                .iter()
                .map(|e| (e.code as u16, e.text.clone()))
                .collect(),
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
