//! The metadata schema of the files this crate writes, versioned by the
//! `format` entry.
//!
//! A model file is a safetensors file whose tensors are the model's
//! parameters (and batch norm's running statistics), each named
//! `layer.tensor`, the layers numbered as Keras numbers them
//! (`dense.weight`, `dense_1.bias`, `batch_norm.running_mean`), f32,
//! little-endian. Its string
//! metadata holds:
//!
//! | key | value |
//! | --- | --- |
//! | `format` | [`MODEL_FORMAT`], or [`CHECKPOINT_FORMAT`] for a checkpoint |
//! | `architecture` | the model, as the JSON of [`train::ModelSpec`] |
//! | `training` | the training settings, JSON; kept for people, never read back |
//!
//! A checkpoint adds the state of its run (the `checkpoint` module says how).
//!
//! Compatibility: `architecture` is read with every field optional
//! (missing ones take their defaults), so files written before a field was
//! added still load; the names in it are the fields of `ModelSpec`, not
//! command-line flags, so renaming a flag changes nothing on disk. A change
//! that would make old files mean something else gets a new `format`
//! version, and the reader keeps accepting the old one.

/// What the metadata's `format` says of a model file.
pub const MODEL_FORMAT: &str = "mnist-from-scratch/1";

/// What the metadata's `format` says of a checkpoint: a model file with the
/// state of its run beside it, so it loads as a model too.
pub const CHECKPOINT_FORMAT: &str = "mnist-from-scratch-checkpoint/1";

/// Every tensor of a checkpoint that is not the model's begins with this.
pub const RUN_STATE_PREFIX: &str = "run.";

/// Metadata key of the format version.
pub const FORMAT_KEY: &str = "format";
/// Metadata key of the architecture.
pub const ARCHITECTURE_KEY: &str = "architecture";
/// Metadata key of the training settings.
pub const TRAINING_KEY: &str = "training";
