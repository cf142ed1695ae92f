//! The failure lab: a fake DNS hierarchy served on loopback by authoritative servers that
//! misbehave in declared ways.
//!
//! `testzones/` holds unsigned master files, the fixed signing keys, `lab.toml` (root and
//! TLDs) and one scenario file per case. [`Lab::load`] reads and checks all of it, signs the
//! zones (RFC 4033-4035, RFC 5155) and applies the declared DNSSEC faults; [`Lab::start`] binds
//! every nameserver on its own 127.x.y.z address. The lab depends on nothing in the resolver.
//!
//! Limitations: class IN only; no zone transfers, no dynamic updates; a server serves its
//! zones from memory as signed at start (signatures are not refreshed while it runs).

mod answer;
mod build;
mod export;
mod forge;
mod keys;
pub mod report;
mod server;
mod signer;
pub mod spec;
mod time;
mod zone;

use std::path::{Path, PathBuf};

pub use answer::ServerView;
pub use build::{Lab, LabServer};
pub use export::{lab_root_dnskey, lab_root_hints, lab_trust_anchor, zone_master_file};
pub use server::{start, RunningLab, StartOptions};
pub use spec::{
    Category, Denial, Expectation, FollowUp, KeyRole, LameAnswer, QuerySpec, Scenario, ServerFault,
    ZoneFault,
};
pub use time::format_rfc3339;
pub use zone::Zone;

/// Why the lab could not be loaded or started. Each names the file (and line) or address at
/// fault, so the message alone tells the user what to edit.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        file: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
    #[error("cannot listen on {address} ({transport}): {source}")]
    Bind {
        address: std::net::SocketAddr,
        transport: &'static str,
        source: std::io::Error,
    },
    #[error("signing {zone}: {message}")]
    Signing { zone: String, message: String },
}

impl LabError {
    pub(crate) fn io(file: &Path, source: std::io::Error) -> Self {
        LabError::Io {
            file: file.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(file: &Path, message: impl Into<String>) -> Self {
        LabError::Invalid {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Resolves a scenario time ("2025-01-01T00:00:00Z", "now+30d") against the signing time.
pub fn resolve_time(spec: &str, signed_at: u64) -> Result<u32, String> {
    time::resolve(spec, signed_at)
}

/// Formats seconds since the epoch as RFC 3339 UTC.
pub fn format_time(t: u64) -> String {
    time::format_rfc3339(t as i64)
}

/// Paths of the files [`write_files`] wrote.
pub struct WrittenFiles {
    pub trust_anchor: PathBuf,
    pub root_key: PathBuf,
    pub root_hints: PathBuf,
    pub zones_dir: PathBuf,
}

/// Writes the trust anchor, root hints and every signed zone under `out`.
pub fn write_files(lab: &Lab, out: &Path) -> Result<WrittenFiles, LabError> {
    let zones_dir = out.join("zones");
    std::fs::create_dir_all(&zones_dir).map_err(|e| LabError::io(&zones_dir, e))?;
    let write = |path: PathBuf, text: String| -> Result<PathBuf, LabError> {
        std::fs::write(&path, text).map_err(|e| LabError::io(&path, e))?;
        Ok(path)
    };
    let trust_anchor = write(out.join("lab-root.ds"), lab_trust_anchor(lab))?;
    let root_key = write(out.join("lab-root.key"), lab_root_dnskey(lab))?;
    let root_hints = write(out.join("lab-root.hints"), lab_root_hints(lab))?;
    for zone in lab.zones.values() {
        let stem = zone.apex.to_string();
        let stem = stem.trim_end_matches('.');
        let stem = if stem.is_empty() { "root" } else { stem };
        write(
            zones_dir.join(format!("{stem}.zone")),
            zone_master_file(zone),
        )?;
    }
    Ok(WrittenFiles {
        trust_anchor,
        root_key,
        root_hints,
        zones_dir,
    })
}
