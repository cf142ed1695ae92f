use std::net::Ipv4Addr;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::{Algorithm, PublicKeyBuf};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::SerialNumber;
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::*;

const INCEPTION: u32 = 1_000_000;
const EXPIRATION: u32 = 2_000_000;
const NOW: u32 = 1_500_000;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn pair(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

fn dnskey(pair: &Ed25519KeyPair, flags: u16) -> DNSKEY {
    DNSKEY::with_flags(
        flags,
        PublicKeyBuf::new(pair.public_key().as_ref().to_vec(), Algorithm::ED25519),
    )
}

fn key_record(zone: &str, key: &DNSKEY) -> Record {
    Record::from_rdata(
        name(zone),
        3600,
        RData::DNSSEC(DNSSECRData::DNSKEY(key.clone())),
    )
}

fn a_rrset(owner: &str) -> Vec<Record> {
    [1, 2]
        .iter()
        .map(|&last| {
            Record::from_rdata(
                name(owner),
                300,
                RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
            )
        })
        .collect()
}

fn input(labels: u8, tag: u16, signer: &str) -> SigInput {
    SigInput {
        type_covered: RecordType::A,
        algorithm: Algorithm::ED25519,
        num_labels: labels,
        original_ttl: 300,
        sig_expiration: SerialNumber::new(EXPIRATION),
        sig_inception: SerialNumber::new(INCEPTION),
        key_tag: tag,
        signer_name: name(signer),
    }
}

fn sign(pair: &Ed25519KeyPair, input: SigInput, rrset: &[Record]) -> Record {
    let data = signed_data(&input, rrset).unwrap();
    let sig = pair.sign(&data).as_ref().to_vec();
    Record::from_rdata(
        rrset[0].name.clone(),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, sig))),
    )
}

#[test]
fn serial_number_arithmetic() {
    assert!(serial_less(1, 2));
    assert!(!serial_less(2, 1));
    assert!(!serial_less(5, 5));
    assert!(serial_less(u32::MAX - 10, 5), "wraps around");
    assert!(
        !serial_less(0, 0x8000_0000),
        "undefined distance is not less"
    );
    assert!(!serial_less(0x8000_0000, 0));
}

#[test]
fn a_wildcard_expansion_verifies_and_is_reported() {
    let key = pair(1);
    let zone_key = dnskey(&key, 257);
    let tag = key_tag(&zone_key);
    // Signed by the zone as `*.example.`, answered for `a.b.example.`.
    let rrset = a_rrset("a.b.example.");
    let rrsig = sign(&key, input(1, tag, "example."), &rrset);
    let check = check_signatures(
        &rrset,
        &[rrsig],
        &[key_record("example.", &zone_key)],
        &name("example."),
        NOW,
        &mut VerificationBudget::new(10),
    );
    assert_eq!(check.matched, 1, "{check:?}");
    assert_eq!(check.wildcard, Some(name("*.example.")));
}

#[test]
fn canonical_order_ignores_record_order_ttl_and_duplicates() {
    let key = pair(2);
    let zone_key = dnskey(&key, 256);
    let rrset = a_rrset("www.example.");
    let rrsig = sign(&key, input(2, key_tag(&zone_key), "example."), &rrset);
    let mut shuffled = vec![rrset[1].clone(), rrset[0].clone(), rrset[1].clone()];
    shuffled[0].ttl = 17;
    shuffled[0].name = name("WWW.Example.");
    let check = check_signatures(
        &shuffled,
        &[rrsig],
        &[key_record("example.", &zone_key)],
        &name("example."),
        NOW,
        &mut VerificationBudget::new(10),
    );
    assert_eq!(check.matched, 1, "{check:?}");
}

#[test]
fn keys_without_the_zone_bit_or_revoked_are_not_used() {
    let key = pair(3);
    let rrset = a_rrset("www.example.");
    for (flags, expected) in [
        (0x0001, SignatureVerdict::NoZoneKeyBit),
        (0x0181, SignatureVerdict::RevokedKey),
    ] {
        let dnskey = dnskey(&key, flags);
        let rrsig = sign(&key, input(2, key_tag(&dnskey), "example."), &rrset);
        let mut budget = VerificationBudget::new(10);
        let check = check_signatures(
            &rrset,
            &[rrsig],
            &[key_record("example.", &dnskey)],
            &name("example."),
            NOW,
            &mut budget,
        );
        assert_eq!(check.signatures[0].verdict, expected);
        assert_eq!(budget.remaining(), 10, "no crypto spent");
    }
}

