//! Judges what the NSEC and NSEC3 records of a negative or wildcard response prove: that a
//! name does not exist, that a type is absent, that a delegation has no DS, or that a
//! wildcard answer was built from the right wildcard.
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

use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::{Name, RData, Record, RecordType, RecordTypeSet};
use serde::Serialize;

/// Limits on NSEC3 work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DenialLimits {
    /// Above this many iterations an NSEC3 proof is not computed and the answer is insecure
    /// (RFC 9276 §3.2; 150 is unbound's and BIND's current default).
    pub max_iterations: u16,
    /// Above this many iterations the answer is SERVFAIL rather than insecure (RFC 9276 §3.2).
    pub servfail_iterations: u16,
    /// NSEC3 name hashes allowed per client query (CVE-2023-50868). One proof costs at most
    /// the labels between qname and the zone plus two; unbound caps a proof at 8 hashes before
    /// it suspends. 64 leaves room for about eight full proofs per query (a CNAME chain, DS
    /// absence at each cut) and bounds the work at 64 × 151 SHA-1 runs, a few milliseconds.
    pub max_hashes: u32,
}

impl Default for DenialLimits {
    fn default() -> Self {
        Self {
            max_iterations: 150,
            servfail_iterations: 500,
            max_hashes: 64,
        }
    }
}

/// NSEC3 hashes still allowed for one client query, shared by every proof it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashBudget {
    remaining: u32,
}

impl HashBudget {
    pub fn new(hashes: u32) -> Self {
        Self { remaining: hashes }
    }

    /// A fresh budget of `limits.max_hashes`.
    pub fn from_limits(limits: &DenialLimits) -> Self {
        Self::new(limits.max_hashes)
    }

    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    fn spend(&mut self) -> bool {
        match self.remaining.checked_sub(1) {
            Some(left) => {
                self.remaining = left;
                true
            }
            None => false,
        }
    }
}

/// Which kind of record made the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialHow {
    Nsec,
    Nsec3,
}

/// What the records prove. `detail` is short and names the records and names involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialVerdict {
    /// The denial holds.
    Proven { how: DenialHow, detail: String },
    /// An NSEC3 opt-out span covers the next closer name: an unsigned delegation may exist
    /// there, so the answer can be at best insecure.
    OptOut { detail: String },
    /// A record the proof needs is absent (EDE 12).
    Missing { detail: String },
    /// The records present contradict the denial or may not be used for it (EDE 6).
    Bogus { detail: String },
    /// The NSEC3 iterations exceed [`DenialLimits::max_iterations`] (EDE 27): insecure, or
    /// SERVFAIL when `servfail` (above [`DenialLimits::servfail_iterations`]).
    IterationsTooHigh { iterations: u16, servfail: bool },
    /// The query's [`HashBudget`] ran out.
    BudgetExhausted,
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

macro_rules! missing {
    ($($detail:tt)*) => { DenialVerdict::Missing { detail: format!($($detail)*) } };
}

macro_rules! bogus {
    ($($detail:tt)*) => { DenialVerdict::Bogus { detail: format!($($detail)*) } };
}

/// Proof steps return `Err` with the verdict as soon as one is reached.
type Step<T> = Result<T, DenialVerdict>;

fn prove(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    if !zone.zone_of(qname) {
        return bogus!("{qname} is not in zone {zone}");
    }
    let nsecs = nsec_entries(zone, records);
    if !nsecs.is_empty() {
        return nsec_prove(claim, qname, zone, &nsecs).unwrap_or_else(|verdict| verdict);
    }
    let nsec3s = nsec3_entries(zone, records);
    if nsec3s.is_empty() {
        return missing!("no NSEC or NSEC3 records of {zone}");
    }
    nsec3_prove(claim, qname, zone, &nsec3s, limits, budget)
}

/// A record that denies: an NSEC or an NSEC3.
trait Denier {
    const HOW: DenialHow;
    fn describe(&self) -> String;
    fn types(&self) -> &RecordTypeSet;
}

fn proven<D: Denier>(_: &D, detail: String) -> Step<DenialVerdict> {
    Ok(DenialVerdict::Proven {
        how: D::HOW,
        detail,
    })
}

