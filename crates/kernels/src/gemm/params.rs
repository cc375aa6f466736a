//! Blocking of the loop nest.
//!
//! The loop nest keeps three things in three levels of cache:
//! - one `MR x KC` panel of A in L1 while it meets every micro-panel of B
//!   of its task (10 KiB at KC = 256, MR = 10; 5 KiB for AVX2's MR = 5: a
//!   third of a 32 KiB L1 at most, leaving room for the B panels streaming
//!   through);
//! - the packed block of B, `KC x NC` floats, in L2 while every row panel of
//!   A meets it: NC is chosen so that it fills half of this CPU's L2, read
//!   at run time ([`nc`]);
//! - C itself is touched once per KC block.
//!
//! KC is one constant on every machine because it fixes the order of the
//! sums (each element of C is summed depth block by depth block); NC only
//! changes which tiles are computed when, never a result.

use std::sync::OnceLock;

/// Depth of a packed block: the `k` extent multiplied per micro-kernel call.
/// Long enough that loading and storing the C tile is noise (each call does
/// `KC * MR * NR` multiply-adds for `2 * MR * NR` loads and stores), short
/// enough that the A micro-panel stays in L1.
pub const KC: usize = 256;

/// Width of a packed block of B on this CPU: [`nc_for_l2`] of its L2
/// ([`CacheSizes::get`](crate::cache::CacheSizes::get)).
pub fn nc() -> usize {
    static NC: OnceLock<usize> = OnceLock::new();
    *NC.get_or_init(|| nc_for_l2(crate::cache::CacheSizes::get().l2))
}

/// Width of a packed block of B for an L2 of `l2` bytes: as many columns as
/// make a `KC`-deep block half of it, in whole multiples of 64 columns
/// (every kernel's NR divides 64, so blocks end on panel boundaries), from
/// 128 to 4096. 256 for a 512 KiB L2 (Zen 2 and 3), 512 for 1 MiB (Zen 4,
/// Skylake-X), 1024 for 2 MiB (Sapphire Rapids).
pub fn nc_for_l2(l2: usize) -> usize {
    (l2 / 2 / (KC * size_of::<f32>()) / 64 * 64).clamp(128, 4096)
}

/// Below this many multiply-adds (`m * n * k`) a product runs on one
/// thread: splitting costs a few microseconds of synchronisation, more than
/// it saves on products that take less than ~50 µs.
pub const PARALLEL_THRESHOLD: usize = 1 << 21;

/// With many rows of C (at least [`MANY_ROWS`]), a task computes at least
/// `TASK_ROW_PANELS` row panels across a whole block of B. Tasks are the
/// unit of work-splitting; their boundaries depend on the shape only, never
/// on the number of threads, and so neither do the results.
pub const TASK_ROW_PANELS: usize = 2;

/// With few rows of C (a batch of 50 or 100), a task is a strip of this
/// many column panels across every row: enough tasks to keep two threads
/// busy on a 512-column product, each reading its own part of B.
pub const TASK_COL_PANELS: usize = 4;

/// When C has many rows, tasks grow past [`TASK_ROW_PANELS`] row panels so
/// that there are about this many per block of columns (from this to twice
/// this; fewer when there are fewer than twice as many row panels): enough
/// to balance a few threads, few enough that starting a task (a
/// thread-local buffer, the loop set-up) is noise. Task sizes still depend
/// on the shape only, and no sum depends on them anyway. Conv1's tiles are
/// only 25 steps long, so small tasks there cost a few percent
/// (`docs/kernel-notes.md`, "Tasks of many row panels").
pub const TARGET_ROW_TASKS: usize = 64;

/// From this many rows of C on, tasks are row panels across a block of B
/// instead of column strips across every row: a block of B then meets
/// enough row panels to be worth sharing in L2.
pub const MANY_ROWS: usize = 256;
