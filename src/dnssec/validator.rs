//! The validator as a component: [`Validator`] owns the trust anchors and the key-verdict
//! cache, and validates what one lookup returned: each RRset against the keys of the zone
//! allowed to sign it, then the denial proofs of a negative answer (RFC 4035 §5.3-§5.4). The
//! keys come from the chain of trust (`chain.rs`), the records from a [`Fetch`]; the checks
//! are the pure functions of `crate::dnssec`.
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
//! when it is exactly what the (validated) DNAME synthesises. Each verdict is written back
//! through [`Fetch::settle`] with the RRset, so a cache hit is not validated again.
//!
//! Limitations: NS-address sub-resolutions are not validated (as in unbound); the resolver
//! decides that by not asking.

use std::sync::{Arc, Mutex};

use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::chain::KeyVerdict;
use super::denial::DenialLimits;
use super::fetch::{rrsets, Denial, Evidence, Fetch, Lookup, NegativeKind, Work, BOGUS_TTL};
use super::keycache::KeyCache;
use super::{check_signatures_with, TrustAnchors};
use crate::clock::Clock;
use crate::explain::event::{Event, Limit};
use crate::explain::verdict::{
    BogusReason, IndeterminateReason, InsecureReason, Security, SignatureCheck, SignatureVerdict,
};

/// At most this many distinct signers are tried for one RRset.
const MAX_SIGNERS: usize = 2;

/// The work limits the validator enforces (from the resolver's configuration).
#[derive(Debug, Clone)]
pub struct ValidatorLimits {
    /// NSEC3 iteration limits and the hashes one query may compute.
    pub denial: DenialLimits,
    /// Signature verifications one query may make (for the `limit-reached` event).
    pub signature_checks: u32,
    /// How many zones deep the chain of trust may be walked for one query.
    pub chain_depth: u8,
    /// Bytes the key-verdict cache may hold.
    pub key_cache_bytes: usize,
}

/// Validates RRsets and denials; owns the trust anchors and the key verdicts per zone.
pub struct Validator {
    pub(super) anchors: TrustAnchors,
    /// Key verdicts per zone, with their reason, until they expire.
    pub(super) keys: Mutex<KeyCache>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) limits: ValidatorLimits,
}

pub(super) fn bogus(reason: BogusReason) -> Security {
    Security::Bogus { reason }
}

pub(super) fn insecure(reason: InsecureReason) -> Security {
    Security::Insecure { reason }
}

