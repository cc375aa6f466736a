//! `mnist`: train and inspect neural networks on MNIST, from scratch on the CPU.

mod inspect;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mnist",
    version,
    about = "Train and inspect neural networks on MNIST, from scratch on the CPU",
    long_about = "Train and inspect neural networks on MNIST, from scratch on the CPU.\n\n\
The data is looked for in --data-dir, else $MNIST_DATA_DIR, else data/mnist;\n\
`cargo xtask fetch-data` puts it there."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a network and report its accuracy, as the classic tutorials print it.
    Train(train::TrainArgs),
    /// Describe IDX files: header, sizes, label counts, and whether each is the real MNIST.
    Inspect {
        /// IDX files, raw or gzip-compressed.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Inspect { files } => inspect::run(&files),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
