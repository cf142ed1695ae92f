//! The lab's declarative input: `testzones/lab.toml` and one `scenarios/<id>.toml` per case.
//!
//! These types are the file format (serde, unknown fields rejected); `docs/lab.md` documents
//! every field. Loading reports the file and line of any error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::LabError;

mod expect;

pub use expect::{check_trace, Expectation, FollowUp, TraceItem};

/// `testzones/lab.toml`: the zones and servers every scenario builds on.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InfraFile {
    #[serde(default)]
    pub zone: Vec<ZoneSpec>,
    #[serde(default)]
    pub server: Vec<ServerSpec>,
}

/// One scenario: a misconfiguration (or a control case) and what an ideal resolver answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub category: Category,
    pub title: String,
    /// What is broken and why, in one sentence.
    pub broken: String,
    /// What an operator would change to repair it.
    pub fix: String,
    pub query: QuerySpec,
    pub expect: Expectation,
    /// Questions asked after the main query, in order, each with its own expectation
    /// (`[[then]]` tables): the resolver's cache answers them, or has to ask again.
    #[serde(default)]
    pub then: Vec<FollowUp>,
    #[serde(default)]
    pub zone: Vec<ZoneSpec>,
    #[serde(default)]
    pub server: Vec<ServerSpec>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Control,
    Dnssec,
    Delegation,
    Transport,
    /// Answers rewritten by an on-path attacker or a compromised server: a group of its own.
    Hostile,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Control => "control",
            Category::Dnssec => "dnssec",
            Category::Delegation => "delegation",
            Category::Transport => "transport",
            Category::Hostile => "hostile",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    pub file: PathBuf,
    pub signing: Option<SigningSpec>,
    #[serde(default)]
    pub faults: Vec<ZoneFault>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningSpec {
    pub algorithm: String,
    pub denial: Denial,
    #[serde(default)]
    pub nsec3_iterations: u16,
    /// Hex; empty means no salt (RFC 9276).
    #[serde(default)]
    pub nsec3_salt: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Denial {
    Nsec,
    Nsec3,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    Ksk,
    Zsk,
}

/// DNSSEC faults, applied while or after the lab signs the zone.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "fault", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ZoneFault {
    /// Signatures carry exactly these times.
    RrsigWindow {
        types: Option<Vec<String>>,
        inception: String,
        expiration: String,
    },
    RrsigStrip {
        types: Option<Vec<String>>,
    },
    RrsigCorrupt {
        types: Option<Vec<String>>,
    },
    DnskeyDrop {
        role: KeyRole,
    },
    DnskeyCorrupt {
        role: KeyRole,
    },
    DnskeyFlags {
        role: KeyRole,
        flags: u16,
    },
    DnskeyAlgorithm {
        role: KeyRole,
        value: u8,
    },
    DsAbsent,
    DsKeyTag {
        value: Option<u16>,
    },
    DsAlgorithm {
        value: u8,
    },
    DsDigestType {
        value: u8,
    },
    DsDigestCorrupt,
    /// Besides the zone's DS (digest type 2, as the other `ds-*` faults leave it), the
    /// parent publishes a correct SHA-1 DS (digest type 1) of the published KSK, with its
    /// key tag and algorithm.
    DsAddSha1,
    DenialStrip,
    Nsec3OwnerCorrupt,
    Nsec3NextCorrupt,
    /// KeyTrap (CVE-2023-50387): `keys` extra DNSKEYs whose key tag and algorithm collide
    /// with the ZSK's, and the apex A RRset signed only by `signatures` RRSIGs that claim
    /// that tag and verify with none of them.
    Keytrap {
        keys: u16,
        signatures: u16,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    pub name: String,
    pub address: std::net::IpAddr,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub faults: Vec<ServerFault>,
}

/// How a lab nameserver misbehaves.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(tag = "fault", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ServerFault {
    Refuse,
    Drop,
    Servfail,
    FormerrOnEdns,
    TruncateAlways,
    NoTcp,
    Delay {
        ms: u64,
    },
    NotAuth {
        answer: LameAnswer,
    },
    RecursionAvailable,
    /// AA clear on every answer, as from a load balancer or GSLB front end.
    NoAa,
    Down,
    StaleZone {
        zone: String,
        file: PathBuf,
    },
    /// Answer records of `types` (owned by `names`, default any name in the server's zones)
    /// carry `data` instead; their RRSIGs are replaced by one made with the ZSK of the
    /// signed zone `signer`, which is also the RRSIG's Signer's Name.
    ForgeResign {
        types: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        names: Option<Vec<String>>,
        data: String,
        signer: String,
    },
    /// Answer records of `types` carry `data` instead; the genuine RRSIGs over them stay,
    /// signature bytes unchanged, with their Signer's Name set to `signer`.
    ForgeRelabel {
        types: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        names: Option<Vec<String>>,
        data: String,
        signer: String,
    },
    /// The data stays genuine; the RRSIGs over `types`, in every section, get `signer` as
    /// their Signer's Name (signature bytes unchanged).
    RelabelSigner {
        types: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        names: Option<Vec<String>>,
        signer: String,
    },
    /// In an answer carrying a DNAME and the CNAME synthesised from it (RFC 6672), the
    /// CNAME points at `target` and the genuine target's records are left out.
    ForgeDnameCname {
        target: String,
    },
}

