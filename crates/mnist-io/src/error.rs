use std::path::PathBuf;

/// Everything that can be wrong with MNIST data on disk. Each variant names
/// the file and, where it applies, the byte offset, what was expected and what
/// was found.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// The file has no bytes at all.
    #[error("{path}: the file is empty (expected an IDX file, raw or gzip-compressed)")]
    Empty {
        /// The file.
        path: PathBuf,
    },

    /// The file starts like gzip but does not decompress.
    #[error("{path}: corrupt gzip data: {reason}")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decompressor said.
        reason: String,
    },

    /// The file ends before the header or the data it announces.
    #[error("{path}: truncated at byte {found}: {what} needs {expected} bytes")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// Bytes needed (of the uncompressed content).
        expected: u64,
        /// Bytes present.
        found: u64,
    },

    /// The file has more bytes than its header announces.
    #[error("{path}: {found} bytes, but the header announces {expected} (trailing data from offset {expected})")]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes announced by the header.
        expected: u64,
        /// Bytes present.
        found: u64,
    },

    /// The magic number at offset 0 is not the one expected.
    #[error(
        "{path}: bad magic number at offset 0: expected {expected} ({expected:#010x}, {kind}), found {found} ({found:#010x})"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The kind of file that was expected ("images", "labels").
        kind: &'static str,
        /// Expected magic.
        expected: u32,
        /// Magic found.
        found: u32,
    },

    /// The header is not a valid IDX header (unknown element type, zero
    /// dimensions, or sizes that overflow).
    #[error("{path}: invalid IDX header at offset {offset}: {reason}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// Byte offset of the offending field.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// Images of a size other than the one expected.
    #[error("{path}: images are {found_rows}x{found_cols}, expected {expected_rows}x{expected_cols}")]
    ImageSize {
        /// The file.
        path: PathBuf,
        /// Expected height.
        expected_rows: usize,
        /// Expected width.
        expected_cols: usize,
        /// Height found.
        found_rows: usize,
        /// Width found.
        found_cols: usize,
    },

    /// A label outside 0..=9.
    #[error("{path}: label {index} at offset {offset} is {found}, expected 0 to 9")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Index of the label.
        index: usize,
        /// Byte offset (of the uncompressed content).
        offset: u64,
        /// The value found.
        found: u8,
    },

    /// The image and label files hold different numbers of items.
    #[error("{images_path} holds {images} images but {labels_path} holds {labels} labels")]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },

    /// The content is a valid IDX file but not the real MNIST.
    #[error(
        "{path}: not the real MNIST file {name}: SHA-256 of the uncompressed content is {found}, expected {expected}"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The MNIST file name it stands for.
        name: String,
        /// Expected SHA-256 (hex).
        expected: String,
        /// SHA-256 found (hex).
        found: String,
    },

    /// A data file is not where it was looked for.
    #[error("MNIST file {file} not found in {dir}.\n{hint}")]
    Missing {
        /// The folder searched.
        dir: PathBuf,
        /// The file looked for (either `NAME` or `NAME.gz`).
        file: String,
        /// How to get the data.
        hint: String,
    },

    /// A split asks for more items than the data has.
    #[error("{what}: asked for {expected} items, the data has {found}")]
    TooFew {
        /// Which split.
        what: String,
        /// Items asked for.
        expected: usize,
        /// Items present.
        found: usize,
    },

    /// A download failed (only with the `download` feature).
    #[error("{url}: {reason}")]
    Download {
        /// What was fetched.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