/// Combines the verdicts of the RRsets of one answer: any bogus wins, then indeterminate,
/// then insecure; secure only when all are.
pub fn combine(a: Security, b: Security) -> Security {
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
pub(super) fn held_until(security: &Security, until: u64, now: u64) -> u64 {
    if security.is_transient() {
        until.min(now + 1)
    } else if security.is_failure() {
        until.min(now + BOGUS_TTL)
    } else {
        until
    }
}

pub(super) fn rrsig(record: &Record) -> Option<&RRSIG> {
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

/// The name a negative answer denies: the last CNAME target of its chain, else the question.
fn denied_name(chain: &[Record], qname: &Name) -> Name {
    chain
        .iter()
        .rev()
        .find_map(|r| match &r.data {
            RData::CNAME(t) => Some(t.0.to_lowercase()),
            _ => None,
        })
        .unwrap_or_else(|| qname.clone())
}

/// The signers of `sigs` allowed to sign `owner`/`rtype` received under `received`, deepest
/// first (it is the zone that holds the owner), and the first signer that was not allowed.
/// Each RRSIG set aside is recorded.
fn allowed_signers(
    ctx: &mut impl Work,
    sigs: &[Record],
    (owner, rtype): (&Name, RecordType),
    received: &Name,
) -> (Vec<Name>, Option<Name>) {
    let mut signers: Vec<Name> = Vec::new();
    let mut foreign: Option<Name> = None;
    for sig in sigs.iter().filter_map(rrsig) {
        let signer = sig.input().signer_name.to_lowercase();
        if signer_allowed(received, owner, rtype, &signer) {
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
    signers.sort_by_key(|s| std::cmp::Reverse(s.num_labels()));
    signers.truncate(MAX_SIGNERS);
    (signers, foreign)
}

impl Validator {
    pub fn new(anchors: TrustAnchors, clock: Arc<dyn Clock>, limits: ValidatorLimits) -> Self {
        Validator {
            anchors,
            keys: Mutex::new(KeyCache::new(limits.key_cache_bytes)),
            clock,
            limits,
        }
    }

    /// The trust anchors the chain of trust starts from.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    /// Estimated bytes the key-verdict cache holds.
    pub fn key_cache_bytes(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).bytes()
    }

    /// Records which work limit a signature check ran into, if it ran into one.
    pub(super) fn record_exhaustion(&self, ctx: &mut impl Work, check: &SignatureCheck) {
        if let Some(per_second) = check.allowance_spent {
            ctx.hit(Limit::ValidationAllowance, u64::from(per_second));
        } else if check.budget_exhausted {
            let limit = self.limits.signature_checks;
            ctx.hit(Limit::SignatureChecks, u64::from(limit));
        }
    }

    /// Validates what one lookup of `qname`/`qtype` returned. None for a failed lookup (its
    /// failure speaks).
    pub async fn validate<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        (qname, qtype): (&Name, RecordType),
        lookup: &Lookup,
        evidence: &Evidence,
    ) -> Option<Security> {
        let security = match lookup {
            Lookup::Failed(_) => return None,
            Lookup::Answer { chain, rrset } => {
                let mut all = chain.clone();
                all.extend(rrset.iter().cloned());
                self.validate_rrsets(fetch, ctx, &all, evidence).await
            }
            Lookup::Alias { chain, .. } => self.validate_rrsets(fetch, ctx, chain, evidence).await,
            Lookup::NoData { chain, soa } | Lookup::NxDomain { chain, soa } => {
                let security = self.validate_rrsets(fetch, ctx, chain, evidence).await;
                let kind = match lookup {
                    Lookup::NxDomain { .. } => NegativeKind::NxDomain,
                    _ => NegativeKind::NoData,
                };
                let name = denied_name(chain, qname);
                let denial = Denial {
                    name: &name,
                    qtype,
                    kind,
                    soa: soa.as_ref(),
                    evidence,
                };
                let denial = self.validate_denial(fetch, ctx, &denial).await;
                combine(security, denial)
            }
        };
        Some(security)
    }

    /// Each RRset of `records` (a CNAME/DNAME chain and the final RRset).
    async fn validate_rrsets<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
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
            let (verdict, _) = self.validate_rrset(fetch, ctx, &set, evidence).await;
            security = combine(security, verdict);
        }
        security
    }

    /// One RRset: the verdict the cache holds, or its signatures checked against the keys of
    /// each zone allowed to sign it. Returns the verdict and when it stops holding; both go
    /// back through [`Fetch::settle`].
    pub async fn validate_rrset<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
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
            let reason = IndeterminateReason::NoZone {
                owner: owner.to_string(),
                rtype: rtype.to_string(),
            };
            return (Security::Indeterminate { reason }, now + BOGUS_TTL);
        };
        let sigs = evidence.signatures_over(&set[0].name, rtype);
        let (signers, foreign) = allowed_signers(ctx, &sigs, (&owner, rtype), &received);
        let (security, until) = if signers.is_empty() {
            self.unsigned_rrset(fetch, ctx, (&owner, rtype), &received, foreign)
                .await
        } else {
            let mut outcome: Option<(Security, u64)> = None;
            for signer in signers {
                let tried = self
                    .signed_rrset(fetch, ctx, set, &sigs, (&signer, &received), evidence)
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
        fetch.settle(set, &security, until);
        ctx.bound_validity(until);
        (security, until)
    }

    /// An RRset without any RRSIG its zone may have made: fine in an insecure zone, bogus in
    /// a secure one (and then the RRSIGs that were set aside say why).
    async fn unsigned_rrset<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        (owner, rtype): (&Name, RecordType),
        received: &Name,
        foreign: Option<Name>,
    ) -> (Security, u64) {
        let until = match self.zone_keys(fetch, ctx, received.clone()).await {
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
    async fn signed_rrset<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        set: &[Record],
        sigs: &[Record],
        (signer, received): (&Name, &Name),
        evidence: &Evidence,
    ) -> (Security, u64) {
        let owner = set[0].name.to_lowercase();
        let rtype = set[0].record_type();
        let (keys, keys_until) = match self.zone_keys(fetch, ctx, signer.clone()).await {
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
        let check = check_signatures_with(set, &own, &keys, signer, now as u32, ctx.signatures());
        ctx.record(Event::SignaturesChecked {
            owner: owner.clone(),
            rtype: rtype.into(),
            zone: signer.clone(),
            valid: check.is_valid(),
            check: check.clone(),
        });
        self.record_exhaustion(ctx, &check);
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
        match &check.wildcard {
            None => (Security::Secure, until),
            Some(source) => self
                .wildcard_proven(ctx, (&owner, source), signer, &keys, evidence)
                .map(|(judged, proofs_until)| (judged, until.min(proofs_until)))
                .unwrap_or_else(|reason| (bogus(reason), until)),
        }
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
}
