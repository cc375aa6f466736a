//! The AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm registers.
//!
//! Each step of k loads 16 floats of B (two ymm) and broadcasts 6 floats of
//! A into 12 independent FMAs; with the 2 B registers and a broadcast that is
//! 15 of the 16 ymm registers, the classic shape for this instruction set.

use std::arch::x86_64::*;

use super::kernel::MicroKernel;

/// The AVX2 + FMA kernel.
pub struct Avx2;

const MR: usize = 6;
const NR: usize = 16;

impl MicroKernel for Avx2 {
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
        // SAFETY: the caller upholds `tile`'s contract, which includes AVX2 and FMA.
        unsafe { tile_6x16(kc, a, rs_a, cs_a, b, rs_b, c, ldc, alpha, beta) }
    }
}

#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_6x16(
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
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    // SAFETY: as in `MicroKernel::tile`.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i * rs_a));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(cs_a);
            b = b.add(rs_b);
        }
        // Multiplying by 1 is exact and would cost FMA-unit cycles (as in
        // the AVX-512 kernel).
        let scale = alpha != 1.0;
        let alpha = _mm256_set1_ps(alpha);
        for (i, row) in acc.iter().enumerate() {
            let c_row = c.add(i * ldc);
            for (h, &v) in row.iter().enumerate() {
                let mut v = if scale { _mm256_mul_ps(v, alpha) } else { v };
                if beta != 0.0 {
                    v = _mm256_fmadd_ps(_mm256_loadu_ps(c_row.add(8 * h)), _mm256_set1_ps(beta), v);
                }
                _mm256_storeu_ps(c_row.add(8 * h), v);
            }
        }
    }
}