impl ServerFault {
    /// True for the faults that rewrite the content of an answer (the `forge-*` and
    /// `relabel-*` faults), as opposed to refusing, dropping or mangling the transport.
    pub fn rewrites_answers(&self) -> bool {
        matches!(
            self,
            ServerFault::ForgeResign { .. }
                | ServerFault::ForgeRelabel { .. }
                | ServerFault::RelabelSigner { .. }
                | ServerFault::ForgeDnameCname { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LameAnswer {
    UpwardReferral,
    Nxdomain,
}

/// Everything read from a testzones directory: each file parsed and checked on its own
/// (unknown fields, a scenario id matching its file name); whether the files agree with
/// each other (names, addresses, zones served) is checked by `build`.
#[derive(Debug, Clone)]
pub struct LabSpec {
    pub dir: PathBuf,
    pub infra: InfraFile,
    pub scenarios: Vec<Scenario>,
}

impl LabSpec {
    /// Reads `lab.toml` and every `scenarios/*.toml` under `dir`.
    pub fn read(dir: &Path) -> Result<Self, LabError> {
        let infra: InfraFile = read_toml(&dir.join("lab.toml"))?;
        let scenario_dir = dir.join("scenarios");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&scenario_dir)
            .map_err(|e| LabError::io(&scenario_dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let mut scenarios = Vec::with_capacity(paths.len());
        for path in paths {
            let scenario: Scenario = read_toml(&path)?;
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if scenario.id != stem {
                return Err(LabError::Invalid {
                    file: path.clone(),
                    message: format!("id {:?} differs from the file name {:?}", scenario.id, stem),
                });
            }
            scenarios.push(scenario);
        }
        Ok(LabSpec {
            dir: dir.to_path_buf(),
            infra,
            scenarios,
        })
    }

    /// Every zone declared anywhere, with the file that declared it.
    pub fn zones(&self) -> Vec<(&ZoneSpec, PathBuf)> {
        let lab = self.dir.join("lab.toml");
        let mut out: Vec<(&ZoneSpec, PathBuf)> =
            self.infra.zone.iter().map(|z| (z, lab.clone())).collect();
        for s in &self.scenarios {
            let file = self.scenario_path(&s.id);
            out.extend(s.zone.iter().map(|z| (z, file.clone())));
        }
        out
    }

    /// Every server declared anywhere, with the file that declared it.
    pub fn servers(&self) -> Vec<(&ServerSpec, PathBuf)> {
        let lab = self.dir.join("lab.toml");
        let mut out: Vec<(&ServerSpec, PathBuf)> =
            self.infra.server.iter().map(|s| (s, lab.clone())).collect();
        for s in &self.scenarios {
            let file = self.scenario_path(&s.id);
            out.extend(s.server.iter().map(|z| (z, file.clone())));
        }
        out
    }

    pub fn scenario_path(&self, id: &str) -> PathBuf {
        self.dir.join("scenarios").join(format!("{id}.toml"))
    }

    /// Zone faults declared for `zone`, wherever it was declared.
    pub fn faults_of(&self) -> BTreeMap<String, Vec<ZoneFault>> {
        self.zones()
            .into_iter()
            .map(|(z, _)| (z.name.to_ascii_lowercase(), z.faults.clone()))
            .collect()
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, LabError> {
    let text = std::fs::read_to_string(path).map_err(|e| LabError::io(path, e))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| error_line(&text, span.start, e.message()));
        LabError::Parse {
            file: path.to_path_buf(),
            line,
            message: e.message().to_string(),
        }
    })
}

/// The line of a TOML error. Inside inline tables and tagged faults the parser's span can
/// cover a whole table or array, so when the message quotes the culprit (`colour`,
/// `explode`) the line is the first one from the span's start that holds it.
fn error_line(text: &str, start: usize, message: &str) -> usize {
    let start = start.min(text.len());
    let span_line = text[..start].matches('\n').count() + 1;
    let culprit = message
        .split('`')
        .nth(1)
        .filter(|c| !c.is_empty() && message.contains(&format!("`{c}`")));
    let Some(culprit) = culprit else {
        return span_line;
    };
    text.lines()
        .enumerate()
        .skip(span_line - 1)
        .find(|(_, l)| l.contains(culprit))
        .map(|(i, _)| i + 1)
        .unwrap_or(span_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
id = "x"
category = "hostile"
title = "t"
broken = "b"
fix = "f"

[query]
name = "www.x.lab."
type = "A"

[expect]
rcode = "SERVFAIL"
ede = [6]
ad = false
never = ["192.0.2.66"]

[[then]]
query = { name = "x.lab.", type = "TXT" }
expect = { rcode = "NOERROR", ad = true, cause = "no-data" }

[[then]]
query = { name = "x.lab.", type = "A" }
expect = { rcode = "NOERROR", ede = [], ad = true }

[[server]]
name = "ns1.x.lab."
address = "127.53.99.1"
faults = [
    { fault = "forge-resign", types = ["A"], data = "192.0.2.66", signer = "valid.lab." },
    { fault = "forge-relabel", types = ["A", "AAAA"], names = ["www.x.lab."], data = "192.0.2.66", signer = "unsigned.lab." },
    { fault = "relabel-signer", types = ["DS"], signer = "unsigned.lab." },
    { fault = "forge-dname-cname", target = "www.valid.lab." },
]
"#;

    fn parse(text: &str) -> Result<Scenario, LabError> {
        let dir = std::env::temp_dir().join(format!("whydns-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{:x}.toml", text.len() ^ text.as_ptr() as usize));
        std::fs::write(&path, text).unwrap();
        let parsed = read_toml(&path);
        let _ = std::fs::remove_file(&path);
        parsed
    }

    #[test]
    fn hostile_scenario_with_follow_ups_never_and_forgeries_parses() {
        let s = parse(SCENARIO).unwrap();
        assert_eq!(s.category, Category::Hostile);
        assert_eq!(s.category.as_str(), "hostile");
        assert_eq!(s.expect.never, ["192.0.2.66"]);
        assert_eq!(s.then.len(), 2);
        assert_eq!(s.then[0].query.rtype, "TXT");
        assert_eq!(s.then[0].expect.cause.as_deref(), Some("no-data"));
        assert!(s.then[0].expect.ede.is_empty() && s.then[0].expect.never.is_empty());
        assert!(s.then[1].expect.ad);
        let faults = &s.server[0].faults;
        assert_eq!(
            faults[0],
            ServerFault::ForgeResign {
                types: vec!["A".into()],
                names: None,
                data: "192.0.2.66".into(),
                signer: "valid.lab.".into(),
            }
        );
        assert!(
            matches!(&faults[1], ServerFault::ForgeRelabel { names: Some(n), .. } if n == &["www.x.lab."])
        );
        assert!(
            matches!(&faults[2], ServerFault::RelabelSigner { signer, .. } if signer == "unsigned.lab.")
        );
        assert_eq!(
            faults[3],
            ServerFault::ForgeDnameCname {
                target: "www.valid.lab.".into()
            }
        );
        assert!(faults.iter().all(ServerFault::rewrites_answers));
        assert!(!ServerFault::Drop.rewrites_answers());
        // The fault tag serialises back to its kebab-case name (the lab's address plan).
        let tag = serde_json::to_value(&faults[3]).unwrap();
        assert_eq!(tag["fault"], "forge-dname-cname");
    }

    #[test]
    fn a_scenario_without_then_or_never_has_none() {
        let text = SCENARIO
            .split("[[then]]")
            .next()
            .unwrap()
            .replace("never = [\"192.0.2.66\"]\n", "");
        let s = parse(&text).unwrap();
        assert!(s.then.is_empty() && s.expect.never.is_empty() && s.expect.max_ttl.is_none());
    }

    #[test]
    fn max_ttl_and_ds_add_sha1_parse() {
        let text = r#"
id = "y"
category = "dnssec"
title = "t"
broken = "b"
fix = "f"
query = { name = "www.y.lab.", type = "A" }
expect = { rcode = "NOERROR", ad = true, max_ttl = 600 }

[[then]]
query = { name = "y.lab.", type = "A" }
expect = { rcode = "NOERROR", ad = true }

[[zone]]
name = "y.lab."
file = "zones/y.lab.zone"
signing = { algorithm = "ECDSAP256SHA256", denial = "nsec" }
faults = [
    { fault = "ds-digest-corrupt" },
    { fault = "ds-add-sha1" },
    { fault = "rrsig-window", types = ["A"], inception = "now-1h", expiration = "now+10m" },
]
"#;
        let s = parse(text).unwrap();
        assert_eq!(s.expect.max_ttl, Some(600));
        assert_eq!(s.then[0].expect.max_ttl, None);
        assert_eq!(
            s.zone[0].faults[..2],
            [ZoneFault::DsDigestCorrupt, ZoneFault::DsAddSha1]
        );
        // max_ttl is a count of seconds.
        let negative = text.replace("max_ttl = 600", "max_ttl = -1");
        let error = parse(&negative).unwrap_err().to_string();
        assert!(error.contains(".toml:8:"), "{error}");
    }

    #[test]
    fn trace_items_parse_as_tables_and_one_without_its_event_names_its_line() {
        let with_trace = SCENARIO.replacen(
            "ad = false\n",
            "ad = false\ntrace = [\n    { event = \"signatures-checked\", rtype = \"A\", check = { expired = 1 } },\n]\n",
            1,
        );
        let s = parse(&with_trace).unwrap();
        assert_eq!(s.expect.trace.len(), 1);
        assert_eq!(s.expect.trace[0].event(), "signatures-checked");
        assert!(s.then.iter().all(|t| t.expect.trace.is_empty()));
        let untagged = with_trace.replace("event = \"signatures-checked\", ", "");
        let error = parse(&untagged).unwrap_err().to_string();
        // The line of the list; the message quotes the item.
        let line = untagged
            .lines()
            .position(|l| l.starts_with("trace"))
            .unwrap()
            + 1;
        assert!(error.contains(&format!(".toml:{line}:")), "{error}");
        assert!(
            error.contains(r#"{"check":{"expired":1},"rtype":"A"}"#),
            "{error}"
        );
    }

    /// The error names the file and the line of the culprit.
    fn error_of(from: &str, to: &str) -> (String, usize) {
        assert!(SCENARIO.contains(from), "{from}");
        let text = SCENARIO.replacen(from, to, 1);
        let line = text.lines().position(|l| l.contains(to)).unwrap() + 1;
        match parse(&text) {
            Ok(_) => panic!("{to} parsed"),
            Err(e) => (e.to_string(), line),
        }
    }

    #[test]
    fn bad_values_name_their_line() {
        let cases = [
            ("category = \"hostile\"", "category = \"evil\"", "evil"),
            (
                "signer = \"valid.lab.\" }",
                "signer = \"valid.lab.\", key = \"k\" }",
                "key",
            ),
            ("\"forge-dname-cname\"", "\"forge-dname\"", "forge-dname"),
            (
                "query = { name = \"x.lab.\", type = \"A\" }",
                "query = { name = \"x.lab.\", type = \"A\", class = \"IN\" }",
                "class",
            ),
            (
                "never = [\"192.0.2.66\"]",
                "never = \"192.0.2.66\"",
                "expected a sequence",
            ),
        ];
        for (from, to, culprit) in cases {
            let (error, line) = error_of(from, to);
            assert!(error.contains(&format!(".toml:{line}:")), "{to}: {error}");
            assert!(error.contains(culprit), "{to}: {error}");
        }
        // A [[then]] without an expectation is refused.
        let text = SCENARIO.replacen(
            "expect = { rcode = \"NOERROR\", ede = [], ad = true }",
            "",
            1,
        );
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("expect"), "{error}");
    }
}
