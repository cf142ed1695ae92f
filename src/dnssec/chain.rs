//! The chain of trust, walked on demand: from a trust anchor down through DS -> DNSKEY at each
//! zone cut (RFC 4035 §5). Key verdicts are cached per zone *with their reason*, so a later
//! query against a bogus or insecure zone explains itself without fetching again.
//!
//! RFC 4035 §5.2 / RFC 6840 §5.2: a zone whose DS set lists only algorithms or digests whydns
//! does not validate is insecure, not bogus. RFC 4509 §3: a SHA-1 DS is ignored when a
//! stronger digest of the same key is there. The DS RRset is validated like any other RRset
//! (`validate_rrset`), so its signer must be a zone above the cut that served it. DS and
//! DNSKEY RRsets are fetched through [`Fetch`]; the verdicts are kept in the [`Validator`]'s
//! key cache.
//!
//! Limitations: no negative trust anchors; keys are not re-validated until their cache entry
//! expires.

use std::sync::Arc;

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS};
use hickory_proto::dnssec::PublicKey;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::fetch::{BoxFuture, Evidence, Fetch, Lookup, Work};
use super::validator::{bogus, insecure, signature_expiry, Validator};
use super::{
    algorithm_supported, check_signatures_with, denial, digest_supported, ds_matches,
    strongest_digests, Anchor, DsMatch, KeySet, VerificationBudget,
};
use crate::explain::event::{DenialClaim, Event};
use crate::explain::proof::{Fault, Proof};
use crate::explain::verdict::{
    BogusReason, BudgetWork, DenialVerdict, FailedProof, IndeterminateReason, InsecureReason,
    KeyId, KeysSeen, Security,
};

/// How long a failed or insecure key verdict is cached (RFC 9520 asks for at least 1 s and
/// at most 5 minutes of failure caching).
const FAILED_KEYS_TTL: u64 = 60;

/// What is known about a zone's keys.
#[derive(Debug, Clone)]
pub enum KeyVerdict {
    /// The zone's DNSKEY RRset, authenticated until `until` (seconds since the epoch): the
    /// earliest of its TTL, its signature's expiration and the DS chain's own expiry.
    Secure {
        keys: Arc<KeySet>,
        until: u64,
    },
    NotSecure(Security),
}

