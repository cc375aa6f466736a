//! The loop nest around the micro-kernel, and its split over threads.
//!
//! ```text
//! for jc in 0..n step NC                 block of B columns
//!   for pc in 0..k step KC               block of depth
//!     pack B[pc.., jc..] (KC x NC)       shared by every task, stays in L2
//!     for each task (PANELS_PER_TASK row panels of C, in parallel)
//!       for ir in the task's panels
//!         pack A[ir.., pc..] (MR x KC)   stays in L1
//!         for jr in 0..NC step NR
//!           micro-kernel: C[ir.., jc + jr..] (MR x NR)
//! ```
//!
//! Every element of C is summed in the same order (KC blocks in turn, each
//! by one micro-kernel call) whichever task and thread computes it, so the
//! result never depends on the number of threads.

use std::cell::RefCell;

use rayon::prelude::*;

use super::kernel::MicroKernel;
use super::pack::{Operand, pack_a, pack_b};
use super::params::{KC, NC, PANELS_PER_TASK, PARALLEL_THRESHOLD};

/// 64-byte aligned storage, so that packed panels start on cache lines and
/// the kernels can use aligned loads.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

#[derive(Default)]
struct AlignedBuf(Vec<Line>);

impl AlignedBuf {
    /// The first `len` floats, growing the buffer when needed.
    fn get(&mut self, len: usize) -> &mut [f32] {
        let lines = len.div_ceil(16);
        if self.0.len() < lines {
            self.0.resize(lines, Line([0.0; 16]));
        }
        // SAFETY: `Line` is 16 f32 with no padding (repr(C)), so `lines`
        // Lines are `16 * lines >= len` initialised, contiguous f32.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<f32>(), len) }
    }
}

thread_local! {
    // Packing buffers live as long as the thread, so a training loop that
    // multiplies the same shapes every step allocates nothing.
    static A_PANEL: RefCell<AlignedBuf> = RefCell::default();
    static B_BLOCK: RefCell<AlignedBuf> = RefCell::default();
}

/// Runs `f` with this thread's buffer from `key`, or a fresh one when it is
/// already in use (rayon may run another product on a waiting thread).
fn with_buf<R>(key: &'static std::thread::LocalKey<RefCell<AlignedBuf>>, f: impl FnOnce(&mut AlignedBuf) -> R) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut AlignedBuf::default()),
    })
}

/// `C = alpha * A B + beta * C` for logical `m x k` A and `k x n` B; `c`
/// spans exactly rows `0..m` (the last one `n` long). Sizes are non-zero.
#[allow(clippy::too_many_arguments)]
pub fn gemm<K: MicroKernel>(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let parallel = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD && rayon::current_num_threads() > 1;
    let rows_per_task = K::MR * PANELS_PER_TASK;
    with_buf(&B_BLOCK, |bbuf| {
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let panels = nc.div_ceil(K::NR);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let beta = if pc == 0 { beta } else { 1.0 };
                let packed_b = bbuf.get(panels * kc * K::NR);
                let pack_panel = |(j, dst): (usize, &mut [f32])| {
                    let col = j * K::NR;
                    pack_b(&b, pc, kc, jc + col, K::NR.min(nc - col), K::NR, dst);
                };
                if parallel {
                    packed_b.par_chunks_mut(kc * K::NR).enumerate().for_each(pack_panel);
                } else {
                    packed_b.chunks_mut(kc * K::NR).enumerate().for_each(pack_panel);
                }
                let packed_b = &*packed_b;
                let task = |(t, c_rows): (usize, &mut [f32])| {
                    let row0 = t * rows_per_task;
                    let rows = rows_per_task.min(m - row0);
                    with_buf(&A_PANEL, |abuf| {
                        let packed_a = abuf.get(kc * K::MR);
                        for ir in (0..rows).step_by(K::MR) {
                            let mr = K::MR.min(rows - ir);
                            pack_a(&a, row0 + ir, mr, pc, kc, K::MR, packed_a);
                            for j in 0..panels {
                                let col = j * K::NR;
                                let nr = K::NR.min(nc - col);
                                let b_panel = &packed_b[j * kc * K::NR..(j + 1) * kc * K::NR];
                                tile::<K>(kc, packed_a, b_panel, c_rows, ir * ldc + jc + col, ldc, mr, nr, alpha, beta);
                            }
                        }
                    })
                };
                if parallel {
                    c.par_chunks_mut(rows_per_task * ldc).enumerate().for_each(task);
                } else {
                    c.chunks_mut(rows_per_task * ldc).enumerate().for_each(task);
                }
            }
        }
    })
}

/// One `mr x nr` tile of C at `c[offset..]`: straight into C when it is a
/// full `MR x NR` tile, else through a scratch tile of which only the valid
/// part is written back.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<K: MicroKernel>(
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    offset: usize,
    ldc: usize,
    mr: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    debug_assert!(a.len() >= kc * K::MR && b.len() >= kc * K::NR);
    if mr == K::MR && nr == K::NR {
        // The tile's last element, (MR - 1) * ldc + NR - 1 past `offset`, is
        // inside `c`: checked here so the kernel's raw writes are in bounds.
        assert!(offset + (K::MR - 1) * ldc + K::NR <= c.len());
        // SAFETY: the packed panels hold kc * MR and kc * NR floats. The A
        // panel starts an AlignedBuf; B panels start `j * kc * NR` floats
        // into one, a multiple of 64 bytes whenever NR is a multiple of 16
        // (the kernels with aligned loads: AVX2 and AVX-512). The tile is
        // in bounds (asserted) and the kernel's ISA was checked by
        // `sgemm_with`.
        unsafe { K::tile(kc, a.as_ptr(), b.as_ptr(), c.as_mut_ptr().add(offset), ldc, alpha, beta) };
        return;
    }
    let mut scratch = Scratch([0.0; SCRATCH]);
    assert!(K::MR * K::NR <= SCRATCH);
    // SAFETY: as above, with the scratch tile (NR apart) as C and beta = 0.
    unsafe { K::tile(kc, a.as_ptr(), b.as_ptr(), scratch.0.as_mut_ptr(), K::NR, 1.0, 0.0) };
    for r in 0..mr {
        let row = &mut c[offset + r * ldc..offset + r * ldc + nr];
        let ab = &scratch.0[r * K::NR..r * K::NR + nr];
        if beta == 0.0 {
            row.iter_mut().zip(ab).for_each(|(c, &ab)| *c = alpha * ab);
        } else {
            row.iter_mut().zip(ab).for_each(|(c, &ab)| *c = alpha * ab + beta * *c);
        }
    }
}

const SCRATCH: usize = 16 * 32;

#[repr(C, align(64))]
struct Scratch([f32; SCRATCH]);
