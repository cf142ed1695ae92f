//! The validator's view of the resolver: a [`Fetch`] looks a name and type up and returns the
//! records with their [`Evidence`] (the RRSIGs over them, the zone whose servers sent them,
//! the NSEC/NSEC3 proofs, verdicts the cache already holds); a [`Work`] is the context of
//! one client query the validator writes its events into and spends its budgets from.
//!
//! The resolver implements both; tests implement them with records signed in memory, so the
//! chain of trust is tested without sockets. RFC 4035 §5 asks a validator to fetch DS and
//! DNSKEY RRsets as it walks down: that is all `Fetch::lookup` is for.
//!
//! Limitations: one lookup is one name and type, no alias following; the validator never
//! asks for more (RFC 4035 §5 needs nothing else).

use std::future::Future;
use std::pin::Pin;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::denial::HashBudget;
use super::VerificationBudget;
use crate::explain::event::{Event, Limit};
use crate::explain::outcome::Failure;
use crate::explain::verdict::Security;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one name lookup (no alias following) ended with.
pub enum Lookup {
    Answer {
        chain: Vec<Record>,
        rrset: Vec<Record>,
    },
    Alias {
        chain: Vec<Record>,
        target: Name,
    },
    NoData {
        chain: Vec<Record>,
        soa: Option<Record>,
    },
    NxDomain {
        chain: Vec<Record>,
        soa: Option<Record>,
    },
    Failed(Failure),
}

/// How the validator reaches records: the resolver, or a fixture in tests.
pub trait Fetch: Sync {
    /// The context of one client query, passed back to every lookup.
    type Ctx: Work;

    /// `name`/`rtype`, from the cache or the network, with its evidence.
    fn lookup<'a>(
        &'a self,
        ctx: &'a mut Self::Ctx,
        name: &'a Name,
        rtype: RecordType,
    ) -> BoxFuture<'a, (Lookup, Evidence)>;

    /// The deepest zone cut known at or above `name` (from referrals seen), if any.
    fn closest_cut(&self, name: &Name) -> Option<Name>;

    /// Writes the verdict on `rrset` back where it came from, held until `until`.
    fn settle(&self, rrset: &[Record], security: &Security, until: u64);

    /// Writes the verdict on a denial of `name` (`kind`, for `qtype`) back where it came from.
    fn settle_denial(&self, denial: &Denial<'_>, security: &Security, until: u64);
}

/// A negative answer being validated: what is denied, and the records that came with it.
pub struct Denial<'a> {
    pub name: &'a Name,
    pub qtype: RecordType,
    pub kind: NegativeKind,
    pub soa: Option<&'a Record>,
    pub evidence: &'a Evidence,
}

/// The context of one client query as the validator uses it: where events go, the budgets
/// it spends, how deep the chain walk is, and how long the answer stays trustworthy.
pub trait Work: Send {
    /// Writes one event to the trace (at the current depth).
    fn record(&mut self, event: Event);
    /// Records that `limit` (set to `value`) stopped the work.
    fn hit(&mut self, limit: Limit, value: u64);
    /// Signature verifications left for this query (KeyTrap).
    fn signatures(&mut self) -> &mut VerificationBudget;
    /// NSEC3 hashes left for this query.
    fn hashes(&mut self) -> &mut HashBudget;
    /// How deep the walk is; the validator raises it while establishing a zone's keys.
    fn depth(&mut self) -> &mut u8;
    /// Lowers the time the validated answer stays trustworthy to `until`.
    fn bound_validity(&mut self, until: u64);
}

/// How long bogus or indeterminate data (and the verdict that says so) is kept: RFC 9520 §3.2
/// asks for at least 1 second and at most 5 minutes; 60 s is unbound's `val-bogus-ttl`.
pub const BOGUS_TTL: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeKind {
    NxDomain,
    NoData,
}

/// Splits records into RRsets (same owner and type), keeping their order.
pub fn rrsets(records: &[Record]) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    for r in records {
        match sets
            .iter_mut()
            .find(|s| s[0].name == r.name && s[0].record_type() == r.record_type())
        {
            Some(set) => set.push(r.clone()),
            None => sets.push(vec![r.clone()]),
        }
    }
    sets
}

/// What a validator needs besides the records: the zone that served them, the DNSSEC
/// records that came with them (RRSIGs over them; NSEC/NSEC3 proofs and their RRSIGs), and
/// the verdicts the cache already holds for them.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The zone whose servers answered: the cut the data was received under.
    pub zone: Option<Name>,
    pub dnssec: Vec<Record>,
    /// Verdicts of RRsets served from the cache, by owner and type, with when the entry
    /// expires (the verdict holds no longer).
    pub settled: Vec<(Name, RecordType, Security, u64)>,
    /// The verdict on a cached denial.
    pub denial: Option<Security>,
    /// The server answered without AA: its data ranks below authoritative data (RFC 2181
    /// §5.4.1), and never replaces it in the cache.
    pub non_authoritative: bool,
}

impl Evidence {
    /// The RRSIGs over `owner`/`rtype` among the evidence.
    pub fn signatures_over(&self, owner: &Name, rtype: RecordType) -> Vec<Record> {
        self.dnssec
            .iter()
            .filter(|r| &r.name == owner)
            .filter(|r| {
                matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(sig))
                    if sig.input().type_covered == rtype)
            })
            .cloned()
            .collect()
    }

    /// The verdict the cache holds for `owner`/`rtype`, if any, and until when.
    pub fn settled(&self, owner: &Name, rtype: RecordType) -> Option<(&Security, u64)> {
        self.settled
            .iter()
            .find(|(n, t, _, _)| n == owner && *t == rtype)
            .map(|(_, _, s, until)| (s, *until))
    }

    /// NSEC/NSEC3 records and the RRSIGs over them.
    pub fn proofs(&self) -> impl Iterator<Item = &Record> {
        self.dnssec.iter().filter(|r| is_proof(r))
    }
}

/// An NSEC or NSEC3 record, or an RRSIG over one.
pub fn is_proof(record: &Record) -> bool {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
            matches!(
                sig.input().type_covered,
                RecordType::NSEC | RecordType::NSEC3
            )
        }
        _ => matches!(record.record_type(), RecordType::NSEC | RecordType::NSEC3),
    }
}

/// Whether an RRSIG among `sigs` shows a wildcard expansion of `owner` (RFC 4035 §5.3.2:
/// its Labels field is below the owner's label count).
pub fn is_wildcard_expansion(sigs: &[Record], owner: &Name) -> bool {
    sigs.iter().any(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().num_labels < owner.num_labels(),
        _ => false,
    })
}
