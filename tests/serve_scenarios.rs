//! Every lab scenario through a running whydns server, as a stub or `dig` sees it: one UDP
//! query with DO (TCP when truncated), then the RCODE, the AD bit and the EDE options on the
//! wire must be the scenario's; a bogus answer must come back with CD set.

mod common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use common::{query_message, tcp_query, udp_exchange, Ask, TcpOutcome};
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::RecordType;
use whydns::clock::SystemClock;
use whydns::config::Config;
use whydns::resolver::Resolver;
use whydns::server::Server;

include!(concat!(env!("OUT_DIR"), "/serve_scenario_tests.rs"));

/// One server for the binary, recursing through the shared lab with the lab's anchor.
fn server() -> SocketAddr {
    static ADDRESS: OnceLock<SocketAddr> = OnceLock::new();
    *ADDRESS.get_or_init(|| {
        let lab = common::lab();
        let hints =
            std::env::temp_dir().join(format!("whydns-servesc-hints-{}", std::process::id()));
        std::fs::write(&hints, whydns::lab::lab_root_hints(&lab.lab)).unwrap();
        let config = Config {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            root_hints: Some(hints),
            trust_anchors: vec![common::lab_anchor_file()],
            upstream_port: lab.running.port,
            ..Config::default()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let resolver = Resolver::new(&config, std::sync::Arc::new(SystemClock)).unwrap();
                let server = Server::bind(&config, resolver).await.unwrap();
                tx.send(server.local_addrs()[0]).unwrap();
                let _ = server.run(std::future::pending::<()>()).await;
            });
        });
        rx.recv().unwrap()
    })
}

/// Asks like `dig +dnssec`: UDP first, TCP when truncated.
fn ask(name: &str, rtype: RecordType, checking_disabled: bool) -> Message {
    let mut query = query_message(name, rtype, Ask::default());
    query.metadata.recursion_desired = true;
    query.metadata.checking_disabled = checking_disabled;
    let wait = Duration::from_secs(15);
    let reply =
        udp_exchange(server(), &query, wait).unwrap_or_else(|| panic!("no answer for {name}"));
    if !reply.metadata.truncation {
        return reply;
    }
    match tcp_query(server(), &query, wait) {
        TcpOutcome::Answer(reply) => reply,
        other => panic!("{name}: TCP after TC: {other:?}"),
    }
}

fn ede_codes(message: &Message) -> Vec<u16> {
    let Some(edns) = &message.edns else {
        return Vec::new();
    };
    edns.options()
        .get_all(EdnsCode::Unknown(15))
        .into_iter()
        .filter_map(|option| match option {
            EdnsOption::Unknown(15, bytes) if bytes.len() >= 2 => {
                Some(u16::from_be_bytes([bytes[0], bytes[1]]))
            }
            _ => None,
        })
        .collect()
}

fn run_scenario(id: &str) {
    let scenario = common::scenario(id);
    let rtype: RecordType = scenario.query.rtype.parse().unwrap();
    let reply = ask(&scenario.query.name, rtype, false);
    let rcode = whydns::explain::event::rcode_name(reply.metadata.response_code);
    assert_eq!(rcode, scenario.expect.rcode, "{id}: RCODE\n{reply}");
    assert_eq!(
        reply.metadata.authentic_data, scenario.expect.ad,
        "{id}: AD\n{reply}"
    );
    let codes = ede_codes(&reply);
    common::assert_ede(id, &codes, &scenario.expect.ede, &reply.to_string());
    if scenario.category == whydns::lab::Category::Dnssec && scenario.expect.rcode == "SERVFAIL" {
        let unchecked = ask(&scenario.query.name, rtype, true);
        let rcode = whydns::explain::event::rcode_name(unchecked.metadata.response_code);
        assert!(
            rcode == "NOERROR" || rcode == "NXDOMAIN",
            "{id}: +cd gave {rcode}"
        );
        assert!(!unchecked.metadata.authentic_data, "{id}: +cd with AD");
    }
}
