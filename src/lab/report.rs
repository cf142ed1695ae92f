//! What `whydns lab` prints: the address plan and the scenario table with a ready `dig` each.

use std::fmt::Write as _;

use super::build::Lab;
use super::spec::{Expectation, QuerySpec, Scenario};

/// The `dig` command that shows a scenario's behaviour at its own servers (or, for a
/// scenario without servers of its own, at the parent's).
pub fn dig_command(lab: &Lab, scenario: &Scenario, port: u16) -> String {
    let server = lab
        .servers_of(&scenario.id)
        .into_iter()
        .next()
        .map(|s| s.address.to_string())
        .unwrap_or_else(|| "127.53.1.1".to_string());
    let port = if port == 53 {
        String::new()
    } else {
        format!(" -p {port}")
    };
    format!(
        "dig @{server}{port} {} {} +dnssec +norecurse",
        scenario.query.name, scenario.query.rtype
    )
}

/// One line per scenario: id, category, query, what an ideal resolver answers; then one
/// line per follow-up question (`[[then]]`), with the scenario's id and `then` in the
/// category column, so every line has the same columns (scripts/bench.sh reads them).
pub fn scenario_list(lab: &Lab) -> String {
    let query_of = |q: &QuerySpec| format!("{} {}", q.name, q.rtype);
    let width = lab
        .spec
        .scenarios
        .iter()
        .flat_map(|s| std::iter::once(&s.query).chain(s.then.iter().map(|t| &t.query)))
        .map(|q| query_of(q).len())
        .max()
        .unwrap_or(0)
        .max(36);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26} {:<10} {:<width$} {:<9} {:<7} AD",
        "SCENARIO", "CATEGORY", "QUERY", "RCODE", "EDE"
    );
    let mut line = |id: &str, category: &str, query: &QuerySpec, expect: &Expectation| {
        let ede = if expect.ede.is_empty() {
            "-".to_string()
        } else {
            expect
                .ede
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let _ = writeln!(
            out,
            "{id:<26} {category:<10} {:<width$} {:<9} {ede:<7} {}",
            query_of(query),
            expect.rcode,
            if expect.ad { "yes" } else { "no" }
        );
    };
    for s in &lab.spec.scenarios {
        line(&s.id, s.category.as_str(), &s.query, &s.expect);
        for follow_up in &s.then {
            line(&s.id, "then", &follow_up.query, &follow_up.expect);
        }
    }
    out
}

/// The address plan: every server, its address and the zones it serves, with its faults.
pub fn address_plan(lab: &Lab, port: u16) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:<22} {:<28} FAULTS",
        "SERVER", "ADDRESS", "ZONES"
    );
    for server in &lab.servers {
        let zones: Vec<String> = server.zones.iter().map(|z| z.apex.to_string()).collect();
        let faults: Vec<String> = server
            .faults
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.get("fault").and_then(|f| f.as_str().map(String::from)))
                    .unwrap_or_default()
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<34} {:<22} {:<28} {}",
            server.name.to_string(),
            format!("{}:{port}", server.address),
            if zones.is_empty() {
                "-".to_string()
            } else {
                zones.join(",")
            },
            if faults.is_empty() {
                "-".to_string()
            } else {
                faults.join(",")
            }
        );
    }
    out
}

/// Each scenario with its one-line description and the `dig` that shows it.
pub fn scenario_digs(lab: &Lab, port: u16) -> String {
    let mut out = String::new();
    for s in &lab.spec.scenarios {
        let _ = writeln!(out, "{} ({}) - {}", s.id, s.category.as_str(), s.title);
        let _ = writeln!(out, "    {}", dig_command(lab, s, port));
    }
    out
}
