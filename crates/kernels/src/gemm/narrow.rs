//! Products with few columns (`n <= 16`, such as a classifier's 10 logits)
//! on AVX-512, as dot products along k.
//!
//! The blocked path vectorises along the columns of C, so ten columns fill
//! a third of its 32-wide tile. Here the vectors run along k instead: each
//! element of C is a dot product of a row of A with a column of B, both
//! contiguous (B is transposed once into `n x k` if it is not already
//! stored that way), and a block of 3 rows x up to 5 columns keeps 15
//! independent accumulators busy, 16 lanes each, with no lane wasted.
//! The sums are reduced across lanes at the end, always in the same order,
//! so the result does not depend on the number of threads either.

use std::arch::x86_64::*;

use rayon::prelude::*;

use super::pack::Operand;
use super::params::PARALLEL_THRESHOLD;
use super::transpose::transpose_16x16;

/// The widest product this path takes.
pub const MAX_N: usize = 16;

/// Rows of A and columns of B of one block of dot products: 15 accumulators,
/// and 8 loads for 15 FMAs. (4 x 5 made LLVM spill accumulators to the
/// stack, costing a fifth of the speed.)
const ROWS: usize = 3;
const COLS: usize = 5;

/// Rows of C per parallel task (a multiple of ROWS).
const TASK_ROWS: usize = 15;

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
    if b.row_stride == 1 {
        // SAFETY: passed on from the caller.
        return unsafe { dots(m, n, k, alpha, a, b.data, b.col_stride, beta, c, ldc) };
    }
    BT.with(|cell| {
        let mut fresh = Vec::new();
        let mut held = cell.try_borrow_mut();
        let copy = match held.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut fresh,
        };
        // `transpose_into` writes every element, so only growth needs
        // filling (not a zeroing pass per call).
        copy.resize(n * k, 0.0);
        // SAFETY: AVX-512F is the caller's contract.
        unsafe { transpose_into(&b, n, k, copy) };
        // SAFETY: passed on from the caller; the copy is Bᵀ, `k` apart.
        unsafe { dots(m, n, k, alpha, a, copy, k, beta, c, ldc) }
    })
}

thread_local! {
    // Bᵀ for B stored row-major, kept from call to call.
    static BT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes Bᵀ (`n x k`, rows `k` apart) into `copy`: blocks of 16 rows of B
/// (`n` of their floats, masked) transposed in registers, instead of one
/// scalar store per element. With [`reduce_16`], 100 x 512 x 10 went from
/// 62.5 to 73.0 GFLOP/s on one thread (`examples/gemm_one`).
///
/// # Safety
/// AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn transpose_into(b: &Operand, n: usize, k: usize, copy: &mut [f32]) {
    let ld = b.row_stride;
    // Every masked load below reads row p < k's first n floats and every
    // store writes inside copy (n x k): checked once here.
    assert!(n <= 16 && b.data.len() >= (k - 1) * ld + n && copy.len() >= n * k);
    let mask = ((1u32 << n) - 1) as __mmask16;
    let full = k / 16 * 16;
    for p0 in (0..full).step_by(16) {
        // SAFETY: in bounds as asserted above.
        let mut rows: [__m512; 16] =
            std::array::from_fn(|i| unsafe { _mm512_maskz_loadu_ps(mask, b.data.as_ptr().add((p0 + i) * ld)) });
        transpose_16x16(&mut rows);
        for (j, row) in rows.iter().enumerate().take(n) {
            // SAFETY: in bounds as asserted above.
            unsafe { _mm512_storeu_ps(copy.as_mut_ptr().add(j * k + p0), *row) };
        }
    }
    for p in full..k {
        for (j, &v) in b.data[p * ld..p * ld + n].iter().enumerate() {
            copy[j * k + p] = v;
        }
    }
}

