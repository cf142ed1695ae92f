//! Trust anchors: the built-in IANA root anchors, and trust-anchor files in the two forms
//! operators have: DS and DNSKEY lines in master-file syntax (unbound's `trust-anchor-file`,
//! `dnssec-dsfromkey` output, BIND key files, what `whydns lab` exports), and BIND's
//! named.conf clauses `trust-anchors`, `managed-keys` and `trusted-keys` (what `delv -a` and
//! BIND's `bind.keys` read). The form is recognised from the file's first word.
//!
//! RFCs: 1035 §5.1 (master files), 4034 §2.1–2.2, §5.1–5.3 and Appendix A.1 (DNSKEY and DS
//! fields, presentation and mnemonics), 4509 and 6605 (digest sizes), 5011 §2.1 (REVOKE),
//! 6605 §4 and 8080 §3 (key sizes), 7958 (the root anchors IANA publishes).
//!
//! An anchor whydns cannot use (a digest of the wrong length, an algorithm or digest it does
//! not validate, bad hex or base64, a malformed line) is skipped and reported as an
//! [`AnchorWarning`] with its line; only a file left with no usable anchor, or one whose
//! structure cannot be read (an unclosed parenthesis, brace, string or comment; a directive
//! whydns does not follow), is an [`AnchorError`].
//!
//! # Limitations
//! - Master files: class IN only; `$INCLUDE` and `$GENERATE` are refused and an entry with
//!   quoted strings or escapes is skipped. TTLs are read and ignored.
//! - BIND files: only the three anchor clauses, not a whole named.conf (no `options`,
//!   `view` or `include`).
//! - No RFC 5011 automatic rollover: `initial-key` and `initial-ds` (and `managed-keys`) are
//!   read as static anchors; anchors are what the file or the build says.
//! - Algorithms are those of RFC 4034 Appendix A.1 and the IANA registry up to 16 (with
//!   INDIRECT, PRIVATEDNS and PRIVATEOID); digest mnemonics SHA-1, SHA-256, GOST and
//!   SHA-384. Any number is read; one whydns does not validate is skipped.

mod bind;
mod master;
mod rdata;

use std::collections::BTreeMap;
use std::fmt;

use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::rr::Name;

pub use rdata::{algorithm_mnemonic, digest_mnemonic};

/// The root KSKs' DS records as IANA publishes them in root-anchors.xml (RFC 7958):
/// KSK-2017 (tag 20326) and KSK-2024 (tag 38696), both RSA/SHA-256 with SHA-256 digests.
pub const IANA_ROOT_ANCHORS: &str = "\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

/// One anchor for a name: a DS digest of its key, or the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    Ds(DS),
    Dnskey(DNSKEY),
}

/// Trust anchors by owner name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    anchors: BTreeMap<Name, Vec<Anchor>>,
}

/// The two forms of trust-anchor file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorFormat {
    /// DS and DNSKEY records in master-file syntax.
    MasterFile,
    /// BIND's `trust-anchors`, `managed-keys` and `trusted-keys` clauses.
    BindClauses,
}

/// What a trust-anchor file gave: its usable anchors and the entries skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAnchors {
    pub anchors: TrustAnchors,
    pub skipped: Vec<AnchorWarning>,
    pub format: AnchorFormat,
}

/// An anchor entry that was skipped, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct AnchorWarning {
    pub line: usize,
    pub reason: SkipReason,
}

/// A field of an anchor entry, to say which one is missing or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorField {
    OwnerName,
    RecordType,
    AnchorKind,
    KeyTag,
    Algorithm,
    DigestType,
    Digest,
    Flags,
    Protocol,
    PublicKey,
}

impl fmt::Display for AnchorField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnchorField::OwnerName => "owner name",
            AnchorField::RecordType => "record type",
            AnchorField::AnchorKind => "anchor kind",
            AnchorField::KeyTag => "DS key tag",
            AnchorField::Algorithm => "algorithm",
            AnchorField::DigestType => "DS digest type",
            AnchorField::Digest => "DS digest",
            AnchorField::Flags => "DNSKEY flags",
            AnchorField::Protocol => "DNSKEY protocol",
            AnchorField::PublicKey => "DNSKEY public key",
        })
    }
}

