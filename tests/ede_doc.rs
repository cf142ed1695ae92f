//! docs/ede.md and the code agree: the page's table lists exactly the codes whydns emits.
//! `EdeCode::ALL` is itself checked against the codes `explain::ede::derive` and `refusal`
//! can reach (`explain::ede::tests::derive_reaches_exactly_the_codes_whydns_lists`).

use std::collections::BTreeSet;

use whydns::explain::EdeCode;

#[test]
fn docs_ede_lists_exactly_the_emitted_codes() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ede.md")).unwrap();
    let documented: BTreeSet<u16> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|rest| rest.split(" |").next()?.trim().parse().ok())
        .collect();
    let emitted: BTreeSet<u16> = EdeCode::ALL.iter().map(|c| *c as u16).collect();
    assert_eq!(documented, emitted, "docs/ede.md rows vs EdeCode::ALL");
    for code in EdeCode::ALL {
        assert!(
            doc.contains(code.name()),
            "docs/ede.md does not name {:?}",
            code.name()
        );
    }
}
