//! The portable micro-kernel: a 6 x 8 tile of C in plain arrays, which the
//! compiler vectorises for whatever the target has (NEON on ARM, SSE or AVX
//! on x86-64).
//!
//! Every multiply-add is fused (`f32::mul_add`), as in the AVX2 and AVX-512
//! kernels, so all three give the same bits. On x86-64 the kernel is
//! compiled a second time with FMA enabled and that copy runs wherever the
//! CPU has FMA; on a CPU without it (x86-64 before Haswell and Piledriver)
//! the `Portable<false>` copy multiplies and adds separately, which is fast
//! but rounds differently (see the kernels crate's reproducibility page).
//! ARM64 always has FMA.

use super::kernel::MicroKernel;

/// The portable kernel: `FUSED` multiply-adds (the same bits as the SIMD
/// kernels) or, for CPUs without FMA, separate ones.
pub struct Portable<const FUSED: bool>;

const MR: usize = 6;
const NR: usize = 8;

/// Whether this CPU runs fused multiply-adds as instructions (otherwise
/// `f32::mul_add` is a slow library call and the portable kernels fall back
/// to separate multiplies and adds).
pub fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// `a * b + c`, fused or not.
#[inline(always)]
pub fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

impl<const FUSED: bool> MicroKernel for Portable<FUSED> {
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
        #[cfg(target_arch = "x86_64")]
        if FUSED {
            // SAFETY: `Portable<true>` is only chosen where the CPU has FMA
            // (`sgemm_with`); the rest is the caller's contract.
            return unsafe { tile_fma(kc, a, rs_a, cs_a, b, rs_b, c, ldc, alpha, beta) };
        }
        // SAFETY: the caller's contract.
        unsafe { tile_body::<FUSED>(kc, a, rs_a, cs_a, b, rs_b, c, ldc, alpha, beta) }
    }
}

/// [`tile_body`] compiled with FMA instructions.
///
/// # Safety
/// As `MicroKernel::tile`, and the CPU has FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_fma(
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
    // SAFETY: passed on.
    unsafe { tile_body::<true>(kc, a, rs_a, cs_a, b, rs_b, c, ldc, alpha, beta) }
}

/// # Safety
/// As `MicroKernel::tile`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_body<const FUSED: bool>(
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
    let mut acc = [[0.0f32; NR]; MR];
    for p in 0..kc {
        // SAFETY: as in `MicroKernel::tile`: row p of B's panel holds NR
        // floats and element (i, p) of A is readable.
        let (bv, a_col) = unsafe { (&*b.add(p * rs_b).cast::<[f32; NR]>(), a.add(p * cs_a)) };
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: as above.
            let ai = unsafe { *a_col.add(i * rs_a) };
            for (acc, &bj) in row.iter_mut().zip(bv) {
                *acc = madd::<FUSED>(ai, bj, *acc);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: row i of the tile is valid for NR floats.
        let c_row = unsafe { &mut *c.add(i * ldc).cast::<[f32; NR]>() };
        for (cj, &v) in c_row.iter_mut().zip(row) {
            // Multiplying by 1 is exact; skip it (as the x86 kernels do).
            let v = if alpha == 1.0 { v } else { v * alpha };
            *cj = if beta == 0.0 { v } else { madd::<FUSED>(*cj, beta, v) };
        }
    }
}
