//! One test per scenario file: every declared fault is observed on the wire, by querying the
//! lab's servers directly over UDP and TCP (no resolver involved).

mod common;

use std::time::{Duration, Instant};

use common::verify::{dnskeys, key_tag, rrsigs, verifies};
use common::{ask, lab, query_message, tcp_query, udp_exchange, Ask, SharedLab, TcpOutcome};
use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS, NSEC3};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::PublicKey;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use whydns::lab::{Denial, KeyRole, LabServer, LameAnswer, Scenario, ServerFault, ZoneFault};

include!(concat!(env!("OUT_DIR"), "/scenario_tests.rs"));

fn run_scenario(id: &str) {
    let shared = lab();
    let scenario = common::scenario(id);
    for server in shared.lab.servers_of(id) {
        check_server(shared, scenario, server);
    }
    for zone in &scenario.zone {
        let apex = Name::from_ascii(&zone.name).unwrap();
        if let Some(signing) = &zone.signing {
            check_signing(
                shared,
                &apex,
                signing.denial,
                signing.nsec3_iterations,
                &zone.faults,
            );
        }
        for fault in &zone.faults {
            check_zone_fault(shared, &apex, fault, &zone.faults);
        }
    }
    check_delegation_shape(shared, scenario);
    check_authoritative_answer(shared, scenario);
}

// ---- helpers -------------------------------------------------------------------------------

fn rtype(text: &str) -> RecordType {
    text.parse().unwrap()
}

fn records_of(msg: &Message, rtype: RecordType) -> Vec<Record> {
    msg.answers
        .iter()
        .chain(&msg.authorities)
        .chain(&msg.additionals)
        .filter(|r| r.record_type() == rtype)
        .cloned()
        .collect()
}

fn sigs_covering(msg: &Message, covered: RecordType) -> Vec<Record> {
    records_of(msg, RecordType::RRSIG)
        .into_iter()
        .filter(|r| matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == covered))
        .collect()
}

/// A server that serves `apex` without faults or, failing that, one whose only faults
/// rewrite answers (they leave SOA, DNSKEY, NSEC and NXDOMAIN answers alone unless they
/// name those types) or clear AA (the data is the zone's).
fn healthy_server_for<'a>(shared: &'a SharedLab, apex: &Name) -> &'a LabServer {
    let serves = |s: &&LabServer| s.zones.iter().any(|z| &z.apex == apex);
    let servers = || shared.lab.servers.iter().filter(serves);
    let data_intact = |f: &ServerFault| f.rewrites_answers() || matches!(f, ServerFault::NoAa);
    servers()
        .find(|s| s.faults.is_empty())
        .or_else(|| servers().find(|s| s.faults.iter().all(data_intact)))
        .unwrap_or_else(|| panic!("no fault-free server serves {apex}"))
}

fn parent_server<'a>(shared: &'a SharedLab, child: &Name) -> &'a LabServer {
    let mut parent = child.base_name();
    loop {
        if let Some(s) = shared
            .lab
            .servers
            .iter()
            .find(|s| s.faults.is_empty() && s.zones.iter().any(|z| z.apex == parent))
        {
            return s;
        }
        parent = parent.base_name();
    }
}

fn addr_of(shared: &SharedLab, server: &LabServer) -> std::net::SocketAddr {
    std::net::SocketAddr::new(server.address, shared.running.port)
}

fn zone_ask(shared: &SharedLab, apex: &Name, name: &str, rt: RecordType) -> Message {
    let server = healthy_server_for(shared, apex);
    ask(addr_of(shared, server), name, rt, Ask::default())
}

fn dnskey_set(shared: &SharedLab, apex: &Name) -> Vec<Record> {
    let msg = zone_ask(shared, apex, &apex.to_string(), RecordType::DNSKEY);
    records_of(&msg, RecordType::DNSKEY)
}

fn ds_set(shared: &SharedLab, apex: &Name) -> (Message, Vec<DS>) {
    let parent = parent_server(shared, apex);
    let msg = ask(
        addr_of(shared, parent),
        &apex.to_string(),
        RecordType::DS,
        Ask::default(),
    );
    let ds = records_of(&msg, RecordType::DS)
        .into_iter()
        .filter_map(|r| match r.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds),
            _ => None,
        })
        .collect();
    (msg, ds)
}

/// The zone's own DS records at the parent: the DS set without the SHA-1 DS that
/// `ds-add-sha1` adds beside them, which the other `ds-*` faults leave alone. The zone's own
/// DS always carries SHA-256 bytes (32), whatever digest type a fault gives it.
fn zone_ds(shared: &SharedLab, apex: &Name, faults: &[ZoneFault]) -> Vec<DS> {
    let (_, ds) = ds_set(shared, apex);
    if !faults.contains(&ZoneFault::DsAddSha1) {
        return ds;
    }
    ds.into_iter()
        .filter(|d| !(u8::from(d.digest_type()) == 1 && d.digest().len() == 20))
        .collect()
}

/// The key that signs the zone's DNSKEY RRset, whatever its flags say: the KSK.
fn signing_ksk(keys: &[Record], apex: &Name, shared: &SharedLab) -> DNSKEY {
    let msg = zone_ask(shared, apex, &apex.to_string(), RecordType::DNSKEY);
    let tags: Vec<u16> = rrsigs(&sigs_covering(&msg, RecordType::DNSKEY))
        .iter()
        .map(|s| s.input().key_tag)
        .collect();
    dnskeys(keys)
        .into_iter()
        .find(|k| tags.contains(&key_tag(k)))
        .unwrap_or_else(|| panic!("{apex}: no published key signs the DNSKEY RRset"))
        .clone()
}

/// The nearest zone of the lab above `child`.
fn parent_apex(shared: &SharedLab, child: &Name) -> Name {
    let mut parent = child.base_name();
    while !shared.lab.zones.contains_key(&parent) {
        parent = parent.base_name();
    }
    parent
}

fn role_flags(role: KeyRole) -> u16 {
    match role {
        KeyRole::Ksk => 257,
        KeyRole::Zsk => 256,
    }
}

