//! Cross-checks the lab's signer against an independent implementation: every zone the lab
//! signs without a DNSSEC fault is exported and must pass BIND's `dnssec-verify`.

mod common;

use std::process::Command;

use whydns::lab::{zone_master_file, Lab, ZoneFault};

fn is_ds_fault(fault: &ZoneFault) -> bool {
    matches!(
        fault,
        ZoneFault::DsAbsent
            | ZoneFault::DsKeyTag { .. }
            | ZoneFault::DsAlgorithm { .. }
            | ZoneFault::DsDigestType { .. }
            | ZoneFault::DsDigestCorrupt
    )
}

/// Algorithms BIND no longer validates (RFC 8624): the lab signs them, BIND cannot check them.
const UNVERIFIABLE: &[&str] = &["RSAMD5", "DSA"];
/// BIND refuses NSEC3 chains above 150 iterations outright ("iterations out of range"); the
/// nsec3-iter-200/2500 zones exist precisely to exceed RFC 9276's limits.
const BIND_MAX_NSEC3_ITERATIONS: u16 = 150;

#[test]
fn dnssec_verify_accepts_every_correctly_signed_zone() {
    let lab = Lab::load(&common::testzones(), common::now()).expect("lab loads");
    let dir = std::env::temp_dir().join(format!("whydns-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for (spec, _) in lab.spec.zones() {
        let Some(signing) = &spec.signing else {
            continue;
        };
        // DS faults live in the parent; the child zone itself is signed correctly.
        let child_faults = spec.faults.iter().filter(|f| !is_ds_fault(f)).count();
        if child_faults > 0
            || UNVERIFIABLE.contains(&signing.algorithm.as_str())
            || signing.nsec3_iterations > BIND_MAX_NSEC3_ITERATIONS
        {
            continue;
        }
        let apex = hickory_proto::rr::Name::from_ascii(&spec.name).unwrap();
        let zone = &lab.zones[&apex];
        let file = dir.join(format!("{}zone", spec.name));
        std::fs::write(&file, zone_master_file(zone)).unwrap();
        let output = Command::new("dnssec-verify")
            .arg("-o")
            .arg(&spec.name)
            .arg(&file)
            .output()
            .expect("dnssec-verify (bind9-utils) must be installed: apt-get install bind9-utils");
        if !output.status.success() {
            failures.push(format!(
                "{}: {}{}",
                spec.name,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        checked.push(spec.name.clone());
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(checked.len() >= 10, "too few zones checked: {checked:?}");
    assert!(
        checked.iter().any(|z| z == "."),
        "the root zone was not checked"
    );
    assert!(
        failures.is_empty(),
        "dnssec-verify rejected:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "dnssec-verify accepted {} zones: {}",
        checked.len(),
        checked.join(" ")
    );
}

/// A fault must make dnssec-verify fail: proves the check above can fail at all.
#[test]
fn dnssec_verify_rejects_a_faulty_zone() {
    let lab = Lab::load(&common::testzones(), common::now()).expect("lab loads");
    let apex = hickory_proto::rr::Name::from_ascii("rrsig-corrupt-a.lab.").unwrap();
    let file = std::env::temp_dir().join(format!("whydns-verify-bad-{}.zone", std::process::id()));
    std::fs::write(&file, zone_master_file(&lab.zones[&apex])).unwrap();
    let output = Command::new("dnssec-verify")
        .arg("-o")
        .arg("rrsig-corrupt-a.lab.")
        .arg(&file)
        .output()
        .expect("dnssec-verify (bind9-utils) must be installed");
    let _ = std::fs::remove_file(&file);
    assert!(
        !output.status.success(),
        "dnssec-verify accepted a corrupted signature"
    );
}
