//! Products with few columns (`n <= 16`, such as a classifier's 10 logits),
//! as dot products along k, on every instruction set.
//!
//! The blocked path vectorises along the columns of C, so ten columns fill
//! a third of AVX-512's 32-wide tile. Here the vectors run along k instead:
//! each element of C is a dot product of a row of A with a column of B,
//! both contiguous (B is transposed once into `n x k` if it is not already
//! stored that way).
//!
//! The order of the arithmetic is fixed, whatever the vector width: each
//! dot product keeps 16 partial sums, sum `l` taking steps `p = l, l + 16,
//! l + 32, ...` by fused multiply-adds from +0 (steps past k count as `0 *
//! 0`), and the 16 sums are added in a fixed tree (`l + 8`, then `+ 4`,
//! `+ 2`, `+ 1`). AVX-512 holds the 16 sums in one register, AVX2 in two,
//! the portable path in an array; each implements that same order, so all
//! three give the same bits (tests compare them). Which path a product takes
//! depends on its shape alone ([`applies`]), never on the CPU.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
pub mod portable;

use rayon::prelude::*;

use std::cell::RefCell;

use super::driver::AlignedBuf;
use super::kernel::epilogue;
use super::pack::Operand;
use super::params::PARALLEL_THRESHOLD;
use crate::scratch::with_scratch;

/// The widest product this path takes.
pub const MAX_N: usize = 16;

/// Partial sums of each dot product.
pub const LANES: usize = 16;

/// Rows of C per parallel task: a multiple of every kernel's `ROWS`.
const TASK_ROWS: usize = 30;

/// True when this path applies: few columns and A's rows contiguous.
pub fn applies(n: usize, a: &Operand) -> bool {
    n <= MAX_N && a.col_stride == 1
}

/// One instruction set's blocks of dot products.
pub trait Dots {
    /// Rows of A in a block.
    const ROWS: usize;
    /// Rows of Bᵀ in a block (`ROWS * COLS <= 16`).
    const COLS: usize;

    /// `out[i * COLS + j]` = the dot product of `a[i]` with row `j` of `bt`
    /// (rows `ldbt` apart), each `k` long, for `i < ROWS` and `j < nj`, in
    /// the order of the module docs.
    ///
    /// # Safety
    /// The CPU has the instruction set; `a` holds `ROWS` pointers to `k`
    /// readable floats, and `nj <= COLS` rows of `k` floats are readable at
    /// `bt`.
    unsafe fn block(k: usize, a: &[*const f32], bt: *const f32, ldbt: usize, nj: usize, out: &mut [f32; 16]);

    /// Writes Bᵀ (`n x k`, rows `k` apart) into `copy`, for a row-major B.
    ///
    /// # Safety
    /// The CPU has the instruction set; B holds `k x n` elements.
    unsafe fn transpose_into(b: &Operand, n: usize, k: usize, copy: &mut [f32]) {
        let ld = b.row_stride;
        for p in 0..k {
            for (j, &v) in b.data[p * ld..p * ld + n].iter().enumerate() {
                copy[j * k + p] = v;
            }
        }
    }
}

/// The fixed tree that adds a dot product's 16 partial sums.
#[inline(always)]
pub fn reduce_tree(s: [f32; LANES]) -> f32 {
    let t8: [f32; 8] = std::array::from_fn(|l| s[l] + s[l + 8]);
    let t4: [f32; 4] = std::array::from_fn(|l| t8[l] + t8[l + 4]);
    let t2: [f32; 2] = std::array::from_fn(|l| t4[l] + t4[l + 2]);
    t2[0] + t2[1]
}

/// `C = alpha * A B + beta * C` by dot products; see the module docs.
///
/// # Safety
/// The CPU supports `D`'s instruction set; `c` spans rows `0..m` of C (the
/// last one `n` long); A and B hold their logical `m x k` and `k x n`
/// elements; `applies(n, &a)`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<D: Dots>(
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
    if b.row_stride == 1 {
        // SAFETY: passed on from the caller.
        return unsafe { dots::<D>(m, n, k, alpha, a, b.data, b.col_stride, beta, c, ldc) };
    }
    with_scratch(&BT, |buf| {
        // `transpose_into` writes every element, so only growth needs
        // filling (not a zeroing pass per call).
        let copy = buf.get(n * k);
        // SAFETY: the instruction set is the caller's contract.
        unsafe { D::transpose_into(&b, n, k, copy) };
        // SAFETY: passed on from the caller; the copy is Bᵀ, `k` apart.
        unsafe { dots::<D>(m, n, k, alpha, a, copy, k, beta, c, ldc) }
    })
}

thread_local! {
    // Bᵀ for B stored row-major, kept from call to call.
    static BT: RefCell<AlignedBuf> = RefCell::default();
}

/// The dot products once Bᵀ is contiguous by rows, `ldbt` apart.
///
/// # Safety
/// As [`gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn dots<D: Dots>(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: Operand,
    bt: &[f32],
    ldbt: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    debug_assert!(TASK_ROWS.is_multiple_of(D::ROWS) && D::ROWS * D::COLS <= 16);
    // Every row of Bᵀ that a block reads holds k floats: checked once here.
    assert!(bt.len() >= (n - 1) * ldbt + k);
    let task = |(t, c_rows): (usize, &mut [f32])| {
        let row0 = t * TASK_ROWS;
        let rows = TASK_ROWS.min(m - row0);
        let mut out = [0.0f32; 16];
        let mut a_rows = [std::ptr::null::<f32>(); 16];
        for r in (0..rows).step_by(D::ROWS) {
            let block = D::ROWS.min(rows - r);
            // A short last block repeats its last row; only real rows are written.
            for (i, row) in a_rows.iter_mut().enumerate().take(D::ROWS) {
                *row = a.data[(row0 + r + i.min(block - 1)) * a.row_stride..][..k].as_ptr();
            }
            for j0 in (0..n).step_by(D::COLS) {
                let nj = D::COLS.min(n - j0);
                // SAFETY: the rows of A and rows j0..j0 + nj of Bᵀ hold k
                // floats each (sliced and asserted above); the instruction
                // set is the caller's contract.
                unsafe { D::block(k, &a_rows[..D::ROWS], bt[j0 * ldbt..].as_ptr(), ldbt, nj, &mut out) };
                for i in 0..block {
                    let row = &mut c_rows[(r + i) * ldc + j0..(r + i) * ldc + j0 + nj];
                    let sums = &out[i * D::COLS..i * D::COLS + nj];
                    row.iter_mut()
                        .zip(sums)
                        .for_each(|(cj, &s)| *cj = epilogue(*cj, beta, alpha * s));
                }
            }
        }
    };
    let parallel = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD && super::may_split();
    if parallel {
        c.par_chunks_mut(TASK_ROWS * ldc).enumerate().for_each(task);
    } else {
        c.chunks_mut(TASK_ROWS * ldc).enumerate().for_each(task);
    }
}