/// The type each check looks at when a fault names none: the apex SOA (signed by the ZSK).
fn fault_types(types: &Option<Vec<String>>) -> Vec<RecordType> {
    match types {
        Some(list) => list.iter().map(|t| rtype(t)).collect(),
        None => vec![RecordType::SOA],
    }
}

/// Asks for `covered` where a signature over it appears: the apex for data types (or,
/// when the apex has none of that type, the first owner in the zone that has it), a
/// non-existent name for NSEC/NSEC3.
fn ask_for_type(shared: &SharedLab, apex: &Name, covered: RecordType) -> Message {
    match covered {
        RecordType::NSEC | RecordType::NSEC3 => {
            zone_ask(shared, apex, &format!("nx.{apex}"), RecordType::A)
        }
        other => {
            let zone = &shared.lab.zones[apex];
            let owner = if zone.rrset(apex, other).is_some() {
                apex.clone()
            } else {
                zone.records
                    .iter()
                    .find(|(n, types)| types.contains_key(&other) && !zone.is_below_cut(n))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| apex.clone())
            };
            zone_ask(shared, apex, &owner.to_string(), other)
        }
    }
}

// ---- server faults -------------------------------------------------------------------------

fn check_server(shared: &SharedLab, scenario: &Scenario, server: &LabServer) {
    let addr = addr_of(shared, server);
    let qname = server
        .zones
        .first()
        .map(|z| z.apex.to_string())
        .unwrap_or_else(|| scenario.query.name.clone());
    let query = query_message(&qname, RecordType::SOA, Ask::default());
    let short = Duration::from_millis(800);
    let faults = &server.faults;
    let has = |p: &dyn Fn(&ServerFault) -> bool| faults.iter().any(p);

    let counted = shared.running.queries_to(addr);
    if has(&|f| matches!(f, ServerFault::Down)) {
        assert!(
            udp_exchange(addr, &query, short).is_none(),
            "{}: down server answered UDP",
            server.name
        );
        assert_eq!(
            shared.running.queries_to(addr),
            0,
            "{}: a down server counted queries",
            server.name
        );
        assert!(
            matches!(tcp_query(addr, &query, short), TcpOutcome::Refused),
            "{}: down server accepted TCP",
            server.name
        );
        return;
    }
    if has(&|f| matches!(f, ServerFault::Drop)) {
        assert!(
            udp_exchange(addr, &query, short).is_none(),
            "{}: dropping server answered UDP",
            server.name
        );
        assert!(
            shared.running.queries_to(addr) > counted,
            "{}: a dropped query was not counted",
            server.name
        );
        assert!(
            matches!(tcp_query(addr, &query, short), TcpOutcome::NoAnswer),
            "{}: dropping server answered TCP",
            server.name
        );
        return;
    }
    let no_tcp = has(&|f| matches!(f, ServerFault::NoTcp));
    let tcp = tcp_query(addr, &query, Duration::from_secs(3));
    assert_eq!(
        no_tcp,
        matches!(tcp, TcpOutcome::Refused),
        "{}: TCP listener present={} but no-tcp={no_tcp}",
        server.name,
        !no_tcp
    );

    let delay = faults.iter().find_map(|f| match f {
        ServerFault::Delay { ms } => Some(Duration::from_millis(*ms)),
        _ => None,
    });
    let started = Instant::now();
    let before_udp = shared.running.queries_to(addr);
    let reply = udp_exchange(addr, &query, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{}: no UDP answer", server.name));
    // Counted on arrival, so before the answer left; TCP counted too.
    assert!(
        shared.running.queries_to(addr) > before_udp,
        "{}: the UDP query was not counted",
        server.name
    );
    if !no_tcp {
        assert!(
            before_udp > counted,
            "{}: the TCP query was not counted",
            server.name
        );
    }
    assert!(
        shared
            .running
            .scenario_servers(&scenario.id)
            .contains(&addr),
        "{}: not among the servers of {}",
        server.name,
        scenario.id
    );
    if let Some(delay) = delay {
        assert!(
            started.elapsed() >= delay,
            "{}: answered before its declared delay",
            server.name
        );
    }
    let ra = has(&|f| matches!(f, ServerFault::RecursionAvailable));
    assert_eq!(
        reply.metadata.recursion_available, ra,
        "{}: RA flag",
        server.name
    );
    let truncates = has(&|f| matches!(f, ServerFault::TruncateAlways));
    assert_eq!(
        reply.metadata.truncation, truncates,
        "{}: TC flag",
        server.name
    );

    let expected_rcode = if has(&|f| matches!(f, ServerFault::Refuse)) {
        ResponseCode::Refused
    } else if has(&|f| matches!(f, ServerFault::Servfail)) {
        ResponseCode::ServFail
    } else if has(&|f| matches!(f, ServerFault::FormerrOnEdns)) {
        ResponseCode::FormErr
    } else if server.zones.is_empty() {
        match faults.iter().find_map(|f| match f {
            ServerFault::NotAuth { answer } => Some(*answer),
            _ => None,
        }) {
            Some(LameAnswer::Nxdomain) => ResponseCode::NXDomain,
            Some(LameAnswer::UpwardReferral) => ResponseCode::NoError,
            None => ResponseCode::Refused,
        }
    } else {
        ResponseCode::NoError
    };
    assert_eq!(
        reply.metadata.response_code, expected_rcode,
        "{}: rcode",
        server.name
    );

    if has(&|f| matches!(f, ServerFault::FormerrOnEdns)) {
        assert!(reply.edns.is_none(), "{}: FORMERR carried OPT", server.name);
        let plain = query_message(
            &qname,
            RecordType::SOA,
            Ask {
                edns: false,
                ..Ask::default()
            },
        );
        let reply = udp_exchange(addr, &plain, short).expect("answer without EDNS");
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NoError,
            "{}: plain DNS query",
            server.name
        );
    }
    if let Some(LameAnswer::UpwardReferral) = faults.iter().find_map(|f| match f {
        ServerFault::NotAuth { answer } => Some(*answer),
        _ => None,
    }) {
        assert!(
            !reply.metadata.authoritative,
            "{}: upward referral with AA",
            server.name
        );
        let ns = records_of(&reply, RecordType::NS);
        assert!(
            !ns.is_empty() && ns.iter().all(|r| r.name.is_root()),
            "{}: not a referral to the root: {ns:?}",
            server.name
        );
    }
    let no_aa = faults.iter().any(|f| matches!(f, ServerFault::NoAa));
    if expected_rcode == ResponseCode::NoError && !server.zones.is_empty() && !truncates {
        assert_eq!(
            reply.metadata.authoritative, !no_aa,
            "{}: AA on its own zone (fault no-aa: {no_aa})",
            server.name
        );
    }
    for fault in faults.iter().filter(|f| f.rewrites_answers()) {
        check_forgery(shared, scenario, server, fault);
    }
    for fault in faults {
        if let ServerFault::StaleZone { zone, .. } = fault {
            let apex = Name::from_ascii(zone).unwrap();
            let serial = |m: &Message| {
                records_of(m, RecordType::SOA)
                    .iter()
                    .find_map(|r| match &r.data {
                        RData::SOA(soa) => Some(soa.serial),
                        _ => None,
                    })
                    .unwrap()
            };
            let primary = zone_ask(shared, &apex, zone, RecordType::SOA);
            assert_ne!(
                serial(&reply),
                serial(&primary),
                "{}: stale copy has the primary's serial",
                server.name
            );
        }
    }
}

