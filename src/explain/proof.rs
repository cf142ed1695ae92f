//! The facts of a denial proof: which NSEC or NSEC3 record ([`ProofRecord`]) covered or
//! matched which name ([`NameRole`]: the query name, closest encloser, next closer or
//! wildcard), what its type bitmap showed ([`ProofStep`]), and, when the proof fails, what
//! record was absent ([`Absent`]) or why a record present may not be used ([`Fault`]).
//! [`DenialVerdict`](super::verdict::DenialVerdict) and the denial reasons of
//! [`BogusReason`](super::verdict::BogusReason) carry these; `Display` gives the short text
//! that EXTRA-TEXT and the diagnoses quote.
//!
//! RFCs: 4035 §5.4 and 5155 §8 (the proofs), 5155 §7.2.1 (closest encloser, next closer),
//! 6840 §4.1 and §4.4 (records at a zone cut).
//!
//! # Limitations
//! - An NSEC3 record is named by its owner and next hashed owner (base32hex), not by the
//!   name it hashes; the step that uses it says which name that was.
//! - Type bitmaps are not carried whole, only the bits a step or fault turned on.

use std::fmt;

use hickory_proto::rr::{Name, RecordType};
use serde::{Deserialize, Serialize};

/// Which kind of record made the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialHow {
    Nsec,
    Nsec3,
}

impl fmt::Display for DenialHow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DenialHow::Nsec => "NSEC",
            DenialHow::Nsec3 => "NSEC3",
        })
    }
}

/// One NSEC or NSEC3 record that took part in a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ProofRecord {
    #[serde(rename = "NSEC")]
    Nsec { owner: Name, next: Name },
    /// `next_hashed` is the next hashed owner name in base32hex, as the owner's first label.
    #[serde(rename = "NSEC3")]
    Nsec3 {
        owner: Name,
        next_hashed: String,
        opt_out: bool,
    },
}

impl fmt::Display for ProofRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofRecord::Nsec { owner, next } => write!(f, "NSEC {owner}->{next}"),
            ProofRecord::Nsec3 { owner, .. } => write!(f, "NSEC3 {owner}"),
        }
    }
}

/// What a name is to the proof (RFC 5155 §7.2.1 for the closest encloser and next closer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameRole {
    /// The name denied (the query name, the delegation, or the name a wildcard answered).
    Qname,
    ClosestEncloser,
    NextCloser,
    /// `*.` + the closest encloser.
    Wildcard,
}

/// `role` and `name` as a sentence names them: "the next closer a.example.".
struct Named<'a>(NameRole, &'a Name);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.0 {
            NameRole::Qname => "",
            NameRole::ClosestEncloser => "the closest encloser ",
            NameRole::NextCloser => "the next closer ",
            NameRole::Wildcard => "the wildcard ",
        };
        write!(f, "{role}{}", self.1)
    }
}

/// One thing a record established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ProofStep {
    /// `name` sorts (or hashes) between the record's owner and next name: it does not exist.
    Covers {
        record: ProofRecord,
        name: Name,
        role: NameRole,
    },
    /// The record's owner is `name` (or its hash): `name` exists.
    Matches {
        record: ProofRecord,
        name: Name,
        role: NameRole,
    },
    /// The record at `name` lists neither `rtype` nor CNAME.
    LacksType {
        record: ProofRecord,
        name: Name,
        rtype: RecordType,
    },
    /// The record at the delegation `name` lists NS but not DS (RFC 6840 §4.4).
    NoDsAtCut { record: ProofRecord, name: Name },
    /// The covering NSEC's next name lies below `name`: an empty non-terminal, which exists
    /// without data (RFC 4035 §3.1.3.2).
    EmptyNonTerminal { record: ProofRecord, name: Name },
    /// The closest encloser is the one the wildcard `source` was expanded at.
    WildcardApplies { source: Name },
}

impl fmt::Display for ProofStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofStep::Covers { record, name, role } => {
                write!(f, "{record} covers {}", Named(*role, name))
            }
            ProofStep::Matches { record, name, role } => {
                write!(f, "{record} matches {}", Named(*role, name))
            }
            ProofStep::LacksType {
                record,
                name,
                rtype,
            } => write!(f, "{record} at {name} lacks {rtype} and CNAME"),
            ProofStep::NoDsAtCut { record, name } => {
                write!(f, "{record} at {name} lists NS but not DS")
            }
            ProofStep::EmptyNonTerminal { record, name } => {
                write!(f, "{record} covers {name}, an empty non-terminal")
            }
            ProofStep::WildcardApplies { source } => write!(f, "{source} is its closest wildcard"),
        }
    }
}

/// The steps of a proof, in the order they were established.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Proof(pub Vec<ProofStep>);

