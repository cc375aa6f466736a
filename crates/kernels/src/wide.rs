//! Element-wise loops compiled for wide vectors where the CPU has them.
//!
//! Plain loops over slices are compiled for baseline x86-64, whose vectors
//! are SSE2's four floats. A function written with [`wide_fn!`](crate::wide_fn) is compiled
//! twice, as is and with AVX2 enabled (eight floats a vector), and runs the
//! AVX2 copy when the kernel in use is AVX2 or AVX-512. The compiler
//! vectorises the same operations in the same order for either width; it
//! never fuses a multiply and an add on its own, and `sqrt` and division
//! are correctly rounded at any width, so the bits do not depend on which
//! copy ran.
//!
//! The body is a function of its own, always inlined into both copies. A
//! closure handed to a function compiled with AVX2 is not: the compiler
//! inlines it only when it is small, and col2im's was not, so it ran its
//! baseline code inside the AVX2 copy.

use crate::isa::Isa;

/// Whether [`wide_fn!`](crate::wide_fn)'s functions run their AVX2 copy: the selected
/// kernel ([`Isa::selected`]) is AVX2 or AVX-512 and the CPU has AVX2.
#[inline]
pub fn avx2_allowed() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        Isa::selected() != Isa::Portable && is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines a function (no generics, no return value) whose body is
/// compiled for the baseline and again with AVX2 enabled, and which runs
/// the AVX2 copy where [`avx2_allowed`] says so:
///
/// ```
/// mnist_kernels::wide_fn! {
///     /// `y += x`.
///     pub fn add_to(y: &mut [f32], x: &[f32]) {
///         y.iter_mut().zip(x).for_each(|(y, &x)| *y += x);
///     }
/// }
/// let mut y = [1.0, 2.0];
/// add_to(&mut y, &[0.5, 0.25]);
/// assert_eq!(y, [1.5, 2.25]);
/// ```
#[macro_export]
macro_rules! wide_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                /// # Safety
                /// The CPU has AVX2.
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if $crate::wide::avx2_allowed() {
                    // SAFETY: the CPU has AVX2 (avx2_allowed checks it).
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    /// Adam's update, written once through `wide_fn!` and once plainly.
    #[inline(always)]
    fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = 0.9 * *m + (1.0 - 0.9) * g;
            *v = 0.999 * *v + (1.0 - 0.999) * g * g;
            *w -= 0.001 * *m / (v.sqrt() + 1e-7);
        }
    }

    crate::wide_fn! {
        fn adam_wide(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
            adam(w, g, m, v)
        }
    }

    /// A loop of multiplies, adds, square roots and divisions gives the
    /// same bits through the AVX2 copy as through the baseline one.
    #[test]
    fn the_avx2_copy_gives_the_baseline_bits() {
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
            adam(&mut base.0, &g, &mut base.1, &mut base.2);
            adam_wide(&mut fast.0, &g, &mut fast.1, &mut fast.2);
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        assert_eq!(bits(&base.0), bits(&fast.0));
        assert_eq!(bits(&base.2), bits(&fast.2));
    }
}