// ---- DNSSEC ------------------------------------------------------------------------------

fn check_signing(
    shared: &SharedLab,
    apex: &Name,
    denial: Denial,
    iterations: u16,
    faults: &[ZoneFault],
) {
    let msg = zone_ask(shared, apex, &format!("nx.{apex}"), RecordType::A);
    let wildcard = Name::from_ascii(format!("*.{apex}")).unwrap();
    let expected = if shared.lab.zones[apex].records.contains_key(&wildcard) {
        ResponseCode::NoError // expanded from the wildcard, with a proof that nx itself is absent
    } else {
        ResponseCode::NXDomain
    };
    assert_eq!(
        msg.metadata.response_code, expected,
        "{apex}: answer for a name that does not exist"
    );
    if faults.contains(&ZoneFault::DenialStrip) {
        return;
    }
    match denial {
        Denial::Nsec => assert!(
            !records_of(&msg, RecordType::NSEC).is_empty(),
            "{apex}: no NSEC in NXDOMAIN"
        ),
        Denial::Nsec3 => {
            let nsec3 = records_of(&msg, RecordType::NSEC3);
            assert!(!nsec3.is_empty(), "{apex}: no NSEC3 in NXDOMAIN");
            for r in nsec3 {
                let RData::DNSSEC(DNSSECRData::NSEC3(n)) = &r.data else {
                    unreachable!()
                };
                assert_eq!(n.iterations(), iterations, "{apex}: NSEC3 iterations");
            }
        }
    }
}