/// Why an anchor entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("missing {field}")]
    Missing { field: AnchorField },
    /// Not a number or mnemonic, not hex or base64, not a domain name (`text` is cut at 40
    /// characters).
    #[error("{field} {text:?} cannot be read")]
    Unreadable { field: AnchorField, text: String },
    #[error("no owner name, and no usable owner on an entry before")]
    NoOwner,
    #[error("relative name {text:?} without an $ORIGIN")]
    NoOrigin { text: String },
    #[error("quoted strings and escapes are not read in master-file anchors")]
    QuotedText,
    #[error("class {class}: trust anchors are class IN")]
    NotClassIn { class: String },
    #[error("record type {rtype}: a trust anchor is a DS or DNSKEY record")]
    NotAnAnchorType { rtype: String },
    #[error("algorithm {algorithm}{}: whydns does not validate it", mnemonic_suffix(algorithm_mnemonic(*.algorithm)))]
    UnsupportedAlgorithm { algorithm: u8 },
    #[error("digest type {digest_type}{}: whydns does not compute it", mnemonic_suffix(digest_mnemonic(*.digest_type)))]
    UnsupportedDigest { digest_type: u8 },
    #[error("a digest of type {digest_type}{} has {expected} octets, this one {found}", mnemonic_suffix(digest_mnemonic(*.digest_type)))]
    DigestLength {
        digest_type: u8,
        expected: usize,
        found: usize,
    },
    #[error("DNSKEY protocol is {protocol}, not 3")]
    Protocol { protocol: u8 },
    #[error("DNSKEY flags {flags} lack the Zone Key bit (256)")]
    NotAZoneKey { flags: u16 },
    #[error("DNSKEY flags {flags} have the REVOKE bit (128): a revoked key")]
    Revoked { flags: u16 },
    #[error("an algorithm {algorithm}{} public key has {expected} octets, this one {found}", mnemonic_suffix(algorithm_mnemonic(*.algorithm)))]
    KeyLength {
        algorithm: u8,
        expected: usize,
        found: usize,
    },
    #[error("the entry is not ended by ';'")]
    Unterminated,
}

fn mnemonic_suffix(mnemonic: Option<&str>) -> String {
    mnemonic.map(|m| format!(" ({m})")).unwrap_or_default()
}

/// A trust-anchor file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// The file's structure cannot be read, so no entry after `line` can be trusted.
    #[error("line {line}: {problem}")]
    Unreadable {
        line: usize,
        problem: AnchorFileProblem,
    },
    /// Every entry was skipped (or there was none).
    #[error("{}", no_usable_anchor(.skipped))]
    NoUsableAnchor { skipped: Vec<AnchorWarning> },
}

/// What makes a trust-anchor file unreadable as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorFileProblem {
    #[error("'(' is never closed")]
    UnclosedParenthesis,
    #[error("')' without '('")]
    StrayParenthesis,
    #[error("unsupported directive {directive}")]
    UnsupportedDirective { directive: String },
    #[error("$ORIGIN without a name")]
    OriginMissing,
    #[error("$ORIGIN {text:?} is not a domain name")]
    BadOrigin { text: String },
    #[error("a quoted string is never closed")]
    UnclosedString,
    #[error("a /* comment is never closed")]
    UnclosedComment,
    #[error("{statement:?}: a trust-anchor file holds only trust-anchors, managed-keys and trusted-keys clauses")]
    UnknownStatement { statement: String },
    #[error("{clause} is not followed by '{{'")]
    NoOpeningBrace { clause: String },
    #[error("the {clause} clause is never closed by '}}'")]
    UnclosedClause { clause: String },
    #[error("the {clause} clause's '}}' is not followed by ';'")]
    NoSemicolon { clause: String },
    #[error("'{{' inside the {clause} clause")]
    NestedBrace { clause: String },
}

