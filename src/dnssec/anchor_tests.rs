use super::*;
use crate::dnssec::ds::{ds_matches, key_tag, DsMatch};
use base64::Engine;

/// The root KSKs as the root zone publishes them (flags 257, algorithm 8).
pub(super) const KSK_2017: &str = "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";
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
    .unwrap()
    .anchors;
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
    let anchors = TrustAnchors::parse(text).unwrap().anchors;
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
    let parsed = TrustAnchors::parse(text).unwrap();
    assert_eq!(parsed.format, AnchorFormat::MasterFile);
    assert_eq!(parsed.skipped, []);
    let anchors = parsed.anchors;
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

/// A usable anchor: the root's KSK-2017 DS.
const GOOD: &str =
    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";

fn hex(octets: usize) -> String {
    "ab".repeat(octets)
}

fn b64(octets: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(vec![7u8; octets])
}

/// Parses `GOOD` then `line`: the one warning, for line 2.
fn skipped_after_good(line: &str) -> Vec<AnchorWarning> {
    let parsed = TrustAnchors::parse(&format!("{GOOD}\n{line}\n"))
        .unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(parsed.anchors.len(), 1, "{line:?}");
    parsed.skipped
}

#[test]
fn built_in_anchors_are_read_without_warnings() {
    let parsed = TrustAnchors::parse(IANA_ROOT_ANCHORS).unwrap();
    assert_eq!(parsed.skipped, []);
    assert_eq!(parsed.anchors, TrustAnchors::iana_root());
}

#[test]
fn mnemonics_are_read_in_any_case_as_their_numbers() {
    let digest = "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";
    let numeric = TrustAnchors::parse(&format!(
        ". IN DS 20326 8 2 {digest}\n. IN DNSKEY 257 3 8 {KSK_2017}\n"
    ))
    .unwrap();
    for (algorithm, digest_type) in [
        ("RSASHA256", "SHA-256"),
        ("rsasha256", "sha256"),
        ("RsaSha256", "SHA256"),
    ] {
        let named = TrustAnchors::parse(&format!(
            ". IN DS 20326 {algorithm} {digest_type} {digest}\n\
             . IN DNSKEY 257 3 {algorithm} {KSK_2017}\n"
        ))
        .unwrap();
        assert_eq!(named, numeric, "{algorithm} {digest_type}");
    }
}

