//! What the `mnist` binary's tests share.

use std::path::{Path, PathBuf};

/// The real MNIST in `data/mnist`, or None (printing why the test skips;
/// panicking instead when MNIST_REQUIRE_DATA is set).
pub fn real_data() -> Option<PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"))
}

/// What a test needs beyond the project (a browser, a Python package):
/// `found`, or None after printing why the test skips. When `required_by`
/// (an environment variable CI sets after installing the thing) is set, a
/// missing prerequisite fails the test instead.
pub fn prerequisite<T>(required_by: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(why) => {
            assert!(
                std::env::var_os(required_by).is_none(),
                "{required_by} is set but {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}
