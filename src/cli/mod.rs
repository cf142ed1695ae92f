//! The command line as a library, so `main.rs` only parses and wires: subcommands `serve`
//! (the recursive server), `resolve` (one question, with its trace), `lab` (the failure lab
//! and a resolver pointed at it).
//!
//! Errors are returned as one-line messages that name the file, flag or address at fault;
//! `main` prints them and exits 1. clap's own usage errors exit 2.

pub mod lab;
pub mod options;
pub mod resolve;
pub mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "whydns",
    version,
    about = "A DNS resolver that tells you why a name failed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the recursive DNS server (UDP and TCP) until SIGTERM or SIGINT.
    Serve(serve::ServeArgs),
    /// Resolve one name in-process and explain the answer.
    Resolve(resolve::ResolveArgs),
    /// Serve the failure lab: a fake DNS hierarchy on 127.53.0.0/16 full of misconfigurations,
    /// and a whydns resolver pointed at it.
    Lab(lab::LabArgs),
}

impl Cli {
    /// The log level when RUST_LOG is not set: `resolve` prints its own story on stdout, so
    /// its log stays quiet unless something is wrong.
    pub fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Resolve(_) => "warn",
            Command::Serve(_) | Command::Lab(_) => "info",
        }
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Resolve(args) => resolve::run(args),
        Command::Lab(args) => lab::run(args),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (service managers, `kill`).
pub async fn wait_for_shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
