//! The library behind the `mnist` binary: the training loop over MNIST that
//! the command line, the benchmarks and (later) `cargo xtask ladder` share.

pub mod augment_spec;
pub mod epoch;