/// `*.name`.
fn wildcard_of(name: &Name) -> Step<Name> {
    (name.prepend_label("*")).map_err(|_| bogus!("*.{name} is not a valid name"))
}

/// `name` is strictly below `ancestor`.
fn strictly_below(name: &Name, ancestor: &Name) -> bool {
    name != ancestor && ancestor.zone_of(name)
}

/// The labels a name really has (hickory's `num_labels` leaves out a leading `*`).
fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// The longest common ancestor of `a` and `b`.
fn common_ancestor(a: &Name, b: &Name) -> Name {
    let pairs = a.iter().rev().zip(b.iter().rev());
    a.trim_to(pairs.take_while(|(x, y)| x.eq_ignore_ascii_case(y)).count())
}

/// The closest encloser a wildcard expansion claims: `source` minus its `*` label.
fn source_encloser(qname: &Name, source: &Name, zone: &Name) -> Step<Name> {
    let encloser = source.base_name();
    if !source.is_wildcard() || !strictly_below(qname, &encloser) || !zone.zone_of(&encloser) {
        return Err(bogus!("{source} is not a wildcard above {qname} in {zone}"));
    }
    Ok(encloser)
}

/// RFC 4035 §3.1.3.1 / RFC 5155 §8.5-8.7: the type bitmap of the record at `name`.
fn bitmap_verdict(record: &impl Denier, name: &Name, qtype: RecordType) -> Step<DenialVerdict> {
    let (has, text) = (|rtype| record.types().contains(rtype), record.describe());
    // RFC 6840 §4.1: an NSEC "with the NS bit set and the SOA bit clear ... MUST NOT be used
    // to assume the nonexistence of any RRs below that zone cut" (nor at it, save DS).
    if qtype != RecordType::DS && has(RecordType::NS) && !has(RecordType::SOA) {
        return Err(bogus!("{text} is a delegation: it proves only DS absence"));
    }
    // RFC 4035 §5.2, RFC 6840 §4.4: DS absence comes from the parent, not the child's apex.
    if qtype == RecordType::DS && has(RecordType::SOA) && !name.is_root() {
        return Err(bogus!(
            "{text} is the child's apex (SOA bit), not the parent's"
        ));
    }
    if has(qtype) {
        return Err(bogus!("{text} lists {qtype} at {name}"));
    }
    // RFC 5155 §8.5: "both the QTYPE and the CNAME type are not set in its Type Bit Maps".
    if has(RecordType::CNAME) {
        return Err(bogus!("{text} lists CNAME at {name}"));
    }
    proven(record, format!("{text} at {name} lacks {qtype} and CNAME"))
}

/// The insecure-delegation check of the record at the delegation (NSEC or NSEC3).
fn no_ds_verdict(record: &impl Denier, name: &Name) -> Step<DenialVerdict> {
    // RFC 6840 §4.4: "The validator also MUST check for the presence of the NS bit in the
    // matching NSEC (or NSEC3) RR (proving that there is, indeed, a delegation), or alternately
    // make sure that the delegation is covered by an NSEC3 RR with the Opt-Out flag set."
    if !record.types().contains(RecordType::NS) {
        return Err(bogus!(
            "{} lacks NS: {name} is no delegation",
            record.describe()
        ));
    }
    bitmap_verdict(record, name, RecordType::DS)?;
    proven(record, format!("{} lists NS but not DS", record.describe()))
}

// ---------------------------------------------------------------------------------------
// NSEC (RFC 4035)

struct NsecEntry<'a> {
    owner: &'a Name,
    nsec: &'a NSEC,
}

impl Denier for NsecEntry<'_> {
    const HOW: DenialHow = DenialHow::Nsec;
    fn describe(&self) -> String {
        format!("NSEC {}->{}", self.owner, self.next())
    }
    fn types(&self) -> &RecordTypeSet {
        self.nsec.type_set()
    }
}

impl NsecEntry<'_> {
    fn next(&self) -> &Name {
        self.nsec.next_domain_name()
    }

    /// RFC 4035 §5.4: the owner sorts before the name and the next name after it; the last
    /// NSEC of the zone, whose next name is the apex, covers everything after its owner.
    fn covers(&self, name: &Name) -> bool {
        let next = self.next();
        if self.owner < next {
            self.owner < name && name < next
        } else {
            self.owner < name || name < next
        }
    }
}

