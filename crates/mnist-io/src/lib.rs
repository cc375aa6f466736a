//! MNIST on disk and in memory.
//!
//! - [`idx`]: the IDX format, raw or gzip (detected by content), read and
//!   written, with every header field and length checked.
//! - [`files`]: the four MNIST files, their checksums, and MNIST's own rules
//!   (magic 2051/2049, 28x28 images, labels 0 to 9, matching counts).
//! - [`dataset`]: the data in memory, the 55k/5k/10k and 60k/10k splits, and
//!   seeded batches of `f32` pixels in 0..1.
//! - [`augment`]: random affine, elastic, brightness and contrast transforms.
//! - [`store`]: copying verified files into a data folder; [`download`]
//!   (feature `download`) fetches them from the public mirrors.
//! - [`digit`] (feature `digit`): a photo or drawing of a digit made into
//!   a 28x28 MNIST image, as MNIST itself was made.
//!
//! Every failure is a [`DataError`] that names the file and says what was
//! expected and what was found; no input makes this crate panic.
//!
//! ```no_run
//! use mnist_io::{Mnist, Split, Verify};
//! let data = Mnist::load(&mnist_io::data_dir(None), Split::TensorFlow, Verify::Checksums)?;
//! assert_eq!((data.train.len(), data.validation.len(), data.test.len()), (55_000, 5_000, 10_000));
//! # Ok::<(), mnist_io::DataError>(())
//! ```

pub mod augment;
mod augment_text;
pub mod dataset;
#[cfg(feature = "digit")]
pub mod digit;
#[cfg(feature = "download")]
pub mod download;
mod error;
pub mod files;
pub mod idx;
pub mod store;

use std::path::{Path, PathBuf};

pub use augment_text::AUGMENT_HELP;
pub use dataset::{Mnist, Split, Subset, Verify};
pub use error::{DataError, Result};
pub use files::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};

/// Environment variable naming the folder that holds the MNIST files.
pub const DATA_DIR_ENV: &str = "MNIST_DATA_DIR";

/// Where the data is looked for when neither a flag nor the environment says.
pub const DEFAULT_DATA_DIR: &str = "data/mnist";

/// What to tell a person whose data is missing.
pub const HOW_TO_GET_DATA: &str = "\
To get MNIST, run one of these from the project's folder:
  cargo xtask fetch-data                 # downloads it from the public mirrors
  cargo xtask fetch-data --from DIR      # copies it from a folder holding the four .gz files
or point --data-dir, or the environment variable MNIST_DATA_DIR, at a folder that holds
train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz (raw, uncompressed files work too).";

/// The data folder: `flag` if given, else `$MNIST_DATA_DIR`, else `data/mnist`.
pub fn data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.into();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => DEFAULT_DATA_DIR.into(),
    }
}

/// Environment variable that makes tests needing the real data fail, rather
/// than skip, when it is missing (CI sets it).
pub const REQUIRE_DATA_ENV: &str = "MNIST_REQUIRE_DATA";

/// For tests and benchmarks that need the real MNIST in `dir`: `Some(dir)`
/// when all four files are there; otherwise prints why the caller skips and
/// returns `None`, or panics when `MNIST_REQUIRE_DATA` is set.
pub fn data_dir_for_tests(dir: &Path) -> Option<PathBuf> {
    if files::ALL_FILES.iter().all(|f| f.find_in(dir).is_ok()) {
        return Some(dir.into());
    }
    assert!(
        std::env::var_os(REQUIRE_DATA_ENV).is_none(),
        "{REQUIRE_DATA_ENV} is set but {} lacks the MNIST files",
        dir.display()
    );
    eprintln!("skipped: no MNIST in {} (run `cargo xtask fetch-data`)", dir.display());
    None
}

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
