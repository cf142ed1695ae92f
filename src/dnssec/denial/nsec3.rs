//! NSEC3 proofs: names are hashed with each parameter set's salt and iterations (paid from
//! the query's [`HashBudget`]), an NSEC3 whose owner hash matches a name shows what exists
//! there, and the closest encloser proof (a match for the encloser, a cover for the next
//! closer name) underlies name error, wildcard, DS and opt-out proofs.
//!
//! RFCs: 5155 §7.2.1 and §8.3 (closest encloser proof), §8.4 (name error), §8.5 and §8.7
//! (no data, wildcard no data), §8.6 (DS and opt-out), §8.8 (wildcard answer), 9276 §3.2
//! (iteration limits), CVE-2023-50868 (every hash is paid from the budget, and each name is
//! hashed at most once per parameter set).
//!
//! # Limitations
//! - Only SHA-1 exists (RFC 5155 §11); hickory drops records with another hash algorithm or
//!   unknown flags before they reach this module.
//! - Parameter sets (iterations, salt) are tried one at a time, in the order they appear; a
//!   proof never mixes sets. A set above the iteration limit is skipped without hashing.
//! - An NSEC3 whose owner is not a base32hex hash directly below the zone, or whose next hash
//!   has another length, is ignored.
//! - Opt-out over the next closer name gives [`DenialVerdict::OptOut`] for every claim.

use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC3};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::{Name, RData, Record, RecordType, RecordTypeSet};

use super::{
    bitmap_step, bitmap_verdict, bogus, label_count, missing, no_ds_verdict, proven,
    source_encloser, wildcard_of, Absent, Claim, DenialHow, DenialLimits, DenialVerdict, Denier,
    Fault, HashBudget, NameRole, Proof, ProofRecord, ProofStep, Step,
};

pub(super) struct Nsec3Entry<'a> {
    owner: &'a Name,
    /// The owner's first label, base32hex-decoded.
    hash: Vec<u8>,
    nsec3: &'a NSEC3,
}

impl Denier for Nsec3Entry<'_> {
    const HOW: DenialHow = DenialHow::Nsec3;
    fn record(&self) -> ProofRecord {
        ProofRecord::Nsec3 {
            owner: self.owner.clone(),
            next_hashed: BASE32_DNSSEC.encode(self.nsec3.next_hashed_owner_name()),
            opt_out: self.nsec3.opt_out(),
        }
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

    fn parameters(&self) -> (u16, &[u8]) {
        (self.nsec3.iterations(), self.nsec3.salt())
    }
}

/// The NSEC3 records of `zone` among `records` whose owner hash can be compared.
pub(super) fn entries<'a>(zone: &Name, records: &'a [Record]) -> Vec<Nsec3Entry<'a>> {
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

/// The distinct parameter sets (iterations, salt) of `entries`, in order of appearance.
fn parameter_sets<'e>(entries: &'e [Nsec3Entry<'_>]) -> Vec<(u16, &'e [u8])> {
    let mut sets: Vec<(u16, &[u8])> = Vec::new();
    for entry in entries {
        let set = entry.parameters();
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    sets
}

/// One parameter set's chain, hashing each name at most once and paying for it.
struct Chain<'e, 'a, 'b> {
    entries: Vec<&'e Nsec3Entry<'a>>,
    salt: &'e [u8],
    iterations: u16,
    budget: &'b mut HashBudget,
    hashed: Vec<(Name, Vec<u8>)>,
}

impl<'e, 'a, 'b> Chain<'e, 'a, 'b> {
    /// The records of `entries` with the parameter set `(iterations, salt)`.
    fn of_set(
        entries: &'e [Nsec3Entry<'a>],
        (iterations, salt): (u16, &'e [u8]),
        budget: &'b mut HashBudget,
    ) -> Self {
        let same = |entry: &&Nsec3Entry<'_>| entry.parameters() == (iterations, salt);
        Chain {
            entries: entries.iter().filter(same).collect(),
            salt,
            iterations,
            budget,
            hashed: Vec::new(),
        }
    }

