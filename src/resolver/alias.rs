//! Following aliases (RFC 1034 §3.6.2, RFC 6672): one lookup per name of a CNAME/DNAME
//! chain, each step validated when asked, until an answer, a denial, a failure, a loop or
//! `limits.cname_chain`. What the steps collected (records for the client, the DNSSEC records
//! a DO client sees, the combined verdict) is a [`Chained`].
//!
//! RFC 6672 §4: a DNAME whose target is at or below its owner rewrites every name it
//! synthesises again; the chain is cut after the first CNAME that follows it.

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::budget::Ctx;
use super::cache::{is_wildcard_expansion, Evidence};
use super::iterate::{Lookup, Recursor};
use crate::dnssec::fetch::BoxFuture;
use crate::explain::event::{Event, Limit};
use crate::explain::outcome::{Failure, Outcome};
use crate::explain::verdict::Security;

/// What a resolution collected along its alias chain.
pub(super) struct Chained {
    pub(super) outcome: Outcome,
    pub(super) answers: Vec<Record>,
    pub(super) authority: Vec<Record>,
    /// RRSIGs over the answer records (for DO clients).
    pub(super) signatures: Vec<Record>,
    /// NSEC/NSEC3 proofs and their RRSIGs, and the RRSIG over the SOA (for DO clients).
    pub(super) proofs: Vec<Record>,
    /// None: nothing was validated (validation off, or the lookup failed).
    pub(super) security: Option<Security>,
}

impl Default for Chained {
    fn default() -> Self {
        Chained {
            outcome: Outcome::NoData,
            answers: Vec::new(),
            authority: Vec::new(),
            signatures: Vec::new(),
            proofs: Vec::new(),
            security: None,
        }
    }
}

impl Chained {
    /// Keeps the DNSSEC records a DO client should see with this step's records.
    fn collect_dnssec(&mut self, lookup: &Lookup, evidence: &Evidence) {
        let (records, negative): (Vec<&Record>, bool) = match lookup {
            Lookup::Answer { chain, rrset } => (chain.iter().chain(rrset).collect(), false),
            Lookup::Alias { chain, .. } => (chain.iter().collect(), false),
            Lookup::NoData { chain, soa } | Lookup::NxDomain { chain, soa } => {
                let mut all: Vec<&Record> = chain.iter().collect();
                all.extend(soa.iter());
                (all, true)
            }
            Lookup::Failed(_) => return,
        };
        let mut wildcard = false;
        for record in records {
            let sigs = evidence.signatures_over(&record.name, record.record_type());
            wildcard |= is_wildcard_expansion(&sigs, &record.name);
            for sig in sigs {
                let target = if record.record_type() == RecordType::SOA {
                    &mut self.proofs
                } else {
                    &mut self.signatures
                };
                if !target.contains(&sig) {
                    target.push(sig);
                }
            }
        }
        // A denial, or a wildcard expansion (RFC 4035 §3.1.3.3), travels with its proof.
        if negative || wildcard {
            for record in evidence.proofs() {
                if !self.proofs.contains(record) {
                    self.proofs.push(record.clone());
                }
            }
        }
    }
}

impl Chained {
    /// Takes one lookup's records; the alias target when the chain goes on.
    fn take(&mut self, ctx: &mut Ctx, lookup: Lookup, seen: &mut Vec<Name>) -> Option<Name> {
        match lookup {
            Lookup::Answer { mut chain, rrset } => {
                // Data past a DNAME loop is what the DNAME hides: not the answer.
                let looped = cut_dname_loop(&mut chain);
                if let Some((owner, target)) = &looped {
                    ctx.record(Event::DnameLoop {
                        owner: owner.clone(),
                        target: target.clone(),
                    });
                }
                self.answers.extend(chain);
                if looped.is_none() {
                    self.answers.extend(rrset);
                }
                self.outcome = Outcome::Answer;
                None
            }
            Lookup::NoData { chain, soa } => {
                self.answers.extend(chain);
                self.authority.extend(soa);
                self.outcome = Outcome::NoData;
                None
            }
            Lookup::NxDomain { chain, soa } => {
                self.answers.extend(chain);
                self.authority.extend(soa);
                self.outcome = Outcome::NxDomain;
                None
            }
            Lookup::Failed(failure) => {
                self.outcome = Outcome::Failed { failure };
                None
            }
            Lookup::Alias { chain, target } => self.take_alias(ctx, chain, target, seen),
        }
    }

