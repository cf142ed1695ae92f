//! whydns: a recursive, DNSSEC-validating resolver that explains why a name failed.
//!
//! The request flow: `server` receives a client query, `resolver` iterates from the root
//! (through `transport`, recording every step as `explain::Event`s), and the answer goes back
//! with Extended DNS Errors chosen from the typed failure. `lab` is the failure lab the tests
//! (and users) run resolvers against; it depends on nothing else here but `rdata` (RDATA hickory
//! does not type). `cli` is the command line (`serve`, `resolve`, `explain`, `lab`) as a
//! library, so `main.rs` only wires.

pub mod cli;
pub mod clock;
pub mod config;
pub mod dnssec;
pub mod explain;
pub mod lab;
pub mod rdata;
pub mod resolver;
pub mod server;
pub mod transport;
