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
        let mut acc = [f32x8::ZERO; MR];
        for p in 0..kc {
            // SAFETY: as in `MicroKernel::tile`; this kernel needs no CPU feature.
            let (bv, a_col) = unsafe {
                let bp = std::slice::from_raw_parts(b.add(p * rs_b), NR);
                (
                    f32x8::from(<[f32; NR]>::try_from(bp).expect("NR floats")),
                    a.add(p * cs_a),
                )
            };
            for (i, row) in acc.iter_mut().enumerate() {
                // SAFETY: element (i, p) of A is readable.
                let ai = unsafe { *a_col.add(i * rs_a) };
                *row = f32x8::splat(ai).mul_add(bv, *row);
            }
        }
        for (i, row) in acc.iter().enumerate() {
            // SAFETY: row i of the tile is valid for NR floats.
            let c_row = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
            // Multiplying by 1 is exact; skip it (as the x86 kernels do).
            let mut v = if alpha == 1.0 { *row } else { *row * f32x8::splat(alpha) };
            if beta != 0.0 {
                let old = f32x8::from(<[f32; NR]>::try_from(&*c_row).expect("NR floats"));
                v = old.mul_add(f32x8::splat(beta), v);
            }
            c_row.copy_from_slice(&v.to_array());
        }
    }
}
