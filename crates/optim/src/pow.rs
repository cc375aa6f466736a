//! Integer powers by repeated squaring in a fixed order, instead of
//! `powi`, whose precision Rust leaves unspecified (it may be expanded
//! differently by another compiler or target). The order is that of
//! LLVM's compiler-rt `__powidf2`.

/// `x^n` for `f32` or `f64`.
pub(crate) fn powi<T>(mut x: T, n: i32) -> T
where
    T: Copy + From<f32> + std::ops::Mul<Output = T> + std::ops::Div<Output = T>,
{
    let mut b = n.unsigned_abs();
    let mut r = T::from(1.0);
    loop {
        if b & 1 != 0 {
            r = r * x;
        }
        b >>= 1;
        if b == 0 {
            break;
        }
        x = x * x;
    }
    if n < 0 { T::from(1.0) / r } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_match_exact_values() {
        assert_eq!(powi(0.9, 0), 1.0);
        assert_eq!(powi(2.0, 10), 1024.0);
        assert_eq!(powi(2.0, -3), 0.125);
        assert_eq!(powi(0.5, 4), 0.0625);
        assert!((powi(0.999, 1000) - 0.999f64.powf(1000.0)).abs() < 1e-13);
        assert!((powi(0.9, 7) - 0.9f32.powf(7.0)).abs() < 1e-6);
    }
}
