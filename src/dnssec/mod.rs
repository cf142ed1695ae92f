//! The DNSSEC validator's pure parts: signature checks that return counters, DS matching,
//! the algorithms whydns validates, and trust anchors.
//!
//! RFCs: 4033–4035, 5011 (revocation), 5702, 6605, 8080, 8624, 4509; RFC 7958 for the root
//! anchors. The verdicts these produce ([`crate::explain::verdict`]) are the explanation's
//! vocabulary, so they live in `explain`.
//!
//! # Limitations
//! Nothing here fetches records or reads the clock: the resolver (`resolver::validate`,
//! `resolver::chain`) fetches and supplies `now`.

pub mod anchor;
pub mod budget;
pub mod crypto;
pub mod denial;
pub mod ds;
pub mod rrsig;

pub use anchor::{
    Anchor, AnchorError, AnchorField, AnchorFileProblem, AnchorFormat, AnchorWarning,
    ParsedAnchors, SkipReason, TrustAnchors,
};
pub use budget::{Allowance, Exhausted};
pub use crypto::{algorithm_supported, verify_signature, CryptoFailure};
pub use denial::{
    prove_no_ds, prove_nodata, prove_nxdomain, prove_wildcard_expansion, DenialLimits, HashBudget,
};
pub use ds::{digest_supported, ds_matches, key_tag, strongest_digests, DsMatch};
pub use rrsig::{
    check_signatures, check_signatures_with, signed_data, KeySet, VerificationBudget,
    MAX_KEYS_PER_SIGNATURE, MAX_SIGNATURES_PER_RRSET,
};
