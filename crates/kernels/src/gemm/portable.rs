//! The portable micro-kernel, written with `wide`: a 6 x 8 tile of C in six
//! `f32x8` accumulators. `wide` lowers `f32x8` to whatever the build target
//! has (two SSE registers on baseline x86-64, NEON on ARM), so this runs
//! everywhere; 6 x 8 keeps the accumulators, B and a broadcast within the
//! 16 registers of SSE.

use wide::f32x8;

use super::kernel::MicroKernel;

/// The portable kernel.
pub struct Portable;

const MR: usize = 6;
const NR: usize = 8;

impl MicroKernel for Portable {
    const MR: usize = MR;
    const NR: usize = NR;

    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
        // SAFETY: as in `MicroKernel::tile`; this kernel needs no CPU feature.
        let (a, b) = unsafe { (std::slice::from_raw_parts(a, kc * MR), std::slice::from_raw_parts(b, kc * NR)) };
        let mut acc = [f32x8::ZERO; MR];
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
            let bv = f32x8::from(<[f32; NR]>::try_from(bp).expect("NR floats"));
            for (row, &ai) in acc.iter_mut().zip(ap) {
                *row = f32x8::splat(ai).mul_add(bv, *row);
            }
        }
        for (i, row) in acc.iter().enumerate() {
            // SAFETY: row i of the tile is valid for NR floats.
            let c_row = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
            let mut v = *row * f32x8::splat(alpha);
            if beta != 0.0 {
                let old = f32x8::from(<[f32; NR]>::try_from(&*c_row).expect("NR floats"));
                v = old.mul_add(f32x8::splat(beta), v);
            }
            c_row.copy_from_slice(&v.to_array());
        }
    }
}
