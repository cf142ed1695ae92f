//! Command-line options shared by `serve` and `resolve`, and how they overlay the
//! configuration file: a flag given on the command line wins over the file, which wins over
//! the defaults of [`Config`]. List flags (`--listen`, `--trust-anchor`, `--allow`) replace the
//! file's list rather than extend it, so the command line alone says what is in effect.
//!
//! Limitations: not every config field has a flag (cache sizes and limits are file-only).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;

use crate::config::Config;

/// Options that shape the resolver, for every subcommand that runs one.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ResolverOptions {
    /// Configuration file (TOML); flags override its settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Root hints file (named.root format) instead of the built-in IANA hints.
    #[arg(long, value_name = "FILE")]
    pub root_hints: Option<PathBuf>,
    /// Trust anchor file (DS or DNSKEY lines, or a BIND trust-anchors clause); repeat for several.
    #[arg(long = "trust-anchor", value_name = "FILE")]
    pub trust_anchors: Vec<PathBuf>,
    /// Send the full query name to every server (RFC 9156 QNAME minimisation off).
    #[arg(long)]
    pub no_qname_minimisation: bool,
    /// Do not validate DNSSEC (answers are never AD; for debugging only).
    #[arg(long)]
    pub no_validate: bool,
    /// Port of authoritative servers (53 except in a lab on another port).
    #[arg(long, value_name = "PORT")]
    pub upstream_port: Option<u16>,
    /// Source address for upstream queries over IPv4.
    #[arg(long, value_name = "IP")]
    pub source_v4: Option<Ipv4Addr>,
    /// Source address for upstream queries over IPv6.
    #[arg(long, value_name = "IP")]
    pub source_v6: Option<Ipv6Addr>,
    /// Never query upstream servers over IPv4.
    #[arg(long)]
    pub no_ipv4: bool,
    /// Never query upstream servers over IPv6.
    #[arg(long)]
    pub no_ipv6: bool,
    /// Lowest TTL cached, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub min_ttl: Option<u32>,
    /// Highest TTL cached, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub max_ttl: Option<u32>,
}

impl ResolverOptions {
    /// The configuration in effect: file (or defaults), then flags, then checked.
    pub fn config(&self) -> Result<Config, String> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
            None => Config::default(),
        };
        if let Some(path) = &self.root_hints {
            config.root_hints = Some(path.clone());
        }
        if !self.trust_anchors.is_empty() {
            config.trust_anchors = self.trust_anchors.clone();
        }
        if self.no_qname_minimisation {
            config.qname_minimisation = false;
        }
        if self.no_validate {
            config.validate = false;
        }
        if let Some(port) = self.upstream_port {
            config.upstream_port = port;
        }
        if let Some(ip) = self.source_v4 {
            config.source_v4 = Some(IpAddr::V4(ip));
        }
        if let Some(ip) = self.source_v6 {
            config.source_v6 = Some(IpAddr::V6(ip));
        }
        if self.no_ipv4 {
            config.ipv4 = false;
        }
        if self.no_ipv6 {
            config.ipv6 = false;
        }
        if let Some(ttl) = self.min_ttl {
            config.min_ttl = ttl;
        }
        if let Some(ttl) = self.max_ttl {
            config.max_ttl = ttl;
        }
        config.check().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// `--listen`: an address with port, or a bare address meaning port 53.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = SocketAddr::from_str(text) {
        return Ok(address);
    }
    IpAddr::from_str(text)
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{text:?} is not an address (e.g. 127.0.0.1:53 or [::1]:53)"))
}

/// `--control`: an address with port, or a bare address meaning port 8053 (the control
/// API's default port, not DNS's).
pub fn parse_control(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = SocketAddr::from_str(text) {
        return Ok(address);
    }
    IpAddr::from_str(text)
        .map(|ip| SocketAddr::new(ip, 8053))
        .map_err(|_| format!("{text:?} is not an address (e.g. 127.0.0.1:8053)"))
}

/// `--allow`: a network in CIDR form, or a bare address meaning just that host.
pub fn parse_allow(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = IpNet::from_str(text) {
        return Ok(net);
    }
    IpAddr::from_str(text)
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not a network (e.g. 192.0.2.0/24 or ::1/128)"))
}

/// A domain name as typed, made absolute (`example.com` means `example.com.`).
pub fn parse_name(text: &str) -> Result<Name, String> {
    let mut name = Name::from_ascii(text).map_err(|e| format!("{text:?}: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// A record type by mnemonic (any case) or in RFC 3597 form (`TYPE65`).
pub fn parse_rtype(text: &str) -> Result<RecordType, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(number) = upper.strip_prefix("TYPE") {
        if let Ok(code) = number.parse::<u16>() {
            return Ok(RecordType::from(code));
        }
    }
    RecordType::from_str(&upper).map_err(|_| format!("{text:?} is not a record type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_defaults_and_bad_combinations_are_refused() {
        let options = ResolverOptions {
            upstream_port: Some(5300),
            no_qname_minimisation: true,
            no_validate: true,
            ..ResolverOptions::default()
        };
        let config = options.config().unwrap();
        assert_eq!(config.upstream_port, 5300);
        assert!(!config.qname_minimisation);
        assert!(!config.validate);

        let both_off = ResolverOptions {
            no_ipv4: true,
            no_ipv6: true,
            ..ResolverOptions::default()
        };
        assert!(both_off.config().unwrap_err().contains("ipv4 and ipv6"));
    }

    #[test]
    fn parsers_accept_the_short_forms() {
        assert_eq!(parse_listen("127.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_listen("[::1]:5353").unwrap().port(), 5353);
        assert!(parse_listen("localhost").is_err());
        assert_eq!(parse_control("127.0.0.1").unwrap().port(), 8053);
        assert!(parse_control("nowhere").is_err());
        assert_eq!(
            parse_allow("10.0.0.1").unwrap(),
            "10.0.0.1/32".parse::<IpNet>().unwrap()
        );
        assert_eq!(parse_rtype("aaaa").unwrap(), RecordType::AAAA);
        assert_eq!(parse_rtype("TYPE65").unwrap(), RecordType::HTTPS);
        assert!(parse_rtype("BOGUS").is_err());
        assert!(parse_name("example.lab").unwrap().is_fqdn());
    }
}
