//! The lab's declarative input: `testzones/lab.toml` and one `scenarios/<id>.toml` per case.
//!
//! These types are the file format (serde, unknown fields rejected); `docs/lab.md` documents
//! every field. Loading reports the file and line of any error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::LabError;

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
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Control => "control",
            Category::Dnssec => "dnssec",
            Category::Delegation => "delegation",
            Category::Transport => "transport",
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

/// What an ideal validating resolver answers for the scenario's query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub rcode: String,
    #[serde(default)]
    pub ede: Vec<u16>,
    pub ad: bool,
    /// Key events the resolver's trace must hold: an event tag ("cycle-detected"), or a tag
    /// and a text its serialised fields contain ("server-failed:refused").
    #[serde(default)]
    pub trace: Vec<String>,
    /// The root cause whydns's diagnosis must give (a `Cause` token: "lame-delegation").
    pub cause: Option<String>,
    /// Texts the diagnosis summary must contain: the failing server, zone or record.
    #[serde(default)]
    pub blame: Vec<String>,
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
    Delay { ms: u64 },
    NotAuth { answer: LameAnswer },
    RecursionAvailable,
    Down,
    StaleZone { zone: String, file: PathBuf },
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LameAnswer {
    UpwardReferral,
    Nxdomain,
}

/// Everything read from a testzones directory, not yet checked for consistency.
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
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        LabError::Parse {
            file: path.to_path_buf(),
            line,
            message: e.message().to_string(),
        }
    })
}
