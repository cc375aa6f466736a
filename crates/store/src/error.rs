//! What can go wrong reading or writing a model file, each naming the file.

use std::path::PathBuf;

use crate::format::{CHECKPOINT_FORMAT, MODEL_FORMAT};

/// An error of this crate. Every variant names the file, so a front end can
/// print it as it is.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a safetensors file (truncated, or another format).
    #[error("{}: not a safetensors file ({reason})", path.display())]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors parser said.
        reason: String,
    },
    /// A safetensors file that this project did not write: its metadata has
    /// no `format`, or another one.
    #[error(
        "{}: not a model of this project (metadata format {found:?}, expected {MODEL_FORMAT:?} or {CHECKPOINT_FORMAT:?})",
        path.display()
    )]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// The `format` it has, if any.
        found: Option<String>,
    },
    /// A model file where a checkpoint was asked for.
    #[error("{}: a model file, not a checkpoint (checkpoints are written by store::Checkpointer, `mnist train --save M --checkpoint-every N`)", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
    },
    /// An entry of the metadata is missing, unreadable or out of range
    /// (the text says which, e.g. `no architecture in the metadata`,
    /// `invalid architecture (...)`).
    #[error("{}: {problem}", path.display())]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong with which entry.
        problem: String,
    },
    /// The tensors do not fit the architecture the metadata describes.
    #[error("{}: does not match its architecture: {}", path.display(), problems.join("; "))]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// One line per tensor missing, extra, of the wrong dtype or shape.
        problems: Vec<String>,
    },
    /// A checkpoint that cannot be put into the run built for it.
    #[error("{}: {reason}", path.display())]
    Restore {
        /// The checkpoint.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The model or its metadata could not be encoded (a tensor whose
    /// length does not match its shape, say).
    #[error("{}: cannot encode the model ({reason})", path.display())]
    Encode {
        /// The file that was to be written.
        path: PathBuf,
        /// What the encoder said.
        reason: String,
    },
    /// The path ends in `..` or a root, not a file name.
    #[error("{}: not a file name", path.display())]
    NotAFileName {
        /// The path given.
        path: PathBuf,
    },
}

/// What this crate's functions return.
pub type Result<T> = std::result::Result<T, StoreError>;