/// Checks one zone fault on the wire; `faults` are all the zone's faults, for the DS
/// faults, which act on the zone's own DS and not on the SHA-1 DS `ds-add-sha1` adds.
fn check_zone_fault(shared: &SharedLab, apex: &Name, fault: &ZoneFault, faults: &[ZoneFault]) {
    let signed_at = shared.lab.signed_at;
    match fault {
        ZoneFault::RrsigWindow {
            types,
            inception,
            expiration,
        } => {
            let inception = whydns::lab::resolve_time(inception, signed_at).unwrap();
            let expiration = whydns::lab::resolve_time(expiration, signed_at).unwrap();
            for covered in fault_types(types) {
                let msg = ask_for_type(shared, apex, covered);
                let sigs = sigs_covering(&msg, covered);
                assert!(!sigs.is_empty(), "{apex}: no RRSIG over {covered}");
                for sig in rrsigs(&sigs) {
                    assert_eq!(
                        sig.input().sig_inception.get(),
                        inception,
                        "{apex} {covered}: inception"
                    );
                    assert_eq!(
                        sig.input().sig_expiration.get(),
                        expiration,
                        "{apex} {covered}: expiration"
                    );
                }
            }
        }
        ZoneFault::RrsigStrip { types } => {
            for covered in fault_types(types) {
                let msg = ask_for_type(shared, apex, covered);
                assert!(
                    !records_of(&msg, covered).is_empty(),
                    "{apex}: {covered} itself missing"
                );
                assert!(
                    sigs_covering(&msg, covered).is_empty(),
                    "{apex}: RRSIG over {covered} not stripped"
                );
            }
        }
        ZoneFault::RrsigCorrupt { types } => {
            let keys = dnskey_set(shared, apex);
            for covered in fault_types(types) {
                let msg = ask_for_type(shared, apex, covered);
                let rrset = records_of(&msg, covered);
                let sigs = sigs_covering(&msg, covered);
                assert!(!sigs.is_empty(), "{apex}: no RRSIG over {covered}");
                for sig in rrsigs(&sigs) {
                    let key = dnskeys(&keys)
                        .into_iter()
                        .find(|k| key_tag(k) == sig.input().key_tag)
                        .expect("signing key published");
                    assert!(
                        !verifies(sig, &rrset, key),
                        "{apex}: corrupted RRSIG over {covered} still verifies"
                    );
                }
            }
            // The verifier itself works: an untouched signature in the same zone verifies.
            if !fault_types(types).contains(&RecordType::SOA) {
                let msg = zone_ask(shared, apex, &apex.to_string(), RecordType::SOA);
                let soa = records_of(&msg, RecordType::SOA);
                let sigs = sigs_covering(&msg, RecordType::SOA);
                let sig = rrsigs(&sigs)[0];
                let key = dnskeys(&keys)
                    .into_iter()
                    .find(|k| key_tag(k) == sig.input().key_tag)
                    .unwrap();
                assert!(
                    verifies(sig, &soa, key),
                    "{apex}: intact SOA RRSIG fails to verify"
                );
            }
        }
        ZoneFault::DnskeyDrop { role } => {
            let keys = dnskey_set(shared, apex);
            let flags: Vec<u16> = dnskeys(&keys).iter().map(|k| k.flags()).collect();
            assert!(
                !flags.contains(&role_flags(*role)),
                "{apex}: {role:?} still published: {flags:?}"
            );
            let tags: Vec<u16> = dnskeys(&keys).iter().map(|k| key_tag(k)).collect();
            match role {
                KeyRole::Zsk => {
                    let msg = zone_ask(shared, apex, &apex.to_string(), RecordType::SOA);
                    for sig in rrsigs(&sigs_covering(&msg, RecordType::SOA)) {
                        assert!(
                            !tags.contains(&sig.input().key_tag),
                            "{apex}: SOA signed by a published key"
                        );
                    }
                }
                KeyRole::Ksk => {
                    let ds = zone_ds(shared, apex, faults);
                    assert!(!ds.is_empty(), "{apex}: parent has no DS");
                    assert!(
                        ds.iter().all(|d| !tags.contains(&d.key_tag())),
                        "{apex}: DS matches a published key"
                    );
                }
            }
        }
        ZoneFault::DnskeyCorrupt { role } => {
            let keys = dnskey_set(shared, apex);
            let (covered, flags) = match role {
                KeyRole::Zsk => (RecordType::SOA, 256),
                KeyRole::Ksk => (RecordType::DNSKEY, 257),
            };
            let msg = ask_for_type(shared, apex, covered);
            let rrset = records_of(&msg, covered);
            let key = dnskeys(&keys)
                .into_iter()
                .find(|k| k.flags() == flags)
                .expect("key published");
            for sig in rrsigs(&sigs_covering(&msg, covered)) {
                assert!(
                    !verifies(sig, &rrset, key),
                    "{apex}: RRSIG verifies with the corrupted key"
                );
            }
        }
        ZoneFault::DnskeyFlags { role, flags } => {
            let keys = dnskey_set(shared, apex);
            let key = dnskeys(&keys).into_iter().find(|k| k.flags() == *flags);
            let key = key.unwrap_or_else(|| panic!("{apex}: no DNSKEY with flags {flags}"));
            let covered = if *role == KeyRole::Ksk {
                RecordType::DNSKEY
            } else {
                RecordType::SOA
            };
            let msg = ask_for_type(shared, apex, covered);
            let tags: Vec<u16> = rrsigs(&sigs_covering(&msg, covered))
                .iter()
                .map(|s| s.input().key_tag)
                .collect();
            assert!(
                tags.contains(&key_tag(key)),
                "{apex}: {covered} not signed by the key with flags {flags}"
            );
        }
        ZoneFault::DnskeyAlgorithm { role, value } => {
            let keys = dnskey_set(shared, apex);
            assert!(
                dnskeys(&keys)
                    .iter()
                    .any(|k| u8::from(k.public_key().algorithm()) == *value
                        && k.flags() == role_flags(*role)),
                "{apex}: no {role:?} with algorithm {value}"
            );
        }
        ZoneFault::DsAbsent => {
            let (msg, _) = ds_set(shared, apex);
            assert!(
                zone_ds(shared, apex, faults).is_empty(),
                "{apex}: DS published"
            );
            assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
            // Alone, the parent proves the absence; with ds-add-sha1 the SHA-1 DS is left.
            if !faults.contains(&ZoneFault::DsAddSha1) {
                assert!(
                    !records_of(&msg, RecordType::NSEC).is_empty()
                        || !records_of(&msg, RecordType::NSEC3).is_empty(),
                    "{apex}: no proof that the DS is absent"
                );
            }
        }
        ZoneFault::DsKeyTag { value } => {
            let tags: Vec<u16> = dnskeys(&dnskey_set(shared, apex))
                .iter()
                .map(|k| key_tag(k))
                .collect();
            let ds = zone_ds(shared, apex, faults);
            assert!(!ds.is_empty());
            for d in ds {
                assert!(!tags.contains(&d.key_tag()), "{apex}: DS tag matches a key");
                if let Some(v) = value {
                    assert_eq!(d.key_tag(), *v);
                }
            }
        }
        ZoneFault::DsAlgorithm { value } => {
            let ds = zone_ds(shared, apex, faults);
            assert!(
                !ds.is_empty() && ds.iter().all(|d| u8::from(d.algorithm()) == *value),
                "{apex}: DS algorithm"
            );
        }
        ZoneFault::DsDigestType { value } => {
            let ds = zone_ds(shared, apex, faults);
            assert!(
                !ds.is_empty() && ds.iter().all(|d| u8::from(d.digest_type()) == *value),
                "{apex}: DS digest type"
            );
        }
        ZoneFault::DsDigestCorrupt => {
            let keys = dnskey_set(shared, apex);
            let ds = zone_ds(shared, apex, faults);
            let ksk = dnskeys(&keys)
                .into_iter()
                .find(|k| k.flags() == 257)
                .expect("KSK");
            assert!(!ds.is_empty());
            for d in ds {
                assert_eq!(d.key_tag(), key_tag(ksk), "{apex}: tag should still match");
                assert!(
                    !d.covers(apex, ksk).unwrap(),
                    "{apex}: DS digest still matches the KSK"
                );
            }
        }
        ZoneFault::DsAddSha1 => {
            let keys = dnskey_set(shared, apex);
            let ksk = signing_ksk(&keys, apex, shared);
            let (msg, ds) = ds_set(shared, apex);
            let sha1: Vec<&DS> = ds
                .iter()
                .filter(|d| u8::from(d.digest_type()) == 1 && d.covers(apex, &ksk).unwrap())
                .collect();
            assert_eq!(sha1.len(), 1, "{apex}: correct SHA-1 DS in {ds:?}");
            assert_eq!(sha1[0].key_tag(), key_tag(&ksk), "{apex}: SHA-1 DS key tag");
            assert_eq!(
                sha1[0].algorithm(),
                ksk.public_key().algorithm(),
                "{apex}: SHA-1 DS algorithm"
            );
            assert_eq!(sha1[0].digest().len(), 20, "{apex}: SHA-1 digest length");
            // Beside it the zone's own DS (digest type 2 unless ds-digest-type says
            // otherwise), as the other DS faults made it; none with ds-absent.
            let own = zone_ds(shared, apex, faults);
            let expected = usize::from(!faults.contains(&ZoneFault::DsAbsent));
            assert_eq!(own.len(), expected, "{apex}: the zone's own DS in {ds:?}");
            assert_eq!(ds.len(), expected + 1, "{apex}: DS RRset {ds:?}");
            let digest_type = faults
                .iter()
                .find_map(|f| match f {
                    ZoneFault::DsDigestType { value } => Some(*value),
                    _ => None,
                })
                .unwrap_or(2);
            for d in &own {
                assert_eq!(
                    u8::from(d.digest_type()),
                    digest_type,
                    "{apex}: own DS type"
                );
                assert_eq!(d.digest().len(), 32, "{apex}: own DS is SHA-256 bytes");
            }
            // A referral to the zone carries the same DS RRset.
            let referral = referral(shared, apex);
            let mut in_referral: Vec<String> = records_of(&referral, RecordType::DS)
                .iter()
                .map(|r| r.data.to_string())
                .collect();
            let mut asked: Vec<String> = ds.iter().map(|d| d.to_string()).collect();
            in_referral.sort();
            asked.sort();
            assert_eq!(in_referral, asked, "{apex}: DS RRset in the referral");
            // The whole RRset, both records, is signed by the parent.
            let parent = parent_apex(shared, apex);
            let parent_keys = dnskey_set(shared, &parent);
            let ds_records = records_of(&msg, RecordType::DS);
            let sigs = sigs_covering(&msg, RecordType::DS);
            assert!(!sigs.is_empty(), "{apex}: DS RRset unsigned");
            for sig in rrsigs(&sigs) {
                let key = dnskeys(&parent_keys)
                    .into_iter()
                    .find(|k| key_tag(k) == sig.input().key_tag)
                    .expect("parent's signing key published");
                assert!(
                    verifies(sig, &ds_records, key),
                    "{apex}: the parent's RRSIG over the DS RRset does not verify"
                );
            }
        }
        ZoneFault::DenialStrip => {
            let msg = zone_ask(shared, apex, &format!("nx.{apex}"), RecordType::A);
            assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);
            assert!(
                records_of(&msg, RecordType::NSEC).is_empty()
                    && records_of(&msg, RecordType::NSEC3).is_empty(),
                "{apex}: proof not stripped"
            );
        }
        ZoneFault::Keytrap { keys, signatures } => {
            // Both answers exceed any UDP size: ask over TCP.
            let addr = addr_of(shared, healthy_server_for(shared, apex));
            let over_tcp = |rtype| match tcp_query(
                addr,
                &query_message(&apex.to_string(), rtype, Ask::default()),
                Duration::from_secs(3),
            ) {
                TcpOutcome::Answer(msg) => msg,
                other => panic!("{apex}: no TCP answer: {other:?}"),
            };
            let key_records = records_of(&over_tcp(RecordType::DNSKEY), RecordType::DNSKEY);
            let msg = over_tcp(RecordType::A);
            let rrset = records_of(&msg, RecordType::A);
            let sigs = sigs_covering(&msg, RecordType::A);
            assert_eq!(
                sigs.len(),
                usize::from(*signatures),
                "{apex}: junk RRSIG count"
            );
            let tag = rrsigs(&sigs)[0].input().key_tag;
            let colliding: Vec<_> = dnskeys(&key_records)
                .into_iter()
                .filter(|k| key_tag(k) == tag)
                .collect();
            assert!(
                colliding.len() > usize::from(*keys),
                "{apex}: {} keys share tag {tag}",
                colliding.len()
            );
            for sig in rrsigs(&sigs).iter().take(3) {
                assert!(
                    colliding.iter().all(|k| !verifies(sig, &rrset, k)),
                    "{apex}: a junk RRSIG verifies"
                );
            }
        }
        ZoneFault::Nsec3OwnerCorrupt | ZoneFault::Nsec3NextCorrupt => {
            let zone = &shared.lab.zones[apex];
            let params = zone.nsec3_params.clone().expect("NSEC3 zone");
            let hash = |n: &Name| {
                Nsec3HashAlgorithm::SHA1
                    .hash(&params.salt, n, params.iterations)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            };
            let real: Vec<Vec<u8>> = zone.chain_names().iter().map(hash).collect();
            let chain: Vec<&NSEC3> = zone
                .nsec3
                .values()
                .map(|r| match &r.data {
                    RData::DNSSEC(DNSSECRData::NSEC3(n)) => n,
                    _ => unreachable!(),
                })
                .collect();
            if *fault == ZoneFault::Nsec3OwnerCorrupt {
                // Served answers carry NSEC3 owners that are no real name's hash.
                let msg = zone_ask(shared, apex, &format!("nx.{apex}"), RecordType::A);
                let owners: Vec<Record> = records_of(&msg, RecordType::NSEC3);
                assert!(!owners.is_empty(), "{apex}: no NSEC3 served");
                for r in owners {
                    let label = r.name.iter().next().unwrap().to_vec();
                    let decoded = data_encoding::BASE32HEX_NOPAD
                        .decode(&label.to_ascii_uppercase())
                        .unwrap();
                    assert!(
                        !real.contains(&decoded),
                        "{apex}: NSEC3 owner is a real hash"
                    );
                }
            } else {
                assert!(
                    chain
                        .iter()
                        .all(|n| !real.contains(&n.next_hashed_owner_name().to_vec())),
                    "{apex}: next hashes intact"
                );
            }
        }
    }
}

