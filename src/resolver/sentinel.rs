//! The resolver side of the root key trust anchor sentinel (RFC 8509 §3.2): a question whose
//! first label is `root-key-sentinel-is-ta-<tag>` or `root-key-sentinel-not-ta-<tag>`, for A
//! or AAAA, whose answer validated as secure, is answered SERVFAIL when the resolver's root
//! trust anchors contradict the label (`is-ta` of a key not trusted, `not-ta` of a trusted
//! one), so that a client can learn which root keys its resolver trusts.
//!
//! Applied once, to the finished resolution of the client's question, before the answer
//! cache stores it: a repeated question gets the same answer from the cache.
//!
//! # Limitations
//! - The trusted keys are the root anchors as configured or built in (DS tags and the tags
//!   of DNSKEYs without the REVOKE bit). There is no RFC 5011 state, so no key is held back
//!   as "AddPend".
//! - A tag of five digits above 65535 cannot name a key: such a label is an ordinary name.

use hickory_proto::rr::{Name, RecordType};

use crate::dnssec::TrustAnchors;
use crate::explain::event::{Event, SentinelKind};
use crate::explain::outcome::{Failure, Outcome, Resolution};

/// RFC 8509 §2: the label prefixes, then the key tag in five decimal digits, zero-filled.
const IS_TA: &[u8] = b"root-key-sentinel-is-ta-";
const NOT_TA: &[u8] = b"root-key-sentinel-not-ta-";
const TAG_DIGITS: usize = 5;

/// A sentinel label: which question, about which key tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentinelLabel {
    pub kind: SentinelKind,
    pub tag: u16,
}

/// The sentinel label that starts `qname`, if it is one (letter case ignored). Only the
/// first label counts: the sentinel further down a name is an ordinary label.
pub fn sentinel_label(qname: &Name) -> Option<SentinelLabel> {
    let first = qname.iter().next()?.to_ascii_lowercase();
    let (kind, digits) = if let Some(rest) = first.strip_prefix(IS_TA) {
        (SentinelKind::IsTa, rest)
    } else if let Some(rest) = first.strip_prefix(NOT_TA) {
        (SentinelKind::NotTa, rest)
    } else {
        return None;
    };
    if digits.len() != TAG_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let tag = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(SentinelLabel { kind, tag })
}

/// Whether the sentinel turns the answer into SERVFAIL, or None when it does not apply:
/// not a sentinel label, not A or AAAA, or an answer not validated as secure (RFC 8509
/// §3.2: the resolver then answers as it would any other name).
pub fn sentinel_servfail(
    qname: &Name,
    qtype: RecordType,
    authenticated: bool,
    trusted: &[u16],
) -> Option<(SentinelLabel, bool)> {
    if !matches!(qtype, RecordType::A | RecordType::AAAA) || !authenticated {
        return None;
    }
    let label = sentinel_label(qname)?;
    let is_trusted = trusted.contains(&label.tag);
    let servfail = match label.kind {
        SentinelKind::IsTa => !is_trusted,
        SentinelKind::NotTa => is_trusted,
    };
    Some((label, servfail))
}

/// Applies the sentinel to the finished resolution of the client's question: records the
/// check in its trace and, when the label contradicts the trust anchors, makes it a
/// [`Failure::RootKeySentinel`]. The records stay in the resolution (the SERVFAIL carries
/// none) so that it is cached as long as the answer it replaced.
pub fn apply_sentinel(
    resolution: &mut Resolution,
    qname: &Name,
    qtype: RecordType,
    anchors: &TrustAnchors,
) {
    // The anchor set is read only for a sentinel name: every other question pays one
    // prefix comparison.
    if sentinel_label(qname).is_none() {
        return;
    }
    let trusted = anchors.key_tags(&Name::root());
    let Some((label, servfail)) =
        sentinel_servfail(qname, qtype, resolution.authenticated(), &trusted)
    else {
        return;
    };
    resolution.trace.record(
        0,
        Event::SentinelChecked {
            kind: label.kind,
            tag: label.tag,
            trusted: trusted.clone(),
            servfail,
        },
    );
    if servfail {
        resolution.outcome = Outcome::Failed {
            failure: Failure::RootKeySentinel {
                kind: label.kind,
                tag: label.tag,
                trusted,
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn only_a_first_label_of_the_exact_form_is_a_sentinel() {
        let is = |tag| {
            Some(SentinelLabel {
                kind: SentinelKind::IsTa,
                tag,
            })
        };
        let cases = [
            ("root-key-sentinel-is-ta-20326.example.", is(20326)),
            ("ROOT-Key-Sentinel-IS-TA-02371.example.", is(2371)),
            ("root-key-sentinel-is-ta-00000.", is(0)),
            (
                "root-key-sentinel-not-ta-65535.example.",
                Some(SentinelLabel {
                    kind: SentinelKind::NotTa,
                    tag: 65535,
                }),
            ),
            // Four or six digits, letters, a tag no key can have, another place in the name.
            ("root-key-sentinel-is-ta-2371.example.", None),
            ("root-key-sentinel-is-ta-020326.example.", None),
            ("root-key-sentinel-is-ta-2037a.example.", None),
            ("root-key-sentinel-is-ta-65536.example.", None),
            ("root-key-sentinel-is-ta-.example.", None),
            ("www.root-key-sentinel-is-ta-20326.example.", None),
            ("root-key-sentinel-maybe-ta-20326.example.", None),
            ("kskroll-sentinel-is-ta-20326.example.", None),
            (".", None),
        ];
        for (text, expected) in cases {
            assert_eq!(sentinel_label(&name(text)), expected, "{text}");
        }
    }

    #[test]
    fn the_label_against_the_trust_anchors_decides() {
        let trusted = [2371, 20326];
        let a = RecordType::A;
        // (name, type, validated as secure, SERVFAIL?)
        let cases = [
            ("root-key-sentinel-is-ta-02371.x.", a, true, Some(false)),
            ("root-key-sentinel-is-ta-12345.x.", a, true, Some(true)),
            ("root-key-sentinel-not-ta-02371.x.", a, true, Some(true)),
            ("root-key-sentinel-not-ta-12345.x.", a, true, Some(false)),
            (
                "root-key-sentinel-is-ta-12345.x.",
                RecordType::AAAA,
                true,
                Some(true),
            ),
            // RFC 8509 §3.2: other types, and answers not secure, are answered as ever.
            (
                "root-key-sentinel-is-ta-12345.x.",
                RecordType::TXT,
                true,
                None,
            ),
            ("root-key-sentinel-is-ta-12345.x.", a, false, None),
            ("root-key-sentinel-not-ta-02371.x.", a, false, None),
            ("www.x.", a, true, None),
        ];
        for (text, qtype, secure, expected) in cases {
            let got = sentinel_servfail(&name(text), qtype, secure, &trusted);
            assert_eq!(
                got.map(|(_, s)| s),
                expected,
                "{text} {qtype} secure={secure}"
            );
        }
        assert_eq!(
            sentinel_servfail(&name("root-key-sentinel-is-ta-02371.x."), a, true, &[]),
            Some((
                SentinelLabel {
                    kind: SentinelKind::IsTa,
                    tag: 2371
                },
                true
            )),
            "no root anchor at all trusts no key"
        );
    }
}