    /// An alias step: the target to follow, or the end of the chain (a DNAME loop, or a
    /// target already met).
    fn take_alias(
        &mut self,
        ctx: &mut Ctx,
        mut chain: Vec<Record>,
        target: Name,
        seen: &mut Vec<Name>,
    ) -> Option<Name> {
        if let Some((owner, looped)) = cut_dname_loop(&mut chain) {
            ctx.record(Event::DnameLoop {
                owner: owner.clone(),
                target: looped.clone(),
            });
            self.answers.extend(chain);
            self.outcome = Outcome::Answer;
            return None;
        }
        self.answers.extend(chain);
        let target = target.to_lowercase();
        if seen.contains(&target) {
            seen.push(target);
            let chain = seen.iter().map(|n| n.to_string()).collect();
            self.outcome = Outcome::Failed {
                failure: Failure::AliasLoop { chain },
            };
            return None;
        }
        seen.push(target.clone());
        Some(target)
    }
}

impl Recursor {
    /// Resolves `name`, following CNAME/DNAME chains (RFC 1034 §3.6.2) with loop detection,
    /// validating each step when `validate`.
    pub(super) fn resolve_chain<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        name: Name,
        rtype: RecordType,
        validate: bool,
    ) -> BoxFuture<'a, Chained> {
        Box::pin(async move {
            let mut out = Chained::default();
            let mut current = name;
            let mut seen = vec![current.clone()];
            for _ in 0..=ctx.limits.cname_chain {
                let (lookup, evidence) = self.lookup(ctx, &current, rtype).await;
                record_chain(ctx, &lookup);
                if validate {
                    let question = (&current, rtype);
                    let step = self
                        .validator
                        .validate(self, ctx, question, &lookup, &evidence)
                        .await;
                    out.security = match (out.security.take(), step) {
                        (Some(so_far), Some(step)) => Some(crate::dnssec::combine(so_far, step)),
                        (so_far, step) => step.or(so_far),
                    };
                }
                out.collect_dnssec(&lookup, &evidence);
                match out.take(ctx, lookup, &mut seen) {
                    Some(target) => current = target,
                    None => return out,
                }
            }
            let limit = ctx.hit(Limit::CnameChain, ctx.limits.cname_chain as u64);
            out.outcome = Outcome::Failed {
                failure: Failure::LimitReached { limit },
            };
            out
        })
    }
}

/// A DNAME in `chain` whose target is at or below its owner rewrites every name it
/// synthesises again (RFC 6672 §4): the chain is cut after the first CNAME that follows it.
/// Returns the DNAME's owner and target when it did so.
fn cut_dname_loop(chain: &mut Vec<Record>) -> Option<(Name, Name)> {
    let at = chain.iter().position(|r| {
        crate::rdata::dname_target(r).is_some_and(|target| r.name.zone_of(&target))
    })?;
    let owner = chain[at].name.clone();
    let target = crate::rdata::dname_target(&chain[at])?;
    let cname = chain[at + 1..]
        .iter()
        .position(|r| r.record_type() == RecordType::CNAME)
        .map(|i| at + 1 + i)?;
    chain.truncate(cname + 1);
    Some((owner, target))
}

/// Records each alias a lookup went through (CNAMEs, and DNAMEs with their synthesis).
fn record_chain(ctx: &mut Ctx, lookup: &Lookup) {
    let chain = match lookup {
        Lookup::Answer { chain, .. }
        | Lookup::Alias { chain, .. }
        | Lookup::NoData { chain, .. }
        | Lookup::NxDomain { chain, .. } => chain,
        Lookup::Failed(_) => return,
    };
    for record in chain {
        match &record.data {
            RData::CNAME(t) => ctx.record(Event::CnameFollowed {
                from: record.name.clone(),
                to: t.0.clone(),
            }),
            // A DNAME whose target does not decode was never used: nothing to record.
            _ if record.record_type() == RecordType::DNAME => {
                if let Some(target) = crate::rdata::dname_target(record) {
                    ctx.record(Event::DnameFollowed {
                        owner: record.name.clone(),
                        target,
                    });
                }
            }
            _ => {}
        }
    }
}