// ---- delegations and answers -------------------------------------------------------------

/// The parent's referral, as a resolver would first see it.
fn referral(shared: &SharedLab, qname: &Name) -> Message {
    let zone_apex = shared
        .lab
        .zones
        .keys()
        .filter(|z| z.zone_of(qname))
        .max_by_key(|z| z.num_labels())
        .unwrap()
        .clone();
    let parent = parent_server(shared, &zone_apex);
    ask(
        addr_of(shared, parent),
        &qname.to_string(),
        RecordType::A,
        Ask::default(),
    )
}

fn check_delegation_shape(shared: &SharedLab, scenario: &Scenario) {
    let qname = Name::from_ascii(&scenario.query.name).unwrap();
    let glue_of = |msg: &Message| -> Vec<std::net::IpAddr> {
        records_of(msg, RecordType::A)
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
                _ => None,
            })
            .collect()
    };
    match scenario.id.as_str() {
        "glue-missing" => {
            let msg = referral(shared, &qname);
            assert!(!records_of(&msg, RecordType::NS).is_empty(), "no referral");
            assert!(glue_of(&msg).is_empty(), "glue present");
        }
        "glue-unroutable" => {
            let msg = referral(shared, &qname);
            let glue = glue_of(&msg);
            assert!(
                !glue.is_empty()
                    && glue
                        .iter()
                        .all(|a| a.to_string().starts_with("127.53.255.")),
                "glue {glue:?}"
            );
            for a in glue {
                assert!(udp_exchange(
                    std::net::SocketAddr::new(a, shared.running.port),
                    &query_message(&scenario.query.name, RecordType::A, Ask::default()),
                    Duration::from_millis(500)
                )
                .is_none());
            }
        }
        "circular-dependency" => {
            let msg = referral(shared, &qname);
            assert!(glue_of(&msg).is_empty(), "circular delegation carries glue");
            let ns = records_of(&msg, RecordType::NS);
            assert!(
                ns.iter()
                    .all(|r| matches!(&r.data, RData::NS(n) if !qname.zone_of(&n.0))),
                "NS names inside the zone"
            );
        }
        "stale-delegation" | "ns-mismatch" => {
            let msg = referral(shared, &qname);
            let parent_ns: Vec<Record> = records_of(&msg, RecordType::NS);
            let child = zone_ask(shared, &qname, &qname.to_string(), RecordType::NS);
            let child_ns: Vec<Record> = records_of(&child, RecordType::NS)
                .into_iter()
                .filter(|r| r.name == qname)
                .collect();
            let names = |v: &[Record]| {
                let mut n: Vec<String> = v.iter().map(|r| r.data.to_string()).collect();
                n.sort();
                n
            };
            assert_ne!(
                names(&parent_ns),
                names(&child_ns),
                "parent and child NS sets agree"
            );
        }
        _ => {}
    }
}