fn nsec_entries<'a>(zone: &Name, records: &'a [Record]) -> Vec<NsecEntry<'a>> {
    let entries = records.iter().filter(|record| zone.zone_of(&record.name));
    let entries = entries.filter_map(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some(NsecEntry {
            owner: &record.name,
            nsec,
        }),
        _ => None,
    });
    entries.collect()
}

struct Nsecs<'e, 'a>(&'e [NsecEntry<'a>]);

impl<'e, 'a> Nsecs<'e, 'a> {
    fn matching(&self, name: &Name) -> Option<&'e NsecEntry<'a>> {
        self.0.iter().find(|entry| entry.owner == name)
    }

    /// The NSEC covering `name`, if one may be used for it.
    fn covering(&self, name: &Name) -> Step<&'e NsecEntry<'a>> {
        let found = self.0.iter().find(|entry| entry.covers(name));
        let entry = found.ok_or_else(|| missing!("no NSEC covers {name}"))?;
        // RFC 6840 §4.1: at a zone cut (NS without SOA) or a DNAME the NSEC says nothing
        // about the names below its owner.
        if entry.nsec.is_ancestor_delegation() && strictly_below(name, entry.owner) {
            let text = entry.describe();
            return Err(bogus!(
                "{text} is a delegation or DNAME: it cannot deny {name}"
            ));
        }
        Ok(entry)
    }
}

/// RFC 4035 §5.4 (in substance): the closest encloser is the longest common ancestor of the
/// name and the covering NSEC's owner or next name, never above the zone.
fn nsec_closest_encloser(name: &Name, entry: &NsecEntry<'_>, zone: &Name) -> Name {
    let by_owner = common_ancestor(name, entry.owner);
    let by_next = common_ancestor(name, entry.next());
    let deeper = if label_count(&by_next) > label_count(&by_owner) {
        by_next
    } else {
        by_owner
    };
    if zone.zone_of(&deeper) {
        deeper
    } else {
        zone.clone()
    }
}

