//! The command line as a library, so `main.rs` only parses and wires: subcommands `serve`
//! (the recursive server), `resolve` (one question, with its trace), `explain` (explanations
//! from a running server), `lab` (the failure lab and a resolver pointed at it).
//!
//! Errors are returned as one-line messages that name the file, flag or address at fault;
//! `main` prints them and exits 1. clap's own usage errors exit 2.

pub mod explain;
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
    /// Log format on stderr: text for people, json (one object per line) for collectors.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the recursive DNS server (UDP and TCP) until SIGTERM or SIGINT.
    Serve(serve::ServeArgs),
    /// Resolve one name in-process and explain the answer.
    Resolve(resolve::ResolveArgs),
    /// Show explanations from a running server: by id (from an EDE's "[trace ID]"), or by
    /// name, RCODE, EDE code or time.
    Explain(explain::ExplainArgs),
    /// Serve the failure lab: a fake DNS hierarchy on 127.53.0.0/16 full of misconfigurations,
    /// and a whydns resolver pointed at it.
    Lab(lab::LabArgs),
}

impl Cli {
    /// The log level when RUST_LOG is not set: `resolve` prints its own story on stdout, so
    /// its log stays quiet unless something is wrong.
    pub fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Resolve(_) | Command::Explain(_) => "warn",
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
        Command::Explain(args) => explain::run(args),
    }
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM (service managers, `kill`). The
/// handlers are installed now, not when the future is first polled, so a signal that arrives
/// while the server is still starting is not lost (nor kills the process uncleanly). Must be
/// called inside a tokio runtime.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind| signal(kind).map_err(|e| format!("cannot install signal handler: {e}"));
    let mut terminate = install(SignalKind::terminate())?;
    let mut interrupt = install(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
