//! The root key trust anchor sentinel (RFC 8509 §3.2) through `whydns serve` on the wire,
//! with the key tag taken from the lab's own root anchor rather than written down: is-ta of
//! the root's tag resolves with AD and not-ta of it is SERVFAIL, the other way round for a
//! tag the resolver does not trust; each asked twice (the repeat from the answer cache)
//! with the same RCODE, AD, EDE and data, and never withheld from a CD query.
//!
//! A test binary of its own, so that its queries to the scenario's server do not disturb
//! the count `serve_scenarios` keeps of them.

mod common;

use common::{ask_recursive as ask, seen};
use hickory_proto::rr::RecordType;

#[test]
fn root_key_sentinel_follows_the_lab_root_anchor() {
    let lab = common::lab();
    let server = common::serve(common::lab_config());
    let root_tags: Vec<u16> = lab.lab.root_ds.iter().map(|ds| ds.key_tag).collect();
    let tag = root_tags[0];
    let other = (1..=u16::MAX).find(|t| !root_tags.contains(t)).unwrap();
    // The scenario file writes the tag down: it must be the one the lab signs with.
    let scenario = common::scenario("root-key-sentinel");
    assert!(
        scenario.query.name.contains(&format!("-{tag:05}.")),
        "root-key-sentinel.toml names another root key tag than the lab's {tag}"
    );
    let zone = "root-key-sentinel.lab.";
    let cases = [
        (
            format!("root-key-sentinel-is-ta-{tag:05}.{zone}"),
            "NOERROR",
        ),
        (
            format!("root-key-sentinel-not-ta-{tag:05}.{zone}"),
            "SERVFAIL",
        ),
        (
            format!("root-key-sentinel-is-ta-{other:05}.{zone}"),
            "SERVFAIL",
        ),
        (
            format!("root-key-sentinel-not-ta-{other:05}.{zone}"),
            "NOERROR",
        ),
    ];
    for (name, rcode) in cases {
        for rtype in [RecordType::A, RecordType::AAAA] {
            let what = format!("{name} {rtype}");
            let first = ask(server, &name, rtype, false);
            let got = seen(&first);
            assert_eq!(got.0, rcode, "{what}\n{first}");
            if rcode == "SERVFAIL" {
                assert!(!got.1, "{what}: AD with SERVFAIL");
                assert_eq!(got.2, [0], "{what}: EDE 0\n{first}");
                assert!(got.3.is_empty(), "{what}: data with SERVFAIL");
                let text = &common::ede(&first)[0].1;
                assert!(
                    text.contains(&format!("trusts {tag}")),
                    "{what}: the EXTRA-TEXT names the trusted key: {text}"
                );
            } else {
                assert!(got.1, "{what}: no AD\n{first}");
                assert!(got.2.is_empty(), "{what}: EDE\n{first}");
                assert_eq!(got.3.len(), 1, "{what}: one record\n{first}");
            }
            let again = ask(server, &name, rtype, false);
            assert_eq!(seen(&again), got, "{what} asked again\n{again}");
            assert_eq!(
                common::ede(&again),
                common::ede(&first),
                "{what}: the repeat has the same EDE text (and trace id)"
            );
            // RFC 8509 §3.2: an answer that was not validated is never withheld.
            let unchecked = seen(&ask(server, &name, rtype, true));
            assert_eq!(
                (unchecked.0.as_str(), unchecked.1),
                ("NOERROR", false),
                "{what} with CD"
            );
        }
    }
}