impl Validator {
    /// The authenticated DNSKEY RRset of `zone`, or why there is none (cached either way).
    pub fn zone_keys<'a, F: Fetch>(
        &'a self,
        fetch: &'a F,
        ctx: &'a mut F::Ctx,
        zone: Name,
    ) -> BoxFuture<'a, KeyVerdict> {
        Box::pin(async move {
            let now = self.clock.now();
            if let Some(verdict) = self.cached_keys(&zone, now) {
                return verdict;
            }
            if *ctx.depth() >= self.limits.chain_depth {
                return KeyVerdict::NotSecure(Security::Indeterminate {
                    reason: IndeterminateReason::ChainTooDeep {
                        zone: zone.to_string(),
                    },
                });
            }
            *ctx.depth() += 1;
            let verdict = self.establish_keys(fetch, ctx, &zone).await;
            *ctx.depth() -= 1;
            let (security, keys, expires) = match &verdict {
                KeyVerdict::Secure { keys, until } => (Security::Secure, Some(keys.len()), *until),
                KeyVerdict::NotSecure(security) if security.is_transient() => {
                    (security.clone(), None, now + 1)
                }
                KeyVerdict::NotSecure(security) => (security.clone(), None, now + FAILED_KEYS_TTL),
            };
            ctx.record(Event::ZoneSecurity {
                zone: zone.clone(),
                security,
                keys,
            });
            self.keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(zone, verdict.clone(), expires);
            verdict
        })
    }

    fn cached_keys(&self, zone: &Name, now: u64) -> Option<KeyVerdict> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(zone, now)
    }

    async fn establish_keys<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        zone: &Name,
    ) -> KeyVerdict {
        let not_secure = KeyVerdict::NotSecure;
        // RFC 4035 §5: the chain starts at a trust anchor.
        if let Some(anchors) = self.anchors.get(zone) {
            let (ds, anchored_keys) = anchored(anchors);
            return self
                .keys_matching(fetch, ctx, zone, (&ds, &anchored_keys), u64::MAX)
                .await;
        }
        let Some((anchor, _)) = self.anchors.closest(zone).filter(|_| !zone.is_root()) else {
            return not_secure(insecure(InsecureReason::NoTrustAnchor));
        };
        let anchor = anchor.clone();
        if let Some(security) = self.insecure_above(fetch, ctx, zone, &anchor).await {
            return not_secure(security);
        }
        let (lookup, evidence) = fetch.lookup(ctx, zone, RecordType::DS).await;
        match lookup {
            Lookup::Answer { rrset, .. } => {
                // The DS RRset is the parent's data: its signer must be a zone above the cut.
                let (security, until) = self.validate_rrset(fetch, ctx, &rrset, &evidence).await;
                if !security.is_secure() {
                    return not_secure(security);
                }
                let ds: Vec<DS> = rrset
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
                        _ => None,
                    })
                    .collect();
                self.keys_matching(fetch, ctx, zone, (&ds, &[]), until)
                    .await
            }
            Lookup::NoData { soa, .. } | Lookup::NxDomain { soa, .. } => {
                self.no_ds(fetch, ctx, zone, soa.as_ref(), &evidence).await
            }
            Lookup::Alias { .. } => not_secure(Security::Indeterminate {
                reason: IndeterminateReason::DsAlias {
                    zone: zone.to_string(),
                },
            }),
            Lookup::Failed(failure) => not_secure(Security::Indeterminate {
                reason: IndeterminateReason::DsUnavailable {
                    zone: zone.to_string(),
                    failure,
                },
            }),
        }
    }

    /// Top-down: when the closest cut above `zone` that the cache knows (below the trust
    /// anchor) is provably insecure, so is `zone`, and its DS is not asked for (RFC 4035
    /// §5.2: below an unsigned delegation there is nothing to authenticate).
    async fn insecure_above<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        zone: &Name,
        anchor: &Name,
    ) -> Option<Security> {
        let parent = zone.base_name();
        let cut = fetch.closest_cut(&parent)?;
        if !anchor.zone_of(&cut) {
            return None;
        }
        match self.zone_keys(fetch, ctx, cut).await {
            KeyVerdict::NotSecure(security @ Security::Insecure { .. }) => Some(security),
            _ => None,
        }
    }

    /// No DS: the parent must prove it (RFC 4035 §5.2), else the delegation is bogus. The
    /// proof is checked against the keys of the zone above the cut that answered, never of
    /// the child itself.
    async fn no_ds<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        zone: &Name,
        soa: Option<&Record>,
        evidence: &Evidence,
    ) -> KeyVerdict {
        let parent = parent_of_cut(zone, soa, evidence);
        let parent_keys = match self.zone_keys(fetch, ctx, parent.clone()).await {
            KeyVerdict::Secure { keys, .. } => keys,
            other => return other,
        };
        let proofs = match self.authenticated_proofs(ctx, &parent, &parent_keys, evidence) {
            Ok((proofs, _)) => proofs,
            Err(reason) => return KeyVerdict::NotSecure(bogus(reason)),
        };
        let verdict =
            denial::prove_no_ds(zone, &parent, &proofs, &self.limits.denial, ctx.hashes());
        // A cut no referral showed (a signer or SOA owner below the zone that answered) is
        // believed only on a proof that names it a delegation: an NSEC/NSEC3 matching it
        // with the NS bit. Opt-out spans and over-long NSEC3 chains prove no such thing.
        let referred = fetch.closest_cut(zone).is_some_and(|cut| cut == *zone);
        let judged = self.judge_denial(
            ctx,
            zone,
            DenialClaim::NoDs,
            &parent,
            proofs.is_empty(),
            &verdict,
        );
        if !referred
            && matches!(
                verdict,
                DenialVerdict::OptOut { .. } | DenialVerdict::IterationsTooHigh { .. }
            )
        {
            return KeyVerdict::NotSecure(cut_not_shown(zone, &parent, &verdict));
        }
        KeyVerdict::NotSecure(match judged {
            Security::Secure => insecure(InsecureReason::NoDs {
                zone: zone.to_string(),
            }),
            other => other,
        })
    }

    /// Fetches `zone`'s DNSKEY RRset and authenticates it with a key that matches `ds` (or is
    /// one of `anchored_keys`), RFC 4035 §5.2. `ds_until`: when the DS set itself expires.
    async fn keys_matching<F: Fetch>(
        &self,
        fetch: &F,
        ctx: &mut F::Ctx,
        zone: &Name,
        (ds, anchored_keys): (&[DS], &[Vec<u8>]),
        ds_until: u64,
    ) -> KeyVerdict {
        let not_secure = KeyVerdict::NotSecure;
        let supported: Vec<&DS> = ds
            .iter()
            .filter(|d| {
                algorithm_supported(u8::from(d.algorithm()))
                    && digest_supported(u8::from(d.digest_type()))
            })
            .collect();
        let usable = strongest_digests(supported);
        if usable.is_empty() && anchored_keys.is_empty() {
            return not_secure(unsupported(zone, ds));
        }
        let (lookup, evidence) = fetch.lookup(ctx, zone, RecordType::DNSKEY).await;
        let Lookup::Answer { rrset: dnskeys, .. } = lookup else {
            return not_secure(bogus(BogusReason::DnskeyMissing {
                zone: zone.to_string(),
                keys: KeysSeen {
                    ds: key_ids(&usable),
                    dnskeys: None,
                },
            }));
        };
        let published = KeySet::new(&dnskeys, zone);
        let trusted = match trusted_keys(zone, &published, &usable, anchored_keys, ctx.signatures())
        {
            Ok(trusted) => trusted,
            Err(reason) => return not_secure(bogus(reason)),
        };
        match self.dnskeys_signed(ctx, zone, &dnskeys, &trusted, &evidence) {
            Ok(until) => KeyVerdict::Secure {
                keys: Arc::new(published),
                until: until.min(ds_until),
            },
            Err(reason) => not_secure(bogus(reason)),
        }
    }

    /// The DNSKEY RRset must be signed by a key the DS (or anchor) vouches for: when that
    /// stops holding (its TTL, its signature's expiration), or why it does not hold.
    fn dnskeys_signed(
        &self,
        ctx: &mut impl Work,
        zone: &Name,
        dnskeys: &[Record],
        trusted: &KeySet,
        evidence: &Evidence,
    ) -> Result<u64, BogusReason> {
        let sigs = evidence.signatures_over(zone, RecordType::DNSKEY);
        let now = self.clock.now();
        let check =
            check_signatures_with(dnskeys, &sigs, trusted, zone, now as u32, ctx.signatures());
        ctx.record(Event::SignaturesChecked {
            owner: zone.clone(),
            rtype: RecordType::DNSKEY.into(),
            zone: zone.clone(),
            valid: check.is_valid(),
            check: check.clone(),
        });
        self.record_exhaustion(ctx, &check);
        if !check.is_valid() {
            return Err(BogusReason::from_check(&zone.to_string(), "DNSKEY", &check));
        }
        let ttl = dnskeys.iter().map(|r| r.ttl).min().unwrap_or(0).max(1);
        Ok((now + u64::from(ttl)).min(signature_expiry(&check, now)))
    }
}

