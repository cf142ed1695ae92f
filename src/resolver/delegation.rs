//! Zone cuts as the resolver knows them: a zone, its NS names and their addresses (from glue,
//! cache or sub-resolution); plus root hints (RFC 8109), built in or read from a file.

use std::net::IpAddr;

use hickory_proto::rr::Name;

/// One root server from the hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootHint {
    pub name: Name,
    pub addresses: Vec<IpAddr>,
}

/// A zone cut: the servers that should be authoritative for `zone`.
#[derive(Debug, Clone)]
pub struct Delegation {
    pub zone: Name,
    pub servers: Vec<NsServer>,
}

#[derive(Debug, Clone)]
pub struct NsServer {
    pub name: Name,
    pub addresses: Vec<IpAddr>,
}

impl Delegation {
    /// Bytes this delegation takes in the cache (names, addresses, overhead).
    pub fn bytes(&self) -> usize {
        let name = |n: &Name| n.len() + 64;
        super::bounded::ENTRY_OVERHEAD
            + name(&self.zone)
            + self
                .servers
                .iter()
                .map(|s| name(&s.name) + 32 * s.addresses.len() + 32)
                .sum::<usize>()
    }

    pub fn from_hints(hints: &[RootHint]) -> Delegation {
        Delegation {
            zone: Name::root(),
            servers: hints
                .iter()
                .map(|h| NsServer {
                    name: h.name.clone(),
                    addresses: h.addresses.clone(),
                })
                .collect(),
        }
    }

    pub fn ns_names(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.name.to_string()).collect()
    }
}

/// The IANA root hints (named.root, as published by IANA for the root servers).
pub fn builtin_root_hints() -> Vec<RootHint> {
    const ROOTS: [(&str, &str, &str); 13] = [
        ("a", "198.41.0.4", "2001:503:ba3e::2:30"),
        ("b", "170.247.170.2", "2801:1b8:10::b"),
        ("c", "192.33.4.12", "2001:500:2::c"),
        ("d", "199.7.91.13", "2001:500:2d::d"),
        ("e", "192.203.230.10", "2001:500:a8::e"),
        ("f", "192.5.5.241", "2001:500:2f::f"),
        ("g", "192.112.36.4", "2001:500:12::d0d"),
        ("h", "198.97.190.53", "2001:500:1::53"),
        ("i", "192.36.148.17", "2001:7fe::53"),
        ("j", "192.58.128.30", "2001:503:c27::2:30"),
        ("k", "193.0.14.129", "2001:7fd::1"),
        ("l", "199.7.83.42", "2001:500:9f::42"),
        ("m", "202.12.27.33", "2001:dc3::35"),
    ];
    ROOTS
        .iter()
        .map(|(letter, v4, v6)| RootHint {
            name: Name::from_ascii(format!("{letter}.root-servers.net.")).expect("valid name"),
            addresses: vec![v4.parse().expect("valid v4"), v6.parse().expect("valid v6")],
        })
        .collect()
}

/// Parses a root hints file (named.root format: `. TTL NS name` and `name TTL A|AAAA addr`).
pub fn parse_root_hints(text: &str) -> Result<Vec<RootHint>, String> {
    let mut names: Vec<Name> = Vec::new();
    let mut addresses: Vec<(Name, IpAddr)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split(';').next().unwrap_or("").trim();
        if code.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = code.split_whitespace().collect();
        let bad = |what: &str| format!("line {}: {what}: {line:?}", number + 1);
        // owner [ttl] [class] type rdata
        let type_at = tokens
            .iter()
            .skip(1)
            .position(|t| ["NS", "A", "AAAA"].contains(&t.to_ascii_uppercase().as_str()))
            .map(|i| i + 1)
            .ok_or_else(|| bad("expected NS, A or AAAA"))?;
        if tokens.len() != type_at + 2 {
            return Err(bad("expected one value after the type"));
        }
        let owner = Name::from_ascii(tokens[0])
            .map_err(|e| bad(&e.to_string()))?
            .to_lowercase();
        let value = tokens[type_at + 1];
        match tokens[type_at].to_ascii_uppercase().as_str() {
            "NS" => {
                if !owner.is_root() {
                    return Err(bad("NS records in root hints must be for \".\""));
                }
                names.push(
                    Name::from_ascii(value)
                        .map_err(|e| bad(&e.to_string()))?
                        .to_lowercase(),
                );
            }
            kind => {
                let addr: IpAddr = value.parse().map_err(|_| bad("bad address"))?;
                if (kind == "A") != addr.is_ipv4() {
                    return Err(bad("address family does not match the type"));
                }
                addresses.push((owner, addr));
            }
        }
    }
    let hints: Vec<RootHint> = names
        .into_iter()
        .map(|name| RootHint {
            addresses: addresses
                .iter()
                .filter(|(n, _)| n == &name)
                .map(|(_, a)| *a)
                .collect(),
            name,
        })
        .filter(|h| !h.addresses.is_empty())
        .collect();
    if hints.is_empty() {
        return Err("no root server with an address (need `. NS name` and `name A addr`)".into());
    }
    Ok(hints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_root_format() {
        let hints = parse_root_hints(
            "; comment\n.  3600000 IN NS a.root-servers.lab.\na.root-servers.lab. 3600000 A 127.53.0.1\n",
        )
        .unwrap();
        assert_eq!(hints.len(), 1);
        assert_eq!(
            hints[0].addresses,
            vec!["127.53.0.1".parse::<IpAddr>().unwrap()]
        );
        assert!(parse_root_hints("").is_err());
        assert!(parse_root_hints(". NS a.\na. A ::1\n").is_err());
        assert!(parse_root_hints("x. NS a.\n").is_err());
        assert_eq!(builtin_root_hints().len(), 13);
    }
}
