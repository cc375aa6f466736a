//! Project automation, run as `cargo xtask <command>`.
//!
//! - `fetch-data`: puts the four MNIST files in `data/mnist` (or `--dir`),
//!   downloading them from the public mirrors or copying them from a folder
//!   (`--from`), and checks each one's SHA-256 before keeping it.
//! - `ladder`: reruns every experiment of `ladder.toml` (the tutorials'
//!   ladder) with several seeds and writes `results/ladder.md`,
//!   `results/ladder.json` and SVG plots.
//! - `handwriting`: draws a test set of digits that are not MNIST
//!   (`make`), and scores a saved model on it (`score`).

mod fetch;
mod handwriting;
mod ladder;

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
    /// Rerun the tutorials' experiments (ladder.toml) and compare with the published figures.
    Ladder(ladder::LadderArgs),
    /// Draw a test set of photo-like hand-written digits that are not MNIST, or score a model on it.
    Handwriting(handwriting::HandwritingArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::FetchData(args) => fetch::run(&args).map_err(Into::into),
        Command::Ladder(args) => train::compute_pool().and_then(|pool| pool.install(|| ladder::run(&args))),
        Command::Handwriting(args) => handwriting::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
