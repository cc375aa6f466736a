//! The textbook triple loop, accumulating in `f64`: the reference every
//! faster GEMM is tested against.

use crate::matrix::{MatMut, MatRef};

/// `C = alpha * A * B + beta * C`, one dot product per element, in `f64`.
/// Slow and obviously right; for tests.
///
/// # Panics
/// If the shapes do not agree, as [`sgemm`](crate::sgemm).
pub fn sgemm_naive(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    super::check_shapes(&a, &b, &c);
    let (c, m, n, ldc) = c.into_parts();
    let k = a.cols();
    for i in 0..m {
        for j in 0..n {
            let sum: f64 = (0..k).map(|p| a.at(i, p) as f64 * b.at(p, j) as f64).sum();
            let old = if beta == 0.0 {
                0.0
            } else {
                beta as f64 * c[i * ldc + j] as f64
            };
            c[i * ldc + j] = (alpha as f64 * sum + old) as f32;
        }
    }
}