fn nsec_prove(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    entries: &[NsecEntry<'_>],
) -> Step<DenialVerdict> {
    let nsecs = Nsecs(entries);
    if let Some(entry) = nsecs.matching(qname) {
        return match claim {
            Claim::NoData(qtype) => bitmap_verdict(entry, qname, qtype),
            Claim::NoDs => no_ds_verdict(entry, qname),
            Claim::NxDomain | Claim::WildcardExpansion(_) => {
                Err(bogus!("{} shows that {qname} exists", entry.describe()))
            }
        };
    }
    let cover = nsecs.covering(qname)?;
    let covered = format!("{} covers {qname}", cover.describe());
    // RFC 4035 §3.1.3.2: a covering NSEC whose next name is below qname shows that qname is
    // an empty non-terminal: it exists, without data.
    let empty_non_terminal = strictly_below(cover.next(), qname);
    let closest = nsec_closest_encloser(qname, cover, zone);
    match claim {
        Claim::NoData(_) if empty_non_terminal => {
            proven(cover, format!("{covered}, an empty non-terminal"))
        }
        _ if empty_non_terminal => Err(bogus!(
            "{covered}, but it is an empty non-terminal: it exists"
        )),
        Claim::NxDomain => {
            // RFC 4035 §5.4: "The validator MUST also check ... that there is no wildcard
            // RRset" that could have answered: an NSEC must cover *.closest-encloser.
            let wildcard = wildcard_of(&closest)?;
            if let Some(entry) = nsecs.matching(&wildcard) {
                return Err(bogus!(
                    "{} shows the wildcard {wildcard} exists",
                    entry.describe()
                ));
            }
            let wild_cover = nsecs.covering(&wildcard).map_err(|verdict| match verdict {
                DenialVerdict::Missing { .. } => {
                    missing!("{covered}, but no NSEC covers the wildcard {wildcard}")
                }
                other => other,
            })?;
            proven(
                cover,
                format!("{covered}; {} covers {wildcard}", wild_cover.describe()),
            )
        }
        // RFC 4035 §3.1.3.4: wildcard NODATA is an NSEC covering qname and one at the wildcard.
        Claim::NoData(qtype) => {
            let wildcard = wildcard_of(&closest)?;
            if let Some(entry) = nsecs.matching(&wildcard) {
                let DenialVerdict::Proven { detail, .. } = bitmap_verdict(entry, &wildcard, qtype)?
                else {
                    unreachable!("bitmap_verdict proves or fails");
                };
                return proven(cover, format!("{covered}; {detail}"));
            }
            if nsecs.covering(&wildcard).is_ok() {
                return Err(bogus!(
                    "{covered} and {wildcard} is covered: NXDOMAIN, not NODATA"
                ));
            }
            Err(missing!(
                "{covered}, but no NSEC at the wildcard {wildcard}"
            ))
        }
        Claim::NoDs => Err(bogus!(
            "{covered}: there is no delegation {qname} in {zone}"
        )),
        Claim::WildcardExpansion(source) => {
            let expected = source_encloser(qname, source, zone)?;
            // RFC 4035 §5.3.4: the NSEC must prove "that there is no closer match for the QNAME".
            if closest != expected {
                return Err(bogus!(
                    "{covered}, so its closest encloser is {closest}, not that of {source}"
                ));
            }
            proven(
                cover,
                format!("{covered}; {source} is its closest wildcard"),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// NSEC3 (RFC 5155 §8)

struct Nsec3Entry<'a> {
    owner: &'a Name,
    /// The owner's first label, base32hex-decoded.
    hash: Vec<u8>,
    nsec3: &'a NSEC3,
}

impl Denier for Nsec3Entry<'_> {
    const HOW: DenialHow = DenialHow::Nsec3;
    fn describe(&self) -> String {
        format!("NSEC3 {}", self.owner)
    }
    fn types(&self) -> &RecordTypeSet {
        self.nsec3.type_set()
    }
}

impl Nsec3Entry<'_> {
    /// RFC 5155 §8.3 "covers": the hash sorts after the owner's hash and before the next
    /// hashed owner name, wrapping at the end of the chain.
    fn covers(&self, hash: &[u8]) -> bool {
        let (owner, next) = (self.hash.as_slice(), self.nsec3.next_hashed_owner_name());
        if owner < next {
            owner < hash && hash < next
        } else {
            owner < hash || hash < next
        }
    }
}

fn nsec3_entries<'a>(zone: &Name, records: &'a [Record]) -> Vec<Nsec3Entry<'a>> {
    let in_zone =
        |owner: &Name| label_count(owner) == label_count(zone) + 1 && owner.base_name() == *zone;
    let entries = records.iter().filter(|record| in_zone(&record.name));
    let entries = entries.filter_map(|record| {
        let RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) = &record.data else {
            return None;
        };
        let label = record.name.iter().next()?.to_ascii_lowercase();
        let hash = BASE32_DNSSEC.decode(&label).ok()?;
        // A next hashed owner name of another length cannot be compared with the owner.
        let comparable = hash.len() == nsec3.next_hashed_owner_name().len();
        comparable.then_some(Nsec3Entry {
            owner: &record.name,
            hash,
            nsec3,
        })
    });
    entries.collect()
}

/// One parameter set's chain, hashing each name at most once and paying for it.
struct Chain<'e, 'a, 'b> {
    entries: Vec<&'e Nsec3Entry<'a>>,
    salt: &'e [u8],
    iterations: u16,
    budget: &'b mut HashBudget,
    hashed: Vec<(Name, Vec<u8>)>,
}

impl<'e, 'a> Chain<'e, 'a, '_> {
    fn hash(&mut self, name: &Name) -> Step<Vec<u8>> {
        if let Some((_, hash)) = self.hashed.iter().find(|(known, _)| known == name) {
            return Ok(hash.clone());
        }
        if !self.budget.spend() {
            return Err(DenialVerdict::BudgetExhausted);
        }
        let digest = Nsec3HashAlgorithm::SHA1.hash(self.salt, name, self.iterations);
        let hash = digest
            .map_err(|_| bogus!("{name} cannot be hashed"))?
            .as_ref()
            .to_vec();
        self.hashed.push((name.clone(), hash.clone()));
        Ok(hash)
    }

    fn matching(&mut self, name: &Name) -> Step<Option<&'e Nsec3Entry<'a>>> {
        let hash = self.hash(name)?;
        Ok(self
            .entries
            .iter()
            .copied()
            .find(|entry| entry.hash == hash))
    }

    fn covering(&mut self, name: &Name) -> Step<Option<&'e Nsec3Entry<'a>>> {
        let hash = self.hash(name)?;
        Ok(self
            .entries
            .iter()
            .copied()
            .find(|entry| entry.covers(&hash)))
    }
}