    fn hash(&mut self, name: &Name) -> Step<Vec<u8>> {
        if let Some((_, hash)) = self.hashed.iter().find(|(known, _)| known == name) {
            return Ok(hash.clone());
        }
        if !self.budget.spend() {
            return Err(Box::new(DenialVerdict::BudgetExhausted));
        }
        let digest = Nsec3HashAlgorithm::SHA1.hash(self.salt, name, self.iterations);
        let unhashable = |_| bogus(Proof::default(), Fault::Unhashable { name: name.clone() });
        let hash = digest.map_err(unhashable)?.as_ref().to_vec();
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
    /// The match for the encloser and the cover for the next closer name.
    proof: Proof,
    cover: &'e Nsec3Entry<'a>,
}

impl EncloserProof<'_, '_> {
    fn opt_out(&self) -> Option<DenialVerdict> {
        let proof = self.proof.clone();
        (self.cover.nsec3.opt_out()).then_some(DenialVerdict::OptOut { proof })
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
            // "The DNAME type bit must not be set and the NS type bit may only be set if the
            // SOA type bit is set."
            if record.nsec3.is_ancestor_delegation() {
                let fault = Fault::AncestorCut {
                    record: record.record(),
                    at: candidate,
                    name: qname.clone(),
                };
                return Err(bogus(Proof::default(), fault));
            }
            let matched = Proof::of([record.matches_step(&candidate, NameRole::ClosestEncloser)]);
            let Some(cover) = chain.covering(&next_closer)? else {
                let absent = Absent::Cover {
                    how: DenialHow::Nsec3,
                    name: next_closer,
                    role: NameRole::NextCloser,
                };
                return Err(missing(matched, absent));
            };
            let proof = matched.and(cover.covers_step(&next_closer, NameRole::NextCloser));
            return Ok(EncloserProof {
                encloser: candidate,
                proof,
                cover,
            });
        }
        next_closer = candidate;
    }
    let (qname, zone) = (qname.clone(), zone.clone());
    Err(missing(
        Proof::default(),
        Absent::ClosestEncloser { qname, zone },
    ))
}

