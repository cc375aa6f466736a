//! The four MNIST files: their names, their checksums, and reading them with
//! MNIST's own rules on top of the IDX format (magic numbers 2051 and 2049,
//! 28x28 images, labels 0 to 9, matching counts).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::idx;

/// Height and width of an MNIST image.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per MNIST image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes.
pub const CLASSES: usize = 10;
/// Magic number of an image file (u8, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of a label file (u8, 1 dimension).
pub const LABELS_MAGIC: u32 = 2049;

/// One of the four MNIST files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MnistFile {
    /// Name of the uncompressed file, e.g. `train-images-idx3-ubyte`.
    pub name: &'static str,
    /// SHA-256 of the uncompressed content, lower-case hex.
    pub sha256: &'static str,
    /// MD5 of the uncompressed content (the sum every MNIST loader checks).
    pub md5: &'static str,
}

/// The training images (60,000).
pub const TRAIN_IMAGES: MnistFile = MnistFile {
    name: "train-images-idx3-ubyte",
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    md5: "6bbc9ace898e44ae57da46a324031adb",
};
/// The training labels (60,000).
pub const TRAIN_LABELS: MnistFile = MnistFile {
    name: "train-labels-idx1-ubyte",
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    md5: "a25bea736e30d166cdddb491f175f624",
};
/// The test images (10,000).
pub const TEST_IMAGES: MnistFile = MnistFile {
    name: "t10k-images-idx3-ubyte",
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    md5: "2646ac647ad5339dbf082846283269ea",
};
/// The test labels (10,000).
pub const TEST_LABELS: MnistFile = MnistFile {
    name: "t10k-labels-idx1-ubyte",
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    md5: "27ae3e4e09519cfbb04c329615203637",
};

/// All four files.
pub const ALL_FILES: [MnistFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

impl MnistFile {
    /// The name of the gzip-compressed file, as the mirrors serve it.
    pub fn gz_name(&self) -> String {
        format!("{}.gz", self.name)
    }

    /// The file in `dir`: the uncompressed one if present, else the `.gz`.
    pub fn find_in(&self, dir: &Path) -> Result<PathBuf> {
        let raw = dir.join(self.name);
        if raw.is_file() {
            return Ok(raw);
        }
        let gz = dir.join(self.gz_name());
        if gz.is_file() {
            return Ok(gz);
        }
        Err(DataError::Missing {
            dir: dir.into(),
            file: format!("{} (or {})", self.gz_name(), self.name),
            hint: crate::HOW_TO_GET_DATA.into(),
        })
    }

    /// Checks the SHA-256 of uncompressed `content` read from `path`.
    pub fn verify(&self, path: &Path, content: &[u8]) -> Result<()> {
        self.check_hash(path, sha256_hex(content))
    }

    /// Checks an already computed SHA-256 (hex) of the content of `path`.
    pub fn check_hash(&self, path: &Path, found: String) -> Result<()> {
        if found == self.sha256 {
            Ok(())
        } else {
            Err(DataError::Checksum {
                path: path.into(),
                name: self.name.into(),
                expected: self.sha256.into(),
                found,
            })
        }
    }
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Images as read from an IDX file: `count` images of `rows` x `cols` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Height.
    pub rows: usize,
    /// Width.
    pub cols: usize,
    /// `count * rows * cols` pixels, 0 (background) to 255 (ink).
    pub pixels: Vec<u8>,
}

fn check_magic(path: &Path, content: &[u8], kind: &'static str, expected: u32) -> Result<()> {
    let found = idx::be_u32(path, content, 0, "the IDX magic number")?;
    if found != expected {
        return Err(DataError::BadMagic {
            path: path.into(),
            kind,
            expected,
            found,
        });
    }
    Ok(())
}

/// Parses uncompressed content as an MNIST image file (magic 2051, 28x28).
pub fn parse_images(path: &Path, content: Vec<u8>) -> Result<Images> {
    check_magic(path, &content, "images", IMAGES_MAGIC)?;
    let arr = idx::parse(path, content)?;
    let (count, rows, cols) = (arr.dims[0], arr.dims[1], arr.dims[2]);
    if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(DataError::ImageSize {
            path: path.into(),
            expected_rows: IMAGE_SIDE,
            expected_cols: IMAGE_SIDE,
            found_rows: rows,
            found_cols: cols,
        });
    }
    Ok(Images {
        count,
        rows,
        cols,
        pixels: arr.data,
    })
}

/// Parses uncompressed content as an MNIST label file (magic 2049, 0 to 9).
pub fn parse_labels(path: &Path, content: Vec<u8>) -> Result<Vec<u8>> {
    check_magic(path, &content, "labels", LABELS_MAGIC)?;
    let arr = idx::parse(path, content)?;
    if let Some(index) = arr.data.iter().position(|&l| l as usize >= CLASSES) {
        return Err(DataError::LabelOutOfRange {
            path: path.into(),
            index,
            offset: 8 + index as u64,
            found: arr.data[index],
        });
    }
    Ok(arr.data)
}

/// Reads an MNIST image file, raw or gzip.
pub fn read_images(path: &Path) -> Result<Images> {
    parse_images(path, idx::read_content(path)?)
}

/// Reads an MNIST label file, raw or gzip.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    parse_labels(path, idx::read_content(path)?)
}

/// Reads a pair of image and label files and checks that their counts agree.
pub fn read_pair(images_path: &Path, labels_path: &Path) -> Result<(Images, Vec<u8>)> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    check_counts(images_path, &images, labels_path, &labels)?;
    Ok((images, labels))
}

pub(crate) fn check_counts(images_path: &Path, images: &Images, labels_path: &Path, labels: &[u8]) -> Result<()> {
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.into(),
            images: images.count,
            labels_path: labels_path.into(),
            labels: labels.len(),
        });
    }
    Ok(())
}
