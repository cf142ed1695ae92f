//! Bad input to the lab: broken scenario and zone files, bad addresses, missing keys, ports in
//! use, bad command lines. Each must give a clear error naming the culprit, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use whydns::lab::{Lab, StartOptions};

/// A private copy of testzones/ to break.
fn copy_of_testzones(tag: &str) -> PathBuf {
    let dest = std::env::temp_dir().join(format!("whydns-errors-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dest);
    copy_dir(&common::testzones(), &dest);
    dest
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn load_error(dir: &Path) -> String {
    match Lab::load(dir, common::now()) {
        Ok(_) => panic!("the broken lab in {} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn append(path: &Path, text: &str) -> usize {
    let mut content = std::fs::read_to_string(path).unwrap();
    if !content.ends_with('\n') {
        content.push('\n');
    }
    content.push_str(text);
    std::fs::write(path, &content).unwrap();
    content.lines().count()
}

#[test]
fn unknown_field_in_a_scenario_names_file_and_line() {
    let dir = copy_of_testzones("toml");
    let line = append(&dir.join("scenarios/valid.toml"), "colour = \"blue\"\n");
    let error = load_error(&dir);
    assert!(
        error.contains(&format!("scenarios/valid.toml:{line}")),
        "{error}"
    );
    assert!(error.contains("colour"), "{error}");
}

#[test]
fn unknown_fault_names_file() {
    let dir = copy_of_testzones("fault");
    let path = dir.join("scenarios/allow-query-none.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"refuse\"", "\"explode\"");
    std::fs::write(&path, text).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains("scenarios/allow-query-none.toml:"),
        "{error}"
    );
    assert!(error.contains("explode"), "{error}");
}

#[test]
fn bad_max_ttl_and_misspelt_ds_fault_name_file_and_line() {
    let dir = copy_of_testzones("max-ttl");
    let path = dir.join("scenarios/rrsig-exp-soon.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().position(|l| l == "max_ttl = 600").unwrap() + 1;
    std::fs::write(&path, text.replace("max_ttl = 600", "max_ttl = \"10m\"")).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains(&format!("scenarios/rrsig-exp-soon.toml:{line}")),
        "{error}"
    );

    let dir = copy_of_testzones("ds-add");
    let path = dir.join("scenarios/ds-sha1-beside-bad-sha256.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("ds-add-sha1"))
        .unwrap()
        + 1;
    std::fs::write(&path, text.replace("ds-add-sha1", "ds-add-sha384")).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains(&format!("scenarios/ds-sha1-beside-bad-sha256.toml:{line}")),
        "{error}"
    );
    assert!(error.contains("ds-add-sha384"), "{error}");
}

#[test]
fn broken_zone_file_names_file_and_line() {
    let dir = copy_of_testzones("zone");
    let line = append(&dir.join("zones/valid.lab.zone"), "broken IN A 300.1.2.3\n");
    let error = load_error(&dir);
    assert!(
        error.contains(&format!("zones/valid.lab.zone:{line}")),
        "{error}"
    );
}

#[test]
fn zone_without_soa_is_rejected() {
    let dir = copy_of_testzones("soa");
    let path = dir.join("zones/unsigned.lab.zone");
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("SOA"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains("unsigned.lab.zone") && error.contains("no SOA"),
        "{error}"
    );
}

#[test]
fn non_loopback_server_address_is_refused() {
    let dir = copy_of_testzones("addr");
    let path = dir.join("scenarios/unsigned.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("127.53.11.1", "10.53.11.1");
    std::fs::write(&path, text).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains("10.53.11.1") && error.contains("not a loopback address"),
        "{error}"
    );
}

#[test]
fn duplicate_server_address_is_refused() {
    let dir = copy_of_testzones("dup");
    let path = dir.join("scenarios/unsigned.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("127.53.11.1", "127.53.10.1");
    std::fs::write(&path, text).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains("127.53.10.1") && error.contains("already used"),
        "{error}"
    );
}

#[test]
fn missing_key_says_how_to_make_it() {
    let dir = copy_of_testzones("key");
    std::fs::remove_file(dir.join("keys/valid.lab.zsk.pem")).unwrap();
    let error = load_error(&dir);
    assert!(
        error.contains("valid.lab.zsk.pem") && error.contains("make-keys.py"),
        "{error}"
    );
}

#[test]
fn address_in_use_names_the_address() {
    let lab = Lab::load(&common::testzones(), common::now()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Hold the root server's address on a free port, then ask the lab for that port.
    let holder = std::net::UdpSocket::bind("127.53.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let error = match runtime.block_on(whydns::lab::start(&lab, StartOptions { port })) {
        Ok(_) => panic!("lab started on a port in use"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains(&format!("127.53.0.1:{port}")), "{error}");
}

#[test]
fn cli_reports_a_missing_directory_and_bad_arguments() {
    let bin = env!("CARGO_BIN_EXE_whydns");
    let out = Command::new(bin)
        .args(["lab", "--list", "--zones", "/nonexistent/testzones"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/testzones/lab.toml"),
        "{stderr}"
    );

    let out = Command::new(bin)
        .args(["lab", "--port", "seventy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));

    let out = Command::new(bin)
        .args(["lab", "--list", "--zones"])
        .arg(common::testzones())
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("rrsig-exp-a") && listing.contains("circular-dependency"),
        "{listing}"
    );
}

/// Rewrites `scenario`'s file in a private copy and returns the load error.
fn load_error_after(tag: &str, scenario: &str, from: &str, to: &str) -> (String, usize) {
    let dir = copy_of_testzones(tag);
    let path = dir.join(format!("scenarios/{scenario}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{scenario}.toml has no {from:?}");
    let text = text.replacen(from, to, 1);
    let line = text
        .lines()
        .position(|l| l.contains(to.lines().next().unwrap()))
        .unwrap()
        + 1;
    std::fs::write(&path, text).unwrap();
    (load_error(&dir), line)
}

#[test]
fn forged_data_that_does_not_parse_names_file_and_line() {
    let (error, line) = load_error_after(
        "forge-data",
        "rrsig-foreign-key",
        "data = \"192.0.2.66\"",
        "data = \"192.0.2.666\"",
    );
    assert!(
        error.contains(&format!("scenarios/rrsig-foreign-key.toml:{line}")),
        "{error}"
    );
    assert!(
        error.contains("forge-resign") && error.contains("192.0.2.666"),
        "{error}"
    );
}

#[test]
fn forge_resign_with_an_unsigned_signer_names_file_and_line() {
    let (error, line) = load_error_after(
        "forge-signer",
        "rrsig-foreign-key",
        // With the brace: the fault's signer, not the one `expect.trace` names.
        "signer = \"valid.lab.\" }",
        "signer = \"unsigned.lab.\" }",
    );
    assert!(
        error.contains(&format!("scenarios/rrsig-foreign-key.toml:{line}")),
        "{error}"
    );
    assert!(
        error.contains("unsigned.lab.") && error.contains("not a signed zone"),
        "{error}"
    );
}

#[test]
fn forged_type_and_relative_names_are_refused() {
    let (error, line) = load_error_after(
        "forge-type",
        "rrsig-signer-unsigned",
        "types = [\"A\"]",
        "types = [\"BOGUS\"]",
    );
    assert!(
        error.contains(&format!("scenarios/rrsig-signer-unsigned.toml:{line}"))
            && error.contains("unknown record type \"BOGUS\""),
        "{error}"
    );
    let (error, _) = load_error_after(
        "forge-target",
        "dname-forged-cname",
        "target = \"www.valid.lab.\"",
        "target = \"www.valid.lab\"",
    );
    assert!(
        error.contains("dname-forged-cname.toml") && error.contains("must be absolute"),
        "{error}"
    );
}

#[test]
fn unknown_field_in_a_server_fault_names_file_and_line() {
    let (error, line) = load_error_after(
        "forge-field",
        "ds-signer-relabelled",
        "signer = \"unsigned.lab.\" }",
        "signer = \"unsigned.lab.\", colour = \"blue\" }",
    );
    assert!(
        error.contains(&format!("scenarios/ds-signer-relabelled.toml:{line}")),
        "{error}"
    );
    assert!(error.contains("colour"), "{error}");
}

#[test]
fn bad_follow_up_names_file_and_line() {
    // An unknown key inside a [[then]] expectation.
    let (error, line) = load_error_after(
        "then-field",
        "nodata-then-a",
        "type = \"A\" }",
        "type = \"A\", colour = \"blue\" }",
    );
    assert!(
        error.contains(&format!("scenarios/nodata-then-a.toml:{line}")) && error.contains("colour"),
        "{error}"
    );
    // A follow-up with an RCODE the lab does not know.
    let (error, line) = load_error_after(
        "then-rcode",
        "nodata-then-a",
        "expect = { rcode = \"NOERROR\", ede = [], ad = true, cause = \"resolved\"",
        "expect = { rcode = \"NOERR\", ede = [], ad = true, cause = \"resolved\"",
    );
    assert!(
        error.contains(&format!("scenarios/nodata-then-a.toml:{line}"))
            && error.contains("then[1].expect.rcode \"NOERR\""),
        "{error}"
    );
    // never must be a list of strings.
    let (error, line) = load_error_after(
        "never-type",
        "rrsig-foreign-key",
        "never = [\"192.0.2.66\"]",
        "never = [66]",
    );
    assert!(
        error.contains(&format!("scenarios/rrsig-foreign-key.toml:{line}")),
        "{error}"
    );
}