/// At most this many reasons are listed in a [`AnchorError::NoUsableAnchor`] message.
const REASONS_LISTED: usize = 8;

fn no_usable_anchor(skipped: &[AnchorWarning]) -> String {
    if skipped.is_empty() {
        return "no trust anchor in the file".into();
    }
    let mut text = String::from("no usable trust anchor: ");
    let listed: Vec<String> = skipped
        .iter()
        .take(REASONS_LISTED)
        .map(ToString::to_string)
        .collect();
    text.push_str(&listed.join("; "));
    if skipped.len() > REASONS_LISTED {
        text.push_str(&format!("; and {} more", skipped.len() - REASONS_LISTED));
    }
    text
}

/// Where a reader puts what it finds: the usable anchors and the skipped entries.
#[derive(Default)]
struct Found {
    anchors: TrustAnchors,
    skipped: Vec<AnchorWarning>,
}

impl Found {
    fn take(&mut self, line: usize, entry: Result<(Name, Anchor), SkipReason>) {
        match entry {
            Ok((owner, anchor)) => self.anchors.insert(owner, anchor),
            Err(reason) => self.skipped.push(AnchorWarning { line, reason }),
        }
    }
}

impl TrustAnchors {
    /// The IANA root anchors built into whydns.
    pub fn iana_root() -> Self {
        Self::parse(IANA_ROOT_ANCHORS)
            .expect("the built-in root anchors parse")
            .anchors
    }

    /// Reads a trust-anchor file's text, in either form. Entries that cannot be used are
    /// skipped and listed; a file with none usable is an error.
    pub fn parse(text: &str) -> Result<ParsedAnchors, AnchorError> {
        let format = if bind::starts_with_clause(text) {
            AnchorFormat::BindClauses
        } else {
            AnchorFormat::MasterFile
        };
        let mut found = Found::default();
        match format {
            AnchorFormat::MasterFile => master::read(text, &mut found)?,
            AnchorFormat::BindClauses => bind::read(text, &mut found)?,
        }
        if found.anchors.is_empty() {
            return Err(AnchorError::NoUsableAnchor {
                skipped: found.skipped,
            });
        }
        Ok(ParsedAnchors {
            anchors: found.anchors,
            skipped: found.skipped,
            format,
        })
    }

    pub fn insert(&mut self, owner: Name, anchor: Anchor) {
        self.anchors.entry(owner).or_default().push(anchor);
    }

    /// The anchors configured exactly at `owner`.
    pub fn get(&self, owner: &Name) -> Option<&[Anchor]> {
        self.anchors.get(owner).map(Vec::as_slice)
    }

    /// The deepest anchored name at or above `name`, with its anchors: where validation of
    /// `name` starts.
    pub fn closest(&self, name: &Name) -> Option<(&Name, &[Anchor])> {
        self.anchors
            .iter()
            .filter(|(owner, _)| owner.zone_of(name))
            .max_by_key(|(owner, _)| owner.num_labels())
            .map(|(owner, anchors)| (owner, anchors.as_slice()))
    }

    /// The key tags of the keys anchored at `owner`, sorted: a DS's tag, or a DNSKEY's own.
    /// A DNSKEY with the REVOKE bit is left out (RFC 5011 §2.1: it may no longer be used).
    pub fn key_tags(&self, owner: &Name) -> Vec<u16> {
        let mut tags: Vec<u16> = self
            .get(owner)
            .unwrap_or_default()
            .iter()
            .filter_map(|anchor| match anchor {
                Anchor::Ds(ds) => Some(ds.key_tag()),
                Anchor::Dnskey(key) if !key.revoke() => Some(super::ds::key_tag(key)),
                Anchor::Dnskey(_) => None,
            })
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Name, &[Anchor])> {
        self.anchors
            .iter()
            .map(|(owner, anchors)| (owner, anchors.as_slice()))
    }

    /// Number of anchors over all names.
    pub fn len(&self) -> usize {
        self.anchors.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

#[cfg(test)]
#[path = "anchor_tests.rs"]
mod tests;
