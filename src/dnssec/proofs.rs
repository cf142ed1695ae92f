//! Denials judged by the validator: the NSEC/NSEC3 records of a lookup authenticated with the
//! keys of the zone that denies, then the pure proofs of `denial` (RFC 4035 §5.4, RFC 5155
//! §8) for NXDOMAIN, NODATA, a wildcard expansion (RFC 4035 §5.3.4) or no DS, and the proof's
//! verdict turned into the answer's security (RFC 9276 §3.2 for NSEC3 iterations).
//!
//! Each denial's verdict is written back through [`Fetch::settle_denial`], so a cached denial
//! is not proven again.
//!
//! Limitations: the SOA's signature check writes no trace event (as before the move: its
//! failure is the verdict's reason).

use hickory_proto::rr::{Name, Record, RecordType};

use super::chain::KeyVerdict;
use super::fetch::{rrsets, Denial, Evidence, Fetch, NegativeKind, Work};
use super::validator::{bogus, held_until, insecure, signature_expiry, Validator};
use super::{check_signatures_with, denial, KeySet};
use crate::explain::event::{DenialClaim, Event, Limit};
use crate::explain::verdict::{
    BogusReason, BudgetWork, DenialVerdict, FailedProof, InsecureReason, Security,
};

/// The security a denial proof's verdict gives, or None when the proof ran out of NSEC3
/// hashes (the caller records the limit). No NSEC/NSEC3 at all is "missing" (EDE 12);
/// records that fail to prove it are bogus.
fn denial_security(
    verdict: &DenialVerdict,
    name: &Name,
    zone: &Name,
    no_records: bool,
) -> Option<Security> {
    let name = name.to_string();
    Some(match verdict {
        DenialVerdict::Proven { .. } => Security::Secure,
        DenialVerdict::OptOut { .. } => insecure(InsecureReason::NoDs {
            zone: zone.to_string(),
        }),
        DenialVerdict::IterationsTooHigh {
            iterations,
            limit,
            servfail: false,
        } => insecure(InsecureReason::Nsec3Iterations {
            zone: zone.to_string(),
            iterations: *iterations,
            limit: *limit,
        }),
        DenialVerdict::IterationsTooHigh {
            iterations,
            limit,
            servfail: true,
        } => bogus(BogusReason::Nsec3IterationsRefused {
            zone: zone.to_string(),
            iterations: *iterations,
            limit: *limit,
        }),
        DenialVerdict::Missing { absent, .. } if no_records => bogus(BogusReason::NsecMissing {
            name,
            absent: Box::new(absent.clone()),
        }),
        DenialVerdict::Missing { proof, absent } => bogus(BogusReason::DenialFailed {
            name,
            denial: Box::new(FailedProof::missing(proof, absent)),
        }),
        DenialVerdict::Bogus { proof, fault } => bogus(BogusReason::DenialFailed {
            name,
            denial: Box::new(FailedProof::bogus(proof, fault)),
        }),
        DenialVerdict::BudgetExhausted => return None,
    })
}

impl Validator {
    /// NSEC/NSEC3 records of the evidence whose signatures validate with `keys` of `zone`,
    /// and when the first of those signatures expires.
    pub(super) fn authenticated_proofs(
        &self,
        ctx: &mut impl Work,
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
                check_signatures_with(&set, &sigs, keys, zone, now as u32, ctx.signatures());
            ctx.record(Event::SignaturesChecked {
                owner: set[0].name.clone(),
                rtype: rtype.into(),
                zone: zone.clone(),
                valid: check.is_valid(),
                check: check.clone(),
            });
            self.record_exhaustion(ctx, &check);
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

    /// A wildcard expansion of `owner` from `source`: the proof that no closer name exists,
    /// from the authenticated proofs of `signer` (RFC 4035 §5.3.4), and when it expires.
    pub(super) fn wildcard_proven(
        &self,
        ctx: &mut impl Work,
        (owner, source): (&Name, &Name),
        signer: &Name,
        keys: &KeySet,
        evidence: &Evidence,
    ) -> Result<(Security, u64), BogusReason> {
        let (proofs, proofs_until) = self.authenticated_proofs(ctx, signer, keys, evidence)?;
        let verdict = denial::prove_wildcard_expansion(
            owner,
            source,
            signer,
            &proofs,
            &self.limits.denial,
            ctx.hashes(),
        );
        let judged = self.judge_denial(
            ctx,
            owner,
            DenialClaim::Wildcard,
            signer,
            proofs.is_empty(),
            &verdict,
        );
        Ok((judged, proofs_until))
    }

    /// A negative answer: its cached verdict, or the zone's keys, then authenticated
    /// NSEC/NSEC3 that prove it. The verdict goes back through [`Fetch::settle_denial`].
    pub(super) async fn validate_denial<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        denial: &Denial<'_>,
    ) -> Security {
        if let Some(security) = &denial.evidence.denial {
            return security.clone();
        }
        let now = self.clock.now();
        let (security, until) = self.prove_denial(fetch, ctx, denial).await;
        let until = held_until(&security, until, now);
        fetch.settle_denial(denial, &security, until);
        ctx.bound_validity(until);
        security
    }

