//! The textbook triple loop, accumulating in `f64`: the reference every
//! faster GEMM is tested against.

use super::Transpose;

/// `C = alpha * op(A) * op(B) + beta * C`, one dot product per element, in
/// `f64`. Slow and obviously right; for tests.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_naive(
    transa: Transpose,
    transb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let at = |i: usize, p: usize| match transa {
        Transpose::No => a[i * lda + p],
        Transpose::Yes => a[p * lda + i],
    };
    let bt = |p: usize, j: usize| match transb {
        Transpose::No => b[p * ldb + j],
        Transpose::Yes => b[j * ldb + p],
    };
    for i in 0..m {
        for j in 0..n {
            let sum: f64 = (0..k).map(|p| at(i, p) as f64 * bt(p, j) as f64).sum();
            let old = if beta == 0.0 {
                0.0
            } else {
                beta as f64 * c[i * ldc + j] as f64
            };
            c[i * ldc + j] = (alpha as f64 * sum + old) as f32;
        }
    }
}
