//! Trust anchors: the built-in IANA root anchors, and trust-anchor files of DS and DNSKEY lines
//! in master-file syntax (what unbound's `trust-anchor-file`, `dnssec-dsfromkey` and BIND key
//! files contain, and what `whydns lab` exports).
//!
//! RFCs: 1035 §5.1 (master files: comments, parentheses, `$ORIGIN`, `$TTL`, blank owners),
//! 4034 §2.2 and §5.3 (DNSKEY and DS presentation), 7958 (the root anchors IANA publishes).
//!
//! # Limitations
//! - Only DS and DNSKEY lines, class IN, numeric algorithm and digest numbers; `$INCLUDE`,
//!   quoted strings and escapes are refused. TTLs are read and ignored.
//! - No RFC 5011 automatic rollover: anchors are what the file or the build says.

use std::collections::BTreeMap;

use base64::Engine;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::Name;

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

/// A trust-anchor file line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct AnchorError {
    pub line: usize,
    pub message: String,
}

impl TrustAnchors {
    /// The IANA root anchors built into whydns.
    pub fn iana_root() -> Self {
        Self::parse(IANA_ROOT_ANCHORS).expect("the built-in root anchors parse")
    }

    /// Reads a trust-anchor file's text.
    pub fn parse(text: &str) -> Result<Self, AnchorError> {
        let mut anchors = Self::default();
        let mut origin: Option<Name> = None;
        let mut previous_owner: Option<Name> = None;
        for entry in entries(text)? {
            let error = |message: String| AnchorError {
                line: entry.line,
                message,
            };
            let tokens: Vec<&str> = entry.tokens.iter().map(String::as_str).collect();
            // An entry of only parentheses (or nothing) says nothing: skipped like a blank line.
            if tokens.is_empty() {
                continue;
            }
            match tokens.first().copied() {
                Some(directive) if directive.eq_ignore_ascii_case("$ORIGIN") => {
                    let name = tokens
                        .get(1)
                        .ok_or_else(|| error("$ORIGIN without a name".into()))?;
                    origin = Some(parse_name(name, None).map_err(error)?);
                    continue;
                }
                Some(directive) if directive.eq_ignore_ascii_case("$TTL") => continue,
                Some(directive) if directive.starts_with('$') => {
                    return Err(error(format!("unsupported directive {directive}")));
                }
                _ => {}
            }
            let (owner, rest) = if entry.blank_owner {
                let owner = previous_owner
                    .clone()
                    .ok_or_else(|| error("no owner name and no previous owner".into()))?;
                (owner, &tokens[..])
            } else {
                let owner = parse_name(tokens[0], origin.as_ref()).map_err(error)?;
                (owner, &tokens[1..])
            };
            let anchor = parse_record(rest).map_err(error)?;
            previous_owner = Some(owner.clone());
            anchors.insert(owner, anchor);
        }
        Ok(anchors)
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

/// One logical master-file entry: its tokens, after comments and parentheses are resolved.
struct Entry {
    line: usize,
    blank_owner: bool,
    tokens: Vec<String>,
}

/// RFC 1035 §5.1: `;` starts a comment, parentheses continue an entry over lines, and an entry
/// starting with a blank has the previous owner.
fn entries(text: &str) -> Result<Vec<Entry>, AnchorError> {
    let mut out = Vec::new();
    let mut current: Option<Entry> = None;
    let mut depth = 0usize;
    let mut opened_on = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split(';').next().unwrap_or("");
        if content.contains('"') || content.contains('\\') {
            return Err(AnchorError {
                line,
                message: "quoted strings and escapes are not supported here".into(),
            });
        }
        let entry = match current.as_mut() {
            Some(entry) => entry,
            None => {
                if content.trim().is_empty() {
                    continue;
                }
                current.insert(Entry {
                    line,
                    blank_owner: content.starts_with([' ', '\t']),
                    tokens: Vec::new(),
                })
            }
        };
        let spaced = content.replace('(', " ( ").replace(')', " ) ");
        for token in spaced.split_whitespace() {
            match token {
                "(" => {
                    if depth == 0 {
                        opened_on = line;
                    }
                    depth += 1;
                }
                ")" => {
                    depth = depth.checked_sub(1).ok_or_else(|| AnchorError {
                        line,
                        message: "')' without '('".into(),
                    })?;
                }
                _ => entry.tokens.push(token.to_string()),
            }
        }
        if depth == 0 {
            if let Some(done) = current.take() {
                out.push(done);
            }
        }
    }
    if depth > 0 {
        return Err(AnchorError {
            line: opened_on,
            message: "'(' is never closed".into(),
        });
    }
    Ok(out)
}

fn parse_name(text: &str, origin: Option<&Name>) -> Result<Name, String> {
    if text == "@" {
        return origin
            .cloned()
            .ok_or_else(|| "'@' without an $ORIGIN".to_string());
    }
    let name = Name::from_ascii(text).map_err(|e| format!("bad owner name {text:?}: {e}"))?;
    if name.is_fqdn() {
        return Ok(name);
    }
    let origin = origin.ok_or_else(|| format!("relative name {text:?} without an $ORIGIN"))?;
    name.append_domain(origin)
        .map_err(|e| format!("bad owner name {text:?}: {e}"))
}

/// `[ttl] [class] type rdata...` after the owner.
fn parse_record(tokens: &[&str]) -> Result<Anchor, String> {
    let mut rest = tokens;
    while let Some((&token, tail)) = rest.split_first() {
        if token.eq_ignore_ascii_case("IN") || is_ttl(token) {
            rest = tail;
        } else if ["CH", "HS", "CS"]
            .iter()
            .any(|c| token.eq_ignore_ascii_case(c))
        {
            return Err(format!("class {token}: trust anchors are class IN"));
        } else {
            break;
        }
    }
    let (&rtype, rdata) = rest
        .split_first()
        .ok_or_else(|| "no record type".to_string())?;
    if rtype.eq_ignore_ascii_case("DS") {
        parse_ds(rdata).map(Anchor::Ds)
    } else if rtype.eq_ignore_ascii_case("DNSKEY") {
        parse_dnskey(rdata).map(Anchor::Dnskey)
    } else {
        Err(format!(
            "record type {rtype}: a trust anchor is a DS or DNSKEY record"
        ))
    }
}

/// A TTL: digits, or BIND's units (`1h30m`).
fn is_ttl(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit())
        && token
            .chars()
            .all(|c| c.is_ascii_digit() || "smhdwSMHDW".contains(c))
}