/// The DS records and the public keys a zone's trust anchors name.
fn anchored(anchors: &[Anchor]) -> (Vec<DS>, Vec<Vec<u8>>) {
    let ds = anchors
        .iter()
        .filter_map(|a| match a {
            Anchor::Ds(ds) => Some(ds.clone()),
            Anchor::Dnskey(_) => None,
        })
        .collect();
    let keys = anchors
        .iter()
        .filter_map(|a| match a {
            Anchor::Dnskey(k) => Some(k.public_key().public_bytes().to_vec()),
            Anchor::Ds(_) => None,
        })
        .collect();
    (ds, keys)
}

/// Why no DS of `zone` can be used: only unsupported algorithms, or only digests.
fn unsupported(zone: &Name, ds: &[DS]) -> Security {
    let algorithms: Vec<u8> = ds
        .iter()
        .map(|d| u8::from(d.algorithm()))
        .filter(|a| !algorithm_supported(*a))
        .collect();
    if !algorithms.is_empty() {
        return insecure(InsecureReason::UnsupportedAlgorithm {
            zone: zone.to_string(),
            algorithms,
        });
    }
    let digest_types = ds.iter().map(|d| u8::from(d.digest_type())).collect();
    insecure(InsecureReason::UnsupportedDigest {
        zone: zone.to_string(),
        digest_types,
    })
}

