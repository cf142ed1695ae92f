//! `whydns lab`: serve the failure lab and, next to it, a whydns resolver whose root hints
//! are the lab's root servers, so every scenario can be asked through the resolver with a
//! plain `dig @127.0.0.1 -p 5353 NAME TYPE`.
//!
//! Limitations: the lab's resolver uses the lab's trust anchor file, which only matters once
//! the validator exists; it listens on one address only.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::lab::{self, Lab, StartOptions};
use crate::resolver::Resolver;
use crate::server::Server;

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// The testzones directory (lab.toml, zones/, scenarios/, keys/).
    #[arg(long, default_value = "testzones")]
    pub zones: PathBuf,
    /// Port every lab nameserver listens on (53 needs root or CAP_NET_BIND_SERVICE; 0 picks a free one).
    #[arg(long, default_value_t = 53)]
    pub port: u16,
    /// Where to write the lab's trust anchor, root hints and signed zones.
    #[arg(long, default_value = "lab-out")]
    pub out: PathBuf,
    /// Print the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Where the whydns resolver pointed at the lab listens (UDP and TCP).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5353",
          value_parser = super::options::parse_listen)]
    pub resolver_listen: SocketAddr,
    /// Serve only the lab, without a whydns resolver.
    #[arg(long)]
    pub no_resolver: bool,
    /// Where the resolver's HTTP control API (explanations, metrics) listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8053",
          value_parser = super::options::parse_control)]
    pub control: SocketAddr,
    /// Do not serve the HTTP control API.
    #[arg(long)]
    pub no_control: bool,
}

pub fn run(args: LabArgs) -> Result<(), String> {
    let lab = Lab::load(&args.zones, super::now()).map_err(|e| e.to_string())?;
    if args.list {
        print!("{}", lab::report::scenario_list(&lab));
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let shutdown = super::shutdown_signal()?;
        let running = lab::start(&lab, StartOptions { port: args.port })
            .await
            .map_err(|e| e.to_string())?;
        let written = lab::write_files(&lab, &args.out).map_err(|e| e.to_string())?;
        let server = if args.no_resolver {
            None
        } else {
            Some(start_resolver(&args, &written, running.port).await?)
        };
        print_banner(&lab, &written, running.port, server.as_ref());
        match server {
            Some(server) => server.run(shutdown).await.map_err(|e| e.to_string())?,
            None => shutdown.await,
        }
        running.stop();
        println!("whydns lab: stopped");
        Ok(())
    })
}

/// A whydns resolver pointed at the lab: its root hints and trust anchor, its port.
async fn start_resolver(
    args: &LabArgs,
    written: &lab::WrittenFiles,
    port: u16,
) -> Result<Server, String> {
    let config = Config {
        listen: vec![args.resolver_listen],
        root_hints: Some(written.root_hints.clone()),
        trust_anchors: vec![written.trust_anchor.clone()],
        upstream_port: port,
        control: (!args.no_control).then_some(args.control),
        ..Config::default()
    };
    let resolver = Resolver::new(&config, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    Server::bind(&config, resolver).await.map_err(|e| {
        format!("{e} (use --resolver-listen, --control, --no-control or --no-resolver)")
    })
}

/// What the operator needs to use the lab: the address plan, a `dig` per scenario, the
/// files written and the resolver's addresses.
fn print_banner(lab: &Lab, written: &lab::WrittenFiles, port: u16, server: Option<&Server>) {
    let resolver_address = server.and_then(|s| s.local_addrs().first().copied());
    let control_address = server.and_then(|s| s.control_addr());
    println!(
        "whydns lab: {} servers, {} zones, {} scenarios (signed at {})\n",
        lab.servers.len(),
        lab.zones.len(),
        lab.spec.scenarios.len(),
        lab::format_time(lab.signed_at)
    );
    print!("{}", lab::report::address_plan(lab, port));
    println!();
    print!("{}", scenario_digs(lab, port, resolver_address));
    println!(
        "\nTrust anchor: {}\nRoot hints:   {}",
        written.trust_anchor.display(),
        written.root_hints.display()
    );
    if let Some(address) = resolver_address {
        println!("Resolver:     {address} (UDP and TCP), recursing through the lab");
    }
    if let Some(address) = control_address {
        println!(
            "Control API:  http://{address}/ (explanations: whydns explain --server http://{address} <id>)"
        );
    }
    println!("Press Ctrl-C to stop.");
}

/// Each scenario with its description, the `dig` that shows it at its own servers and, with
/// a resolver running, the `dig` that asks the resolver.
fn scenario_digs(lab: &Lab, port: u16, resolver: Option<SocketAddr>) -> String {
    let mut out = String::new();
    for s in &lab.spec.scenarios {
        let _ = writeln!(out, "{} ({}) - {}", s.id, s.category.as_str(), s.title);
        let _ = writeln!(out, "    {}", lab::report::dig_command(lab, s, port));
        if let Some(address) = resolver {
            let _ = writeln!(
                out,
                "    {}",
                resolver_dig(address, &s.query.name, &s.query.rtype)
            );
        }
    }
    out
}

/// `dig @ADDR [-p PORT] NAME TYPE` for asking the resolver.
pub fn resolver_dig(address: SocketAddr, name: &str, rtype: &str) -> String {
    let port = if address.port() == 53 {
        String::new()
    } else {
        format!(" -p {}", address.port())
    };
    format!("dig @{}{port} {name} {rtype}", address.ip())
}
