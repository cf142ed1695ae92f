//! Validation of what one lookup returned: each RRset against the keys of the zone allowed to
//! sign it, then the denial proofs of a negative answer (RFC 4035 §5.3-§5.4). The keys come
//! from the chain of trust (`chain.rs`); the checks are the pure functions of `crate::dnssec`.
//!
//! The signer is never taken on the RRSIG's word. RFC 4035 §5.3.1: "The RRSIG RR's Signer's
//! Name field MUST be the name of the zone that contains the RRset." The zone that contains an
//! RRset is the cut it was received under, or a zone between that cut and the owner (a server
//! authoritative for both parent and child answers for the child without a referral; the
//! child's keys are then reached through its DS at the parent, which must exist or be proven
//! absent with the NS bit set). A DS RRset belongs to the parent side, strictly above its
//! owner. Any other RRSIG is ignored and recorded; an RRset left with none is bogus in a
//! secure zone, with a text naming both zones.
//!
//! RFC 6672 §5.3.1: the CNAME synthesised from a DNAME carries no RRSIG; it is accepted only
//! when it is exactly what the (validated) DNAME synthesises. Each verdict is written back to
//! the record cache with the RRset, so a cache hit is not validated again.
//!
//! Limitations: NS-address sub-resolutions are not validated (as in unbound).

use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::budget::Ctx;
use super::cache::{rrsets, Denied, Evidence, NegativeKind, BOGUS_TTL};
use super::chain::KeyVerdict;
use super::iterate::{Iterator, Lookup};
use crate::dnssec::{check_signatures_with, denial, KeySet};
use crate::explain::event::{DenialClaim, Event, Limit};
use crate::explain::verdict::{
    BogusReason, InsecureReason, Security, SignatureCheck, SignatureVerdict,
};

/// At most this many distinct signers are tried for one RRset.
const MAX_SIGNERS: usize = 2;

pub(super) fn bogus(reason: BogusReason) -> Security {
    Security::Bogus { reason }
}

pub(super) fn insecure(reason: InsecureReason) -> Security {
    Security::Insecure { reason }
}

/// Combines the verdicts of the RRsets of one answer: any bogus wins, then indeterminate,
/// then insecure; secure only when all are.
pub(super) fn combine(a: Security, b: Security) -> Security {
    let rank = |s: &Security| match s {
        Security::Secure => 0,
        Security::Insecure { .. } => 1,
        Security::Indeterminate { .. } => 2,
        Security::Bogus { .. } => 3,
    };
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}

/// When the signature that validated an RRset expires (seconds since the epoch, read with
/// RFC 1982 arithmetic from `now`); `u64::MAX` when none validated.
pub(super) fn signature_expiry(check: &SignatureCheck, now: u64) -> u64 {
    check
        .signatures
        .iter()
        .find(|d| d.verdict == SignatureVerdict::Valid)
        .map(|d| now + u64::from(d.expiration.wrapping_sub(now as u32) & 0x7fff_ffff))
        .unwrap_or(u64::MAX)
}

/// Whether `signer` may sign `owner`/`rtype` received from the servers of `received`: a zone
/// at or below the cut and at or above the owner; strictly above it for a DS.
pub(super) fn signer_allowed(
    received: &Name,
    owner: &Name,
    rtype: RecordType,
    signer: &Name,
) -> bool {
    received.zone_of(signer)
        && signer.zone_of(owner)
        && !(rtype == RecordType::DS && signer == owner)
}

/// How long a verdict is kept: `until`, and for a failure at most [`BOGUS_TTL`] from `now`
/// (RFC 9520 §3.2), 1 s when the failure was the resolver's load, not the data.
fn held_until(security: &Security, until: u64, now: u64) -> u64 {
    if security.is_transient() {
        until.min(now + 1)
    } else if security.is_failure() {
        until.min(now + BOGUS_TTL)
    } else {
        until
    }
}

/// Records which work limit a signature check ran into, if it ran into one.
pub(super) fn record_exhaustion(ctx: &mut Ctx, check: &SignatureCheck) {
    if let Some(per_second) = check.allowance_spent {
        ctx.hit(Limit::ValidationAllowance, u64::from(per_second));
    } else if check.budget_exhausted {
        let limit = ctx.limits.signature_checks;
        ctx.hit(Limit::SignatureChecks, u64::from(limit));
    }
}

