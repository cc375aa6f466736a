//! Blocking constants of the loop nest, chosen for this project's machine
//! (AMD EPYC, Zen 4: 32 KiB L1d and 1 MiB L2 per core, 32 MiB shared L3) and
//! reasonable on other x86-64 parts.
//!
//! The loop nest keeps three things in three levels of cache:
//! - one packed micro-panel of A, `KC x MR` floats, in L1 while it meets
//!   every micro-panel of B (10 KiB at KC = 256, MR = 10: a third of L1,
//!   leaving room for the B panel streaming through);
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

/// Number of A micro-panels one parallel task computes. Tasks are the unit
/// of work-splitting, and their boundaries do not depend on the number of
/// threads, so neither do the results.
pub const PANELS_PER_TASK: usize = 2;
