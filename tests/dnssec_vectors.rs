//! The published DNSSEC examples, checked through `whydns::dnssec`: RFC 5702 §6 (RSA/SHA-256,
//! RSA/SHA-512), RFC 6605 §6 (ECDSA P-256, P-384), RFC 8080 §6 as corrected by verified erratum
//! 4935 (Ed25519, Ed448), and the DS examples of RFC 4034 §5.4, RFC 4509 §2.3, RFC 6605 §6 and
//! RFC 8080 §6.

use std::net::Ipv4Addr;

use base64::Engine;
use hickory_proto::dnssec::rdata::{DNSSECRData, SigInput, DNSKEY, DS, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::rdata::{A, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType, SerialNumber};
use whydns::dnssec::{check_signatures, ds_matches, key_tag, DsMatch, VerificationBudget};
use whydns::explain::verdict::SignatureCheck;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn base64(text: &str) -> Vec<u8> {
    let joined: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(joined)
        .unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    let joined: String = text.split_whitespace().collect();
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(joined.as_bytes())
        .unwrap()
}

/// `YYYYMMDDHHmmSS` (RFC 4034 §3.2) as seconds since the epoch.
fn timestamp(text: &str) -> u32 {
    let field = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (year, month, day) = (field(0..4), field(4..6), field(6..8));
    // Days from civil (proleptic Gregorian), March-based year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + field(8..10) * 3600 + field(10..12) * 60 + field(12..14);
    u32::try_from(seconds).unwrap()
}

/// One published RRSIG example: the zone's key, the signed RRset and the signature.
struct Vector {
    what: &'static str,
    zone: &'static str,
    flags: u16,
    algorithm: u8,
    key: &'static str,
    tag: u16,
    rrset: Vec<Record>,
    labels: u8,
    expiration: u32,
    inception: u32,
    signature: &'static str,
}

impl Vector {
    fn dnskey(&self) -> DNSKEY {
        DNSKEY::with_flags(
            self.flags,
            PublicKeyBuf::new(base64(self.key), Algorithm::from_u8(self.algorithm)),
        )
    }

    fn rrsig(&self, signer: &str, signature: Vec<u8>) -> Record {
        let input = SigInput {
            type_covered: self.rrset[0].record_type(),
            algorithm: Algorithm::from_u8(self.algorithm),
            num_labels: self.labels,
            original_ttl: 3600,
            sig_expiration: SerialNumber::new(self.expiration),
            sig_inception: SerialNumber::new(self.inception),
            key_tag: self.tag,
            signer_name: name(signer),
        };
        Record::from_rdata(
            self.rrset[0].name.clone(),
            3600,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, signature))),
        )
    }

    fn check_with(&self, rrsig: Record, now: u32) -> SignatureCheck {
        let key = Record::from_rdata(
            name(self.zone),
            3600,
            RData::DNSSEC(DNSSECRData::DNSKEY(self.dnskey())),
        );
        let mut budget = VerificationBudget::new(8);
        check_signatures(
            &self.rrset,
            &[rrsig],
            &[key],
            &name(self.zone),
            now,
            &mut budget,
        )
    }

    /// Valid inside its window; bad with one bit flipped; expired after; wrong signer.
    fn run(&self) {
        let what = self.what;
        assert_eq!(key_tag(&self.dnskey()), self.tag, "{what}: key tag");
        let inside = self.inception + (self.expiration - self.inception) / 2;
        let signature = base64(self.signature);

        let check = self.check_with(self.rrsig(self.zone, signature.clone()), inside);
        assert_eq!(check.matched, 1, "{what}: {check:#?}");
        assert!(check.wildcard.is_none(), "{what}");

        let mut flipped = signature.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        let check = self.check_with(self.rrsig(self.zone, flipped), inside);
        assert_eq!(
            (check.matched, check.bad_crypto),
            (0, 1),
            "{what}: {check:#?}"
        );

        let check = self.check_with(
            self.rrsig(self.zone, signature.clone()),
            self.expiration + 1,
        );
        assert_eq!((check.matched, check.expired), (0, 1), "{what}: {check:#?}");

        let check = self.check_with(self.rrsig(self.zone, signature.clone()), self.inception - 1);
        assert_eq!(
            (check.matched, check.not_yet_valid),
            (0, 1),
            "{what}: {check:#?}"
        );

        let check = self.check_with(self.rrsig("other.example.", signature), inside);
        assert_eq!(
            (check.matched, check.wrong_signer),
            (0, 1),
            "{what}: {check:#?}"
        );
    }
}

