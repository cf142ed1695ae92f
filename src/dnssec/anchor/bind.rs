//! Trust anchors in BIND's named.conf syntax: the `trust-anchors`, `managed-keys` and
//! `trusted-keys` clauses, as `bind.keys` and `delv -a` files hold them.
//!
//! Entries, one per `;`:
//! - `trust-anchors` and `managed-keys`: `NAME static-key|initial-key FLAGS PROTOCOL ALG
//!   "BASE64";` and `NAME static-ds|initial-ds TAG ALG DIGEST-TYPE "HEX";`
//! - `trusted-keys`: `NAME FLAGS PROTOCOL ALG "BASE64";`
//!
//! Comments are `//` and `#` to the end of the line and `/* ... */`; names are absolute
//! with or without the final dot, quoted or not.
//!
//! Limitations: `initial-key` and `initial-ds` are read as static anchors (whydns has no
//! RFC 5011 rollover). A statement other than the three clauses makes the file unreadable.

use hickory_proto::rr::Name;

use super::rdata::{self, cut, unreadable};
use super::{Anchor, AnchorError, AnchorField, AnchorFileProblem, Found, SkipReason};

/// The clauses that hold anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    TrustAnchors,
    ManagedKeys,
    TrustedKeys,
}

impl Clause {
    fn of(word: &str) -> Option<Clause> {
        [
            ("trust-anchors", Clause::TrustAnchors),
            ("managed-keys", Clause::ManagedKeys),
            ("trusted-keys", Clause::TrustedKeys),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, clause)| clause)
    }

    fn name(self) -> &'static str {
        match self {
            Clause::TrustAnchors => "trust-anchors",
            Clause::ManagedKeys => "managed-keys",
            Clause::TrustedKeys => "trusted-keys",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word or a quoted string's content: both are values here.
    Text(String),
    Open,
    Close,
    Semicolon,
}

/// A token and the line it starts on.
struct Lexed {
    line: usize,
    token: Token,
}

