//! The library behind the `mnist` binary: what only the command line needs
//! (parsing of its richer flags, TensorBoard event files, history plots).
//! Training itself lives in the `train` crate.

pub mod history_plot;
pub mod tensorboard;
