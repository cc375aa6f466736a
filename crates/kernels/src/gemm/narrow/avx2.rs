//! Dot products on AVX2 + FMA: the 16 partial sums of a dot product in two
//! ymm registers (sums 0-7 and 8-15), a block of 2 rows x up to 3 columns:
//! 12 accumulators, the two rows' 8 floats and one of Bᵀ's, 15 of the 16
//! registers.

use std::arch::x86_64::*;

use super::Dots;

/// The AVX2 dot products.
pub struct Avx2Dots;

const ROWS: usize = 2;
const COLS: usize = 3;

impl Dots for Avx2Dots {
    const ROWS: usize = ROWS;
    const COLS: usize = COLS;

    unsafe fn block(k: usize, a: &[*const f32], bt: *const f32, ldbt: usize, nj: usize, out: &mut [f32; 16]) {
        let a = [a[0], a[1]];
        // SAFETY: the caller's contract; each arm passes its own count.
        unsafe {
            match nj {
                1 => dot_block::<1>(k, a, bt, ldbt, out),
                2 => dot_block::<2>(k, a, bt, ldbt, out),
                _ => dot_block::<3>(k, a, bt, ldbt, out),
            }
        }
    }
}

/// The mask for the first `n` (at most 8) of 8 lanes.
#[target_feature(enable = "avx2")]
#[inline]
fn first_lanes(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// `ROWS x NJ` dot products, each `k` long, as `Dots::block` defines them.
///
/// # Safety
/// AVX2 and FMA; the rows of `a` and the `NJ` rows of `bt` (`ldbt` apart)
/// hold `k` floats each.
#[allow(clippy::needless_range_loop)] // acc[i][j] with x[i]: plainer than zips
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_block<const NJ: usize>(
    k: usize,
    a: [*const f32; ROWS],
    bt: *const f32,
    ldbt: usize,
    out: &mut [f32; 16],
) {
    let mut acc = [[[_mm256_setzero_ps(); 2]; NJ]; ROWS];
    let full = k / 16 * 16;
    // No closures in here: a closure does not inherit `target_feature`, and
    // an intrinsic it calls is then a real call that spills every register.
    // SAFETY: every load below is inside its row of k floats.
    unsafe {
        let mut p = 0;
        while p < full {
            for h in 0..2 {
                let q = p + 8 * h;
                let x = [_mm256_loadu_ps(a[0].add(q)), _mm256_loadu_ps(a[1].add(q))];
                for j in 0..NJ {
                    let y = _mm256_loadu_ps(bt.add(j * ldbt + q));
                    for i in 0..ROWS {
                        acc[i][j][h] = _mm256_fmadd_ps(x[i], y, acc[i][j][h]);
                    }
                }
            }
            p += 16;
        }
        if full < k {
            // Masked-off lanes load as 0 and are not read, so each unused
            // sum takes 0 * 0, as on the other paths.
            for h in 0..2 {
                let q = full + 8 * h;
                let mask = first_lanes((k - full).saturating_sub(8 * h).min(8));
                let x = [
                    _mm256_maskload_ps(a[0].wrapping_add(q), mask),
                    _mm256_maskload_ps(a[1].wrapping_add(q), mask),
                ];
                for j in 0..NJ {
                    let y = _mm256_maskload_ps(bt.wrapping_add(j * ldbt + q), mask);
                    for i in 0..ROWS {
                        acc[i][j][h] = _mm256_fmadd_ps(x[i], y, acc[i][j][h]);
                    }
                }
            }
        }
    }
    // Straight into the caller's block, as on AVX-512.
    for i in 0..ROWS {
        for j in 0..NJ {
            out[i * COLS + j] = reduce(acc[i][j]);
        }
    }
}

/// The fixed tree of `reduce_tree` on sums 0-7 (`v[0]`) and 8-15 (`v[1]`):
/// lane l with l + 8, then l + 4, l + 2, l + 1.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce(v: [__m256; 2]) -> f32 {
    let t8 = _mm256_add_ps(v[0], v[1]);
    let t4 = _mm_add_ps(_mm256_castps256_ps128(t8), _mm256_extractf128_ps::<1>(t8));
    let t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    _mm_cvtss_f32(_mm_add_ss(t2, _mm_shuffle_ps::<1>(t2, t2)))
}