/// Whether the first word of `text`, after white space and named.conf comments, opens one
/// of the three clauses.
pub(super) fn starts_with_clause(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.starts_with('#') || rest.starts_with("//") {
            rest = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let word = rest
        .split(|c: char| c.is_whitespace() || c == '{')
        .next()
        .unwrap_or("");
    Clause::of(word).is_some()
}

/// Reads every clause of `text` into `found`.
pub(super) fn read(text: &str, found: &mut Found) -> Result<(), AnchorError> {
    let tokens = tokens(text)?;
    let mut at = 0;
    while at < tokens.len() {
        at = clause(&tokens, at, found)?;
    }
    Ok(())
}

/// One `CLAUSE { entry; ... };` starting at `tokens[at]`; returns the index after it.
fn clause(tokens: &[Lexed], at: usize, found: &mut Found) -> Result<usize, AnchorError> {
    let start = &tokens[at];
    let unreadable_at = |line, problem| AnchorError::Unreadable { line, problem };
    let clause = match &start.token {
        Token::Text(word) => Clause::of(word),
        _ => None,
    }
    .ok_or_else(|| {
        let statement = match &start.token {
            Token::Text(word) => cut(word),
            Token::Open => "{".into(),
            Token::Close => "}".into(),
            Token::Semicolon => ";".into(),
        };
        unreadable_at(
            start.line,
            AnchorFileProblem::UnknownStatement { statement },
        )
    })?;
    let name = || clause.name().to_string();
    if tokens.get(at + 1).map(|t| &t.token) != Some(&Token::Open) {
        return Err(unreadable_at(
            start.line,
            AnchorFileProblem::NoOpeningBrace { clause: name() },
        ));
    }
    let mut entry: Vec<&Lexed> = Vec::new();
    let mut index = at + 2;
    loop {
        let Some(lexed) = tokens.get(index) else {
            return Err(unreadable_at(
                start.line,
                AnchorFileProblem::UnclosedClause { clause: name() },
            ));
        };
        index += 1;
        match &lexed.token {
            Token::Text(_) => entry.push(lexed),
            Token::Semicolon => finish(clause, &mut entry, found, None),
            Token::Close => {
                finish(clause, &mut entry, found, Some(SkipReason::Unterminated));
                break;
            }
            Token::Open => {
                return Err(unreadable_at(
                    lexed.line,
                    AnchorFileProblem::NestedBrace { clause: name() },
                ))
            }
        }
    }
    match tokens.get(index) {
        Some(Lexed {
            token: Token::Semicolon,
            ..
        }) => Ok(index + 1),
        _ => Err(unreadable_at(
            tokens[index - 1].line,
            AnchorFileProblem::NoSemicolon { clause: name() },
        )),
    }
}

/// Files the entry gathered so far (if any) and starts a new one; `cut_short` is why an
/// entry the clause's `}` interrupted is skipped.
fn finish(
    clause: Clause,
    entry: &mut Vec<&Lexed>,
    found: &mut Found,
    cut_short: Option<SkipReason>,
) {
    let Some(first) = entry.first() else {
        return;
    };
    let line = first.line;
    let items: Vec<&str> = entry
        .iter()
        .filter_map(|lexed| match &lexed.token {
            Token::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let result = match cut_short {
        Some(reason) => Err(reason),
        None => read_entry(clause, &items),
    };
    found.take(line, result);
    entry.clear();
}

fn read_entry(clause: Clause, items: &[&str]) -> Result<(Name, Anchor), SkipReason> {
    let (&owner, rest) = items.split_first().ok_or(SkipReason::Missing {
        field: AnchorField::OwnerName,
    })?;
    let owner = absolute_name(owner)?;
    if clause == Clause::TrustedKeys {
        return Ok((owner, Anchor::Dnskey(rdata::dnskey(rest)?)));
    }
    let (&kind, rdata) = rest.split_first().ok_or(SkipReason::Missing {
        field: AnchorField::AnchorKind,
    })?;
    let anchor = match kind.to_ascii_lowercase().as_str() {
        "static-key" | "initial-key" => Anchor::Dnskey(rdata::dnskey(rdata)?),
        "static-ds" | "initial-ds" => Anchor::Ds(rdata::ds(rdata)?),
        _ => return Err(unreadable(AnchorField::AnchorKind, kind)),
    };
    Ok((owner, anchor))
}

/// named.conf names are absolute whether or not they end in a dot.
fn absolute_name(text: &str) -> Result<Name, SkipReason> {
    let bad = || unreadable(AnchorField::OwnerName, text);
    if text.is_empty() {
        return Err(bad());
    }
    let name = Name::from_ascii(text).map_err(|_| bad())?;
    if name.is_fqdn() {
        return Ok(name);
    }
    name.append_domain(&Name::root()).map_err(|_| bad())
}

/// Splits `text` into tokens, dropping comments. A comment starts only where a token could
/// (so a `//` inside an unquoted base64 word is part of it).
fn tokens(text: &str) -> Result<Vec<Lexed>, AnchorError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        let start = line;
        let token = match c {
            '\n' => {
                line += 1;
                continue;
            }
            c if c.is_whitespace() => continue,
            '#' => {
                skip_line(&mut chars, &mut line);
                continue;
            }
            '/' if chars.peek() == Some(&'/') => {
                skip_line(&mut chars, &mut line);
                continue;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                skip_block_comment(&mut chars, &mut line)?;
                continue;
            }
            '{' => Token::Open,
            '}' => Token::Close,
            ';' => Token::Semicolon,
            '"' => Token::Text(quoted(&mut chars, &mut line)?),
            first => Token::Text(word(first, &mut chars)),
        };
        out.push(Lexed { line: start, token });
    }
    Ok(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_line(chars: &mut Chars<'_>, line: &mut usize) {
    for c in chars.by_ref() {
        if c == '\n' {
            *line += 1;
            return;
        }
    }
}

fn skip_block_comment(chars: &mut Chars<'_>, line: &mut usize) -> Result<(), AnchorError> {
    let opened = *line;
    while let Some(c) = chars.next() {
        match c {
            '\n' => *line += 1,
            '*' if chars.peek() == Some(&'/') => {
                chars.next();
                return Ok(());
            }
            _ => {}
        }
    }
    Err(AnchorError::Unreadable {
        line: opened,
        problem: AnchorFileProblem::UnclosedComment,
    })
}

/// The rest of a quoted string after its opening `"`; `\` keeps the next character.
fn quoted(chars: &mut Chars<'_>, line: &mut usize) -> Result<String, AnchorError> {
    let opened = *line;
    let mut text = String::new();
    while let Some(c) = chars.next() {
        let c = match c {
            '"' => return Ok(text),
            '\\' => match chars.next() {
                Some(escaped) => escaped,
                None => break,
            },
            c => c,
        };
        if c == '\n' {
            *line += 1;
        }
        text.push(c);
    }
    Err(AnchorError::Unreadable {
        line: opened,
        problem: AnchorFileProblem::UnclosedString,
    })
}

fn word(first: char, chars: &mut Chars<'_>) -> String {
    let mut text = String::from(first);
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || "{};\"".contains(c) {
            break;
        }
        text.push(c);
        chars.next();
    }
    text
}

#[cfg(test)]
#[path = "bind_tests.rs"]
mod tests;
