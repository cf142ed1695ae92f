//! The chain of trust, walked on demand: from a trust anchor down through DS -> DNSKEY at each
//! zone cut (RFC 4035 §5), then the answer's RRsets and denial proofs against the keys of the
//! zone that signed them. Key verdicts are cached per zone *with their reason*, so a later
//! query against a bogus or insecure zone explains itself without fetching again.
//!
//! The checks themselves are the pure functions of `crate::dnssec` (signatures with counters,
//! DS matching, NSEC/NSEC3 proofs); this file only fetches (through the iterator's `lookup`)
//! and decides. RFC 4035 §5.2 / RFC 6840 §5.2: a zone whose DS set lists only algorithms or
//! digests whydns does not validate is insecure, not bogus.
//!
//! Limitations: no negative trust anchors; keys are not re-validated until their cache entry
//! expires; NS-address sub-resolutions are not validated (as in unbound).

use std::future::Future;
use std::pin::Pin;

use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::dnssec::PublicKey;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::budget::Ctx;
use super::cache::{rrsets, Evidence};
use super::iterate::{Iterator, Lookup};
use crate::dnssec::{
    algorithm_supported, check_signatures, denial, digest_supported, ds_matches, Anchor,
    BogusReason, DsMatch, InsecureReason, Security,
};
use crate::explain::event::{Event, Limit};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a failed or insecure key verdict is cached (RFC 9520 asks for at least 1 s and
/// at most 5 minutes of failure caching).
const FAILED_KEYS_TTL: u64 = 60;

/// What is known about a zone's keys.
#[derive(Debug, Clone)]
pub(super) enum KeyVerdict {
    /// The zone's DNSKEY RRset, authenticated.
    Secure(Vec<Record>),
    NotSecure(Security),
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn bogus(reason: BogusReason) -> Security {
    Security::Bogus { reason }
}

fn insecure(reason: InsecureReason) -> Security {
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

fn signer_of(sigs: &[Record]) -> Option<Name> {
    sigs.iter().find_map(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().signer_name.to_lowercase()),
        _ => None,
    })
}

impl Iterator {
    fn now32(&self) -> u32 {
        self.clock.now() as u32
    }

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
                let mut security = self.validate_rrsets(ctx, chain, evidence).await;
                let denied = chain
                    .iter()
                    .rev()
                    .find_map(|r| match &r.data {
                        RData::CNAME(t) => Some(t.0.to_lowercase()),
                        _ => None,
                    })
                    .unwrap_or_else(|| qname.clone());
                let nxdomain = matches!(lookup, Lookup::NxDomain { .. });
                let denial = self
                    .validate_denial(ctx, &denied, qtype, nxdomain, soa.as_ref(), evidence)
                    .await;
                security = combine(security, denial);
                security
            }
        };
        Some(security)
    }

    /// Each RRset against the keys of its signer (or of the zone that served it).
    async fn validate_rrsets(
        &self,
        ctx: &mut Ctx,
        records: &[Record],
        evidence: &Evidence,
    ) -> Security {
        let mut security = Security::Secure;
        let dname_owners: Vec<Name> = records
            .iter()
            .filter(|r| r.record_type() == RecordType::DNAME)
            .map(|r| r.name.to_lowercase())
            .collect();
        for set in rrsets(records) {
            let owner = set[0].name.to_lowercase();
            let rtype = set[0].record_type();
            let sigs = evidence.signatures_over(&set[0].name, rtype);
            // RFC 6672 §5.3.1: a CNAME synthesised from a signed DNAME carries no signature.
            if rtype == RecordType::CNAME
                && sigs.is_empty()
                && dname_owners
                    .iter()
                    .any(|d| d.zone_of(&owner) && *d != owner)
            {
                continue;
            }
            let Some(zone) = signer_of(&sigs).or_else(|| evidence.zone.clone()) else {
                security = combine(
                    security,
                    Security::Indeterminate {
                        detail: format!("no zone known for {owner} {rtype}"),
                    },
                );
                continue;
            };
            let keys = match self.zone_keys(ctx, zone.clone()).await {
                KeyVerdict::Secure(keys) => keys,
                KeyVerdict::NotSecure(verdict) => {
                    security = combine(security, verdict);
                    continue;
                }
            };
            let now = self.now32();
            let check = check_signatures(&set, &sigs, &keys, &zone, now, &mut ctx.signatures);
            ctx.record(Event::SignaturesChecked {
                owner: owner.to_string(),
                rtype: rtype.to_string(),
                zone: zone.to_string(),
                valid: check.is_valid(),
                check: to_json(&check),
            });
            if check.budget_exhausted {
                let limit = ctx.limits.signature_checks;
                ctx.hit(Limit::SignatureChecks, u64::from(limit));
            }
            if !check.is_valid() {
                let reason =
                    BogusReason::from_check(&owner.to_string(), &rtype.to_string(), &check);
                security = combine(security, bogus(reason));
                continue;
            }
            if let Some(source) = &check.wildcard {
                // RFC 4035 §5.3.4: a wildcard expansion needs proof that the name itself
                // does not exist.
                let proofs = self.authenticated_proofs(ctx, &zone, &keys, evidence);
                let proofs = match proofs {
                    Ok(p) => p,
                    Err(reason) => {
                        security = combine(security, bogus(reason));
                        continue;
                    }
                };
                let limits = self.denial_limits();
                let verdict = denial::prove_wildcard_expansion(
                    &owner,
                    source,
                    &zone,
                    &proofs,
                    &limits,
                    &mut ctx.hashes,
                );
                let judged =
                    self.judge_denial(ctx, &owner, "wildcard", &zone, proofs.is_empty(), &verdict);
                security = combine(security, judged);
            }
        }
        security
    }

    fn denial_limits(&self) -> denial::DenialLimits {
        denial::DenialLimits {
            max_iterations: self.config.limits.nsec3_max_iterations,
            servfail_iterations: self.config.limits.nsec3_servfail_iterations,
            max_hashes: self.config.limits.nsec3_hashes,
        }
    }

    /// NSEC/NSEC3 records of the evidence whose signatures validate with `keys`.
    fn authenticated_proofs(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        keys: &[Record],
        evidence: &Evidence,
    ) -> Result<Vec<Record>, BogusReason> {
        let proofs: Vec<Record> = evidence
            .dnssec
            .iter()
            .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
            .cloned()
            .collect();
        for set in rrsets(&proofs) {
            let rtype = set[0].record_type();
            let sigs = evidence.signatures_over(&set[0].name, rtype);
            let check =
                check_signatures(&set, &sigs, keys, zone, self.now32(), &mut ctx.signatures);
            ctx.record(Event::SignaturesChecked {
                owner: set[0].name.to_string(),
                rtype: rtype.to_string(),
                zone: zone.to_string(),
                valid: check.is_valid(),
                check: to_json(&check),
            });
            if !check.is_valid() {
                return Err(BogusReason::from_check(
                    &set[0].name.to_string(),
                    &rtype.to_string(),
                    &check,
                ));
            }
        }
        Ok(proofs)
    }

    /// A negative answer: the zone's keys, then authenticated NSEC/NSEC3 that prove it.
    async fn validate_denial(
        &self,
        ctx: &mut Ctx,
        name: &Name,
        qtype: RecordType,
        nxdomain: bool,
        soa: Option<&Record>,
        evidence: &Evidence,
    ) -> Security {
        let zone = soa
            .map(|s| s.name.to_lowercase())
            .or_else(|| evidence.zone.clone())
            .unwrap_or_else(Name::root);
        let keys = match self.zone_keys(ctx, zone.clone()).await {
            KeyVerdict::Secure(keys) => keys,
            KeyVerdict::NotSecure(verdict) => return verdict,
        };
        if let Some(soa) = soa {
            let sigs = evidence.signatures_over(&soa.name, RecordType::SOA);
            let check = check_signatures(
                std::slice::from_ref(soa),
                &sigs,
                &keys,
                &zone,
                self.now32(),
                &mut ctx.signatures,
            );
            if !check.is_valid() {
                let reason = BogusReason::from_check(&soa.name.to_string(), "SOA", &check);
                return bogus(reason);
            }
        }
        let proofs = match self.authenticated_proofs(ctx, &zone, &keys, evidence) {
            Ok(p) => p,
            Err(reason) => return bogus(reason),
        };
        let limits = self.denial_limits();
        let (claim, verdict) = if nxdomain {
            (
                "NXDOMAIN",
                denial::prove_nxdomain(name, &zone, &proofs, &limits, &mut ctx.hashes),
            )
        } else {
            (
                "NODATA",
                denial::prove_nodata(name, qtype, &zone, &proofs, &limits, &mut ctx.hashes),
            )
        };
        self.judge_denial(ctx, name, claim, &zone, proofs.is_empty(), &verdict)
    }

    fn judge_denial(
        &self,
        ctx: &mut Ctx,
        name: &Name,
        claim: &str,
        zone: &Name,
        no_records: bool,
        verdict: &denial::DenialVerdict,
    ) -> Security {
        ctx.record(Event::DenialChecked {
            name: name.to_string(),
            claim: claim.into(),
            verdict: to_json(verdict),
        });
        let name = name.to_string();
        match verdict {
            denial::DenialVerdict::Proven { .. } => Security::Secure,
            denial::DenialVerdict::OptOut { .. } => insecure(InsecureReason::NoDs {
                zone: zone.to_string(),
            }),
            denial::DenialVerdict::IterationsTooHigh {
                iterations,
                servfail: false,
            } => insecure(InsecureReason::Nsec3Iterations {
                zone: zone.to_string(),
                iterations: *iterations,
            }),
            denial::DenialVerdict::IterationsTooHigh {
                iterations,
                servfail: true,
            } => bogus(BogusReason::Nsec3IterationsRefused {
                zone: zone.to_string(),
                iterations: *iterations,
            }),
            // No NSEC/NSEC3 at all is "missing" (EDE 12); records that fail to prove it are bogus.
            denial::DenialVerdict::Missing { detail } if no_records => {
                bogus(BogusReason::NsecMissing {
                    name,
                    detail: detail.clone(),
                })
            }
            denial::DenialVerdict::Missing { detail } | denial::DenialVerdict::Bogus { detail } => {
                bogus(BogusReason::DenialFailed {
                    name,
                    detail: detail.clone(),
                })
            }
            denial::DenialVerdict::BudgetExhausted => {
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

    /// The authenticated DNSKEY RRset of `zone`, or why there is none (cached either way).
    pub(super) fn zone_keys<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        zone: Name,
    ) -> BoxFuture<'a, KeyVerdict> {
        Box::pin(async move {
            let now = self.clock.now();
            if let Some(verdict) = self.cached_keys(&zone, now) {
                return verdict;
            }
            if ctx.depth >= ctx.limits.sub_resolution_depth.saturating_mul(4) {
                return KeyVerdict::NotSecure(Security::Indeterminate {
                    detail: format!("chain of trust to {zone} too deep"),
                });
            }
            ctx.depth += 1;
            let (verdict, ttl) = self.establish_keys(ctx, &zone).await;
            ctx.depth -= 1;
            let summary = match &verdict {
                KeyVerdict::Secure(keys) => {
                    serde_json::json!({"security": "secure", "keys": keys.len()})
                }
                KeyVerdict::NotSecure(security) => to_json(security),
            };
            ctx.record(Event::ZoneSecurity {
                zone: zone.to_string(),
                security: summary,
            });
            self.keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(zone, (verdict.clone(), now + ttl));
            verdict
        })
    }

    fn cached_keys(&self, zone: &Name, now: u64) -> Option<KeyVerdict> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.get(zone) {
            Some((verdict, expires)) if *expires > now => Some(verdict.clone()),
            Some(_) => {
                keys.pop(zone);
                None
            }
            None => None,
        }
    }

    async fn establish_keys(&self, ctx: &mut Ctx, zone: &Name) -> (KeyVerdict, u64) {
        let not_secure = |s: Security| (KeyVerdict::NotSecure(s), FAILED_KEYS_TTL);
        // RFC 4035 §5: the chain starts at a trust anchor.
        if let Some(anchors) = self.anchors.get(zone) {
            let ds: Vec<DS> = anchors
                .iter()
                .filter_map(|a| match a {
                    Anchor::Ds(ds) => Some(ds.clone()),
                    Anchor::Dnskey(_) => None,
                })
                .collect();
            let anchored_keys: Vec<Vec<u8>> = anchors
                .iter()
                .filter_map(|a| match a {
                    Anchor::Dnskey(k) => Some(k.public_key().public_bytes().to_vec()),
                    Anchor::Ds(_) => None,
                })
                .collect();
            return self.keys_matching(ctx, zone, &ds, &anchored_keys).await;
        }
        if zone.is_root() || self.anchors.closest(zone).is_none() {
            return not_secure(insecure(InsecureReason::NoTrustAnchor));
        }
        let (lookup, evidence) = self.lookup(ctx, zone, RecordType::DS).await;
        match lookup {
            Lookup::Answer { rrset, .. } => {
                let sigs = evidence.signatures_over(zone, RecordType::DS);
                let parent = signer_of(&sigs).unwrap_or_else(|| zone.base_name());
                let parent_keys = match self.zone_keys(ctx, parent.clone()).await {
                    KeyVerdict::Secure(keys) => keys,
                    other => return (other, FAILED_KEYS_TTL),
                };
                let check = check_signatures(
                    &rrset,
                    &sigs,
                    &parent_keys,
                    &parent,
                    self.now32(),
                    &mut ctx.signatures,
                );
                ctx.record(Event::SignaturesChecked {
                    owner: zone.to_string(),
                    rtype: "DS".into(),
                    zone: parent.to_string(),
                    valid: check.is_valid(),
                    check: to_json(&check),
                });
                if !check.is_valid() {
                    return not_secure(bogus(BogusReason::from_check(
                        &zone.to_string(),
                        "DS",
                        &check,
                    )));
                }
                let ds: Vec<DS> = rrset
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
                        _ => None,
                    })
                    .collect();
                self.keys_matching(ctx, zone, &ds, &[]).await
            }
            Lookup::NoData { soa, .. } | Lookup::NxDomain { soa, .. } => {
                // No DS: the parent must prove it (RFC 4035 §5.2), else the delegation is bogus.
                let parent = soa
                    .as_ref()
                    .map(|s| s.name.to_lowercase())
                    .unwrap_or_else(|| zone.base_name());
                let parent_keys = match self.zone_keys(ctx, parent.clone()).await {
                    KeyVerdict::Secure(keys) => keys,
                    other => return (other, FAILED_KEYS_TTL),
                };
                let proofs = match self.authenticated_proofs(ctx, &parent, &parent_keys, &evidence)
                {
                    Ok(p) => p,
                    Err(reason) => return not_secure(bogus(reason)),
                };
                let limits = self.denial_limits();
                let verdict = denial::prove_no_ds(zone, &parent, &proofs, &limits, &mut ctx.hashes);
                let judged =
                    self.judge_denial(ctx, zone, "no DS", &parent, proofs.is_empty(), &verdict);
                match judged {
                    Security::Secure => not_secure(insecure(InsecureReason::NoDs {
                        zone: zone.to_string(),
                    })),
                    other => not_secure(other),
                }
            }
            Lookup::Alias { .. } => not_secure(Security::Indeterminate {
                detail: format!("the DS query for {zone} met an alias"),
            }),
            Lookup::Failed(failure) => not_secure(Security::Indeterminate {
                detail: format!(
                    "the DS of {zone} could not be fetched: {}",
                    failure_text(&failure)
                ),
            }),
        }
    }

    /// Fetches `zone`'s DNSKEY RRset and authenticates it with a key that matches `ds` (or is
    /// one of `anchored_keys`), RFC 4035 §5.2.
    async fn keys_matching(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        ds: &[DS],
        anchored_keys: &[Vec<u8>],
    ) -> (KeyVerdict, u64) {
        let not_secure = |s: Security| (KeyVerdict::NotSecure(s), FAILED_KEYS_TTL);
        let usable: Vec<&DS> = ds
            .iter()
            .filter(|d| {
                algorithm_supported(u8::from(d.algorithm()))
                    && digest_supported(u8::from(d.digest_type()))
            })
            .collect();
        if usable.is_empty() && anchored_keys.is_empty() {
            let algorithms: Vec<u8> = ds
                .iter()
                .map(|d| u8::from(d.algorithm()))
                .filter(|a| !algorithm_supported(*a))
                .collect();
            if !algorithms.is_empty() {
                return not_secure(insecure(InsecureReason::UnsupportedAlgorithm {
                    zone: zone.to_string(),
                    algorithms,
                }));
            }
            let digest_types = ds.iter().map(|d| u8::from(d.digest_type())).collect();
            return not_secure(insecure(InsecureReason::UnsupportedDigest {
                zone: zone.to_string(),
                digest_types,
            }));
        }
        let (lookup, evidence) = self.lookup(ctx, zone, RecordType::DNSKEY).await;
        let Lookup::Answer { rrset: dnskeys, .. } = lookup else {
            return not_secure(bogus(BogusReason::DnskeyMissing {
                zone: zone.to_string(),
                detail: "the zone has no DNSKEY RRset".into(),
            }));
        };
        let mut mismatch = None;
        let trusted: Vec<Record> = dnskeys
            .iter()
            .filter(|r| {
                let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &r.data else {
                    return false;
                };
                if anchored_keys
                    .iter()
                    .any(|k| k.as_slice() == key.public_key().public_bytes())
                {
                    return true;
                }
                usable.iter().any(|d| match ds_matches(zone, key, d) {
                    DsMatch::Match => true,
                    DsMatch::Mismatch => {
                        mismatch = Some(d.key_tag());
                        false
                    }
                    DsMatch::UnsupportedDigest | DsMatch::WrongKey => false,
                })
            })
            .cloned()
            .collect();
        if trusted.is_empty() {
            if let Some(key_tag) = mismatch {
                return not_secure(bogus(BogusReason::DsDigestMismatch {
                    zone: zone.to_string(),
                    key_tag,
                }));
            }
            let tags: Vec<String> = usable
                .iter()
                .map(|d| format!("{}/{}", d.key_tag(), u8::from(d.algorithm())))
                .collect();
            return not_secure(bogus(BogusReason::DnskeyMissing {
                zone: zone.to_string(),
                detail: format!("no DNSKEY matches DS {}", tags.join(", ")),
            }));
        }
        // The DNSKEY RRset must be signed by a key the DS (or anchor) vouches for.
        let sigs = evidence.signatures_over(zone, RecordType::DNSKEY);
        let check = check_signatures(
            &dnskeys,
            &sigs,
            &trusted,
            zone,
            self.now32(),
            &mut ctx.signatures,
        );
        ctx.record(Event::SignaturesChecked {
            owner: zone.to_string(),
            rtype: "DNSKEY".into(),
            zone: zone.to_string(),
            valid: check.is_valid(),
            check: to_json(&check),
        });
        if !check.is_valid() {
            return not_secure(bogus(BogusReason::from_check(
                &zone.to_string(),
                "DNSKEY",
                &check,
            )));
        }
        let ttl = dnskeys.iter().map(|r| r.ttl).min().unwrap_or(0).max(1);
        (KeyVerdict::Secure(dnskeys), u64::from(ttl))
    }
}

fn failure_text(failure: &super::Failure) -> String {
    serde_json::to_value(failure)
        .ok()
        .and_then(|v| v.get("failure").and_then(|f| f.as_str()).map(String::from))
        .unwrap_or_else(|| "failed".into())
}
