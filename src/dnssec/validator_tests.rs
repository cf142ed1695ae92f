//! The validator on its own: a fixture [`Fetch`] serves records built and signed in memory
//! (Ed25519 keys from fixed seeds), a [`FixedClock`] fixes "now", and no socket is opened.
//! The world: the root (the trust anchor) delegates `example.` with a DS; `example.` is
//! signed and delegates `plain.example.` without a DS (an NSEC proves it) and
//! `nokeys.example.` with a DS but no DNSKEY RRset.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS, NSEC, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType, SerialNumber};
use hickory_proto::serialize::binary::BinEncodable;
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::denial::{DenialLimits, HashBudget};
use super::fetch::{BoxFuture, Denial, Evidence, Fetch, Lookup, Work};
use super::{key_tag, signed_data, Anchor, TrustAnchors, Validator, ValidatorLimits};
use super::{KeyVerdict, VerificationBudget};
use crate::clock::FixedClock;
use crate::explain::event::{Event, Limit};
use crate::explain::verdict::{BogusReason, InsecureReason, Security, SignatureFailure};

const NOW: u64 = 1_500_000;
const INCEPTION: u32 = 1_000_000;
const EXPIRATION: u32 = 2_000_000;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// One signed zone: its name and its one key (flags 257, signing everything).
struct Zone {
    apex: Name,
    pair: Ed25519KeyPair,
}

impl Zone {
    fn new(apex: &str, seed: u8) -> Zone {
        Zone {
            apex: name(apex),
            pair: Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap(),
        }
    }

    fn dnskey(&self) -> DNSKEY {
        let key = PublicKeyBuf::new(self.pair.public_key().as_ref().to_vec(), Algorithm::ED25519);
        DNSKEY::with_flags(257, key)
    }

    fn dnskey_rrset(&self) -> Vec<Record> {
        let data = RData::DNSSEC(DNSSECRData::DNSKEY(self.dnskey()));
        vec![Record::from_rdata(self.apex.clone(), 3600, data)]
    }

    /// The DS its parent publishes (SHA-256, RFC 4509).
    fn ds(&self) -> DS {
        // RFC 4034 §5.1.4: the owner's canonical wire form, then the DNSKEY RDATA.
        let mut data = Vec::new();
        for label in self.apex.to_lowercase().iter() {
            data.push(label.len() as u8);
            data.extend(label);
        }
        data.push(0);
        data.extend(self.dnskey().to_bytes().unwrap());
        let digest = ring::digest::digest(&ring::digest::SHA256, &data);
        DS::new(
            key_tag(&self.dnskey()),
            Algorithm::ED25519,
            DigestType::SHA256,
            digest.as_ref().to_vec(),
        )
    }

    /// An RRSIG by this zone over `rrset`, valid from `INCEPTION` to `expiration`.
    fn sign(&self, rrset: &[Record], expiration: u32) -> Record {
        let input = SigInput {
            type_covered: rrset[0].record_type(),
            algorithm: Algorithm::ED25519,
            num_labels: rrset[0].name.num_labels(),
            original_ttl: rrset[0].ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(INCEPTION),
            key_tag: key_tag(&self.dnskey()),
            signer_name: self.apex.clone(),
        };
        let data = signed_data(&input, rrset).unwrap();
        let sig = self.pair.sign(&data).as_ref().to_vec();
        let rrsig = RRSIG::from_sig(input, sig);
        Record::from_rdata(
            rrset[0].name.clone(),
            300,
            RData::DNSSEC(DNSSECRData::RRSIG(rrsig)),
        )
    }

    fn soa(&self) -> Record {
        let soa = SOA::new(
            self.apex.clone(),
            self.apex.clone(),
            1,
            3600,
            600,
            86400,
            300,
        );
        Record::from_rdata(self.apex.clone(), 300, RData::SOA(soa))
    }
}

fn a_record(owner: &str) -> Vec<Record> {
    let data = RData::A(A(Ipv4Addr::new(192, 0, 2, 1)));
    vec![Record::from_rdata(name(owner), 300, data)]
}

