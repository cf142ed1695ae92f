//! What a scenario expects of a resolver (`[expect]`, and each `[[then]]`'s `expect`), and
//! the matcher for its `trace` items: typed events the resolution's trace must hold.
//!
//! A trace item is a table of event fields, compared with the event's JSON form (the tag key
//! is `event`, kebab-case variant names): every key of the item must be present in the event
//! with an equal value; a table is compared the same way, recursively (a subset), and every
//! other value, arrays included, must be equal. The lab knows nothing of the resolver's
//! `Event` type: the matcher takes anything serialisable, so the tests hand it the resolver's
//! trace entries, or the JSON an explanation was served as.
//!
//! Limitations: items are matched in any order, each against any event; nothing says two
//! items must match different events, nor that an event is absent.

use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What an ideal validating resolver answers for the scenario's query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub rcode: String,
    #[serde(default)]
    pub ede: Vec<u16>,
    pub ad: bool,
    /// Events the resolver's trace must hold, each a table of the fields that state the
    /// decision: `{event = "signatures-checked", rtype = "A", check = {expired = 1}}`.
    #[serde(default)]
    pub trace: Vec<TraceItem>,
    /// The root cause whydns's diagnosis must give (a `Cause` token: "lame-delegation").
    pub cause: Option<String>,
    /// Texts the diagnosis summary must contain: the failing server, zone or record.
    #[serde(default)]
    pub blame: Vec<String>,
    /// Texts that must never appear in the RDATA of any answer record: the attacker's data.
    #[serde(default)]
    pub never: Vec<String>,
    /// No record in the answer may carry a TTL above this (seconds): for instance the time
    /// left until the RRSIG over it expires (RFC 4035 §5.3.3).
    #[serde(default)]
    pub max_ttl: Option<u32>,
}

/// A question asked after the scenario's main query (`[[then]]`), with its own expectation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub query: super::QuerySpec,
    pub expect: Expectation,
}

/// One `expect.trace` item: the fields one event of the trace must have. Always names the
/// event (`event = "denial-checked"`), so an item cannot match every event by accident.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct TraceItem(Map<String, Value>);

impl TryFrom<Map<String, Value>> for TraceItem {
    type Error = String;

    fn try_from(fields: Map<String, Value>) -> Result<Self, String> {
        match fields.get("event") {
            Some(Value::String(tag)) if !tag.is_empty() => Ok(TraceItem(fields)),
            _ => Err(format!(
                "a trace item needs `event = \"<tag>\"` (the event's kebab-case name): {}",
                Value::Object(fields)
            )),
        }
    }
}

impl From<TraceItem> for Map<String, Value> {
    fn from(item: TraceItem) -> Self {
        item.0
    }
}

impl std::fmt::Display for TraceItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Value::Object(self.0.clone()))
    }
}

impl TraceItem {
    /// The event tag the item names.
    pub fn event(&self) -> &str {
        self.0["event"].as_str().unwrap_or_default()
    }

    /// True when `event` (an event's JSON form) has every field of the item.
    pub fn matches(&self, event: &Value) -> bool {
        let Value::Object(fields) = event else {
            return false;
        };
        contains(&self.0, fields)
    }
}

/// Every key of `wanted` is in `got`, with a value `wanted`'s covers.
fn contains(wanted: &Map<String, Value>, got: &Map<String, Value>) -> bool {
    wanted
        .iter()
        .all(|(key, value)| got.get(key).is_some_and(|found| covers(value, found)))
}

/// A table covers a table holding at least its fields; any other value covers its equal.
/// Numbers compare by value: TOML's integers and the trace's counters differ in type.
fn covers(wanted: &Value, got: &Value) -> bool {
    match (wanted, got) {
        (Value::Object(wanted), Value::Object(got)) => contains(wanted, got),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => wanted == got,
    }
}

