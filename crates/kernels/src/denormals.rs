//! Flushing denormal numbers to zero.
//!
//! Denormals (magnitudes below about 1.2e-38) take a slow path through the
//! x86 floating-point units, up to a hundred times slower per operation.
//! Gradients and activations of a trained network drift into that range,
//! so every thread that trains should set flush-to-zero (results) and
//! denormals-are-zero (inputs) in its MXCSR register. The cost is that
//! values below 1.2e-38 become 0, which no network here can tell apart.

/// Sets flush-to-zero and denormals-are-zero for the calling thread (a
/// no-op on other architectures). Returns the previous MXCSR value.
pub fn flush_denormals() -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        const FTZ: u32 = 1 << 15;
        const DAZ: u32 = 1 << 6;
        let old = mxcsr();
        set_mxcsr(old | FTZ | DAZ);
        old
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

/// The calling thread's MXCSR register.
#[cfg(target_arch = "x86_64")]
pub fn mxcsr() -> u32 {
    let mut value: u32 = 0;
    // SAFETY: stmxcsr writes 4 bytes to the given address, a local u32.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut value, options(nostack, preserves_flags)) };
    value
}

/// Sets the calling thread's MXCSR register.
#[cfg(target_arch = "x86_64")]
pub fn set_mxcsr(value: u32) {
    // SAFETY: ldmxcsr reads 4 bytes from a local u32; any value with the
    // reserved bits clear (they are, as read by `mxcsr`) is valid.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &value, options(nostack, readonly, preserves_flags)) };
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn denormals_become_zero_after_flushing() {
        let tiny = black_box(1e-38f32);
        let before = black_box(tiny) * black_box(0.5);
        assert!(
            before > 0.0 && before < f32::MIN_POSITIVE,
            "a denormal without flushing"
        );
        let old = flush_denormals();
        let after = black_box(tiny) * black_box(0.5);
        set_mxcsr(old);
        assert_eq!(after, 0.0);
    }
}
