use super::super::tests::KSK_2017;
use super::super::{
    AnchorError, AnchorFileProblem, AnchorFormat, AnchorWarning, ParsedAnchors, SkipReason,
    TrustAnchors,
};

const DIGEST_2017: &str = "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";

fn parse(text: &str) -> ParsedAnchors {
    let parsed = TrustAnchors::parse(text).unwrap_or_else(|e| panic!("{text}\n{e}"));
    assert_eq!(parsed.format, AnchorFormat::BindClauses, "{text}");
    parsed
}

/// The same anchors as master-file lines.
fn master(lines: &str) -> TrustAnchors {
    let parsed = TrustAnchors::parse(lines).unwrap();
    assert_eq!(parsed.format, AnchorFormat::MasterFile);
    parsed.anchors
}

#[test]
fn trust_anchors_clause_with_keys_split_over_lines_and_every_comment_form() {
    let (head, tail) = KSK_2017.split_at(100);
    let text = format!(
        "/* bind.keys, as BIND ships it */\n\
         # and a shell-style comment\n\
         trust-anchors {{\n\
         \t// the root KSK-2017, as a key and as a digest\n\
         \t. initial-key 257 3 8 \"{head}\n\
         \t\t\t\t{tail}\";\n\
         \t\".\" initial-ds 20326 8 2 \"{}\n {}\"; /* split digest */\n\
         \texample.com static-key 257 3 RSASHA256 \"{KSK_2017}\";\n\
         \texample.net. static-ds 20326 RSASHA256 SHA-256 \"{DIGEST_2017}\";\n\
         }};\n",
        &DIGEST_2017[..32],
        &DIGEST_2017[32..],
    );
    let parsed = parse(&text);
    assert_eq!(parsed.skipped, []);
    assert_eq!(
        parsed.anchors,
        master(&format!(
            ". DNSKEY 257 3 8 {KSK_2017}\n. DS 20326 8 2 {DIGEST_2017}\n\
             example.com. DNSKEY 257 3 8 {KSK_2017}\nexample.net. DS 20326 8 2 {DIGEST_2017}\n"
        ))
    );
}

#[test]
fn managed_keys_and_trusted_keys_clauses_several_in_a_file() {
    let text = format!(
        "// older clauses\nMANAGED-KEYS{{ \"example.\" initial-key 257 3 8 \"{KSK_2017}\"; }};\n\
         trusted-keys {{\n  example.org 257 3 8 \"{KSK_2017}\";\n  ;\n}};\n\
         trust-anchors {{ . static-ds 20326 8 2 \"{DIGEST_2017}\"; }};\n"
    );
    let parsed = parse(&text);
    assert_eq!(parsed.skipped, []);
    assert_eq!(
        parsed.anchors,
        master(&format!(
            "example. DNSKEY 257 3 8 {KSK_2017}\nexample.org. DNSKEY 257 3 8 {KSK_2017}\n\
             . DS 20326 8 2 {DIGEST_2017}\n"
        ))
    );
}

#[test]
fn unusable_entries_are_skipped_with_the_line_of_their_name() {
    let text = format!(
        "trust-anchors {{\n\
         . static-ds 20326 8 2 \"{DIGEST_2017}\";\n\
         . static-ds 20326 8 2 \"abcd\";\n\
         . dynamic-key 257 3 8 \"{KSK_2017}\";\n\
         .\n  static-key 257 3 8 \"!!!\";\n\
         example.;\n\
         a..b static-ds 1 8 2 \"{DIGEST_2017}\";\n\
         . static-key 257 3 8 \"{KSK_2017}\"\n\
         }};\n\
         trusted-keys {{ . static-key 3 8 \"{KSK_2017}\"; }};\n"
    );
    let parsed = parse(&text);
    assert_eq!(parsed.anchors.len(), 1);
    let found: Vec<(usize, SkipReason)> = parsed
        .skipped
        .into_iter()
        .map(|w| (w.line, w.reason))
        .collect();
    let unreadable = |field, text: &str| SkipReason::Unreadable {
        field,
        text: text.into(),
    };
    use crate::dnssec::AnchorField as F;
    assert_eq!(
        found,
        [
            (
                3,
                SkipReason::DigestLength {
                    digest_type: 2,
                    expected: 32,
                    found: 2
                }
            ),
            (4, unreadable(F::AnchorKind, "dynamic-key")),
            (5, unreadable(F::PublicKey, "!!!")),
            (
                7,
                SkipReason::Missing {
                    field: F::AnchorKind
                }
            ),
            (8, unreadable(F::OwnerName, "a..b")),
            (9, SkipReason::Unterminated),
            (11, unreadable(F::Flags, "static-key")),
        ]
    );
}