/// Checks that every item matches at least one of `events`. The error lists each item that
/// matched nothing, then every event of the trace (debug form), so the message alone shows
/// what to write instead.
pub fn check_trace<E: Serialize + Debug>(items: &[TraceItem], events: &[E]) -> Result<(), String> {
    let json: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    let missing: Vec<&TraceItem> = items
        .iter()
        .filter(|item| !json.iter().any(|event| item.matches(event)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut message = String::new();
    for item in missing {
        message.push_str(&format!("no event of the trace matches {item}\n"));
    }
    message.push_str(&format!("the trace's {} events:\n", events.len()));
    for event in events {
        message.push_str(&format!("  {event:?}\n"));
    }
    Err(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(toml_text: &str) -> Result<TraceItem, String> {
        #[derive(Deserialize)]
        struct Holder {
            trace: Vec<TraceItem>,
        }
        toml::from_str::<Holder>(toml_text)
            .map(|mut h| h.trace.remove(0))
            .map_err(|e| e.to_string())
    }

    fn signatures_checked() -> Value {
        json!({
            "at_ms": 3, "depth": 0, "event": "signatures-checked",
            "owner": "www.x.lab.", "rtype": "A", "zone": "x.lab.", "valid": false,
            "check": {"matched": 0, "expired": 1, "budget_exhausted": false,
                      "signatures": [{"key_tag": 1, "verdict": "expired"}]},
        })
    }

    #[test]
    fn an_item_matches_a_subset_of_an_events_fields_recursively() {
        let event = signatures_checked();
        let wanted = item(r#"trace = [{event = "signatures-checked", rtype = "A", valid = false, check = {expired = 1}}]"#).unwrap();
        assert!(wanted.matches(&event));
        assert_eq!(wanted.event(), "signatures-checked");
        assert!(item(r#"trace = [{event = "signatures-checked"}]"#)
            .unwrap()
            .matches(&event));
        // A variant as a table: `{missing = {}}` matches `{"missing": {...}}`.
        let denial = json!({"event": "denial-checked", "claim": "nxdomain",
                            "verdict": {"missing": {"detail": "no NSEC"}}});
        let missing = item(r#"trace = [{event = "denial-checked", verdict = {missing = {}}}]"#);
        assert!(missing.unwrap().matches(&denial));
    }

    #[test]
    fn a_wrong_item_matches_nothing_and_the_check_says_why() {
        let events = [signatures_checked()];
        let wrong = [
            r#"trace = [{event = "signatures-checked", check = {expired = 2}}]"#,
            r#"trace = [{event = "signatures-checked", rtype = "AAAA"}]"#,
            r#"trace = [{event = "signatures-checked", valid = true}]"#,
            r#"trace = [{event = "signatures-checked", check = {revoked = 1}}]"#,
            r#"trace = [{event = "signature-checked", rtype = "A"}]"#,
            // Arrays are equal or they differ: a prefix is not enough.
            r#"trace = [{event = "signatures-checked", check = {signatures = []}}]"#,
            // A string does not stand for a table.
            r#"trace = [{event = "signatures-checked", check = "expired"}]"#,
        ];
        for text in wrong {
            let wanted = item(text).unwrap();
            assert!(!wanted.matches(&events[0]), "{text}");
            let error = check_trace(std::slice::from_ref(&wanted), &events).unwrap_err();
            assert!(error.contains(&wanted.to_string()), "{error}");
            assert!(
                error.contains("\"www.x.lab.\""),
                "the events are listed: {error}"
            );
        }
        let right = item(r#"trace = [{event = "signatures-checked", zone = "x.lab."}]"#);
        assert_eq!(check_trace(&[right.unwrap()], &events), Ok(()));
        assert_eq!(check_trace::<Value>(&[], &[]), Ok(()));
    }

    #[test]
    fn an_item_must_name_its_event() {
        for text in [
            r#"trace = [{rtype = "A"}]"#,
            r#"trace = [{event = 1}]"#,
            r#"trace = [{event = ""}]"#,
            r#"trace = ["signatures-checked"]"#,
        ] {
            assert!(item(text).is_err(), "{text} parsed");
        }
    }
}