/// A closest encloser proof (RFC 5155 §7.2.1, §8.3).
struct EncloserProof<'e, 'a> {
    encloser: Name,
    next_closer: Name,
    text: String,
    cover: &'e Nsec3Entry<'a>,
}

impl EncloserProof<'_, '_> {
    fn opt_out(&self) -> Option<DenialVerdict> {
        let (cover, next_closer) = (self.cover.describe(), &self.next_closer);
        let detail = format!("{cover} over the next closer {next_closer} has opt-out: an unsigned delegation may exist");
        self.cover
            .nsec3
            .opt_out()
            .then_some(DenialVerdict::OptOut { detail })
    }
}

/// RFC 5155 §8.3, for a `qname` no NSEC3 matches: "the closest encloser" is the first
/// ancestor of qname with a matching NSEC3, and "the validator MUST verify that there is an
/// NSEC3 RR that covers the "next closer" name".
fn closest_encloser<'e, 'a>(
    chain: &mut Chain<'e, 'a, '_>,
    qname: &Name,
    zone: &Name,
) -> Step<EncloserProof<'e, 'a>> {
    let mut next_closer = qname.clone();
    while next_closer != *zone {
        let candidate = next_closer.base_name();
        if let Some(record) = chain.matching(&candidate)? {
            let text = record.describe();
            // "The DNAME type bit must not be set and the NS type bit may only be set if the
            // SOA type bit is set."
            if record.nsec3.is_ancestor_delegation() {
                return Err(bogus!(
                    "{text} at {candidate} is a delegation or DNAME: it cannot deny {qname}"
                ));
            }
            let Some(cover) = chain.covering(&next_closer)? else {
                return Err(missing!("{text} matches the closest encloser {candidate}, but no NSEC3 covers the next closer {next_closer}"));
            };
            let text = format!("{text} matches the closest encloser {candidate}, {} covers the next closer {next_closer}", cover.describe());
            return Ok(EncloserProof {
                encloser: candidate,
                next_closer,
                text,
                cover,
            });
        }
        next_closer = candidate;
    }
    Err(missing!(
        "no NSEC3 matches the closest encloser of {qname} (tried up to {zone})"
    ))
}

fn nsec3_prove(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    entries: &[Nsec3Entry<'_>],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    let mut parameters: Vec<(u16, &[u8])> = Vec::new();
    for entry in entries {
        let set = (entry.nsec3.iterations(), entry.nsec3.salt());
        if !parameters.contains(&set) {
            parameters.push(set);
        }
    }
    let (mut too_high, mut first_failure) = (None, None);
    for (iterations, salt) in parameters {
        // RFC 9276 §3.2: "Validating resolvers MAY return an insecure response to their
        // clients when processing NSEC3 records with iterations larger than 0" and "MAY also
        // return a SERVFAIL response". Checked before any hash is computed.
        if iterations > limits.max_iterations {
            too_high = too_high.max(Some(iterations));
            continue;
        }
        let same = |entry: &&Nsec3Entry<'_>| {
            entry.nsec3.iterations() == iterations && entry.nsec3.salt() == salt
        };
        let entries = entries.iter().filter(same).collect();
        let mut chain = Chain {
            entries,
            salt,
            iterations,
            budget: &mut *budget,
            hashed: Vec::new(),
        };
        match nsec3_claim(claim, qname, zone, &mut chain).unwrap_or_else(|verdict| verdict) {
            verdict @ (DenialVerdict::Proven { .. }
            | DenialVerdict::OptOut { .. }
            | DenialVerdict::BudgetExhausted) => return verdict,
            other => first_failure = first_failure.or(Some(other)),
        }
    }
    if let Some(iterations) = too_high {
        let servfail = iterations > limits.servfail_iterations;
        return DenialVerdict::IterationsTooHigh {
            iterations,
            servfail,
        };
    }
    first_failure.unwrap_or_else(|| missing!("no usable NSEC3 records of {zone}"))
}

