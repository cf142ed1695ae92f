//! Turns a [`LabSpec`] into servable data: checks it, reads and signs every zone (children
//! first, so each parent signs over its children's DS), and assigns zones to servers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::PublicKey;
use hickory_proto::rr::{Name, RData, RecordType};

use super::forge::{ForeignKey, Forgery, Rewrite, Selection};
use super::keys::{self, SigningKey};
use super::signer::{self, DsFields, ZoneKeys};
use super::spec::{Expectation, KeyRole, LabSpec, QuerySpec, ServerFault, ServerSpec, ZoneSpec};
use super::zone::{label_count, Zone};
use super::LabError;

/// A loaded, signed lab, ready to serve.
pub struct Lab {
    pub spec: LabSpec,
    /// The zones as their primary servers serve them.
    pub zones: BTreeMap<Name, Arc<Zone>>,
    pub servers: Vec<LabServer>,
    /// The DS set of the lab's root key: the trust anchor resolvers need.
    pub root_ds: Vec<DsFields>,
    /// When the zones were signed (seconds since the epoch).
    pub signed_at: u64,
}

/// One nameserver of the address plan.
#[derive(Clone)]
pub struct LabServer {
    pub name: Name,
    pub address: IpAddr,
    pub faults: Vec<ServerFault>,
    pub zones: Vec<Arc<Zone>>,
    /// The scenario that declared it, or None for the root and TLD servers.
    pub scenario: Option<String>,
    /// Its answer-rewriting faults, resolved at load (keys loaded, data parsed).
    pub(crate) forgery: Arc<Forgery>,
}

impl LabServer {
    pub fn has_fault(&self, probe: impl Fn(&ServerFault) -> bool) -> bool {
        self.faults.iter().any(probe)
    }
}

struct Declared<'a> {
    spec: &'a ZoneSpec,
    file: PathBuf,
}

impl Lab {
    /// Reads `dir` (a testzones directory), signs as of `now` and builds the address plan.
    pub fn load(dir: &Path, now: u64) -> Result<Lab, LabError> {
        let spec = LabSpec::read(dir)?;
        check_scenarios(&spec)?;
        let declared = declared_zones(&spec)?;

        // Children before parents: a parent's DS set must exist before it is signed.
        let mut order: Vec<&Name> = declared.keys().collect();
        order.sort_by_key(|n| std::cmp::Reverse(label_count(n)));
        let mut zones: BTreeMap<Name, Arc<Zone>> = BTreeMap::new();
        let mut keyring: BTreeMap<Name, ZoneKeys> = BTreeMap::new();
        let mut ds_of: BTreeMap<Name, Vec<DsFields>> = BTreeMap::new();
        for apex in order {
            let d = &declared[apex];
            let mut zone = Zone::read(apex, &spec.dir.join(&d.spec.file))?;
            for (child, ds) in &ds_of {
                if parent_of(child, &declared).as_ref() == Some(apex) {
                    insert_ds(&mut zone, child, ds, &d.file)?;
                }
            }
            if let Some(signing) = &d.spec.signing {
                let keys = load_keys(&spec.dir, &d.spec.name, &signing.algorithm, &d.file)?;
                let ds = signer::sign_zone(&mut zone, signing, &keys, &d.spec.faults, now)
                    .map_err(|message| LabError::Signing {
                        zone: apex.to_string(),
                        message,
                    })?;
                ds_of.insert(apex.clone(), ds);
                keyring.insert(apex.clone(), keys);
            }
            zones.insert(apex.clone(), Arc::new(zone));
        }
        let root_ds = ds_of.get(&Name::root()).cloned().unwrap_or_default();
        let servers = build_servers(&spec, &zones, &declared, &keyring, now)?;
        Ok(Lab {
            spec,
            zones,
            servers,
            root_ds,
            signed_at: now,
        })
    }

