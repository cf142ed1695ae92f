//! The derivation's tests: every code reachable, precedence, texts.

use super::*;
use crate::explain::proof::{Absent, Proof};
use crate::explain::verdict::{
    BudgetWork, FailedProof, IndeterminateReason, KeyId, KeysSeen, SignatureCheck, SignatureDetail,
    SignatureVerdict,
};
use hickory_proto::rr::Name;

fn check_with(verdicts: &[SignatureVerdict]) -> SignatureCheck {
    let mut check = SignatureCheck::default();
    for v in verdicts {
        check.signatures.push(SignatureDetail {
            key_tag: 31337,
            algorithm: 13,
            signer: hickory_proto::rr::Name::from_ascii("x.lab.").unwrap(),
            labels: 2,
            inception: 1_733_011_200,
            expiration: 1_735_689_600,
            keys_tried: 1,
            verdict: *v,
        });
        match v {
            SignatureVerdict::Expired => check.expired += 1,
            SignatureVerdict::ExpiredBeforeValid => check.expired_before_valid += 1,
            SignatureVerdict::NotYetValid => check.not_yet_valid += 1,
            SignatureVerdict::NoMatchingKey => check.no_matching_key += 1,
            SignatureVerdict::NoZoneKeyBit => check.no_zone_key_bit += 1,
            _ => check.bad_crypto += 1,
        }
    }
    check
}

fn code(reason: BogusReason) -> u16 {
    bogus_code(&reason).0 as u16
}

fn trace(id: &str) -> Trace {
    Trace::new(id.into(), 100)
}

fn security_ede(security: Security) -> Vec<Ede> {
    derive(&Outcome::Answer, &security, &trace("t"))
}

#[test]
fn counters_pick_the_most_specific_code() {
    let cases = [
        (vec![], 10),
        (vec![SignatureVerdict::Expired], 7),
        (
            vec![SignatureVerdict::BadCrypto, SignatureVerdict::Expired],
            7,
        ),
        (vec![SignatureVerdict::NotYetValid], 8),
        (
            vec![
                SignatureVerdict::ExpiredBeforeValid,
                SignatureVerdict::Expired,
            ],
            25,
        ),
        (vec![SignatureVerdict::NoZoneKeyBit], 11),
        (vec![SignatureVerdict::NoMatchingKey], 9),
        (vec![SignatureVerdict::BadCrypto], 6),
    ];
    for (verdicts, expected) in cases {
        let reason = BogusReason::from_check("x.lab.", "A", &check_with(&verdicts));
        assert_eq!(code(reason), expected, "{verdicts:?}");
    }
}

#[test]
fn expired_text_names_key_and_times() {
    let reason =
        BogusReason::from_check("www.x.lab.", "A", &check_with(&[SignatureVerdict::Expired]));
    let ede = derive(
        &Outcome::NoData,
        &Security::Bogus { reason },
        &trace("abc123"),
    );
    assert_eq!(
        ede[0].text,
        "RRSIG over www.x.lab. A expired (key 31337 alg 13 valid 2024-12-01T00:00:00Z..2025-01-01T00:00:00Z) [trace abc123]"
    );
}

#[test]
fn insecure_answers_carry_a_code_only_when_something_is_unsupported() {
    let none = Security::Insecure {
        reason: InsecureReason::NoDs {
            zone: "u.lab.".into(),
        },
    };
    assert!(security_ede(none).is_empty());
    let alg = Security::Insecure {
        reason: InsecureReason::UnsupportedAlgorithm {
            zone: "dsa.lab.".into(),
            algorithms: vec![3],
        },
    };
    assert_eq!(security_ede(alg)[0].code as u16, 1);
    let digest = Security::Insecure {
        reason: InsecureReason::UnsupportedDigest {
            zone: "d.lab.".into(),
            digest_types: vec![100],
        },
    };
    assert_eq!(security_ede(digest)[0].code as u16, 2);
    let iterations = Security::Insecure {
        reason: InsecureReason::Nsec3Iterations {
            zone: "n.lab.".into(),
            iterations: 200,
            limit: 50,
        },
    };
    assert_eq!(security_ede(iterations)[0].code as u16, 27);
}