#[test]
fn every_algorithm_mnemonic_is_its_number() {
    let algorithms = [
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("RSASHA1-NSEC3-SHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
    ];
    for (mnemonic, number) in algorithms {
        assert_eq!(algorithm_mnemonic(number), Some(mnemonic));
        let line = format!("example. IN DS 1 {} 2 {}", mnemonic.to_lowercase(), hex(32));
        let parsed = TrustAnchors::parse(&format!("{GOOD}\n{line}\n")).unwrap();
        if crate::dnssec::algorithm_supported(number) {
            assert_eq!(parsed.skipped, [], "{mnemonic}");
            let [Anchor::Ds(ds)] = parsed.anchors.get(&name("example.")).unwrap() else {
                panic!("{mnemonic}: one DS");
            };
            assert_eq!(u8::from(ds.algorithm()), number, "{mnemonic}");
        } else {
            let reason = SkipReason::UnsupportedAlgorithm { algorithm: number };
            assert_eq!(parsed.skipped, [AnchorWarning { line: 2, reason }]);
        }
    }
}

#[test]
fn every_digest_mnemonic_is_its_number() {
    let digests = [
        ("SHA-1", 1, 20),
        ("sha1", 1, 20),
        ("SHA-256", 2, 32),
        ("Sha256", 2, 32),
        ("GOST", 3, 32),
        ("SHA-384", 4, 48),
        ("sha384", 4, 48),
    ];
    for (mnemonic, number, octets) in digests {
        let line = format!("example. IN DS 1 8 {mnemonic} {}", hex(octets));
        let parsed = TrustAnchors::parse(&format!("{GOOD}\n{line}\n")).unwrap();
        if crate::dnssec::digest_supported(number) {
            assert_eq!(parsed.skipped, [], "{mnemonic}");
            let [Anchor::Ds(ds)] = parsed.anchors.get(&name("example.")).unwrap() else {
                panic!("{mnemonic}: one DS");
            };
            assert_eq!(u8::from(ds.digest_type()), number, "{mnemonic}");
        } else {
            let reason = SkipReason::UnsupportedDigest {
                digest_type: number,
            };
            assert_eq!(parsed.skipped, [AnchorWarning { line: 2, reason }]);
        }
    }
}

#[test]
fn each_unusable_entry_is_skipped_with_its_reason() {
    use AnchorField as F;
    let unreadable = |field, text: &str| SkipReason::Unreadable {
        field,
        text: text.into(),
    };
    let cases: Vec<(String, SkipReason)> = vec![
        (
            ". IN DS 20326 RSASHA256 SHA-256 abcd".into(),
            SkipReason::DigestLength {
                digest_type: 2,
                expected: 32,
                found: 2,
            },
        ),
        (
            format!(". DS 1 8 SHA-1 {}", hex(32)),
            SkipReason::DigestLength {
                digest_type: 1,
                expected: 20,
                found: 32,
            },
        ),
        (
            format!(". DS 1 8 4 {}", hex(32)),
            SkipReason::DigestLength {
                digest_type: 4,
                expected: 48,
                found: 32,
            },
        ),
        (". DS 1 8 2 zz".into(), unreadable(F::Digest, "zz")),
        (
            format!(". DS 1 8 9 {}", hex(32)),
            SkipReason::UnsupportedDigest { digest_type: 9 },
        ),
        (
            format!(". DS 1 200 2 {}", hex(32)),
            SkipReason::UnsupportedAlgorithm { algorithm: 200 },
        ),
        (
            format!(". DS 1 RSASHA999 2 {}", hex(32)),
            unreadable(F::Algorithm, "RSASHA999"),
        ),
        (
            format!(". DS 1 8 SHA-512 {}", hex(32)),
            unreadable(F::DigestType, "SHA-512"),
        ),
        (
            format!(". DS 70000 8 2 {}", hex(32)),
            unreadable(F::KeyTag, "70000"),
        ),
        (
            ". DS 1 8".into(),
            SkipReason::Missing {
                field: F::DigestType,
            },
        ),
        (
            ". DS 1 8 2".into(),
            SkipReason::Missing { field: F::Digest },
        ),
        (
            ". DNSKEY 257 3 8".into(),
            SkipReason::Missing {
                field: F::PublicKey,
            },
        ),
        (
            ". DNSKEY 257 2 8 AwEAAQ==".into(),
            SkipReason::Protocol { protocol: 2 },
        ),
        (
            ". DNSKEY 257 3 8 !!!".into(),
            unreadable(F::PublicKey, "!!!"),
        ),
        (
            format!(". DNSKEY 1 3 15 {}", b64(32)),
            SkipReason::NotAZoneKey { flags: 1 },
        ),
        (
            format!(". DNSKEY 385 3 ED25519 {}", b64(32)),
            SkipReason::Revoked { flags: 385 },
        ),
        (
            format!(". DNSKEY 257 3 ED25519 {}", b64(31)),
            SkipReason::KeyLength {
                algorithm: 15,
                expected: 32,
                found: 31,
            },
        ),
        (
            format!(". DNSKEY 257 3 ECDSAP256SHA256 {}", b64(32)),
            SkipReason::KeyLength {
                algorithm: 13,
                expected: 64,
                found: 32,
            },
        ),
        (
            format!(". DNSKEY 257 3 DSA {}", b64(32)),
            SkipReason::UnsupportedAlgorithm { algorithm: 3 },
        ),
        (
            ". IN A 192.0.2.1".into(),
            SkipReason::NotAnAnchorType { rtype: "A".into() },
        ),
        (
            format!(". ch DS 1 8 2 {}", hex(32)),
            SkipReason::NotClassIn { class: "CH".into() },
        ),
        (
            format!("example IN DS 1 8 2 {}", hex(32)),
            SkipReason::NoOrigin {
                text: "example".into(),
            },
        ),
        (
            format!("@ DS 1 8 2 {}", hex(32)),
            SkipReason::NoOrigin { text: "@".into() },
        ),
        (
            format!("a..b. DS 1 8 2 {}", hex(32)),
            unreadable(F::OwnerName, "a..b."),
        ),
        (
            format!(". IN \"DS\" 1 8 2 {}", hex(32)),
            SkipReason::QuotedText,
        ),
        (
            ".".into(),
            SkipReason::Missing {
                field: F::RecordType,
            },
        ),
    ];
    for (line, reason) in cases {
        assert!(!reason.to_string().is_empty());
        assert_eq!(
            skipped_after_good(&line),
            [AnchorWarning { line: 2, reason }],
            "{line:?}"
        );
    }
}

#[test]
fn long_unreadable_text_is_cut_to_forty_characters() {
    let skipped = skipped_after_good(&format!(". DS 1 8 2 {}", "z".repeat(500)));
    let [AnchorWarning {
        reason: SkipReason::Unreadable { text, .. },
        ..
    }] = &skipped[..]
    else {
        panic!("{skipped:?}");
    };
    assert_eq!(text.chars().count(), 40);
}

#[test]
fn a_blank_owner_after_an_unusable_owner_is_not_filed_under_an_earlier_name() {
    let text = format!(
        "{GOOD}\na..b. DS 1 8 2 {hex}\n  DS 20326 8 2 {hex}\n  (\n  DS 20326 8 2 {hex} )\n",
        hex = hex(32)
    );
    let parsed = TrustAnchors::parse(&text).unwrap();
    assert_eq!(parsed.anchors.len(), 1);
    let lines: Vec<(usize, &SkipReason)> =
        parsed.skipped.iter().map(|w| (w.line, &w.reason)).collect();
    assert!(matches!(
        lines[..],
        [
            (2, SkipReason::Unreadable { .. }),
            (3, SkipReason::NoOwner),
            (4, SkipReason::NoOwner)
        ]
    ));
    // At the start of a file there is no owner to take.
    let skipped = TrustAnchors::parse(&format!("  DS 1 8 2 {}\n{GOOD}\n", hex(32)))
        .unwrap()
        .skipped;
    assert_eq!(
        skipped,
        [AnchorWarning {
            line: 1,
            reason: SkipReason::NoOwner
        }]
    );
}

#[test]
fn a_file_with_no_usable_anchor_is_an_error_listing_every_reason() {
    let text = format!(
        "; only bad lines\n. DS 1 8 2 abcd\n\n. DNSKEY 257 3 8 !!!\n. DS 1 12 2 {}\n",
        hex(32)
    );
    let AnchorError::NoUsableAnchor { skipped } = TrustAnchors::parse(&text).unwrap_err() else {
        panic!("expected NoUsableAnchor");
    };
    let lines: Vec<usize> = skipped.iter().map(|w| w.line).collect();
    assert_eq!(lines, [2, 4, 5]);
    assert_eq!(
        skipped[2].reason,
        SkipReason::UnsupportedAlgorithm { algorithm: 12 }
    );
    for empty in ["", "; nothing\n", "$TTL 3600\n", "()\n"] {
        assert_eq!(
            TrustAnchors::parse(empty),
            Err(AnchorError::NoUsableAnchor { skipped: vec![] }),
            "{empty:?}"
        );
    }
}

#[test]
fn a_broken_file_structure_is_an_error_naming_the_line() {
    use AnchorFileProblem as P;
    let cases = [
        (
            format!("{GOOD}\n. IN DNSKEY 257 3 8 (\n AwEAAQ==\n"),
            2,
            P::UnclosedParenthesis,
        ),
        (format!("{GOOD}\n)\n"), 2, P::StrayParenthesis),
        (
            format!("{GOOD}\n$INCLUDE other\n"),
            2,
            P::UnsupportedDirective {
                directive: "$INCLUDE".into(),
            },
        ),
        (format!("$ORIGIN\n{GOOD}\n"), 1, P::OriginMissing),
        (
            format!("{GOOD}\n\n$ORIGIN a..b.\n"),
            3,
            P::BadOrigin {
                text: "a..b.".into(),
            },
        ),
    ];
    for (text, line, problem) in cases {
        assert_eq!(
            TrustAnchors::parse(&text),
            Err(AnchorError::Unreadable { line, problem }),
            "{text:?}"
        );
    }
}

#[test]
fn an_entry_of_only_parentheses_is_skipped_not_a_panic() {
    // Found by fuzzing (fuzz/regressions/trust_anchor/entry-of-parentheses-only).
    let parsed = TrustAnchors::parse(&format!("()\n( )\n{GOOD}\n")).unwrap();
    assert_eq!(parsed.anchors.len(), 1);
    assert_eq!(parsed.skipped, []);
}

#[test]
fn key_tags_come_from_ds_and_dnskey_anchors_but_not_revoked_keys() {
    let root = Name::root();
    assert_eq!(TrustAnchors::iana_root().key_tags(&root), [20326, 38696]);
    // KSK-2017 as a DNSKEY, plus the built-in DS of the same key: one tag, once.
    let mixed = TrustAnchors::parse(&format!(
        ". IN DNSKEY 257 3 8 {KSK_2017}\n{IANA_ROOT_ANCHORS}"
    ))
    .unwrap()
    .anchors;
    assert_eq!(mixed.key_tags(&root), [20326, 38696]);
    // RFC 5011 §2.1: flags 385 = 257 with the REVOKE bit; such a key is not trusted (the
    // reader skips it; a usable anchor elsewhere keeps the file loadable).
    let revoked = TrustAnchors::parse(&format!(
        ". IN DNSKEY 385 3 8 {KSK_2024}\n{}",
        IANA_ROOT_ANCHORS.replace(". IN DS", "lab. IN DS")
    ))
    .unwrap()
    .anchors;
    assert!(revoked.key_tags(&root).is_empty());
    assert!(mixed.key_tags(&name("lab.")).is_empty(), "only the owner's");
}