/// Scenarios whose zone is served correctly: the authoritative answer itself carries the
/// expected RCODE (a resolver adds only validation on top), for the main question and for
/// each follow-up (`[[then]]`). NOERROR means a non-empty answer unless the expectation is
/// a NODATA (cause `no-data`, or the `nodata` control).
fn check_authoritative_answer(shared: &SharedLab, scenario: &Scenario) {
    let servers = shared.lab.servers_of(&scenario.id);
    let questions = std::iter::once((&scenario.query, &scenario.expect))
        .chain(scenario.then.iter().map(|t| (&t.query, &t.expect)));
    for (query, expect) in questions {
        let qname = Name::from_ascii(&query.name).unwrap();
        // The server of the deepest zone holding the name (a parent only refers to it).
        let depth = |s: &&&LabServer| {
            s.zones
                .iter()
                .filter(|z| z.apex.zone_of(&qname))
                .map(|z| z.apex.num_labels())
                .max()
        };
        let Some(server) = servers
            .iter()
            .filter(|s| s.faults.is_empty() && depth(s).is_some())
            .max_by_key(depth)
        else {
            continue;
        };
        let expected = match expect.rcode.as_str() {
            "NOERROR" => ResponseCode::NoError,
            "NXDOMAIN" => ResponseCode::NXDomain,
            _ => continue,
        };
        let asked = format!("{}: {} {}", scenario.id, query.name, query.rtype);
        let msg = ask(
            addr_of(shared, server),
            &query.name,
            rtype(&query.rtype),
            Ask::default(),
        );
        assert_eq!(
            msg.metadata.response_code, expected,
            "{asked}: authoritative rcode"
        );
        assert!(msg.metadata.authoritative, "{asked}: AA");
        let nodata = scenario.id == "nodata" || expect.cause.as_deref() == Some("no-data");
        if expected == ResponseCode::NoError {
            let data: Vec<&Record> = msg
                .answers
                .iter()
                .filter(|r| r.record_type() != RecordType::RRSIG)
                .collect();
            assert_eq!(data.is_empty(), nodata, "{asked}: answer {data:?}");
        }
        if let Some(max_ttl) = expect.max_ttl {
            check_max_ttl(shared, scenario, &msg, max_ttl, &asked);
        }
    }
}

/// `expect.max_ttl` asks a resolver to shorten the TTLs: the authoritative answer has a
/// record above it (so the cap is needed) and, for each record above it, an RRSIG that
/// expires no later than `max_ttl` after the lab signed, over the record itself or over the
/// DS of its zone at the parent (so an ideal resolver can meet it: RFC 4035 §5.3.3 caps the
/// TTL at the time left until the signatures it was validated with expire).
fn check_max_ttl(
    shared: &SharedLab,
    scenario: &Scenario,
    msg: &Message,
    max_ttl: u32,
    asked: &str,
) {
    let above: Vec<&Record> = msg.answers.iter().filter(|r| r.ttl > max_ttl).collect();
    assert!(
        !above.is_empty(),
        "{asked}: max_ttl {max_ttl} is below no TTL of the authoritative answer"
    );
    let deadline = shared.lab.signed_at + u64::from(max_ttl);
    for record in above
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
    {
        let sigs = sigs_at(&msg.answers, &record.name, record.record_type());
        let expires_in_time = |sigs: &[Record]| {
            rrsigs(sigs)
                .iter()
                .any(|s| u64::from(s.input().sig_expiration.get()) <= deadline)
        };
        assert!(
            expires_in_time(&sigs) || expires_in_time(&ds_signatures(shared, scenario, record)),
            "{asked}: no RRSIG over {} {} (or its zone's DS) expires within max_ttl {max_ttl} of signing",
            record.name,
            record.record_type()
        );
    }
}

