//! The record cache's side of a lookup: answering one name from what is cached (the RRset, a
//! CNAME, a DNAME above the name, a denial), and storing what an upstream lookup learned.
//!
//! RFC 6672 §3.4: a cached DNAME answers every name below it; the CNAME is synthesised again
//! on each hit and never cached on its own, so it cannot outlive, or be separated from, the
//! DNAME (and the DNAME's signatures) that justify it. RFC 8482: an ANY answer is stored
//! RRset by RRset under each RRset's own type, never as one mixed set.

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::budget::Ctx;
use super::cache::{Evidence, NegativeKind};
use super::iterate::{Lookup, Recursor};
use crate::explain::event::{CacheHitKind, Event};

fn hit(ctx: &mut Ctx, qname: &Name, rtype: RecordType, what: CacheHitKind) {
    ctx.record(Event::CacheHit {
        name: qname.clone(),
        rtype: rtype.into(),
        what,
    })
}

/// The CNAME target of a one-record CNAME RRset.
fn cname_target(rrset: &[Record]) -> Option<Name> {
    match rrset.first().map(|r| &r.data) {
        Some(RData::CNAME(target)) => Some(target.0.clone()),
        _ => None,
    }
}

impl Recursor {
    /// `qname`/`qtype` answered from the cache, if it can be.
    pub(super) fn recall(
        &self,
        ctx: &mut Ctx,
        qname: &Name,
        qtype: RecordType,
    ) -> Option<(Lookup, Evidence)> {
        let now = self.clock.now();
        if qtype != RecordType::ANY {
            if let Some((rrset, evidence)) = self.cache.rrset(qname, qtype, now) {
                hit(ctx, qname, qtype, CacheHitKind::Answer);
                let chain = Vec::new();
                return Some((Lookup::Answer { chain, rrset }, evidence));
            }
        }
        if qtype != RecordType::CNAME {
            if let Some((cname, evidence)) = self.cache.rrset(qname, RecordType::CNAME, now) {
                if let Some(target) = cname_target(&cname) {
                    hit(ctx, qname, RecordType::CNAME, CacheHitKind::Alias);
                    let lookup = Lookup::Alias {
                        chain: cname,
                        target,
                    };
                    return Some((lookup, evidence));
                }
            }
        }
        if let Some(found) = self.recall_dname(ctx, qname, now) {
            return Some(found);
        }
        let (kind, soa, evidence) = self.cache.negative(qname, qtype, now)?;
        let chain = Vec::new();
        let lookup = match kind {
            NegativeKind::NxDomain => {
                hit(ctx, qname, qtype, CacheHitKind::NxDomain);
                Lookup::NxDomain { chain, soa }
            }
            NegativeKind::NoData => {
                hit(ctx, qname, qtype, CacheHitKind::NoData);
                Lookup::NoData { chain, soa }
            }
        };
        Some((lookup, evidence))
    }

    /// A DNAME cached above `qname`, with the CNAME it synthesises for it.
    fn recall_dname(&self, ctx: &mut Ctx, qname: &Name, now: u64) -> Option<(Lookup, Evidence)> {
        let (dname, evidence) = self.cache.dname_above(qname, now)?;
        let cname = dname
            .first()
            .and_then(|d| crate::rdata::synthesise_cname(d, qname))?;
        let target = cname_target(std::slice::from_ref(&cname))?;
        hit(ctx, &dname[0].name, RecordType::DNAME, CacheHitKind::Alias);
        let mut chain = dname;
        chain.push(cname);
        Some((Lookup::Alias { chain, target }, evidence))
    }

    /// Stores what an upstream lookup found: the chain's RRsets (not the CNAMEs a DNAME
    /// synthesised), the final RRsets, and a denial under the name it denies.
    pub(super) fn store(
        &self,
        qname: &Name,
        qtype: RecordType,
        lookup: &Lookup,
        evidence: &Evidence,
    ) {
        let now = self.clock.now();
        let store_chain = |chain: &[Record]| {
            let kept: Vec<Record> = chain
                .iter()
                .filter(|r| !synthesised_here(r, chain))
                .cloned()
                .collect();
            self.cache.store_all(&kept, evidence, now);
        };
        let denied_name = |chain: &[Record]| {
            chain
                .iter()
                .rev()
                .find_map(|r| match &r.data {
                    RData::CNAME(t) => Some(t.0.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| qname.clone())
        };
        let negative = |chain: &[Record], kind, soa: &Option<Record>| {
            store_chain(chain);
            self.cache
                .store_negative(&denied_name(chain), qtype, kind, soa.clone(), evidence, now);
        };
        match lookup {
            Lookup::Answer { chain, rrset } => {
                store_chain(chain);
                self.cache.store_all(rrset, evidence, now);
            }
            Lookup::Alias { chain, .. } => store_chain(chain),
            Lookup::NoData { chain, soa } => negative(chain, NegativeKind::NoData, soa),
            Lookup::NxDomain { chain, soa } => negative(chain, NegativeKind::NxDomain, soa),
            Lookup::Failed(_) => {}
        }
    }
}

/// A CNAME that a DNAME of the same chain synthesised (RFC 6672 §2.2).
fn synthesised_here(record: &Record, chain: &[Record]) -> bool {
    record.record_type() == RecordType::CNAME
        && chain
            .iter()
            .filter(|r| r.record_type() == RecordType::DNAME)
            .filter_map(|d| crate::rdata::synthesise_cname(d, &record.name))
            .any(|s| s.data == record.data)
}
