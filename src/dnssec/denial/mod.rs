//! Judges what the NSEC and NSEC3 records of a negative or wildcard response prove: that a
//! name does not exist, that a type is absent, that a delegation has no DS, or that a
//! wildcard answer was built from the right wildcard.
//!
//! This module holds the public API (limits, hash budget, verdicts, the four `prove_*`
//! entry points), the dispatch between NSEC and NSEC3, and the checks both share: the type
//! bitmap of a matching record and the insecure-delegation check. The proofs themselves are
//! in `nsec` and `nsec3`.
//!
//! RFCs: 4035 §3.1.3 and §5.4 (NSEC proofs), 6840 §4.1 (NSEC at a delegation proves nothing
//! below it) and §4.4 (insecure delegation proofs need the NS bit), 5155 §8 (NSEC3 proofs:
//! closest encloser, name error, no data, DS, wildcards, opt-out), 9276 §3.2 (iteration
//! limits), CVE-2023-50868 (every NSEC3 hash is paid from a per-query [`HashBudget`]).
//!
//! # Limitations
//! - Pure: the caller has already verified the RRSIGs over the records it passes; records of
//!   other types or zones are ignored.
//! - NSEC is used when the records hold any NSEC of the zone, NSEC3 otherwise (no mixed proofs).
//! - hickory refuses to decode NSEC3 records with an unknown hash algorithm or unknown flags,
//!   so those never reach this module: RFC 5155 §8.1 and RFC 6840 §5.4 ("ignore") hold by
//!   construction, and such a response shows up here as [`DenialVerdict::Missing`].
//! - NSEC3 records with different parameters are tried one parameter set at a time, in the
//!   order they appear; a proof never mixes sets.
//! - An opt-out span over the next closer name gives [`DenialVerdict::OptOut`] for every kind
//!   of proof (as unbound does), not only for DS; the caller decides it means insecure.

use crate::explain::proof::{Absent, Fault, NameRole, Proof, ProofRecord, ProofStep};
use crate::explain::verdict::{DenialHow, DenialVerdict};
use hickory_proto::rr::{Name, Record, RecordType, RecordTypeSet};
use serde::Serialize;

mod nsec;
mod nsec3;

/// Limits on NSEC3 work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DenialLimits {
    /// Above this many iterations an NSEC3 proof is not computed and the answer is insecure
    /// (RFC 9276 §3.2; `dnssec.nsec3_insecure_above`).
    pub insecure_above: u16,
    /// Above this many iterations the answer is SERVFAIL rather than insecure (RFC 9276 §3.2;
    /// `dnssec.nsec3_bogus_above`). At least `insecure_above`.
    pub bogus_above: u16,
    /// NSEC3 name hashes allowed per client query (CVE-2023-50868). One proof costs at most
    /// the labels between qname and the zone plus two; unbound caps a proof at 8 hashes before
    /// it suspends. 64 leaves room for about eight full proofs per query (a CNAME chain, DS
    /// absence at each cut) and bounds the work at 64 × 51 SHA-1 runs by default, well under a
    /// millisecond (64 × 2501, tens of milliseconds, at the highest `insecure_above` allowed).
    pub max_hashes: u32,
}

impl Default for DenialLimits {
    fn default() -> Self {
        Self {
            insecure_above: 50,
            bogus_above: u16::MAX,
            max_hashes: 64,
        }
    }
}

/// NSEC3 hashes still allowed for one client query, shared by every proof it needs.
pub type HashBudget = super::budget::WorkBudget;

impl DenialLimits {
    /// A fresh budget of `max_hashes`.
    pub fn budget(&self) -> HashBudget {
        HashBudget::new(self.max_hashes)
    }
}

/// Proves that `qname` does not exist in `zone` (NXDOMAIN).
pub fn prove_nxdomain(
    qname: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    prove(Claim::NxDomain, qname, zone, records, limits, budget)
}

/// Proves that `qname` has no `qtype` records (NODATA), including an empty non-terminal
/// `qname` and a wildcard that matches `qname` without the type. For DS at a zone cut use
/// [`prove_no_ds`], which also insists on the NS bit.
pub fn prove_nodata(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    prove(Claim::NoData(qtype), qname, zone, records, limits, budget)
}

/// Proves that the delegation `delegation` in `parent_zone` has no DS: an insecure delegation.
pub fn prove_no_ds(
    delegation: &Name,
    parent_zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    prove(
        Claim::NoDs,
        delegation,
        parent_zone,
        records,
        limits,
        budget,
    )
}

/// Proves that a wildcard answer for `qname`, synthesised from `source_of_synthesis`
/// (`*.` + the closest encloser, from the RRSIG's Labels field), was legitimate: `qname`
/// itself and every name between it and the closest encloser do not exist.
pub fn prove_wildcard_expansion(
    qname: &Name,
    source_of_synthesis: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    let claim = Claim::WildcardExpansion(source_of_synthesis);
    prove(claim, qname, zone, records, limits, budget)
}

/// What is being denied.
#[derive(Clone, Copy)]
enum Claim<'a> {
    NxDomain,
    NoData(RecordType),
    NoDs,
    WildcardExpansion(&'a Name),
}

/// Proof steps return `Err` with the verdict as soon as one is reached (boxed: a verdict
/// names several records and names, and the `Ok` path should not carry that size).
type Step<T> = Result<T, Box<DenialVerdict>>;

