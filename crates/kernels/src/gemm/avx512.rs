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

    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
        // SAFETY: the caller upholds `tile`'s contract, which includes AVX-512F.
        unsafe { tile_10x32(kc, a, b, c, ldc, alpha, beta) }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn tile_10x32(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    // SAFETY: `a` and `b` hold `kc` groups of MR and NR floats, aligned to
    // 64 bytes; `c` is valid for the MR x NR tile (see `MicroKernel::tile`).
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm512_load_ps(b);
            let b1 = _mm512_load_ps(b.add(16));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(i));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
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
