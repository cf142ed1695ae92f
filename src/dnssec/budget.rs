//! A countdown of expensive operations one client query may still cause: signature
//! verifications (KeyTrap, CVE-2023-50387) and NSEC3 hashes (CVE-2023-50868). Shared by
//! every check the query makes, so a hostile zone cannot multiply the work by splitting it.

/// Operations still allowed for one client query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkBudget {
    remaining: u32,
}

impl WorkBudget {
    pub fn new(operations: u32) -> Self {
        Self {
            remaining: operations,
        }
    }

    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Takes one operation from the budget; false when none is left.
    pub(crate) fn spend(&mut self) -> bool {
        match self.remaining.checked_sub(1) {
            Some(left) => {
                self.remaining = left;
                true
            }
            None => false,
        }
    }
}