fn rrsig(record: &Record) -> Option<&RRSIG> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig),
        _ => None,
    }
}

/// Whether `set` is a CNAME exactly as a DNAME among `records` synthesises it.
fn synthesised_cname(set: &[Record], records: &[Record]) -> bool {
    let [cname] = set else { return false };
    cname.record_type() == RecordType::CNAME
        && records
            .iter()
            .filter(|r| r.record_type() == RecordType::DNAME)
            .filter_map(|d| crate::rdata::synthesise_cname(d, &cname.name))
            .any(|s| s.data == cname.data)
}

impl Iterator {
    /// Validates what one lookup returned. None for a failed lookup (its failure speaks).
    pub(super) async fn validate(
        &self,
        ctx: &mut Ctx,
        qname: &Name,
        qtype: RecordType,
        lookup: &Lookup,
        evidence: &Evidence,
    ) -> Option<Security> {
        let security = match lookup {
            Lookup::Failed(_) => return None,
            Lookup::Answer { chain, rrset } => {
                let mut all = chain.clone();
                all.extend(rrset.iter().cloned());
                self.validate_rrsets(ctx, &all, evidence).await
            }
            Lookup::Alias { chain, .. } => self.validate_rrsets(ctx, chain, evidence).await,
            Lookup::NoData { chain, soa } | Lookup::NxDomain { chain, soa } => {
                let security = self.validate_rrsets(ctx, chain, evidence).await;
                let denied = chain
                    .iter()
                    .rev()
                    .find_map(|r| match &r.data {
                        RData::CNAME(t) => Some(t.0.to_lowercase()),
                        _ => None,
                    })
                    .unwrap_or_else(|| qname.clone());
                let kind = match lookup {
                    Lookup::NxDomain { .. } => NegativeKind::NxDomain,
                    _ => NegativeKind::NoData,
                };
                let denial = self
                    .validate_denial(ctx, &denied, qtype, kind, soa.as_ref(), evidence)
                    .await;
                combine(security, denial)
            }
        };
        Some(security)
    }

    /// Each RRset of `records` (a CNAME/DNAME chain and the final RRset).
    async fn validate_rrsets(
        &self,
        ctx: &mut Ctx,
        records: &[Record],
        evidence: &Evidence,
    ) -> Security {
        let mut security = Security::Secure;
        for set in rrsets(records) {
            if synthesised_cname(&set, records) {
                continue;
            }
            if set[0].record_type() == RecordType::RRSIG {
                // A question for RRSIG: nothing signs signatures, so there is nothing to
                // check, and never AD (the zone's data they cover is validated when asked).
                let unsigned = Security::Insecure {
                    reason: InsecureReason::RrsigsNotSigned,
                };
                security = combine(security, unsigned);
                continue;
            }
            let (verdict, _) = self.validate_rrset(ctx, &set, evidence).await;
            security = combine(security, verdict);
        }
        security
    }

