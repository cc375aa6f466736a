//! `mnist`: train and inspect neural networks on MNIST, from scratch on the CPU.

mod eval_command;
mod grid;
mod inspect;
mod serve;
mod train_command;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Subcommand};

#[derive(clap::Parser)]
#[command(
    name = "mnist",
    version,
    about = "Train and inspect neural networks on MNIST, from scratch on the CPU",
    long_about = "Train and inspect neural networks on MNIST, from scratch on the CPU.\n\n\
The data is looked for in --data-dir, else $MNIST_DATA_DIR, else data/mnist;\n\
`cargo xtask fetch-data` puts it there.\n\n\
Environment: RAYON_NUM_THREADS sets the number of threads (default: one per core);\n\
MNIST_KERNEL=portable|avx2|avx512 forces a GEMM kernel (default: the fastest this CPU has)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a network and report its accuracy, as the classic tutorials print it.
    Train(train_command::TrainArgs),
    /// Evaluate a saved model on the test set: accuracy, loss, confusion matrix.
    Eval(eval_command::EvalCommand),
    /// Classify one test image with a saved model, drawing it in the terminal.
    Predict(eval_command::PredictArgs),
    /// Serve a page where you draw a digit and see the model's guess and probabilities as you draw.
    Serve(serve::ServeArgs),
    /// Print a network's layers, output shapes and parameter counts, as Keras' model.summary().
    Summary(train::ModelSpec),
    /// Draw test digits beside augmented copies of themselves, as a PNG.
    AugmentGrid(grid::GridArgs),
    /// Describe IDX files: header, sizes, label counts, and whether each is the real MNIST.
    Inspect {
        /// IDX files, raw or gzip-compressed.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// The command, with the defaults of `mnist train` set by `--recipe` when
/// the command line names one (so that flags given beside it still win).
fn command_for(args: &[String]) -> Result<clap::Command, clap::Error> {
    let command = Cli::command();
    let Some(recipe) = recipe_named(args) else {
        return Ok(command);
    };
    let train = command
        .find_subcommand("train")
        .expect("mnist has a train command")
        .clone();
    let train = recipe.as_defaults(train)?;
    Ok(command.mut_subcommand("train", |_| train))
}

/// The recipe `mnist train --recipe NAME` (or `--recipe=NAME`) names, if
/// any; a name that is not a recipe is left for clap to refuse.
fn recipe_named(args: &[String]) -> Option<train::Recipe> {
    if args.get(1).map(String::as_str) != Some("train") {
        return None;
    }
    let mut rest = args.iter().skip(2);
    while let Some(arg) = rest.next() {
        if arg == "--recipe" {
            return rest.next().and_then(|name| train::Recipe::from_name(name));
        }
        if let Some(name) = arg.strip_prefix("--recipe=") {
            return train::Recipe::from_name(name);
        }
    }
    None
}

/// When the process began, for `mnist train`'s wall time.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn main() -> ExitCode {
    STARTED.get_or_init(std::time::Instant::now);
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let matches = command_for(&args).unwrap_or_else(|e| e.exit()).get_matches_from(&args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `mnist train` keeps its command line in checkpoints, and --resume
    // needs to know which flags were given.
    let (arguments, given): (Vec<String>, Vec<String>) = match matches.subcommand() {
        Some(("train", m)) => (
            args.iter().skip(2).cloned().collect(),
            m.ids()
                .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
                .map(|id| id.to_string())
                .collect(),
        ),
        _ => Default::default(),
    };
    let result = train::compute_pool().and_then(|pool| {
        // The whole command runs on one of the pool's threads, so the
        // kernels' parallel loops start from inside the pool (no hand-off
        // to it per product) and every thread flushes denormals.
        pool.install(|| match cli.command {
            Command::Train(args) => train_command::run(&args, &arguments, &given),
            Command::Inspect { files } => inspect::run(&files),
            Command::AugmentGrid(args) => grid::run(&args),
            Command::Summary(args) => train_command::summary(&args),
            Command::Eval(args) => eval_command::eval(&args),
            Command::Predict(args) => eval_command::predict(&args),
            Command::Serve(args) => serve::run(&args),
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
