//! `cargo xtask fetch-data`.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mnist_io::download::{self, Progress};
use mnist_io::store;

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Copy the files from this folder (each raw or .gz) instead of downloading them.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Where to store the files [default: data/mnist in the project's folder].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Mirror URL prefixes to try in order, instead of the built-in list
    /// (each followed by the file name, e.g. https://host/mnist/).
    #[arg(long = "mirror")]
    mirrors: Vec<String>,
    /// Fetch again even when the folder already holds the verified files.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &FetchArgs) -> Result<(), mnist_io::DataError> {
    // The project's data folder, wherever in the project this is run from.
    let dir = args.dir.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(mnist_io::DEFAULT_DATA_DIR)
    });
    if !args.force && store::is_complete(&dir) {
        println!("{}: MNIST is already there and verified.", dir.display());
        return Ok(());
    }
    let written = match &args.from {
        Some(source) => store::copy_from(source, &dir)?,
        None => {
            let mirrors: Vec<&str> = if args.mirrors.is_empty() {
                download::MIRRORS.to_vec()
            } else {
                args.mirrors.iter().map(String::as_str).collect()
            };
            download::fetch_all(&mirrors, &dir, &mut Bar::default())?
        }
    };
    for path in &written {
        println!("verified  {}", path.display());
    }
    Ok(())
}

/// A progress bar per download, on standard error (hidden when it is not a
/// terminal, so logs stay clean).
#[derive(Default)]
struct Bar {
    bar: Option<ProgressBar>,
}

impl Progress for Bar {
    fn start(&mut self, url: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::no_length(),
        };
        bar.set_style(
            ProgressStyle::with_template("{msg}\n  [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(format!("downloading {url}"));
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn failed(&mut self, url: &str, reason: &str) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
        eprintln!("skipping {url}: {reason}");
    }

    fn done(&mut self, path: &Path) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("stored {}", path.display());
    }
}