    /// The servers a scenario declared, in declaration order.
    pub fn servers_of(&self, scenario: &str) -> Vec<&LabServer> {
        self.servers
            .iter()
            .filter(|s| s.scenario.as_deref() == Some(scenario))
            .collect()
    }

    /// The root servers (those serving "."), for root hints.
    pub fn root_servers(&self) -> Vec<&LabServer> {
        self.servers
            .iter()
            .filter(|s| s.zones.iter().any(|z| z.apex.is_root()))
            .collect()
    }
}

fn parse_name(text: &str, file: &Path) -> Result<Name, LabError> {
    let name = Name::from_ascii(text)
        .map_err(|e| LabError::invalid(file, format!("bad domain name {text:?}: {e}")))?;
    if !name.is_fqdn() {
        return Err(LabError::invalid(
            file,
            format!("domain name {text:?} must be absolute (end in a dot)"),
        ));
    }
    Ok(name.to_lowercase())
}

fn check_scenarios(spec: &LabSpec) -> Result<(), LabError> {
    for s in &spec.scenarios {
        let file = spec.scenario_path(&s.id);
        check_question(&s.query, &s.expect, "", &file)?;
        for (i, follow_up) in s.then.iter().enumerate() {
            let label = format!("then[{}].", i + 1);
            check_question(&follow_up.query, &follow_up.expect, &label, &file)?;
        }
    }
    Ok(())
}

/// One question of a scenario and its expectation; `label` says which ("" or "then[2].").
fn check_question(
    query: &QuerySpec,
    expect: &Expectation,
    label: &str,
    file: &Path,
) -> Result<(), LabError> {
    parse_name(&query.name, file)?;
    query
        .rtype
        .to_ascii_uppercase()
        .parse::<RecordType>()
        .map_err(|_| {
            invalid_value(
                file,
                &query.rtype,
                format!("{label}query: unknown query type {:?}", query.rtype),
            )
        })?;
    if !matches!(
        expect.rcode.as_str(),
        "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "REFUSED"
    ) {
        return Err(invalid_value(
            file,
            &expect.rcode,
            format!(
                "{label}expect.rcode {:?} is not one of NOERROR, NXDOMAIN, SERVFAIL, REFUSED",
                expect.rcode
            ),
        ));
    }
    if let Some(empty) = expect.never.iter().position(|t| t.trim().is_empty()) {
        return Err(invalid_value(
            file,
            "never",
            format!(
                "{label}expect.never[{}] is empty: it would match every answer",
                empty + 1
            ),
        ));
    }
    Ok(())
}

fn declared_zones(spec: &LabSpec) -> Result<BTreeMap<Name, Declared<'_>>, LabError> {
    let mut out: BTreeMap<Name, Declared<'_>> = BTreeMap::new();
    for (zspec, file) in spec.zones() {
        let name = parse_name(&zspec.name, &file)?;
        if let Some(signing) = &zspec.signing {
            if keys::algorithm_number(&signing.algorithm).is_none() {
                return Err(LabError::invalid(
                    &file,
                    format!(
                        "zone {name}: unknown signing algorithm {:?}",
                        signing.algorithm
                    ),
                ));
            }
        }
        if let Some(previous) = out.get(&name) {
            return Err(LabError::invalid(
                &file,
                format!(
                    "zone {name} is already declared in {}",
                    previous.file.display()
                ),
            ));
        }
        out.insert(name, Declared { spec: zspec, file });
    }
    if !out.contains_key(&Name::root()) {
        return Err(LabError::invalid(
            &spec.dir.join("lab.toml"),
            "no root zone (\".\") is declared",
        ));
    }
    Ok(out)
}

/// The nearest declared zone strictly above `child`.
fn parent_of(child: &Name, declared: &BTreeMap<Name, Declared<'_>>) -> Option<Name> {
    let mut n = child.clone();
    while !n.is_root() {
        n = n.base_name();
        if declared.contains_key(&n) {
            return Some(n);
        }
    }
    None
}

