//! Attacks on the validator that need more than a scenario row: a configured trust anchor
//! for an island of security, time moving past a DS signature's expiration, a clock that
//! steps back, and unvalidated data cached first by a CD=1 question. Each runs against the
//! lab on loopback, with forged answers from the lab's answer-rewriting faults.

mod common;

use std::sync::Arc;

use base64::Engine;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::PublicKey;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use whydns::clock::{Clock, FixedClock, SystemClock};
use whydns::config::Config;
use whydns::explain::outcome::Resolution;
use whydns::resolver::Resolver;

fn config(extra_anchor: Option<std::path::PathBuf>) -> Config {
    let lab = common::lab();
    // Written once: tests run in parallel, and a file rewritten under a reader reads empty.
    static HINTS: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let hints = HINTS
        .get_or_init(|| {
            let path = std::env::temp_dir().join(format!("whydns-vh-hints-{}", std::process::id()));
            std::fs::write(&path, whydns::lab::lab_root_hints(&lab.lab)).unwrap();
            path
        })
        .clone();
    let mut trust_anchors = vec![common::lab_anchor_file()];
    trust_anchors.extend(extra_anchor);
    Config {
        root_hints: Some(hints),
        trust_anchors,
        upstream_port: lab.running.port,
        ..Config::default()
    }
}

fn resolver(config: &Config, clock: Arc<dyn Clock>) -> Resolver {
    Resolver::new(config, clock).expect("resolver")
}

fn run(resolver: &Resolver, name: &str, rtype: RecordType, cd: bool) -> Resolution {
    let resolver = resolver.clone();
    let name = Name::from_ascii(name).unwrap();
    common::runtime().block_on(async move { resolver.resolve_with(&name, rtype, cd).await })
}

fn holds(r: &Resolution, data: &str) -> bool {
    r.answers.iter().any(|a| a.data.to_string() == data)
}

