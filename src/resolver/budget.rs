//! The context of one client query: its trace, the work it may still cause, its deadline,
//! and the chain of zones whose servers are being looked up (to name a circular dependency
//! instead of running into a depth limit).

use std::sync::Arc;
use std::time::Instant;

use hickory_proto::rr::Name;

use crate::config::Limits;
use crate::dnssec::denial::HashBudget;
use crate::dnssec::{Allowance, VerificationBudget};
use crate::explain::event::{CycleStep, Event, Limit};
use crate::explain::Trace;

pub struct Ctx {
    pub trace: Trace,
    pub limits: Limits,
    pub queries_sent: u32,
    pub depth: u8,
    deadline: Instant,
    /// (zone, NS name) for every sub-resolution in progress, outermost first.
    pub resolving: Vec<(Name, Name)>,
    /// Signature verifications left for this query (KeyTrap).
    pub signatures: VerificationBudget,
    /// NSEC3 hashes left for this query.
    pub hashes: HashBudget,
    /// When the validated data of this query stops being trustworthy (seconds since the
    /// epoch): the earliest signature expiration, Original TTL or key expiry met, so the
    /// answer is never cached past it (RFC 4035 §5.3.3).
    pub valid_until: u64,
}

impl Ctx {
    /// A fresh context; its signature checks also draw on the resolver's `allowance`.
    pub fn new(trace: Trace, limits: Limits, allowance: Arc<Allowance>) -> Ctx {
        let deadline = Instant::now() + std::time::Duration::from_millis(limits.deadline_ms);
        Ctx {
            trace,
            signatures: VerificationBudget::shared(limits.signature_checks, allowance),
            hashes: HashBudget::new(limits.nsec3_hashes),
            limits,
            queries_sent: 0,
            depth: 0,
            deadline,
            resolving: Vec::new(),
            valid_until: u64::MAX,
        }
    }

    /// Lowers the time the answer stays trustworthy to `until`.
    pub fn bound_validity(&mut self, until: u64) {
        self.valid_until = self.valid_until.min(until);
    }

    pub fn record(&mut self, event: Event) {
        self.trace.record(self.depth, event);
    }

    /// Takes one upstream query from the budget, or says which limit stops it.
    pub fn spend_query(&mut self) -> Result<(), Limit> {
        if Instant::now() >= self.deadline {
            return Err(self.hit(Limit::Deadline, self.limits.deadline_ms));
        }
        if self.queries_sent >= self.limits.upstream_queries {
            return Err(self.hit(Limit::UpstreamQueries, self.limits.upstream_queries as u64));
        }
        self.queries_sent += 1;
        Ok(())
    }

    pub fn hit(&mut self, limit: Limit, value: u64) -> Limit {
        self.record(Event::LimitReached { limit, value });
        limit
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// If looking up the servers of `zone` is already in progress further up, the cycle
    /// from `zone` round to where it began.
    pub fn cycle_through(&self, zone: &Name) -> Option<Vec<CycleStep>> {
        let start = self.resolving.iter().position(|(z, _)| z == zone)?;
        let path = self.resolving[start..]
            .iter()
            .map(|(zone, ns)| CycleStep {
                zone: zone.clone(),
                ns: ns.clone(),
            })
            .collect();
        Some(path)
    }
}
