//! The DNSSEC validator: the [`Validator`] component (trust anchors, the key-verdict cache,
//! the chain of trust from anchor -> DS -> DNSKEY, RRset and denial validation, signer
//! rules) and its pure parts: signature checks that return counters, DS matching, NSEC/NSEC3
//! proofs, the algorithms whydns validates, and trust-anchor files.
//!
//! RFCs: 4033–4035, 5011 (revocation), 5155, 5702, 6605, 6672 §5.3.1, 8080, 8624, 4509,
//! 9276, 9520; RFC 7958 for the root anchors. The verdicts these produce
//! ([`crate::explain::verdict`]) are the explanation's vocabulary, so they live in `explain`.
//!
//! The validator sees the resolver only through [`Fetch`] (look a name and type up; get the
//! records with their [`Evidence`]) and [`Work`] (the query's trace and budgets), and reads
//! time from a [`crate::clock::Clock`]. This module depends on `explain` and `clock` only,
//! never on `resolver`.
//!
//! # Limitations
//! No negative trust anchors; key verdicts are not re-validated until they expire; the
//! pure checks (`rrsig`, `denial`, `ds`) fetch nothing and take `now` from the caller.

pub mod anchor;
pub mod budget;
mod chain;
pub mod crypto;
pub mod denial;
pub mod ds;
pub mod fetch;
mod keycache;
mod proofs;
pub mod rrsig;
mod validator;
#[cfg(test)]
mod validator_tests;

pub use anchor::{
    Anchor, AnchorError, AnchorField, AnchorFileProblem, AnchorFormat, AnchorWarning,
    ParsedAnchors, SkipReason, TrustAnchors,
};
pub use budget::{Allowance, Exhausted};
pub use chain::KeyVerdict;
pub use crypto::{algorithm_supported, verify_signature, CryptoFailure};
pub use denial::{
    prove_no_ds, prove_nodata, prove_nxdomain, prove_wildcard_expansion, DenialLimits, HashBudget,
};
pub use ds::{digest_supported, ds_matches, key_tag, strongest_digests, DsMatch};
pub use fetch::{Denial, Evidence, Fetch, Lookup, NegativeKind, Work, BOGUS_TTL};
pub use rrsig::{
    check_signatures, check_signatures_with, signed_data, KeySet, VerificationBudget,
    MAX_KEYS_PER_SIGNATURE, MAX_SIGNATURES_PER_RRSET,
};
pub use validator::{combine, Validator, ValidatorLimits};
