//! The explanation log over DNS: `dig <id>.explain.whydns. CH TXT` returns the explanation
//! with that id as TXT strings (class CH, TTL 0, like `version.bind`). Only allowed clients
//! get here (the ACL is checked first). Long answers are truncated over UDP; dig retries over
//! TCP.
//!
//! Privacy: over DNS an explanation is found by its id only, the id the client received in
//! its own EDE text. The most recent explanation and searches by name (which would show
//! everyone's questions) are on the control API only; `last.explain.whydns.` and
//! `<name>.name.explain.whydns.` are NXDOMAIN with an EDE 0 saying so. An explanation is
//! answered only to the client whose query it explains, to a client that received its id
//! in a cached answer, or to a client in `control_allow`; to anyone else it is NXDOMAIN,
//! exactly as an unknown id, so ids cannot be probed. The text never shows a client
//! address ([`Explanation::render_without_client`]).
//!
//! Each line of that text form (question, answer, EDE, diagnosis, trace tree) is one TXT
//! record, in order, so the answer reads as the same text HTTP and the CLI show.
//!
//! Limitations: DNS does not promise record order; dig and every stub seen keep the order
//! sent, but a tool that sorts records would scramble the text.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, Name, RData, Record};

use super::respond::{Reply, Request};
use crate::explain::ede::{self, Refusal};
use crate::explain::log::{Explanation, ExplanationLog};

/// The suffix every explanation query ends in.
pub fn suffix() -> Name {
    Name::from_ascii("explain.whydns.").expect("a valid name")
}

/// What the query name asks for.
enum Wanted {
    Id(String),
    /// `last` or `<name>.name`: lookups that moved to the control API.
    Moved,
}

fn wanted(qname: &Name) -> Option<Wanted> {
    let qname = qname.to_lowercase();
    let suffix = suffix();
    if !suffix.zone_of(&qname) || qname == suffix {
        return None;
    }
    let labels: Vec<String> = qname
        .iter()
        .take(qname.iter().count() - suffix.iter().count())
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    match labels.as_slice() {
        [one] if one == "last" => Some(Wanted::Moved),
        [id] => Some(Wanted::Id(id.clone())),
        [name @ .., tag] if tag == "name" && !name.is_empty() => Some(Wanted::Moved),
        _ => None,
    }
}

/// Answers an explanation query from `log`. `may_read` says whether the asking client may
/// see an explanation (its own, or any for a client in `control_allow`).
pub fn answer(
    request: &Request,
    log: &ExplanationLog,
    mut reply: Reply,
    may_read: impl Fn(&Explanation) -> bool,
) -> Reply {
    let found: Vec<std::sync::Arc<Explanation>> = match wanted(&request.name) {
        Some(Wanted::Id(id)) => log.get(&id).into_iter().filter(|e| may_read(e)).collect(),
        Some(Wanted::Moved) => {
            reply.add_ede(ede::refusal(Refusal::ExplanationByIdOnly));
            Vec::new()
        }
        None => Vec::new(),
    };
    if found.is_empty() {
        reply.message.metadata.response_code = ResponseCode::NXDomain;
        return reply;
    }
    reply.message.metadata.authoritative = true;
    let mut budget = ANSWER_BUDGET;
    'explanations: for explanation in found {
        for line in explanation.render_without_client().lines() {
            let line = if line.len() + 64 > budget {
                // What does not fit a DNS message is cut, and said to be.
                "... cut here: the rest does not fit one DNS message; fetch the whole explanation over HTTP (GET /api/explanations/<id>.txt)"
            } else {
                line
            };
            budget = budget.saturating_sub(line.len() + 64);
            let mut record =
                Record::from_rdata(request.name.clone(), 0, RData::TXT(TXT::new(chunks(line))));
            record.dns_class = DNSClass::CH;
            reply.message.add_answer(record);
            if budget == 0 || line.starts_with("... cut here") {
                break 'explanations;
            }
        }
    }
    reply
}

/// Bytes of TXT text one answer carries: under the 65,535 a DNS message can hold over TCP,
/// with room for the per-record overhead counted at 64 bytes a line.
const ANSWER_BUDGET: usize = 60_000;

/// A line as TXT character-strings of at most 255 bytes (RFC 1035 §3.3), cut only between
/// UTF-8 characters so every piece is text on its own and the pieces join back to the line.
fn chunks(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let mut cut = rest.len().min(255);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn long_lines_are_cut_between_characters_and_join_back() {
        let line = format!("{}—{}", "a".repeat(254), "b".repeat(300));
        let pieces = chunks(&line);
        assert!(pieces.iter().all(|p| p.len() <= 255));
        assert_eq!(pieces.concat(), line);
        assert_eq!(
            pieces[0].len(),
            254,
            "the dash (3 bytes) moves whole to the next piece"
        );
    }
}