    /// One RRset: the verdict the cache holds, or its signatures checked against the keys of
    /// each zone allowed to sign it. Returns the verdict and when it stops holding; both go
    /// back to the cache.
    pub(super) async fn validate_rrset(
        &self,
        ctx: &mut Ctx,
        set: &[Record],
        evidence: &Evidence,
    ) -> (Security, u64) {
        let owner = set[0].name.to_lowercase();
        let rtype = set[0].record_type();
        if let Some((security, until)) = evidence.settled(&owner, rtype) {
            ctx.bound_validity(until);
            return (security.clone(), until);
        }
        let now = self.clock.now();
        let Some(received) = evidence.zone.as_ref().map(|z| self.trust_floor(z, &owner)) else {
            let detail = format!("no zone known for {owner} {rtype}");
            return (Security::Indeterminate { detail }, now + BOGUS_TTL);
        };
        let sigs = evidence.signatures_over(&set[0].name, rtype);
        let mut signers: Vec<Name> = Vec::new();
        let mut foreign: Option<Name> = None;
        for sig in sigs.iter().filter_map(rrsig) {
            let signer = sig.input().signer_name.to_lowercase();
            if signer_allowed(&received, &owner, rtype, &signer) {
                if !signers.contains(&signer) {
                    signers.push(signer);
                }
                continue;
            }
            ctx.record(Event::SignatureIgnored {
                owner: owner.clone(),
                rtype: rtype.into(),
                signer: signer.clone(),
                zone: received.clone(),
                key_tag: sig.input().key_tag,
            });
            foreign.get_or_insert(signer);
        }
        // The deepest zone first: it is the one that holds the owner.
        signers.sort_by_key(|s| std::cmp::Reverse(s.num_labels()));
        signers.truncate(MAX_SIGNERS);
        let (security, until) = if signers.is_empty() {
            self.unsigned_rrset(ctx, &owner, rtype, &received, foreign)
                .await
        } else {
            let mut outcome: Option<(Security, u64)> = None;
            for signer in signers {
                let tried = self
                    .signed_rrset(ctx, set, &sigs, (&signer, &received), evidence)
                    .await;
                if tried.0.is_secure() {
                    outcome = Some(tried);
                    break;
                }
                outcome = Some(match outcome {
                    Some((so_far, until)) => (combine(so_far, tried.0), until.min(tried.1)),
                    None => tried,
                });
            }
            outcome.unwrap_or((Security::Secure, u64::MAX))
        };
        let until = held_until(&security, until, now);
        self.cache.settle(set, &security, until);
        ctx.bound_validity(until);
        (security, until)
    }

    /// An RRset without any RRSIG its zone may have made: fine in an insecure zone, bogus in
    /// a secure one (and then the RRSIGs that were set aside say why).
    async fn unsigned_rrset(
        &self,
        ctx: &mut Ctx,
        owner: &Name,
        rtype: RecordType,
        received: &Name,
        foreign: Option<Name>,
    ) -> (Security, u64) {
        let until = match self.zone_keys(ctx, received.clone()).await {
            KeyVerdict::NotSecure(verdict) => return (verdict, u64::MAX),
            KeyVerdict::Secure { until, .. } => until,
        };
        let reason = match foreign {
            Some(signer) => BogusReason::SignerMismatch {
                owner: owner.to_string(),
                rtype: rtype.to_string(),
                signer: signer.to_string(),
                zone: received.to_string(),
            },
            None => BogusReason::RrsigsMissing {
                owner: owner.to_string(),
                rtype: rtype.to_string(),
            },
        };
        (bogus(reason), until)
    }

    /// The RRSIGs of `signer` over `set`, against `signer`'s keys; a wildcard expansion also
    /// needs its proof (RFC 4035 §5.3.4).
    ///
    /// A signer below the zone the answer came from that is no secure zone itself (no
    /// referral showed it, no proof named it an insecure delegation) did not sign this: the
    /// RRset is bogus as a signer mismatch, naming both.
    async fn signed_rrset(
        &self,
        ctx: &mut Ctx,
        set: &[Record],
        sigs: &[Record],
        (signer, received): (&Name, &Name),
        evidence: &Evidence,
    ) -> (Security, u64) {
        let owner = set[0].name.to_lowercase();
        let rtype = set[0].record_type();
        let (keys, keys_until) = match self.zone_keys(ctx, signer.clone()).await {
            KeyVerdict::Secure { keys, until } => (keys, until),
            KeyVerdict::NotSecure(verdict) if signer != received && verdict.is_failure() => {
                let reason = BogusReason::SignerMismatch {
                    owner: owner.to_string(),
                    rtype: rtype.to_string(),
                    signer: signer.to_string(),
                    zone: received.to_string(),
                };
                return (bogus(reason), u64::MAX);
            }
            KeyVerdict::NotSecure(verdict) => return (verdict, u64::MAX),
        };
        let own: Vec<Record> = sigs
            .iter()
            .filter(|r| rrsig(r).is_some_and(|s| s.input().signer_name == *signer))
            .cloned()
            .collect();
        let now = self.clock.now();
        let check =
            check_signatures_with(set, &own, &keys, signer, now as u32, &mut ctx.signatures);
        ctx.record(Event::SignaturesChecked {
            owner: owner.clone(),
            rtype: rtype.into(),
            zone: signer.clone(),
            valid: check.is_valid(),
            check: check.clone(),
        });
        record_exhaustion(ctx, &check);
        if !check.is_valid() {
            let reason = BogusReason::from_check(&owner.to_string(), &rtype.to_string(), &check);
            return (bogus(reason), keys_until);
        }
        let original_ttl = own
            .iter()
            .filter_map(rrsig)
            .map(|s| s.input().original_ttl)
            .min()
            .unwrap_or(u32::MAX);
        let until = keys_until
            .min(signature_expiry(&check, now))
            .min(now + u64::from(original_ttl));
        let Some(source) = &check.wildcard else {
            return (Security::Secure, until);
        };
        let (proofs, proofs_until) = match self.authenticated_proofs(ctx, signer, &keys, evidence) {
            Ok(p) => p,
            Err(reason) => return (bogus(reason), until),
        };
        let limits = self.denial_limits();
        let verdict = denial::prove_wildcard_expansion(
            &owner,
            source,
            signer,
            &proofs,
            &limits,
            &mut ctx.hashes,
        );
        let judged = self.judge_denial(
            ctx,
            &owner,
            DenialClaim::Wildcard,
            signer,
            proofs.is_empty(),
            &verdict,
        );
        (judged, until.min(proofs_until))
    }