/// The RRSIGs over the DS of the zone holding `record`, as the scenario's parent server
/// serves them (empty when the scenario has no such parent).
fn ds_signatures(shared: &SharedLab, scenario: &Scenario, record: &Record) -> Vec<Record> {
    let servers = shared.lab.servers_of(&scenario.id);
    let zones: Vec<Name> = servers
        .iter()
        .flat_map(|s| s.zones.iter().map(|z| z.apex.clone()))
        .filter(|apex| apex.zone_of(&record.name))
        .collect();
    let Some(zone) = zones.iter().max_by_key(|z| z.num_labels()) else {
        return Vec::new();
    };
    let Some(parent) = servers.iter().find(|s| {
        s.zones
            .iter()
            .any(|z| z.apex != *zone && z.apex.zone_of(zone))
    }) else {
        return Vec::new();
    };
    let reply = ask(
        addr_of(shared, parent),
        &zone.to_string(),
        RecordType::DS,
        Ask::default(),
    );
    sigs_at(&reply.answers, zone, RecordType::DS)
}

// ---- answer forgeries ------------------------------------------------------------------------

/// The (owner, type) pairs a rewriting fault acts on, to ask its server about: its `names`
/// for each of its types, else the scenario's query name when it has the type, else the
/// first owner of that type in the server's zones.
fn forged_targets(
    scenario: &Scenario,
    server: &LabServer,
    types: &[String],
    names: &Option<Vec<String>>,
) -> Vec<(Name, RecordType)> {
    let qname = Name::from_ascii(&scenario.query.name).unwrap();
    let mut out = Vec::new();
    for t in types.iter().map(|t| rtype(t)) {
        if let Some(names) = names {
            out.extend(names.iter().map(|n| (Name::from_ascii(n).unwrap(), t)));
            continue;
        }
        let holds = |n: &Name| {
            server
                .zones
                .iter()
                .any(|z| z.rrset(n, t).is_some() && !z.is_below_cut(n))
        };
        let owner = if holds(&qname) && rtype(&scenario.query.rtype) == t {
            Some(qname.clone())
        } else {
            server.zones.iter().find_map(|z| {
                z.records
                    .iter()
                    .find(|(n, types)| types.contains_key(&t) && !z.is_below_cut(n))
                    .map(|(n, _)| n.clone())
            })
        };
        let owner =
            owner.unwrap_or_else(|| panic!("{}: nothing of type {t} to forge", server.name));
        out.push((owner, t));
    }
    out
}

/// The server's answer to (name, type) over UDP and over TCP, with DO.
fn both_transports(addr: std::net::SocketAddr, name: &Name, rt: RecordType) -> Vec<Message> {
    let query = query_message(&name.to_string(), rt, Ask::default());
    let udp = udp_exchange(addr, &query, Duration::from_secs(3))
        .unwrap_or_else(|| panic!("no UDP answer from {addr} for {name} {rt}"));
    let tcp = match tcp_query(addr, &query, Duration::from_secs(3)) {
        TcpOutcome::Answer(msg) => msg,
        other => panic!("no TCP answer from {addr} for {name} {rt}: {other:?}"),
    };
    vec![udp, tcp]
}

fn records_at(records: &[Record], owner: &Name, rt: RecordType) -> Vec<Record> {
    records
        .iter()
        .filter(|r| &r.name == owner && r.record_type() == rt)
        .cloned()
        .collect()
}

fn sigs_at(records: &[Record], owner: &Name, covered: RecordType) -> Vec<Record> {
    records_at(records, owner, RecordType::RRSIG)
        .into_iter()
        .filter(|r| matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == covered))
        .collect()
}

/// The genuine RRSIG signature bytes over (owner, type) in the zone as signed.
fn genuine_signatures(server: &LabServer, owner: &Name, rt: RecordType) -> Vec<Vec<u8>> {
    let zone = server
        .zones
        .iter()
        .filter(|z| z.apex.zone_of(owner))
        .max_by_key(|z| z.apex.num_labels())
        .expect("owner in a served zone");
    let mut out: Vec<Vec<u8>> = rrsigs(zone.signatures(owner, rt))
        .iter()
        .map(|s| s.sig().to_vec())
        .collect();
    out.sort();
    out
}

fn signature_bytes(sigs: &[Record]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = rrsigs(sigs).iter().map(|s| s.sig().to_vec()).collect();
    out.sort();
    out
}

fn sorted_rdata(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = records.iter().map(|r| r.data.to_string()).collect();
    out.sort();
    out
}

