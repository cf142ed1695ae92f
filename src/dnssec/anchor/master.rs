//! Trust anchors as DS and DNSKEY records in master-file syntax.
//!
//! RFC 1035 §5.1: `;` comments, parentheses that continue an entry over lines, `$ORIGIN`,
//! `$TTL`, and entries that start with a blank taking the previous owner.
//!
//! Limitations: no quoted strings or escapes (such an entry is skipped), no `$INCLUDE` or
//! other directives (the file is refused: what it includes or generates would be missing).

use hickory_proto::rr::Name;

use super::rdata::{self, cut, unreadable};
use super::{Anchor, AnchorError, AnchorField, AnchorFileProblem, Found, SkipReason};

/// One logical master-file entry: its tokens, after comments and parentheses are resolved.
struct Entry {
    line: usize,
    blank_owner: bool,
    /// A `"` or `\` somewhere in it: its tokens may be split wrongly, so it is skipped.
    quoted: bool,
    tokens: Vec<String>,
}

/// Reads every entry of `text` into `found`.
pub(super) fn read(text: &str, found: &mut Found) -> Result<(), AnchorError> {
    let mut origin: Option<Name> = None;
    // The owner a blank-owner entry takes; None after an entry whose owner was unusable, so
    // that its continuation is not filed under an earlier name.
    let mut previous_owner: Option<Name> = None;
    for entry in entries(text)? {
        let tokens: Vec<&str> = entry.tokens.iter().map(String::as_str).collect();
        // An entry of only parentheses (or nothing) says nothing: skipped like a blank line.
        let Some(&first) = tokens.first() else {
            continue;
        };
        if first.starts_with('$') {
            directive(&tokens, entry.line, &mut origin)?;
            continue;
        }
        let (owner, rest) = if entry.blank_owner {
            (
                previous_owner.clone().ok_or(SkipReason::NoOwner),
                &tokens[..],
            )
        } else {
            let owner = parse_name(first, origin.as_ref());
            previous_owner = owner.as_ref().ok().cloned();
            (owner, &tokens[1..])
        };
        let anchor = owner.and_then(|owner| {
            if entry.quoted {
                return Err(SkipReason::QuotedText);
            }
            Ok((owner, parse_record(rest)?))
        });
        found.take(entry.line, anchor);
    }
    Ok(())
}

/// `$ORIGIN` and `$TTL`; any other directive makes the file unreadable.
fn directive(tokens: &[&str], line: usize, origin: &mut Option<Name>) -> Result<(), AnchorError> {
    let problem = |problem| AnchorError::Unreadable { line, problem };
    let directive = tokens[0];
    if directive.eq_ignore_ascii_case("$TTL") {
        return Ok(());
    }
    if !directive.eq_ignore_ascii_case("$ORIGIN") {
        return Err(problem(AnchorFileProblem::UnsupportedDirective {
            directive: cut(directive),
        }));
    }
    let text = tokens
        .get(1)
        .ok_or_else(|| problem(AnchorFileProblem::OriginMissing))?;
    // A bad $ORIGIN would file every later relative name under the wrong zone.
    let name = parse_name(text, origin.as_ref())
        .map_err(|_| problem(AnchorFileProblem::BadOrigin { text: cut(text) }))?;
    *origin = Some(name);
    Ok(())
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
        let entry = match current.as_mut() {
            Some(entry) => entry,
            None => {
                if content.trim().is_empty() {
                    continue;
                }
                current.insert(Entry {
                    line,
                    blank_owner: content.starts_with([' ', '\t']),
                    quoted: false,
                    tokens: Vec::new(),
                })
            }
        };
        entry.quoted |= content.contains(['"', '\\']);
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
                    depth = depth.checked_sub(1).ok_or(AnchorError::Unreadable {
                        line,
                        problem: AnchorFileProblem::StrayParenthesis,
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
        return Err(AnchorError::Unreadable {
            line: opened_on,
            problem: AnchorFileProblem::UnclosedParenthesis,
        });
    }
    Ok(out)
}

fn parse_name(text: &str, origin: Option<&Name>) -> Result<Name, SkipReason> {
    if text == "@" {
        return origin
            .cloned()
            .ok_or(SkipReason::NoOrigin { text: "@".into() });
    }
    let bad = || unreadable(AnchorField::OwnerName, text);
    let name = Name::from_ascii(text).map_err(|_| bad())?;
    if name.is_fqdn() {
        return Ok(name);
    }
    let origin = origin.ok_or_else(|| SkipReason::NoOrigin { text: cut(text) })?;
    name.append_domain(origin).map_err(|_| bad())
}

/// `[ttl] [class] type rdata...` after the owner.
fn parse_record(tokens: &[&str]) -> Result<Anchor, SkipReason> {
    let mut rest = tokens;
    while let Some((&token, tail)) = rest.split_first() {
        if token.eq_ignore_ascii_case("IN") || is_ttl(token) {
            rest = tail;
        } else if ["CH", "HS", "CS"]
            .iter()
            .any(|c| token.eq_ignore_ascii_case(c))
        {
            return Err(SkipReason::NotClassIn {
                class: token.to_ascii_uppercase(),
            });
        } else {
            break;
        }
    }
    let (&rtype, rdata) = rest.split_first().ok_or(SkipReason::Missing {
        field: AnchorField::RecordType,
    })?;
    if rtype.eq_ignore_ascii_case("DS") {
        rdata::ds(rdata).map(Anchor::Ds)
    } else if rtype.eq_ignore_ascii_case("DNSKEY") {
        rdata::dnskey(rdata).map(Anchor::Dnskey)
    } else {
        Err(SkipReason::NotAnAnchorType { rtype: cut(rtype) })
    }
}

/// A TTL: digits, or BIND's units (`1h30m`).
fn is_ttl(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit())
        && token
            .chars()
            .all(|c| c.is_ascii_digit() || "smhdwSMHDW".contains(c))
}
