//! `cargo xtask handwriting`: a test set of digits that are not MNIST, to
//! measure what a model does with real pictures (issue 21) without
//! training or tuning on them, and without the held-back check.
//!
//! `make` draws each digit from a skeleton of strokes (`skeleton`), varied
//! the way hands and phones vary it (`render`): slant, rotation, proportions
//! and a wobble of every stroke; pen width; size and place on the sheet;
//! paper shade, uneven lighting, grid lines, ink shade, blur and noise.
//! `score` classifies every picture with a saved model, as `mnist predict
//! --image` does, and prints the accuracy, digit by digit.

mod render;
mod skeleton;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Options of `cargo xtask handwriting`.
#[derive(Args, Debug)]
pub struct HandwritingArgs {
    #[command(subcommand)]
    command: HandwritingCommand,
}

#[derive(Subcommand, Debug)]
enum HandwritingCommand {
    /// Draw the set: DIGIT_INDEX.png files (e.g. 7_013.png) in --out.
    Make {
        /// The folder to write (created; files of the same names replaced).
        #[arg(long, default_value = "testdata/handwriting")]
        out: PathBuf,
        /// Pictures of each digit.
        #[arg(long, default_value_t = 60)]
        per_digit: usize,
        /// Seed of every random choice: the same seed draws the same set.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Classify every picture of --dir with a saved model; the label is the
    /// digit before the file name's underscore.
    Score {
        /// The model file (written by `mnist train --save`).
        #[arg(long)]
        model: PathBuf,
        /// The folder of pictures.
        #[arg(long, default_value = "testdata/handwriting")]
        dir: PathBuf,
        /// Preprocessing steps to leave out, to measure what each one does:
        /// keep-digit (clearing specks), deskew.
        #[arg(long, value_delimiter = ',')]
        without: Vec<Step>,
    },
    /// What the preprocessing does to real handwriting that a model knows:
    /// MNIST's validation digits (the last 5,000 training images, which the
    /// tutorial runs hold out) drawn as pictures, dark ink on a white sheet
    /// four times as large and off centre, brought back through
    /// `mnist_io::digit` and classified, beside the same digits classified
    /// as they are.
    Roundtrip {
        /// The model file (written by `mnist train --save`).
        #[arg(long)]
        model: PathBuf,
        /// Where the MNIST files are (default: data/mnist, or MNIST_DATA).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Preprocessing steps to leave out.
        #[arg(long, value_delimiter = ',')]
        without: Vec<Step>,
    },
}

/// An optional step of `mnist_io::digit`'s preprocessing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Step {
    /// Clearing blobs with under a tenth of the largest one's ink.
    KeepDigit,
    /// Standing the digit upright by its moments.
    Deskew,
}

/// Runs `cargo xtask handwriting`.
pub fn run(args: &HandwritingArgs) -> Result<(), Error> {
    match &args.command {
        HandwritingCommand::Make { out, per_digit, seed } => make(out, *per_digit, *seed),
        HandwritingCommand::Score { model, dir, without } => score(model, dir, steps_without(without)),
        HandwritingCommand::Roundtrip {
            model,
            data_dir,
            without,
        } => roundtrip(model, data_dir.as_deref(), steps_without(without)),
    }
}

