//! The library behind the `mnist` binary: what only the command line needs
//! (parsing of its richer flags). Training itself lives in the `train` crate.

pub mod augment_spec;