#[test]
fn structural_checks_and_windows() {
    let key = pair(4);
    let zone_key = dnskey(&key, 256);
    let tag = key_tag(&zone_key);
    let rrset = a_rrset("www.example.");
    let keys = [key_record("example.", &zone_key)];
    let run = |input: SigInput, now: u32| {
        let rrsig = sign(&key, input, &rrset);
        check_signatures(
            &rrset,
            &[rrsig],
            &keys,
            &name("example."),
            now,
            &mut VerificationBudget::new(10),
        )
    };
    assert_eq!(run(input(2, tag, "example."), NOW).matched, 1);
    assert_eq!(run(input(2, tag, "example."), EXPIRATION + 1).expired, 1);
    assert_eq!(
        run(input(2, tag, "example."), EXPIRATION).matched,
        1,
        "expiration is inclusive"
    );
    assert_eq!(
        run(input(2, tag, "example."), INCEPTION - 1).not_yet_valid,
        1
    );
    let mut backwards = input(2, tag, "example.");
    backwards.sig_expiration = SerialNumber::new(INCEPTION - 5);
    assert_eq!(run(backwards, NOW).expired_before_valid, 1);
    assert_eq!(
        run(input(2, tag.wrapping_add(1), "example."), NOW).no_matching_key,
        1
    );
    let mut other_type = input(2, tag, "example.");
    other_type.type_covered = RecordType::AAAA;
    let rrsig = Record::from_rdata(
        name("www.example."),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(other_type, vec![0; 64]))),
    );
    let check = check_signatures(
        &rrset,
        &[rrsig],
        &keys,
        &name("example."),
        NOW,
        &mut VerificationBudget::new(1),
    );
    assert_eq!(check.wrong_type_covered, 1);
    let mut rsamd5 = input(2, tag, "example.");
    rsamd5.algorithm = Algorithm::from_u8(1);
    let rrsig = Record::from_rdata(
        name("www.example."),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(rsamd5, vec![0; 64]))),
    );
    let check = check_signatures(
        &rrset,
        &[rrsig],
        &keys,
        &name("example."),
        NOW,
        &mut VerificationBudget::new(1),
    );
    assert_eq!(check.unsupported_algorithm, 1);
    let too_many = Record::from_rdata(
        name("www.example."),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
            input(3, tag, "example."),
            vec![0; 64],
        ))),
    );
    let check = check_signatures(
        &rrset,
        &[too_many],
        &keys,
        &name("example."),
        NOW,
        &mut VerificationBudget::new(1),
    );
    assert_eq!(check.bad_labels, 1);
}

#[test]
fn colliding_key_tags_are_capped_and_the_budget_holds() {
    // KeyTrap: many keys share a tag; only MAX_KEYS_PER_SIGNATURE are tried per RRSIG, and
    // the query's budget stops the check altogether.
    let signer = pair(5);
    let rrset = a_rrset("www.example.");
    let real = dnskey(&signer, 256);
    let tag = key_tag(&real);
    // Same tag and algorithm, different (bogus) key bytes: vary two bytes that cancel in the
    // checksum so the tag stays put.
    let impostors: Vec<DNSKEY> = (1..=6u8)
        .map(|n| {
            let mut bytes = signer.public_key().as_ref().to_vec();
            bytes[0] = bytes[0].wrapping_add(n);
            bytes[2] = bytes[2].wrapping_sub(n);
            DNSKEY::with_flags(256, PublicKeyBuf::new(bytes, Algorithm::ED25519))
        })
        .filter(|key| key_tag(key) == tag)
        .collect();
    assert_eq!(impostors.len(), 6);
    let mut keys: Vec<Record> = impostors
        .iter()
        .map(|k| key_record("example.", k))
        .collect();
    keys.push(key_record("example.", &real));
    let bad = Record::from_rdata(
        name("www.example."),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
            input(2, tag, "example."),
            vec![1; 64],
        ))),
    );
    let rrsigs = vec![bad.clone(), bad.clone(), bad];
    let mut budget = VerificationBudget::new(10);
    let check = check_signatures(&rrset, &rrsigs, &keys, &name("example."), NOW, &mut budget);
    assert_eq!(check.signatures[0].keys_tried, MAX_KEYS_PER_SIGNATURE as u8);
    assert_eq!(check.bad_crypto, 2);
    assert_eq!(check.key_tries_capped, 3);
    assert!(check.budget_exhausted);
    assert_eq!(
        check.signatures[2].verdict,
        SignatureVerdict::BudgetExhausted
    );
    assert_eq!(budget.remaining(), 0);
}

#[test]
fn rrsigs_that_match_no_key_cost_nothing_and_at_most_32_are_looked_at() {
    // 200 RRSIGs naming a tag no key has: none spends from the budget, and only the first
    // MAX_SIGNATURES_PER_RRSET are looked at (and so appear in the trace).
    let real = dnskey(&pair(7), 256);
    let keys = KeySet::new(&[key_record("example.", &real)], &name("example."));
    assert_eq!(keys.len(), 1);
    let tag = key_tag(&real).wrapping_add(1);
    let junk = Record::from_rdata(
        name("www.example."),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
            input(2, tag, "example."),
            vec![1; 64],
        ))),
    );
    let rrsigs = vec![junk; 200];
    let mut budget = VerificationBudget::new(64);
    let check = check_signatures_with(
        &a_rrset("www.example."),
        &rrsigs,
        &keys,
        &name("example."),
        NOW,
        &mut budget,
    );
    assert_eq!(budget.remaining(), 64, "no verification was paid for");
    assert_eq!(check.signatures.len(), MAX_SIGNATURES_PER_RRSET);
    assert_eq!(
        usize::from(check.signatures_capped),
        200 - MAX_SIGNATURES_PER_RRSET
    );
    assert_eq!(usize::from(check.no_matching_key), MAX_SIGNATURES_PER_RRSET);
    assert!(!check.is_valid());
}