fn a_record(owner: &str, last: u8) -> Vec<Record> {
    vec![Record::from_rdata(
        name(owner),
        3600,
        RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
    )]
}

fn mx_record() -> Vec<Record> {
    vec![Record::from_rdata(
        name("example.com."),
        3600,
        RData::MX(MX::new(10, name("mail.example.com."))),
    )]
}

#[test]
fn rfc5702_rsasha256() {
    Vector {
        what: "RFC 5702 §6.1 RSA/SHA-256 (512-bit key)",
        zone: "example.net.",
        flags: 256,
        algorithm: 8,
        key: "AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=",
        tag: 9033,
        rrset: a_record("www.example.net.", 91),
        labels: 3,
        expiration: timestamp("20300101000000"),
        inception: timestamp("20000101000000"),
        signature: "kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPtPiVYP4bwg==",
    }
    .run();
}

#[test]
fn rfc5702_rsasha512() {
    Vector {
        what: "RFC 5702 §6.2 RSA/SHA-512 (1024-bit key)",
        zone: "example.net.",
        flags: 256,
        algorithm: 10,
        key: "AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFDxj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
        tag: 3740,
        rrset: a_record("www.example.net.", 91),
        labels: 3,
        expiration: timestamp("20300101000000"),
        inception: timestamp("20000101000000"),
        signature: "tsb4wnjRUDnB1BUi+t6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOLDiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=",
    }
    .run();
}

#[test]
fn rfc6605_ecdsa_p256() {
    Vector {
        what: "RFC 6605 §6.1 ECDSA P-256",
        zone: "example.net.",
        flags: 257,
        algorithm: 13,
        key: "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
        tag: 55648,
        rrset: a_record("www.example.net.", 1),
        labels: 3,
        expiration: timestamp("20100909100439"),
        inception: timestamp("20100812100439"),
        signature: "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
    }
    .run();
}

#[test]
fn rfc6605_ecdsa_p384() {
    Vector {
        what: "RFC 6605 §6.2 ECDSA P-384",
        zone: "example.net.",
        flags: 257,
        algorithm: 14,
        key: "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
        tag: 10771,
        rrset: a_record("www.example.net.", 1),
        labels: 3,
        expiration: timestamp("20100909102025"),
        inception: timestamp("20100812102025"),
        signature: "/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
    }
    .run();
}

fn rfc8080(
    what: &'static str,
    algorithm: u8,
    key: &'static str,
    tag: u16,
    signature: &'static str,
) -> Vector {
    Vector {
        what,
        zone: "example.com.",
        flags: 257,
        algorithm,
        key,
        tag,
        rrset: mx_record(),
        labels: 2,
        expiration: 1_440_021_600,
        inception: 1_438_207_200,
        signature,
    }
}

#[test]
fn rfc8080_ed25519() {
    rfc8080(
        "RFC 8080 §6.1 Ed25519, first key (erratum 4935)",
        15,
        "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
        3613,
        "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
    )
    .run();
    rfc8080(
        "RFC 8080 §6.1 Ed25519, second key (erratum 4935)",
        15,
        "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
        35217,
        "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==",
    )
    .run();
}

#[test]
fn rfc8080_ed448() {
    rfc8080(
        "RFC 8080 §6.2 Ed448, first key (erratum 4935)",
        16,
        "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
        9713,
        "3cPAHkmlnxcDHMyg7vFC34l0blBhuG1qpwLmjInI8w1CMB29FkEAIJUA0amxWndkmnBZ6SKiwZSAxGILn/NBtOXft0+Gj7FSvOKxE/07+4RQvE581N3Aj/JtIyaiYVdnYtyMWbSNyGEY2213WKsJlwEA",
    )
    .run();
    rfc8080(
        "RFC 8080 §6.2 Ed448, second key (erratum 4935)",
        16,
        "kkreGWoccSDmUBGAe7+zsbG6ZAFQp+syPmYUurBRQc3tDjeMCJcVMRDmgcNLp5HlHAMy12VoISsA",
        38353,
        "E1/oLjSGIbmLny/4fcgM1z4oL6aqo+izT3urCyHyvEp4Sp8Syg1eI+lJ57CSnZqjJP41O/9l4m0AsQ4f7qI1gVnML8vWWiyW2KXhT9kuAICUSxv5OWbf81Rq7Yu60npabODB0QFPb/rkW3kUZmQ0YQUA",
    )
    .run();
}

