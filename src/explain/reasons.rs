//! The small vocabularies events use for what used to be free text: what a cache hit
//! served, which denial a proof was checked for, why a datagram was discarded, why a server
//! was skipped, and the steps of a dependency cycle. Each one has its words (`Display`) for
//! the rendered trace; its JSON is the token, as before where a string was.
//!
//! RFCs: 5452 §9.1 (a response must echo the question and ID), 4035 §5.4 (denials).

use std::fmt;

use hickory_proto::op::OpCode;
use hickory_proto::rr::{DNSClass, Name};
use serde::{Deserialize, Serialize};

use super::event::ServerFailure;
use super::wire::Rtype;

/// What a cache hit served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheHitKind {
    /// A whole earlier resolution, from the answer cache.
    #[serde(rename = "resolution")]
    Resolution,
    /// The RRset asked for.
    #[serde(rename = "answer")]
    Answer,
    /// A CNAME or DNAME on the way.
    #[serde(rename = "alias")]
    Alias,
    #[serde(rename = "NXDOMAIN")]
    NxDomain,
    #[serde(rename = "NODATA")]
    NoData,
}

impl CacheHitKind {
    pub fn token(self) -> &'static str {
        match self {
            CacheHitKind::Resolution => "resolution",
            CacheHitKind::Answer => "answer",
            CacheHitKind::Alias => "alias",
            CacheHitKind::NxDomain => "NXDOMAIN",
            CacheHitKind::NoData => "NODATA",
        }
    }
}

impl fmt::Display for CacheHitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

impl PartialEq<str> for CacheHitKind {
    fn eq(&self, other: &str) -> bool {
        self.token() == other
    }
}

/// What a denial of existence was checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DenialClaim {
    /// The name does not exist.
    #[serde(rename = "NXDOMAIN")]
    NxDomain,
    /// The name exists without the type.
    #[serde(rename = "NODATA")]
    NoData,
    /// The delegation has no DS: the child is unsigned.
    #[serde(rename = "no DS")]
    NoDs,
    /// No closer name exists than the wildcard an answer was expanded from.
    #[serde(rename = "wildcard")]
    Wildcard,
}

impl DenialClaim {
    pub fn token(self) -> &'static str {
        match self {
            DenialClaim::NxDomain => "NXDOMAIN",
            DenialClaim::NoData => "NODATA",
            DenialClaim::NoDs => "no DS",
            DenialClaim::Wildcard => "wildcard",
        }
    }
}

impl fmt::Display for DenialClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// Why a server was not asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "skip", rename_all = "kebab-case")]
pub enum SkipReason {
    /// It failed for this zone recently in a way that says it does not serve it.
    KnownLame { failure: ServerFailure },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::KnownLame { failure } => {
                write!(f, "known lame for this zone: {}", failure.describe())
            }
        }
    }
}

/// A question as a response echoed it or a query asked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub name: Name,
    pub class: DNSClass,
    pub rtype: Rtype,
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.class, self.rtype)
    }
}

/// Why a datagram from a server's address was not taken as its answer (RFC 5452 §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mismatch", rename_all = "kebab-case")]
pub enum SpoofReason {
    /// The QR bit says it is a query.
    NotAResponse,
    /// Another message ID than the query's.
    Id { received: u16, sent: u16 },
    /// Another opcode than the query's.
    Opcode { received: OpCode, sent: OpCode },
    /// Another question than the one asked.
    Question { received: Question, sent: Question },
    /// No question section, and not truncated.
    NoQuestion,
    /// The datagram did not parse.
    Unparseable,
    /// More datagrams than are listed were discarded.
    MoreDatagrams { count: usize },
}

impl fmt::Display for SpoofReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpoofReason::NotAResponse => f.write_str("not a response"),
            SpoofReason::Id { received, sent } => write!(f, "ID {received} instead of {sent}"),
            SpoofReason::Opcode { received, sent } => {
                write!(f, "opcode {received:?} instead of {sent:?}")
            }
            SpoofReason::Question { received, sent } => {
                write!(f, "question {received} instead of {sent}")
            }
            SpoofReason::NoQuestion => f.write_str("no question section"),
            SpoofReason::Unparseable => f.write_str("unparseable datagram"),
            SpoofReason::MoreDatagrams { count } => write!(f, "... and {count} more datagrams"),
        }
    }
}

/// One step of a dependency cycle: resolving the servers of `zone` needs the address of
/// `ns`, whose own zone is the next step's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleStep {
    pub zone: Name,
    pub ns: Name,
}

/// A cycle as people read it: `zone -> ns -> zone -> ns -> zone`, back where it began.
pub fn cycle_text(path: &[CycleStep]) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(path.len() * 2 + 1);
    for step in path {
        parts.push(step.zone.to_string());
        parts.push(step.ns.to_string());
    }
    if let Some(first) = path.first() {
        parts.push(first.zone.to_string());
    }
    parts.join(" -> ")
}