#[test]
fn the_format_is_told_by_the_first_word() {
    let bind = [
        format!("trust-anchors{{. static-ds 20326 8 2 \"{DIGEST_2017}\";}};"),
        format!("\n\n  /* a\n comment */ Trusted-Keys {{ . 257 3 8 \"{KSK_2017}\"; }};"),
        format!("# unquoted\ntrust-anchors {{ . static-ds 20326 8 2 {DIGEST_2017}; }};"),
    ];
    for text in &bind {
        assert_eq!(parse(text).anchors.len(), 1, "{text}");
    }
    // A master file whose first owner is a name that merely starts like a clause.
    let text = format!("trust-anchors.example. DS 20326 8 2 {DIGEST_2017}\n");
    assert_eq!(
        TrustAnchors::parse(&text).unwrap().format,
        AnchorFormat::MasterFile
    );
}

#[test]
fn a_broken_clause_structure_is_an_error_naming_the_line() {
    use AnchorFileProblem as P;
    let clause = |name: &str| name.to_string();
    let cases = [
        (
            "trust-anchors {\n . static-ds 1 8 2 \"ab;\n};\n",
            2,
            P::UnclosedString,
        ),
        (
            "trust-anchors { };\n\n/* never closed\n",
            3,
            P::UnclosedComment,
        ),
        (
            "trust-anchors { };\noptions { };\n",
            2,
            P::UnknownStatement {
                statement: "options".into(),
            },
        ),
        (
            "trust-anchors { };\n};\n",
            2,
            P::UnknownStatement {
                statement: "}".into(),
            },
        ),
        (
            "trust-anchors\n. static-ds 1 8 2 \"ab\";\n",
            1,
            P::NoOpeningBrace {
                clause: clause("trust-anchors"),
            },
        ),
        (
            "\nmanaged-keys {\n . initial-key 257 3 8 \"AwEAAQ==\";\n",
            2,
            P::UnclosedClause {
                clause: clause("managed-keys"),
            },
        ),
        (
            "trusted-keys {\n}\n",
            2,
            P::NoSemicolon {
                clause: clause("trusted-keys"),
            },
        ),
        (
            "trust-anchors {\n . { static-ds };\n};\n",
            2,
            P::NestedBrace {
                clause: clause("trust-anchors"),
            },
        ),
    ];
    for (text, line, problem) in cases {
        assert_eq!(
            TrustAnchors::parse(text),
            Err(AnchorError::Unreadable { line, problem }),
            "{text}"
        );
    }
}

#[test]
fn clauses_with_no_usable_entry_are_an_error() {
    let text = "trust-anchors {\n . static-ds 1 8 2 \"abcd\";\n};\ntrusted-keys { };\n";
    let error = TrustAnchors::parse(text).unwrap_err();
    let AnchorError::NoUsableAnchor { skipped } = error else {
        panic!("{error:?}");
    };
    assert!(matches!(
        skipped[..],
        [AnchorWarning {
            line: 2,
            reason: SkipReason::DigestLength { .. }
        }]
    ));
}
