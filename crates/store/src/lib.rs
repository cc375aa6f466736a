//! Trained models on disk: safetensors model files and checkpoints.
//!
//! - [`Model`]: load a model file and classify images with it.
//! - [`save`], [`load_with`]: write and read model files (the layer under
//!   [`Model`]); every write is atomic, every read checks each tensor
//!   against the architecture in the file's metadata.
//! - [`checkpoint`]: a model file that also holds its run's state, so a
//!   run resumes bit for bit ([`Checkpointer`] writes them, as a
//!   [`train::Callback`]; [`Checkpoint`] reads them back).
//! - [`format`](mod@format): the metadata schema and its version.
//! - [`StoreError`]: what goes wrong, always naming the file.
//!
//! ```no_run
//! let mut model = mnist_store::Model::load("model.safetensors".as_ref())?;
//! let image = [0u8; 784]; // 28x28, 0 the background, 255 the ink
//! let probabilities = model.classify(&image)?;
//! println!("{probabilities:?}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate knows files; the layers it fills in are `nn`'s and the
//! architecture is `train`'s [`ModelSpec`](train::ModelSpec).

pub mod checkpoint;
mod error;
mod file;
pub mod format;
mod model;

pub use checkpoint::{Checkpoint, Checkpointer};
pub use error::{Result, StoreError};
pub use file::{Loaded, checkpoint_path_for, load_with, save, save_with};
pub use model::{Model, most_likely};

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