/// Whether a DS of `usable` with `key`'s tag and algorithm has its digest (RFC 4035 §5.2),
/// each digest paid from `budget`; a DS whose digest differs is noted in `mismatch`.
fn ds_vouches(
    zone: &Name,
    tag: u16,
    key: &DNSKEY,
    usable: &[&DS],
    budget: &mut VerificationBudget,
    mismatch: &mut Option<u16>,
) -> Result<bool, BogusReason> {
    let algorithm = u8::from(key.public_key().algorithm());
    for ds in usable
        .iter()
        .filter(|d| d.key_tag() == tag && u8::from(d.algorithm()) == algorithm)
    {
        if !budget.spend() {
            return Err(BogusReason::BudgetExhausted {
                work: BudgetWork::DsDigests {
                    zone: zone.to_string(),
                },
            });
        }
        match ds_matches(zone, key, ds) {
            DsMatch::Match => return Ok(true),
            DsMatch::Mismatch => *mismatch = Some(ds.key_tag()),
            DsMatch::UnsupportedDigest | DsMatch::WrongKey => {}
        }
    }
    Ok(false)
}

/// The DNSKEYs a DS (or an anchored key) vouches for, or why none is. Each DS digest
/// computed is paid for from `budget` (a DNSKEY set of hundreds of keys sharing one tag
/// would otherwise cost a digest each, outside any limit).
fn trusted_keys(
    zone: &Name,
    published: &KeySet,
    usable: &[&DS],
    anchored_keys: &[Vec<u8>],
    budget: &mut VerificationBudget,
) -> Result<KeySet, BogusReason> {
    let mut mismatch = None;
    let mut trusted: Vec<Record> = Vec::new();
    for (tag, key) in published.iter() {
        let anchored = anchored_keys
            .iter()
            .any(|k| k.as_slice() == key.public_key().public_bytes());
        if anchored || ds_vouches(zone, tag, key, usable, budget, &mut mismatch)? {
            trusted.push(Record::from_rdata(
                zone.clone(),
                0,
                RData::DNSSEC(DNSSECRData::DNSKEY(key.clone())),
            ));
        }
    }
    if !trusted.is_empty() {
        return Ok(KeySet::new(&trusted, zone));
    }
    if let Some(key_tag) = mismatch {
        return Err(BogusReason::DsDigestMismatch {
            zone: zone.to_string(),
            key_tag,
        });
    }
    let dnskeys = published.iter().map(|(key_tag, key)| KeyId {
        key_tag,
        algorithm: u8::from(key.public_key().algorithm()),
    });
    Err(BogusReason::DnskeyMissing {
        zone: zone.to_string(),
        keys: KeysSeen {
            ds: key_ids(usable),
            dnskeys: Some(dnskeys.collect()),
        },
    })
}

/// The zone above the cut `zone` that denied its DS: the SOA owner of the denial, else the
/// zone the answer came from, else the cut's parent name.
fn parent_of_cut(zone: &Name, soa: Option<&Record>, evidence: &Evidence) -> Name {
    let above = |name: &Name| name != zone && name.zone_of(zone);
    soa.map(|s| s.name.to_lowercase())
        .filter(|name| above(name))
        .or_else(|| evidence.zone.clone().filter(|name| above(name)))
        .unwrap_or_else(|| zone.base_name())
}

/// A cut no referral showed, "proven" unsigned only by an opt-out span or an NSEC3 chain
/// too costly to check: neither names it a delegation, so the denial does not hold.
fn cut_not_shown(zone: &Name, parent: &Name, verdict: &DenialVerdict) -> Security {
    let fault = Fault::CutNotShown {
        zone: zone.clone(),
        parent: parent.clone(),
    };
    let proof = match verdict {
        DenialVerdict::OptOut { proof } => proof.clone(),
        _ => Proof::default(),
    };
    bogus(BogusReason::DenialFailed {
        name: zone.to_string(),
        denial: Box::new(FailedProof::bogus(&proof, &fault)),
    })
}

/// The key tag and algorithm each DS names.
fn key_ids(ds: &[&DS]) -> Vec<KeyId> {
    let id = |d: &&DS| KeyId {
        key_tag: d.key_tag(),
        algorithm: u8::from(d.algorithm()),
    };
    ds.iter().map(id).collect()
}
