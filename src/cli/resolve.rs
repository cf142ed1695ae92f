//! `whydns resolve`: one question resolved in-process, printed like `dig` (status line,
//! flags, EDE lines, answer and authority sections), optionally with the whole trace as a
//! tree (`--trace`) or everything as JSON (`--json`).
//!
//! Records are shown and serialised in presentation format, so the JSON does not depend on
//! hickory's own serde representation.
//!
//! Limitations: the flags line shows qr rd ra only, not ad: the DNSSEC verdict is in the
//! trace (`--trace`) and the JSON. The exit status is 0 whenever a resolution finished, whatever
//! its RCODE (as `dig` does): the RCODE is in the output.

use std::fmt::Write as _;
use std::sync::Arc;

use hickory_proto::rr::{Name, Record, RecordType};
use serde_json::json;

use super::options::{parse_name, parse_rtype, ResolverOptions};
use crate::clock::SystemClock;
use crate::explain::outcome::Resolution;
use crate::explain::render::{rcode_mnemonic, render_tree};
use crate::resolver::Resolver;

#[derive(clap::Args, Debug)]
pub struct ResolveArgs {
    /// The name to resolve (relative names are taken as absolute).
    #[arg(value_parser = parse_name)]
    pub name: Name,
    /// The record type: a mnemonic (A, AAAA, MX, ...) or TYPEnnn.
    #[arg(value_parser = parse_rtype, default_value = "A")]
    pub rtype: RecordType,
    #[command(flatten)]
    pub options: ResolverOptions,
    /// Also print every step of the resolution as an indented tree.
    #[arg(long)]
    pub trace: bool,
    /// Print the resolution (outcome, EDE, records and always the trace) as JSON instead.
    #[arg(long)]
    pub json: bool,
    /// Print the explanation (diagnosis, evidence, remedy, trace tree) as `whydns explain`
    /// shows it for a server's answer.
    #[arg(long, conflicts_with = "json")]
    pub explain: bool,
}

pub fn run(args: ResolveArgs) -> Result<(), String> {
    let config = args.options.config()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let resolution = runtime.block_on(async {
        let resolver = Resolver::new(&config, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
        Ok::<_, String>(resolver.resolve(&args.name, args.rtype).await)
    })?;
    if args.explain {
        print!("{}", resolution.explanation(None, super::now()).render());
    } else if args.json {
        let text = serde_json::to_string_pretty(&resolution_json(&resolution))
            .map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", render_answer(&resolution));
        if args.trace {
            println!();
            print!("{}", render_tree(&resolution.trace));
        }
    }
    Ok(())
}

/// The resolution as `dig` would show the answer a whydns server gives.
pub fn render_answer(resolution: &Resolution) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "; <<>> whydns resolve <<>> {} {}",
        resolution.name, resolution.rtype
    );
    let _ = writeln!(
        out,
        ";; ->>HEADER<<- opcode: QUERY, status: {}, trace: {}",
        rcode_mnemonic(resolution.rcode()),
        resolution.trace.id
    );
    let _ = writeln!(
        out,
        ";; flags: qr rd ra; QUERY: 1, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: 0",
        resolution.answers.len(),
        resolution.authority.len()
    );
    let ede = resolution.ede();
    if !ede.is_empty() {
        let _ = writeln!(out);
        for e in &ede {
            let _ = writeln!(
                out,
                "; EDE: {} ({}): {}",
                e.code as u16,
                e.code.name(),
                e.text
            );
        }
    }
    let _ = writeln!(out, "\n;; QUESTION SECTION:");
    let _ = writeln!(out, ";{}\t\tIN\t{}", resolution.name, resolution.rtype);
    for (title, records) in [
        ("ANSWER", &resolution.answers),
        ("AUTHORITY", &resolution.authority),
    ] {
        if records.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n;; {title} SECTION:");
        for record in records {
            let _ = writeln!(out, "{}", presentation(record));
        }
    }
    let elapsed = resolution
        .trace
        .entries
        .last()
        .map(|e| e.at_ms)
        .unwrap_or(0);
    let _ = writeln!(out, "\n;; Query time: {elapsed} msec");
    out
}

/// The resolution as JSON: question, RCODE, outcome with its typed reason, EDE (code, name,
/// text), records in presentation format, and the full trace.
pub fn resolution_json(resolution: &Resolution) -> serde_json::Value {
    let records =
        |records: &[Record]| -> Vec<String> { records.iter().map(presentation).collect() };
    json!({
        "name": resolution.name,
        "type": resolution.rtype,
        "rcode": rcode_mnemonic(resolution.rcode()),
        "outcome": resolution.outcome,
        "diagnosis": resolution.diagnose(),
        "ede": resolution.ede().iter().map(|e| json!({
            "code": e.code as u16,
            "name": e.code.name(),
            "text": e.text,
        })).collect::<Vec<_>>(),
        "answers": records(&resolution.answers),
        "authority": records(&resolution.authority),
        "trace": resolution.trace,
    })
}

/// One record as a master-file line, tab-separated like `dig`.
fn presentation(record: &Record) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        record.name,
        record.ttl,
        record.dns_class,
        record.record_type(),
        record.data
    )
}
