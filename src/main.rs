//! The `whydns` command line: wires subcommands to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use whydns::lab::{self, Lab, StartOptions};

#[derive(Parser)]
#[command(
    name = "whydns",
    version,
    about = "A DNS resolver that tells you why a name failed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the failure lab: a fake DNS hierarchy on 127.53.0.0/16 full of misconfigurations.
    Lab(LabArgs),
}

#[derive(clap::Args)]
struct LabArgs {
    /// The testzones directory (lab.toml, zones/, scenarios/, keys/).
    #[arg(long, default_value = "testzones")]
    zones: PathBuf,
    /// Port every lab nameserver listens on (53 needs root or CAP_NET_BIND_SERVICE; 0 picks a free one).
    #[arg(long, default_value_t = 53)]
    port: u16,
    /// Where to write the lab's trust anchor, root hints and signed zones.
    #[arg(long, default_value = "lab-out")]
    out: PathBuf,
    /// Print the scenarios and exit.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command {
        Command::Lab(args) => run_lab(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("whydns: {message}");
            ExitCode::FAILURE
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn run_lab(args: LabArgs) -> Result<(), String> {
    let lab = Lab::load(&args.zones, now()).map_err(|e| e.to_string())?;
    if args.list {
        print!("{}", lab::report::scenario_list(&lab));
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let running = lab::start(&lab, StartOptions { port: args.port })
            .await
            .map_err(|e| e.to_string())?;
        let written = lab::write_files(&lab, &args.out).map_err(|e| e.to_string())?;
        println!(
            "whydns lab: {} servers, {} zones, {} scenarios (signed at {})\n",
            lab.servers.len(),
            lab.zones.len(),
            lab.spec.scenarios.len(),
            lab::format_time(lab.signed_at)
        );
        print!("{}", lab::report::address_plan(&lab, running.port));
        println!();
        print!("{}", lab::report::scenario_digs(&lab, running.port));
        println!(
            "\nTrust anchor: {}\nRoot hints:   {}\nPress Ctrl-C to stop.",
            written.trust_anchor.display(),
            written.root_hints.display()
        );
        wait_for_shutdown().await;
        running.stop();
        println!("whydns lab: stopped");
        Ok(())
    })
}

async fn wait_for_shutdown() {
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
