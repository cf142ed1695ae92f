//! `whydns serve`: the recursive server, configured from a file and flags, until SIGTERM or
//! SIGINT (then in-flight answers are finished and the process exits 0).

use std::net::SocketAddr;
use std::sync::Arc;

use ipnet::IpNet;

use super::options::{parse_allow, parse_control, parse_listen, ResolverOptions};
use crate::clock::SystemClock;
use crate::resolver::Resolver;
use crate::server;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub options: ResolverOptions,
    /// Address to listen on, UDP and TCP (a bare address means port 53); repeat for several.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: Vec<SocketAddr>,
    /// Clients allowed to query (CIDR or address); repeat for several. Default: loopback.
    #[arg(long, value_name = "CIDR", value_parser = parse_allow)]
    pub allow: Vec<IpNet>,
    /// Serve the HTTP control API (explanations, metrics) on this address, e.g.
    /// 127.0.0.1:8053 (a bare address means port 8053). It has no authentication: keep it on
    /// loopback.
    #[arg(long, value_name = "ADDR", value_parser = parse_control)]
    pub control: Option<SocketAddr>,
    /// Clients allowed to use the control API (CIDR or address); repeat for several.
    /// Default: loopback. It shows every client's questions: keep it narrow.
    #[arg(long, value_name = "CIDR", value_parser = parse_allow)]
    pub control_allow: Vec<IpNet>,
    /// Clients allowed to read /metrics on the control API (CIDR or address); repeat for
    /// several. Default: loopback. Apart from --control-allow: a scraper need not read
    /// explanations.
    #[arg(long, value_name = "CIDR", value_parser = parse_allow)]
    pub metrics_allow: Vec<IpNet>,
    /// A name the control API accepts in the HTTP Host header besides its own address and
    /// localhost (DNS rebinding protection); repeat for several.
    #[arg(long, value_name = "NAME")]
    pub control_host: Vec<String>,
    /// Also append every explanation kept to this file, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    pub explain_file: Option<std::path::PathBuf>,
    /// Keep every resolution in the explanation log, not only those that are not a plain
    /// success.
    #[arg(long)]
    pub explain_all: bool,
}

pub fn run(args: ServeArgs) -> Result<(), String> {
    let mut config = args.options.config()?;
    if !args.listen.is_empty() {
        config.listen = args.listen;
    }
    if !args.allow.is_empty() {
        config.allow = args.allow;
    }
    if args.control.is_some() {
        config.control = args.control;
    }
    if !args.control_allow.is_empty() {
        config.control_allow = args.control_allow;
    }
    if !args.metrics_allow.is_empty() {
        config.metrics_allow = args.metrics_allow;
    }
    if !args.control_host.is_empty() {
        config.control_hosts = args.control_host;
    }
    if args.explain_file.is_some() {
        config.explain.file = args.explain_file;
    }
    if args.explain_all {
        config.explain.keep_all = true;
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let shutdown = super::shutdown_signal()?;
        let resolver = Resolver::new(&config, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
        server::serve(config, resolver, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
}
