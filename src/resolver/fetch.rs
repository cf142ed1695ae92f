//! The resolver as the validator sees it: [`Recursor`] implements [`Fetch`] (lookups from
//! the cache or by iteration, zone cuts from the delegation cache, verdicts written back to
//! the record and negative caches), and the query context [`Ctx`] implements [`Work`].
//!
//! The arrow runs one way: `resolver` depends on `dnssec`, and `dnssec` knows nothing of the
//! resolver but these two traits.

use hickory_proto::rr::{Name, Record, RecordType};

use super::budget::Ctx;
use super::cache::Denied;
use super::iterate::{Lookup, Recursor};
use crate::dnssec::denial::HashBudget;
use crate::dnssec::fetch::BoxFuture;
use crate::dnssec::{Denial, Evidence, Fetch, VerificationBudget, Work};
use crate::explain::event::{Event, Limit};
use crate::explain::verdict::Security;

impl Fetch for Recursor {
    type Ctx = Ctx;

    fn lookup<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        name: &'a Name,
        rtype: RecordType,
    ) -> BoxFuture<'a, (Lookup, Evidence)> {
        Box::pin(Recursor::lookup(self, ctx, name, rtype))
    }

    fn closest_cut(&self, name: &Name) -> Option<Name> {
        self.cache
            .closest_delegation(name, self.clock.now())
            .map(|d| d.zone)
    }

    fn settle(&self, rrset: &[Record], security: &Security, until: u64) {
        self.cache.settle(rrset, security, until);
    }

    fn settle_denial(&self, denial: &Denial<'_>, security: &Security, until: u64) {
        let denied = Denied::of(denial.kind, denial.qtype);
        self.cache.settle_negative(
            denial.name,
            denied,
            denial.soa,
            denial.evidence,
            security,
            until,
        );
    }
}

impl Work for Ctx {
    fn record(&mut self, event: Event) {
        Ctx::record(self, event);
    }

    fn hit(&mut self, limit: Limit, value: u64) {
        Ctx::hit(self, limit, value);
    }

    fn signatures(&mut self) -> &mut VerificationBudget {
        &mut self.signatures
    }

    fn hashes(&mut self) -> &mut HashBudget {
        &mut self.hashes
    }

    fn depth(&mut self) -> &mut u8 {
        &mut self.depth
    }

    fn bound_validity(&mut self, until: u64) {
        Ctx::bound_validity(self, until);
    }
}