fn number<T: std::str::FromStr>(tokens: &[&str], index: usize, field: &str) -> Result<T, String> {
    let token = tokens
        .get(index)
        .ok_or_else(|| format!("missing {field}"))?;
    token.parse().map_err(|_| format!("bad {field} {token:?}"))
}

/// RFC 4034 §5.3: `key-tag algorithm digest-type digest`, the digest in hex, maybe split.
fn parse_ds(tokens: &[&str]) -> Result<DS, String> {
    let key_tag: u16 = number(tokens, 0, "DS key tag")?;
    let algorithm: u8 = number(tokens, 1, "DS algorithm")?;
    let digest_type: u8 = number(tokens, 2, "DS digest type")?;
    let hex: String = tokens.get(3..).unwrap_or_default().concat();
    if hex.is_empty() {
        return Err("missing DS digest".into());
    }
    let digest = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .map_err(|_| format!("DS digest is not hex: {hex:?}"))?;
    let expected = match digest_type {
        1 => Some(20),
        2 => Some(32),
        4 => Some(48),
        _ => None,
    };
    if let Some(expected) = expected.filter(|&len| len != digest.len()) {
        return Err(format!(
            "DS digest type {digest_type} has {expected} octets, this one {}",
            digest.len()
        ));
    }
    Ok(DS::new(
        key_tag,
        Algorithm::from_u8(algorithm),
        DigestType::from(digest_type),
        digest,
    ))
}

/// RFC 4034 §2.2: `flags protocol algorithm public-key`, the key in base64, maybe split.
fn parse_dnskey(tokens: &[&str]) -> Result<DNSKEY, String> {
    let flags: u16 = number(tokens, 0, "DNSKEY flags")?;
    let protocol: u8 = number(tokens, 1, "DNSKEY protocol")?;
    // RFC 4034 §2.1.2: "The Protocol Field MUST have value 3".
    if protocol != 3 {
        return Err(format!("DNSKEY protocol is {protocol}, not 3"));
    }
    let algorithm: u8 = number(tokens, 2, "DNSKEY algorithm")?;
    let text: String = tokens.get(3..).unwrap_or_default().concat();
    if text.is_empty() {
        return Err("missing DNSKEY public key".into());
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| format!("DNSKEY public key is not base64: {e}"))?;
    Ok(DNSKEY::with_flags(
        flags,
        PublicKeyBuf::new(key, Algorithm::from_u8(algorithm)),
    ))
}

#[cfg(test)]
#[path = "anchor_tests.rs"]
mod tests;