fn insert_ds(zone: &mut Zone, child: &Name, ds: &[DsFields], file: &Path) -> Result<(), LabError> {
    if ds.is_empty() {
        return Ok(());
    }
    let ns = zone.rrset(child, RecordType::NS).ok_or_else(|| {
        LabError::invalid(
            file,
            format!(
                "{} must delegate the signed zone {child} (NS records) to publish its DS",
                zone.apex
            ),
        )
    })?;
    let ttl = ns[0].ttl;
    for d in ds {
        zone.insert(d.record(child, ttl));
    }
    Ok(())
}

fn load_keys(dir: &Path, zone: &str, algorithm: &str, file: &Path) -> Result<ZoneKeys, LabError> {
    let number = keys::algorithm_number(algorithm)
        .ok_or_else(|| LabError::invalid(file, format!("unknown algorithm {algorithm:?}")))?;
    let load = |role| SigningKey::load(&keys::key_path(dir, zone, role), number, role);
    Ok(ZoneKeys {
        ksk: load(KeyRole::Ksk)?,
        zsk: load(KeyRole::Zsk)?,
    })
}

fn build_servers(
    spec: &LabSpec,
    zones: &BTreeMap<Name, Arc<Zone>>,
    declared: &BTreeMap<Name, Declared<'_>>,
    keyring: &BTreeMap<Name, ZoneKeys>,
    now: u64,
) -> Result<Vec<LabServer>, LabError> {
    let mut seen: BTreeMap<IpAddr, PathBuf> = BTreeMap::new();
    let mut names: BTreeSet<Name> = BTreeSet::new();
    let scenario_of: BTreeMap<PathBuf, String> = spec
        .scenarios
        .iter()
        .map(|s| (spec.scenario_path(&s.id), s.id.clone()))
        .collect();
    let mut servers = Vec::new();
    for (sspec, file) in spec.servers() {
        let name = parse_name(&sspec.name, &file)?;
        check_server_unique(sspec, &name, &file, &mut seen, &mut names)?;
        let mut served = served_zones(sspec, &name, zones, &file)?;
        for fault in &sspec.faults {
            if let ServerFault::StaleZone { zone, file: zfile } = fault {
                let stale = stale_zone(spec, declared, keyring, zone, zfile, &file, now)?;
                served.retain(|z| z.apex != stale.apex);
                served.push(Arc::new(stale));
            }
        }
        let forgery = Forgery {
            rewrites: sspec
                .faults
                .iter()
                .filter_map(|f| rewrite_of(f, spec, zones, declared, now, &file).transpose())
                .collect::<Result<_, _>>()?,
            zones: served.iter().map(|z| z.apex.clone()).collect(),
        };
        servers.push(LabServer {
            name,
            address: sspec.address,
            faults: sspec.faults.clone(),
            zones: served,
            scenario: scenario_of.get(&file).cloned(),
            forgery: Arc::new(forgery),
        });
    }
    Ok(servers)
}

/// A server's address is loopback and its own, and its name is declared once.
fn check_server_unique(
    sspec: &ServerSpec,
    name: &Name,
    file: &Path,
    seen: &mut BTreeMap<IpAddr, PathBuf>,
    names: &mut BTreeSet<Name>,
) -> Result<(), LabError> {
    // The network rule: the lab only ever listens on, and points resolvers at, loopback.
    if !sspec.address.is_loopback() {
        return Err(LabError::invalid(
            file,
            format!(
                "server {name}: {} is not a loopback address (127.0.0.0/8 or ::1)",
                sspec.address
            ),
        ));
    }
    if let Some(other) = seen.insert(sspec.address, file.to_path_buf()) {
        return Err(LabError::invalid(
            file,
            format!(
                "server {name}: address {} is already used in {}",
                sspec.address,
                other.display()
            ),
        ));
    }
    if !names.insert(name.clone()) {
        return Err(LabError::invalid(
            file,
            format!("server {name} is declared twice"),
        ));
    }
    Ok(())
}

