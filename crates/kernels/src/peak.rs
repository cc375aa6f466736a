//! The machine's peak: how many floating-point operations per second one
//! core retires when it does nothing but independent fused multiply-adds.
//! GEMM speeds are quoted as a percentage of this.

use std::time::Instant;

use crate::isa::Isa;

/// Peak GFLOP/s of one thread with `isa`'s widest FMA, measured over about
/// `seconds` (a multiply-add counts as two operations). `None` when the CPU
/// cannot run `isa`, or for the portable path, whose peak depends on what
/// the compiler made of it.
pub fn fma_gflops(isa: Isa, seconds: f64) -> Option<f64> {
    if !isa.is_supported() {
        return None;
    }
    let run = |iters: u64| -> f64 {
        let start = Instant::now();
        let flops = match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: support was checked above.
            Isa::Avx512 => unsafe { x86::fma_avx512(iters) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: support was checked above.
            Isa::Avx2 => unsafe { x86::fma_avx2(iters) },
            _ => return f64::NAN,
        };
        flops / start.elapsed().as_secs_f64() / 1e9
    };
    // Calibrate the count on a short run, then take the best of three.
    let probe = run(1 << 20);
    if probe.is_nan() {
        return None;
    }
    let iters = ((seconds / 3.0) * probe * 1e9 / 512.0).max(1e6) as u64;
    Some((0..3).map(|_| run(iters)).fold(0.0, f64::max))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// 16 independent chains of zmm FMAs: more than latency x throughput on
    /// any current core, so the loop is bound by FMA throughput alone.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(iters: u64) -> f64 {
        let mut acc = [_mm512_set1_ps(0.0); 16];
        let a = _mm512_set1_ps(black_box(0.999_999));
        let b = _mm512_set1_ps(black_box(1e-7));
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm512_fmadd_ps(*r, a, b);
            }
        }
        black_box(acc);
        iters as f64 * 16.0 * 16.0 * 2.0
    }

    /// 12 independent chains of ymm FMAs.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iters: u64) -> f64 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let a = _mm256_set1_ps(black_box(0.999_999));
        let b = _mm256_set1_ps(black_box(1e-7));
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm256_fmadd_ps(*r, a, b);
            }
        }
        black_box(acc);
        iters as f64 * 12.0 * 8.0 * 2.0
    }
}
