//! The library behind the `mnist` binary: what only the command line needs
//! (parsing of its richer flags, pictures made into MNIST digits,
//! TensorBoard event files, history plots).
//! Training itself lives in the `train` crate.

pub mod augment_spec;
pub mod digit;
pub mod history_plot;
pub mod tensorboard;
