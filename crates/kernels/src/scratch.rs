//! Buffers kept per thread and reused from call to call, so that a
//! training loop, which calls the same kernels on the same shapes every
//! step, allocates nothing. Public so that a layer's own per-thread
//! buffers (a convolution's columns in evaluation) follow the same rule.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Runs `f` with this thread's value of `key`, or with a fresh one when
/// that is already in use: rayon lets a thread that waits inside one kernel
/// take other work, which may call the same kernel again.
pub fn with_scratch<T: Default, R>(key: &'static LocalKey<RefCell<T>>, f: impl FnOnce(&mut T) -> R) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut value) => f(&mut value),
        Err(_) => f(&mut T::default()),
    })
}
