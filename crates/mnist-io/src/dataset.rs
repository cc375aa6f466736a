//! The MNIST data set in memory, split as the tutorials split it, and seeded
//! mini-batches of `f32` pixels in 0..1.

use std::path::Path;

use rand::Rng;
use rand::seq::SliceRandom;

use crate::error::{DataError, Result};
use crate::files::{self, IMAGE_PIXELS, Images, MnistFile};
use crate::idx;

/// How the 60,000 training images are divided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Split {
    /// TensorFlow's `input_data`: the first 55,000 to train, the last 5,000
    /// for validation (10,000 test images as always).
    #[default]
    TensorFlow,
    /// All 60,000 to train, no validation set (Keras, the NumPy course).
    Full,
}

impl std::str::FromStr for Split {
    type Err = String;

    /// `tensorflow` or `full`, as `mnist train --split` and `ladder.toml` name them.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "tensorflow" => Ok(Split::TensorFlow),
            "full" => Ok(Split::Full),
            other => Err(format!(
                "{other:?} is not a split: tensorflow (55,000 to train, 5,000 for validation) or full (60,000 to train)"
            )),
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::TensorFlow => "tensorflow",
            Split::Full => "full",
        })
    }
}

impl Split {
    /// Number of training images this split keeps for validation.
    pub fn validation_len(self) -> usize {
        match self {
            Split::TensorFlow => 5_000,
            Split::Full => 0,
        }
    }
}

/// Whether to check each file's SHA-256 against the real MNIST's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Reject anything that is not the real MNIST (the default).
    Checksums,
    /// Accept any valid IDX files of 28x28 images (e.g. Fashion-MNIST).
    Skip,
}

/// Labelled images: pixels as bytes, `IMAGE_PIXELS` per image (or another
/// width, for small made-up data sets such as XOR's four points).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    width: usize,
}

impl Default for Subset {
    fn default() -> Self {
        Self::with_width(Vec::new(), Vec::new(), IMAGE_PIXELS)
    }
}

impl Subset {
    /// A subset from raw pixels (`IMAGE_PIXELS` bytes per image) and labels.
    ///
    /// # Panics
    /// If the lengths disagree (a programming error; files are checked by
    /// the readers before they get here).
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> Self {
        Self::with_width(pixels, labels, IMAGE_PIXELS)
    }

    /// A subset of examples of `width` bytes each (scaled to 0..1 like
    /// pixels when gathered).
    ///
    /// # Panics
    /// If the lengths disagree or `width` is 0.
    pub fn with_width(pixels: Vec<u8>, labels: Vec<u8>, width: usize) -> Self {
        assert!(width > 0, "examples need at least one value");
        assert_eq!(pixels.len(), labels.len() * width, "pixels and labels disagree");
        Self { pixels, labels, width }
    }

    /// Bytes per example (784 for MNIST).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i`, 784 bytes (`width`), row by row.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * self.width..(i + 1) * self.width]
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixels as bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Copies the images at `indices` into `pixels` (as `f32` in 0..1, 784 a
    /// row) and their labels into `labels` (cleared first). Both are
    /// caller-owned so a training loop can reuse them without allocating.
    ///
    /// # Panics
    /// If `pixels` does not hold exactly `indices.len() * 784` values, or an
    /// index is out of range.
    pub fn gather(&self, indices: &[usize], pixels: &mut [f32], labels: &mut Vec<u8>) {
        assert_eq!(pixels.len(), indices.len() * self.width, "pixels must fit the batch");
        labels.clear();
        for (row, &i) in pixels.chunks_exact_mut(self.width).zip(indices) {
            to_unit_range(self.image(i), row);
            labels.push(self.labels[i]);
        }
    }

    /// The images from `start` to `end` (exclusive), in order, as in `gather`.
    pub fn gather_range(&self, start: usize, end: usize, pixels: &mut [f32], labels: &mut Vec<u8>) {
        assert_eq!(pixels.len(), (end - start) * self.width, "pixels must fit the range");
        to_unit_range(&self.pixels[start * self.width..end * self.width], pixels);
        labels.clear();
        labels.extend_from_slice(&self.labels[start..end]);
    }

    /// The first `n` images, or an error naming `what` when there are fewer.
    pub fn take(&self, n: usize, what: &str) -> Result<Subset> {
        if n > self.len() {
            return Err(DataError::TooFew {
                what: what.into(),
                expected: n,
                found: self.len(),
            });
        }
        Ok(Subset::with_width(
            self.pixels[..n * self.width].to_vec(),
            self.labels[..n].to_vec(),
            self.width,
        ))
    }

    /// A new random order of all indices (one epoch).
    pub fn shuffled_indices<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order
    }

    /// `n` indices drawn uniformly with replacement (the NumPy course's
    /// `np.random.choice(train_size, batch_size)`).
    pub fn sample_indices<R: Rng + ?Sized>(&self, n: usize, rng: &mut R, out: &mut Vec<usize>) {
        use rand::RngExt;
        out.clear();
        out.extend((0..n).map(|_| rng.random_range(0..self.len())));
    }
}