/// A trust-anchor file with the KSK of the lab zone `zone` as a DNSKEY line.
fn anchor_for(zone: &str) -> std::path::PathBuf {
    let lab = common::lab();
    let name = Name::from_ascii(zone).unwrap();
    let z = lab.lab.zones.get(&name).expect("lab zone");
    let mut out = String::new();
    for record in z.rrset(&z.apex, RecordType::DNSKEY).into_iter().flatten() {
        if let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &record.data {
            if key.flags() == 257 {
                out.push_str(&format!(
                    "{zone} 3600 IN DNSKEY 257 3 {} {}\n",
                    u8::from(key.public_key().algorithm()),
                    base64::engine::general_purpose::STANDARD
                        .encode(key.public_key().public_bytes())
                ));
            }
        }
    }
    assert!(!out.is_empty(), "{zone} has no KSK");
    let path = std::env::temp_dir().join(format!("whydns-vh-anchor-{}-{zone}", std::process::id()));
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn a_configured_anchor_rules_its_zone_whatever_its_unsigned_parent_serves() {
    let anchored = config(Some(anchor_for("sec.anchor-island.lab.")));
    let r = resolver(&anchored, Arc::new(SystemClock));
    let control = run(&r, "ok.sec.anchor-island.lab.", RecordType::A, false);
    assert!(
        control.authenticated(),
        "the anchored zone validates: {:?}",
        control.security
    );
    let forged = run(&r, "www.sec.anchor-island.lab.", RecordType::A, false);
    assert_eq!(
        forged.rcode(),
        ResponseCode::ServFail,
        "{:?}",
        forged.security
    );
    let codes: Vec<u16> = forged.ede().iter().map(|e| e.code as u16).collect();
    assert_eq!(codes, vec![6]);
    assert_eq!(forged.diagnose().cause.token(), "signer-mismatch");
    // Asked again (answer cache), and by a resolver without the answer cache.
    let again = run(&r, "www.sec.anchor-island.lab.", RecordType::A, false);
    assert_eq!(again.rcode(), ResponseCode::ServFail);
    let mut records_only = anchored.clone();
    records_only.cache.answers = 0;
    let r = resolver(&records_only, Arc::new(SystemClock));
    for _ in 0..2 {
        let forged = run(&r, "www.sec.anchor-island.lab.", RecordType::A, false);
        assert_eq!(forged.rcode(), ResponseCode::ServFail);
    }
}

#[test]
fn answers_validated_through_a_ds_live_no_longer_than_its_signature() {
    // The RRSIG over child.ds-rrsig-exp-soon.lab. DS expires 600 s after the lab signed.
    let lab = common::lab();
    let clock = FixedClock::at(lab.lab.signed_at);
    let r = resolver(&config(None), Arc::new(clock.clone()));
    let name = "www.child.ds-rrsig-exp-soon.lab.";
    let first = run(&r, name, RecordType::A, false);
    assert!(first.authenticated(), "{:?}", first.security);
    assert!(
        first.answers.iter().all(|a| a.ttl <= 600),
        "{:?}",
        first.answers
    );
    clock.advance(590);
    let late = run(&r, name, RecordType::A, false);
    let ttl = late.answers.iter().map(|a| a.ttl).max().unwrap_or(0);
    assert!(ttl <= 10, "TTL {ttl} 10 s before the DS signature expires");
    clock.advance(30);
    let expired = run(&r, name, RecordType::A, false);
    assert!(
        !expired.authenticated(),
        "AD after the DS signature expired: {:?}",
        expired.security
    );
    // The same as a resolver that never saw the zone before.
    let fresh = resolver(
        &config(None),
        Arc::new(FixedClock::at(lab.lab.signed_at + 620)),
    );
    let cold = run(&fresh, name, RecordType::A, false);
    assert_eq!(expired.rcode(), cold.rcode());
    assert_eq!(expired.authenticated(), cold.authenticated());
}

#[test]
fn a_clock_that_steps_back_does_not_break_cached_answers() {
    let lab = common::lab();
    let clock = FixedClock::at(lab.lab.signed_at + 100);
    let r = resolver(&config(None), Arc::new(clock.clone()));
    let first = run(&r, "valid.lab.", RecordType::A, false);
    assert!(first.authenticated());
    clock.advance(u64::MAX); // one second back (wrapping)
    let again = run(&r, "valid.lab.", RecordType::A, false);
    assert!(again.authenticated());
    assert_eq!(again.answers.len(), first.answers.len());
    assert!(again.answers.iter().all(|a| a.ttl > 0));
}

#[test]
fn data_cached_unvalidated_by_a_cd_question_is_validated_before_it_is_served() {
    let cases = [
        "www.rrsig-foreign-key.lab.",
        "www.rrsig-signer-unsigned.lab.",
        "www.child.ds-signer-relabelled.lab.",
        "www.signer-below-cut.lab.",
        "www.old.dname-forged-cname.lab.",
        "anything.wildcard.lab.",
        "www.old.dname.lab.",
        "nx.nxdomain-nsec.lab.",
    ];
    let mut records_only = config(None);
    records_only.cache.answers = 0;
    for name in cases {
        let fresh = run(
            &resolver(&records_only, Arc::new(SystemClock)),
            name,
            RecordType::A,
            false,
        );
        let r = resolver(&records_only, Arc::new(SystemClock));
        let unchecked = run(&r, name, RecordType::A, true);
        assert!(!unchecked.authenticated(), "{name}: AD with CD");
        let after = run(&r, name, RecordType::A, false);
        assert_eq!(
            (after.rcode(), after.authenticated(), after.answers.len()),
            (fresh.rcode(), fresh.authenticated(), fresh.answers.len()),
            "{name}: a CD=1 question first changed the validating answer"
        );
        // A SERVFAIL carries no records to the client (the resolution keeps them for CD).
        let served = after.rcode() != ResponseCode::ServFail && holds(&after, "192.0.2.66");
        assert!(!served, "{name}: forged data served");
    }
}