/// What the fixture answers for one name and type.
enum Stored {
    Answer(Vec<Record>),
    NoData(Box<Option<Record>>),
}

/// Records in memory, by name and type, each with the zone that serves it and the DNSSEC
/// records that come with it.
#[derive(Default)]
struct Fixture {
    answers: HashMap<(Name, RecordType), (Stored, Name, Vec<Record>)>,
    cuts: Vec<Name>,
    asked: Mutex<Vec<(Name, RecordType)>>,
    settled: Mutex<Vec<(Name, RecordType, Security)>>,
}

impl Fixture {
    fn serve(&mut self, rrset: Vec<Record>, zone: &Name, dnssec: Vec<Record>) {
        let key = (rrset[0].name.clone(), rrset[0].record_type());
        self.answers
            .insert(key, (Stored::Answer(rrset), zone.clone(), dnssec));
    }

    /// A signed zone: its DNSKEY RRset, and its DS at the parent signed by the parent.
    fn secure_zone(&mut self, zone: &Zone, parent: Option<&Zone>) {
        let keys = zone.dnskey_rrset();
        let sig = zone.sign(&keys, EXPIRATION);
        self.serve(keys, &zone.apex, vec![sig]);
        self.cuts.push(zone.apex.clone());
        if let Some(parent) = parent {
            let ds = vec![Record::from_rdata(
                zone.apex.clone(),
                3600,
                RData::DNSSEC(DNSSECRData::DS(zone.ds())),
            )];
            let sig = parent.sign(&ds, EXPIRATION);
            self.serve(ds, &parent.apex, vec![sig]);
        }
    }

    fn asked_for(&self, owner: &str, rtype: RecordType) -> usize {
        let asked = self.asked.lock().unwrap();
        asked.iter().filter(|q| **q == (name(owner), rtype)).count()
    }
}

impl Fetch for Fixture {
    type Ctx = Session;

    fn lookup<'a>(
        &'a self,
        _ctx: &'a mut Session,
        name: &'a Name,
        rtype: RecordType,
    ) -> BoxFuture<'a, (Lookup, Evidence)> {
        self.asked.lock().unwrap().push((name.clone(), rtype));
        let found = match self.answers.get(&(name.clone(), rtype)) {
            Some((stored, zone, dnssec)) => {
                let lookup = match stored {
                    Stored::Answer(rrset) => Lookup::Answer {
                        chain: Vec::new(),
                        rrset: rrset.clone(),
                    },
                    Stored::NoData(soa) => Lookup::NoData {
                        chain: Vec::new(),
                        soa: soa.as_ref().clone(),
                    },
                };
                let evidence = Evidence {
                    zone: Some(zone.clone()),
                    dnssec: dnssec.clone(),
                    ..Evidence::default()
                };
                (lookup, evidence)
            }
            None => panic!("the fixture has no {name} {rtype}"),
        };
        Box::pin(std::future::ready(found))
    }

    fn closest_cut(&self, name: &Name) -> Option<Name> {
        self.cuts
            .iter()
            .filter(|cut| cut.zone_of(name))
            .max_by_key(|cut| cut.num_labels())
            .cloned()
    }

    fn settle(&self, rrset: &[Record], security: &Security, _until: u64) {
        let key = (
            rrset[0].name.clone(),
            rrset[0].record_type(),
            security.clone(),
        );
        self.settled.lock().unwrap().push(key);
    }

    fn settle_denial(&self, denial: &Denial<'_>, security: &Security, _until: u64) {
        let key = (denial.name.clone(), denial.qtype, security.clone());
        self.settled.lock().unwrap().push(key);
    }
}

/// The query context: events in a list, generous budgets.
struct Session {
    events: Vec<Event>,
    signatures: VerificationBudget,
    hashes: HashBudget,
    depth: u8,
    valid_until: u64,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            events: Vec::new(),
            signatures: VerificationBudget::new(64),
            hashes: HashBudget::new(64),
            depth: 0,
            valid_until: u64::MAX,
        }
    }
}

