//! The `whydns` command line: parses arguments and hands them to [`whydns::cli`]. Errors are
//! printed as one line on stderr with exit status 1 (clap's usage errors exit 2).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use whydns::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cli.default_log_level()));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        // Colour codes only for a person at a terminal, not in files and journals.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    match whydns::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("whydns: {message}");
            ExitCode::FAILURE
        }
    }
}