    /// The zone an answer received under `received` must be validated from: `received`,
    /// unless a configured trust anchor lies between it and `owner`, which then rules (the
    /// anchor's zone is trusted by configuration, whatever its parent says).
    pub(super) fn trust_floor(&self, received: &Name, owner: &Name) -> Name {
        match self.anchors.closest(owner) {
            Some((anchor, _)) if received.zone_of(anchor) && anchor != received => {
                anchor.to_lowercase()
            }
            _ => received.clone(),
        }
    }

    pub(super) fn denial_limits(&self) -> denial::DenialLimits {
        denial::DenialLimits {
            insecure_above: self.config.dnssec.nsec3_insecure_above,
            bogus_above: self.config.dnssec.nsec3_bogus_above,
            max_hashes: self.config.limits.nsec3_hashes,
        }
    }

    /// NSEC/NSEC3 records of the evidence whose signatures validate with `keys` of `zone`,
    /// and when the first of those signatures expires.
    pub(super) fn authenticated_proofs(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        keys: &KeySet,
        evidence: &Evidence,
    ) -> Result<(Vec<Record>, u64), BogusReason> {
        let proofs: Vec<Record> = evidence
            .dnssec
            .iter()
            .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
            .cloned()
            .collect();
        let now = self.clock.now();
        let mut until = u64::MAX;
        for set in rrsets(&proofs) {
            let rtype = set[0].record_type();
            let sigs = evidence.signatures_over(&set[0].name, rtype);
            let check =
                check_signatures_with(&set, &sigs, keys, zone, now as u32, &mut ctx.signatures);
            ctx.record(Event::SignaturesChecked {
                owner: set[0].name.clone(),
                rtype: rtype.into(),
                zone: zone.clone(),
                valid: check.is_valid(),
                check: check.clone(),
            });
            record_exhaustion(ctx, &check);
            if !check.is_valid() {
                return Err(BogusReason::from_check(
                    &set[0].name.to_string(),
                    &rtype.to_string(),
                    &check,
                ));
            }
            until = until.min(signature_expiry(&check, now));
        }
        Ok((proofs, until))
    }

    /// A negative answer: its cached verdict, or the zone's keys, then authenticated
    /// NSEC/NSEC3 that prove it. The verdict goes back to the negative cache.
    async fn validate_denial(
        &self,
        ctx: &mut Ctx,
        name: &Name,
        qtype: RecordType,
        kind: NegativeKind,
        soa: Option<&Record>,
        evidence: &Evidence,
    ) -> Security {
        if let Some(security) = &evidence.denial {
            return security.clone();
        }
        let now = self.clock.now();
        let (security, until) = self
            .prove_denial(ctx, name, qtype, kind, soa, evidence)
            .await;
        let until = held_until(&security, until, now);
        let denied = Denied::of(kind, qtype);
        self.cache
            .settle_negative(name, denied, soa, evidence, &security, until);
        ctx.bound_validity(until);
        security
    }