fn prove(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    if !zone.zone_of(qname) {
        let (name, zone) = (qname.clone(), zone.clone());
        return *bogus(Proof::default(), Fault::OutOfZone { name, zone });
    }
    let nsecs = nsec::entries(zone, records);
    if !nsecs.is_empty() {
        return nsec::prove(claim, qname, zone, &nsecs).unwrap_or_else(|verdict| *verdict);
    }
    let nsec3s = nsec3::entries(zone, records);
    if nsec3s.is_empty() {
        let zone = zone.clone();
        return *missing(Proof::default(), Absent::Records { zone });
    }
    nsec3::prove(claim, qname, zone, &nsec3s, limits, budget)
}

/// The records present contradict the denial, or may not be used for it, after `proof`.
fn bogus(proof: Proof, fault: Fault) -> Box<DenialVerdict> {
    Box::new(DenialVerdict::Bogus { proof, fault })
}

/// A record the denial needs is absent, after `proof`.
fn missing(proof: Proof, absent: Absent) -> Box<DenialVerdict> {
    Box::new(DenialVerdict::Missing { proof, absent })
}

/// A record that denies: an NSEC or an NSEC3.
trait Denier {
    const HOW: DenialHow;
    /// The record as a proof names it.
    fn record(&self) -> ProofRecord;
    fn types(&self) -> &RecordTypeSet;

    /// This record covers `name`, which is `role` to the proof.
    fn covers_step(&self, name: &Name, role: NameRole) -> ProofStep {
        let (record, name) = (self.record(), name.clone());
        ProofStep::Covers { record, name, role }
    }

    /// This record matches `name`, which is `role` to the proof.
    fn matches_step(&self, name: &Name, role: NameRole) -> ProofStep {
        let (record, name) = (self.record(), name.clone());
        ProofStep::Matches { record, name, role }
    }

    /// This record matches `name`, which should not exist.
    fn exists(&self, name: &Name, role: NameRole) -> Box<DenialVerdict> {
        let (record, name) = (self.record(), name.clone());
        bogus(Proof::default(), Fault::Exists { record, name, role })
    }
}

fn proven<D: Denier>(_: &D, proof: Proof) -> Step<DenialVerdict> {
    Ok(DenialVerdict::Proven { how: D::HOW, proof })
}

/// `*.name`.
fn wildcard_of(name: &Name) -> Step<Name> {
    let bad = |_| bogus(Proof::default(), Fault::BadWildcard { name: name.clone() });
    name.prepend_label("*").map_err(bad)
}

/// `name` is strictly below `ancestor`.
fn strictly_below(name: &Name, ancestor: &Name) -> bool {
    name != ancestor && ancestor.zone_of(name)
}

/// The labels a name really has (hickory's `num_labels` leaves out a leading `*`).
fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// The closest encloser a wildcard expansion claims: `source` minus its `*` label.
fn source_encloser(qname: &Name, source: &Name, zone: &Name) -> Step<Name> {
    let encloser = source.base_name();
    if !source.is_wildcard() || !strictly_below(qname, &encloser) || !zone.zone_of(&encloser) {
        let fault = Fault::NotAWildcardAbove {
            source: source.clone(),
            qname: qname.clone(),
            zone: zone.clone(),
        };
        return Err(bogus(Proof::default(), fault));
    }
    Ok(encloser)
}

/// RFC 4035 §3.1.3.1 / RFC 5155 §8.5-8.7: the type bitmap of the record at `name`, as the
/// step it proves or the fault that refuses it.
fn bitmap_step(record: &impl Denier, name: &Name, qtype: RecordType) -> Step<ProofStep> {
    let has = |rtype| record.types().contains(rtype);
    let refuse = |fault| Err(bogus(Proof::default(), fault));
    // RFC 6840 §4.1: an NSEC "with the NS bit set and the SOA bit clear ... MUST NOT be used
    // to assume the nonexistence of any RRs below that zone cut" (nor at it, save DS).
    if qtype != RecordType::DS && has(RecordType::NS) && !has(RecordType::SOA) {
        return refuse(Fault::Delegation {
            record: record.record(),
        });
    }
    // RFC 4035 §5.2, RFC 6840 §4.4: DS absence comes from the parent, not the child's apex.
    if qtype == RecordType::DS && has(RecordType::SOA) && !name.is_root() {
        return refuse(Fault::ChildApex {
            record: record.record(),
        });
    }
    // RFC 5155 §8.5: "both the QTYPE and the CNAME type are not set in its Type Bit Maps".
    for rtype in [qtype, RecordType::CNAME] {
        if has(rtype) {
            let (record, name) = (record.record(), name.clone());
            return refuse(Fault::HasType {
                record,
                name,
                rtype,
            });
        }
    }
    Ok(ProofStep::LacksType {
        record: record.record(),
        name: name.clone(),
        rtype: qtype,
    })
}

/// The type bitmap of the record at `name` as the whole proof (no data at `name`).
fn bitmap_verdict(record: &impl Denier, name: &Name, qtype: RecordType) -> Step<DenialVerdict> {
    let step = bitmap_step(record, name, qtype)?;
    proven(record, Proof::of([step]))
}

/// The insecure-delegation check of the record at the delegation (NSEC or NSEC3).
fn no_ds_verdict(record: &impl Denier, name: &Name) -> Step<DenialVerdict> {
    // RFC 6840 §4.4: "The validator also MUST check for the presence of the NS bit in the
    // matching NSEC (or NSEC3) RR (proving that there is, indeed, a delegation), or alternately
    // make sure that the delegation is covered by an NSEC3 RR with the Opt-Out flag set."
    if !record.types().contains(RecordType::NS) {
        let (record, name) = (record.record(), name.clone());
        return Err(bogus(Proof::default(), Fault::NoNsBit { record, name }));
    }
    bitmap_step(record, name, RecordType::DS)?;
    let step = ProofStep::NoDsAtCut {
        record: record.record(),
        name: name.clone(),
    };
    proven(record, Proof::of([step]))
}

#[cfg(test)]
mod tests;
