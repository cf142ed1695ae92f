//! whydns: a recursive, DNSSEC-validating resolver that explains why a name failed.
//!
//! This crate currently holds the failure lab ([`lab`]): authoritative servers on loopback that
//! serve a fake DNS hierarchy with declared misconfigurations, which every resolver test runs
//! against. The resolver, validator and explanation log build on it (see docs/architecture.md).

pub mod lab;