impl Work for Session {
    fn record(&mut self, event: Event) {
        self.events.push(event);
    }
    fn hit(&mut self, limit: Limit, value: u64) {
        self.events.push(Event::LimitReached { limit, value });
    }
    fn signatures(&mut self) -> &mut VerificationBudget {
        &mut self.signatures
    }
    fn hashes(&mut self) -> &mut HashBudget {
        &mut self.hashes
    }
    fn depth(&mut self) -> &mut u8 {
        &mut self.depth
    }
    fn bound_validity(&mut self, until: u64) {
        self.valid_until = self.valid_until.min(until);
    }
}

/// The world of the module comment, and a validator anchored at the root's DS.
fn world() -> (Fixture, Validator, Zone) {
    let root = Zone::new(".", 1);
    let example = Zone::new("example.", 2);
    let nokeys = Zone::new("nokeys.example.", 3);
    let mut fixture = Fixture::default();
    fixture.secure_zone(&root, None);
    fixture.secure_zone(&example, Some(&root));
    // nokeys.example.: a DS at the parent, no DNSKEY RRset at the child.
    fixture.secure_zone(&nokeys, Some(&example));
    let no_keys = (
        Stored::NoData(Box::new(Some(nokeys.soa()))),
        nokeys.apex.clone(),
        Vec::new(),
    );
    let key = (nokeys.apex.clone(), RecordType::DNSKEY);
    fixture.answers.insert(key, no_keys);
    // plain.example.: delegated without a DS; the NSEC at the cut says so (NS, no DS).
    let plain = name("plain.example.");
    let nsec = vec![Record::from_rdata(
        plain.clone(),
        300,
        RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
            name("www.example."),
            [RecordType::NS, RecordType::RRSIG, RecordType::NSEC],
        ))),
    )];
    let soa = example.soa();
    let mut proof = vec![example.sign(std::slice::from_ref(&soa), EXPIRATION)];
    proof.push(example.sign(&nsec, EXPIRATION));
    proof.extend(nsec);
    let no_ds = (
        Stored::NoData(Box::new(Some(soa))),
        example.apex.clone(),
        proof,
    );
    fixture
        .answers
        .insert((plain.clone(), RecordType::DS), no_ds);
    fixture.cuts.push(plain);
    let mut anchors = TrustAnchors::default();
    anchors.insert(Name::root(), Anchor::Ds(root.ds()));
    let limits = ValidatorLimits {
        denial: DenialLimits::default(),
        signature_checks: 64,
        chain_depth: 8,
        key_cache_bytes: 1 << 20,
    };
    let validator = Validator::new(anchors, Arc::new(FixedClock::at(NOW)), limits);
    (fixture, validator, example)
}

/// Validates one answer RRset received from the servers of `zone`.
fn validate(
    fixture: &Fixture,
    validator: &Validator,
    rrset: &[Record],
    (zone, dnssec): (&str, Vec<Record>),
) -> (Security, Session) {
    let mut session = Session::default();
    let lookup = Lookup::Answer {
        chain: Vec::new(),
        rrset: rrset.to_vec(),
    };
    let evidence = Evidence {
        zone: Some(name(zone)),
        dnssec,
        ..Evidence::default()
    };
    let question = (&rrset[0].name, rrset[0].record_type());
    let future = validator.validate(fixture, &mut session, question, &lookup, &evidence);
    let security = run(future).expect("an answer is validated");
    (security, session)
}

/// Runs a future that never waits (the fixture answers at once).
fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn checked(session: &Session, valid: bool) -> usize {
    let is = |e: &&Event| matches!(e, Event::SignaturesChecked { valid: v, .. } if *v == valid);
    session.events.iter().filter(is).count()
}

