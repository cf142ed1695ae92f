//! NSEC3 iteration thresholds (RFC 9276 §3.2, `dnssec.nsec3_insecure_above` and
//! `dnssec.nsec3_bogus_above`) through `whydns serve` on the wire: the lab's NXDOMAIN proofs
//! with 0, 200, 2500 and 65535 iterations, each asked twice of a server with the default
//! thresholds (insecure above 50, never refused), one that refuses above 150, and one that
//! computes up to 250 and refuses above 2500. EDE 27 comes with every answer over the
//! threshold, insecure or SERVFAIL; the verdict names the iterations and the threshold.
//! And the thresholds as the configuration file gives them, checked on load.

mod common;

use common::{ask_recursive, seen};
use hickory_proto::rr::{Name, RecordType};
use whydns::config::{Config, DnssecConfig};
use whydns::explain::verdict::{BogusReason, InsecureReason, Security};
use whydns::resolver::Resolver;

/// What an answer should be: RCODE, AD, EDE codes, and the threshold the verdict names
/// (None: the proof was checked).
type Expected = (&'static str, bool, &'static [u16], Option<u16>);

fn config(insecure_above: u16, bogus_above: u16) -> Config {
    Config {
        dnssec: DnssecConfig {
            nsec3_insecure_above: insecure_above,
            nsec3_bogus_above: bogus_above,
        },
        ..common::lab_config()
    }
}

/// The iterations of the verdict and the threshold it names, if it is about iterations.
fn iterations_verdict(security: &Security) -> Option<(u16, u16, bool)> {
    match security {
        Security::Insecure {
            reason:
                InsecureReason::Nsec3Iterations {
                    iterations, limit, ..
                },
        } => Some((*iterations, *limit, false)),
        Security::Bogus {
            reason:
                BogusReason::Nsec3IterationsRefused {
                    iterations, limit, ..
                },
        } => Some((*iterations, *limit, true)),
        _ => None,
    }
}

#[test]
fn nsec3_iterations_above_the_thresholds_are_insecure_or_refused_with_ede_27() {
    let default = DnssecConfig::default();
    assert_eq!(
        (default.nsec3_insecure_above, default.nsec3_bogus_above),
        (50, u16::MAX),
        "the defaults docs/ede.md gives"
    );
    let nxdomain = |ad: bool, ede: &'static [u16], limit| ("NXDOMAIN", ad, ede, limit);
    let refused = |limit| ("SERVFAIL", false, &[27u16][..], Some(limit));
    // (iterations, then the answer with each configuration below)
    let rows: [(u16, [Expected; 3]); 4] = [
        (0, [nxdomain(true, &[], None); 3]),
        (
            200,
            [
                nxdomain(false, &[27], Some(50)),
                refused(150),
                nxdomain(true, &[], None),
            ],
        ),
        (
            2500,
            [
                nxdomain(false, &[27], Some(50)),
                refused(150),
                nxdomain(false, &[27], Some(250)),
            ],
        ),
        (
            u16::MAX,
            [
                nxdomain(false, &[27], Some(50)),
                refused(150),
                refused(2500),
            ],
        ),
    ];
    let thresholds = [(50, u16::MAX), (50, 150), (250, 2500)];
    for (column, (insecure_above, bogus_above)) in thresholds.into_iter().enumerate() {
        let config = config(insecure_above, bogus_above);
        let server = common::serve(config.clone());
        let resolver = Resolver::new(&config, std::sync::Arc::new(whydns::clock::SystemClock))
            .expect("resolver");
        for (iterations, expected) in &rows {
            let (rcode, ad, ede, limit) = expected[column];
            let name = format!("nx.nsec3-iter-{iterations}.lab.");
            let what =
                format!("{name}, insecure above {insecure_above}, bogus above {bogus_above}");
            let first = ask_recursive(server, &name, RecordType::A, false);
            let got = seen(&first);
            assert_eq!(
                (got.0.as_str(), got.1, got.2.as_slice()),
                (rcode, ad, ede),
                "{what}\n{first}"
            );
            let again = ask_recursive(server, &name, RecordType::A, false);
            assert_eq!(seen(&again), got, "{what}, asked again\n{again}");
            // CD: the denial comes back unchecked, whatever the thresholds say.
            let unchecked = seen(&ask_recursive(server, &name, RecordType::A, true));
            assert_eq!(
                (unchecked.0.as_str(), unchecked.1),
                ("NXDOMAIN", false),
                "{what} with CD"
            );
            let qname = Name::from_ascii(&name).unwrap();
            let resolver = resolver.clone();
            let resolution = common::runtime()
                .block_on(async move { resolver.resolve(&qname, RecordType::A).await });
            let verdict = iterations_verdict(&resolution.security);
            let wanted = limit.map(|limit| (*iterations, limit, rcode == "SERVFAIL"));
            assert_eq!(verdict, wanted, "{what}: {:?}", resolution.security);
        }
    }
}

/// `[dnssec]` is checked on load: thresholds in the wrong order, an insecure threshold that
/// would have every hash computed, and the removed `limits` names are errors, not panics.
#[test]
fn nsec3_thresholds_are_checked_when_the_configuration_loads() {
    let cases = [
        (
            "[dnssec]\nnsec3_insecure_above = 100\nnsec3_bogus_above = 150\n",
            true,
        ),
        (
            "[dnssec]\nnsec3_insecure_above = 100\nnsec3_bogus_above = 100\n",
            true,
        ),
        ("[dnssec]\nnsec3_insecure_above = 2500\n", true),
        (
            "[dnssec]\nnsec3_insecure_above = 150\nnsec3_bogus_above = 100\n",
            false,
        ),
        ("[dnssec]\nnsec3_bogus_above = 20\n", false),
        ("[dnssec]\nnsec3_insecure_above = 2501\n", false),
        ("[dnssec]\nnsec3_insecure_above = 65536\n", false),
        ("[limits]\nnsec3_max_iterations = 150\n", false),
        ("[limits]\nnsec3_servfail_iterations = 500\n", false),
    ];
    for (i, (text, accepted)) in cases.into_iter().enumerate() {
        let path = std::env::temp_dir().join(format!(
            "whydns-nsec3-config-{}-{i}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        let loaded = Config::from_file(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(loaded.is_ok(), accepted, "{text:?}: {:?}", loaded.err());
    }
}
