//! Products with few columns (`n <= 16`, such as a classifier's 10 logits)
//! on AVX-512, as dot products along k.
//!
//! The blocked path vectorises along the columns of C, so ten columns fill
//! a third of its 32-wide tile. Here the vectors run along k instead: each
//! element of C is a dot product of a row of A with a column of B, both
//! contiguous (B is transposed once into `n x k` if it is not already
//! stored that way), and a block of 2 rows x up to 10 columns keeps 20
//! independent accumulators busy, 16 lanes each, with no lane wasted.
//! The sums are reduced across lanes at the end, always in the same order,
//! so the result does not depend on the number of threads either.

use std::arch::x86_64::*;

use rayon::prelude::*;

use super::pack::Operand;
use super::params::PARALLEL_THRESHOLD;

/// The widest product this path takes.
pub const MAX_N: usize = 16;

/// Rows of C per parallel task (a multiple of the 2-row block).
const TASK_ROWS: usize = 16;

/// True when this path applies: few columns and A's rows contiguous.
pub fn applies(n: usize, a: &Operand) -> bool {
    n <= MAX_N && a.col_stride == 1
}

/// `C = alpha * A B + beta * C` by dot products; see the module docs.
///
/// # Safety
/// The CPU supports AVX-512F; `c` spans rows `0..m` of C (the last one `n`
/// long); A and B hold their logical `m x k` and `k x n` elements.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
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
    // Bᵀ as `n` contiguous rows of `k`: B itself when it is stored
    // transposed, else a copy.
    let mut copy = Vec::new();
    let (bt, ldbt) = if b.row_stride == 1 {
        (b.data, b.col_stride)
    } else {
        copy.resize(n * k, 0.0);
        for p in 0..k {
            for (j, &v) in b.data[p * b.row_stride..p * b.row_stride + n].iter().enumerate() {
                copy[j * k + p] = v;
            }
        }
        (&copy[..], k)
    };
    let task = |(t, c_rows): (usize, &mut [f32])| {
        let row0 = t * TASK_ROWS;
        let rows = TASK_ROWS.min(m - row0);
        for r in (0..rows).step_by(2) {
            let pair = 2.min(rows - r);
            for j0 in (0..n).step_by(10) {
                let nj = 10.min(n - j0);
                let a0 = &a.data[(row0 + r) * a.row_stride..];
                let a1 = &a.data[(row0 + r + pair - 1) * a.row_stride..];
                let b0 = &bt[j0 * ldbt..];
                // SAFETY: rows `row0 + r` and `row0 + r + pair - 1` of A and
                // rows j0..j0 + nj of Bᵀ hold k floats each; AVX-512F is the
                // caller's contract.
                let sums = unsafe { dot_block_n(k, a0, a1, b0, ldbt, nj) };
                for (i, sums) in sums.iter().enumerate().take(pair) {
                    let row = &mut c_rows[(r + i) * ldc + j0..(r + i) * ldc + j0 + nj];
                    for (cj, &s) in row.iter_mut().zip(sums) {
                        *cj = if beta == 0.0 { alpha * s } else { alpha * s + beta * *cj };
                    }
                }
            }
        }
    };
    let parallel = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD && rayon::current_num_threads() > 1;
    if parallel {
        c.par_chunks_mut(TASK_ROWS * ldc).enumerate().for_each(task);
    } else {
        c.chunks_mut(TASK_ROWS * ldc).enumerate().for_each(task);
    }
}

/// [`dot_block`] for `nj` in 1..=10, each count compiled on its own so that
/// the accumulators are registers, not an array indexed at run time.
///
/// # Safety
/// As [`dot_block`].
#[inline]
unsafe fn dot_block_n(k: usize, a0: &[f32], a1: &[f32], bt: &[f32], ldbt: usize, nj: usize) -> [[f32; 10]; 2] {
    // SAFETY: the caller's contract is `dot_block`'s.
    unsafe {
        match nj {
            1 => dot_block::<1>(k, a0, a1, bt, ldbt),
            2 => dot_block::<2>(k, a0, a1, bt, ldbt),
            3 => dot_block::<3>(k, a0, a1, bt, ldbt),
            4 => dot_block::<4>(k, a0, a1, bt, ldbt),
            5 => dot_block::<5>(k, a0, a1, bt, ldbt),
            6 => dot_block::<6>(k, a0, a1, bt, ldbt),
            7 => dot_block::<7>(k, a0, a1, bt, ldbt),
            8 => dot_block::<8>(k, a0, a1, bt, ldbt),
            9 => dot_block::<9>(k, a0, a1, bt, ldbt),
            _ => dot_block::<10>(k, a0, a1, bt, ldbt),
        }
    }
}

/// Dot products of rows `a0`, `a1` of A with `NJ <= 10` rows of Bᵀ
/// (`ldbt` apart), each `k` long.
///
/// # Safety
/// AVX-512F; `a0`, `a1` and the `NJ` rows of `bt` hold `k` floats each.
// Indexing both accumulator rows by `j` reads more plainly than zipping them.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f")]
unsafe fn dot_block<const NJ: usize>(k: usize, a0: &[f32], a1: &[f32], bt: &[f32], ldbt: usize) -> [[f32; 10]; 2] {
    debug_assert!(a0.len() >= k && a1.len() >= k && NJ <= 10 && bt.len() >= (NJ - 1) * ldbt + k);
    let mut acc = [[_mm512_setzero_ps(); NJ]; 2];
    let (a0, a1, bt) = (a0.as_ptr(), a1.as_ptr(), bt.as_ptr());
    let full = k / 16 * 16;
    // SAFETY: every load stays below k in its row (the tail is masked).
    unsafe {
        for p in (0..full).step_by(16) {
            let x0 = _mm512_loadu_ps(a0.add(p));
            let x1 = _mm512_loadu_ps(a1.add(p));
            for j in 0..NJ {
                let y = _mm512_loadu_ps(bt.add(j * ldbt + p));
                acc[0][j] = _mm512_fmadd_ps(x0, y, acc[0][j]);
                acc[1][j] = _mm512_fmadd_ps(x1, y, acc[1][j]);
            }
        }
        if full < k {
            let mask: __mmask16 = (1u16 << (k - full)) - 1;
            let x0 = _mm512_maskz_loadu_ps(mask, a0.add(full));
            let x1 = _mm512_maskz_loadu_ps(mask, a1.add(full));
            for j in 0..NJ {
                let y = _mm512_maskz_loadu_ps(mask, bt.add(j * ldbt + full));
                acc[0][j] = _mm512_fmadd_ps(x0, y, acc[0][j]);
                acc[1][j] = _mm512_fmadd_ps(x1, y, acc[1][j]);
            }
        }
    }
    let mut sums = [[0.0f32; 10]; 2];
    for (s, v) in sums.iter_mut().zip(&acc) {
        for j in 0..NJ {
            s[j] = _mm512_reduce_add_ps(v[j]);
        }
    }
    sums
}