/// The dot products once Bᵀ is contiguous by rows, `ldbt` apart.
///
/// # Safety
/// As [`gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn dots(
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
    let task = |(t, c_rows): (usize, &mut [f32])| {
        let row0 = t * TASK_ROWS;
        let rows = TASK_ROWS.min(m - row0);
        for r in (0..rows).step_by(ROWS) {
            let block = ROWS.min(rows - r);
            // A short last block repeats its last row; only real rows are written.
            let a_rows: [&[f32]; ROWS] =
                std::array::from_fn(|i| &a.data[(row0 + r + i.min(block - 1)) * a.row_stride..]);
            for j0 in (0..n).step_by(COLS) {
                let nj = COLS.min(n - j0);
                // SAFETY: the rows of A and rows j0..j0 + nj of Bᵀ hold k
                // floats each; AVX-512F is the caller's contract.
                let sums = unsafe { dot_block_n(k, &a_rows, &bt[j0 * ldbt..], ldbt, nj) };
                for (i, sums) in sums.iter().enumerate().take(block) {
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

/// [`dot_block`] for `nj` in 1..=COLS, each count compiled on its own so
/// that the accumulators are registers, not an array indexed at run time.
///
/// # Safety
/// As [`dot_block`].
#[inline]
unsafe fn dot_block_n(k: usize, a: &[&[f32]; ROWS], bt: &[f32], ldbt: usize, nj: usize) -> [[f32; COLS]; ROWS] {
    // SAFETY: the caller's contract is `dot_block`'s.
    unsafe {
        match nj {
            1 => dot_block::<1>(k, a, bt, ldbt),
            2 => dot_block::<2>(k, a, bt, ldbt),
            3 => dot_block::<3>(k, a, bt, ldbt),
            4 => dot_block::<4>(k, a, bt, ldbt),
            _ => dot_block::<5>(k, a, bt, ldbt),
        }
    }
}

/// Dot products of `ROWS` rows of A with `NJ <= COLS` rows of Bᵀ (`ldbt`
/// apart), each `k` long: `ROWS x NJ` accumulators, and per 16 steps of k
/// `ROWS + NJ` loads for `ROWS * NJ` FMAs.
///
/// # Safety
/// AVX-512F; the rows of `a` and the `NJ` rows of `bt` hold `k` floats each.
#[allow(clippy::needless_range_loop)] // acc[i][j] with x[i]: plainer than zips
#[target_feature(enable = "avx512f")]
unsafe fn dot_block<const NJ: usize>(k: usize, a: &[&[f32]; ROWS], bt: &[f32], ldbt: usize) -> [[f32; COLS]; ROWS] {
    debug_assert!(a.iter().all(|r| r.len() >= k) && NJ <= COLS && bt.len() >= (NJ - 1) * ldbt + k);
    let mut acc = [[_mm512_setzero_ps(); NJ]; ROWS];
    let (a0, a1, a2) = (a[0].as_ptr(), a[1].as_ptr(), a[2].as_ptr());
    let bt = bt.as_ptr();
    let mut p = 0;
    // No closures in here: a closure does not inherit `target_feature`, and
    // an intrinsic it calls is then a real call that spills every register.
    while p < k {
        let mask: __mmask16 = if k - p >= 16 { 0xffff } else { (1u16 << (k - p)) - 1 };
        // SAFETY: the mask keeps every load below k in its row.
        unsafe {
            let x = [
                _mm512_maskz_loadu_ps(mask, a0.add(p)),
                _mm512_maskz_loadu_ps(mask, a1.add(p)),
                _mm512_maskz_loadu_ps(mask, a2.add(p)),
            ];
            for j in 0..NJ {
                let y = _mm512_maskz_loadu_ps(mask, bt.add(j * ldbt + p));
                for i in 0..ROWS {
                    acc[i][j] = _mm512_fmadd_ps(x[i], y, acc[i][j]);
                }
            }
        }
        p += 16;
    }
    let mut all = [_mm512_setzero_ps(); 16];
    for (i, acc) in acc.iter().enumerate() {
        all[i * NJ..(i + 1) * NJ].copy_from_slice(acc);
    }
    let totals = reduce_16(all);
    let mut sums = [[0.0f32; COLS]; ROWS];
    for (i, s) in sums.iter_mut().enumerate() {
        s[..NJ].copy_from_slice(&totals[i * NJ..(i + 1) * NJ]);
    }
    sums
}

/// The sums of the lanes of 16 vectors: `out[i]` is `v[i]`'s 16 lanes
/// added exactly as `_mm512_reduce_add_ps` adds them (halves: lane j with
/// j + 8, then j + 4, j + 2, j + 1), so the result is bit for bit the same,
/// but with the 16 reductions done side by side: 30 shuffles and 15 adds
/// instead of 16 chains of 4 dependent shuffle-add steps each. On
/// 100 x 512 x 10, where 15 reductions close every block of 3 x 5 dot
/// products of 512, leaving the reductions out (a wrong result, to bound
/// their cost) ran at 70 GFLOP/s against 64.
#[target_feature(enable = "avx512f")]
#[inline]
fn reduce_16(v: [__m512; 16]) -> [f32; 16] {
    // Level 1: pair vectors; each result holds two vectors' 8-lane partials.
    let w: [__m512; 8] = std::array::from_fn(|j| {
        let (a, b) = (v[2 * j], v[2 * j + 1]);
        _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(a, b), _mm512_shuffle_f32x4::<0xEE>(a, b))
    });
    // Level 2: 128-bit lane L of x[j] holds vector 4j + L's 4 partials.
    let x: [__m512; 4] = std::array::from_fn(|j| {
        let (a, b) = (w[2 * j], w[2 * j + 1]);
        _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(a, b), _mm512_shuffle_f32x4::<0xDD>(a, b))
    });
    // Level 3: lane L of y[j] holds 2 partials each of vectors 8j + L and
    // 8j + 4 + L.
    let y: [__m512; 2] = std::array::from_fn(|j| {
        let (a, b) = (x[2 * j], x[2 * j + 1]);
        _mm512_add_ps(_mm512_shuffle_ps::<0x44>(a, b), _mm512_shuffle_ps::<0xEE>(a, b))
    });
    // Level 4: element 4L + e holds the total of vector 4e + L.
    let z = _mm512_add_ps(
        _mm512_shuffle_ps::<0x88>(y[0], y[1]),
        _mm512_shuffle_ps::<0xDD>(y[0], y[1]),
    );
    let mut lanes = [0.0f32; 16];
    // SAFETY: lanes holds 16 floats.
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), z) };
    std::array::from_fn(|i| lanes[4 * (i % 4) + i / 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_16_adds_as_reduce_add_ps_does() {
        if !is_x86_feature_detected!("avx512f") {
            return;
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Magnitudes from 1e-4 to 1e4, both signs: the order of the
            // additions shows in the last bits.
            let mant = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            mant * 10f32.powi((state % 9) as i32 - 4)
        };
        for _ in 0..2000 {
            let values: Vec<f32> = (0..256).map(|_| next()).collect();
            // SAFETY: AVX-512F was detected above; loads are in bounds.
            let (got, want) = unsafe {
                let v: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(values[16 * i..].as_ptr()));
                (reduce_16(v), v.map(|v| _mm512_reduce_add_ps(v)))
            };
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
        }
    }
}