fn nsec3_claim(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    chain: &mut Chain<'_, '_, '_>,
) -> Step<DenialVerdict> {
    if let Claim::WildcardExpansion(source) = claim {
        return nsec3_wildcard_expansion(qname, source, zone, chain);
    }
    if let Some(record) = chain.matching(qname)? {
        return match claim {
            // RFC 5155 §8.5: "an NSEC3 RR that matches QNAME is present and ... both the QTYPE
            // and the CNAME type are not set" (an empty non-terminal has an empty bitmap).
            // §8.6: for DS it "MUST NOT have the bits corresponding to DS and CNAME set".
            Claim::NoData(qtype) => bitmap_verdict(record, qname, qtype),
            Claim::NoDs => no_ds_verdict(record, qname),
            _ => Err(bogus!(
                "{} matches {qname}: the name exists",
                record.describe()
            )),
        };
    }
    let proof = closest_encloser(chain, qname, zone)?;
    let wildcard = wildcard_of(&proof.encloser)?;
    match claim {
        Claim::NxDomain => {
            // RFC 5155 §8.4: "verify that there is a closest encloser proof for QNAME ... and
            // that there is an NSEC3 RR that covers the wildcard at the closest encloser".
            if let Some(record) = chain.matching(&wildcard)? {
                return Err(bogus!(
                    "{} matches the wildcard {wildcard}: it exists",
                    record.describe()
                ));
            }
            let Some(cover) = chain.covering(&wildcard)? else {
                return Err(missing!(
                    "{}, but no NSEC3 covers the wildcard {wildcard}",
                    proof.text
                ));
            };
            if let Some(opt_out) = proof.opt_out() {
                return Ok(opt_out);
            }
            proven(
                cover,
                format!("{}; {} covers {wildcard}", proof.text, cover.describe()),
            )
        }
        // RFC 5155 §8.6: with no NSEC3 matching QNAME, "verify that a closest provable
        // encloser proof for QNAME is present in the response, and that the NSEC3 RR that
        // covers the "next closer" name has the Opt-Out bit set."
        Claim::NoDs | Claim::NoData(RecordType::DS) => proof
            .opt_out()
            .ok_or_else(|| bogus!("{}, without opt-out: {qname} does not exist", proof.text)),
        Claim::NoData(qtype) => {
            // RFC 5155 §8.7: "find an NSEC3 RR present in the response that matches the
            // wildcard name generated by prepending the asterisk label to the closest encloser.
            // Furthermore, the bits corresponding to both QTYPE and CNAME MUST NOT be set".
            if let Some(record) = chain.matching(&wildcard)? {
                return bitmap_verdict(record, &wildcard, qtype);
            }
            if let Some(opt_out) = proof.opt_out() {
                return Ok(opt_out);
            }
            if chain.covering(&wildcard)?.is_some() {
                return Err(bogus!(
                    "{}, and {wildcard} is covered: NXDOMAIN, not NODATA",
                    proof.text
                ));
            }
            Err(missing!(
                "no NSEC3 matches {qname} or the wildcard {wildcard}"
            ))
        }
        Claim::WildcardExpansion(_) => unreachable!("handled above"),
    }
}

/// RFC 5155 §8.8: "Validators MUST verify that there is an NSEC3 RR that covers the "next
/// closer" name to QNAME present in the response."
fn nsec3_wildcard_expansion(
    qname: &Name,
    source: &Name,
    zone: &Name,
    chain: &mut Chain<'_, '_, '_>,
) -> Step<DenialVerdict> {
    let encloser = source_encloser(qname, source, zone)?;
    let next_closer = qname.trim_to(label_count(&encloser) + 1);
    if let Some(record) = chain.matching(&next_closer)? {
        return Err(bogus!(
            "{} matches {next_closer}: a closer name than {source} exists",
            record.describe()
        ));
    }
    let Some(cover) = chain.covering(&next_closer)? else {
        return Err(missing!(
            "no NSEC3 covers the next closer {next_closer} of {source}"
        ));
    };
    let text = cover.describe();
    if cover.nsec3.opt_out() {
        let detail = format!("{text} over the next closer {next_closer} has opt-out");
        return Ok(DenialVerdict::OptOut { detail });
    }
    proven(
        cover,
        format!("{text} covers the next closer {next_closer}; {source} applies"),
    )
}

#[cfg(test)]
#[path = "denial_tests.rs"]
mod tests;