/// The RRSIGs RFC 8080 printed before the erratum carry Labels = 3 over a two-label owner:
/// a validator must refuse them before any cryptography.
#[test]
fn rfc8080_as_printed_has_too_many_labels() {
    let mut vector = rfc8080(
        "RFC 8080 §6.1 as printed",
        15,
        "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
        3613,
        "Edk+IB9KNNWg0HAjm7FazXyrd5m3Rk8zNZbvNpAcM+eysqcUOMIjWoevFkjH5GaMWeG96GUVZu6ECKOQmemHDg==",
    );
    vector.labels = 3;
    let check = vector.check_with(
        vector.rrsig("example.com.", base64(vector.signature)),
        1_439_000_000,
    );
    assert_eq!((check.matched, check.bad_labels), (0, 1), "{check:#?}");
}

fn ds(tag: u16, algorithm: u8, digest_type: u8, digest: &str) -> DS {
    DS::new(
        tag,
        Algorithm::from_u8(algorithm),
        DigestType::from(digest_type),
        hex(digest),
    )
}

fn key(flags: u16, algorithm: u8, key: &str) -> DNSKEY {
    DNSKEY::with_flags(
        flags,
        PublicKeyBuf::new(base64(key), Algorithm::from_u8(algorithm)),
    )
}

const DSKEY_EXAMPLE_COM: &str =
    "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxe
    YCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2
    wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";

#[test]
fn rfc4034_ds_sha1_and_rfc4509_ds_sha256() {
    let owner = name("dskey.example.com.");
    let dnskey = key(256, 5, DSKEY_EXAMPLE_COM);
    assert_eq!(key_tag(&dnskey), 60485);
    let sha1 = ds(60485, 5, 1, "2BB183AF5F22588179A53B0A 98631FAD1A292118");
    let sha256 = ds(
        60485,
        5,
        2,
        "D4B7D520E7BB5F0F67674A0CCEB1E3E0 614B93C4F9E99B8383F6A1E4469DA50A",
    );
    assert_eq!(ds_matches(&owner, &dnskey, &sha1), DsMatch::Match);
    assert_eq!(ds_matches(&owner, &dnskey, &sha256), DsMatch::Match);
    // The owner is hashed in canonical (lower-case) form.
    assert_eq!(
        ds_matches(&name("DSKEY.Example.COM."), &dnskey, &sha256),
        DsMatch::Match
    );
    assert_eq!(
        ds_matches(&name("other.example.com."), &dnskey, &sha1),
        DsMatch::Mismatch
    );
    assert_eq!(
        ds_matches(&owner, &dnskey, &ds(60486, 5, 1, "00")),
        DsMatch::WrongKey
    );
    assert_eq!(
        ds_matches(&owner, &dnskey, &ds(60485, 8, 1, "00")),
        DsMatch::WrongKey
    );
    assert_eq!(
        ds_matches(&owner, &dnskey, &ds(60485, 5, 3, "00")),
        DsMatch::UnsupportedDigest
    );
}

#[test]
fn rfc6605_and_rfc8080_ds_records() {
    let cases = [
        ("example.net.", key(257, 13, "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="),
         ds(55648, 13, 2, "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17")),
        ("example.net.", key(257, 14, "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40"),
         ds(10771, 14, 4, "72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6")),
        ("example.com.", key(257, 15, "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="),
         ds(3613, 15, 2, "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b")),
        ("example.com.", key(257, 15, "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs="),
         ds(35217, 15, 2, "401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c")),
        ("example.com.", key(257, 16, "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA"),
         ds(9713, 16, 2, "6ccf18d5bc5d7fc2fceb1d59d17321402f2aa8d368048db93dd811f5cb2b19c7")),
        ("example.com.", key(257, 16, "kkreGWoccSDmUBGAe7+zsbG6ZAFQp+syPmYUurBRQc3tDjeMCJcVMRDmgcNLp5HlHAMy12VoISsA"),
         ds(38353, 16, 2, "645ff078b3568f5852b70cb60e8e696cc77b75bfaaffc118cf79cbda1ba28af4")),
    ];
    for (owner, dnskey, ds) in cases {
        assert_eq!(
            ds_matches(&name(owner), &dnskey, &ds),
            DsMatch::Match,
            "{owner} {}",
            ds.key_tag()
        );
        let mut digest = ds.digest().to_vec();
        digest[0] ^= 0x80;
        let altered = DS::new(ds.key_tag(), ds.algorithm(), ds.digest_type(), digest);
        assert_eq!(
            ds_matches(&name(owner), &dnskey, &altered),
            DsMatch::Mismatch
        );
    }
}

#[test]
fn rfc_timestamps() {
    assert_eq!(timestamp("20000101000000"), 946_684_800);
    assert_eq!(timestamp("20300101000000"), 1_893_456_000);
    assert_eq!(RecordType::A, a_record("x.", 1)[0].record_type());
}