fn make(out: &Path, per_digit: usize, seed: u64) -> Result<(), Error> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for index in 0..per_digit {
        for digit in 0..10u8 {
            let picture = render::picture(digit, &mut rng);
            let path = out.join(format!("{digit}_{index:03}.png"));
            picture.save(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    eprintln!("wrote {} pictures into {}", 10 * per_digit, out.display());
    Ok(())
}

/// The default steps but those named.
fn steps_without(without: &[Step]) -> mnist_io::digit::Steps {
    mnist_io::digit::Steps {
        keep_digit: !without.contains(&Step::KeepDigit),
        deskew: !without.contains(&Step::Deskew),
    }
}

/// MNIST validation digits made pictures and back (see the command's doc).
fn roundtrip(model: &Path, data_dir: Option<&Path>, steps: mnist_io::digit::Steps) -> Result<(), Error> {
    let mut model = store::Model::load(model)?;
    let dir = mnist_io::data_dir(data_dir);
    let data = mnist_io::Mnist::load(&dir, mnist_io::Split::TensorFlow, mnist_io::Verify::Checksums)?;
    let digits = &data.validation;
    let (mut as_is, mut through) = (0usize, 0usize);
    for i in 0..digits.len() {
        let label = digits.labels()[i] as usize;
        let image = digits.image(i);
        as_is += usize::from(store::most_likely(&model.classify(image)?) == label);
        let picture = render::mnist_as_photo(image, i);
        let pixels = mnist_io::digit::to_mnist_with(&picture, steps)?;
        through += usize::from(store::most_likely(&model.classify(&pixels)?) == label);
    }
    let n = digits.len() as f64;
    println!(
        "{} validation digits: {as_is} right as they are ({:.4}), {through} through the preprocessing ({:.4})",
        digits.len(),
        as_is as f64 / n,
        through as f64 / n
    );
    Ok(())
}

fn score(model: &Path, dir: &Path, steps: mnist_io::digit::Steps) -> Result<(), Error> {
    let mut model = store::Model::load(model)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    let mut right = [0usize; 10];
    let mut seen = [0usize; 10];
    let mut confusion = [[0usize; 10]; 10];
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let label: usize = name
            .split('_')
            .next()
            .and_then(|d| d.parse().ok())
            .filter(|&d| d < 10)
            .ok_or_else(|| format!("{}: the name does not begin with its digit and _", path.display()))?;
        let pixels = mnist_io::digit::to_mnist_with(&mnist_io::digit::open(path)?, steps)?;
        let probabilities = model.classify(&pixels)?;
        let predicted = store::most_likely(&probabilities);
        seen[label] += 1;
        right[label] += usize::from(predicted == label);
        confusion[label][predicted] += 1;
    }
    let total: usize = seen.iter().sum();
    if total == 0 {
        return Err(format!("{}: no PNG pictures", dir.display()).into());
    }
    println!(
        "{} of {total} right ({:.3})",
        right.iter().sum::<usize>(),
        right.iter().sum::<usize>() as f64 / total as f64
    );
    println!("digit  right  most often read as");
    for d in 0..10 {
        let wrong = (0..10)
            .filter(|&p| p != d)
            .max_by_key(|&p| confusion[d][p])
            .filter(|&p| confusion[d][p] > 0)
            .map_or(String::new(), |p| format!("{p} ({} times)", confusion[d][p]));
        println!("  {d}    {:>3}/{:<3} {wrong}", right[d], seen[d]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seed draws the same pictures every time, a different seed other
    /// ones, and no picture is blank.
    #[test]
    fn the_same_seed_draws_the_same_set_and_every_picture_has_a_digit() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
        make(&a, 3, 7).unwrap();
        make(&b, 3, 7).unwrap();
        make(&c, 3, 8).unwrap();
        let mut differ = 0;
        for digit in 0..10 {
            for index in 0..3 {
                let name = format!("{digit}_{index:03}.png");
                let bytes = std::fs::read(a.join(&name)).unwrap();
                assert_eq!(bytes, std::fs::read(b.join(&name)).unwrap(), "{name}");
                differ += usize::from(bytes != std::fs::read(c.join(&name)).unwrap());
                // Not blank: the preprocessing finds ink (whether it finds
                // the digit, among grid lines and noise, is what the set measures).
                let picture = mnist_io::digit::open(&a.join(&name)).unwrap();
                mnist_io::digit::to_mnist(&picture).unwrap();
            }
        }
        assert_eq!(differ, 30);
    }

    /// The committed set is what its README says: 60 pictures of each digit.
    #[test]
    fn the_committed_set_has_sixty_of_each_digit() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/handwriting"));
        let mut counts = [0usize; 10];
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(stem) = name.strip_suffix(".png") {
                counts[stem[..1].parse::<usize>().unwrap()] += 1;
            }
        }
        assert_eq!(counts, [60; 10]);
    }
}