impl Proof {
    pub fn of(steps: impl IntoIterator<Item = ProofStep>) -> Self {
        Proof(steps.into_iter().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This proof followed by `step`.
    pub fn and(&self, step: ProofStep) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        Proof(steps)
    }
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

/// The record a proof needs that the response lacks (EDE 12 when there are no records at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "absent", rename_all = "snake_case")]
pub enum Absent {
    /// No NSEC or NSEC3 record of `zone` at all.
    Records { zone: Name },
    /// NSEC3 records of `zone`, but none could be used.
    UsableNsec3 { zone: Name },
    /// No record covers `name`.
    Cover {
        how: DenialHow,
        name: Name,
        role: NameRole,
    },
    /// No record matches `name`.
    Match {
        how: DenialHow,
        name: Name,
        role: NameRole,
    },
    /// No NSEC3 matches any ancestor of `qname` up to `zone` (RFC 5155 §8.3).
    ClosestEncloser { qname: Name, zone: Name },
}

impl fmt::Display for Absent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Absent::Records { zone } => write!(f, "no NSEC or NSEC3 records of {zone}"),
            Absent::UsableNsec3 { zone } => write!(f, "no usable NSEC3 records of {zone}"),
            Absent::Cover { how, name, role } => {
                write!(f, "no {how} covers {}", Named(*role, name))
            }
            Absent::Match { how, name, role } => {
                write!(f, "no {how} matches {}", Named(*role, name))
            }
            Absent::ClosestEncloser { qname, zone } => write!(
                f,
                "no NSEC3 matches the closest encloser of {qname} (tried up to {zone})"
            ),
        }
    }
}

/// Why the records present contradict the denial, or may not be used for it (EDE 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The name to deny is not in the zone whose records would deny it.
    OutOfZone { name: Name, zone: Name },
    /// `*.name` is not a valid name (too long).
    BadWildcard { name: Name },
    /// The wildcard an answer was expanded from is not a wildcard above `qname` in `zone`.
    NotAWildcardAbove {
        source: Name,
        qname: Name,
        zone: Name,
    },
    /// `name` cannot be hashed for NSEC3.
    Unhashable { name: Name },
    /// The record is at a zone cut (NS without SOA): it proves only DS absence (RFC 6840 §4.1).
    Delegation { record: ProofRecord },
    /// The record at `at` is a zone cut or DNAME, so it says nothing about `name` below it
    /// (RFC 6840 §4.1, RFC 5155 §8.3).
    AncestorCut {
        record: ProofRecord,
        at: Name,
        name: Name,
    },
    /// DS absence shown by the child's apex (SOA bit), not the parent (RFC 6840 §4.4).
    ChildApex { record: ProofRecord },
    /// The bitmap of the record at `name` lists `rtype` (the type denied, or CNAME).
    HasType {
        record: ProofRecord,
        name: Name,
        rtype: RecordType,
    },
    /// The record at `name` lacks the NS bit: `name` is no delegation (RFC 6840 §4.4).
    NoNsBit { record: ProofRecord, name: Name },
    /// The record matches `name`: the name that should not exist does.
    Exists {
        record: ProofRecord,
        name: Name,
        role: NameRole,
    },
    /// The covering NSEC shows `name` to be an empty non-terminal: it exists.
    EmptyNonTerminal { record: ProofRecord, name: Name },
    /// `name` does not exist, so there is no delegation to lack a DS.
    NoDelegation { name: Name, zone: Name },
    /// The wildcard is covered too: the answer should have been NXDOMAIN, not NODATA.
    NxDomainNotNoData,
    /// The proof's closest encloser is `closest`, not the one `source` was expanded at.
    WrongEncloser { closest: Name, source: Name },
    /// The NSEC3 over the next closer name lacks opt-out: `name` does not exist.
    NoOptOut { name: Name },
    /// No referral showed a zone cut at `zone`, and the proof of no DS from `parent` (opt-out
    /// or too many iterations) does not name it a delegation.
    CutNotShown { zone: Name, parent: Name },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::OutOfZone { name, zone } => write!(f, "{name} is not in zone {zone}"),
            Fault::BadWildcard { name } => write!(f, "*.{name} is not a valid name"),
            Fault::NotAWildcardAbove {
                source,
                qname,
                zone,
            } => write!(f, "{source} is not a wildcard above {qname} in {zone}"),
            Fault::Unhashable { name } => write!(f, "{name} cannot be hashed"),
            Fault::Delegation { record } => {
                write!(f, "{record} is a delegation: it proves only DS absence")
            }
            Fault::AncestorCut { record, at, name } => write!(
                f,
                "{record} at {at} is a delegation or DNAME: it cannot deny {name}"
            ),
            Fault::ChildApex { record } => {
                write!(f, "{record} is the child's apex (SOA bit), not the parent's")
            }
            Fault::HasType {
                record,
                name,
                rtype,
            } => write!(f, "{record} lists {rtype} at {name}"),
            Fault::NoNsBit { record, name } => {
                write!(f, "{record} lacks NS: {name} is no delegation")
            }
            Fault::Exists { record, name, role } => {
                write!(f, "{record} matches {}: it exists", Named(*role, name))
            }
            Fault::EmptyNonTerminal { record, name } => write!(
                f,
                "{record} shows {name} is an empty non-terminal: it exists"
            ),
            Fault::NoDelegation { name, zone } => {
                write!(f, "there is no delegation {name} in {zone}")
            }
            Fault::NxDomainNotNoData => f.write_str("NXDOMAIN, not NODATA"),
            Fault::WrongEncloser { closest, source } => write!(
                f,
                "so its closest encloser is {closest}, not that of {source}"
            ),
            Fault::NoOptOut { name } => write!(f, "without opt-out: {name} does not exist"),
            Fault::CutNotShown { zone, parent } => write!(
                f,
                "no referral showed a zone cut at {zone}, and the proof of no DS from {parent} does not name it a delegation"
            ),
        }
    }
}

/// How a denial that the validator refused failed: a record absent, or a fault in those present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialFailure {
    Missing(Absent),
    Bogus(Fault),
}

impl fmt::Display for DenialFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenialFailure::Missing(absent) => write!(f, "{absent}"),
            DenialFailure::Bogus(fault) => write!(f, "{fault}"),
        }
    }
}