fn check_forgery(shared: &SharedLab, scenario: &Scenario, server: &LabServer, fault: &ServerFault) {
    let addr = addr_of(shared, server);
    let who = &server.name;
    match fault {
        ServerFault::ForgeResign {
            types,
            names,
            data,
            signer,
        } => {
            let signer = Name::from_ascii(signer).unwrap();
            let keys = dnskey_set(shared, &signer);
            let zsk = dnskeys(&keys)
                .into_iter()
                .find(|k| k.flags() == 256)
                .unwrap_or_else(|| panic!("{signer} publishes no ZSK"));
            let now = common::now() as u32;
            for (owner, rt) in forged_targets(scenario, server, types, names) {
                let forged = RData::try_from_str(rt, data).unwrap();
                for msg in both_transports(addr, &owner, rt) {
                    let rrset = records_at(&msg.answers, &owner, rt);
                    assert_eq!(
                        rrset.iter().map(|r| &r.data).collect::<Vec<_>>(),
                        vec![&forged],
                        "{who}: {owner} {rt} not forged"
                    );
                    let sigs = sigs_at(&msg.answers, &owner, rt);
                    assert_eq!(sigs.len(), 1, "{who}: {owner} {rt}: RRSIGs {sigs:?}");
                    let sig = rrsigs(&sigs)[0];
                    let input = sig.input();
                    assert_eq!(input.signer_name, signer, "{who}: Signer's Name");
                    assert_eq!(input.key_tag, key_tag(zsk), "{who}: key tag");
                    assert_eq!(
                        input.algorithm,
                        zsk.public_key().algorithm(),
                        "{who}: algorithm"
                    );
                    assert_eq!(input.num_labels, owner.num_labels(), "{who}: labels");
                    assert_eq!(input.original_ttl, rrset[0].ttl, "{who}: original TTL");
                    assert!(
                        input.sig_inception.get() <= now && now <= input.sig_expiration.get(),
                        "{who}: forged RRSIG outside its window"
                    );
                    assert!(
                        verifies(sig, &rrset, zsk),
                        "{who}: the forged RRSIG does not verify with {signer}'s ZSK"
                    );
                }
                // Without DO: the forged data, and no RRSIG at all.
                let plain = Ask {
                    dnssec_ok: false,
                    ..Ask::default()
                };
                let msg = ask(addr, &owner.to_string(), rt, plain);
                assert_eq!(
                    records_at(&msg.answers, &owner, rt)
                        .iter()
                        .map(|r| &r.data)
                        .collect::<Vec<_>>(),
                    vec![&forged],
                    "{who}: {owner} {rt} without DO"
                );
                assert!(records_of(&msg, RecordType::RRSIG).is_empty());
            }
        }
        ServerFault::ForgeRelabel {
            types,
            names,
            data,
            signer,
        } => {
            let signer = Name::from_ascii(signer).unwrap();
            for (owner, rt) in forged_targets(scenario, server, types, names) {
                let forged = RData::try_from_str(rt, data).unwrap();
                let genuine = genuine_signatures(server, &owner, rt);
                assert!(!genuine.is_empty(), "{who}: {owner} {rt} is not signed");
                for msg in both_transports(addr, &owner, rt) {
                    let rrset = records_at(&msg.answers, &owner, rt);
                    assert_eq!(
                        rrset.iter().map(|r| &r.data).collect::<Vec<_>>(),
                        vec![&forged],
                        "{who}: {owner} {rt} not forged"
                    );
                    let sigs = sigs_at(&msg.answers, &owner, rt);
                    assert!(
                        rrsigs(&sigs)
                            .iter()
                            .all(|s| s.input().signer_name == signer),
                        "{who}: {owner} {rt}: a Signer's Name is not {signer}"
                    );
                    assert_eq!(
                        signature_bytes(&sigs),
                        genuine,
                        "{who}: {owner} {rt}: signature bytes changed"
                    );
                }
            }
        }
        ServerFault::RelabelSigner {
            types,
            names,
            signer,
        } => {
            let signer = Name::from_ascii(signer).unwrap();
            for (owner, rt) in forged_targets(scenario, server, types, names) {
                let genuine = genuine_signatures(server, &owner, rt);
                assert!(!genuine.is_empty(), "{who}: {owner} {rt} is not signed");
                let zone_data: Vec<Record> = server
                    .zones
                    .iter()
                    .find_map(|z| z.rrset(&owner, rt).cloned())
                    .unwrap();
                let relabelled = |records: &[Record], what: &str| {
                    let sigs = sigs_at(records, &owner, rt);
                    assert!(
                        !sigs.is_empty()
                            && rrsigs(&sigs)
                                .iter()
                                .all(|s| s.input().signer_name == signer),
                        "{who}: {what}: RRSIGs over {owner} {rt} not relabelled to {signer}"
                    );
                    assert_eq!(
                        signature_bytes(&sigs),
                        genuine,
                        "{who}: {what}: signature bytes changed"
                    );
                };
                for msg in both_transports(addr, &owner, rt) {
                    assert_eq!(
                        sorted_rdata(&records_at(&msg.answers, &owner, rt)),
                        sorted_rdata(&zone_data),
                        "{who}: {owner} {rt}: the data changed"
                    );
                    relabelled(&msg.answers, "answer");
                }
                // A DS also travels in referrals: relabelled in the authority section too.
                let qname = Name::from_ascii(&scenario.query.name).unwrap();
                if rt == RecordType::DS && owner.zone_of(&qname) {
                    let referral = ask(addr, &scenario.query.name, RecordType::A, Ask::default());
                    assert!(!referral.metadata.authoritative, "{who}: no referral");
                    relabelled(&referral.authorities, "referral");
                }
            }
        }
        ServerFault::ForgeDnameCname { target } => {
            let target = Name::from_ascii(target).unwrap();
            let qname = Name::from_ascii(&scenario.query.name).unwrap();
            let (zone, dname) = server
                .zones
                .iter()
                .find_map(|z| {
                    z.records
                        .iter()
                        .find(|(_, t)| t.contains_key(&RecordType::DNAME))
                        .map(|(n, _)| (z, n.clone()))
                })
                .unwrap_or_else(|| panic!("{who}: no DNAME to forge under"));
            let qname = if dname.zone_of(&qname) && dname != qname {
                qname
            } else {
                dname.prepend_label("www").unwrap()
            };
            let keys = dnskey_set(shared, &zone.apex);
            let zsk = dnskeys(&keys)
                .into_iter()
                .find(|k| k.flags() == 256)
                .unwrap();
            for msg in both_transports(addr, &qname, RecordType::A) {
                let dnames = records_at(&msg.answers, &dname, RecordType::DNAME);
                assert_eq!(
                    sorted_rdata(&dnames),
                    sorted_rdata(zone.rrset(&dname, RecordType::DNAME).unwrap()),
                    "{who}: the DNAME is not genuine"
                );
                let sigs = sigs_at(&msg.answers, &dname, RecordType::DNAME);
                assert!(
                    !sigs.is_empty() && rrsigs(&sigs).iter().all(|s| verifies(s, &dnames, zsk)),
                    "{who}: the DNAME's RRSIG is not genuine"
                );
                let last = msg.answers.last().expect("an answer");
                assert_eq!(last.name, qname, "{who}: records follow the CNAME");
                assert!(
                    matches!(&last.data, RData::CNAME(c) if c.0 == target),
                    "{who}: CNAME not forged to {target}: {last:?}"
                );
                assert!(
                    records_of(&msg, RecordType::A).is_empty(),
                    "{who}: the genuine target's address is still there"
                );
            }
        }
        _ => {}
    }
}
