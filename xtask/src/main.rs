//! Project automation, run as `cargo xtask <command>`.
//!
//! - `fetch-data`: puts the four MNIST files in `data/mnist` (or `--dir`),
//!   downloading them from the public mirrors or copying them from a folder
//!   (`--from`), and checks each one's SHA-256 before keeping it.

mod fetch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation for the MNIST workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download MNIST from the public mirrors (or copy it with --from), verify it, store it.
    FetchData(fetch::FetchArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::FetchData(args) => fetch::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