/// Tries the claim with each parameter set in turn: the first proof, opt-out or exhausted
/// budget wins; otherwise too many iterations, then the first set's failure.
pub(super) fn prove(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    entries: &[Nsec3Entry<'_>],
    limits: &DenialLimits,
    budget: &mut HashBudget,
) -> DenialVerdict {
    let (mut too_high, mut first_failure) = (None, None);
    for (iterations, salt) in parameter_sets(entries) {
        // RFC 9276 §3.2: "Validating resolvers MAY return an insecure response to their
        // clients when processing NSEC3 records with iterations larger than 0" and "MAY also
        // return a SERVFAIL response". Checked before any hash is computed.
        if iterations > limits.insecure_above {
            too_high = too_high.max(Some(iterations));
            continue;
        }
        let mut chain = Chain::of_set(entries, (iterations, salt), &mut *budget);
        match prove_in_chain(claim, qname, zone, &mut chain).unwrap_or_else(|verdict| *verdict) {
            verdict @ (DenialVerdict::Proven { .. }
            | DenialVerdict::OptOut { .. }
            | DenialVerdict::BudgetExhausted) => return verdict,
            other => first_failure = first_failure.or(Some(other)),
        }
    }
    if let Some(iterations) = too_high {
        let servfail = iterations > limits.bogus_above;
        let limit = if servfail {
            limits.bogus_above
        } else {
            limits.insecure_above
        };
        return DenialVerdict::IterationsTooHigh {
            iterations,
            limit,
            servfail,
        };
    }
    first_failure.unwrap_or_else(|| {
        let zone = zone.clone();
        *missing(Proof::default(), Absent::UsableNsec3 { zone })
    })
}

/// The claim within one parameter set's chain.
fn prove_in_chain(
    claim: Claim<'_>,
    qname: &Name,
    zone: &Name,
    chain: &mut Chain<'_, '_, '_>,
) -> Step<DenialVerdict> {
    if let Claim::WildcardExpansion(source) = claim {
        return wildcard_expansion(qname, source, zone, chain);
    }
    if let Some(record) = chain.matching(qname)? {
        return match claim {
            // RFC 5155 §8.5: "an NSEC3 RR that matches QNAME is present and ... both the QTYPE
            // and the CNAME type are not set" (an empty non-terminal has an empty bitmap).
            // §8.6: for DS it "MUST NOT have the bits corresponding to DS and CNAME set".
            Claim::NoData(qtype) => bitmap_verdict(record, qname, qtype),
            Claim::NoDs => no_ds_verdict(record, qname),
            _ => Err(record.exists(qname, NameRole::Qname)),
        };
    }
    let proof = closest_encloser(chain, qname, zone)?;
    let wildcard = wildcard_of(&proof.encloser)?;
    match claim {
        Claim::NxDomain => nxdomain(chain, &proof, &wildcard),
        // RFC 5155 §8.6: with no NSEC3 matching QNAME, "verify that a closest provable
        // encloser proof for QNAME is present in the response, and that the NSEC3 RR that
        // covers the "next closer" name has the Opt-Out bit set."
        Claim::NoDs | Claim::NoData(RecordType::DS) => proof.opt_out().ok_or_else(|| {
            let name = qname.clone();
            bogus(proof.proof.clone(), Fault::NoOptOut { name })
        }),
        Claim::NoData(qtype) => wildcard_nodata(chain, &proof, &wildcard, qtype),
        Claim::WildcardExpansion(_) => unreachable!("handled above"),
    }
}

/// Name error: the closest encloser proof, and a cover for the wildcard at the encloser.
fn nxdomain(
    chain: &mut Chain<'_, '_, '_>,
    proof: &EncloserProof<'_, '_>,
    wildcard: &Name,
) -> Step<DenialVerdict> {
    // RFC 5155 §8.4: "verify that there is a closest encloser proof for QNAME ... and
    // that there is an NSEC3 RR that covers the wildcard at the closest encloser".
    if let Some(record) = chain.matching(wildcard)? {
        return Err(record.exists(wildcard, NameRole::Wildcard));
    }
    let Some(cover) = chain.covering(wildcard)? else {
        let absent = Absent::Cover {
            how: DenialHow::Nsec3,
            name: wildcard.clone(),
            role: NameRole::Wildcard,
        };
        return Err(missing(proof.proof.clone(), absent));
    };
    if let Some(opt_out) = proof.opt_out() {
        return Ok(opt_out);
    }
    let step = cover.covers_step(wildcard, NameRole::Wildcard);
    proven(cover, proof.proof.and(step))
}

/// No data at a wildcard: the closest encloser proof, and a match for the wildcard at the
/// encloser that lacks the type.
fn wildcard_nodata(
    chain: &mut Chain<'_, '_, '_>,
    proof: &EncloserProof<'_, '_>,
    wildcard: &Name,
    qtype: RecordType,
) -> Step<DenialVerdict> {
    // RFC 5155 §8.7: "find an NSEC3 RR present in the response that matches the
    // wildcard name generated by prepending the asterisk label to the closest encloser.
    // Furthermore, the bits corresponding to both QTYPE and CNAME MUST NOT be set".
    if let Some(record) = chain.matching(wildcard)? {
        let step = bitmap_step(record, wildcard, qtype)?;
        return proven(record, proof.proof.and(step));
    }
    if let Some(opt_out) = proof.opt_out() {
        return Ok(opt_out);
    }
    if let Some(cover) = chain.covering(wildcard)? {
        let step = cover.covers_step(wildcard, NameRole::Wildcard);
        return Err(bogus(proof.proof.and(step), Fault::NxDomainNotNoData));
    }
    let absent = Absent::Match {
        how: DenialHow::Nsec3,
        name: wildcard.clone(),
        role: NameRole::Wildcard,
    };
    Err(missing(proof.proof.clone(), absent))
}

/// RFC 5155 §8.8: "Validators MUST verify that there is an NSEC3 RR that covers the "next
/// closer" name to QNAME present in the response."
fn wildcard_expansion(
    qname: &Name,
    source: &Name,
    zone: &Name,
    chain: &mut Chain<'_, '_, '_>,
) -> Step<DenialVerdict> {
    let encloser = source_encloser(qname, source, zone)?;
    let next_closer = qname.trim_to(label_count(&encloser) + 1);
    if let Some(record) = chain.matching(&next_closer)? {
        return Err(record.exists(&next_closer, NameRole::NextCloser));
    }
    let Some(cover) = chain.covering(&next_closer)? else {
        let absent = Absent::Cover {
            how: DenialHow::Nsec3,
            name: next_closer,
            role: NameRole::NextCloser,
        };
        return Err(missing(Proof::default(), absent));
    };
    let covered = Proof::of([cover.covers_step(&next_closer, NameRole::NextCloser)]);
    if cover.nsec3.opt_out() {
        return Ok(DenialVerdict::OptOut { proof: covered });
    }
    let source = source.clone();
    proven(cover, covered.and(ProofStep::WildcardApplies { source }))
}