    async fn prove_denial(
        &self,
        ctx: &mut Ctx,
        name: &Name,
        qtype: RecordType,
        kind: NegativeKind,
        soa: Option<&Record>,
        evidence: &Evidence,
    ) -> (Security, u64) {
        let zone = soa
            .map(|s| s.name.to_lowercase())
            .or_else(|| evidence.zone.clone())
            .unwrap_or_else(Name::root);
        // A denial from above a configured anchor cannot speak for the anchored zone.
        let zone = self.trust_floor(&zone, name);
        let (keys, mut until) = match self.zone_keys(ctx, zone.clone()).await {
            KeyVerdict::Secure { keys, until } => (keys, until),
            KeyVerdict::NotSecure(verdict) => return (verdict, u64::MAX),
        };
        let now = self.clock.now();
        if let Some(soa) = soa {
            // The SOA's signer must be its own zone: check_signatures holds it to `zone`.
            let sigs = evidence.signatures_over(&soa.name, RecordType::SOA);
            let soa_set = std::slice::from_ref(soa);
            let check = check_signatures_with(
                soa_set,
                &sigs,
                &keys,
                &zone,
                now as u32,
                &mut ctx.signatures,
            );
            if !check.is_valid() {
                let reason = BogusReason::from_check(&soa.name.to_string(), "SOA", &check);
                return (bogus(reason), until);
            }
            until = until.min(signature_expiry(&check, now));
        }
        let proofs = match self.authenticated_proofs(ctx, &zone, &keys, evidence) {
            Ok((proofs, proofs_until)) => {
                until = until.min(proofs_until);
                proofs
            }
            Err(reason) => return (bogus(reason), until),
        };
        let limits = self.denial_limits();
        let (claim, verdict) = match kind {
            NegativeKind::NxDomain => (
                DenialClaim::NxDomain,
                denial::prove_nxdomain(name, &zone, &proofs, &limits, &mut ctx.hashes),
            ),
            NegativeKind::NoData => (
                DenialClaim::NoData,
                denial::prove_nodata(name, qtype, &zone, &proofs, &limits, &mut ctx.hashes),
            ),
        };
        let judged = self.judge_denial(ctx, name, claim, &zone, proofs.is_empty(), &verdict);
        (judged, until)
    }

    pub(super) fn judge_denial(
        &self,
        ctx: &mut Ctx,
        name: &Name,
        claim: DenialClaim,
        zone: &Name,
        no_records: bool,
        verdict: &crate::explain::verdict::DenialVerdict,
    ) -> Security {
        ctx.record(Event::DenialChecked {
            name: name.clone(),
            claim,
            verdict: verdict.clone(),
        });
        let name = name.to_string();
        match verdict {
            crate::explain::verdict::DenialVerdict::Proven { .. } => Security::Secure,
            crate::explain::verdict::DenialVerdict::OptOut { .. } => {
                insecure(InsecureReason::NoDs {
                    zone: zone.to_string(),
                })
            }
            crate::explain::verdict::DenialVerdict::IterationsTooHigh {
                iterations,
                limit,
                servfail: false,
            } => insecure(InsecureReason::Nsec3Iterations {
                zone: zone.to_string(),
                iterations: *iterations,
                limit: *limit,
            }),
            crate::explain::verdict::DenialVerdict::IterationsTooHigh {
                iterations,
                limit,
                servfail: true,
            } => bogus(BogusReason::Nsec3IterationsRefused {
                zone: zone.to_string(),
                iterations: *iterations,
                limit: *limit,
            }),
            // No NSEC/NSEC3 at all is "missing" (EDE 12); records that fail to prove it are bogus.
            crate::explain::verdict::DenialVerdict::Missing { detail } if no_records => {
                bogus(BogusReason::NsecMissing {
                    name,
                    detail: detail.clone(),
                })
            }
            crate::explain::verdict::DenialVerdict::Missing { detail }
            | crate::explain::verdict::DenialVerdict::Bogus { detail } => {
                bogus(BogusReason::DenialFailed {
                    name,
                    detail: detail.clone(),
                })
            }
            crate::explain::verdict::DenialVerdict::BudgetExhausted => {
                ctx.hit(
                    Limit::Nsec3Hashes,
                    u64::from(self.config.limits.nsec3_hashes),
                );
                bogus(BogusReason::BudgetExhausted {
                    detail: format!("NSEC3 hashes while proving {claim} for {name}"),
                })
            }
        }
    }
}
