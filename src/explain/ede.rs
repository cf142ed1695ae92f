//! Extended DNS Errors (RFC 8914): the codes whydns emits and their wire form (EDNS option 15:
//! a 16-bit INFO-CODE, then EXTRA-TEXT in UTF-8).
//!
//! The mapping from a failed resolution to codes lives in [`crate::resolver::Failure::ede`],
//! one exhaustive match; docs/ede.md lists every code emitted.

use serde::Serialize;

/// EDNS option code of Extended DNS Errors.
pub const EDE_OPTION: u16 = 15;

/// The INFO-CODEs whydns emits (IANA registry, RFC 8914 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[repr(u16)]
pub enum EdeCode {
    OtherError = 0,
    UnsupportedDnskeyAlgorithm = 1,
    UnsupportedDsDigestType = 2,
    DnssecIndeterminate = 5,
    DnssecBogus = 6,
    SignatureExpired = 7,
    SignatureNotYetValid = 8,
    DnskeyMissing = 9,
    RrsigsMissing = 10,
    NoZoneKeyBitSet = 11,
    NsecMissing = 12,
    Prohibited = 18,
    NotAuthoritative = 20,
    NoReachableAuthority = 22,
    NetworkError = 23,
    SignatureExpiredBeforeValid = 25,
    UnsupportedNsec3Iterations = 27,
}

impl EdeCode {
    /// Every code whydns emits (docs/ede.md must list exactly these; a test checks).
    pub const ALL: [EdeCode; 17] = [
        EdeCode::OtherError,
        EdeCode::UnsupportedDnskeyAlgorithm,
        EdeCode::UnsupportedDsDigestType,
        EdeCode::DnssecIndeterminate,
        EdeCode::DnssecBogus,
        EdeCode::SignatureExpired,
        EdeCode::SignatureNotYetValid,
        EdeCode::DnskeyMissing,
        EdeCode::RrsigsMissing,
        EdeCode::NoZoneKeyBitSet,
        EdeCode::NsecMissing,
        EdeCode::Prohibited,
        EdeCode::NotAuthoritative,
        EdeCode::NoReachableAuthority,
        EdeCode::NetworkError,
        EdeCode::SignatureExpiredBeforeValid,
        EdeCode::UnsupportedNsec3Iterations,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EdeCode::OtherError => "Other Error",
            EdeCode::UnsupportedDnskeyAlgorithm => "Unsupported DNSKEY Algorithm",
            EdeCode::UnsupportedDsDigestType => "Unsupported DS Digest Type",
            EdeCode::DnssecIndeterminate => "DNSSEC Indeterminate",
            EdeCode::DnssecBogus => "DNSSEC Bogus",
            EdeCode::SignatureExpired => "Signature Expired",
            EdeCode::SignatureNotYetValid => "Signature Not Yet Valid",
            EdeCode::DnskeyMissing => "DNSKEY Missing",
            EdeCode::RrsigsMissing => "RRSIGs Missing",
            EdeCode::NoZoneKeyBitSet => "No Zone Key Bit Set",
            EdeCode::NsecMissing => "NSEC Missing",
            EdeCode::Prohibited => "Prohibited",
            EdeCode::NotAuthoritative => "Not Authoritative",
            EdeCode::NoReachableAuthority => "No Reachable Authority",
            EdeCode::NetworkError => "Network Error",
            EdeCode::SignatureExpiredBeforeValid => "Signature Expired before Valid",
            EdeCode::UnsupportedNsec3Iterations => "Unsupported NSEC3 Iterations Value",
        }
    }
}

/// One EDE option: a code and a short, specific EXTRA-TEXT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ede {
    pub code: EdeCode,
    pub text: String,
}

impl Ede {
    pub fn new(code: EdeCode, text: impl Into<String>) -> Ede {
        Ede {
            code,
            text: text.into(),
        }
    }

    /// The option's payload: INFO-CODE then EXTRA-TEXT (RFC 8914 §2).
    pub fn to_option_bytes(&self, with_text: bool) -> Vec<u8> {
        let mut out = (self.code as u16).to_be_bytes().to_vec();
        if with_text {
            out.extend(self.text.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` must hold every variant once: `name` is an exhaustive match, so a new variant
    /// fails to compile until it is named, and then this count fails until `ALL` has it.
    #[test]
    fn all_lists_every_variant_once() {
        let mut names: Vec<&str> = EdeCode::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EdeCode::ALL.len());
        let distinct_codes: std::collections::BTreeSet<u16> =
            EdeCode::ALL.iter().map(|c| *c as u16).collect();
        assert_eq!(distinct_codes.len(), 17);
    }
}
