//! The AVX-512F micro-kernel: a 10 x 32 tile of C in 20 zmm registers.
//!
//! Each step of k loads 32 floats of B (two zmm) and broadcasts 10 floats of
//! A, then issues 20 independent FMAs. Zen 4 retires one zmm FMA per cycle
//! with a latency of 4, so 20 accumulators hide the latency five times
//! over; the 12 loads per 20 FMAs fit its two load ports. MR = 10 divides
//! the batch sizes that training uses (50, 100) with no wasted rows.

use std::arch::x86_64::*;

use super::kernel::MicroKernel;

/// The AVX-512F kernel.
pub struct Avx512;

const MR: usize = 10;
const NR: usize = 32;

impl MicroKernel for Avx512 {
    const MR: usize = MR;
    const NR: usize = NR;

    unsafe fn tile(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        alpha: f32,
        beta: f32,
    ) {
        // SAFETY: the caller upholds `tile`'s contract, which includes AVX-512F.
        unsafe { tile_10x32(kc, a, rs_a, cs_a, b, rs_b, c, ldc, alpha, beta) }
    }
}

#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_10x32(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
) {
    // SAFETY: as in `MicroKernel::tile`.
    unsafe {
        // Ask for C's tile now: its rows arrive while the product runs,
        // instead of stalling the stores at the end.
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 31).cast());
        }
        // A packed or transposed has its MR elements of a step side by side:
        // constant offsets then replace a chain of pointer increments.
        let acc = if rs_a == 1 {
            product::<true>(kc, a, 1, cs_a, b, rs_b)
        } else {
            product::<false>(kc, a, rs_a, cs_a, b, rs_b)
        };
        let alpha = _mm512_set1_ps(alpha);
        for (i, row) in acc.iter().enumerate() {
            let c_row = c.add(i * ldc);
            for (h, &v) in row.iter().enumerate() {
                let mut v = _mm512_mul_ps(v, alpha);
                if beta != 0.0 {
                    v = _mm512_fmadd_ps(_mm512_loadu_ps(c_row.add(16 * h)), _mm512_set1_ps(beta), v);
                }
                _mm512_storeu_ps(c_row.add(16 * h), v);
            }
        }
    }
}

/// The `MR x NR` product of A's `MR x kc` block and B's `kc x NR` block,
/// in registers.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn product<const UNIT_ROWS: bool>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m512; 2]; MR] {
    let rs_a = if UNIT_ROWS { 1 } else { rs_a };
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    // SAFETY: as in `MicroKernel::tile`.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm512_loadu_ps(b);
            let b1 = _mm512_loadu_ps(b.add(16));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(i * rs_a));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(cs_a);
            b = b.add(rs_b);
        }
    }
    acc
}