    async fn prove_denial<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        denial: &Denial<'_>,
    ) -> (Security, u64) {
        let Denial {
            name,
            qtype,
            kind,
            soa,
            evidence,
        } = *denial;
        let zone = soa
            .map(|s| s.name.to_lowercase())
            .or_else(|| evidence.zone.clone())
            .unwrap_or_else(Name::root);
        // A denial from above a configured anchor cannot speak for the anchored zone.
        let zone = self.trust_floor(&zone, name);
        let (keys, mut until) = match self.zone_keys(fetch, ctx, zone.clone()).await {
            KeyVerdict::Secure { keys, until } => (keys, until),
            KeyVerdict::NotSecure(verdict) => return (verdict, u64::MAX),
        };
        if let Some(soa) = soa {
            match self.soa_signed(ctx, soa, &zone, &keys, evidence) {
                Ok(soa_until) => until = until.min(soa_until),
                Err(reason) => return (bogus(reason), until),
            }
        }
        let proofs = match self.authenticated_proofs(ctx, &zone, &keys, evidence) {
            Ok((proofs, proofs_until)) => {
                until = until.min(proofs_until);
                proofs
            }
            Err(reason) => return (bogus(reason), until),
        };
        let limits = &self.limits.denial;
        let (claim, verdict) = match kind {
            NegativeKind::NxDomain => (
                DenialClaim::NxDomain,
                denial::prove_nxdomain(name, &zone, &proofs, limits, ctx.hashes()),
            ),
            NegativeKind::NoData => (
                DenialClaim::NoData,
                denial::prove_nodata(name, qtype, &zone, &proofs, limits, ctx.hashes()),
            ),
        };
        let judged = self.judge_denial(ctx, name, claim, &zone, proofs.is_empty(), &verdict);
        (judged, until)
    }

    /// The SOA of a denial, signed by its own zone (`check_signatures` holds it to `zone`):
    /// when its signature expires, or why it does not validate.
    fn soa_signed(
        &self,
        ctx: &mut impl Work,
        soa: &Record,
        zone: &Name,
        keys: &KeySet,
        evidence: &Evidence,
    ) -> Result<u64, BogusReason> {
        let now = self.clock.now();
        let sigs = evidence.signatures_over(&soa.name, RecordType::SOA);
        let soa_set = std::slice::from_ref(soa);
        let check = check_signatures_with(soa_set, &sigs, keys, zone, now as u32, ctx.signatures());
        if !check.is_valid() {
            return Err(BogusReason::from_check(
                &soa.name.to_string(),
                "SOA",
                &check,
            ));
        }
        Ok(signature_expiry(&check, now))
    }

    /// Records the proof's verdict and turns it into the security it gives.
    pub(super) fn judge_denial(
        &self,
        ctx: &mut impl Work,
        name: &Name,
        claim: DenialClaim,
        zone: &Name,
        no_records: bool,
        verdict: &DenialVerdict,
    ) -> Security {
        ctx.record(Event::DenialChecked {
            name: name.clone(),
            claim,
            verdict: verdict.clone(),
        });
        if let Some(security) = denial_security(verdict, name, zone, no_records) {
            return security;
        }
        ctx.hit(Limit::Nsec3Hashes, u64::from(self.limits.denial.max_hashes));
        bogus(BogusReason::BudgetExhausted {
            work: BudgetWork::Nsec3Hashes {
                name: name.to_string(),
            },
        })
    }
}
