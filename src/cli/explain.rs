//! `whydns explain`: read explanations from a running server's control API. With an id, that
//! explanation in full (diagnosis, evidence, remedy and trace tree: the text of
//! `GET /api/explanations/{id}.txt`); with filters, each match in full, newest first, or one
//! line each with `--list`.
//!
//! Limitations: plain HTTP only (the control API has no TLS); a match dropped from the bounded
//! log between the list and the fetch is skipped.

use crate::explain::log::ExplanationList;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The explanation id: the 8 hex digits ending an EDE's EXTRA-TEXT ("[trace 1a2b3c4d]").
    pub id: Option<String>,
    /// Explanations for this name and the names below it.
    #[arg(long)]
    pub name: Option<String>,
    /// Explanations whose answer had this RCODE (SERVFAIL, NXDOMAIN, ...).
    #[arg(long)]
    pub rcode: Option<String>,
    /// Explanations whose answer carried this EDE INFO-CODE.
    #[arg(long, value_name = "CODE")]
    pub ede: Option<u16>,
    /// Only explanations at or after this time (seconds since the epoch).
    #[arg(long, value_name = "EPOCH")]
    pub since: Option<u64>,
    /// Only explanations at or before this time (seconds since the epoch).
    #[arg(long, value_name = "EPOCH")]
    pub until: Option<u64>,
    /// How many matches to show, newest first.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    /// One line per match (id, time, question, RCODE, cause) instead of each in full.
    #[arg(long)]
    pub list: bool,
    /// Print JSON as the API returns it.
    #[arg(long)]
    pub json: bool,
    /// The server's control API.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8053")]
    pub server: String,
}

/// The body the control API sends with an error status.
#[derive(serde::Deserialize)]
struct ApiError {
    error: String,
}

/// The body of a GET to the control API, or why it failed, in words that say what to check.
fn fetch(agent: &ureq::Agent, url: &str) -> Result<String, String> {
    let mut response = agent.get(url).call().map_err(|e| {
        format!("{url}: {e} (is `whydns serve --control` or `whydns lab` running there?)")
    })?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{url}: {e}"))?;
    match status {
        200 => Ok(body),
        404 => Err(format!("{url}: not found")),
        // The server says why: this client is not in its allow list, or the Host header
        // (the URL's host) is not one it accepts.
        403 => Err(format!(
            "{url}: forbidden ({})",
            serde_json::from_str::<ApiError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| {
                    "this client is not in the control API's allow list, control_allow".into()
                })
        )),
        code => Err(format!("{url}: HTTP {code}")),
    }
}

/// Percent-encodes a query-string value (names are mostly safe, but not always).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run(args: ExplainArgs) -> Result<(), String> {
    let base = args.server.trim_end_matches('/').to_string();
    if !base.starts_with("http://") {
        return Err(format!(
            "--server {base:?}: give the control API's URL, e.g. http://127.0.0.1:8053"
        ));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    if let Some(id) = &args.id {
        if !id.chars().all(|c| c.is_ascii_alphanumeric()) || id.is_empty() || id.len() > 32 {
            return Err(format!("{id:?} is not an explanation id (8 hex digits)"));
        }
        let url = if args.json {
            format!("{base}/api/explanations/{id}")
        } else {
            format!("{base}/api/explanations/{id}.txt")
        };
        let body = fetch(&agent, &url).map_err(|e| {
            if e.ends_with("not found") {
                format!(
                    "no explanation {id} on {base} (unknown id, or dropped from the bounded log)"
                )
            } else {
                e
            }
        })?;
        print!("{body}");
        if args.json {
            println!();
        }
        return Ok(());
    }
    let mut query = vec![format!("limit={}", args.limit)];
    if let Some(name) = &args.name {
        query.push(format!("name={}", encode(name)));
    }
    if let Some(rcode) = &args.rcode {
        query.push(format!("rcode={}", encode(rcode)));
    }
    if let Some(ede) = args.ede {
        query.push(format!("ede={ede}"));
    }
    if let Some(since) = args.since {
        query.push(format!("since={since}"));
    }
    if let Some(until) = args.until {
        query.push(format!("until={until}"));
    }
    let url = format!("{base}/api/explanations?{}", query.join("&"));
    let body = fetch(&agent, &url)?;
    if args.json {
        println!("{body}");
        return Ok(());
    }
    let list: ExplanationList =
        serde_json::from_str(&body).map_err(|e| format!("{url}: not the API's JSON: {e}"))?;
    if list.explanations.is_empty() {
        return Err("no explanation matches".into());
    }
    for (i, entry) in list.explanations.iter().enumerate() {
        let id = &entry.id;
        if args.list {
            println!(
                "{id}  {}  {} {}  {}  {}",
                crate::clock::format_utc(i64::try_from(entry.time).unwrap_or(0)),
                entry.name,
                entry.rtype,
                entry.rcode,
                entry.cause.token(),
            );
            continue;
        }
        if i > 0 {
            println!();
        }
        match fetch(&agent, &format!("{base}/api/explanations/{id}.txt")) {
            Ok(text) => print!("{text}"),
            Err(e) => eprintln!("whydns: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a.lab."), "a.lab.");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
