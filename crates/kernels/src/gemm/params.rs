//! Blocking constants of the loop nest, chosen for this project's machine
//! (AMD EPYC, Zen 4: 32 KiB L1d and 1 MiB L2 per core, 32 MiB shared L3) and
//! reasonable on other x86-64 parts.
//!
//! The loop nest keeps three things in three levels of cache:
//! - one `MR x KC` panel of A in L1 while it meets every micro-panel of B
//!   of its task (10 KiB at KC = 256, MR = 10: a third of L1, leaving room
//!   for the B panels streaming through);
//! - the packed block of B, `KC x NC` floats, in L2 while every row panel of
//!   A meets it (512 KiB at KC = 256, NC = 512: half of L2);
//! - C itself is touched once per KC block.

/// Depth of a packed block: the `k` extent multiplied per micro-kernel call.
/// Long enough that loading and storing the C tile is noise (each call does
/// `KC * MR * NR` multiply-adds for `2 * MR * NR` loads and stores), short
/// enough that the A micro-panel stays in L1.
pub const KC: usize = 256;

/// Width of a packed block of B: `KC * NC * 4` bytes = 512 KiB, half of L2.
pub const NC: usize = 512;

/// Below this many multiply-adds (`m * n * k`) a product runs on one
/// thread: splitting costs a few microseconds of synchronisation, more than
/// it saves on products that take less than ~50 µs.
pub const PARALLEL_THRESHOLD: usize = 1 << 21;

/// A parallel task computes `TASK_ROW_PANELS x TASK_COL_PANELS` tiles of C.
/// Tasks are the unit of work-splitting; their boundaries depend on the
/// shape only, never on the number of threads, and so neither do the
/// results. Splitting columns too keeps two threads busy on products with
/// few rows (a batch of 50 or 100).
pub const TASK_ROW_PANELS: usize = 2;

/// See [`TASK_ROW_PANELS`].
pub const TASK_COL_PANELS: usize = 4;

/// When C has many rows, tasks grow past [`TASK_ROW_PANELS`] row panels so
/// that there are about this many per block of columns (from this to twice
/// this; fewer when there are fewer than twice as many row panels): enough
/// to balance a few threads, few enough that starting a task (a
/// thread-local buffer, the loop set-up) is noise. Task sizes still depend
/// on the shape only, and no sum depends on them anyway. Measured on conv1's
/// 39200 x 25 x 32, where a tile is only 25 steps long: 1,960 tasks of 2
/// panels ran at 92-95 GFLOP/s on one thread, 65 tasks of 61 panels at
/// 98-100 (`examples/gemm_one`, best of 5, three alternating runs).
pub const TARGET_ROW_TASKS: usize = 64;

/// Below this many rows of C, B is read where it lies instead of packed
/// (when it is row-major): each B panel then meets at most a few A panels,
/// and packing it would cost about as much as it saves.
pub const PACK_B_MIN_ROWS: usize = 256;

/// From this row stride on (in floats: 4 KiB), B is packed even when few
/// rows of C would let it be read in place. Rows a page or more apart put
/// every step of k on a new page, where the hardware prefetchers stop, so
/// the kernel waits on each row; the packing loop, with nothing else to do,
/// keeps many such reads in flight. Measured (`--bench gemm_table`, three
/// alternating runs, ours against the best other crate): 50 x 3136 x 1024 on
/// one thread went from 0.87-0.94 to 0.99-1.06 packed, while 100 x 512 x 512
/// (rows 2 KiB apart) lost when packed (1.19-1.23 to 1.00-1.15).
pub const PACK_B_MIN_STRIDE: usize = 1024;
