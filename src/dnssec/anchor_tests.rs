use super::*;
use crate::dnssec::ds::{ds_matches, key_tag, DsMatch};

/// The root KSKs as the root zone publishes them (flags 257, algorithm 8).
const KSK_2017: &str = "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";
const KSK_2024: &str = "AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=";

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn only_dnskey(anchors: &TrustAnchors, owner: &str) -> DNSKEY {
    match anchors.get(&name(owner)).unwrap() {
        [Anchor::Dnskey(key)] => key.clone(),
        other => panic!("expected one DNSKEY, got {other:?}"),
    }
}

#[test]
fn built_in_root_anchors_match_the_root_ksks() {
    let anchors = TrustAnchors::iana_root();
    assert_eq!(anchors.len(), 2);
    let root = Name::root();
    let ds: Vec<&DS> = anchors
        .get(&root)
        .unwrap()
        .iter()
        .map(|anchor| match anchor {
            Anchor::Ds(ds) => ds,
            Anchor::Dnskey(_) => panic!("built-ins are DS"),
        })
        .collect();
    assert_eq!(
        ds.iter().map(|d| d.key_tag()).collect::<Vec<_>>(),
        [20326, 38696]
    );
    let keys = TrustAnchors::parse(&format!(
        ". IN DNSKEY 257 3 8 {KSK_2017}\n. IN DNSKEY 257 3 8 {KSK_2024}\n"
    ))
    .unwrap();
    let keys: Vec<DNSKEY> = keys
        .get(&root)
        .unwrap()
        .iter()
        .map(|anchor| match anchor {
            Anchor::Dnskey(key) => key.clone(),
            Anchor::Ds(_) => unreachable!(),
        })
        .collect();
    assert_eq!(key_tag(&keys[0]), 20326);
    assert_eq!(key_tag(&keys[1]), 38696);
    assert_eq!(ds_matches(&root, &keys[0], ds[0]), DsMatch::Match);
    assert_eq!(ds_matches(&root, &keys[1], ds[1]), DsMatch::Match);
    assert_eq!(ds_matches(&root, &keys[0], ds[1]), DsMatch::WrongKey);
}

#[test]
fn lab_export_format() {
    // What `lab::export::lab_trust_anchor` and `lab_root_dnskey` write.
    let text = "; whydns lab trust anchor: the lab root's KSK and its DS\n\
        . 3600 IN DS 55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17\n\
        . 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n";
    let anchors = TrustAnchors::parse(text).unwrap();
    let root = Name::root();
    let [Anchor::Ds(ds), Anchor::Dnskey(key)] = anchors.get(&root).unwrap() else {
        panic!("expected a DS then a DNSKEY");
    };
    assert_eq!(key_tag(key), 55648);
    assert_eq!(key.flags(), 257);
    // The DS is RFC 6605's for example.net., so it names this key but not at the root.
    assert_eq!(ds_matches(&name("example.net."), key, ds), DsMatch::Match);
    assert_eq!(ds_matches(&root, key, ds), DsMatch::Mismatch);
}

#[test]
fn bind_key_files_parentheses_origin_and_blank_owners() {
    let text = "\
$TTL 3600
$ORIGIN example.
; a BIND K*.key file
dskey.example.com. 86400 IN DNSKEY 256 3 5 ( AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxe
                                     YCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2
                                     wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==
                                     ) ; key id = 60485
        IN 86400 DS 60485 5 1 ( 2BB183AF5F22588179A53B0A
                                98631FAD1A292118 )
sub DS 60485 5 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0 614B93C4F9E99B8383F6A1E4469DA50A
@ DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=
";
    let anchors = TrustAnchors::parse(text).unwrap();
    assert_eq!(anchors.len(), 4);
    let owner = name("dskey.example.com.");
    let [Anchor::Dnskey(key), Anchor::Ds(ds)] = anchors.get(&owner).unwrap() else {
        panic!("expected the DNSKEY and the DS under one owner");
    };
    assert_eq!(key_tag(key), 60485);
    assert_eq!(ds_matches(&owner, key, ds), DsMatch::Match);
    assert!(matches!(
        anchors.get(&name("sub.example.")).unwrap(),
        [Anchor::Ds(_)]
    ));
    assert_eq!(key_tag(&only_dnskey(&anchors, "example.")), 3613);
    let (closest, _) = anchors.closest(&name("www.sub.example.")).unwrap();
    assert_eq!(*closest, name("sub.example."));
    assert!(anchors.closest(&name("example.org.")).is_none());
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("\n\n. IN DS 1 8 2 zz\n", 3, "not hex"),
        (". IN DS 1 8 2 abcd\n", 1, "32 octets"),
        (". IN DNSKEY 257 2 8 AwEAAQ==\n", 1, "not 3"),
        (". IN DNSKEY 257 3 8 !!!\n", 1, "base64"),
        (". IN A 192.0.2.1\n", 1, "DS or DNSKEY"),
        ("\n. IN DNSKEY 257 3 8 (\n AwEAAQ==\n", 2, "never closed"),
        ("example IN DS 1 8 2 abcd\n", 1, "without an $ORIGIN"),
        ("  IN DS 1 8 2 abcd\n", 1, "no previous owner"),
        (". CH DS 1 8 2 abcd\n", 1, "class IN"),
        ("$INCLUDE other\n", 1, "unsupported directive"),
        (". IN DS 1 8\n", 1, "missing DS digest type"),
    ];
    for (text, line, words) in cases {
        let error = TrustAnchors::parse(text).unwrap_err();
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.message.contains(words), "{text:?}: {error}");
    }
}

#[test]
fn an_entry_of_only_parentheses_is_skipped_not_a_panic() {
    // Found by fuzzing (fuzz/regressions/trust_anchor/entry-of-parentheses-only).
    let parsed = TrustAnchors::parse("()\n( )\n").unwrap();
    assert_eq!(parsed.iter().count(), 0);
}

#[test]
fn key_tags_come_from_ds_and_dnskey_anchors_but_not_revoked_keys() {
    let root = Name::root();
    assert_eq!(TrustAnchors::iana_root().key_tags(&root), [20326, 38696]);
    // KSK-2017 as a DNSKEY, plus the built-in DS of the same key: one tag, once.
    let mixed = TrustAnchors::parse(&format!(
        ". IN DNSKEY 257 3 8 {KSK_2017}\n{IANA_ROOT_ANCHORS}"
    ))
    .unwrap();
    assert_eq!(mixed.key_tags(&root), [20326, 38696]);
    // RFC 5011 §2.1: flags 385 = 257 with the REVOKE bit; such a key is not trusted.
    let revoked = TrustAnchors::parse(&format!(". IN DNSKEY 385 3 8 {KSK_2024}\n")).unwrap();
    assert!(revoked.key_tags(&root).is_empty());
    assert!(mixed.key_tags(&name("lab.")).is_empty(), "only the owner's");
}