/// Bytes 0..=255 to `f32` in 0..=1, as the tutorials scale them: TensorFlow's
/// `input_data` multiplies by the `f32` nearest to 1/255, and so does this.
pub fn to_unit_range(bytes: &[u8], out: &mut [f32]) {
    const SCALE: f32 = 1.0 / 255.0;
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = b as f32 * SCALE;
    }
}

/// MNIST in memory: training, validation (empty with [`Split::Full`]) and
/// test sets.
#[derive(Clone, Debug)]
pub struct Mnist {
    /// Images to train on.
    pub train: Subset,
    /// Held-out training images (the last 5,000 with [`Split::TensorFlow`]).
    pub validation: Subset,
    /// The 10,000 test images.
    pub test: Subset,
}

impl Mnist {
    /// Loads the four files from `dir` (each raw or `.gz`), validates them,
    /// checks their checksums unless told not to, and splits the training set.
    pub fn load(dir: &Path, split: Split, verify: Verify) -> Result<Self> {
        let read = |file: MnistFile, is_images: bool| -> Result<(std::path::PathBuf, Loaded)> {
            let path = file.find_in(dir)?;
            let content = idx::read_content(&path)?;
            // Hash before parsing (which consumes the bytes) but report a
            // wrong checksum only after parsing, so a broken file is
            // described by what is broken rather than by its hash.
            let hash = (verify == Verify::Checksums).then(|| files::sha256_hex(&content));
            let loaded = if is_images {
                Loaded::Images(files::parse_images(&path, content)?)
            } else {
                Loaded::Labels(files::parse_labels(&path, content)?)
            };
            if let Some(found) = hash {
                file.check_hash(&path, found)?;
            }
            Ok((path, loaded))
        };
        // The training images are most of the work (47 MB of gzip); read them
        // on a second thread while this one reads the rest.
        let (train_images, rest) = std::thread::scope(|s| {
            let big = s.spawn(|| read(files::TRAIN_IMAGES, true));
            let rest = (|| {
                Ok::<_, DataError>([
                    read(files::TRAIN_LABELS, false)?,
                    read(files::TEST_IMAGES, true)?,
                    read(files::TEST_LABELS, false)?,
                ])
            })();
            (big.join().expect("reader thread panicked"), rest)
        });
        let (train_images_path, train_images) = train_images?;
        let [train_labels, test_images, test_labels] = rest?;
        let train = pair(&train_images_path, train_images, train_labels)?;
        let test = pair(&test_images.0, test_images.1, test_labels)?;

        let keep = train
            .len()
            .checked_sub(split.validation_len())
            .ok_or_else(|| DataError::TooFew {
                what: format!("{split:?} split of the training set"),
                expected: split.validation_len(),
                found: train.len(),
            })?;
        let Subset {
            mut pixels, mut labels, ..
        } = train;
        let validation = Subset::new(pixels.split_off(keep * IMAGE_PIXELS), labels.split_off(keep));
        Ok(Self {
            train: Subset::new(pixels, labels),
            validation,
            test,
        })
    }
}

enum Loaded {
    Images(Images),
    Labels(Vec<u8>),
}

fn pair(images_path: &Path, images: Loaded, (labels_path, labels): (std::path::PathBuf, Loaded)) -> Result<Subset> {
    let (Loaded::Images(images), Loaded::Labels(labels)) = (images, labels) else {
        unreachable!("files are read in a fixed order")
    };
    files::check_counts(images_path, &images, &labels_path, &labels)?;
    Ok(Subset::new(images.pixels, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn tiny(n: usize) -> Subset {
        let pixels = (0..n * IMAGE_PIXELS).map(|i| (i / IMAGE_PIXELS) as u8).collect();
        Subset::new(pixels, (0..n).map(|i| (i % 10) as u8).collect())
    }

    #[test]
    fn gather_scales_and_follows_indices() {
        let s = tiny(5);
        let (mut x, mut y) = (vec![0.0; 2 * IMAGE_PIXELS], Vec::new());
        s.gather(&[3, 0], &mut x, &mut y);
        assert_eq!(y, vec![3, 0]);
        assert_eq!(x.len(), 2 * IMAGE_PIXELS);
        assert_eq!(x[0], 3.0 * (1.0 / 255.0));
        assert_eq!(x[IMAGE_PIXELS], 0.0);
        s.gather_range(1, 3, &mut x[..], &mut y);
        assert_eq!(y, vec![1, 2]);
        assert_eq!(x[IMAGE_PIXELS], 2.0 * (1.0 / 255.0));
    }

    #[test]
    fn shuffles_are_seeded_permutations() {
        let s = tiny(50);
        let a = s.shuffled_indices(&mut Xoshiro256PlusPlus::seed_from_u64(7));
        let b = s.shuffled_indices(&mut Xoshiro256PlusPlus::seed_from_u64(7));
        let c = s.shuffled_indices(&mut Xoshiro256PlusPlus::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }
}