/// The zones a server's spec names, each declared by some file.
fn served_zones(
    sspec: &ServerSpec,
    name: &Name,
    zones: &BTreeMap<Name, Arc<Zone>>,
    file: &Path,
) -> Result<Vec<Arc<Zone>>, LabError> {
    sspec
        .zones
        .iter()
        .map(|zname| {
            let apex = parse_name(zname, file)?;
            zones.get(&apex).cloned().ok_or_else(|| {
                LabError::invalid(
                    file,
                    format!("server {name} serves {apex}, which no file declares"),
                )
            })
        })
        .collect()
}

/// The old copy of `zone` a `stale-zone` fault serves instead, signed as the zone is.
fn stale_zone(
    spec: &LabSpec,
    declared: &BTreeMap<Name, Declared<'_>>,
    keyring: &BTreeMap<Name, ZoneKeys>,
    zone: &str,
    zfile: &Path,
    file: &Path,
    now: u64,
) -> Result<Zone, LabError> {
    let apex = parse_name(zone, file)?;
    let d = declared.get(&apex).ok_or_else(|| {
        LabError::invalid(
            file,
            format!("stale-zone names {apex}, which no file declares"),
        )
    })?;
    let mut stale = Zone::read(&apex, &spec.dir.join(zfile))?;
    if let (Some(signing), Some(keys)) = (&d.spec.signing, keyring.get(&apex)) {
        signer::sign_zone(&mut stale, signing, keys, &d.spec.faults, now).map_err(|message| {
            LabError::Signing {
                zone: apex.to_string(),
                message,
            }
        })?;
    }
    Ok(stale)
}

/// An error about a value in `file`, pointing at the first line that holds `value`.
fn invalid_value(file: &Path, value: &str, message: String) -> LabError {
    let line = std::fs::read_to_string(file).ok().and_then(|text| {
        let at = |needle: &str| text.lines().position(|l| l.contains(needle));
        at(&format!("\"{value}\""))
            .or_else(|| at(&format!("'{value}'")))
            .or_else(|| at(value))
            .map(|i| i + 1)
    });
    match line {
        Some(line) => LabError::Parse {
            file: file.to_path_buf(),
            line: Some(line),
            message,
        },
        None => LabError::invalid(file, message),
    }
}

fn fault_name(text: &str, fault: &str, file: &Path) -> Result<Name, LabError> {
    let bad = |what: String| invalid_value(file, text, format!("{fault}: {what}"));
    let name = Name::from_ascii(text).map_err(|e| bad(format!("bad domain name {text:?}: {e}")))?;
    if !name.is_fqdn() {
        return Err(bad(format!(
            "domain name {text:?} must be absolute (end in a dot)"
        )));
    }
    Ok(name.to_lowercase())
}