#[test]
fn a_signed_answer_under_the_anchor_is_secure_and_its_keys_are_kept() {
    let (fixture, validator, example) = world();
    let www = a_record("www.example.");
    let sig = example.sign(&www, EXPIRATION);
    let (security, session) = validate(&fixture, &validator, &www, ("example.", vec![sig]));
    assert_eq!(security, Security::Secure);
    // The root's DNSKEY, example.'s DS and DNSKEY, then the A RRset.
    assert_eq!(checked(&session, true), 4, "{:?}", session.events);
    assert!(session.valid_until <= u64::from(EXPIRATION));
    let settled = fixture.settled.lock().unwrap().clone();
    assert!(settled.contains(&(name("www.example."), RecordType::A, Security::Secure)));
    // A second answer from the zone reuses the key verdicts: nothing is fetched again.
    let mail = a_record("mail.example.");
    let sig = example.sign(&mail, EXPIRATION);
    let (security, session) = validate(&fixture, &validator, &mail, ("example.", vec![sig]));
    assert_eq!(security, Security::Secure);
    assert_eq!(checked(&session, true), 1);
    assert_eq!(fixture.asked_for("example.", RecordType::DNSKEY), 1);
    let cached = validator.keys.lock().unwrap().get(&name("example."), NOW);
    assert!(matches!(cached, Some(KeyVerdict::Secure { .. })));
}

#[test]
fn an_expired_signature_is_bogus_as_expired() {
    let (fixture, validator, example) = world();
    let www = a_record("www.example.");
    let sig = example.sign(&www, (NOW - 10) as u32);
    let (security, session) = validate(&fixture, &validator, &www, ("example.", vec![sig]));
    let Security::Bogus {
        reason: BogusReason::SignatureFailed { failure, .. },
    } = security
    else {
        panic!("expected a signature failure, got {security:?}");
    };
    assert_eq!(failure, SignatureFailure::Expired);
    assert_eq!(checked(&session, false), 1);
}

#[test]
fn data_below_a_delegation_proven_without_ds_is_insecure() {
    let (fixture, validator, _) = world();
    let www = a_record("www.plain.example.");
    let (security, session) = validate(&fixture, &validator, &www, ("plain.example.", vec![]));
    let expected = Security::Insecure {
        reason: InsecureReason::NoDs {
            zone: "plain.example.".into(),
        },
    };
    assert_eq!(security, expected);
    let denial = session
        .events
        .iter()
        .any(|e| matches!(e, Event::DenialChecked { .. }));
    assert!(denial, "the no-DS proof is recorded: {:?}", session.events);
}

#[test]
fn a_zone_without_its_dnskey_rrset_is_bogus() {
    let (fixture, validator, _) = world();
    let nokeys = Zone::new("nokeys.example.", 3);
    let www = a_record("www.nokeys.example.");
    let sig = nokeys.sign(&www, EXPIRATION);
    let (security, _) = validate(&fixture, &validator, &www, ("nokeys.example.", vec![sig]));
    let Security::Bogus {
        reason: BogusReason::DnskeyMissing { zone, .. },
    } = security
    else {
        panic!("expected DNSKEY missing, got {security:?}");
    };
    assert_eq!(zone, "nokeys.example.");
}

#[test]
fn a_signature_by_another_zone_than_the_one_that_served_the_data_is_ignored() {
    let (fixture, validator, _) = world();
    // Signed by `other.` (a perfectly good signature), served by example.'s servers.
    let other = Zone::new("other.", 4);
    let www = a_record("www.example.");
    let sig = other.sign(&www, EXPIRATION);
    let (security, session) = validate(&fixture, &validator, &www, ("example.", vec![sig]));
    let expected = BogusReason::SignerMismatch {
        owner: "www.example.".into(),
        rtype: "A".into(),
        signer: "other.".into(),
        zone: "example.".into(),
    };
    assert_eq!(security, Security::Bogus { reason: expected });
    let ignored = session
        .events
        .iter()
        .any(|e| matches!(e, Event::SignatureIgnored { .. }));
    assert!(
        ignored,
        "the foreign RRSIG is recorded: {:?}",
        session.events
    );
    assert_eq!(fixture.asked_for("other.", RecordType::DNSKEY), 0);
}
