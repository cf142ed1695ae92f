//! Countdowns of expensive operations: signature verifications and DS digests (KeyTrap,
//! CVE-2023-50387) and NSEC3 hashes (CVE-2023-50868).
//!
//! [`WorkBudget`] is what one client query may still cause, shared by every check the query
//! makes, so a hostile zone cannot multiply the work by splitting it. [`Allowance`] is what
//! the whole resolver may spend per second, shared by every query, so a flood of KeyTrap-style
//! queries, each within its own budget, cannot starve the others: when it is spent, checks
//! fail at once and the answer says so.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Operations the whole resolver may spend per second, refilled continuously (a token
/// bucket holding at most one second's worth).
#[derive(Debug)]
pub struct Allowance {
    per_second: u32,
    state: Mutex<(f64, Instant)>,
}

impl Allowance {
    pub fn new(per_second: u32) -> Arc<Allowance> {
        Arc::new(Allowance {
            per_second,
            state: Mutex::new((f64::from(per_second), Instant::now())),
        })
    }

    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes one operation; false when the second's allowance is spent.
    pub fn take(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let rate = f64::from(self.per_second);
        let refilled = state.0 + now.duration_since(state.1).as_secs_f64() * rate;
        state.1 = now;
        if refilled >= 1.0 {
            state.0 = refilled.min(rate) - 1.0;
            true
        } else {
            state.0 = refilled;
            false
        }
    }
}

/// What ran out first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// This query's own budget.
    Query,
    /// The resolver's allowance per second.
    Resolver,
}

/// Operations still allowed for one client query.
#[derive(Debug, Clone)]
pub struct WorkBudget {
    remaining: u32,
    allowance: Option<Arc<Allowance>>,
    exhausted: Option<Exhausted>,
}

impl PartialEq for WorkBudget {
    fn eq(&self, other: &Self) -> bool {
        self.remaining == other.remaining && self.exhausted == other.exhausted
    }
}

impl Eq for WorkBudget {}

impl WorkBudget {
    pub fn new(operations: u32) -> Self {
        Self {
            remaining: operations,
            allowance: None,
            exhausted: None,
        }
    }

    /// A budget whose every operation is also taken from the resolver's `allowance`.
    pub fn shared(operations: u32, allowance: Arc<Allowance>) -> Self {
        Self {
            allowance: Some(allowance),
            ..Self::new(operations)
        }
    }

    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// What ran out, if anything did.
    pub fn exhausted(&self) -> Option<Exhausted> {
        self.exhausted
    }

    /// The resolver's allowance per second, if this budget draws on one.
    pub fn allowance_per_second(&self) -> Option<u32> {
        self.allowance.as_ref().map(|a| a.per_second())
    }

    /// Takes one operation from the budget (and the resolver's allowance); false when
    /// either is spent.
    pub(crate) fn spend(&mut self) -> bool {
        let Some(left) = self.remaining.checked_sub(1) else {
            self.exhausted.get_or_insert(Exhausted::Query);
            return false;
        };
        if let Some(allowance) = &self.allowance {
            if !allowance.take() {
                self.exhausted.get_or_insert(Exhausted::Resolver);
                return false;
            }
        }
        self.remaining = left;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_budget_and_the_resolver_allowance_both_bound_the_work() {
        let mut budget = WorkBudget::new(2);
        assert!(budget.spend() && budget.spend() && !budget.spend());
        assert_eq!(budget.exhausted(), Some(Exhausted::Query));

        let allowance = Allowance::new(3);
        let mut first = WorkBudget::shared(10, allowance.clone());
        let mut second = WorkBudget::shared(10, allowance);
        assert!(first.spend() && first.spend());
        assert!(
            second.spend(),
            "the third operation of the second is allowed"
        );
        assert!(
            !second.spend(),
            "the resolver's allowance is spent for everyone"
        );
        assert_eq!(second.exhausted(), Some(Exhausted::Resolver));
        assert_eq!(second.remaining(), 9);
    }
}
