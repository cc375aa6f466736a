//! Dot products on AVX-512F: the 16 partial sums of a dot product in one
//! zmm register, and a block of 3 rows x up to 5 columns keeps 15
//! independent accumulators busy with no lane wasted.

use std::arch::x86_64::*;

use super::Dots;
use crate::gemm::pack::Operand;
use crate::gemm::transpose::transpose_16x16;

/// The AVX-512 dot products.
pub struct Avx512Dots;

/// Rows of A and columns of B of one block of dot products: 15 accumulators,
/// and 8 loads for 15 FMAs. (4 x 5 made LLVM spill accumulators to the
/// stack, costing a fifth of the speed.)
const ROWS: usize = 3;
const COLS: usize = 5;

impl Dots for Avx512Dots {
    const ROWS: usize = ROWS;
    const COLS: usize = COLS;

    unsafe fn block(k: usize, a: &[*const f32], bt: *const f32, ldbt: usize, nj: usize, out: &mut [f32; 16]) {
        let a = [a[0], a[1], a[2]];
        // SAFETY: the caller's contract; each arm passes its own count.
        unsafe {
            match nj {
                1 => dot_block::<1>(k, &a, bt, ldbt, out),
                2 => dot_block::<2>(k, &a, bt, ldbt, out),
                3 => dot_block::<3>(k, &a, bt, ldbt, out),
                4 => dot_block::<4>(k, &a, bt, ldbt, out),
                _ => dot_block::<5>(k, &a, bt, ldbt, out),
            }
        }
    }

    unsafe fn transpose_into(b: &Operand, n: usize, k: usize, copy: &mut [f32]) {
        // SAFETY: the caller's contract.
        unsafe { transpose_into(b, n, k, copy) }
    }
}

/// Writes Bᵀ (`n x k`, rows `k` apart) into `copy`: blocks of 16 rows of B
/// (`n` of their floats, masked) transposed in registers, instead of one
/// scalar store per element. With [`reduce_16`], it made the narrow path a
/// sixth faster (`docs/kernel-notes.md`, "The narrow path").
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

/// Dot products of `ROWS` rows of A with `NJ <= COLS` rows of Bᵀ (`ldbt`
/// apart), each `k` long: `ROWS x NJ` accumulators, and per 16 steps of k
/// `ROWS + NJ` loads for `ROWS * NJ` FMAs.
///
/// # Safety
/// AVX-512F; the rows of `a` and the `NJ` rows of `bt` hold `k` floats each.
#[allow(clippy::needless_range_loop)] // acc[i][j] with x[i]: plainer than zips
#[target_feature(enable = "avx512f")]
unsafe fn dot_block<const NJ: usize>(
    k: usize,
    a: &[*const f32; ROWS],
    bt: *const f32,
    ldbt: usize,
    out: &mut [f32; 16],
) {
    debug_assert!(NJ <= COLS);
    let mut acc = [[_mm512_setzero_ps(); NJ]; ROWS];
    let (a0, a1, a2) = (a[0], a[1], a[2]);
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
    // Straight into the caller's block (`out[i * COLS + j]`): when NJ is
    // COLS the layouts are the same. Returning the sums as an array of
    // their own, copied by the caller, cost 4% of 100 x 512 x 10 (perf).
    if NJ == COLS {
        *out = totals;
    } else {
        for i in 0..ROWS {
            out[i * COLS..i * COLS + NJ].copy_from_slice(&totals[i * NJ..(i + 1) * NJ]);
        }
    }
}

/// The sums of the lanes of 16 vectors: `out[i]` is `v[i]`'s 16 lanes
/// added in the fixed tree of `reduce_tree` (lane j with j + 8, then j + 4,
/// j + 2, j + 1), which is also how `_mm512_reduce_add_ps` adds them,
/// but with the 16 reductions done side by side: 30 shuffles and 15 adds
/// instead of 16 chains of 4 dependent shuffle-add steps each, so that the
/// reductions that close every block of dot products cost little
/// (`docs/kernel-notes.md`, "The narrow path").
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
    fn reduce_16_adds_in_the_fixed_tree() {
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
                let tree: [f32; 16] = std::array::from_fn(|i| {
                    super::super::reduce_tree(values[16 * i..16 * i + 16].try_into().expect("16 floats"))
                });
                (reduce_16(v), tree)
            };
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
        }
    }
}
