//! The diagnosis of a root key sentinel answered SERVFAIL (RFC 8509 §3.2): nothing is broken;
//! the SERVFAIL tells the client which root keys this resolver trusts.

use super::{diagnosis, evidence};
use crate::explain::diagnosis::{Cause, Diagnosis};
use crate::explain::event::{key_tag_list, Event, SentinelKind};
use crate::explain::outcome::Resolution;

pub(super) fn diagnose_sentinel(
    r: &Resolution,
    kind: SentinelKind,
    tag: u16,
    trusted: &[u16],
) -> Diagnosis {
    let is_trusted = trusted.contains(&tag);
    let remedy = match kind {
        SentinelKind::IsTa => format!(
            "Nothing is broken: the answer validated, and the SERVFAIL tells the client that \
             this resolver does not trust root key {tag}. If it should (a root KSK rollover), \
             add that key to the trust anchors (trust_anchors) and restart."
        ),
        SentinelKind::NotTa => format!(
            "Nothing is broken: the answer validated, and the SERVFAIL tells the client that \
             this resolver trusts root key {tag}. If that key was retired, remove it from the \
             trust anchors (trust_anchors) and restart."
        ),
    };
    diagnosis(
        Cause::RootKeySentinel,
        format!(
            "{} {} is a root key sentinel (RFC 8509) answered SERVFAIL by design: {} asks \
             whether key {tag} is trusted, and key {tag} {} a root trust anchor of this \
             resolver, which trusts {}",
            r.name,
            r.rtype,
            kind.label(tag),
            SentinelKind::trust_words(is_trusted),
            key_tag_list(trusted)
        ),
        evidence(&r.trace, |e| {
            matches!(
                e,
                Event::SentinelChecked { .. } | Event::AnswerSecurity { .. }
            )
        }),
        remedy,
        vec![format!(
            "dig @this-resolver +cd {} {}  (the data comes back: the name resolves, only the sentinel withholds it)",
            r.name, r.rtype
        )],
    )
}
