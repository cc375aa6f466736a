//! Element-wise loops compiled for wide vectors where the CPU has them.
//!
//! Plain loops over slices are compiled for baseline x86-64, whose vectors
//! are SSE2's four floats. [`wide`] runs a loop through a copy compiled
//! with AVX2 enabled, eight floats a vector, when the kernel in use is AVX2
//! or AVX-512. The compiler vectorises the same operations in the same
//! order for either width; it never fuses a multiply and an add on its own,
//! and `sqrt` and division are correctly rounded at any width, so the bits
//! do not depend on which copy ran.

use crate::gemm::Isa;

/// Runs `f`, compiled with AVX2 when the selected kernel
/// ([`Isa::selected`]) is AVX2 or AVX-512; for the portable kernel, or off
/// x86-64, as compiled for the baseline.
///
/// `f` must be a closure that inlines (a loop over slices, calling only
/// functions that inline): a call that is not inlined runs its baseline
/// code.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if Isa::selected() != Isa::Portable && is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (just checked).
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loop of multiplies, adds, square roots and divisions (Adam's
    /// update) gives the same bits through the AVX2 copy as through the
    /// baseline one.
    #[test]
    fn the_avx2_copy_gives_the_baseline_bits() {
        #[inline(always)]
        fn update(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = 0.9 * *m + (1.0 - 0.9) * g;
                *v = 0.999 * *v + (1.0 - 0.999) * g * g;
                *w -= 0.001 * *m / (v.sqrt() + 1e-7);
            }
        }
        let values = |salt: u32| -> Vec<f32> {
            (0..10_007u32)
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(salt) >> 8) as f32 / (1 << 24) as f32 - 0.5)
                .collect()
        };
        let g = values(1);
        let mut base = (
            values(2),
            values(3),
            values(4).iter().map(|x| x.abs()).collect::<Vec<f32>>(),
        );
        let mut fast = base.clone();
        for _ in 0..3 {
            update(&mut base.0, &g, &mut base.1, &mut base.2);
            wide(|| update(&mut fast.0, &g, &mut fast.1, &mut fast.2));
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        assert_eq!(bits(&base.0), bits(&fast.0));
        assert_eq!(bits(&base.2), bits(&fast.2));
    }
}