/// One sample of every reason `derive` and `refusal` read. Each `match` below has no
/// `_ =>` arm, so a new variant does not compile until it has a sample here.
fn samples() -> (Vec<Failure>, Vec<Security>, Vec<Refusal>) {
    let zone = || "z.lab.".to_string();
    let failures = vec![
        Failure::NoReachableAuthority {
            zone: zone(),
            servers: vec![("127.0.0.1:53".parse().unwrap(), ServerFailure::Timeout)],
        },
        Failure::NoReachableAuthority {
            zone: zone(),
            servers: vec![(
                "127.0.0.1:53".parse().unwrap(),
                ServerFailure::TruncatedNoTcp,
            )],
        },
        Failure::NoServerAddress {
            zone: zone(),
            ns: vec!["ns.z.lab.".into()],
        },
        Failure::CircularDependency {
            path: vec![crate::explain::event::CycleStep {
                zone: Name::from_ascii("z.lab.").unwrap(),
                ns: Name::from_ascii("ns.z.lab.").unwrap(),
            }],
        },
        Failure::LimitReached {
            limit: Limit::CnameChain,
        },
        Failure::AliasLoop {
            chain: vec![zone()],
        },
        Failure::RootKeySentinel {
            kind: SentinelKind::IsTa,
            tag: 1,
            trusted: vec![20326],
        },
    ];
    for f in &failures {
        match f {
            Failure::NoReachableAuthority { .. }
            | Failure::NoServerAddress { .. }
            | Failure::CircularDependency { .. }
            | Failure::LimitReached { .. }
            | Failure::AliasLoop { .. }
            | Failure::RootKeySentinel { .. } => {}
        }
    }
    let insecure = [
        InsecureReason::NoTrustAnchor,
        InsecureReason::NoDs { zone: zone() },
        InsecureReason::UnsupportedAlgorithm {
            zone: zone(),
            algorithms: vec![3],
        },
        InsecureReason::UnsupportedDigest {
            zone: zone(),
            digest_types: vec![3],
        },
        InsecureReason::Nsec3Iterations {
            zone: zone(),
            iterations: 200,
            limit: 50,
        },
        InsecureReason::ValidationDisabled,
        InsecureReason::RrsigsNotSigned,
    ];
    let failure_kinds = [
        SignatureFailure::ExpiredBeforeValid,
        SignatureFailure::Expired,
        SignatureFailure::NotYetValid,
        SignatureFailure::NoZoneKeyBit,
        SignatureFailure::NoMatchingKey,
        SignatureFailure::UnsupportedAlgorithm,
        SignatureFailure::BadSignature,
    ];
    let owner = || "a.z.lab.".to_string();
    let rtype = || "A".to_string();
    let name = || Name::from_ascii("a.z.lab.").unwrap();
    let absent = || Absent::Records { zone: name() };
    let work = || BudgetWork::SignatureChecks {
        owner: owner(),
        rtype: rtype(),
    };
    let signature = SignatureDetail {
        key_tag: 1,
        algorithm: 13,
        signer: name(),
        labels: 3,
        inception: 0,
        expiration: 1,
        keys_tried: 1,
        verdict: SignatureVerdict::Expired,
    };
    let mut bogus = vec![
        BogusReason::RrsigsMissing {
            owner: owner(),
            rtype: rtype(),
        },
        BogusReason::SignerMismatch {
            owner: owner(),
            rtype: rtype(),
            signer: zone(),
            zone: zone(),
        },
        BogusReason::DnskeyMissing {
            zone: zone(),
            keys: KeysSeen {
                ds: vec![KeyId {
                    key_tag: 1,
                    algorithm: 13,
                }],
                dnskeys: None,
            },
        },
        BogusReason::DsDigestMismatch {
            zone: zone(),
            key_tag: 1,
        },
        BogusReason::NsecMissing {
            name: owner(),
            absent: Box::new(absent()),
        },
        BogusReason::DenialFailed {
            name: owner(),
            denial: Box::new(FailedProof::missing(&Proof::default(), &absent())),
        },
        BogusReason::Nsec3IterationsRefused {
            zone: zone(),
            iterations: 3000,
            limit: 2500,
        },
        BogusReason::BudgetExhausted { work: work() },
        BogusReason::AllowanceSpent {
            per_second: 1,
            work: work(),
        },
    ];
    bogus.extend(
        failure_kinds
            .iter()
            .map(|&failure| BogusReason::SignatureFailed {
                owner: owner(),
                rtype: rtype(),
                failure,
                signature: Box::new(signature.clone()),
            }),
    );
    let mut security = vec![
        Security::Secure,
        Security::Indeterminate {
            reason: IndeterminateReason::ChainTooDeep { zone: zone() },
        },
    ];
    security.extend(
        insecure
            .into_iter()
            .map(|reason| Security::Insecure { reason }),
    );
    security.extend(bogus.into_iter().map(|reason| Security::Bogus { reason }));
    let refusals = vec![
        Refusal::NotAllowed,
        Refusal::RecursionNotDesired,
        Refusal::Overloaded { in_flight: 1 },
        Refusal::ExplanationByIdOnly,
        Refusal::TooLarge,
    ];
    (failures, security, refusals)
}

/// Every code in `EdeCode::ALL` (and so in docs/ede.md, see `tests/ede_doc.rs`) is one
/// that `derive` or `refusal` can give, and every code they give is in `ALL`.
#[test]
fn derive_reaches_exactly_the_codes_whydns_lists() {
    let (failures, security, refusals) = samples();
    let mut reached = std::collections::BTreeSet::new();
    let t = trace("t");
    for failure in failures {
        let outcome = Outcome::Failed { failure };
        reached.extend(
            derive(&outcome, &Security::Secure, &t)
                .iter()
                .map(|e| e.code as u16),
        );
    }
    for s in security {
        reached.extend(
            derive(&Outcome::Answer, &s, &t)
                .iter()
                .map(|e| e.code as u16),
        );
    }
    reached.extend(refusals.into_iter().map(|r| refusal(r).code as u16));
    let listed: std::collections::BTreeSet<u16> = EdeCode::ALL.iter().map(|c| *c as u16).collect();
    assert_eq!(reached, listed);
}

#[test]
fn a_failure_speaks_alone_and_every_text_carries_the_trace_id() {
    let outcome = Outcome::Failed {
        failure: Failure::AliasLoop {
            chain: vec!["a.".into(), "b.".into()],
        },
    };
    let bogus = Security::Bogus {
        reason: BogusReason::RrsigsMissing {
            owner: "a.".into(),
            rtype: "A".into(),
        },
    };
    let ede = derive(&outcome, &bogus, &trace("id7"));
    assert_eq!(ede.len(), 1);
    assert_eq!(ede[0].code, EdeCode::OtherError);
    assert!(ede[0].text.ends_with(" [trace id7]"));
    assert!(derive(&Outcome::Answer, &Security::Secure, &trace("x")).is_empty());
}
