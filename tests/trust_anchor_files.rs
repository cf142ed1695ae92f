//! Trust-anchor files as operators write them, loaded by the resolver and used over real
//! packets against the lab: the lab root's anchor with mnemonics and an unusable line, and in
//! BIND's `trust-anchors` and `trusted-keys` clauses. Each row resolves a signed lab name
//! (authenticated or not, as the anchor deserves), asked twice; a file with no usable anchor
//! stops the resolver being built, naming the file.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use whydns::clock::SystemClock;
use whydns::dnssec::{AnchorError, AnchorFormat, AnchorWarning, SkipReason, TrustAnchors};
use whydns::explain::outcome::Resolution;
use whydns::resolver::{Resolver, ResolverError};

/// A file of its own for each call: tests run in parallel.
fn anchor_file(text: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("whydns-anchor-files-{}-{n}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The lab root's DS as (key tag, algorithm, digest type, hex digest).
fn lab_ds() -> (u16, u8, u8, String) {
    let ds = &common::lab().lab.root_ds[0];
    let hex: String = ds.digest.iter().map(|b| format!("{b:02x}")).collect();
    (ds.key_tag, ds.algorithm, ds.digest_type, hex)
}

/// The lab root's KSK as (flags, algorithm, base64), from the lab's own export.
fn lab_key() -> (String, String, String) {
    let text = whydns::lab::lab_root_dnskey(&common::lab().lab);
    let fields: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    // ". 3600 IN DNSKEY flags 3 algorithm key"
    (fields[4].into(), fields[6].into(), fields[7].into())
}

fn resolver_for(files: Vec<PathBuf>) -> Result<Resolver, ResolverError> {
    let mut config = common::lab_config();
    config.trust_anchors = files;
    Resolver::new(&config, Arc::new(SystemClock))
}

fn ask(resolver: &Resolver, name: &str) -> Resolution {
    let resolver = resolver.clone();
    let name = Name::from_ascii(name).unwrap();
    common::runtime().block_on(async move { resolver.resolve(&name, RecordType::A).await })
}

struct Row {
    label: &'static str,
    text: String,
    format: AnchorFormat,
    /// Lines skipped, with their reason.
    skipped: Vec<AnchorWarning>,
    /// Whether `valid.lab.` is authenticated through this anchor (else bogus).
    secure: bool,
}

fn rows() -> Vec<Row> {
    let (tag, algorithm, digest_type, hex) = lab_ds();
    assert_eq!(
        (algorithm, digest_type),
        (8, 2),
        "the lab root is RSASHA256"
    );
    let (flags, key_algorithm, key) = lab_key();
    vec![
        Row {
            label: "master file with mnemonics and a truncated digest",
            text: format!(
                "; the lab root\n. 3600 IN DS {tag} RSASHA256 SHA-256 {hex}\n\
                 . 3600 IN DS {tag} rsasha256 sha256 {}\n",
                &hex[..40]
            ),
            format: AnchorFormat::MasterFile,
            skipped: vec![AnchorWarning {
                line: 3,
                reason: SkipReason::DigestLength {
                    digest_type: 2,
                    expected: 32,
                    found: 20,
                },
            }],
            secure: true,
        },
        Row {
            label: "BIND trust-anchors static-ds",
            text: format!(
                "// the lab root\ntrust-anchors {{\n\t\".\" static-ds {tag} {algorithm} {digest_type} \"{hex}\";\n}};\n"
            ),
            format: AnchorFormat::BindClauses,
            skipped: vec![],
            secure: true,
        },
        Row {
            label: "BIND trust-anchors initial-key, and an unsupported algorithm",
            text: format!(
                "trust-anchors {{\n  . initial-key {flags} 3 {key_algorithm} \"{key}\";\n  \
                 . initial-ds {tag} ECC-GOST 2 \"{hex}\";\n}};\n"
            ),
            format: AnchorFormat::BindClauses,
            skipped: vec![AnchorWarning {
                line: 3,
                reason: SkipReason::UnsupportedAlgorithm { algorithm: 12 },
            }],
            secure: true,
        },
        Row {
            label: "BIND trusted-keys",
            text: format!("trusted-keys {{ . {flags} 3 {key_algorithm} \"{key}\"; }};\n"),
            format: AnchorFormat::BindClauses,
            skipped: vec![],
            secure: true,
        },
        Row {
            label: "BIND trust-anchors with a well-formed digest of no lab key",
            text: format!(
                "trust-anchors {{ . static-ds {tag} 8 2 \"{}\"; }};\n",
                "00".repeat(32)
            ),
            format: AnchorFormat::BindClauses,
            skipped: vec![],
            secure: false,
        },
    ]
}

#[test]
fn anchor_files_in_every_form_validate_the_lab() {
    for row in rows() {
        let parsed =
            TrustAnchors::parse(&row.text).unwrap_or_else(|e| panic!("{}: {e}", row.label));
        assert_eq!(parsed.format, row.format, "{}", row.label);
        assert_eq!(parsed.skipped, row.skipped, "{}", row.label);
        let resolver = resolver_for(vec![anchor_file(&row.text)])
            .unwrap_or_else(|e| panic!("{}: {e}", row.label));
        for ask_number in 1..=2 {
            let r = ask(&resolver, "valid.lab.");
            let context = format!("{} (ask {ask_number}): {:?}", row.label, r.security);
            assert_eq!(r.authenticated(), row.secure, "{context}");
            if row.secure {
                assert_eq!(r.rcode(), ResponseCode::NoError, "{context}");
                assert!(
                    r.answers.iter().any(|a| a.data.to_string() == "192.0.2.1"),
                    "{context}"
                );
            } else {
                assert_eq!(r.rcode(), ResponseCode::ServFail, "{context}");
            }
        }
    }
}

#[test]
fn a_file_with_no_usable_anchor_stops_the_resolver_naming_the_file() {
    let (tag, _, _, hex) = lab_ds();
    let master = format!(
        ". IN DS {tag} 8 2 {}\n. IN DS {tag} 8 SHA-384 {hex}\n",
        &hex[..40]
    );
    let bind = format!(
        "trust-anchors {{ . static-ds {tag} 8 2 \"{}\"; }};\n",
        &hex[..40]
    );
    let good = anchor_file(&format!(". IN DS {tag} 8 2 {hex}\n"));
    for (text, lines) in [(master, vec![1, 2]), (bind, vec![1])] {
        let bad = anchor_file(&text);
        // Alone, and after a good file: each file must give an anchor.
        for files in [vec![bad.clone()], vec![good.clone(), bad.clone()]] {
            let Err(error) = resolver_for(files) else {
                panic!("{text}: the resolver was built");
            };
            let ResolverError::TrustAnchorFile {
                path,
                error: AnchorError::NoUsableAnchor { skipped },
            } = &error
            else {
                panic!("{text}: {error}");
            };
            assert_eq!(path, &bad.display().to_string());
            assert!(error.to_string().contains(path.as_str()), "{error}");
            let found: Vec<usize> = skipped.iter().map(|w| w.line).collect();
            assert_eq!(found, lines, "{text}");
            assert!(skipped
                .iter()
                .all(|w| matches!(w.reason, SkipReason::DigestLength { .. })));
        }
    }
}