fn selection(
    types: &[String],
    names: &Option<Vec<String>>,
    fault: &str,
    file: &Path,
) -> Result<Selection, LabError> {
    if types.is_empty() {
        return Err(invalid_value(
            file,
            fault,
            format!("{fault}: types must name at least one type"),
        ));
    }
    let types = types
        .iter()
        .map(|t| {
            t.to_ascii_uppercase()
                .parse::<RecordType>()
                .map_err(|_| invalid_value(file, t, format!("{fault}: unknown record type {t:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names = match names {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|n| fault_name(n, fault, file))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Selection { types, names })
}

/// The attacker's RDATA in presentation form, parsed once for each type it replaces.
fn forged_data(
    data: &str,
    types: &[RecordType],
    fault: &str,
    file: &Path,
) -> Result<Vec<(RecordType, RData)>, LabError> {
    types
        .iter()
        .map(|&rtype| {
            let rdata = RData::try_from_str(rtype, data).map_err(|e| {
                invalid_value(
                    file,
                    data,
                    format!("{fault}: data {data:?} is not valid {rtype} data: {e}"),
                )
            })?;
            Ok((rtype, super::zone::lowercase_rdata(rdata)))
        })
        .collect()
}

/// The ZSK of the signed zone `signer`, with the tag and algorithm its DNSKEY RRset
/// publishes for it (computed from the key itself when a fault leaves it out).
fn foreign_key(
    text: &str,
    spec: &LabSpec,
    zones: &BTreeMap<Name, Arc<Zone>>,
    declared: &BTreeMap<Name, Declared<'_>>,
    now: u64,
    file: &Path,
) -> Result<ForeignKey, LabError> {
    let signer = &fault_name(text, "forge-resign", file)?;
    let signing = declared
        .get(signer)
        .and_then(|d| d.spec.signing.as_ref().map(|s| (d, s)));
    let Some((d, signing)) = signing else {
        return Err(invalid_value(
            file,
            text,
            format!("forge-resign: signer {signer} is not a signed zone any file declares"),
        ));
    };
    let algorithm = keys::algorithm_number(&signing.algorithm)
        .ok_or_else(|| LabError::invalid(&d.file, "unknown algorithm"))?;
    let key = SigningKey::load(
        &keys::key_path(&spec.dir, &d.spec.name, KeyRole::Zsk),
        algorithm,
        KeyRole::Zsk,
    )?;
    let published = zones
        .get(signer)
        .and_then(|z| z.rrset(signer, RecordType::DNSKEY))
        .into_iter()
        .flatten()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k))
                if k.public_key().public_bytes() == key.public_key =>
            {
                let algorithm = u8::from(k.public_key().algorithm());
                let mut rdata = k.flags().to_be_bytes().to_vec();
                rdata.extend([3, algorithm]);
                rdata.extend(&key.public_key);
                Some((keys::key_tag(&rdata), algorithm))
            }
            _ => None,
        });
    let (key_tag, algorithm) = published.unwrap_or_else(|| {
        let mut rdata = 256u16.to_be_bytes().to_vec();
        rdata.extend([3, key.algorithm]);
        rdata.extend(&key.public_key);
        (keys::key_tag(&rdata), key.algorithm)
    });
    Ok(ForeignKey {
        zone: signer.clone(),
        key,
        key_tag,
        algorithm,
        window: signer::default_window(now),
    })
}

/// The checked, resolved form of an answer-rewriting fault; None for the other faults.
fn rewrite_of(
    fault: &ServerFault,
    spec: &LabSpec,
    zones: &BTreeMap<Name, Arc<Zone>>,
    declared: &BTreeMap<Name, Declared<'_>>,
    now: u64,
    file: &Path,
) -> Result<Option<Rewrite>, LabError> {
    Ok(Some(match fault {
        ServerFault::ForgeResign {
            types,
            names,
            data,
            signer,
        } => {
            let selection = selection(types, names, "forge-resign", file)?;
            let data = forged_data(data, &selection.types, "forge-resign", file)?;
            let key = foreign_key(signer, spec, zones, declared, now, file)?;
            Rewrite::Resign {
                selection,
                data,
                key: Arc::new(key),
            }
        }
        ServerFault::ForgeRelabel {
            types,
            names,
            data,
            signer,
        } => {
            let selection = selection(types, names, "forge-relabel", file)?;
            Rewrite::Relabel {
                data: forged_data(data, &selection.types, "forge-relabel", file)?,
                selection,
                signer: fault_name(signer, "forge-relabel", file)?,
                every_section: false,
            }
        }
        ServerFault::RelabelSigner {
            types,
            names,
            signer,
        } => Rewrite::Relabel {
            selection: selection(types, names, "relabel-signer", file)?,
            data: Vec::new(),
            signer: fault_name(signer, "relabel-signer", file)?,
            every_section: true,
        },
        ServerFault::ForgeDnameCname { target } => Rewrite::DnameCname {
            target: fault_name(target, "forge-dname-cname", file)?,
        },
        _ => return Ok(None),
    }))
}
